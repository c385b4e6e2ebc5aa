"""
### Amazon orders → NetSuite sales orders (and their customers)

Every 15 minutes, per SP-API region (one mapped task group per connection `amazon_sp_api_{region}`
named in `include/mappings/marketplaces.csv`, or a row's `sp_api_conn_id`):

1. **extract** (pool `amazon_sp_api`): the orders **updated** since the region's last synced point
   (kept in the sync ledger, minus a 5-minute overlap) up to two minutes ago, with one paged
   `searchOrders` (Orders API v2026-01-01, 100 orders a call, buyer/address/proceeds/tax included: no
   per-order calls). They are staged encrypted; only the path and counts go to the next task.
2. **load** (pool `netsuite_api`): each order becomes a sales order `AMZ-SO-{amazonOrderId}`
   (upserted: re-running never duplicates), with its customer; then the region's synced point moves on.

A NetSuite outage fails only **load**, whose retry writes the staged orders without reading Amazon
again; one region's outage or throttling never holds the other regions' orders. After downtime the
next run reads everything since the last synced point, paged: there is no catch-up of 15-minute runs.

| Amazon status | what happens |
|---|---|
| `PENDING_AVAILABILITY`, `PENDING` | not synced yet; Amazon updates the order when it is confirmed and a later run picks it up |
| `UNSHIPPED`, `PARTIALLY_SHIPPED`, `SHIPPED` | sales order created or updated in place (fulfilled lines are never replaced) |
| `CANCELLED` | the lines of an existing sales order are closed; nothing is created |
| `UNFULFILLABLE` | skipped, with the reason in the sync ledger |

Subsidiary, currency, location (FBA orders at the FBA location), department/class, tax codes and
customers come from `include/mappings/`; the sales order total NetSuite computes equals Amazon's
`proceeds.grandTotal` to the cent (docs/accounting.md). Buyers become customers (`per_buyer`
marketplaces: matched through the ledger's customer index, enriched with new shipping addresses,
never duplicated); orders without a buyer e-mail and `single` marketplaces use the marketplace's
generic customer. Unchanged orders are skipped by their content hash.

**Near real time** (when `AMAZON_NETSUITE_SQS_QUEUE_URL` names the SQS queue of the SP-API
notifications): the schedule is the 15-minute timetable **or** the queue's asset. Amazon's
`ORDER_CHANGE` notifications reach the queue, the triggerer's watcher turns them into asset events and
a run starts at once: it syncs exactly the orders the notifications name (all received since the last
run, each read as it is now with getOrder, unchanged ones skipped), and leaves the synced point to the
polling runs, which stay the safety net (the watcher deletes what it receives). Set-up:
`python -m amazon_netsuite.amazon.notifications setup --queue-url ... [--dry-run]`.

**Params** (Trigger DAG w/ config): `window_start` / `window_end` (ISO 8601, UTC) re-sync a period;
`order_ids` re-syncs exactly those orders (getOrder), changed or not; `adopt_customers` indexes every
NetSuite customer with an Amazon relay e-mail first; `dry_run` computes and reports, writes nothing.

**Re-sync a period** (instead of a backfill): `airflow dags trigger amazon_orders_to_netsuite --conf '{"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-11-02T00:00:00Z"}'`.

**When it fails**: orders with an unknown SKU, a missing mapping, totals that don't reconcile or a
NetSuite rejection are dead-lettered; the rest are written; the run ends failed once, with the
counts, reasons and replay command in the alert. Inspect with
`python -m amazon_netsuite.ledger failed --dag amazon_orders_to_netsuite`, fix the cause, then replay:
`airflow dags trigger sync_replay_failed_records --conf '{"dag_id": "amazon_orders_to_netsuite"}'`.
The task that failed says which side is down: **extract** (Amazon, the region's connection) or
**load** (NetSuite).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task, task_group

from amazon_netsuite.dags_common import (
    AMAZON_POOL,
    NETSUITE_POOL,
    START_DATE,
    data_interval_schedule,
    default_args,
    order_change_schedule,
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "amazon_orders_to_netsuite"


@task(pool=AMAZON_POOL)
def regions() -> list[dict[str, Any]]:
    """The SP-API connections to read: one per region of the mapped marketplaces. A region whose
    connection is missing fails here, with one message naming the connection to add."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.mappings import load_mappings

    targets = load_mappings().sp_api_targets()
    hooks_for_targets(targets)
    return [{"conn_id": t.conn_id, "region": t.region, "marketplace_ids": list(t.marketplace_ids)} for t in targets]


@task(pool=AMAZON_POOL, map_index_template="{{ sp_api_connection }}")
def extract(target: dict[str, Any]) -> dict[str, Any]:
    """Read the region's orders since its last synced point (or the window / order ids of the
    trigger) and stage them encrypted; returns the staged path and counts."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.amazon.notifications import notified_orders, triggering_messages
    from amazon_netsuite.dags_common import source_window
    from amazon_netsuite.flows.orders import extract_notified, extract_region
    from amazon_netsuite.ledger import Ledger

    context = get_current_context()
    context["sp_api_connection"] = target["conn_id"]  # the mapped task's label in the UI
    params = context["params"]
    hook = SellingPartnerHook(target["conn_id"], marketplace_ids=target["marketplace_ids"])
    messages = triggering_messages(context)
    if messages is not None:  # a run the ORDER_CHANGE notifications triggered: exactly the orders they name
        notified = notified_orders(messages)
        return extract_notified(hook, run_id=context["run_id"], order_ids=notified.for_marketplaces(target["marketplace_ids"]))
    if params.get("order_ids"):
        return extract_region(hook, run_id=context["run_id"], order_ids=params["order_ids"])
    start, end, advances = source_window(context, Ledger.from_connection().watermark(DAG_ID, target["conn_id"]))
    return extract_region(hook, run_id=context["run_id"], window=(start, end), advance_to=end if advances else None)


@task(pool=NETSUITE_POOL, map_index_template="{{ sp_api_connection }}")
def load(extracted: dict[str, Any]) -> dict[str, Any]:
    """Write the staged orders to NetSuite (customers, sales orders, closed lines) and record each
    outcome in the ledger; then the region's synced point moves to the window's end."""
    from amazon_netsuite.flows.orders import adopt_customers, load_region
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    context["sp_api_connection"] = extracted["conn_id"]  # the mapped task's label in the UI
    params = context["params"]
    mappings, ledger, netsuite = load_mappings(), Ledger.from_connection(), NetSuiteHook()
    if params.get("adopt_customers") and not params.get("dry_run"):
        adopt_customers(netsuite=netsuite, ledger=ledger, mappings=mappings, full=True)
    return load_region(extracted, mappings=mappings, netsuite=netsuite, ledger=ledger, run_id=context["run_id"],
                       dry_run=bool(params.get("dry_run")), force=bool(params.get("order_ids")))


@task_group
def region(target: dict[str, Any]) -> Any:
    """One SP-API region: its extract and its load (a failure in one region never holds another)."""
    return load(extract(target))


@task
def summary(loaded: Any) -> dict[str, Any]:
    """Report what the run did (counts per region); fail the run once if any order was dead-lettered."""
    from collections import Counter

    from amazon_netsuite.flows.orders import record_not_found
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.notifiers import finish_run

    context = get_current_context()
    results = list(loaded[:])  # one read of the mapped results (iterating would probe past the end)
    notified = any("notified_order_ids" in r for r in results)
    if context["params"].get("order_ids") or notified:
        record_not_found(results, ledger=Ledger.from_connection(), run_id=context["run_id"],
                         dry_run=bool(context["params"].get("dry_run")), any_region=notified)
    ledger_kept = {"synced", "failed", "skipped"}
    extra: Counter = Counter()
    for result in results:
        extra.update({k: v for k, v in result["counts"].items() if k not in ledger_kept and not k.startswith("failed:")})
    details = [f"{r['conn_id']}: {r['orders_read']} order(s) read" for r in results]
    return finish_run(context, extra_counts=dict(extra), details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=order_change_schedule(data_interval_schedule("*/15 * * * *")),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "orders", "customers"],
    params=sync_params("window_start", "window_end", "order_ids", "adopt_customers", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def amazon_orders_to_netsuite():
    summary(region.expand(target=regions()))


amazon_orders_to_netsuite()
