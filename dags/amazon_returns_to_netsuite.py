"""
### Amazon refunds and returns → NetSuite return authorizations, credit memos / cash refunds, item receipts

Every 6 hours, per SP-API region (one mapped task group per connection `amazon_sp_api_{region}`):

1. **extract_refunds** (pool `amazon_sp_api`): the refund events of the last `lookback_days` (default 7)
   from the Finances API (`listFinancialEvents`, `RefundEventList`), staged encrypted. Amazon omits the
   last 48 hours and releases some events late, so every run reads the whole look-back again.
2. **load_refunds** (pool `netsuite_api`): per refund adjustment, a return authorization
   `AMZ-RA-{orderId}-{key}` created from the sales order `AMZ-SO-{orderId}`, and its cash refund
   `AMZ-CR-…` (cash-sale marketplaces, paid out of *Amazon refunds pending*) or credit memo `AMZ-CM-…`
   (invoice marketplaces), for exactly what Amazon refunded (docs/accounting.md "Refunds and returns").
   The key is Amazon's adjustment id: a refund read again writes nothing, a second refund of the same
   order gets its own documents.

Per marketplace, after the refunds: **returns_report** (deferrable, pool `amazon_sp_api`) requests
`GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA` (FBA) and `GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE` (MFN)
for the look-back and **load_returns** (pool `netsuite_api`) receives each returned package
(`AMZ-IR-{orderId}-{licensePlate or RMA id}`) on its return authorization, at the location
`include/mappings/return_dispositions.csv` names: SELLABLE back to the FBA location, damaged units to
the non-sellable return location, units Amazon keeps (DAMAGED, reimbursed) received without
restocking, MFN returns delivered to the seller to the returns location (to inspect).

| case | what happens |
|---|---|
| refund of a billed order | return authorization + credit memo / cash refund, synced |
| the same refund in the next run's look-back | nothing written (ledger: already synced) |
| order not in NetSuite or not billed yet | pending; retried every run; dead-lettered after `max_wait_days` |
| returned units before their refund is booked | pending, the same way |
| refund without a return (concession, A-to-z) | documents, no item receipt |

**Params**: `lookback_days`, `max_wait_days`, `dry_run`.

**When it fails**: refunds and returns that cannot be booked (unknown SKU or marketplace, a total that
does not reconcile, NetSuite refusing a document, an order that never arrived) are dead-lettered with
the reason; the run ends failed once with the counts. Inspect with
`python -m amazon_netsuite.ledger failed --dag amazon_returns_to_netsuite`; fix the cause, the next run
(whose look-back still holds the event) or `airflow dags trigger amazon_returns_to_netsuite --conf
'{"lookback_days": 30}'` books it. Once the look-back has passed it, `sync_replay_failed_records` replays
dead-lettered refunds and returns: the replayer (`flows/returns.py:replay`) reads the events and report rows
back from Amazon and books them through the same code (what NetSuite already holds is found by externalId);
one Amazon no longer returns is closed as skipped (`source_deleted`).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task, task_group

from amazon_netsuite.amazon.operators import SellingPartnerReportOperator
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

DAG_ID = "amazon_returns_to_netsuite"
FBA_RETURNS_REPORT = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
#: how often the deferred report is polled (Amazon: minutes; the sandbox's tests: a fraction of a second)
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
def extract_refunds(target: dict[str, Any]) -> dict[str, Any]:
    """Read the region's refund events of the look-back and stage them encrypted."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.returns import extract_refunds as extract

    context = get_current_context()
    context["sp_api_connection"] = target["conn_id"]
    hook = SellingPartnerHook(target["conn_id"], marketplace_ids=target["marketplace_ids"])
    return extract(hook, run_id=context["run_id"], lookback_days=int(context["params"].get("lookback_days") or 7))


@task(pool=NETSUITE_POOL, map_index_template="{{ sp_api_connection }}")
def load_refunds(extracted: dict[str, Any]) -> dict[str, Any]:
    """Book the staged refunds in NetSuite and record each outcome in the ledger."""
    from amazon_netsuite import staging
    from amazon_netsuite.flows.returns import load_refunds as load
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    context["sp_api_connection"] = extracted["conn_id"]
    params = context["params"]
    result = load(staging.load(extracted["uri"]), mappings=load_mappings(), netsuite=NetSuiteHook(),
                  ledger=Ledger.from_connection(), run_id=context["run_id"],
                  max_wait_days=int(params.get("max_wait_days") or 5), dry_run=bool(params.get("dry_run")))
    return {"conn_id": extracted["conn_id"], **result}


@task_group
def refunds(target: dict[str, Any]) -> Any:
    """One SP-API region's refunds: extract, then load (a failure in one region never holds another)."""
    return load_refunds(extract_refunds(target))


@task(pool=AMAZON_POOL)
def returns_reports() -> list[dict[str, Any]]:
    """Per marketplace (the reports' rows do not name it): the FBA customer returns report where the
    marketplace has an FBA location and AFN SKUs, and the MFN returns report where it has MFN SKUs."""
    from datetime import UTC, datetime, timedelta

    from amazon_netsuite.flows.returns import returns_report_requests
    from amazon_netsuite.mappings import load_mappings

    params = get_current_context()["params"]
    now = datetime.now(UTC)
    start = now - timedelta(days=int(params.get("lookback_days") or 7))
    return returns_report_requests(load_mappings(), start=start, end=now - timedelta(minutes=2))


@task(pool=NETSUITE_POOL, map_index_template="{{ marketplace }}")
def load_returns(pair: Any) -> dict[str, Any]:
    """Receive the report's returned units on their return authorizations, by disposition."""
    from amazon_netsuite import staging
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.returns import load_returns as load
    from amazon_netsuite.flows.returns import stage_returns_report
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings, mappings_dir
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from amazon_netsuite.transforms.returns import load_dispositions

    request, report = pair
    context = get_current_context()
    marketplace_id = request["marketplace_ids"][0]
    context["marketplace"] = f"{marketplace_id} {'FBA' if request['report_type'] == FBA_RETURNS_REPORT else 'MFN'}"
    params = context["params"]
    uri, in_transit = stage_returns_report(SellingPartnerHook(request["sp_api_conn_id"], marketplace_ids=[marketplace_id]),
                                           report, run_id=context["run_id"], report_type=request["report_type"])
    if uri is None:
        return {"conn_id": marketplace_id, "counts": {"read": 0}, "restocked": {}}
    result = load(staging.load(uri), marketplace_id=marketplace_id, mappings=load_mappings(), netsuite=NetSuiteHook(),
                  ledger=Ledger.from_connection(), dispositions=load_dispositions(mappings_dir() / "return_dispositions.csv"),
                  run_id=context["run_id"], max_wait_days=int(params.get("max_wait_days") or 5),
                  dry_run=bool(params.get("dry_run")))
    if in_transit:
        result["counts"]["in_transit"] = in_transit
    return {"conn_id": marketplace_id, **result}


@task
def summary(refunded: Any, received: Any) -> dict[str, Any]:
    """Finance summary of the run's refunds and returns; fail the run once if anything was dead-lettered."""
    from collections import Counter

    from amazon_netsuite.flows.returns import finance_summary
    from amazon_netsuite.notifiers import finish_run

    context = get_current_context()
    results = [r for r in [*list(refunded[:] or []), *list(received[:] or [])] if r]
    extra: Counter = Counter()
    for result in results:
        extra.update({k: v for k, v in result["counts"].items() if k not in {"synced", "failed"} and ":" not in k})
    return finish_run(context, extra_counts=dict(extra), details=finance_summary(results))


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("0 */6 * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "refunds", "returns"],
    params=sync_params("lookback_days", "max_wait_days", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def amazon_returns_to_netsuite():
    refunded = refunds.expand(target=regions())
    requests = returns_reports()
    reports = SellingPartnerReportOperator.partial(
        task_id="returns_report", pool=AMAZON_POOL, poll_interval=REPORT_POLL_SECONDS,
    ).expand_kwargs(requests)
    received = load_returns.expand(pair=requests.zip(reports.output))
    refunded >> received
    summary(refunded, received)


amazon_returns_to_netsuite()
