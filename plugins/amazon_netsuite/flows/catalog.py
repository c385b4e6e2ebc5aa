"""netsuite_catalog_to_amazon: NetSuite items flagged for Amazon become listings; the result goes back to the item.

Steps (each a task of the DAG; data between them is staged, XCom carries paths and counts):

1. :func:`extract` (NetSuite pool): the items modified in the window (``lastModifiedDate``, paged), the
   published ones turned into one listing per SP-API region (transforms/catalog.py). A listing missing
   required attributes (``include/mappings/listing_requirements.csv``) is dead-lettered with the missing
   names and its item marked INCOMPLETE; a listing whose content hash the ledger already holds as synced is
   not sent again. The rest is staged per region.
2. :func:`submit` (Amazon pool, per region): up to ``feed_threshold`` listings go one by one (a new SKU:
   ``putListingsItem`` in ``VALIDATION_PREVIEW`` first, then for real; a listed SKU: ``patchListingsItem``
   of the managed attributes, never ``fulfillment_availability``); more go as ``JSON_LISTINGS_FEED``
   documents that the shared :class:`SellingPartnerFeedOperator` submits and waits for.
3. :func:`confirm` (Amazon pool, per region): the feed processing reports read per message, and the ASIN
   of each accepted listing (``getListingsItem``; Amazon assigns it after accepting).
4. :func:`write_back` (NetSuite pool): the ledger (synced with the content hash and ASIN, or dead-lettered
   with Amazon's issues), the items updated in ``updateList`` batches (ASIN, status, issues, sync time),
   then the high-water mark moves on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from amazon_netsuite import staging
from amazon_netsuite.transforms.catalog import (
    DAG_ID,
    RECORD_TYPE,
    Listing,
    WriteBack,
    build_listings,
    feed_documents,
    is_published,
    issue_text,
    item_sku,
    patches,
    read_fields,
)

log = logging.getLogger(__name__)

WRITE_BACK_TYPE = "item_writeback"
WATERMARK_SCOPE = "netsuite_items"
#: more listings than this in one region go as a JSON_LISTINGS_FEED instead of one call each
FEED_THRESHOLD_ENV = "AMAZON_NETSUITE_LISTINGS_FEED_THRESHOLD"
DEFAULT_FEED_THRESHOLD = 20
#: listings accepted without an ASIN yet, looked up again per run (getListingsItem, 5 per second)
MAX_ASIN_CHECKS = 500


def feed_threshold() -> int:
    value = os.environ.get(FEED_THRESHOLD_ENV, "")
    try:
        return max(0, int(value)) if value.strip() else DEFAULT_FEED_THRESHOLD
    except ValueError:
        raise ValueError(f"{FEED_THRESHOLD_ENV}={value!r} is not a whole number of listings") from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- 1. extract --------------------------------------------------------------------------------------------
def extract(*, netsuite: Any, ledger: Any, mappings: Any, requirements: Mapping[str, Sequence[str]], run_id: str,
            window: tuple[dt.datetime, dt.datetime], advance_to: dt.datetime | None, dry_run: bool = False) -> dict[str, Any]:
    """Read the items changed in ``window``; stage the listings to send per region. Returns
    ``{"regions": [{conn_id, region, marketplace_ids, uri, count}], "incomplete_uri", "counts", "advance_to"}``."""
    start, end = window
    items = netsuite.search_modified_since("inventoryItem", start, end,
                                           custom_fields=read_fields(mappings.marketplaces.values()))
    out = prepare(items, ledger=ledger, mappings=mappings, requirements=requirements, run_id=run_id, dry_run=dry_run)
    log.info("NetSuite items %s..%s: %s", start.isoformat(), end.isoformat(), out["counts"])
    return {**out, "advance_to": advance_to.isoformat() if advance_to else None}


def prepare(items: Iterable[Mapping[str, Any]], *, ledger: Any, mappings: Any, requirements: Mapping[str, Sequence[str]],
            run_id: str, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
    """Items -> listings: incomplete ones dead-lettered (their items to mark INCOMPLETE, staged), unchanged
    ones skipped (unless ``force``), the rest staged per region. Also returns the ``keys`` it produced."""
    from amazon_netsuite.ledger.models import STATUS_SYNCED
    from amazon_netsuite.ledger.store import content_hash

    targets = {t.region: t for t in mappings.sp_api_targets()}
    counts = {"items_read": 0, "items_published": 0, "listings_unchanged": 0, "listings_incomplete": 0,
              "listings_to_send": 0, "listings_to_delist": 0}
    unpublished: dict[str, str] = {}
    candidates: dict[str, list[tuple[Listing, str]]] = {}
    incomplete: dict[str, WriteBack] = {}
    keys: list[str] = []
    delist: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        counts["items_read"] += 1
        if not is_published(item):
            sku = item_sku(item)
            if sku:
                unpublished[sku] = str(item.get("internalId") or "")
            continue
        counts["items_published"] += 1
        for listing in build_listings(item, mappings.marketplaces.values(), requirements):
            keys.append(listing.source_key)
            if listing.missing or listing.region not in targets:
                counts["listings_incomplete"] += 1
                text = _missing_text(listing)
                log.warning("Item %s (SKU %s, %s) not sent: %s", listing.item_id, listing.sku, listing.region, text)
                if not dry_run:
                    ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=listing.source_key,
                                         error=text, reason="missing_attributes", run_id=run_id, external_id=listing.sku,
                                         replay={"item_id": listing.item_id})
                incomplete.setdefault(listing.item_id, WriteBack(listing.item_id)).add("INCOMPLETE", issue=text)
                continue
            candidates.setdefault(listing.region, []).append((listing, content_hash(listing.content)))
    # an unflagged (or inactivated) item that this flow listed: its listings are deleted from Amazon
    if unpublished:
        wanted = {f"{DAG_ID}:{RECORD_TYPE}:{region}:{sku}": (region, sku) for region in targets for sku in unpublished}
        for key, record in ledger.get_many(list(wanted)).items():
            if record.status == STATUS_SYNCED:
                region, sku = wanted[key]
                delist.setdefault(region, []).append({"key": record.source_key, "sku": sku, "region": region,
                                                      "item_id": unpublished[sku]})
                counts["listings_to_delist"] += 1
    awaiting: dict[str, list[dict[str, Any]]] = {}
    if not dry_run:
        for record in ledger.synced_without_internal_id(DAG_ID, RECORD_TYPE, limit=MAX_ASIN_CHECKS):
            region, _, sku = record.source_key.partition(":")
            if region in targets:
                awaiting.setdefault(region, []).append({"key": record.source_key, "sku": sku, "region": region,
                                                        "item_id": str((record.replay or {}).get("item_id") or ""),
                                                        "hash": record.content_hash})
    regions = []
    for region in sorted((awaiting.keys() | delist.keys()) - candidates.keys()):
        target = targets[region]
        regions.append({"conn_id": target.conn_id, "region": region, "marketplace_ids": list(target.marketplace_ids),
                        "uri": None, "count": 0, "awaiting": awaiting.get(region, []), "delist": delist.get(region, [])})
    for region, rows in candidates.items():
        unchanged = set() if force else ledger.unchanged(DAG_ID, RECORD_TYPE, {x.source_key: digest for x, digest in rows})
        counts["listings_unchanged"] += sum(1 for listing, _ in rows if listing.source_key in unchanged)
        send = [(listing, digest) for listing, digest in rows if listing.source_key not in unchanged]
        sending = {listing.source_key for listing, _ in send}
        waiting = [a for a in awaiting.get(region, []) if a["key"] not in sending]
        if not send:
            if waiting or delist.get(region):
                target = targets[region]
                regions.append({"conn_id": target.conn_id, "region": region, "marketplace_ids": list(target.marketplace_ids),
                                "uri": None, "count": 0, "awaiting": waiting, "delist": delist.get(region, [])})
            continue
        known = ledger.get_many([f"{DAG_ID}:{RECORD_TYPE}:{listing.source_key}" for listing, _ in send])
        listed = {r.source_key for r in known.values() if r.synced_at is not None or r.internal_id}
        target = targets[region]
        payload = [{"listing": listing.as_dict(), "hash": digest, "existing": listing.source_key in listed}
                   for listing, digest in send]
        counts["listings_to_send"] += len(payload)
        uri = staging.stage(payload, dag_id=DAG_ID, run_id=run_id, name=f"listings-{region}")
        regions.append({"conn_id": target.conn_id, "region": region, "marketplace_ids": list(target.marketplace_ids),
                        "uri": uri, "count": len(payload), "awaiting": waiting, "delist": delist.get(region, [])})
    incomplete_uri = staging.stage([w.__dict__ for w in incomplete.values()], dag_id=DAG_ID, run_id=run_id,
                                   name="incomplete") if incomplete else None
    return {"regions": regions, "incomplete_uri": incomplete_uri, "counts": counts, "keys": keys}


def _missing_text(listing: Listing) -> str:
    parts = []
    if listing.missing:
        parts.append(f"missing required attributes for {listing.product_type}: {', '.join(listing.missing)}")
    parts += list(listing.problems)
    return "; ".join(parts)


# -- 2. submit -------------------------------------------------------------------------------------------
def submit(batch: Mapping[str, Any], *, hook: Any, run_id: str, threshold: int, dry_run: bool = False) -> dict[str, Any]:
    """Send one region's listings: one call each (few) or feed documents (many, staged for the feed operator).

    Returns ``{conn_id, region, marketplace_ids, listings_uri, results_uri, document_uris, mode}``: ``results_uri``
    holds the per-listing outcome of direct calls; ``document_uris`` the feeds to submit (empty when direct)."""
    from amazon_netsuite.amazon.hook import json_numbers

    rows = staging.load(batch["uri"]) if batch.get("uri") else []
    marketplaces = batch["marketplace_ids"]
    out = {"conn_id": batch["conn_id"], "region": batch["region"], "marketplace_ids": marketplaces,
           "listings_uri": batch.get("uri"), "results_uri": None, "document_uris": [], "mode": "direct",
           "awaiting": list(batch.get("awaiting") or [])}
    delisted = [_delist_one(hook, d, marketplaces, dry_run=dry_run) for d in batch.get("delist") or []]
    if delisted:
        out["delist_uri"] = staging.stage(delisted, dag_id=DAG_ID, run_id=run_id, name=f"delist-{batch['region']}")
    if dry_run or len(rows) <= threshold:
        results = []
        for row in rows:
            listing, existing = Listing.from_dict(row["listing"]), row["existing"]
            results.append(_send_one(hook, listing, existing, marketplaces, preview_only=dry_run) | {"hash": row["hash"]})
        out["results_uri"] = staging.stage(results, dag_id=DAG_ID, run_id=run_id, name=f"results-{batch['region']}")
        return out
    documents = feed_documents([(Listing.from_dict(r["listing"]), r["existing"]) for r in rows], hook.config.seller_id)
    out["mode"] = "feed"
    # prices become JSON numbers with the same digits here: the feed operator uploads the staged document as is
    out["document_uris"] = [staging.stage(json_numbers(doc), dag_id=DAG_ID, run_id=run_id, name=f"feed-{batch['region']}-{n}")
                            for n, doc in enumerate(documents)]
    log.info("%s: %s listings go as %s JSON_LISTINGS_FEED document(s)", batch["region"], len(rows), len(documents))
    return out


def _delist_one(hook: Any, entry: Mapping[str, Any], marketplaces: Sequence[str], *, dry_run: bool) -> dict[str, Any]:
    """Delete the listing of an unflagged item from the region's marketplaces (``deleteListingsItem``)."""
    if dry_run:
        return dict(entry, status="WOULD_DELIST", issues="", operation="delete")
    answer = hook.delete_listings_item(entry["sku"], marketplace_ids=marketplaces)
    status = "DELISTED" if answer["status"] == "ACCEPTED" else "INVALID"
    return dict(entry, status=status, issues=issue_text(answer.get("issues") or []), operation="delete")


def _send_one(hook: Any, listing: Listing, existing: bool, marketplaces: Sequence[str], *, preview_only: bool) -> dict[str, Any]:
    """One listing: a listed SKU is patched (attributes the flow manages); a new SKU is previewed
    (``VALIDATION_PREVIEW``: Amazon's own issues, nothing created) and then put."""
    base = {"key": listing.source_key, "item_id": listing.item_id, "sku": listing.sku, "region": listing.region}
    if existing:
        answer = hook.patch_listings_item(listing.sku, listing.product_type, patches(listing),
                                          marketplace_ids=listing.marketplace_ids, validation_preview=preview_only)
    else:
        answer = hook.put_listings_item(listing.sku, listing.product_type, listing.attributes,
                                        marketplace_ids=listing.marketplace_ids, validation_preview=True)
        if answer["status"] == "VALID" and not preview_only:
            answer = hook.put_listings_item(listing.sku, listing.product_type, listing.attributes,
                                            marketplace_ids=listing.marketplace_ids)
    status = "INVALID" if answer["status"] == "INVALID" else ("PREVIEWED" if preview_only else "ACCEPTED")
    return base | {"status": status, "issues": issue_text(answer.get("issues") or []),
                   "operation": "patch" if existing else "put"}


# -- 3. confirm -----------------------------------------------------------------------------------------
def confirm(submitted: Mapping[str, Any], feeds: Mapping[str, Any] | None, *, hook: Any, run_id: str) -> dict[str, Any]:
    """Per-listing outcomes of one region (from the direct calls or the feed processing reports), with the
    ASIN of each accepted listing. Returns ``{region, results_uri, counts}``."""
    if submitted["mode"] == "feed":
        results = _feed_results(submitted, feeds or {"feeds": []})
    else:
        results = staging.load(submitted["results_uri"])
    # listings accepted by earlier runs that had no ASIN yet: looked up again, written back once assigned
    results += [dict(a, status="ACCEPTED", issues="", operation="check") for a in submitted.get("awaiting") or []]
    accepted = [r for r in results if r["status"] == "ACCEPTED"]
    for result in accepted:
        item = hook.get_listings_item(result["sku"], marketplace_ids=submitted["marketplace_ids"],
                                      included_data=("summaries", "issues"))
        asins = [s.get("asin") for s in (item or {}).get("summaries") or [] if s.get("asin")]
        result["asin"] = asins[0] if asins else None
        later = issue_text(i for i in (item or {}).get("issues") or [] if i.get("severity") == "ERROR")
        if later:  # Amazon accepted the submission, then found a problem while processing it
            result["status"], result["issues"] = "INVALID", later
    if submitted.get("delist_uri"):
        results += staging.load(submitted["delist_uri"])
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"].lower()] = counts.get(r["status"].lower(), 0) + 1
    uri = staging.stage(results, dag_id=DAG_ID, run_id=run_id, name=f"confirmed-{submitted['region']}")
    log.info("%s: %s", submitted["region"], counts)
    return {"region": submitted["region"], "results_uri": uri, "counts": counts}


def _feed_results(submitted: Mapping[str, Any], feeds: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each listing's outcome from its feed's processing report: ERROR issues on its messageId make it
    INVALID; a feed that ended FATAL/CANCELLED (or never came back) fails every listing in it."""
    rows = staging.load(submitted["listings_uri"])
    per_document = 25_000
    by_index = {f["index"]: f for f in feeds.get("feeds") or []}
    results = []
    reports: dict[int, dict[int, list[dict]]] = {}
    for index, feed in by_index.items():
        if feed.get("processingStatus") == "DONE" and feed.get("report_uri"):
            report = staging.load(feed["report_uri"])
            issues: dict[int, list[dict]] = {}
            for issue in report.get("issues") or []:
                if "messageId" in issue:
                    issues.setdefault(int(issue["messageId"]), []).append(issue)
            reports[index] = issues
    for n, row in enumerate(rows):
        listing = Listing.from_dict(row["listing"])
        index, message_id = divmod(n, per_document)
        message_id += 1
        base = {"key": listing.source_key, "item_id": listing.item_id, "sku": listing.sku, "region": listing.region,
                "hash": row["hash"], "operation": "feed"}
        feed = by_index.get(index)
        if index not in reports:
            why = "; ".join((feed or {}).get("errors") or []) or "no processing report"
            status = (feed or {}).get("processingStatus", "not submitted")
            results.append(base | {"status": "ERROR", "issues": f"feed {(feed or {}).get('feedId', '-')} ended {status}: {why}"})
            continue
        errors = [i for i in reports[index].get(message_id, []) if i.get("severity") == "ERROR"]
        results.append(base | ({"status": "INVALID", "issues": issue_text(errors)} if errors
                               else {"status": "ACCEPTED", "issues": ""}))
    return results


# -- 4. write back ------------------------------------------------------------------------------------------
def write_back(extracted: Mapping[str, Any], confirmed: Sequence[Mapping[str, Any]], *, netsuite: Any, ledger: Any,
               run_id: str, dry_run: bool = False) -> dict[str, Any]:
    """Record every outcome in the ledger and write it to the items (``updateList``, batched); then move
    the high-water mark. Returns counts."""
    write: dict[str, WriteBack] = {}
    if extracted.get("incomplete_uri"):
        for data in staging.load(extracted["incomplete_uri"]):
            wb = write.setdefault(data["item_id"], WriteBack(data["item_id"]))
            for issue in data["issues"]:
                wb.add(data["status"], issue=issue)
    counts = {"listed": 0, "rejected": 0, "previewed": 0, "written_back": 0}
    for region in confirmed:
        for result in staging.load(region["results_uri"]):
            status = result["status"]
            if result.get("operation") == "check" and not result.get("asin"):
                continue  # accepted earlier, still no ASIN: nothing new to write; the next run looks again
            wb = write.setdefault(result["item_id"], WriteBack(result["item_id"]))
            if status == "WOULD_DELIST":
                counts["would_delist"] = counts.get("would_delist", 0) + 1
                continue
            if status == "DELISTED":
                counts["delisted"] = counts.get("delisted", 0) + 1
                wb.add("DELISTED")
                if not dry_run:
                    ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=result["key"],
                                          reason="unpublished", run_id=run_id, external_id=result["sku"],
                                          detail=f"item {result['item_id']} unflagged: listing deleted from Amazon")
                continue
            if status == "PREVIEWED":
                counts["previewed"] += 1
                continue
            if status == "ACCEPTED" and result.get("operation") == "check":
                counts["asins_assigned"] = counts.get("asins_assigned", 0) + 1
                wb.add("ACTIVE", asin=result["asin"])
                if not dry_run:
                    ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=result["key"],
                                         external_id=result["sku"], internal_id=result["asin"], run_id=run_id,
                                         content_hash=result["hash"], replay={"item_id": result["item_id"]})
                continue
            if status == "ACCEPTED":
                counts["listed"] += 1
                wb.add("ACTIVE" if result.get("asin") else "SUBMITTED", asin=result.get("asin"))
                if not dry_run:
                    ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=result["key"],
                                         external_id=result["sku"], internal_id=result.get("asin"), run_id=run_id,
                                         content_hash=result["hash"], replay={"item_id": result["item_id"]})
            else:
                counts["rejected"] += 1
                text = f"{result['region']}: {result['issues'] or status}"
                wb.add("ERROR", issue=text)
                log.warning("Amazon refused SKU %s (item %s): %s", result["sku"], result["item_id"], text)
                if not dry_run:
                    ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=result["key"],
                                         error=f"Amazon refused the listing: {text}", reason="amazon_rejected",
                                         run_id=run_id, external_id=result["sku"], replay={"item_id": result["item_id"]})
    if dry_run:
        return {"counts": counts, "items": len(write)}
    stamp = _now()
    records = [wb.record(stamp) for wb in write.values()]
    if records:
        for record, result in zip(records, netsuite.update_records("inventoryItem", records), strict=True):
            if result.ok:
                counts["written_back"] += 1
            else:
                ledger.record_failed(dag_id=DAG_ID, record_type=WRITE_BACK_TYPE, source_key=str(record["internalId"]),
                                     error=f"NetSuite refused the listing status update: [{result.error_code}] {result.error_message}",
                                     reason="netsuite_rejected", run_id=run_id, replay={"item_id": record["internalId"]})
    if extracted.get("advance_to"):
        ledger.advance_watermark(DAG_ID, WATERMARK_SCOPE, dt.datetime.fromisoformat(extracted["advance_to"]), run_id=run_id)
    return {"counts": counts, "items": len(write)}


# -- replay -------------------------------------------------------------------------------------------------
def replay(records: Sequence[Any], *, ledger: Any, run_id: str) -> None:
    """Re-read the items of failed listings (or failed write-backs) from NetSuite (``getList``) and run
    them through the same steps as a run, sending even unchanged listings (one call each). An item that
    is gone or no longer published closes its record as skipped."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from amazon_netsuite.transforms.catalog import load_requirements

    mappings = load_mappings()
    netsuite = NetSuiteHook()
    item_ids = list(dict.fromkeys(str((r.replay or {}).get("item_id") or "") for r in records))
    items = netsuite.get_records("inventoryItem", [i for i in item_ids if i])
    prepared = prepare(items.values(), ledger=ledger, mappings=mappings, requirements=load_requirements(mappings.directory),
                       run_id=run_id, force=True)
    confirmed = []
    for batch in prepared["regions"]:
        hook = SellingPartnerHook(batch["conn_id"], marketplace_ids=batch["marketplace_ids"])
        try:
            submitted = submit(batch, hook=hook, run_id=run_id, threshold=batch["count"])
            confirmed.append(confirm(submitted, None, hook=hook, run_id=run_id))
        finally:
            hook.close()
    write_back({**prepared, "advance_to": None}, confirmed, netsuite=netsuite, ledger=ledger, run_id=run_id)
    produced = set(prepared["keys"])
    for record in records:
        item_id = str((record.replay or {}).get("item_id") or "")
        if item_id not in items:
            ledger.record_skipped(dag_id=record.dag_id, record_type=record.record_type, source_key=record.source_key,
                                  reason="source_deleted", detail=f"NetSuite item {item_id or '?'} no longer exists",
                                  run_id=run_id)
        elif record.record_type == RECORD_TYPE and record.source_key not in produced:
            ledger.record_skipped(dag_id=record.dag_id, record_type=record.record_type, source_key=record.source_key,
                                  reason="not_published", run_id=run_id,
                                  detail=f"item {item_id} is no longer published in this region (flag or price removed)")
        elif record.record_type == WRITE_BACK_TYPE:
            current = ledger.get(record.key)
            if current is not None and current.run_id != run_id:
                ledger.record_synced(dag_id=record.dag_id, record_type=record.record_type, source_key=record.source_key,
                                     external_id=None, internal_id=item_id, run_id=run_id)
