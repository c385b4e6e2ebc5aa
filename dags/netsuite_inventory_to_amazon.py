"""
### NetSuite inventory → Amazon merchant-fulfilled quantities (no overselling)

Every 15 minutes:

1. **read_and_plan** (pool `netsuite_api`): what moved in NetSuite since the last run, with
   `getItemAvailability` filtered by `lastQtyAvailableChange` (10,000 items a call; a quiet run reads
   almost nothing). Item `lastModifiedDate` does not change when stock moves, so it is never used for
   stock. The stock is kept in the sync ledger; every MFN SKU of `include/mappings/sku_items.csv` gets
   `max(0, floor((available - units sold on Amazon not yet in NetSuite) / units_per_sku) - safety_stock)`,
   per SP-API region (merchant-fulfilled quantity is one number per SKU and region), summed over the
   fulfillment locations (`location_id`) of the region's marketplaces. Only SKUs whose quantity differs
   from the last one Amazon accepted are sent: one `JSON_LISTINGS_FEED` per region (25,000 messages a
   feed, split beyond), staged encrypted.
2. **push** (pool `amazon_sp_api`, one per region): the deferrable feed operator submits the feeds,
   waits in the triggerer, reads Amazon's processing reports. The feed id is kept in the task state:
   a retry waits for the same feed instead of submitting it again.
3. **record** (one per region): accepted SKUs become Amazon's known quantity in the ledger; rejected
   SKUs are dead-lettered with Amazon's message (the next run sends them again).
4. **fba_counts** (pool `amazon_sp_api`) + **fba_reconcile** (pool `netsuite_api`): Amazon's FBA
   inventory summaries against the NetSuite FBA location of each marketplace; differences are listed in
   the summary; with `fba_adjustment` one inventory adjustment a day per subsidiary, `AMZ-IA-{date}-{subsidiary}`, sets NetSuite to
   Amazon's counts (account: `AMAZON_NETSUITE_FBA_ADJUSTMENT_ACCOUNT_ID`).
5. **summary**: counts, SKU mapping problems (a row pointing at a missing or inactive item, a SKU
   mapped to two items in one region, no product type), FATAL feeds; fails the run once if anything was
   dead-lettered.

0 suppresses the offer: an item out of stock, inactive or missing in NetSuite, or a row with
`publish` false sends 0. **FBA (AFN) SKUs are never pushed**: Amazon owns that stock.

**Params**: `dry_run` computes and reports, sends nothing; `fba_adjustment` posts the day's FBA
inventory adjustment.

**When it fails**: a rejected SKU is in `python -m amazon_netsuite.ledger failed --dag netsuite_inventory_to_amazon`
with Amazon's message; fix the listing and the next run sends it again (it is not in Amazon's known
quantities until Amazon accepts it). A FATAL feed (Amazon applied none of it) fails the run with the
report's errors and all its SKUs are dead-lettered the same way. **read_and_plan** failing is NetSuite;
**push** failing is Amazon: clear it, it resumes the same feeds.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import dag, get_current_context, task

from amazon_netsuite.dags_common import (
    AMAZON_POOL,
    NETSUITE_POOL,
    START_DATE,
    data_interval_schedule,
    default_args,
    feed_poll_seconds,
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "netsuite_inventory_to_amazon"
FEED_POLL_SECONDS = feed_poll_seconds()


@task(pool=AMAZON_POOL)
def regions() -> list[dict[str, Any]]:
    """The SP-API connections of the mapped marketplaces, with each one's seller id (no call to Amazon)."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.mappings import load_mappings

    targets = load_mappings().sp_api_targets()
    hooks = hooks_for_targets(targets)
    return [{"conn_id": t.conn_id, "region": t.region, "marketplace_ids": list(t.marketplace_ids),
             "seller_id": h.config.seller_id} for t, h in zip(targets, hooks, strict=True)]


@task(pool=NETSUITE_POOL)
def read_and_plan(targets: list[dict[str, Any]]) -> dict[str, Any]:
    """Read what moved in NetSuite, compute every MFN SKU's quantity per region, stage the feeds."""
    from amazon_netsuite.flows.inventory import read_and_plan as plan
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    return plan(netsuite=NetSuiteHook(), ledger=Ledger.from_connection(), mappings=load_mappings(),
                run_id=context["run_id"], targets=targets, dry_run=bool(context["params"].get("dry_run")))


@task
def feeds_to_push(planned: dict[str, Any]) -> list[dict[str, Any]]:
    """The feed operator's arguments, one region each (a region with no change submits nothing)."""
    return [{"document_uris": r["document_uris"], "marketplace_ids": r["marketplace_ids"], "sp_api_conn_id": r["conn_id"]}
            for r in planned["regions"]]


@task(map_index_template="{{ sp_api_connection }}")
def record(pushed: dict[str, Any]) -> dict[str, Any]:
    """Accepted -> Amazon's known quantity in the ledger; rejected or FATAL -> dead-lettered with Amazon's words."""
    from amazon_netsuite.flows.inventory import record_feed_results
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings

    context = get_current_context()
    context["sp_api_connection"] = pushed["sp_api_conn_id"]
    region = {t.conn_id: t.region for t in load_mappings().sp_api_targets()}.get(pushed["sp_api_conn_id"])
    return record_feed_results(pushed, ledger=Ledger.from_connection(), run_id=context["run_id"], region=region)


@task(pool=AMAZON_POOL)
def fba_counts(targets: list[dict[str, Any]]) -> dict[str, int]:
    """Amazon's fulfillable FBA units per marketplace and mapped AFN SKU (getInventorySummaries)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.inventory import fba_amazon_counts
    from amazon_netsuite.mappings import load_mappings

    mappings = load_mappings()
    counts: dict[str, int] = {}
    for target in targets:
        hook = SellingPartnerHook(target["conn_id"], marketplace_ids=target["marketplace_ids"])
        try:
            counts.update(fba_amazon_counts(hook, mappings=mappings, marketplace_ids=target["marketplace_ids"]))
        finally:
            hook.close()
    return counts


@task(pool=NETSUITE_POOL)
def fba_reconcile(counts: dict[str, int]) -> dict[str, Any]:
    """Amazon's FBA counts against the NetSuite FBA locations; the day's adjustment when asked."""
    import datetime as dt

    from amazon_netsuite.flows.inventory import fba_reconcile as reconcile
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    params = context["params"]
    when = context.get("logical_date") or dt.datetime.now(dt.UTC)
    day = when.date().isoformat()
    return reconcile(counts, netsuite=NetSuiteHook(), ledger=Ledger.from_connection(), mappings=load_mappings(),
                     run_id=context["run_id"], post_adjustment=bool(params.get("fba_adjustment")),
                     account_id=os.environ.get("AMAZON_NETSUITE_FBA_ADJUSTMENT_ACCOUNT_ID"),
                     day=day, dry_run=bool(params.get("dry_run")))


@task(trigger_rule="all_done")
def summary(planned: dict[str, Any] | None, recorded: Any, fba: dict[str, Any] | None) -> dict[str, Any]:
    """Counts, mapping problems, FBA differences and FATAL feeds; fails the run once if anything was dead-lettered."""
    from airflow.sdk.exceptions import AirflowFailException

    from amazon_netsuite.notifiers import finish_run

    context = get_current_context()
    if planned is None:
        raise AirflowFailException("read_and_plan did not finish (NetSuite): nothing was computed or sent; its log says why")
    results = [r for r in (list(recorded[:]) if recorded is not None else []) if r]
    details: list[str] = []
    extra: dict[str, int] = {}
    for region in (planned or {}).get("regions", []):
        details.append(f"{region['region']}: {region['quantities']} MFN SKU(s), {region['changes']} changed "
                       f"({region['zero']} at 0)")
        extra["changed"] = extra.get("changed", 0) + region["changes"]
    for problem in (planned or {}).get("issues", []):
        details.append(f"mapping problem ({problem['kind']}): {problem['message']}")
    extra["mapping_problems"] = len((planned or {}).get("issues", []))
    fatal: list[str] = []
    for result in results:
        for key in ("accepted", "rejected", "fatal"):
            extra[key] = extra.get(key, 0) + result.get(key, 0)
        fatal.extend(result.get("fatal_errors") or [])
    if fba:
        extra["fba_differences"] = fba.get("difference_count", 0)
        for diff in fba.get("differences", [])[:20]:
            details.append(f"FBA {diff['marketplace_id']} {diff['seller_sku']}: Amazon {diff['amazon']}, NetSuite "
                           f"{diff['netsuite']} (item {diff['item_id']})")
        details.extend(f"posted {ext}" for ext in fba.get("adjustments", []))
    details.extend(fatal)
    return finish_run(context, extra_counts=extra, details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("*/15 * * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["netsuite", "amazon", "inventory", "listings"],
    params=sync_params("dry_run", "fba_adjustment"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def netsuite_inventory_to_amazon():
    from amazon_netsuite.amazon.operators import SellingPartnerFeedOperator

    targets = regions()
    planned = read_and_plan(targets)
    pushed = SellingPartnerFeedOperator.partial(
        task_id="push", feed_type="JSON_LISTINGS_FEED", fail_on_fatal=False, pool=AMAZON_POOL,
        poll_interval=FEED_POLL_SECONDS, report_dag_id=DAG_ID,
    ).expand_kwargs(feeds_to_push(planned))
    recorded = record.expand(pushed=pushed.output)
    fba = fba_reconcile(fba_counts(targets))
    summary(planned, recorded, fba)


netsuite_inventory_to_amazon()
