"""Amazon order (Orders API v2026-01-01) -> NetSuite customer + sales order. Pure: no I/O.

Money rules (docs/accounting.md, "Orders"):

- The sales order total equals Amazon's ``proceeds.grandTotal`` to the cent, in the order's currency.
  Every figure comes from Amazon's proceeds breakdowns as ``Decimal``; nothing is recomputed from
  rates, so nothing is rounded twice.
- Lines are booked **net of tax**; each product line carries its item's tax as ``tax1Amt`` with the
  marketplace's tax code (seller-collected tax, VAT) or the facilitator tax code (tax Amazon collects
  and remits, whose tax account is the facilitator-tax account: never the seller's liability).
- VAT-inclusive marketplaces (``prices_include_tax``): Amazon's subtotals include VAT; the VAT of each
  part comes from the TAX breakdown's details and the cent left by rounding stays on the item part,
  so net + VAT = Amazon's gross exactly.
- Shipping goes to ``shippingCost``; gift wrap, COD fees and other charges to ``handlingCost``;
  promotions become a discount line (``promotion_item_id``) or reduce the line amount.
- A pack SKU (``units_per_sku`` = 6) ordered twice is 12 units of the item at a sixth of the price.

Anything that does not add up is refused with a reason (never posted with a wrong total).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from amazon_netsuite.ledger.store import content_hash
from amazon_netsuite.mappings import MappingLookupError, Mappings, Marketplace
from amazon_netsuite.netsuite.records import (
    Address,
    SalesOrderLine,
    build_customer,
    build_sales_order,
    customer_external_id,
    ref,
    sales_order_external_id,
)

CENT = Decimal("0.01")
RATE = Decimal("0.00000001")

SYNCED_STATUSES = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"})
WAITING_STATUSES = frozenset({"PENDING_AVAILABILITY", "PENDING"})
CANCELLED = "CANCELLED"
UNFULFILLABLE = "UNFULFILLABLE"

ORDER_ID_FIELD = "custbody_amazon_order_id"
MARKETPLACE_FIELD = "custbody_amazon_marketplace_id"
CHANNEL_FIELD = "custbody_amazon_fulfillment_channel"

# Order-level proceeds that no item carries (charged separately after checkout).
_ORDER_LEVEL_HANDLING = ("DELIVERY_TIP",)
_HANDLING_PARTS = ("GIFT_WRAP", "COD_FEE", "OTHER")
_KNOWN_PARTS = ("ITEM", "SHIPPING", "DISCOUNT", *_HANDLING_PARTS)


class OrderTransformError(ValueError):
    """The order cannot become a correct sales order; ``reason`` is the ledger's short cause."""

    def __init__(self, order_id: str, reason: str, message: str):
        super().__init__(f"Amazon order {order_id}: {message}")
        self.order_id = order_id
        self.reason = reason


@dataclass(frozen=True)
class CustomerPlan:
    """Who the sales order is for: a buyer customer (matched or created) or the generic one."""

    external_id: str | None = None
    internal_id: str | None = None
    email: str | None = None
    record: dict[str, Any] | None = field(default=None, repr=False)  # buyer PII: never logged
    address: Address | None = field(default=None, repr=False)

    @property
    def is_generic(self) -> bool:
        return self.internal_id is not None

    @property
    def entity_ref(self) -> dict[str, str]:
        return ref(self.internal_id) if self.internal_id else ref(external_id=self.external_id)


@dataclass(frozen=True)
class OrderPlan:
    """What to do with one Amazon order. ``action``: upsert | close | skip | wait."""

    order_id: str
    marketplace_id: str
    status: str
    action: str
    external_id: str
    reason: str | None = None
    detail: str | None = None
    customer: CustomerPlan | None = None
    record: dict[str, Any] | None = field(default=None, repr=False)
    custom_fields: dict[str, str] = field(default_factory=dict)
    expected_total: Decimal | None = None
    line_count: int = 0
    content_hash: str = ""

    @property
    def replay(self) -> dict[str, str]:
        """What the ledger keeps to replay this order: ids only (the order is re-read from Amazon)."""
        return {"order_id": self.order_id, "marketplace_id": self.marketplace_id}


# ------------------------------------------------------------------------------------------ helpers


def _amount(order_id: str, money: Mapping[str, Any] | None, currency: str, what: str) -> Decimal:
    if not money:
        return Decimal(0)
    code = money.get("currencyCode")
    if code and code != currency:
        raise OrderTransformError(
            order_id, "currency_mismatch", f"{what} is in {code} but the marketplace currency is {currency}"
        )
    try:
        return Decimal(str(money["amount"]))
    except (KeyError, ArithmeticError, ValueError):
        raise OrderTransformError(order_id, "malformed_order", f"{what} has no valid amount: {money!r}") from None


def _split_name(full: str | None) -> tuple[str | None, str | None]:
    parts = (full or "").split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return None, parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _address(delivery: Mapping[str, Any] | None) -> Address | None:
    if not delivery or not delivery.get("countryCode"):
        return None
    return Address(
        country=delivery["countryCode"],
        addressee=delivery.get("companyName") or delivery.get("name"),
        attention=delivery.get("name") if delivery.get("companyName") else None,
        addr1=delivery.get("addressLine1"),
        addr2=delivery.get("addressLine2"),
        addr3=delivery.get("addressLine3"),
        city=delivery.get("city") or delivery.get("municipality"),
        state=delivery.get("stateOrRegion"),
        zip=delivery.get("postalCode"),
        phone=delivery.get("phone"),
    )


def _tran_date(order: Mapping[str, Any]) -> date:
    created = str(order["createdTime"]).replace("Z", "+00:00")
    return datetime.fromisoformat(created).date()


def _is_facilitator(item: Mapping[str, Any]) -> bool:
    collections = (item.get("tax") or {}).get("taxCollections") or []
    return any((c or {}).get("model") == "MARKETPLACE_FACILITATOR" for c in collections)


@dataclass
class _ItemMoney:
    parts: dict[str, Decimal]
    tax: Decimal
    tax_detail: dict[str, Decimal]
    total: Decimal
    discount_detail: dict[str, Decimal] = field(default_factory=dict)  # DISCOUNT by subtype (ITEM, SHIPPING)


def _item_money(order_id: str, item: Mapping[str, Any], currency: str, inclusive: bool) -> _ItemMoney:
    proceeds = item.get("proceeds") or {}
    parts: dict[str, Decimal] = defaultdict(Decimal)
    tax = Decimal(0)
    detail: dict[str, Decimal] = defaultdict(Decimal)
    discount_detail: dict[str, Decimal] = defaultdict(Decimal)
    item_id = item.get("orderItemId")
    for breakdown in proceeds.get("breakdowns") or []:
        kind = breakdown.get("type")
        value = _amount(order_id, breakdown.get("subtotal"), currency, f"item {item_id} {kind}")
        if kind == "TAX":
            tax += value
            for sub in breakdown.get("detailedBreakdowns") or []:
                detail[sub.get("subtype")] += _amount(order_id, sub.get("value"), currency, f"item {item_id} TAX detail")
        elif kind in _KNOWN_PARTS:
            parts[kind] += value
            if kind == "DISCOUNT":
                for sub in breakdown.get("detailedBreakdowns") or []:
                    discount_detail[sub.get("subtype")] += _amount(order_id, sub.get("value"), currency,
                                                                   f"item {item_id} DISCOUNT detail")
        else:
            raise OrderTransformError(
                order_id, "unknown_charge", f"item {item_id} has a proceeds breakdown of unknown type {kind!r}"
            )
    total = _amount(order_id, proceeds.get("proceedsTotal"), currency, f"item {item_id} proceedsTotal")
    gross = sum(parts.values(), Decimal(0)) + (Decimal(0) if inclusive else tax)
    if proceeds and gross != total:
        raise OrderTransformError(
            order_id,
            "unreconciled_total",
            f"item {item_id}: breakdowns add up to {gross} but proceedsTotal is {total} {currency}",
        )
    return _ItemMoney(dict(parts), tax, dict(detail), total, dict(discount_detail))


def _net_parts(money: _ItemMoney, inclusive: bool) -> dict[str, Decimal]:
    """Each part net of tax. VAT-inclusive: the item part absorbs the rounding cent."""
    if not inclusive:
        return dict(money.parts)
    net = {}
    vat_elsewhere = Decimal(0)
    for kind, gross in money.parts.items():
        if kind == "ITEM":
            continue
        vat = money.tax_detail.get(kind, Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        vat_elsewhere += vat
        net[kind] = gross - vat
    net["ITEM"] = money.parts.get("ITEM", Decimal(0)) - (money.tax - vat_elsewhere)
    return net


# ------------------------------------------------------------------------------------------ customers


def plan_customer(order: Mapping[str, Any], marketplace: Marketplace) -> CustomerPlan:
    """per_buyer with the buyer's (stable, anonymised) Amazon e-mail -> that buyer's customer;
    otherwise (single mode, or no e-mail: FBA orders) -> the marketplace's generic customer."""
    buyer = order.get("buyer") or {}
    email = (buyer.get("buyerEmail") or "").strip()
    if marketplace.customer_mode != "per_buyer" or not email:
        return CustomerPlan(internal_id=marketplace.single_customer_id)
    external_id = customer_external_id(marketplace.marketplace_id, email)
    address = _address((order.get("recipient") or {}).get("deliveryAddress"))
    company = buyer.get("buyerCompanyName")
    first, last = _split_name(buyer.get("buyerName") or (address.addressee if address else None))
    record = build_customer(
        external_id=external_id,
        subsidiary_id=marketplace.subsidiary_id,
        currency_id=marketplace.currency_id,
        first_name=None if company else first,
        last_name=None if company else (last or "Amazon buyer"),
        company_name=company,
        email=email,
        address=address,
        is_person=not company,
    )
    return CustomerPlan(external_id=external_id, email=email, record=record, address=address)


# ------------------------------------------------------------------------------------------ orders


def plan_order(order: Mapping[str, Any], mappings: Mappings) -> OrderPlan:
    """Decide what one Amazon order becomes. Raises :class:`OrderTransformError` with a reason."""
    order_id = str(order.get("orderId") or "")
    if not order_id:
        raise OrderTransformError("?", "malformed_order", "the order has no orderId")
    external_id = sales_order_external_id(order_id)
    channel = order.get("salesChannel") or {}
    marketplace_id = channel.get("marketplaceId") or ""
    status = (order.get("fulfillment") or {}).get("fulfillmentStatus") or ""
    try:
        marketplace = mappings.marketplace(marketplace_id)
    except MappingLookupError as exc:
        raise OrderTransformError(order_id, exc.reason, str(exc)) from None

    base = {"order_id": order_id, "marketplace_id": marketplace_id, "status": status, "external_id": external_id}
    if status in WAITING_STATUSES:
        return OrderPlan(**base, action="wait", reason="pending_at_amazon",
                         detail=f"{status}: synced once Amazon confirms payment and stock")
    if status == UNFULFILLABLE:
        return OrderPlan(**base, action="skip", reason="unfulfillable",
                         detail="UNFULFILLABLE: Amazon cannot fulfil this order (e.g. a delivery region it does not serve)")
    if status == CANCELLED:
        count = _line_count(order, marketplace)
        record = {
            "externalId": external_id,
            "itemList": [{"line": n, "isClosed": True} for n in range(1, count + 1)],
        }
        return OrderPlan(**base, action="close", reason="cancelled", record=record, line_count=count,
                         detail="cancelled at Amazon: the lines of an existing sales order are closed",
                         content_hash=content_hash({"status": status, "lines": count}))
    if status not in SYNCED_STATUSES:
        raise OrderTransformError(order_id, "unknown_status", f"unknown fulfillment status {status!r}")
    return _plan_sales_order(order, mappings, marketplace, base)


def _has_promotion_line(item: Mapping[str, Any], marketplace: Marketplace) -> bool:
    """Whether the item gets a discount line after it. Decided from data that survives a
    cancellation (the item's promotions), so line numbers stay the same when an item is cancelled:
    the hook upserts lines by number and a shifted layout would bill another item twice."""
    if not marketplace.promotion_item_id:
        return False
    promotions = (item.get("promotion") or {}).get("breakdowns") or []
    parts = {b.get("type") for b in ((item.get("proceeds") or {}).get("breakdowns") or [])}
    return bool(promotions) or "DISCOUNT" in parts


def _line_count(order: Mapping[str, Any], marketplace: Marketplace) -> int:
    return sum(1 + _has_promotion_line(item, marketplace) for item in order.get("orderItems") or [])


def _plan_sales_order(order, mappings: Mappings, marketplace: Marketplace, base: dict) -> OrderPlan:
    order_id = base["order_id"]
    currency = marketplace.currency
    inclusive = marketplace.prices_include_tax
    if marketplace.currency_id is None:
        raise OrderTransformError(
            order_id, "missing_mapping",
            f"marketplaces.csv has no currency_id for {marketplace.marketplace_name}; add the NetSuite currency id",
        )
    fba = (order.get("fulfillment") or {}).get("fulfilledBy") == "AMAZON"
    location_id = marketplace.fba_location_id if fba else marketplace.location_id
    if location_id is None:
        raise OrderTransformError(
            order_id, "missing_mapping", f"marketplaces.csv has no fba_location_id for {marketplace.marketplace_name}"
        )

    lines: list[SalesOrderLine] = []
    shipping = Decimal(0)
    handling = Decimal(0)
    items = order.get("orderItems") or []
    if not items:
        raise OrderTransformError(order_id, "malformed_order", "the order has no items")
    for item in items:
        product = item.get("product") or {}
        sku = product.get("sellerSku") or ""
        try:
            mapping = mappings.sku(sku, marketplace.marketplace_id)
        except MappingLookupError as exc:
            raise OrderTransformError(order_id, exc.reason, str(exc)) from None
        quantity = int(item.get("quantityOrdered") or 0)
        cancelled_line = bool(item.get("cancellation")) and not item.get("proceeds")
        money = _item_money(order_id, item, currency, inclusive)
        net = _net_parts(money, inclusive)
        facilitator = _is_facilitator(item)
        if facilitator and money.tax and marketplace.facilitator_tax_code_id is None:
            raise OrderTransformError(
                order_id, "missing_mapping",
                f"item {item.get('orderItemId')} carries marketplace-facilitator tax but marketplaces.csv has no "
                f"facilitator_tax_code_id for {marketplace.marketplace_name}",
            )
        tax_code = marketplace.facilitator_tax_code_id if facilitator else marketplace.tax_code_id
        units = Decimal(quantity * mapping.units_per_sku)
        amount = net.get("ITEM", Decimal(0))
        discount = net.get("DISCOUNT", Decimal(0))
        # A free-shipping promotion reduces shipping, not the item's revenue (Amazon details the
        # DISCOUNT by subtype); the VAT-net share follows the gross split, the rounding cent on the item.
        shipping_discount = Decimal(0)
        gross_discount = money.parts.get("DISCOUNT", Decimal(0))
        gross_shipping_discount = money.discount_detail.get("SHIPPING", Decimal(0))
        if discount and gross_discount and gross_shipping_discount:
            shipping_discount = (discount * gross_shipping_discount / gross_discount).quantize(CENT, ROUND_HALF_UP)
            discount -= shipping_discount
        promotions = [p.get("promotionId") for p in ((item.get("promotion") or {}).get("breakdowns") or [])
                      if p.get("promotionId")]
        description = f"{sku} x{quantity}" + (f" ({mapping.units_per_sku}-pack)" if mapping.units_per_sku > 1 else "")
        if discount and not marketplace.promotion_item_id:
            amount += discount
            description += f"; promotion {', '.join(promotions) or 'discount'} {discount}"
        rate = (amount / units).quantize(RATE, ROUND_HALF_UP) if units else Decimal(0)
        lines.append(
            SalesOrderLine(
                item_id=mapping.netsuite_item_id,
                quantity=units,
                rate=rate,
                line=len(lines) + 1,
                amount=amount,
                description=description,
                tax_code_id=tax_code if money.tax or tax_code else None,
                tax_amount=money.tax if item.get("proceeds") else None,
                location_id=location_id,
                is_closed=True if cancelled_line else None,
            )
        )
        if _has_promotion_line(item, marketplace):
            lines.append(
                SalesOrderLine(
                    item_id=marketplace.promotion_item_id,
                    quantity=Decimal(1),
                    rate=discount,
                    line=len(lines) + 1,
                    amount=discount,
                    description=f"Promotion {', '.join(promotions) or ''} on {sku}".strip(),
                    is_closed=True if cancelled_line else None,
                )
            )
        if not cancelled_line:
            shipping += net.get("SHIPPING", Decimal(0)) + shipping_discount
            handling += sum((net.get(k, Decimal(0)) for k in _HANDLING_PARTS), Decimal(0))

    proceeds = order.get("proceeds") or {}
    for breakdown in proceeds.get("breakdowns") or []:
        if breakdown.get("type") in _ORDER_LEVEL_HANDLING:
            handling += _amount(order_id, breakdown.get("subtotal"), currency, breakdown["type"])
    grand_total = _amount(order_id, proceeds.get("grandTotal"), currency, "proceeds.grandTotal")
    open_lines = [line for line in lines if not line.is_closed]
    computed = (
        sum((line.amount for line in open_lines), Decimal(0))
        + sum((line.tax_amount or Decimal(0) for line in open_lines), Decimal(0))
        + shipping
        + handling
    )
    if computed != grand_total:
        raise OrderTransformError(
            order_id, "unreconciled_total",
            f"the sales order would total {computed} {currency} but Amazon's grandTotal is {grand_total} {currency}",
        )

    customer = plan_customer(order, marketplace)
    buyer = order.get("buyer") or {}
    custom_fields = {
        ORDER_ID_FIELD: order_id,
        MARKETPLACE_FIELD: marketplace.marketplace_id,
        CHANNEL_FIELD: "AFN" if fba else "MFN",
    }
    record = build_sales_order(
        external_id=base["external_id"],
        customer=customer.entity_ref,
        subsidiary_id=marketplace.subsidiary_id,
        currency_id=marketplace.currency_id,
        tran_date=_tran_date(order),
        lines=lines,
        location_id=location_id,
        department_id=marketplace.department_id,
        class_id=marketplace.class_id,
        shipping_cost=shipping if shipping else None,
        ship_address=_address((order.get("recipient") or {}).get("deliveryAddress")),
        other_ref_num=buyer.get("buyerPurchaseOrderNumber"),
        memo=f"Amazon order {order_id} ({marketplace.marketplace_name}{', FBA' if fba else ''})",
        custom_field_values=custom_fields,
    )
    if handling:
        record["handlingCost"] = handling
    digest = content_hash({"record": record, "customer": customer.record, "custom": custom_fields})
    return OrderPlan(
        **base,
        action="upsert",
        customer=customer,
        record=record,
        custom_fields=custom_fields,
        expected_total=grand_total,
        line_count=len(lines),
        content_hash=digest,
    )
