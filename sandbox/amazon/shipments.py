"""Orders API v0 ``confirmShipment`` as Amazon runs it for merchant-fulfilled orders (issue 16).

``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` with a ``ConfirmShipmentRequest``
(``marketplaceId`` + one ``packageDetail``): 204 without a body when Amazon takes it; 400
``InvalidInput`` with Amazon's message when it does not. The confirmed package becomes one of the
order's ``packages`` (Orders v2026-01-01 ``OrderPackage``), the items' ``quantityFulfilled`` /
``quantityUnfulfilled`` move, and the order's ``fulfillmentStatus`` becomes ``PARTIALLY_SHIPPED`` or
``SHIPPED``. A second call with the same ``packageReferenceId`` edits that package (Amazon: "If you
need to make an edit to the shipment, submit another confirmShipment operation with the same
packageReferenceID"), so a corrected tracking number replaces the old one and never ships twice.

Messages Amazon is known to send are quoted with their source in docs/amazon-quirks.md ("MFN shipment
confirmation"); the others are marked ``# sandbox wording``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

#: https://github.com/jlevers/selling-partner-api/issues/489
BAD_PACKAGE_REFERENCE = "PackageReferenceId: is invalid, must be a positive numeric value."
#: https://github.com/amzn/selling-partner-api-models/issues/492
BAD_ORDER_ITEM = "OrderItemId is invalid, please obtain the value through the getOrderItems API or Manage Orders page"
#: https://github.com/amzn/selling-partner-api-models/issues/5037 (an order already fulfilled)
ALREADY_FULFILLED = "Failed to create package due to not finding a matching package or order already fulfilled."
#: the model's sandbox example for a malformed request (ordersV0.json, confirmShipment 400)
INVALID_INPUT = "Invalid Input"

_POSITIVE_NUMBER = re.compile(r"^[1-9]\d*$")
PACKAGE_FIELDS = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")


class ShipmentRefused(Exception):
    """A 400 (or 404) ``confirmShipment`` answer: ``status``, Amazon's ``message`` and ``details``."""

    def __init__(self, status: int, message: str, details: str = "") -> None:
        self.status = status
        self.message = message
        self.details = details
        super().__init__(message)


def _parse_ship_date(value: Any) -> datetime:
    if not isinstance(value, str) or "T" not in value:
        raise ShipmentRefused(400, INVALID_INPUT, "shipDate must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ShipmentRefused(400, INVALID_INPUT, "shipDate must be an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_request(body: Any) -> dict[str, Any]:
    """The request's ``packageDetail`` if the body is a ``ConfirmShipmentRequest``; else 400."""
    if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict) or not body.get("marketplaceId"):
        raise ShipmentRefused(400, INVALID_INPUT, "marketplaceId and packageDetail are required")
    package = body["packageDetail"]
    missing = [name for name in PACKAGE_FIELDS if package.get(name) in (None, "", [])]
    if missing:
        raise ShipmentRefused(400, INVALID_INPUT, f"packageDetail is missing {', '.join(missing)}")  # sandbox wording
    if not _POSITIVE_NUMBER.match(str(package["packageReferenceId"])):
        raise ShipmentRefused(400, BAD_PACKAGE_REFERENCE)
    if package["carrierCode"] == "Other" and not package.get("carrierName"):
        # the model: carrierName is "Required when carrierCode is \"Other\""
        raise ShipmentRefused(400, INVALID_INPUT, "carrierName is required when carrierCode is Other")  # sandbox wording
    items = package["orderItems"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ShipmentRefused(400, INVALID_INPUT, "orderItems must be a list of order items")
    for item in items:
        quantity = item.get("quantity")
        if not item.get("orderItemId") or not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ShipmentRefused(400, INVALID_INPUT, "each order item needs an orderItemId and a quantity of at least 1")
    _parse_ship_date(package["shipDate"])
    return package


def confirm(order: dict[str, Any], marketplace_id: str, package: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Apply one confirmed package to ``order`` (a v2026-01-01 Order as the sandbox stores it) and
    return the updated order; raise :class:`ShipmentRefused` as Amazon would."""
    if order["salesChannel"].get("marketplaceId") != marketplace_id:
        # sandbox wording: the order belongs to another marketplace of the same region
        raise ShipmentRefused(400, INVALID_INPUT, f"Order {order['orderId']} does not belong to marketplace {marketplace_id}")
    fulfillment = order.get("fulfillment") or {}
    if fulfillment.get("fulfilledBy") == "AMAZON":
        # sandbox wording: Amazon ships its own orders
        raise ShipmentRefused(400, INVALID_INPUT, f"Order {order['orderId']} is fulfilled by Amazon and cannot be confirmed")
    status = fulfillment.get("fulfillmentStatus")
    if status == "CANCELLED":
        raise ShipmentRefused(400, INVALID_INPUT, f"Order {order['orderId']} has been cancelled")  # sandbox wording
    if status in ("PENDING", "PENDING_AVAILABILITY", "UNFULFILLABLE"):
        # sandbox wording: a pending order's payment is not authorized yet; it cannot ship
        raise ShipmentRefused(400, INVALID_INPUT, f"Order {order['orderId']} is {status} and cannot be shipped yet")
    reference = str(package["packageReferenceId"])
    items = {str(i.get("orderItemId")): i for i in order.get("orderItems") or []}
    packages = [dict(p) for p in order.get("packages") or []]
    others = [p for p in packages if str(p.get("packageReferenceId")) != reference]
    wanted: dict[str, int] = {}
    for line in package["orderItems"]:
        item_id = str(line["orderItemId"])
        if item_id not in items:
            raise ShipmentRefused(400, BAD_ORDER_ITEM)
        wanted[item_id] = wanted.get(item_id, 0) + int(line["quantity"])
    shipped_elsewhere: dict[str, int] = {}
    for other in others:
        for line in other.get("packageItems") or []:
            shipped_elsewhere[str(line["orderItemId"])] = shipped_elsewhere.get(str(line["orderItemId"]), 0) + int(line["quantity"])
    for item_id, quantity in wanted.items():
        item = items[item_id]
        if item.get("cancellation") and not item.get("proceeds"):
            raise ShipmentRefused(400, INVALID_INPUT, f"Order item {item_id} has been cancelled")  # sandbox wording
        if shipped_elsewhere.get(item_id, 0) + quantity > int(item.get("quantityOrdered") or 0):
            raise ShipmentRefused(400, ALREADY_FULFILLED)
    stored = {
        "packageReferenceId": reference,
        "createdTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "packageStatus": {"status": "SHIPPED"},
        "carrier": str(package.get("carrierName") or package["carrierCode"]),
        "shipTime": _parse_ship_date(package["shipDate"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trackingNumber": str(package["trackingNumber"]),
        "packageItems": [{"orderItemId": k, "quantity": v} for k, v in wanted.items()],
    }
    if package.get("shippingMethod"):
        stored["shippingService"] = str(package["shippingMethod"])
    previous = next((p for p in packages if str(p.get("packageReferenceId")) == reference), None)
    if previous is not None and previous.get("createdTime"):
        stored["createdTime"] = previous["createdTime"]
    order = dict(order)
    order["packages"] = [*others, stored]
    shipped = dict(shipped_elsewhere)
    for item_id, quantity in wanted.items():
        shipped[item_id] = shipped.get(item_id, 0) + quantity
    new_items = []
    all_shipped = True
    for item in order.get("orderItems") or []:
        item = dict(item)
        ordered = int(item.get("quantityOrdered") or 0)
        done = shipped.get(str(item.get("orderItemId")), 0)
        cancelled = bool(item.get("cancellation")) and not item.get("proceeds")
        item["fulfillment"] = {**(item.get("fulfillment") or {}), "quantityFulfilled": done,
                               "quantityUnfulfilled": 0 if cancelled else max(ordered - done, 0)}
        if not cancelled and done < ordered:
            all_shipped = False
        new_items.append(item)
    order["orderItems"] = new_items
    order["fulfillment"] = {**fulfillment, "fulfillmentStatus": "SHIPPED" if all_shipped else "PARTIALLY_SHIPPED"}
    order["lastUpdatedTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return order
