"""NetSuite item fulfillment (warehouse, MFN) -> Amazon shipment confirmations. Pure: no I/O.

One fulfillment of an ``AMZ-SO-{amazonOrderId}`` sales order becomes one ``confirmShipment`` call per
package (Orders API v0 ``PackageDetail``):

- **Lines.** A fulfillment line points at its sales order line (``orderLine``). The orders flow numbers
  the sales order's lines deterministically (each Amazon order item, then its promotion line when it
  has one: ``transforms.orders``), so the line number leads back to the Amazon ``orderItemId``; the
  line's item must still be the SKU's item in ``sku_items.csv`` (else ``line_mismatch``).
- **Multipacks.** NetSuite counts item units, Amazon counts SKU units: 12 units of a 6-pack SKU are 2
  for Amazon. A quantity that is not a whole number of packs is ``partial_multipack`` (Amazon cannot
  ship half a pack; the warehouse must fix the fulfillment).
- **Packages.** NetSuite's package sublist (``packageList``: weight, description, tracking number)
  does not say which item is in which box. The fulfillment's SKU units are dealt to its packages in
  line order, in contiguous runs as even as possible (3 units, 2 boxes: 2 + 1). Amazon's confirmation
  needs at least one unit per package, so boxes beyond the number of units (one unit shipped in two
  boxes) are not confirmed on their own: their tracking numbers are listed in the plan's
  ``merged_tracking``, counted and logged.
- **packageReferenceId** is ``{fulfillmentInternalId}{package:02d}`` (Amazon: a positive number,
  unique within the order): stable, so confirming the same fulfillment again (a corrected tracking
  number) edits the packages at Amazon instead of shipping twice.
- **Carrier** from ``carriers.csv`` by the fulfillment's ship method (``unmapped_carrier`` otherwise).

The plan's ``content_hash`` covers everything sent: the flow re-confirms only when it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from amazon_netsuite.ledger.store import content_hash
from amazon_netsuite.mappings import MappingLookupError, Mappings
from amazon_netsuite.transforms.orders import (
    CHANNEL_FIELD,
    MARKETPLACE_FIELD,
    ORDER_ID_FIELD,
    _has_promotion_line,
)

SALES_ORDER_PREFIX = "AMZ-SO-"
#: our FBA flow's fulfillments (Amazon shipped them; never confirmed back)
FBA_FULFILLMENT_PREFIX = "AMZ-IF-"
CONFIRMATION_PREFIX = "AMZ-SHIP-"
SHIPPED = "_shipped"
MAX_PACKAGES = 99


class ShipmentTransformError(ValueError):
    """A fulfillment that cannot be confirmed as it is; ``reason`` is the ledger's reason code."""

    def __init__(self, fulfillment_id: str, reason: str, message: str) -> None:
        self.fulfillment_id = fulfillment_id
        self.reason = reason
        super().__init__(f"item fulfillment {fulfillment_id}: {message}")


@dataclass(frozen=True)
class PackageConfirmation:
    """One ``confirmShipment`` call: ``package_detail`` is the model's ``PackageDetail``."""

    reference_id: str
    tracking_number: str
    package_detail: dict[str, Any]


@dataclass(frozen=True)
class FulfilledLine:
    """A fulfilled sales order line (what billing bills): NetSuite item units."""

    order_line: int
    item_id: str
    quantity: Decimal
    order_item_id: str
    sku_quantity: int


@dataclass
class ShipmentPlan:
    fulfillment_id: str
    order_id: str
    marketplace_id: str
    sales_order_id: str
    packages: list[PackageConfirmation]
    lines: list[FulfilledLine]
    content_hash: str
    merged_tracking: list[str] = field(default_factory=list)

    @property
    def external_id(self) -> str:
        return confirmation_key(self.fulfillment_id)

    @property
    def replay(self) -> dict[str, str]:
        return {"fulfillment_id": self.fulfillment_id, "order_id": self.order_id, "marketplace_id": self.marketplace_id}


def confirmation_key(fulfillment_id: str | int) -> str:
    """``AMZ-SHIP-{fulfillmentInternalId}``: the ledger's name of a fulfillment's confirmation to Amazon
    (an Amazon-side record: no NetSuite record carries it)."""
    return f"{CONFIRMATION_PREFIX}{fulfillment_id}"


def custom_value(record: Mapping[str, Any], script_id: str) -> str | None:
    for entry in record.get("customFieldList") or []:
        if isinstance(entry, Mapping) and entry.get("scriptId") == script_id:
            value = entry.get("value")
            return None if value is None else str(value)
    return None


def amazon_order_id(sales_order: Mapping[str, Any]) -> str | None:
    """The Amazon order id of one of our sales orders (``AMZ-SO-{id}``), else None."""
    external_id = str(sales_order.get("externalId") or "")
    if not external_id.upper().startswith(SALES_ORDER_PREFIX):
        return None
    return custom_value(sales_order, ORDER_ID_FIELD) or external_id[len(SALES_ORDER_PREFIX):]


def skip_reason(fulfillment: Mapping[str, Any], sales_order: Mapping[str, Any] | None) -> str | None:
    """Why a fulfillment found in NetSuite is not ours to confirm (None: it is)."""
    if str(fulfillment.get("externalId") or "").upper().startswith(FBA_FULFILLMENT_PREFIX):
        return "fba_fulfillment"
    if fulfillment.get("shipStatus") != SHIPPED:
        return "not_shipped"
    if sales_order is None or amazon_order_id(sales_order) is None:
        return "not_amazon"
    if custom_value(sales_order, CHANNEL_FIELD) == "AFN":
        return "fba_order"
    return None


def _ship_date(fulfillment: Mapping[str, Any]) -> str:
    value = fulfillment.get("shippedDate") or fulfillment.get("tranDate")
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, 12, tzinfo=UTC)
    if not isinstance(value, datetime):
        raise ShipmentTransformError(str(fulfillment.get("internalId")), "malformed_fulfillment",
                                     "has neither shippedDate nor tranDate")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_lines(order: Mapping[str, Any], mappings: Mappings) -> dict[int, tuple[Mapping[str, Any], Any]]:
    """Sales order line number -> (Amazon order item, its ``sku_items.csv`` row), numbered as the orders
    flow numbers them (an item line, then the item's promotion line when it has one)."""
    marketplace = mappings.marketplace(order["salesChannel"]["marketplaceId"])
    out: dict[int, tuple[Mapping[str, Any], Any]] = {}
    line = 0
    for item in order.get("orderItems") or []:
        line += 1
        sku = (item.get("product") or {}).get("sellerSku") or ""
        out[line] = (item, mappings.sku(sku, marketplace.marketplace_id))
        if _has_promotion_line(item, marketplace):
            line += 1
    return out


def _deal(units: list[str], packages: int) -> list[list[str]]:
    """``units`` (one orderItemId per SKU unit, in line order) dealt to ``packages`` boxes in contiguous
    runs as even as possible; boxes beyond the number of units get none."""
    boxes = min(packages, len(units))
    size, extra = divmod(len(units), boxes)
    out, start = [], 0
    for index in range(boxes):
        end = start + size + (1 if index < extra else 0)
        out.append(units[start:end])
        start = end
    return out


def plan_shipment(
    fulfillment: Mapping[str, Any],
    sales_order: Mapping[str, Any],
    order: Mapping[str, Any],
    mappings: Mappings,
) -> ShipmentPlan:
    """The confirmations of one shipped fulfillment, or :class:`ShipmentTransformError`."""
    fulfillment_id = str(fulfillment.get("internalId") or "")
    if not fulfillment_id.isdigit():
        raise ShipmentTransformError(fulfillment_id or "?", "malformed_fulfillment", "has no numeric internalId")
    order_id = str(order.get("orderId") or "")

    def fail(reason: str, message: str) -> ShipmentTransformError:
        return ShipmentTransformError(fulfillment_id, reason, f"(Amazon order {order_id}) {message}")

    marketplace_id = str((order.get("salesChannel") or {}).get("marketplaceId") or "")
    expected_marketplace = custom_value(sales_order, MARKETPLACE_FIELD)
    if expected_marketplace and expected_marketplace != marketplace_id:
        raise fail("line_mismatch", f"the sales order is of marketplace {expected_marketplace}, Amazon says {marketplace_id}")
    try:
        numbered = order_lines(order, mappings)
        carrier = mappings.carrier(fulfillment.get("shipMethod"), marketplace_id)
    except MappingLookupError as exc:
        raise fail(exc.reason, str(exc)) from None
    so_lines = {int(line["line"]): line for line in sales_order.get("itemList") or [] if line.get("line") is not None}

    lines: list[FulfilledLine] = []
    units: list[str] = []
    for line in fulfillment.get("itemList") or []:
        if line.get("itemReceive") is False:
            continue  # a line the warehouse left unticked: not fulfilled
        quantity = Decimal(str(line.get("quantity") or 0))
        if quantity <= 0:
            continue
        try:
            order_line = int(line.get("orderLine"))
        except (TypeError, ValueError):
            raise fail("malformed_fulfillment", "a fulfillment line has no orderLine (the sales order line it ships)") from None
        if order_line not in numbered:
            raise fail("line_mismatch", f"sales order line {order_line} is not an Amazon order item line "
                                        f"(the order has {len(order.get('orderItems') or [])} item(s))")
        item, sku = numbered[order_line]
        # NetSuite takes a fulfillment line's item from its order line; both must be the SKU's item
        so_item = str(((so_lines.get(order_line) or {}).get("item") or {}).get("internalId") or "")
        item_id = str((line.get("item") or {}).get("internalId") or so_item)
        if item_id != str(sku.netsuite_item_id) or (so_item or item_id) != str(sku.netsuite_item_id):
            raise fail("line_mismatch", f"line {order_line} ships item {item_id}, but SKU {sku.seller_sku} is item "
                                        f"{sku.netsuite_item_id} in sku_items.csv")
        packs = quantity / sku.units_per_sku
        if packs != packs.to_integral_value():
            raise fail("partial_multipack", f"line {order_line} ships {quantity} unit(s) of SKU {sku.seller_sku}, "
                                            f"which Amazon sells in packs of {sku.units_per_sku}: not a whole number of packs")
        order_item_id = str(item.get("orderItemId"))
        lines.append(FulfilledLine(order_line, item_id, quantity, order_item_id, int(packs)))
        units.extend([order_item_id] * int(packs))
    if not units:
        raise fail("malformed_fulfillment", "ships no quantity")

    trackings = [str(p.get("packageTrackingNumber") or "").strip() for p in fulfillment.get("packageList") or []]
    if not trackings or not all(trackings):
        raise fail("no_tracking", "a package has no tracking number (Amazon requires one per package): add it to the "
                                  "fulfillment's package list and the next run confirms it")
    if len(trackings) > MAX_PACKAGES:
        raise fail("malformed_fulfillment", f"has {len(trackings)} packages; at most {MAX_PACKAGES} are confirmed")
    ship_date = _ship_date(fulfillment)
    packages: list[PackageConfirmation] = []
    for index, boxed in enumerate(_deal(units, len(trackings)), start=1):
        counts: dict[str, int] = {}
        for order_item_id in boxed:
            counts[order_item_id] = counts.get(order_item_id, 0) + 1
        reference = f"{fulfillment_id}{index:02d}"
        detail: dict[str, Any] = {
            "packageReferenceId": reference,
            "carrierCode": carrier.carrier_code,
            "trackingNumber": trackings[index - 1],
            "shipDate": ship_date,
            "orderItems": [{"orderItemId": k, "quantity": v} for k, v in counts.items()],
        }
        if carrier.carrier_name:
            detail["carrierName"] = carrier.carrier_name
        if carrier.shipping_method:
            detail["shippingMethod"] = carrier.shipping_method
        packages.append(PackageConfirmation(reference, trackings[index - 1], detail))
    merged = trackings[len(packages):]
    digest = content_hash({"packages": [p.package_detail for p in packages], "marketplace": marketplace_id})
    return ShipmentPlan(
        fulfillment_id=fulfillment_id, order_id=order_id, marketplace_id=marketplace_id,
        sales_order_id=str(sales_order.get("internalId") or ""), packages=packages, lines=lines,
        content_hash=digest, merged_tracking=merged,
    )


def describe_refusal(errors: Sequence[Mapping[str, Any]] | None) -> str:
    """Amazon's error list as one line: ``code: message (details)``."""
    parts = []
    for error in errors or []:
        text = f"{error.get('code')}: {error.get('message')}"
        if error.get("details"):
            text += f" ({error['details']})"
        parts.append(text)
    return "; ".join(parts) or "no error body"
