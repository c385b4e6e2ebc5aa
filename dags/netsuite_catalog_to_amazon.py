"""
### NetSuite item catalog → Amazon listings (status written back to the item)

Every hour, the NetSuite inventory items **modified** since the last synced point (sync ledger, minus a
5-minute overlap; ``lastModifiedDate`` search, paged) whose checkbox `custitem_amazon_publish` is set
become Amazon listings, one per SKU and SP-API region, in each mapped marketplace the item has a price
for (`custitem_amazon_price_{country}`, e.g. `custitem_amazon_price_us`, in the marketplace's currency).
The custom fields are listed in the README's NetSuite setup checklist.

1. **extract** (pool `netsuite_api`): items → listing attributes (title, brand, bullet points,
   description, condition, UPC/EAN/GTIN or exemption, price, image). A listing missing an attribute
   that `include/mappings/listing_requirements.csv` requires for its product type is **not sent**: it is
   dead-lettered with the missing names and the item is marked `INCOMPLETE`. A listing whose content
   hash the ledger already holds is not sent again.
2. **submit** (pool `amazon_sp_api`, per region): up to `AMAZON_NETSUITE_LISTINGS_FEED_THRESHOLD` (20)
   listings one by one — a new SKU `putListingsItem` after a `VALIDATION_PREVIEW`, a listed SKU
   `patchListingsItem` (quantity is never touched: the inventory DAG owns it) — more as one
   `JSON_LISTINGS_FEED` per region, submitted by **feed** (deferrable: waits in the triggerer).
3. **confirm** (pool `amazon_sp_api`): each listing's outcome (feed processing report per message) and
   its ASIN (`getListingsItem`).
4. **write_back** (pool `netsuite_api`): `custitem_amazon_asin`, `custitem_amazon_listing_status`
   (`ACTIVE`, `SUBMITTED` until Amazon assigns the ASIN, `INCOMPLETE`, `ERROR`, `DELISTED`),
   `custitem_amazon_listing_issues` (Amazon's issues or the missing attributes) and
   `custitem_amazon_last_sync` on each item, `updateList` in batches; then the synced point moves on.

An item this DAG listed that is **unflagged** (or made inactive) is deleted from Amazon
(`deleteListingsItem`) and marked `DELISTED`. Listings accepted before Amazon assigned the ASIN are
looked up again by every run until it is written back.

**Params**: `window_start` / `window_end` (ISO 8601) re-read items modified in a period; `dry_run`
validates everything with Amazon (`VALIDATION_PREVIEW`) and writes nothing, neither to Amazon nor to
NetSuite.

**When it fails**: listings Amazon refused or that lack data are dead-lettered (the rest are sent) and
the run ends failed once with the reasons. Inspect with
`python -m amazon_netsuite.ledger failed --dag netsuite_catalog_to_amazon`; fix the item in NetSuite
(saving it changes `lastModifiedDate`, so the next run sends it), or re-read a period with
`window_start`/`window_end`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task

from amazon_netsuite.amazon.operators import SellingPartnerFeedOperator
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

DAG_ID = "netsuite_catalog_to_amazon"
FEED_POLL_SECONDS = feed_poll_seconds()


@task(pool=NETSUITE_POOL)
def extract() -> dict[str, Any]:
    """Read the items modified since the last synced point; stage the listings to send per region."""
    from amazon_netsuite.dags_common import source_window
    from amazon_netsuite.flows import catalog
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from amazon_netsuite.transforms.catalog import load_requirements

    context = get_current_context()
    ledger = Ledger.from_connection()
    mappings = load_mappings()
    # NetSuite sets lastModifiedDate when it commits the save: no Amazon-style 2-minute lag to respect
    start, end, advances = source_window(context, ledger.watermark(DAG_ID, catalog.WATERMARK_SCOPE), lag=timedelta(0))
    return catalog.extract(netsuite=NetSuiteHook(), ledger=ledger, mappings=mappings,
                           requirements=load_requirements(mappings.directory), run_id=context["run_id"],
                           window=(start, end), advance_to=end if advances else None,
                           dry_run=bool(context["params"].get("dry_run")))


@task
def region_batches(extracted: dict[str, Any]) -> list[dict[str, Any]]:
    """The regions with listings to send (one mapped submit each)."""
    return list(extracted["regions"])


@task(pool=AMAZON_POOL, map_index_template="{{ sp_api_connection }}")
def submit(batch: dict[str, Any]) -> dict[str, Any]:
    """Send the region's listings one by one (few) or stage them as JSON_LISTINGS_FEED documents (many)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows import catalog

    context = get_current_context()
    context["sp_api_connection"] = batch["conn_id"]
    hook = SellingPartnerHook(batch["conn_id"], marketplace_ids=batch["marketplace_ids"])
    return catalog.submit(batch, hook=hook, run_id=context["run_id"], threshold=catalog.feed_threshold(),
                          dry_run=bool(context["params"].get("dry_run")))


def feed_kwargs(submitted: dict[str, Any]) -> dict[str, Any]:
    return {"document_uris": submitted["document_uris"], "marketplace_ids": submitted["marketplace_ids"],
            "sp_api_conn_id": submitted["conn_id"]}


@task(pool=AMAZON_POOL)
def confirm(pair: Any) -> dict[str, Any]:
    """Each listing's outcome (feed report per message or the direct answers) and its ASIN."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows import catalog

    submitted, feeds = pair
    hook = SellingPartnerHook(submitted["conn_id"], marketplace_ids=submitted["marketplace_ids"])
    return catalog.confirm(submitted, feeds, hook=hook, run_id=get_current_context()["run_id"])


@task(pool=NETSUITE_POOL, trigger_rule="all_done")
def write_back(extracted: dict[str, Any], confirmed: Any) -> dict[str, Any]:
    """Ledger + item custom fields (updateList, batched); then the synced point moves on. Runs after a
    region failed too (its listings were not confirmed: they stay unsynced and go again next run), but
    then the synced point does not move."""
    from airflow.sdk.exceptions import AirflowException

    from amazon_netsuite.flows import catalog
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    results = list(confirmed[:]) if confirmed is not None else []
    regions = len(extracted["regions"])
    complete = len(results) == regions
    done = catalog.write_back(extracted if complete else {**extracted, "advance_to": None}, results,
                              netsuite=NetSuiteHook(), ledger=Ledger.from_connection(), run_id=context["run_id"],
                              dry_run=bool(context["params"].get("dry_run")))
    if not complete:
        raise AirflowException(f"{regions - len(results)} of {regions} region(s) did not confirm their listings; "
                               "the others were written back. The next run sends the missing ones again.")
    return done


@task
def summary(extracted: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """Report what the run did; fail the run once if any listing was dead-lettered."""
    from amazon_netsuite.notifiers import finish_run

    counts = {**extracted["counts"], **written["counts"]}
    details = [f"{r['region']}: {r['count']} listing(s) to send" for r in extracted["regions"]]
    return finish_run(get_current_context(), extra_counts=counts, details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("0 * * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["netsuite", "amazon", "catalog", "listings"],
    params=sync_params("window_start", "window_end", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def netsuite_catalog_to_amazon():
    extracted = extract()
    submitted = submit.expand(batch=region_batches(extracted))
    feeds = SellingPartnerFeedOperator.partial(
        task_id="feed", feed_type="JSON_LISTINGS_FEED", fail_on_fatal=False, pool=AMAZON_POOL,
        poll_interval=FEED_POLL_SECONDS, report_dag_id=DAG_ID,
    ).expand_kwargs(submitted.map(feed_kwargs))
    confirmed = confirm.expand(pair=submitted.zip(feeds.output))
    summary(extracted, write_back(extracted, confirmed))


netsuite_catalog_to_amazon()
