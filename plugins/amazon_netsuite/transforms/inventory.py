"""NetSuite stock -> the merchant-fulfilled quantity Amazon may offer, per SKU and SP-API region. Pure: no I/O.

The rules (README, "Inventory to Amazon"):

- Only MFN SKUs of ``sku_items.csv`` are published; FBA (AFN) SKUs never are (Amazon owns that stock,
  and sending the merchant channel to an FBA listing would turn it into a merchant-fulfilled one).
- Merchant-fulfilled quantity is one number per SKU and seller region (not per marketplace): a SKU
  sold in several marketplaces of a region draws on the stock of all their fulfillment locations
  (``location_id`` of ``marketplaces.csv``), summed.
- quantity = max(0, floor((available - units sold on Amazon not yet in NetSuite) / units_per_sku) - safety_stock),
  where "units sold not yet in NetSuite" are the units of orders the ledger holds as failed or pending
  (NetSuite commits an order's units once the sales order exists, so synced orders are already out of
  ``available``). A multipack (``units_per_sku`` 6) takes its own floor of the same item's stock.
- 0 suppresses the offer: an item inactive or missing in NetSuite, or a row with ``publish`` false,
  publishes 0 (never forgotten). A SKU mapped to different items in two marketplaces of one region gets
  the smaller quantity (never oversell) and is listed as a mapping problem.
- Only differences from the last quantity Amazon accepted are sent, as ``JSON_LISTINGS_FEED`` PATCH
  messages (``fulfillment_availability``, channel ``DEFAULT``), at most 25,000 messages a feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.netsuite.records import inventory_adjustment_external_id

if TYPE_CHECKING:
    from amazon_netsuite.mappings import Mappings

#: JSON_LISTINGS_FEED accepts up to 25,000 messages a feed (SP-API changelog, May 2025).
MAX_FEED_MESSAGES = 25_000
MFN_CHANNEL_CODE = "DEFAULT"
ACTIVE, INACTIVE, MISSING = "active", "inactive", "missing"


@dataclass(frozen=True)
class Source:
    """Where one SKU's quantity comes from in one region: an item, its pack size, its safety stock and
    the fulfillment locations of the marketplaces that sell it."""

    item_id: str
    units_per_sku: int
    safety_stock: int
    publish: bool
    location_ids: tuple[str, ...]
    marketplace_ids: tuple[str, ...]


@dataclass(frozen=True)
class SkuTarget:
    """One MFN SKU in one region (what one feed message updates)."""

    region: str
    seller_sku: str
    product_type: str | None
    marketplace_ids: tuple[str, ...]
    sources: tuple[Source, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.item_id for s in self.sources))

    @property
    def location_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(loc for s in self.sources for loc in s.location_ids))


@dataclass(frozen=True)
class MappingIssue:
    """A sku_items.csv row that needs review (listed in the run summary, never silently skipped)."""

    kind: str  # missing_item | inactive_item | no_product_type | ambiguous_item
    seller_sku: str
    region: str
    item_id: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seller_sku": self.seller_sku, "region": self.region, "item_id": self.item_id,
                "message": self.message}


@dataclass(frozen=True)
class Quantity:
    seller_sku: str
    quantity: int
    why: str  # computed | inactive_item | missing_item | not_published


@dataclass
class RegionPlan:
    """What one region publishes: every MFN SKU's quantity, the changes to send, the mapping issues."""

    region: str
    quantities: dict[str, Quantity] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    issues: list[MappingIssue] = field(default_factory=list)
    unpublishable: dict[str, str] = field(default_factory=dict)  # sku -> why it cannot be sent


def region_targets(mappings: Mappings, region: str) -> list[SkuTarget]:
    """Every MFN SKU the region's mapped marketplaces sell, with where its quantity comes from."""
    marketplaces = [m for m in mappings.marketplaces.values() if m.region == region]
    grouped: dict[str, dict[tuple, dict[str, Any]]] = {}
    product_types: dict[str, str | None] = {}
    for marketplace in marketplaces:
        for row in mappings.skus_for_marketplace(marketplace.marketplace_id):
            if row.fulfillment_channel != "MFN":
                continue
            key = (str(row.netsuite_item_id), row.units_per_sku, row.safety_stock, row.publish)
            entry = grouped.setdefault(row.seller_sku, {}).setdefault(key, {"locations": [], "marketplaces": []})
            entry["locations"].append(str(marketplace.location_id))
            entry["marketplaces"].append(marketplace.marketplace_id)
            product_types[row.seller_sku] = product_types.get(row.seller_sku) or row.product_type
    targets = []
    for sku in sorted(grouped):
        sources = tuple(
            Source(item_id=item, units_per_sku=units, safety_stock=safety, publish=publish,
                   location_ids=tuple(dict.fromkeys(entry["locations"])), marketplace_ids=tuple(entry["marketplaces"]))
            for (item, units, safety, publish), entry in grouped[sku].items()
        )
        marketplace_ids = tuple(dict.fromkeys(m for s in sources for m in s.marketplace_ids))
        targets.append(SkuTarget(region=region, seller_sku=sku, product_type=product_types.get(sku),
                                 marketplace_ids=marketplace_ids, sources=sources))
    return targets


def unsynced_item_units(
    unsynced: Mapping[tuple[str, str], int], targets: Sequence[SkuTarget],
) -> dict[str, int]:
    """Item id -> units sold on Amazon in this region's marketplaces and not yet in NetSuite.

    ``unsynced`` is (marketplace, seller SKU) -> units ordered; a multipack order takes
    ``units_per_sku`` units of its item per unit ordered."""
    by_marketplace_sku: dict[tuple[str, str], Source] = {}
    for target in targets:
        for source in target.sources:
            for marketplace_id in source.marketplace_ids:
                by_marketplace_sku[(marketplace_id, target.seller_sku)] = source
    units: dict[str, int] = {}
    for (marketplace_id, sku), qty in unsynced.items():
        source = by_marketplace_sku.get((marketplace_id, sku))
        if source is not None:
            units[source.item_id] = units.get(source.item_id, 0) + int(qty) * source.units_per_sku
    return units


def sku_quantity(source: Source, stock: Mapping[tuple[str, str], Decimal], held_back: int) -> int:
    """max(0, floor((available at the source's locations - held_back) / units_per_sku) - safety_stock)."""
    available = sum((stock.get((source.item_id, loc), Decimal(0)) for loc in source.location_ids), Decimal(0))
    packs = ((available - held_back) / source.units_per_sku).to_integral_value(rounding=ROUND_FLOOR)
    return max(0, int(packs) - source.safety_stock)


def plan_region(
    targets: Sequence[SkuTarget],
    *,
    region: str,
    stock: Mapping[tuple[str, str], Decimal],
    item_states: Mapping[str, str],
    unsynced: Mapping[tuple[str, str], int],
    pushed: Mapping[str, int],
) -> RegionPlan:
    """Every SKU's quantity, and the changes against ``pushed`` (the last quantity Amazon accepted)."""
    plan = RegionPlan(region=region)
    held = unsynced_item_units(unsynced, targets)
    for target in targets:
        sku = target.seller_sku
        candidates: list[Quantity] = []
        for source in target.sources:
            state = item_states.get(source.item_id, ACTIVE)
            if state == MISSING:
                plan.issues.append(MappingIssue("missing_item", sku, region, source.item_id,
                                                f"sku_items.csv maps {sku} to NetSuite item {source.item_id}, which does not "
                                                "exist: fix the row; Amazon gets 0 meanwhile"))
                candidates.append(Quantity(sku, 0, "missing_item"))
            elif state == INACTIVE:
                plan.issues.append(MappingIssue("inactive_item", sku, region, source.item_id,
                                                f"{sku} maps to NetSuite item {source.item_id}, which is inactive: Amazon gets 0; "
                                                "remove the row or reactivate the item"))
                candidates.append(Quantity(sku, 0, "inactive_item"))
            elif not source.publish:
                candidates.append(Quantity(sku, 0, "not_published"))
            else:
                candidates.append(Quantity(sku, sku_quantity(source, stock, held.get(source.item_id, 0)), "computed"))
        if len(target.item_ids) > 1:
            plan.issues.append(MappingIssue("ambiguous_item", sku, region, ",".join(target.item_ids),
                                            f"{sku} maps to items {', '.join(target.item_ids)} in marketplaces of region "
                                            f"{region}, which share one merchant-fulfilled quantity: the smaller is "
                                            "published; map the SKU to one item per region"))
        chosen = min(candidates, key=lambda q: q.quantity)
        plan.quantities[sku] = chosen
        if not target.product_type:
            plan.issues.append(MappingIssue("no_product_type", sku, region, target.sources[0].item_id,
                                            f"{sku} has no product_type in sku_items.csv: a JSON_LISTINGS_FEED PATCH needs "
                                            "it; add it and the next run publishes the quantity"))
            plan.unpublishable[sku] = "no_product_type"
            continue
        if pushed.get(sku) != chosen.quantity:
            plan.changes[sku] = chosen.quantity
    return plan


def feed_messages(changes: Mapping[str, int], product_types: Mapping[str, str]) -> list[dict[str, Any]]:
    """One PATCH message per changed SKU (``fulfillment_availability``, merchant channel), sorted by SKU."""
    return [
        {
            "sku": sku,
            "operationType": "PATCH",
            "productType": product_types[sku],
            "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                         "value": [{"fulfillment_channel_code": MFN_CHANNEL_CODE, "quantity": int(qty)}]}],
        }
        for sku, qty in sorted(changes.items())
    ]


def feed_documents(messages: Iterable[dict[str, Any]], *, seller_id: str,
                   max_messages: int = MAX_FEED_MESSAGES) -> list[dict[str, Any]]:
    """``JSON_LISTINGS_FEED`` documents of at most ``max_messages`` messages, messageIds 1..n in each."""
    documents: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for message in messages:
        batch.append({"messageId": len(batch) + 1, **message})
        if len(batch) == max_messages:
            documents.append(_document(batch, seller_id))
            batch = []
    if batch:
        documents.append(_document(batch, seller_id))
    return documents


def _document(messages: list[dict[str, Any]], seller_id: str) -> dict[str, Any]:
    return {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"}, "messages": messages}


@dataclass(frozen=True)
class FeedOutcome:
    """What Amazon did with one feed's messages: accepted SKUs with their quantity, rejected SKUs with
    Amazon's messages."""

    accepted: dict[str, int]
    rejected: dict[str, str]


def read_processing_report(document: Mapping[str, Any], report: Mapping[str, Any]) -> FeedOutcome:
    """Match a processing report to the document it answers: a message with an ERROR issue is rejected
    (Amazon's codes and messages joined), every other message accepted. Warnings do not reject."""
    by_id = {m["messageId"]: m for m in document["messages"]}
    errors: dict[int, list[str]] = {}
    for issue in report.get("issues") or []:
        if issue.get("severity") != "ERROR" or issue.get("messageId") not in by_id:
            continue
        errors.setdefault(issue["messageId"], []).append(f"[{issue.get('code', '-')}] {issue.get('message', '')}".strip())
    accepted, rejected = {}, {}
    for message_id, message in by_id.items():
        if message_id in errors:
            rejected[message["sku"]] = "; ".join(errors[message_id])
        else:
            accepted[message["sku"]] = int(message["patches"][0]["value"][0]["quantity"])
    return FeedOutcome(accepted=accepted, rejected=rejected)


@dataclass(frozen=True)
class FbaDifference:
    seller_sku: str
    marketplace_id: str
    item_id: str
    amazon: int
    netsuite: Decimal
    #: item units of this SKU's orders Amazon took (fulfillable dropped) that are not in NetSuite yet (the
    #: sales order that commits them at the FBA location is failed or pending in the ledger)
    unsynced: int = 0

    @property
    def expected(self) -> Decimal:
        """What the NetSuite FBA location should have: Amazon's count plus the units of unsynced orders."""
        return Decimal(self.amazon + self.unsynced)

    @property
    def delta(self) -> Decimal:
        return self.expected - self.netsuite

    def as_dict(self) -> dict[str, Any]:
        return {"seller_sku": self.seller_sku, "marketplace_id": self.marketplace_id, "item_id": self.item_id,
                "amazon": self.amazon, "unsynced": self.unsynced, "netsuite": str(self.netsuite),
                "delta": str(self.delta)}


def fba_differences(
    mappings: Mappings, marketplace_ids: Sequence[str], amazon: Mapping[tuple[str, str], int],
    stock: Mapping[tuple[str, str], Decimal], unsynced: Mapping[tuple[str, str], int] | None = None,
) -> list[FbaDifference]:
    """Per AFN SKU and marketplace: Amazon's fulfillable units (``amazon``: (marketplace, sku) -> units)
    against NetSuite's stock at the marketplace's FBA location (in item units: units_per_sku x Amazon's).
    ``unsynced``: (marketplace, sku) -> units of Amazon-fulfilled orders not in NetSuite yet
    (``Ledger.unsynced_order_units(key="afn_units")``): Amazon's count dropped when they were placed, NetSuite's
    drops when their sales orders sync, so NetSuite is expected to hold them on top of Amazon's count.
    Differences only, sorted."""
    unsynced = unsynced or {}
    out = []
    for marketplace_id in marketplace_ids:
        marketplace = mappings.marketplaces[marketplace_id]
        if not marketplace.fba_location_id:
            continue
        for row in mappings.skus_for_marketplace(marketplace_id):
            if row.fulfillment_channel != "AFN":
                continue
            units = amazon.get((marketplace_id, row.seller_sku), 0) * row.units_per_sku
            held = int(unsynced.get((marketplace_id, row.seller_sku), 0)) * row.units_per_sku
            netsuite = stock.get((str(row.netsuite_item_id), str(marketplace.fba_location_id)), Decimal(0))
            if Decimal(units + held) != netsuite:
                out.append(FbaDifference(row.seller_sku, marketplace_id, str(row.netsuite_item_id), units, netsuite, held))
    return sorted(out, key=lambda d: (d.marketplace_id, d.seller_sku))


def fba_adjustment(
    differences: Sequence[FbaDifference], mappings: Mappings, *, day: str, account_id: str,
) -> list[dict[str, Any]]:
    """One inventory adjustment per subsidiary, ``AMZ-IA-{day}-{subsidiary}`` (an adjustment belongs to
    one subsidiary; the id never depends on which subsidiaries differ that run), that sets NetSuite's FBA
    locations to Amazon's counts plus the units of unsynced orders (their sales orders take those out when
    they sync: adjusting them away too would count them twice); lines keyed by number.
    Several SKUs of one item at one location are summed once (Amazon counts per SKU, NetSuite per item)."""
    per_subsidiary: dict[str, dict[tuple[str, str], Decimal]] = {}
    for diff in differences:
        marketplace = mappings.marketplaces[diff.marketplace_id]
        key = (diff.item_id, str(marketplace.fba_location_id))
        bucket = per_subsidiary.setdefault(str(marketplace.subsidiary_id), {})
        bucket[key] = bucket.get(key, Decimal(0)) + diff.delta
    records = []
    for subsidiary, moves in sorted(per_subsidiary.items()):
        lines = [{"line": n, "item": {"internalId": item}, "location": {"internalId": loc}, "adjustQtyBy": qty}
                 for n, ((item, loc), qty) in enumerate(sorted(moves.items()), start=1) if qty != 0]
        if not lines:
            continue
        records.append({
            "externalId": inventory_adjustment_external_id(day, subsidiary),
            "subsidiary": {"internalId": subsidiary},
            "account": {"internalId": account_id},
            "tranDate": f"{day}T00:00:00+00:00",
            "memo": f"Amazon FBA inventory reconciliation {day}",
            "inventoryList": lines,
        })
    return records
