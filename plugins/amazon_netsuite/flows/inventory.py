"""Flow ``netsuite_inventory_to_amazon``: NetSuite quantities -> Amazon merchant-fulfilled listings.

Tasks (dags/netsuite_inventory_to_amazon.py wires them):

1. :func:`read_and_plan` (pool ``netsuite_api``): read what moved in NetSuite since the last run
   (``getItemAvailability`` filtered by ``lastQtyAvailableChange``, 10,000 items a call; item
   lastModifiedDate does not move with stock, so it is never used for that), keep it in the ledger's
   stock snapshot, compute every MFN SKU's quantity per region (transforms/inventory.py), and stage one
   ``JSON_LISTINGS_FEED`` document per region and 25,000 changes. Only ids and counts go to XCom.
2. ``SellingPartnerFeedOperator`` per region (pool ``amazon_sp_api``): submit, defer, read the reports.
3. :func:`record_feed_results` per region: accepted -> the ledger's pushed state (what Amazon holds);
   rejected -> dead-lettered with Amazon's message; a FATAL feed dead-letters all of its SKUs with the
   report's errors. A SKU Amazon did not accept is not in the pushed state, so the next run sends it again.
4. FBA: :func:`fba_amazon_counts` (pool ``amazon_sp_api``) reads Amazon's FBA inventory summaries;
   :func:`fba_reconcile` (pool ``netsuite_api``) compares them with the NetSuite FBA locations and,
   when asked, posts one inventory adjustment ``AMZ-IA-{date}-{subsidiary}`` a day per subsidiary.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.transforms import inventory as rules

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "netsuite_inventory_to_amazon"
RECORD_TYPE = "listingQuantity"
FBA_RECORD_TYPE = "inventoryAdjustment"
FEED_TYPE = "JSON_LISTINGS_FEED"
#: The NetSuite read's high-water mark (lastQtyAvailableChange), minus this overlap for clock skew
#: (``AMAZON_NETSUITE_INVENTORY_OVERLAP_SECONDS``, default 300).
STOCK_SCOPE = "netsuite_item_availability"
OVERLAP = timedelta(seconds=float(os.environ.get("AMAZON_NETSUITE_INVENTORY_OVERLAP_SECONDS", "300")))


def pushed_scope(region: str) -> str:
    """The pushed-state key of a region (merchant-fulfilled quantity is one number per SKU and region)."""
    return f"region:{region}"


@dataclass
class StockRead:
    """What the NetSuite read cost and found (counts only)."""

    availability_calls: int = 0
    full_items: int = 0
    changed_rows: int = 0
    state_checks: int = 0
    rows: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    #: (item id, location id) -> ``lastQtyAvailableChange`` of the rows read (reconciliation judges no SKU whose
    #: stock moved, at the locations its quantity comes from, too recently for the 15-minute flow to have sent it;
    #: per location, since an item sold FBA too moves at its FBA location with every FBA order)
    changed_at: dict[tuple[str, str], datetime] = field(default_factory=dict)


def _targets(mappings: Mappings) -> dict[str, list[rules.SkuTarget]]:
    regions = sorted({m.region for m in mappings.marketplaces.values()})
    return {region: rules.region_targets(mappings, region) for region in regions}


def _rows(availability: Sequence[Any]) -> dict[tuple[str, str], Decimal]:
    return {(str(r.item_id), str(r.location_id)): r.quantity_available for r in availability if r.location_id is not None}


def _note_changes(read: StockRead, availability: Sequence[Any]) -> None:
    for row in availability:
        when = row.last_qty_available_change
        if isinstance(when, datetime) and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # a dateTime without offset: assumed UTC
        if when is None or row.location_id is None:
            continue
        key = (str(row.item_id), str(row.location_id))
        if key not in read.changed_at or when > read.changed_at[key]:
            read.changed_at[key] = when


def read_stock(
    *, netsuite: NetSuiteHook, ledger: Ledger, mappings: Mappings, dry_run: bool = False, now: datetime | None = None,
    afresh: bool = False, region: str | None = None,
) -> tuple[dict[tuple[str, str], Decimal], dict[str, str], StockRead]:
    """The stock snapshot and item states, brought up to date with as few NetSuite calls as possible.

    First run (or items new to the mapping): their full availability and their item records (body fields:
    ``getList``, or one SuiteQL query per 1,000 items on REST, never a GET per item). Later
    runs: ``getItemAvailability`` filtered by ``lastQtyAvailableChange`` since the last read (minus an
    overlap), and a full read only of the changed items whose other fulfillment locations are unknown.
    Item states (active, inactive, missing) come from the item records once, then from a search of
    items modified since the last read (inactivation changes lastModifiedDate; stock moves don't).

    ``afresh``: ignore what the ledger knows (mark, snapshot, item states) and read every mapped item in full,
    as sync_reconciliation does to check what was published (with ``dry_run``, so it never touches the
    snapshot this flow keeps); ``region``: only that region's items (an afresh dry run only: the snapshot's
    mark covers every region)."""
    if region is not None and not (afresh and dry_run):
        raise ValueError("read_stock(region=...) is for an afresh dry run only: the snapshot's mark covers every region")
    started = now or datetime.now(UTC)
    targets = _targets(mappings)
    if region is not None:
        targets = {region: targets.get(region, [])}
    wanted_locations: dict[str, set[str]] = {}
    for region_targets in targets.values():
        for target in region_targets:
            for source in target.sources:
                wanted_locations.setdefault(source.item_id, set()).update(source.location_ids)
    items = sorted(wanted_locations)
    mark = None if afresh else ledger.watermark(DAG_ID, STOCK_SCOPE)
    states = {} if afresh else ledger.item_states()
    stock = {} if afresh else ledger.item_stock()
    read = StockRead()
    new_items = [i for i in items if i not in states]
    new_states: dict[str, str] = {}
    if new_items:
        found = netsuite.body_fields_by_internal_ids("inventoryItem", new_items)
        read.state_checks += len(new_items)
        for item_id in new_items:
            record = found.get(item_id)
            new_states[item_id] = rules.MISSING if record is None else (rules.INACTIVE if record.get("isInactive") else rules.ACTIVE)
    if mark is not None:
        wanted = set(items)
        for record in netsuite.search_modified_since("inventoryItem", mark - OVERLAP):
            item_id = str(record.get("internalId"))
            if item_id in wanted:
                new_states[item_id] = rules.INACTIVE if record.get("isInactive") else rules.ACTIVE
    states = {**states, **new_states}
    readable = [i for i in items if states.get(i) != rules.MISSING]
    full = sorted(set(new_items) & set(readable)) if mark is not None else readable
    rows: dict[tuple[str, str], Decimal] = {}
    if mark is not None:
        others = [i for i in readable if i not in set(full)]
        changed_rows = netsuite.item_availability(others, since=mark - OVERLAP) if others else []
        _note_changes(read, changed_rows)
        changed = _rows(changed_rows)
        read.availability_calls += -(-len(others) // 10_000)
        read.changed_rows = len(changed)
        rows.update(changed)
        seen: dict[str, set[str]] = {}
        for item_id, location_id in changed:
            seen.setdefault(item_id, set()).add(location_id)
        # a changed item whose other fulfillment locations were never read: read it whole
        incomplete = [i for i, locs in seen.items()
                      if any((i, loc) not in stock and loc not in locs for loc in wanted_locations[i])]
        full = sorted(set(full) | set(incomplete))
    if full:
        full_rows = netsuite.item_availability(full)
        _note_changes(read, full_rows)
        rows.update(_rows(full_rows))
        read.availability_calls += -(-len(full) // 10_000)
        for item_id in full:  # a location NetSuite has no row for holds nothing: known, 0
            for location_id in wanted_locations[item_id]:
                rows.setdefault((item_id, location_id), Decimal(0))
    read.full_items = len(full)
    read.rows = rows
    merged = {k: v for k, v in stock.items() if k[0] not in set(full)}
    merged.update(rows)
    if not dry_run:
        ledger.record_item_states(new_states)
        ledger.record_item_stock(rows, replace_items=full)
        ledger.advance_watermark(DAG_ID, STOCK_SCOPE, started, run_id=None)
    log.info("NetSuite stock: %s availability call(s), %s changed row(s), %s item(s) read in full, %s item state(s) checked",
             read.availability_calls, read.changed_rows, read.full_items, read.state_checks)
    return merged, states, read


def read_and_plan(
    *, netsuite: NetSuiteHook, ledger: Ledger, mappings: Mappings, run_id: str, targets: Sequence[Mapping[str, Any]],
    dry_run: bool = False,
) -> dict[str, Any]:
    """The NetSuite task: stock up to date, every region's plan, its feed documents staged.

    ``targets``: the SP-API connections, ``[{conn_id, region, marketplace_ids, seller_id}]``. Returns
    ``{"regions": [{region, conn_id, marketplace_ids, document_uris, changes, quantities, zero}],
    "issues": [...], "netsuite": {calls...}}``."""
    from amazon_netsuite import staging

    seller_ids = {t["region"]: t.get("seller_id") or "" for t in targets}
    conn_ids = {t["region"]: t["conn_id"] for t in targets}
    stock, states, read = read_stock(netsuite=netsuite, ledger=ledger, mappings=mappings, dry_run=dry_run)
    unsynced = ledger.unsynced_order_units()
    out_regions, issues = [], []
    for region, targets in _targets(mappings).items():
        if region not in conn_ids:
            continue  # no connection asked for this region (the DAG passes every mapped region)
        plan = rules.plan_region(targets, region=region, stock=stock, item_states=states, unsynced=unsynced,
                                 pushed=ledger.pushed_quantities(pushed_scope(region)))
        issues.extend(i.as_dict() for i in plan.issues)
        product_types = {t.seller_sku: t.product_type for t in targets if t.product_type}
        documents = rules.feed_documents(rules.feed_messages(plan.changes, product_types),
                                         seller_id=seller_ids.get(region, ""))
        uris = [] if dry_run else [
            staging.stage(doc, dag_id=DAG_ID, run_id=run_id, name=f"feed-{region}-{n}") for n, doc in enumerate(documents)
        ]
        marketplace_ids = sorted({m for t in targets for m in t.marketplace_ids}) or sorted(
            m.marketplace_id for m in mappings.marketplaces.values() if m.region == region)
        log.info("Region %s: %s MFN SKU(s), %s to send in %s feed(s) (%s at 0), %s mapping issue(s)%s", region,
                 len(plan.quantities), len(plan.changes), len(documents), sum(1 for q in plan.changes.values() if q == 0),
                 len(plan.issues), " [dry run: nothing sent]" if dry_run else "")
        out_regions.append({
            "region": region, "conn_id": conn_ids[region], "marketplace_ids": marketplace_ids, "document_uris": uris,
            "changes": len(plan.changes), "quantities": len(plan.quantities),
            "zero": sum(1 for q in plan.changes.values() if q == 0), "unpublishable": dict(plan.unpublishable),
        })
    return {"regions": out_regions, "issues": issues,
            "netsuite": {"availability_calls": read.availability_calls, "changed_rows": read.changed_rows,
                         "full_items": read.full_items, "state_checks": read.state_checks}}


def record_feed_results(pushed: Mapping[str, Any], *, ledger: Ledger, run_id: str, region: str | None = None) -> dict[str, Any]:
    """One region's feeds, as SellingPartnerFeedOperator returned them: the ledger learns what Amazon
    accepted (pushed state, synced records) and what it rejected (dead-lettered with Amazon's message);
    a FATAL feed dead-letters every SKU it carried with the report's errors."""
    from amazon_netsuite import staging

    region = region or _region_of(pushed.get("sp_api_conn_id", ""))
    scope = pushed_scope(region)
    counts = {"accepted": 0, "rejected": 0, "fatal": 0}
    fatal_errors: list[str] = []
    for feed in pushed.get("feeds") or []:
        document = staging.load(feed["document_uri"])
        feed_id = feed["feedId"]
        if feed["processingStatus"] != "DONE":
            reason = "; ".join(feed.get("errors") or []) or "no processing report"
            fatal_errors.append(f"feed {feed_id} ({region}) ended {feed['processingStatus']}: {reason}")
            for message in document["messages"]:
                ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=f"{region}:{message['sku']}",
                                     reason="feed_fatal", run_id=run_id,
                                     error=f"feed {feed_id} ended {feed['processingStatus']}: Amazon applied none of it: {reason}",
                                     replay={"region": region, "seller_sku": message["sku"], "feed_id": feed_id})
                counts["fatal"] += 1
            continue
        report = staging.load(feed["report_uri"])
        outcome = rules.read_processing_report(document, report)
        ledger.record_pushed(scope, outcome.accepted, dag_id=DAG_ID, run_id=run_id, feed_id=feed_id)
        for sku, quantity in outcome.accepted.items():
            ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=f"{region}:{sku}", external_id=sku,
                                 internal_id=feed_id, run_id=run_id,
                                 replay={"region": region, "seller_sku": sku, "quantity": quantity})
        for sku, message in outcome.rejected.items():
            ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=f"{region}:{sku}",
                                 reason="amazon_rejected", run_id=run_id, external_id=sku,
                                 error=f"Amazon rejected {sku} in feed {feed_id}: {message}. Fix the listing; the next run "
                                       "sends the quantity again",
                                 replay={"region": region, "seller_sku": sku, "feed_id": feed_id})
        counts["accepted"] += len(outcome.accepted)
        counts["rejected"] += len(outcome.rejected)
        staging.discard(feed["report_uri"])
        staging.discard(feed["document_uri"])
    return {"region": region, "feeds": len(pushed.get("feeds") or []), **counts, "fatal_errors": fatal_errors}


def _region_of(conn_id: str) -> str:
    from amazon_netsuite.amazon.regions import region_from_conn_id

    return region_from_conn_id(conn_id) or conn_id


# ------------------------------------------------------------------------------------------ FBA


def fba_amazon_counts(amazon: SellingPartnerHook, *, mappings: Mappings, marketplace_ids: Sequence[str]) -> dict[str, int]:
    """Amazon's fulfillable FBA units per ``{marketplace}|{sku}`` of the mapped AFN SKUs (every page)."""
    afn = {(m, row.seller_sku) for m in marketplace_ids for row in mappings.skus_for_marketplace(m)
           if row.fulfillment_channel == "AFN"}
    counts: dict[str, int] = {}
    for marketplace_id in marketplace_ids:
        if not any(m == marketplace_id for m, _ in afn):
            continue
        for summary in amazon.iter_inventory_summaries(marketplace_id):
            sku = summary.get("sellerSku")
            if (marketplace_id, sku) in afn:
                details = summary.get("inventoryDetails") or {}
                counts[f"{marketplace_id}|{sku}"] = int(details.get("fulfillableQuantity") or 0)
    return counts


def fba_compare(
    amazon_counts: Mapping[str, int], *, netsuite: NetSuiteHook, mappings: Mappings,
    marketplace_ids: Sequence[str] | None = None, unsynced: Mapping[tuple[str, str], int] | None = None,
) -> tuple[list[rules.FbaDifference], int]:
    """Amazon's FBA counts (:func:`fba_amazon_counts`) against the NetSuite FBA locations (one
    ``getItemAvailability`` of the AFN items): the differences, and how many (marketplace, SKU) were compared.
    ``marketplace_ids``: only these (one region's); default every marketplace with an FBA location and AFN SKUs.
    ``unsynced``: the units of Amazon-fulfilled orders not in NetSuite yet (``Ledger.unsynced_order_units(
    key="afn_units")``), which NetSuite is expected to hold on top of Amazon's count (``rules.fba_differences``).
    Shared by this flow (which may adjust NetSuite) and sync_reconciliation (which reports)."""
    counts = {tuple(k.split("|", 1)): v for k, v in amazon_counts.items()}
    markets = sorted({m for m, _ in counts} | {
        m.marketplace_id for m in mappings.marketplaces.values()
        if m.fba_location_id and any(r.fulfillment_channel == "AFN" for r in mappings.skus_for_marketplace(m.marketplace_id))})
    if marketplace_ids is not None:
        markets = [m for m in markets if m in set(marketplace_ids)]
    afn = [(m, r) for m in markets if mappings.marketplaces[m].fba_location_id
           for r in mappings.skus_for_marketplace(m) if r.fulfillment_channel == "AFN"]
    items = sorted({str(r.netsuite_item_id) for _, r in afn})
    stock = _rows(netsuite.item_availability(items)) if items else {}
    return rules.fba_differences(mappings, markets, counts, stock, unsynced), len(afn)


def fba_reconcile(
    amazon_counts: Mapping[str, int], *, netsuite: NetSuiteHook, ledger: Ledger, mappings: Mappings, run_id: str,
    post_adjustment: bool, account_id: str | None, day: str, dry_run: bool = False,
) -> dict[str, Any]:
    """Compare Amazon's FBA counts with the NetSuite FBA locations; with ``post_adjustment``, one
    inventory adjustment ``AMZ-IA-{day}-{subsidiary}`` a day per subsidiary sets NetSuite to Amazon's counts plus
    the units of Amazon-fulfilled orders not in NetSuite yet (their sales orders take them out when they sync:
    adjusting them away as well would take them out twice)."""
    differences, _ = fba_compare(amazon_counts, netsuite=netsuite, mappings=mappings,
                                 unsynced=ledger.unsynced_order_units(key="afn_units"))
    result: dict[str, Any] = {"differences": [d.as_dict() for d in differences[:50]], "difference_count": len(differences),
                              "adjustments": []}
    if not post_adjustment or not differences or dry_run:
        return result
    if not account_id:
        raise ValueError("fba_adjustment needs the adjustment account: set AMAZON_NETSUITE_FBA_ADJUSTMENT_ACCOUNT_ID "
                         "(the NetSuite account internal id inventory adjustments post to)")
    records = rules.fba_adjustment(differences, mappings, day=day, account_id=account_id)
    existing = netsuite.get_records(FBA_RECORD_TYPE, [r["externalId"] for r in records], by="externalId")
    todo = [r for r in records if r["externalId"] not in existing]
    for record in records:
        if record["externalId"] in existing:
            log.info("%s exists already: one FBA adjustment a day; the next one is tomorrow's", record["externalId"])
    for record, res in zip(todo, netsuite.upsert_records(FBA_RECORD_TYPE, todo) if todo else [], strict=True):
        if res.ok:
            ledger.record_synced(dag_id=DAG_ID, record_type=FBA_RECORD_TYPE, source_key=record["externalId"],
                                 external_id=record["externalId"], internal_id=res.internal_id, run_id=run_id,
                                 replay={"day": day})
            result["adjustments"].append(record["externalId"])
        else:
            ledger.record_failed(dag_id=DAG_ID, record_type=FBA_RECORD_TYPE, source_key=record["externalId"],
                                 external_id=record["externalId"], reason="netsuite_error", run_id=run_id,
                                 error=res.describe(), replay={"day": day})
    return result
