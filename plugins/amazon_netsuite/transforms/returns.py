"""Amazon refunds and returns -> NetSuite return authorization, credit memo / cash refund, item receipt. Pure.

docs/accounting.md, "Refunds and returns":

- **One refund adjustment = one set of documents.** A Finances API refund event (``RefundEventList``, a
  ``ShipmentEvent``) names the order and, per refunded item, its ``OrderAdjustmentItemId`` (Amazon's id of
  that item's refund adjustment). The refund's key is the smallest of those ids, so the documents are
  ``AMZ-RA-{orderId}-{key}``, ``AMZ-CM-{orderId}-{key}`` / ``AMZ-CR-{orderId}-{key}``: the same event read
  again in an overlapping look-back window gives the same externalIds (idempotent), a second refund of the
  same order gives new ones.
- **Money, to the cent.** The buyer gets back ``-(sum of ItemChargeAdjustmentList) - (sum of
  PromotionAdjustmentList)`` (Amazon's signs: money given back negative, a promotion given back
  positive). The refund document's total NetSuite computes equals that exactly:
  item lines net of tax on the sales order line's tax code, shipping on ``shippingCost``, gift wrap on
  ``handlingCost`` (their codes the order's), promotions taken off the item line (no
  ``promotion_item_id``) or a line on it; tax Amazon collects (the line's code is the facilitator code)
  on one ``facilitator_tax_item_id`` line; seller tax computed by NetSuite from the codes, the cent its
  per-line rounding leaves against Amazon's refunded tax on ``tax_rounding_item_id``. VAT-inclusive
  marketplaces (``prices_include_tax``): Amazon's amounts are gross; the VAT inside is taken out at the
  order line's rate (the rounding line again absorbs NetSuite's cent).
- **Out of refunds pending.** The settlement flow books a refund's ItemPrice/Promotion rows to
  *Amazon refunds pending* (role ``refunds_pending``). A cash refund (cash_sale marketplaces) is paid
  from that account and empties it. A credit memo (invoice marketplaces) posts to A/R: it goes to the
  marketplace's clearing A/R account (see docs/accounting.md for what that leaves in refunds pending).
- **Commission refunded / refund administration fee** are the settlement flow's (fees), not the buyer's
  money: not on these documents.
- **Returned units** (FBA customer returns report): an item receipt from the return authorization
  restocks per ``return_dispositions.csv``: ``fba`` (SELLABLE: back to the marketplace's FBA location),
  ``returns`` (the marketplace's non-sellable return location) or ``write_off`` (no receipt: nothing
  comes back to stock).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from amazon_netsuite.netsuite.records import REFUND_RECORD_TYPES, document_external_id
from amazon_netsuite.transforms.billing import AccountingModelError, _round, _tax, dec

CHARGE_PARTS = {
    "Principal": "principal", "Tax": "tax", "ShippingCharge": "shipping", "ShippingTax": "shipping_tax",
    "GiftWrap": "gift_wrap", "GiftWrapTax": "gift_wrap_tax",
}
DISPOSITION_ACTIONS = ("fba", "returns", "write_off")


class RefundError(AccountingModelError):
    """A refund that cannot be booked as the accounting model says; ``reason`` is the ledger's reason."""


@dataclass(frozen=True)
class RefundItem:
    """One refunded item of a refund adjustment; amounts as the buyer gets them back (positive)."""

    seller_sku: str
    adjustment_item_id: str
    quantity: int
    principal: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    gift_wrap: Decimal = Decimal(0)
    gift_wrap_tax: Decimal = Decimal(0)
    #: promotion given back (Amazon's positive PromotionAdjustment): taken off what the buyer gets back
    promotion: Decimal = Decimal(0)

    @property
    def refunded(self) -> Decimal:
        return (self.principal + self.tax + self.shipping + self.shipping_tax + self.gift_wrap + self.gift_wrap_tax
                - self.promotion)

    @property
    def refunded_tax(self) -> Decimal:
        return self.tax + self.shipping_tax + self.gift_wrap_tax


@dataclass(frozen=True)
class Refund:
    """One refund adjustment (a ``RefundEventList`` entry)."""

    amazon_order_id: str
    marketplace_name: str
    posted: datetime
    currency: str
    items: tuple[RefundItem, ...]

    @property
    def key(self) -> str:
        """Stable per refund adjustment: Amazon's smallest OrderAdjustmentItemId of the event."""
        return min(item.adjustment_item_id for item in self.items)

    @property
    def total(self) -> Decimal:
        return sum((item.refunded for item in self.items), Decimal(0))


def _amount(node: Any, where: str, key: str) -> tuple[Decimal, str]:
    if not isinstance(node, Mapping) or "CurrencyAmount" not in node:
        raise RefundError(key, "malformed_event", f"{where} has no CurrencyAmount")
    try:
        value = Decimal(str(node["CurrencyAmount"]))
    except InvalidOperation:
        raise RefundError(key, "malformed_event", f"{where}: {node['CurrencyAmount']!r} is not an amount") from None
    if not value.is_finite():
        raise RefundError(key, "malformed_event", f"{where}: {value} is not an amount")
    return _round(value), str(node.get("CurrencyCode") or "")


def parse_refund_event(event: Mapping[str, Any]) -> Refund:
    """A Finances API refund event -> :class:`Refund`. Unknown charge types, mixed currencies, an item
    without its adjustment id or SKU, a refund that gives money to the seller: ``RefundError``."""
    order_id = str(event.get("AmazonOrderId") or "")
    key = f"refund of {order_id or '?'}"
    if not order_id:
        raise RefundError(key, "malformed_event", "the refund event has no AmazonOrderId")
    try:
        posted = datetime.fromisoformat(str(event["PostedDate"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise RefundError(key, "malformed_event", f"PostedDate {event.get('PostedDate')!r} is not a date-time") from None
    currencies: set[str] = set()
    items = []
    for raw in event.get("ShipmentItemAdjustmentList") or []:
        sku, adjustment = raw.get("SellerSKU"), raw.get("OrderAdjustmentItemId")
        if not sku or not adjustment:
            raise RefundError(key, "malformed_event", "a refunded item has no SellerSKU or OrderAdjustmentItemId")
        parts: dict[str, Decimal] = dict.fromkeys(CHARGE_PARTS.values(), Decimal(0))
        for charge in raw.get("ItemChargeAdjustmentList") or []:
            kind = charge.get("ChargeType")
            if kind not in CHARGE_PARTS:
                raise RefundError(key, "unknown_charge_type", f"refund charge type {kind!r} of {sku} is not mapped")
            value, currency = _amount(charge.get("ChargeAmount"), f"{sku} {kind}", key)
            currencies.add(currency)
            parts[CHARGE_PARTS[kind]] -= value  # Amazon: money back to the buyer is negative
        promotion = Decimal(0)
        for promo in raw.get("PromotionAdjustmentList") or []:
            value, currency = _amount(promo.get("PromotionAmount"), f"{sku} promotion", key)
            currencies.add(currency)
            promotion += value  # positive: the promotion given back
        quantity = raw.get("QuantityShipped")
        if not isinstance(quantity, int) or quantity < 0:
            raise RefundError(key, "malformed_event", f"{sku}: QuantityShipped {quantity!r} is not a count")
        items.append(RefundItem(seller_sku=str(sku), adjustment_item_id=str(adjustment), quantity=quantity,
                                promotion=promotion, **parts))
    if not items:
        raise RefundError(key, "malformed_event", "the refund event has no ShipmentItemAdjustmentList")
    currencies.discard("")
    if len(currencies) > 1:
        raise RefundError(key, "mixed_currencies", f"the refund mixes currencies {sorted(currencies)}")
    refund = Refund(order_id, str(event.get("MarketplaceName") or ""), posted, currencies.pop() if currencies else "",
                    tuple(items))
    if refund.total <= 0:
        raise RefundError(key, "not_a_refund", f"the event gives the buyer {refund.total} back: nothing to credit")
    return refund


def refund_external_ids(refund: Refund, billing_document: str) -> tuple[str, str, str]:
    """(return authorization, refund document externalId, refund document record type)."""
    record_type = REFUND_RECORD_TYPES[billing_document]
    return (document_external_id("returnAuthorization", refund.amazon_order_id, refund.key),
            document_external_id(record_type, refund.amazon_order_id, refund.key), record_type)


# ------------------------------------------------------------------------------------------ planning
@dataclass(frozen=True)
class RefundSettings:
    billing_document: str
    refund_account_id: str  # cash refund: refunds pending; credit memo: the clearing A/R account
    facilitator_tax_code_ids: frozenset[str]
    facilitator_tax_item_id: str | None
    tax_rounding_item_id: str | None
    zero_tax_code_id: str | None
    promotion_item_id: str | None
    prices_include_tax: bool
    location_id: str | None

    @classmethod
    def of(cls, marketplace: Any) -> RefundSettings:
        document = marketplace.billing_document
        account = marketplace.refunds_pending_account_id if document == "cash_sale" else marketplace.amazon_clearing_account_id
        return cls(
            billing_document=document, refund_account_id=str(account) if account else "",
            facilitator_tax_code_ids=frozenset({str(marketplace.facilitator_tax_code_id)} if marketplace.facilitator_tax_code_id else ()),
            facilitator_tax_item_id=_opt(marketplace.facilitator_tax_item_id),
            tax_rounding_item_id=_opt(marketplace.tax_rounding_item_id), zero_tax_code_id=_opt(marketplace.tax_code_id),
            promotion_item_id=_opt(marketplace.promotion_item_id), prices_include_tax=bool(marketplace.prices_include_tax),
            location_id=_opt(marketplace.fba_location_id),
        )


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass
class RefundPlan:
    refund: Refund
    return_authorization_id: str
    refund_external_id: str
    refund_record_type: str
    #: return authorization lines: order line -> units (item lines only)
    returned_units: dict[int, Decimal]
    lines: list[dict[str, Any]]
    shipping_cost: Decimal
    shipping_tax_code_id: str | None
    handling_cost: Decimal
    handling_tax_code_id: str | None
    total: Decimal
    tax: Decimal
    notes: list[str] = field(default_factory=list)


def _net(gross: Decimal, rate: Decimal, inclusive: bool) -> tuple[Decimal, Decimal]:
    """(net, tax inside) of a VAT-inclusive amount; (amount, 0) otherwise."""
    if not inclusive or not rate:
        return gross, Decimal(0)
    vat = _round(gross * rate / (100 + rate))
    return gross - vat, vat


def plan_refund(
    refund: Refund,
    order: Mapping[str, Any],
    *,
    settings: RefundSettings,
    sku_items: Mapping[str, tuple[str, int]],
) -> RefundPlan:
    """The return authorization lines and the refund document (credit memo or cash refund) of one refund.

    ``order`` is the sales order as NetSuite holds it (``itemList`` lines with ``line``, ``item``,
    ``quantity``, ``quantityBilled``, ``taxCode``, ``taxRate1``; ``shippingTax1Rate``, ``shippingTaxCode``,
    ``handlingTax1Rate``, ``handlingTaxCode``). ``sku_items`` maps Amazon SKU -> (NetSuite item id, units per
    SKU). A refunded item must be billed on the order (else ``not_billed``: the caller waits)."""
    key = f"refund {refund.key} of {refund.amazon_order_id}"
    if settings.billing_document not in REFUND_RECORD_TYPES:
        raise RefundError(key, "missing_mapping", f"billing_document {settings.billing_document!r} is not cash_sale or invoice")
    if not settings.refund_account_id:
        raise RefundError(key, "missing_mapping", "the marketplace has no refunds_pending_account_id / clearing account")
    ra_id, doc_id, record_type = refund_external_ids(refund, settings.billing_document)
    open_lines = [line for line in order.get("itemList") or [] if not line.get("isClosed")]
    lines: list[dict[str, Any]] = []
    returned: dict[int, Decimal] = {}
    predicted_tax = Decimal(0)
    wanted_tax = Decimal(0)
    facilitator_tax = Decimal(0)
    shipping = handling = Decimal(0)
    ship_rate, hand_rate = dec(order.get("shippingTax1Rate")), dec(order.get("handlingTax1Rate"))
    for item in refund.items:
        if item.seller_sku not in sku_items:
            raise RefundError(key, "unmapped_sku", f"SKU {item.seller_sku} is not in sku_items.csv")
        item_id, units_per_sku = sku_items[item.seller_sku]
        candidates = [line for line in open_lines if str((line.get("item") or {}).get("internalId")) == str(item_id)]
        if not candidates:
            raise RefundError(key, "unknown_order_line", f"the sales order has no line of item {item_id} ({item.seller_sku})")
        units = Decimal(item.quantity * units_per_sku)
        line = next((c for c in candidates if dec(c.get("quantityBilled")) - returned.get(int(c["line"]), Decimal(0)) >= units),
                    candidates[0])
        number = int(line["line"])
        if dec(line.get("quantityBilled")) - returned.get(number, Decimal(0)) < units or dec(line.get("quantityBilled")) <= 0:
            raise RefundError(key, "not_billed",
                              f"order line {number} has {dec(line.get('quantityBilled'))} units billed; the refund returns {units}")
        returned[number] = returned.get(number, Decimal(0)) + units
        code = str((line.get("taxCode") or {}).get("internalId") or "") or None
        rate = dec(line.get("taxRate1"))
        facilitator = code in settings.facilitator_tax_code_ids
        gross_item = item.principal - (item.promotion if not settings.promotion_item_id else Decimal(0))
        net_item, vat_item = _net(gross_item, rate, settings.prices_include_tax)
        net_ship, vat_ship = _net(item.shipping, ship_rate, settings.prices_include_tax)
        net_wrap, vat_wrap = _net(item.gift_wrap, hand_rate, settings.prices_include_tax)
        tax = item.refunded_tax + vat_item + vat_ship + vat_wrap
        if facilitator:
            facilitator_tax += tax
        else:
            wanted_tax += tax
            predicted_tax += _tax(net_item, rate)
        lines.append({"item": item_id, "orderLine": number, "quantity": units, "amount": net_item, "taxCode": code,
                      "description": f"Amazon refund {refund.key}: {item.seller_sku}"})
        if settings.promotion_item_id and item.promotion:
            net_promo, vat_promo = _net(-item.promotion, rate, settings.prices_include_tax)
            if not facilitator:
                wanted_tax += vat_promo
                predicted_tax += _tax(net_promo, rate)
            lines.append({"item": settings.promotion_item_id, "quantity": Decimal(1), "amount": net_promo, "taxCode": code,
                          "description": f"Promotion given back on refund {refund.key}"})
        shipping += net_ship
        handling += net_wrap
    # NetSuite taxes shipping and handling at their codes' rates (a facilitator code's rate is 0)
    predicted_tax += _tax(shipping, ship_rate) + _tax(handling, hand_rate)
    if facilitator_tax:
        if not settings.facilitator_tax_item_id:
            raise RefundError(key, "missing_mapping", "refunded facilitator tax needs facilitator_tax_item_id")
        lines.append({"item": settings.facilitator_tax_item_id, "quantity": Decimal(1), "amount": facilitator_tax,
                      "taxCode": settings.zero_tax_code_id, "description": f"Marketplace facilitator tax refunded ({refund.key})"})
    difference = wanted_tax - predicted_tax
    if difference:
        if not settings.tax_rounding_item_id:
            raise RefundError(key, "unreconciled_total",
                              f"NetSuite's tax on the refund's lines differs from Amazon's refunded tax by {difference}")
        lines.append({"item": settings.tax_rounding_item_id, "quantity": Decimal(1), "amount": difference,
                      "taxCode": settings.zero_tax_code_id, "description": "Tax rounding: Amazon's refunded tax less NetSuite's per-line tax"})
    total = sum((Decimal(line["amount"]) for line in lines), Decimal(0)) + shipping + handling + predicted_tax
    if total != refund.total:
        raise RefundError(key, "unreconciled_total", f"the refund document would total {total}, Amazon refunded {refund.total}")
    return RefundPlan(
        refund=refund, return_authorization_id=ra_id, refund_external_id=doc_id, refund_record_type=record_type,
        returned_units=returned, lines=lines, shipping_cost=shipping,
        shipping_tax_code_id=(order.get("shippingTaxCode") or {}).get("internalId"), handling_cost=handling,
        handling_tax_code_id=(order.get("handlingTaxCode") or {}).get("internalId"), total=total, tax=predicted_tax,
    )


# ------------------------------------------------------------------------------------------ returns (units back)
@dataclass(frozen=True)
class ReturnedUnits:
    """One row of the FBA customer returns report."""

    amazon_order_id: str
    seller_sku: str
    quantity: int
    disposition: str
    reason: str
    license_plate: str
    return_date: datetime
    fulfillment_center: str = ""

    @property
    def key(self) -> str:
        """Stable per report row: the license plate (Amazon's id of the returned package), else a digest."""
        if self.license_plate:
            return self.license_plate
        digest = hashlib.sha256(f"{self.amazon_order_id}|{self.seller_sku}|{self.return_date.isoformat()}|{self.disposition}".encode())
        return digest.hexdigest()[:12].upper()


FBA_RETURNS_COLUMNS = ("return-date", "order-id", "sku", "quantity", "detailed-disposition")


def parse_fba_returns_report(text: str) -> list[ReturnedUnits]:
    """``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA`` (tab-separated, a header row): one per returned row.
    A missing column, a quantity that is not a positive count or a date that does not parse: ValueError."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t")
    missing = [c for c in FBA_RETURNS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"FBA customer returns report without columns {missing}")
    rows = []
    for number, row in enumerate(reader, start=2):
        try:
            quantity = int(row["quantity"])
            returned = datetime.fromisoformat(row["return-date"].replace("Z", "+00:00"))
        except (TypeError, ValueError):
            raise ValueError(f"FBA customer returns report row {number}: quantity {row['quantity']!r} / "
                             f"return-date {row['return-date']!r} do not parse") from None
        if quantity <= 0:
            raise ValueError(f"FBA customer returns report row {number}: quantity {quantity}")
        rows.append(ReturnedUnits(
            amazon_order_id=row["order-id"], seller_sku=row["sku"], quantity=quantity,
            disposition=(row["detailed-disposition"] or "").strip().upper(), reason=row.get("reason") or "",
            license_plate=row.get("license-plate-number") or "", return_date=returned,
            fulfillment_center=row.get("fulfillment-center-id") or "",
        ))
    return rows


MFN_RETURNS_COLUMNS = ("Order ID", "Amazon RMA ID", "Merchant SKU", "Return quantity", "Return delivery date")
#: the disposition an MFN return gets in return_dispositions.csv (the report says it arrived, not its condition)
MFN_DISPOSITION = "MFN_RETURNED"


def _mfn_date(text: str) -> datetime:
    """``14-Jul-2025`` (the report's dates), or ISO 8601."""
    text = text.strip()
    try:
        return datetime.strptime(text, "%d-%b-%Y").replace(tzinfo=UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_mfn_returns_report(text: str) -> tuple[list[ReturnedUnits], int]:
    """``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`` (seller-fulfilled returns, tab-separated): the rows whose
    ``Return delivery date`` says the package reached the seller, and how many rows are still on their way
    (requested or in transit: nothing to receive yet; a later run's look-back reads them again)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t")
    missing = [c for c in MFN_RETURNS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"MFN returns report without columns {missing}")
    rows, in_transit = [], 0
    for number, row in enumerate(reader, start=2):
        if not (row.get("Return delivery date") or "").strip():
            in_transit += 1
            continue
        try:
            quantity = int(row["Return quantity"])
            delivered = _mfn_date(row["Return delivery date"])
        except (TypeError, ValueError):
            raise ValueError(f"MFN returns report row {number}: quantity {row['Return quantity']!r} / delivery date "
                             f"{row['Return delivery date']!r} do not parse") from None
        if quantity <= 0 or not row.get("Amazon RMA ID"):
            raise ValueError(f"MFN returns report row {number}: quantity {quantity}, RMA {row.get('Amazon RMA ID')!r}")
        rows.append(ReturnedUnits(
            amazon_order_id=row["Order ID"], seller_sku=row["Merchant SKU"], quantity=quantity, disposition=MFN_DISPOSITION,
            reason=row.get("Return Reason") or "", license_plate=row["Amazon RMA ID"], return_date=delivered,
        ))
    return rows, in_transit


def load_dispositions(path: Path) -> dict[str, str]:
    """``return_dispositions.csv``: disposition -> action (fba | returns | write_off)."""
    table: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            disposition = (row.get("disposition") or "").strip().upper()
            action = (row.get("action") or "").strip()
            if not disposition or action not in DISPOSITION_ACTIONS:
                raise ValueError(f"{path.name} row {number}: disposition {disposition!r} action {action!r} "
                                 f"(one of {', '.join(DISPOSITION_ACTIONS)})")
            table[disposition] = action
    return table


def receipt_location(returned: ReturnedUnits, dispositions: Mapping[str, str], *, fba_location_id: str | None,
                     return_location_id: str | None) -> tuple[str, str | None]:
    """(action, location id or None for a write-off) of returned units, per the disposition table."""
    action = dispositions.get(returned.disposition)
    if action is None:
        raise RefundError(f"return {returned.key}", "unmapped_disposition",
                          f"disposition {returned.disposition!r} is not in return_dispositions.csv")
    if action == "write_off":
        return action, None
    location = fba_location_id if action == "fba" else return_location_id
    if not location:
        raise RefundError(f"return {returned.key}", "missing_mapping", f"the marketplace has no location for {action}")
    return action, str(location)


__all__ = [
    "Refund", "RefundError", "RefundItem", "RefundPlan", "RefundSettings", "ReturnedUnits", "load_dispositions",
    "parse_fba_returns_report", "parse_mfn_returns_report", "parse_refund_event", "plan_refund", "receipt_location", "refund_external_ids",
]
