"""
### Amazon orders → NetSuite sales orders (and their customers)

Every 15 minutes, reads the Amazon orders **updated** in the run's data interval (plus a 5-minute
overlap; the end is clamped to two minutes ago, as Amazon requires) in every marketplace of
`include/mappings/marketplaces.csv`, with one paged `searchOrders` per SP-API region (connection
`amazon_sp_api_{region}`: `_na`, `_eu`, `_fe`, or the row's `sp_api_conn_id`; Orders API v2026-01-01,
100 orders a call, buyer/address/proceeds/promotions/tax/fulfillment included: no per-order calls) and writes each one to NetSuite as a
sales order with externalId `AMZ-SO-{amazonOrderId}`, upserted, so re-running a window never
duplicates anything. A region that cannot be read does not stop the others: their orders are
written, then the task fails naming the region's connection (the retry reads the window again).

| Amazon status | what happens |
|---|---|
| `PENDING_AVAILABILITY`, `PENDING` | not synced yet; Amazon updates the order when it is confirmed and a later run picks it up |
| `UNSHIPPED`, `PARTIALLY_SHIPPED`, `SHIPPED` | sales order created or updated in place (fulfilled lines are never replaced) |
| `CANCELLED` | the lines of an existing sales order are closed; nothing is created |
| `UNFULFILLABLE` | skipped, with the reason in the sync ledger |

Subsidiary, currency, location (FBA orders at the FBA location), department/class, tax codes and
customers come from `include/mappings/marketplaces.csv`; items and pack sizes from `sku_items.csv`.
The sales order total equals Amazon's `proceeds.grandTotal` to the cent (docs/accounting.md).
Buyers become customers (`per_buyer` marketplaces: matched by externalId, then e-mail; enriched with
new shipping addresses; never duplicated); orders without a buyer e-mail and `single` marketplaces use
the marketplace's generic customer. Unchanged orders are skipped by their content hash.

**Params** (Trigger DAG w/ config): `window_start` / `window_end` (ISO 8601, UTC) re-sync a period;
`order_ids` re-syncs exactly those orders (getOrder), changed or not; `dry_run` computes and reports,
writes nothing.

**Backfill**: `airflow backfill create --dag-id amazon_orders_to_netsuite --from-date 2026-11-01 --to-date 2026-11-02`.

**When it fails**: orders with an unknown SKU, a missing mapping, totals that don't reconcile or a
NetSuite rejection are dead-lettered; the rest are written; the run ends failed once, with the
counts, reasons and replay command in the alert. Inspect with
`python -m amazon_netsuite.ledger failed --dag amazon_orders_to_netsuite`, fix the cause, then replay:
`airflow dags trigger sync_replay_failed_records --conf '{"dag_id": "amazon_orders_to_netsuite"}'`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task

from amazon_netsuite.dags_common import (
    NETSUITE_POOL,
    START_DATE,
    data_interval_schedule,
    default_args,
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "amazon_orders_to_netsuite"


@task(pool=NETSUITE_POOL)
def sync() -> dict[str, Any]:
    """Read the window's orders from Amazon (one paged search per SP-API region), then write
    customers and sales orders to NetSuite and record each outcome in the sync ledger."""
    from amazon_netsuite.amazon.errors import SellingPartnerError
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.dags_common import resolve_window
    from amazon_netsuite.flows.orders import (
        extract_orders_by_target,
        failed_extracts_message,
        fetch_orders_by_id,
        sync_orders,
    )
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    params = context["params"]
    dry_run = bool(params.get("dry_run"))
    mappings = load_mappings()
    ledger = Ledger.from_connection()
    amazon = hooks_for_targets(mappings.sp_api_targets())  # one per region; a missing connection fails here
    missing: list[str] = []
    failures = []
    if params.get("order_ids"):
        orders, missing = fetch_orders_by_id(amazon, params["order_ids"])
    else:
        orders, failures = extract_orders_by_target(amazon, window=resolve_window(context))
    result = sync_orders(
        orders,
        mappings=mappings,
        netsuite=NetSuiteHook(),
        ledger=ledger,
        run_id=context["run_id"],
        dry_run=dry_run,
        force=bool(params.get("order_ids")),
    )
    for order_id in missing:
        result.counts["not_found_at_amazon"] += 1
        result.failed_orders.append(order_id)
        if not dry_run:
            ledger.record_failed(
                dag_id=DAG_ID, record_type="salesOrder", source_key=order_id, reason="not_found",
                error=f"Amazon order {order_id} was not found (getOrder: 404); check the id",
                run_id=context["run_id"], replay={"order_id": order_id},
            )
    if failures:
        raise SellingPartnerError(failed_extracts_message(failures, result))
    return result.as_dict()


@task
def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Report what the run did; fail the run once if any order was dead-lettered."""
    from amazon_netsuite.notifiers import finish_run

    ledger_kept = {"synced", "failed", "skipped"}
    extra = {k: v for k, v in result["counts"].items() if k not in ledger_kept and not k.startswith("failed:")}
    return finish_run(get_current_context(), extra_counts=extra)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("*/15 * * * *"),
    catchup=True,
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "orders", "customers"],
    params=sync_params("window_start", "window_end", "order_ids", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def amazon_orders_to_netsuite():
    summary(sync())


amazon_orders_to_netsuite()
