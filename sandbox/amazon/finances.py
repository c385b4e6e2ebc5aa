"""Finances API v0 ``listFinancialEvents`` of the SP-API emulator: refund events (``RefundEventList``).

Amazon's model (``financesV0.json``): a refund is a ``ShipmentEvent`` in ``RefundEventList`` with the
order id, the marketplace name, ``PostedDate`` and ``ShipmentItemAdjustmentList`` (per item: SKU,
``OrderAdjustmentItemId``, ``QuantityShipped``, ``ItemChargeAdjustmentList`` Principal/Tax/ShippingCharge/
ShippingTax/GiftWrap/GiftWrapTax, ``ItemFeeAdjustmentList`` Commission/RefundCommission,
``PromotionAdjustmentList``, ``ItemTaxWithheldList``). Signs are the settlement report's: the buyer's money
given back is negative, a promotion given back positive, the referral fee returned positive.

The seeded refunds are the settlement report's ``Refund`` rows of the same orders
(:func:`sandbox.amazon.settlements._order_rows`), so the two sources agree to the cent. Tests publish more
with ``POST /_sandbox/financial-events`` (``releaseAt``: an event Amazon releases late, invisible before).

Amazon: "Orders from the last 48 hours might not be included in financial events" and "deferred events
don't show up in responses until they are released": events posted in the last ``lag_hours`` (48) are
omitted; ``PostedAfter``/``PostedBefore`` must be more than two minutes before the request.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.amazon.regions import marketplaces_of
from sandbox.amazon.seed import MARKETPLACES

#: settlement ``amount-description`` of a refund's ItemPrice rows -> Finances API ``ChargeType``
CHARGE_TYPES = {"Principal": "Principal", "Tax": "Tax", "Shipping": "ShippingCharge", "ShippingTax": "ShippingTax",
                "GiftWrap": "GiftWrap", "GiftWrapTax": "GiftWrapTax"}
LAG_HOURS = 48


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: Decimal | str, currency: str) -> dict[str, Any]:
    return {"CurrencyCode": currency, "CurrencyAmount": float(Decimal(str(amount)))}


def refund_events_from_orders(orders: list[dict], seed: int, now: datetime) -> list[dict[str, Any]]:
    """The seeded orders' refunds as Finances API refund events (the settlement report's Refund rows)."""
    from sandbox.amazon.settlements import _order_rows

    out = []
    for order in orders:
        rows = [r for r in _order_rows(order, seed, datetime(2000, 1, 1, tzinfo=UTC), now) if r["transaction-type"] == "Refund"]
        if not rows:
            continue
        marketplace = MARKETPLACES[order["salesChannel"]["marketplaceId"]]
        items: dict[str, dict[str, Any]] = {}
        for row in rows:
            item = items.setdefault(row["order-item-code"], {
                "SellerSKU": row["sku"], "OrderItemId": row["order-item-code"],
                "OrderAdjustmentItemId": hashlib.sha256(f"adj|{row['adjustment-id']}|{row['order-item-code']}".encode()).hexdigest()[:14],
                "QuantityShipped": int(row["quantity-purchased"]), "ItemChargeAdjustmentList": [],
                "ItemFeeAdjustmentList": [], "PromotionAdjustmentList": [], "ItemTaxWithheldList": [],
            })
            amount, currency = Decimal(str(row["amount"])), marketplace.currency
            kind, description = row["amount-type"], row["amount-description"]
            if kind == "ItemPrice":
                item["ItemChargeAdjustmentList"].append({"ChargeType": CHARGE_TYPES[description], "ChargeAmount": _money(amount, currency)})
            elif kind == "ItemFees":
                item["ItemFeeAdjustmentList"].append({"FeeType": description, "FeeAmount": _money(amount, currency)})
            elif kind == "Promotion":
                item["PromotionAdjustmentList"].append({"PromotionType": "PromotionMetaDataDefinitionValue",
                                                        "PromotionId": row.get("promotion-id") or "", "PromotionAmount": _money(amount, currency)})
            elif kind == "ItemWithheldTax":
                item["ItemTaxWithheldList"].append({"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": [
                    {"ChargeType": description, "ChargeAmount": _money(amount, currency)}]})
        out.append({
            "event": {"AmazonOrderId": order["orderId"], "MarketplaceName": marketplace.name,
                      "PostedDate": _iso(rows[0]["posted-date"]), "ShipmentItemAdjustmentList": list(items.values())},
            "marketplaceId": order["salesChannel"]["marketplaceId"], "releaseAt": None,
        })
    return out


def visible(events: list[dict[str, Any]], region: str, *, posted_after: datetime | None, posted_before: datetime | None,
            now: datetime, lag_hours: float = LAG_HOURS) -> list[dict[str, Any]]:
    """The refund events one ``listFinancialEvents`` call returns, oldest first."""
    regional = set(marketplaces_of(region))
    horizon = now - timedelta(hours=lag_hours)
    out = []
    for entry in events:
        if entry["marketplaceId"] not in regional:
            continue
        if entry.get("releaseAt") and datetime.fromisoformat(entry["releaseAt"].replace("Z", "+00:00")) > now:
            continue
        posted = datetime.fromisoformat(entry["event"]["PostedDate"].replace("Z", "+00:00"))
        if posted > horizon:
            continue
        if posted_after and posted < posted_after or posted_before and posted >= posted_before:
            continue
        out.append(entry["event"])
    out.sort(key=lambda e: (e["PostedDate"], e["AmazonOrderId"]))
    return out


def marketplace_id_of_name(name: str) -> str | None:
    for marketplace_id, marketplace in MARKETPLACES.items():
        if marketplace.name == name:
            return marketplace_id
    return None


# ------------------------------------------------------------------------------------------ FBA customer returns
FBA_RETURNS_REPORT = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
#: the report's download headers (Seller Central help 200453320, "FBA customer returns report")
FBA_RETURNS_HEADER = ("return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
                      "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments")
_DISPOSITIONS = ("SELLABLE",) * 7 + ("CUSTOMER_DAMAGED", "CUSTOMER_DAMAGED", "DEFECTIVE")


def seeded_returns(orders: list[dict], events: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Returned units of the seeded refunds of FBA orders: processed at the fulfillment center two days
    after the refund (Amazon refunds FBA orders when the return is scanned); the disposition is drawn
    from the order id (mostly SELLABLE). Refunds without a return (concessions) are the events of MFN orders."""
    fba = {o["orderId"]: o for o in orders if (o.get("fulfillment") or {}).get("fulfilledBy") == "AMAZON"}
    rows = []
    for entry in events:
        event = entry["event"]
        order = fba.get(event["AmazonOrderId"])
        if order is None:
            continue
        returned = datetime.fromisoformat(event["PostedDate"].replace("Z", "+00:00")) + timedelta(days=2)
        if returned > now:
            continue
        for item in event["ShipmentItemAdjustmentList"]:
            digest = int(hashlib.sha256(f"return|{event['AmazonOrderId']}|{item['SellerSKU']}".encode()).hexdigest(), 16)
            rows.append({"marketplaceId": entry["marketplaceId"], "return-date": returned.isoformat(timespec="seconds"),
                         "order-id": event["AmazonOrderId"], "sku": item["SellerSKU"], "quantity": str(item["QuantityShipped"]),
                         "fulfillment-center-id": "PHX7", "detailed-disposition": _DISPOSITIONS[digest % len(_DISPOSITIONS)],
                         "reason": "UNWANTED_ITEM", "status": "Unit returned to inventory",
                         "license-plate-number": f"LPN{digest % 10**10:010d}"})
    return rows


def fba_returns_file(rows: list[dict[str, Any]], marketplaces: list[str], start: datetime, end: datetime) -> str:
    """The report's tab-separated text: rows of these marketplaces processed in [start, end]."""
    lines = ["\t".join(FBA_RETURNS_HEADER)]
    for row in sorted(rows, key=lambda r: (r["return-date"], r["order-id"])):
        returned = datetime.fromisoformat(row["return-date"].replace("Z", "+00:00"))
        if row["marketplaceId"] not in marketplaces or not start <= returned <= end:
            continue
        lines.append("\t".join(str(row.get(column, "")) for column in FBA_RETURNS_HEADER))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ MFN returns
MFN_RETURNS_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
#: the report's header row, as Amazon serves it (a downloaded document)
MFN_RETURNS_HEADER = ("Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID", "Merchant RMA ID",
                      "Label type", "Label cost", "Currency code", "Return carrier", "Tracking ID", "Label to be paid by",
                      "A-to-Z Claim", "Is prime", "ASIN", "Merchant SKU", "Item Name", "Return quantity", "Return Reason",
                      "In policy", "Return type", "Resolution", "Invoice number", "Return delivery date", "Order Amount",
                      "Order quantity", "SafeT Action reason", "SafeT claim id", "SafeT claim state", "SafeT claim creation time",
                      "SafeT claim reimbursement amount", "Refunded Amount")


def _dmy(value: datetime) -> str:
    return value.strftime("%d-%b-%Y")


def seeded_mfn_returns(orders: list[dict], events: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Seller-fulfilled returns of half the seeded MFN refunds (the other half are refunds without a return):
    requested a day before the refund, delivered to the seller two days after it (still in transit when
    that is in the future)."""
    mfn = {o["orderId"]: o for o in orders if (o.get("fulfillment") or {}).get("fulfilledBy") != "AMAZON"}
    rows = []
    for entry in events:
        event = entry["event"]
        order = mfn.get(event["AmazonOrderId"])
        digest = int(hashlib.sha256(f"mfn-return|{event['AmazonOrderId']}".encode()).hexdigest(), 16)
        if order is None or digest % 2:
            continue
        posted = datetime.fromisoformat(event["PostedDate"].replace("Z", "+00:00"))
        delivered = posted + timedelta(days=2)
        for item in event["ShipmentItemAdjustmentList"]:
            rows.append({"marketplaceId": entry["marketplaceId"], "report": "mfn", "Order ID": event["AmazonOrderId"],
                         "Order date": _dmy(datetime.fromisoformat(order["createdTime"].replace("Z", "+00:00"))),
                         "Return request date": _dmy(posted - timedelta(days=1)), "Return request status": "Approved",
                         "Amazon RMA ID": f"D{digest % 10**10:010d}", "Label type": "AmazonPrePaidLabel",
                         "Merchant SKU": item["SellerSKU"], "Return quantity": str(item["QuantityShipped"]),
                         "Return Reason": "CR-UNWANTED_ITEM", "In policy": "Y", "Return type": "C-Returns",
                         "Resolution": "StandardRefund", "Return delivery date": _dmy(delivered) if delivered <= now else "",
                         "_sort": posted.isoformat()})
    return rows


def mfn_returns_file(rows: list[dict[str, Any]], marketplaces: list[str], start: datetime, end: datetime) -> str:
    """The report's tab-separated text: rows of these marketplaces whose return was requested in [start, end]."""
    lines = ["\t".join(MFN_RETURNS_HEADER)]
    for row in sorted(rows, key=lambda r: (r.get("_sort") or "", r["Order ID"])):
        requested = datetime.strptime(row["Return request date"], "%d-%b-%Y").replace(tzinfo=UTC)
        if row["marketplaceId"] not in marketplaces or not start.date() <= requested.date() <= end.date():
            continue
        lines.append("\t".join(str(row.get(column, "")) for column in MFN_RETURNS_HEADER))
    return "\n".join(lines) + "\n"
