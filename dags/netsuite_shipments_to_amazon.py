"""
### NetSuite warehouse shipments (MFN) → Amazon shipment confirmations, then billing

Every 15 minutes:

1. **find** (pool `netsuite_api`): the item fulfillments changed in NetSuite since the last synced point
   (kept in the sync ledger, minus a 10-minute overlap), one paged search (1,000 a page) and one
   `getList` per thousand for their sales orders and lines: never one call per order. Only **shipped**
   fulfillments of `AMZ-SO-*` sales orders of merchant-fulfilled orders are kept; they are staged
   encrypted per SP-API connection.
2. **confirm** (pool `amazon_sp_api`, one mapped task per connection `amazon_sp_api_{region}`): each
   package of each fulfillment is confirmed with Orders API v0 `confirmShipment`: carrier from
   `include/mappings/carriers.csv` (by the fulfillment's ship method), tracking number, ship date and the
   order items in Amazon's units (a 6-pack SKU shipped as 12 item units is 2). The ledger keeps each
   confirmation as `AMZ-SHIP-{fulfillmentInternalId}`: nothing is confirmed twice; a fulfillment edited
   after confirmation (tracking number corrected) is confirmed again with the same
   `packageReferenceId`s, which Amazon takes as an edit.
3. **bill** (pool `netsuite_api`, per connection): each fulfillment Amazon took is billed like FBA
   shipments (the shared billing step): a cash sale `AMZ-CS-IF-{fulfillmentInternalId}` or invoice
   `AMZ-INV-IF-{fulfillmentInternalId}` (the marketplace's `billing_document`) into the marketplace's Amazon
   clearing account, its share of the order's grand total to the cent. Billed and confirmed are separate
   ledger records: a retry of one side never repeats the other. A fulfillment Amazon refused is not billed.
4. **summary**: counts; the synced point moves on; the run fails once if anything was dead-lettered.

| NetSuite / Amazon | what happens |
|---|---|
| fulfillment picked or packed | not yet: a later run confirms it once it is shipped |
| our FBA flow's fulfillments (`AMZ-IF-*`), FBA orders, other channels' orders | ignored |
| ship method not in `carriers.csv`, a package without tracking number, half a multipack | dead-lettered with the reason (fix, then replay) |
| Amazon refuses a package (order cancelled by the buyer, unknown item, quantity already shipped) | dead-lettered with Amazon's message, the run alerts: the warehouse may have shipped a cancelled order |

**Params** (Trigger DAG w/ config): `window_start` / `window_end` (ISO 8601, UTC) re-read the fulfillments
changed in a period; `dry_run` plans and reports, sends and writes nothing.

**When it fails**: inspect with `python -m amazon_netsuite.ledger failed --dag netsuite_shipments_to_amazon`,
fix the cause (a `carriers.csv` row, the fulfillment's tracking number), then re-run the period:
`airflow dags trigger netsuite_shipments_to_amazon --conf '{"window_start": "2026-11-30T00:00:00Z"}'`
(confirmed fulfillments are skipped by the ledger). The task that failed says which side is down:
**find** or **bill** (NetSuite) or **confirm** (Amazon, the region's connection). Dead-lettered
confirmations and billing documents are also replayed by
`airflow dags trigger sync_replay_failed_records --conf '{"dag_id": "netsuite_shipments_to_amazon"}'`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task

from amazon_netsuite.dags_common import (
    AMAZON_POOL,
    NETSUITE_POOL,
    START_DATE,
    data_interval_schedule,
    default_args,
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "netsuite_shipments_to_amazon"


@task(pool=NETSUITE_POOL)
def find() -> list[dict[str, Any]]:
    """Read the shipped fulfillments since the synced point (or the trigger's window) from NetSuite and
    stage them per SP-API connection; returns the staged paths and counts."""
    from amazon_netsuite.dags_common import source_window
    from amazon_netsuite.flows.mfn_shipments import NETSUITE_LAG, OVERLAP, WATERMARK_SCOPE, find_and_stage
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    params = context["params"]
    ledger = Ledger.from_connection()
    # NetSuite has no 2-minute rule like Amazon's: read up to now (the overlap re-reads the last minutes)
    start, end, advances = source_window(context, ledger.watermark(DAG_ID, WATERMARK_SCOPE), overlap=OVERLAP,
                                         lag=NETSUITE_LAG)
    return find_and_stage(NetSuiteHook(), mappings=load_mappings(), ledger=ledger, run_id=context["run_id"],
                          window=(start, end), advance_to=end if advances else None,
                          dry_run=bool(params.get("dry_run")))


@task(pool=AMAZON_POOL, map_index_template="{{ sp_api_connection }}")
def confirm(staged: dict[str, Any]) -> dict[str, Any]:
    """Confirm the connection's staged fulfillments to Amazon, package by package; record each outcome."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.mfn_shipments import confirm_region
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings

    context = get_current_context()
    context["sp_api_connection"] = staged["conn_id"]  # the mapped task's label in the UI
    amazon = SellingPartnerHook(staged["conn_id"], marketplace_ids=staged["marketplace_ids"] or None)
    return confirm_region(staged, amazon=amazon, mappings=load_mappings(), ledger=Ledger.from_connection(),
                          run_id=context["run_id"], dry_run=bool(context["params"].get("dry_run")))


@task(pool=NETSUITE_POOL, map_index_template="{{ sp_api_connection }}")
def bill(confirmed: dict[str, Any]) -> dict[str, Any]:
    """Bill the fulfillments Amazon took (cash sale or invoice into Amazon clearing, the FBA flow's billing step)."""
    from amazon_netsuite.flows.mfn_shipments import bill_region
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    context["sp_api_connection"] = confirmed["conn_id"]  # the mapped task's label in the UI
    return bill_region(confirmed, netsuite=NetSuiteHook(), mappings=load_mappings(), ledger=Ledger.from_connection(),
                       run_id=context["run_id"], dry_run=bool(context["params"].get("dry_run")))


@task
def summary(confirmed: Any) -> dict[str, Any]:
    """Report the run (counts per connection), move the synced point, fail once if anything was dead-lettered."""
    from collections import Counter
    from datetime import datetime

    from amazon_netsuite.flows.mfn_shipments import WATERMARK_SCOPE
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.notifiers import finish_run

    context = get_current_context()
    results = list(confirmed[:])  # one read of the mapped results
    ledger = Ledger.from_connection()
    extra: Counter = Counter()
    for result in results:
        extra.update({k: v for k, v in result["counts"].items()
                      if k not in {"synced", "failed"} and not k.startswith("failed:")})
    marks = {r.get("advance_to") for r in results}
    if not context["params"].get("dry_run") and len(marks) == 1 and None not in marks:
        ledger.advance_watermark(DAG_ID, WATERMARK_SCOPE, datetime.fromisoformat(marks.pop()), run_id=context["run_id"])
    details = [f"{r['conn_id']}: {r['fulfillments']} fulfillment(s) found, {r['confirmed']} confirmed" for r in results]
    return finish_run(context, ledger=ledger, extra_counts=dict(extra), details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("*/15 * * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["netsuite", "amazon", "shipments", "mfn", "billing"],
    params=sync_params("window_start", "window_end", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def netsuite_shipments_to_amazon():
    summary(bill.expand(confirmed=confirm.expand(staged=find())))


netsuite_shipments_to_amazon()
