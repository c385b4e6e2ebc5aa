"""
### Reconciliation: prove Amazon and NetSuite agree (daily, per region, every day since the start date)

Each run owns one day (its data interval, 03:00 UTC to 03:00 UTC the next day by default; `window_start` /
`window_end` for any other period). Catch-up is **on**: a day missed while the scheduler was down is
reconciled when it comes back, each day on its own (the reads are bounded by the day, not by a high-water
mark). Per SP-API region (one mapped task group per connection `amazon_sp_api_{region}`):

1. **extract** (pool `amazon_sp_api`): the orders **created** in the window (`searchOrders`, 100 a page,
   the same API and pages the orders flow reads; no per-order calls), kept as ids, status, total and dates
   (no buyer data); the settlements the settlements flow posted in the window, read again (Amazon keeps them
   90 days; imports from their file) for the orders each one cleared; the FBA inventory summaries of the
   mapped AFN SKUs (`getInventorySummaries`) and the AFN SKUs of Amazon-fulfilled orders changed in the last
   hour (one `searchOrders` with `fulfilledBy=AMAZON`); the merchant-fulfilled quantities Amazon shows (the All
   Listings Report `GET_MERCHANT_LISTINGS_ALL_DATA`, one per marketplace with MFN SKUs, requested and polled in
   this task) and the MFN SKUs of merchant-fulfilled orders changed in the last hour. Staged encrypted.
2. **compare** (pool `netsuite_api`): the sales orders `AMZ-SO-{orderId}` (`getList`), the sales orders
   NetSuite changed since the window's start, and every posting line on the region's Amazon clearing
   accounts (a paged transaction search by account: `NetSuiteHook.gl_lines`), the FBA locations' and the
   region's merchant-fulfilled stock (`getItemAvailability`, every mapped item afresh; the inventory flow's
   own snapshot is not touched). Then the checks:

| check | finding | meaning |
|---|---|---|
| orders | `missing_sales_order` | Amazon order (unshipped/shipped) with no sales order (the ledger's reason when it was dead-lettered) |
| orders | `extra_sales_order` | an `AMZ-SO-` sales order of the window that Amazon does not list |
| orders | `total_mismatch` | sales order total differs from Amazon's `grandTotal` (to the cent, marketplace currency) |
| orders | `cancelled_open` | cancelled at Amazon, still open in NetSuite |
| orders | `shipped_not_billed` | shipped more than `bill_after_days` days ago, sales order still not fulfilled/billed |
| clearing | `clearing_not_zero` | a settlement's journal lines on Amazon clearing plus its orders' billing documents do not sum to zero (settlement currency) |
| clearing | `settled_not_billed` | the settlement cleared an order NetSuite never billed (dead-lettered: the reason is named) |
| clearing | `fx_remainder` | zero in the settlement currency, not in the base currency: post it with `post_fx_remainder` + `fx_account_id` (`AMZ-JE-FX-{settlementId}`) |
| clearing | `settlement_unreadable` | a posted settlement whose file could not be read again |
| inventory | `fba_mismatch` | Amazon's fulfillable FBA units of a SKU plus the units of its orders not in NetSuite yet (failed or pending in the ledger) differ from the marketplace's NetSuite FBA location (the unsynced order/shipment/return/removal; only once those are ruled out, run `netsuite_inventory_to_amazon` with `fba_adjustment`) |
| inventory | `inventory_unreadable` | Amazon's FBA inventory (`getInventorySummaries`) could not be read: the FBA check was not made (the region's orders and clearing checks still are) |
| inventory | `mfn_oversell_risk` | Amazon shows more of a merchant-fulfilled SKU (All Listings Report, per marketplace) than the inventory formula gives from NetSuite's availability now |
| inventory | `mfn_drift` | Amazon shows other than the quantity the inventory flow last published (its accepted feeds): changed at Amazon outside the project (Seller Central, another tool, a feed whose change did not stick) |
| inventory | `mfn_stale` | Amazon shows less than NetSuite's availability allows (sales lost) |
| inventory | `inventory_unreadable` (key: the connection and `GET_MERCHANT_LISTINGS_ALL_DATA`) | Amazon's merchant listings report could not be read: the MFN check compared the quantities last published instead |

Orders Amazon changed in the last hour are not judged yet (the orders flow runs every 15 minutes), nor AFN SKUs
with an Amazon-fulfilled order changed in the last hour (read in the extract), nor MFN
SKUs whose NetSuite stock moved at their own locations, whose items' unsynced (failed or pending) orders
changed, or with a merchant-fulfilled order Amazon changed, in the last hour (the inventory flow runs every 15
minutes); SKUs the inventory flow never published are judged only when Amazon shows more than the formula. The inventory check is of the state now, whatever
the window.

3. **summary**: counts per region and check in the log; the run **fails** when anything is off (the alert
   carries the counts by check and the first findings). Every finding is in the sync ledger
   (`an_reconciliation_findings`, shown on the **Amazon ⇄ NetSuite** page of the Airflow UI) and in one CSV
   per check in the archive (`AMAZON_NETSUITE_ARCHIVE_DIR` or `AMAZON_NETSUITE_ARCHIVE_S3_URI`, under
   `reconciliation/`).

**Params**: `window_start`/`window_end` (any period), `settlement_ids` (check exactly these posted
settlements), `bill_after_days`, `post_fx_remainder` + `fx_account_id`, `dry_run` (compare and report,
write nothing to the ledger or NetSuite).

**Re-check a month** (finance): `airflow dags trigger sync_reconciliation --conf '{"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-12-01T00:00:00Z"}'`,
or re-run days: `airflow backfill create --dag-id sync_reconciliation --from-date 2026-11-01 --to-date 2026-11-30`.

**When it fails**: read the summary task's log (or the page): each finding names the order or settlement.
Dead-lettered records: `python -m amazon_netsuite.ledger failed`, fix, replay
(`sync_replay_failed_records`), then clear this day's run to prove it.
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
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "sync_reconciliation"


def _window(context) -> tuple[Any, Any]:
    import datetime as dt

    from amazon_netsuite.dags_common import resolve_window

    # no lag: the hook clamps Amazon's createdBefore to now - 2 minutes itself; the ledger part (settlements
    # posted in the window) must see what was posted up to the window's end
    return resolve_window(context, overlap=dt.timedelta(0), lag=dt.timedelta(0))


@task(pool=AMAZON_POOL)
def regions() -> list[dict[str, Any]]:
    """The SP-API connections to reconcile: one per region of the mapped marketplaces."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.mappings import load_mappings

    targets = load_mappings().sp_api_targets()
    hooks_for_targets(targets)
    return [{"conn_id": t.conn_id, "region": t.region, "marketplace_ids": list(t.marketplace_ids)} for t in targets]


@task(pool=AMAZON_POOL, map_index_template="{{ sp_api_connection }}")
def extract(target: dict[str, Any]) -> dict[str, Any]:
    """Amazon's side of the region: the window's orders and the posted settlements' files, staged."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.reconciliation import extract_region
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings

    context = get_current_context()
    context["sp_api_connection"] = target["conn_id"]
    hook = SellingPartnerHook(target["conn_id"], marketplace_ids=target["marketplace_ids"])
    return extract_region(hook, target, window=_window(context), ledger=Ledger.from_connection(), mappings=load_mappings(),
                          run_id=context["run_id"], settlement_ids=context["params"].get("settlement_ids"))


@task(pool=NETSUITE_POOL, map_index_template="{{ sp_api_connection }}")
def compare(extracted: dict[str, Any]) -> dict[str, Any]:
    """NetSuite's side and the checks; every finding to the ledger and a CSV per check."""
    from amazon_netsuite.flows.reconciliation import compare_region
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    context["sp_api_connection"] = extracted["conn_id"]
    params = context["params"]
    return compare_region(extracted, netsuite=NetSuiteHook(), ledger=Ledger.from_connection(), mappings=load_mappings(),
                          run_id=context["run_id"], bill_after_days=int(params.get("bill_after_days") or 3),
                          post_fx_remainder=bool(params.get("post_fx_remainder")), fx_account_id=params.get("fx_account_id"),
                          dry_run=bool(params.get("dry_run")))


@task_group
def region(target: dict[str, Any]) -> Any:
    """One SP-API region: Amazon's side, then NetSuite's side and the comparisons."""
    return compare(extract(target))


@task
def summary(compared: Any) -> dict[str, Any]:
    """Counts per region and check; fails the run (alert once) when anything is off."""
    from amazon_netsuite.dags_common import mapped_results
    from amazon_netsuite.flows.reconciliation import finish

    return finish(mapped_results(compared))


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("0 3 * * *"),
    catchup=True,
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "reconciliation", "finance"],
    params=sync_params("window_start", "window_end", "settlement_ids", "bill_after_days", "post_fx_remainder",
                       "fx_account_id", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def sync_reconciliation():
    summary(region.expand(target=regions()))


sync_reconciliation()
