"""
### Amazon FBA shipments → NetSuite item fulfillments and billing documents

Every hour, per SP-API region (one mapped task group per connection `amazon_sp_api_{region}` named in
`include/mappings/marketplaces.csv`):

1. **window** (pool `amazon_sp_api`): the report window, from the region's last synced point (minus a
   5-minute overlap) to two minutes ago, at most 30 days (Amazon's limit for this report).
2. **request_report** (pool `amazon_sp_api`, deferrable): requests the FBA Amazon Fulfilled Shipments
   Report (`GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL`) for the region's marketplaces and waits in the
   triggerer; a retry resumes the same report (its id is kept in the task state).
3. **extract** (pool `amazon_sp_api`): downloads the report (no restricted data token: the flow reads no
   buyer field), groups its rows by shipment and stages them encrypted.
4. **load** (pool `netsuite_api`): per shipment, the sales order `AMZ-SO-{orderId}` is read; an item
   fulfillment `AMZ-IF-{shipmentId}` is created from it at the marketplace's FBA location (status shipped,
   carrier and tracking number as its package, units × `units_per_sku`), which takes the units out of the
   FBA location's stock; then the billing document, per the marketplace's `billing_document`: a cash sale
   `AMZ-CS-{shipmentId}` or an invoice `AMZ-INV-{shipmentId}`, into the marketplace's Amazon clearing
   account, for the shipment's share of the order's grand total to the cent (docs/accounting.md). Then
   the region's synced point moves on.

| case | what happens |
|---|---|
| the sales order is not in NetSuite yet | pending in the ledger; every later run retries it; after 3 days (`AMAZON_NETSUITE_FBA_WAIT_DAYS`) dead-lettered `order_not_synced` |
| the sales order is closed / cancelled in NetSuite | dead-lettered `order_cancelled`; nothing is fulfilled |
| split shipments | one fulfillment and one billing document each; the last takes the remainder cent |
| the same shipment in two windows | one fulfillment, one billing document (looked up by externalId) |

A NetSuite outage fails only **load**, whose retry starts again from the staged file without reading
Amazon. A summary of the run's shipments with tracking numbers, by Amazon order id (no buyer data), goes
to customer service when `[amazon_netsuite] shipments_summary_email` or `shipments_summary_slack_conn_id`
is set.

**Params** (Trigger DAG w/ config): `window_start` / `window_end` (ISO 8601, UTC) re-read a period (30
days at most per run); `dry_run` computes and reports, writes nothing.

**Re-read a period**: `airflow dags trigger amazon_fba_shipments_to_netsuite --conf '{"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-11-08T00:00:00Z"}'`.

**When it fails**: inspect with `python -m amazon_netsuite.ledger failed --dag amazon_fba_shipments_to_netsuite`,
fix the cause (sync the order, map the SKU...), then re-run the window: shipments already synced are
skipped. The task that failed says which side is down: **request_report**/**extract** (Amazon) or
**load** (NetSuite).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task, task_group

from amazon_netsuite.amazon.operators import RegionReportOperator
from amazon_netsuite.dags_common import (
    AMAZON_POOL,
    NETSUITE_POOL,
    START_DATE,
    data_interval_schedule,
    default_args,
    report_poll_seconds,
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "amazon_fba_shipments_to_netsuite"
REPORT_TYPE = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
#: how often the triggerer checks the report (Amazon generates this report in minutes)
REPORT_POLL_SECONDS = report_poll_seconds()


@task(pool=AMAZON_POOL)
def regions() -> list[dict[str, Any]]:
    """The SP-API connections to read: one per region of the mapped marketplaces."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.mappings import load_mappings

    targets = load_mappings().sp_api_targets()
    hooks_for_targets(targets)
    return [{"conn_id": t.conn_id, "region": t.region, "marketplace_ids": list(t.marketplace_ids)} for t in targets]


@task(pool=AMAZON_POOL, map_index_template="{{ sp_api_connection }}")
def window(target: dict[str, Any]) -> dict[str, Any]:
    """The region's report window: from its last synced point (or the trigger's window) to now."""
    from amazon_netsuite.flows.fba_shipments import region_request
    from amazon_netsuite.ledger import Ledger

    context = get_current_context()
    context["sp_api_connection"] = target["conn_id"]
    return region_request(context, target, Ledger.from_connection())


@task(pool=AMAZON_POOL, map_index_template="{{ sp_api_connection }}")
def extract(report: dict[str, Any]) -> dict[str, Any]:
    """Download the report (SellingPartnerHook), group its rows by shipment, stage them encrypted."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.fba_shipments import extract_region
    from amazon_netsuite.mappings import load_mappings

    context = get_current_context()
    context["sp_api_connection"] = report["conn_id"]
    hook = SellingPartnerHook(report["conn_id"], marketplace_ids=report["marketplace_ids"])
    return extract_region(hook, report, mappings=load_mappings(), run_id=context["run_id"])


@task(pool=NETSUITE_POOL, map_index_template="{{ sp_api_connection }}")
def load(extracted: dict[str, Any]) -> dict[str, Any]:
    """Fulfill and bill the staged shipments (and every pending one) in NetSuite (NetSuiteHook)."""
    from amazon_netsuite.flows.fba_shipments import load_region
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    context["sp_api_connection"] = extracted["conn_id"]
    return load_region(extracted, mappings=load_mappings(), netsuite=NetSuiteHook(), ledger=Ledger.from_connection(),
                       run_id=context["run_id"], dry_run=bool(context["params"].get("dry_run")))


@task_group
def region(target: dict[str, Any]) -> Any:
    """One SP-API region: window, report, extract, load (a failure in one region never holds another)."""
    report = RegionReportOperator(task_id="request_report", report_type=REPORT_TYPE, request=window(target),
                                  pool=AMAZON_POOL, poll_interval=REPORT_POLL_SECONDS)
    return load(extract(report.output))


@task
def summary(loaded: Any) -> dict[str, Any]:
    """Report what the run did; the shipments with tracking go to customer service; fail the run once if
    any shipment was dead-lettered."""
    from collections import Counter

    from amazon_netsuite.notifiers import finish_run, send_shipments_summary

    context = get_current_context()
    results = list(loaded[:])
    ledger_kept = {"synced", "failed", "skipped"}
    extra: Counter = Counter()
    shipped: list[str] = []
    for result in results:
        extra.update({k: v for k, v in result["counts"].items() if k not in ledger_kept})
        shipped.extend(result.get("shipped") or [])
    try:
        send_shipments_summary(context, DAG_ID, shipped)
    except Exception:  # noqa: BLE001 - the customer-service summary never fails the sync
        import logging

        logging.getLogger(__name__).exception("Could not send the shipments summary")
    details = [f"{r['conn_id']}: {r['shipments_read']} shipment(s) in the report" for r in results]
    return finish_run(context, extra_counts=dict(extra), details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("17 * * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "fba", "fulfillment", "billing"],
    params=sync_params("window_start", "window_end", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def amazon_fba_shipments_to_netsuite():
    summary(region.expand(target=regions()))


amazon_fba_shipments_to_netsuite()
