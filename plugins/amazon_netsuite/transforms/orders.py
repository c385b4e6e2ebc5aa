"""Amazon order (Orders API v2026-01-01) -> NetSuite customer + sales order. Pure: no I/O.

Money rules (docs/accounting.md, "Orders"):

- The sales order total NetSuite computes equals Amazon's ``proceeds.grandTotal`` to the cent, in the
  order's currency. Every figure comes from Amazon's proceeds breakdowns as ``Decimal``.
- NetSuite computes tax itself from the tax code of each line (rate x amount, rounded per line); it
  does not take the integration's tax amounts. So lines are booked **net of tax** with a tax code:
  * tax Amazon collects and remits (``taxCollections[].model = MARKETPLACE_FACILITATOR``): lines carry
    the non-taxable facilitator code, and the tax is one other-charge line on
    ``facilitator_tax_item_id`` (its account is the facilitator-tax account): never the seller's
    liability;
  * seller-collected tax and VAT: lines carry the tax code (``tax_codes.csv``) whose rate reproduces
    Amazon's tax of the item; the cent that NetSuite's per-line rounding leaves against Amazon's tax is
    one line on ``tax_rounding_item_id``. Where no code reproduces Amazon's amounts (a rate the table
    does not have, shipping and items at different rates), Amazon's seller tax is booked on one line on
    ``seller_tax_item_id`` (its account is the output-tax account) and the lines carry the zero code:
    the money is exact either way, and the run counts ``tax_booked_as_line``.
- Tax on top or tax inside: Amazon's own v2026 UK example adds TAX on top of ITEM and SHIPPING, while
  VAT-inclusive data carries the VAT inside the other subtotals. Decided per item from the arithmetic:
  parts + TAX = proceedsTotal is tax on top, parts = proceedsTotal is tax inside (each part is then
  booked net: gross minus its VAT, the item part absorbing the rounding cent); anything else is
  ``unreconciled_total``. A VAT marketplace order without any TAX breakdown is ``missing_tax`` unless
  the marketplace's ``missing_tax_treatment`` says how to book it.
- Shipping goes to ``shippingCost``; gift wrap, COD fees and other charges to ``handlingCost``;
  promotions become a discount line (``promotion_item_id``) or reduce the line amount.
- A pack SKU (``units_per_sku`` = 6) ordered twice is 12 units of the item at a sixth of the price.
- Implausible values (a quantity or amount beyond :class:`Bounds`, a negative price) and data that
  does not parse are refused for that order alone, with the reason.

Anything that does not add up is refused with a reason (never posted with a wrong total).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from amazon_netsuite.ledger.store import content_hash
from amazon_netsuite.mappings import MappingLookupError, Mappings, Marketplace, TaxCode
from amazon_netsuite.netsuite.records import (
    Address,
    FieldTooLongError,
    SalesOrderLine,
    UnknownCountryError,
    build_customer,
    build_sales_order,
    customer_external_id,
    ref,
    sales_order_external_id,
)

CENT = Decimal("0.01")
RATE = Decimal("0.00000001")
HUNDRED = Decimal(100)

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
class Bounds:
    """What a plausible order looks like; beyond it the order is dead-lettered ``implausible_value``.

    Configurable in ``[amazon_netsuite]`` (``max_quantity_per_item``, ``max_order_total``); the total is
    in the marketplace currency (raise it for JPY, INR...). A negative quantity or a negative price part
    (anything but a discount) is never plausible.
    """

    max_quantity_per_item: int = 10_000
    max_order_total: Decimal = Decimal("1000000")


DEFAULT_BOUNDS = Bounds()


@dataclass(frozen=True)
class CustomerPlan:
    """Who the sales order is for: a buyer customer (matched or created) or the generic one."""

    external_id: str | None = None
    internal_id: str | None = None
    email: str | None = None
    record: dict[str, Any] | None = field(default=None, repr=False)  # buyer PII: never logged
    address: Address | None = field(default=None, repr=False)
    fallback: bool = False  # a per_buyer marketplace without a buyer identity: the generic customer

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
    netsuite_tax: Decimal | None = None  # the tax NetSuite computes from the lines' tax codes
    tax_booked_as_line: bool = False
    line_count: int = 0
    content_hash: str = ""
    #: seller SKU -> units ordered, for merchant-fulfilled orders not cancelled: while the order is not
    #: in NetSuite (failed or pending in the ledger) the inventory flow holds these units back from Amazon.
    units: dict[str, int] = field(default_factory=dict)
    #: seller SKU -> units ordered, for Amazon-fulfilled orders not cancelled: Amazon's fulfillable FBA count
    #: dropped when the order was placed, NetSuite's FBA location drops when the sales order commits it, so
    #: the FBA comparison allows for these units while the order is not in NetSuite.
    afn_units: dict[str, int] = field(default_factory=dict)

    @property
    def replay(self) -> dict[str, Any]:
        """What the ledger keeps to replay this order: ids only (the order is re-read from Amazon), plus
        the merchant-fulfilled units per SKU (no PII) the inventory flow reads while the order is unsynced."""
        replay: dict[str, Any] = {"order_id": self.order_id, "marketplace_id": self.marketplace_id}
        if self.units:
            replay["units"] = dict(self.units)
        if self.afn_units:
            replay["afn_units"] = dict(self.afn_units)
        return replay


# ------------------------------------------------------------------------------------------ helpers


def _amount(order_id: str, money: Mapping[str, Any] | None, currency: str, what: str) -> Decimal:
    if not money:
        return Decimal(0)
    if not isinstance(money, Mapping):
        raise OrderTransformError(order_id, "malformed_order", f"{what} is not a money object: {money!r}"[:300])
    code = money.get("currencyCode")
    if code and code != currency:
        raise OrderTransformError(
            order_id, "currency_mismatch", f"{what} is in {code} but the marketplace currency is {currency}"
        )
    try:
        value = Decimal(str(money["amount"]))
    except (KeyError, ArithmeticError, ValueError):
        raise OrderTransformError(order_id, "malformed_order", f"{what} has no valid amount: {money!r}"[:300]) from None
    if not value.is_finite():
        raise OrderTransformError(order_id, "malformed_order", f"{what} is not a finite amount: {money!r}"[:300])
    return value


def _quantity(order_id: str, item: Mapping[str, Any], bounds: Bounds) -> int:
    raw = item.get("quantityOrdered")
    try:
        quantity = int(raw if raw is not None else 0)
        if isinstance(raw, float | str) and Decimal(str(raw)) != quantity:
            raise ValueError
    except (TypeError, ValueError, InvalidOperation):
        raise OrderTransformError(
            order_id, "malformed_order", f"item {item.get('orderItemId')}: quantityOrdered {raw!r} is not a whole number"
        ) from None
    if quantity < 0 or quantity > bounds.max_quantity_per_item:
        raise OrderTransformError(
            order_id, "implausible_value",
            f"item {item.get('orderItemId')}: quantityOrdered {quantity} is outside 0..{bounds.max_quantity_per_item} "
            "([amazon_netsuite] max_quantity_per_item); check the order in Seller Central",
        )
    return quantity


def merchant_units(order: Mapping[str, Any]) -> dict[str, int]:
    """Units ordered per seller SKU (quantityOrdered summed; unreadable quantities count as 0: the order
    is dead-lettered by the transform anyway)."""
    units: dict[str, int] = {}
    for item in order.get("orderItems") or []:
        sku = ((item or {}).get("product") or {}).get("sellerSku")
        try:
            quantity = int(item.get("quantityOrdered") or 0)
        except (TypeError, ValueError):
            quantity = 0
        if sku and quantity > 0:
            units[sku] = units.get(sku, 0) + quantity
    return units


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
    raw = order.get("createdTime")
    try:
        created = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise OrderTransformError(
            str(order.get("orderId") or "?"), "malformed_order", f"createdTime {raw!r} is not an ISO 8601 date-time"
        ) from None
    return created.date()


def _is_facilitator(item: Mapping[str, Any]) -> bool:
    collections = (item.get("tax") or {}).get("taxCollections") or []
    return any((c or {}).get("model") == "MARKETPLACE_FACILITATOR" for c in collections)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def netsuite_tax(amount: Decimal, rate: Decimal) -> Decimal:
    """The tax NetSuite computes for one line: amount x rate%, rounded half up to the cent."""
    return _round(amount * rate / HUNDRED) if amount and rate else Decimal(0)


@dataclass
class _ItemMoney:
    parts: dict[str, Decimal]  # gross, as Amazon gives them
    tax: Decimal
    tax_detail: dict[str, Decimal]
    total: Decimal
    inclusive: bool  # the TAX is inside the other subtotals (VAT-inclusive data)
    has_tax_breakdown: bool
    discount_detail: dict[str, Decimal] = field(default_factory=dict)  # DISCOUNT by subtype (ITEM, SHIPPING)


def _item_money(order_id: str, item: Mapping[str, Any], currency: str) -> _ItemMoney:
    proceeds = item.get("proceeds") or {}
    parts: dict[str, Decimal] = defaultdict(Decimal)
    tax = Decimal(0)
    has_tax = False
    detail: dict[str, Decimal] = defaultdict(Decimal)
    discount_detail: dict[str, Decimal] = defaultdict(Decimal)
    item_id = item.get("orderItemId")
    for breakdown in proceeds.get("breakdowns") or []:
        kind = breakdown.get("type")
        value = _amount(order_id, breakdown.get("subtotal"), currency, f"item {item_id} {kind}")
        if kind == "TAX":
            has_tax = True
            tax += value
            for sub in breakdown.get("detailedBreakdowns") or []:
                detail[sub.get("subtype")] += _amount(order_id, sub.get("value"), currency, f"item {item_id} TAX detail")
        elif kind in _KNOWN_PARTS:
            if kind != "DISCOUNT" and value < 0:
                raise OrderTransformError(
                    order_id, "implausible_value", f"item {item_id}: {kind} is negative ({value} {currency}); only "
                    "discounts are; check the order in Seller Central",
                )
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
    gross = sum(parts.values(), Decimal(0))
    if not proceeds or gross + tax == total:
        inclusive = False
    elif gross == total:
        inclusive = True  # the tax is inside the parts (VAT-inclusive data)
    else:
        raise OrderTransformError(
            order_id,
            "unreconciled_total",
            f"item {item_id}: breakdowns add up to {gross} (or {gross + tax} with TAX on top) but proceedsTotal is "
            f"{total} {currency}",
        )
    if tax < 0:
        raise OrderTransformError(order_id, "implausible_value", f"item {item_id}: TAX is negative ({tax} {currency})")
    return _ItemMoney(dict(parts), tax, dict(detail), total, inclusive, has_tax, dict(discount_detail))


def _net_parts(money: _ItemMoney) -> dict[str, Decimal]:
    """Each part net of tax. VAT-inclusive: each part loses its VAT, the item part absorbs the rounding cent."""
    if not money.inclusive:
        return dict(money.parts)
    net = {}
    vat_elsewhere = Decimal(0)
    for kind, gross in money.parts.items():
        if kind == "ITEM":
            continue
        vat = _round(money.tax_detail.get(kind, Decimal(0)))
        vat_elsewhere += vat
        net[kind] = gross - vat
    net["ITEM"] = money.parts.get("ITEM", Decimal(0)) - (money.tax - vat_elsewhere)
    return net


# ------------------------------------------------------------------------------------------ customers


def plan_customer(order: Mapping[str, Any], marketplace: Marketplace, *, auto_numbering: bool = False) -> CustomerPlan:
    """per_buyer with the buyer's (stable, anonymised) Amazon e-mail -> that buyer's customer;
    otherwise -> the marketplace's generic customer. Amazon returns ``buyerEmail`` only for MFN orders
    (UNSHIPPED/PARTIALLY_SHIPPED/SHIPPED) and only to apps with the right role: an order of a
    per_buyer marketplace without it falls back to the generic customer (``fallback``, counted)."""
    buyer = order.get("buyer") or {}
    email = str(buyer.get("buyerEmail") or "").strip()
    if marketplace.customer_mode != "per_buyer":
        return CustomerPlan(internal_id=marketplace.single_customer_id)
    if not email:
        return CustomerPlan(internal_id=marketplace.single_customer_id, fallback=True)
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
        auto_numbering=auto_numbering,
    )
    return CustomerPlan(external_id=external_id, email=email, record=record, address=address)


# ------------------------------------------------------------------------------------------ orders


def plan_order(order: Mapping[str, Any], mappings: Mappings, *, bounds: Bounds = DEFAULT_BOUNDS,
               auto_numbering: bool = False) -> OrderPlan:
    """Decide what one Amazon order becomes. Raises :class:`OrderTransformError` with a reason.

    Whatever an order holds (a quantity that is not a number, a date that does not parse, a country
    NetSuite does not know, a field beyond NetSuite's limits) ends as an ``OrderTransformError`` for that
    order alone, never as an exception that stops the batch. ``auto_numbering``: the NetSuite account
    numbers customers itself (no entityId is sent; ``NetSuiteHook.customer_auto_numbering``).
    """
    order_id = str(order.get("orderId") or "") if isinstance(order, Mapping) else ""
    try:
        return _plan_order(order, mappings, bounds, auto_numbering)
    except OrderTransformError:
        raise
    except UnknownCountryError as exc:
        raise OrderTransformError(order_id or "?", "unknown_country", str(exc)) from exc
    except FieldTooLongError as exc:
        raise OrderTransformError(order_id or "?", "field_too_long", str(exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        raise OrderTransformError(order_id or "?", "malformed_order",
                                  f"cannot be read ({type(exc).__name__}: {exc})"[:500]) from exc


def _plan_order(order: Mapping[str, Any], mappings: Mappings, bounds: Bounds, auto_numbering: bool) -> OrderPlan:
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
    if status != CANCELLED:
        fba = (order.get("fulfillment") or {}).get("fulfilledBy") == "AMAZON"
        base["afn_units" if fba else "units"] = merchant_units(order)
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
    return _plan_sales_order(order, mappings, marketplace, base, bounds, auto_numbering)


def _has_promotion_line(item: Mapping[str, Any], marketplace: Marketplace) -> bool:
    """Whether the item gets a discount line after it. Decided from data that survives a
    cancellation (the item's promotions), so line numbers stay the same when an item is cancelled:
    the hook upserts lines by number and a shifted layout would bill another item twice."""
    if not marketplace.promotion_item_id:
        return False
    promotions = (item.get("promotion") or {}).get("breakdowns") or []
    parts = {b.get("type") for b in ((item.get("proceeds") or {}).get("breakdowns") or [])}
    return bool(promotions) or "DISCOUNT" in parts


def _tax_lines(order: Mapping[str, Any]) -> tuple[bool, bool]:
    """(facilitator line, seller-tax adjustment line): decided from each item's ``tax`` collections,
    which survive a cancellation, so the lines after the items keep their numbers."""
    items = order.get("orderItems") or []
    facilitator = any(_is_facilitator(item) for item in items)
    seller = any(not _is_facilitator(item) for item in items)
    return facilitator, seller


def _line_count(order: Mapping[str, Any], marketplace: Marketplace) -> int:
    items = order.get("orderItems") or []
    facilitator, seller = _tax_lines(order)
    return (sum(1 + _has_promotion_line(item, marketplace) for item in items)
            + int(facilitator and bool(marketplace.facilitator_tax_item_id))
            + int(seller and bool(marketplace.tax_rounding_item_id or marketplace.seller_tax_item_id)))


@dataclass
class _Line:
    """A product or discount line before numbering; ``tax_rate``/``code`` chosen after all items are read."""

    item_id: str
    quantity: Decimal
    amount: Decimal
    description: str
    closed: bool
    item_index: int
    location_id: str | None = None
    code: TaxCode | None = None


def _choose_code(codes: list[TaxCode], pieces: list[Decimal], tax: Decimal) -> TaxCode | None:
    """The tax code whose rate reproduces ``tax`` on these net amounts (each rounded as NetSuite does),
    within a cent per piece; the closest one when several do."""
    best: tuple[Decimal, TaxCode] | None = None
    for code in codes:
        if code.rate <= 0:
            continue
        computed = sum((netsuite_tax(piece, code.rate) for piece in pieces), Decimal(0))
        error = abs(computed - tax)
        if error <= CENT * max(1, len(pieces)) and (best is None or error < best[0]):
            best = (error, code)
    return best[1] if best else None


def _plan_sales_order(order, mappings: Mappings, marketplace: Marketplace, base: dict, bounds: Bounds,  # noqa: C901
                      auto_numbering: bool) -> OrderPlan:
    order_id = base["order_id"]
    currency = marketplace.currency
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
    zero_code = mappings.tax_code(marketplace.tax_code_id) if marketplace.tax_code_id else None
    if zero_code is None:
        raise OrderTransformError(
            order_id, "missing_mapping",
            f"marketplaces.csv has no tax_code_id (the zero-rate code) for {marketplace.marketplace_name}",
        )
    seller_codes = mappings.tax_codes_for(marketplace.subsidiary_id)

    items = order.get("orderItems") or []
    if not items:
        raise OrderTransformError(order_id, "malformed_order", "the order has no items")
    lines: list[_Line] = []
    facilitator_tax = seller_tax = Decimal(0)
    # shipping and handling per item: NetSuite has one shipping and one handling amount (and tax code) per order
    shipping_by_item: dict[int, Decimal] = {}
    handling_by_item: dict[int, Decimal] = {}
    item_codes: dict[int, TaxCode | None] = {}
    item_is_facilitator: dict[int, bool] = {}
    tax_as_line = False
    for index, item in enumerate(items):
        product = item.get("product") or {}
        sku = product.get("sellerSku") or ""
        try:
            mapping = mappings.sku(sku, marketplace.marketplace_id)
        except MappingLookupError as exc:
            raise OrderTransformError(order_id, exc.reason, str(exc)) from None
        quantity = _quantity(order_id, item, bounds)
        cancelled_line = bool(item.get("cancellation")) and not item.get("proceeds")
        money = _item_money(order_id, item, currency)
        net = _net_parts(money)
        facilitator = _is_facilitator(item)
        item_is_facilitator[index] = facilitator
        units = Decimal(quantity * mapping.units_per_sku)
        amount = net.get("ITEM", Decimal(0))
        discount = net.get("DISCOUNT", Decimal(0))
        # A free-shipping promotion reduces shipping, not the item's revenue (Amazon details the
        # DISCOUNT by subtype); the VAT-net share follows the gross split, the rounding cent on the item.
        shipping_discount = Decimal(0)
        gross_discount = money.parts.get("DISCOUNT", Decimal(0))
        gross_shipping_discount = money.discount_detail.get("SHIPPING", Decimal(0))
        if discount and gross_discount and gross_shipping_discount:
            shipping_discount = _round(discount * gross_shipping_discount / gross_discount)
            discount -= shipping_discount
        promotions = [p.get("promotionId") for p in ((item.get("promotion") or {}).get("breakdowns") or [])
                      if p.get("promotionId")]
        description = f"{sku} x{quantity}" + (f" ({mapping.units_per_sku}-pack)" if mapping.units_per_sku > 1 else "")
        if discount and not marketplace.promotion_item_id:
            amount += discount
            description += f"; promotion {', '.join(promotions) or 'discount'} {discount}"
        item_lines = [_Line(mapping.netsuite_item_id, units, amount, description, cancelled_line, index, location_id)]
        if _has_promotion_line(item, marketplace):
            item_lines.append(_Line(marketplace.promotion_item_id, Decimal(1), discount,
                                    f"Promotion {', '.join(promotions) or ''} on {sku}".strip(), cancelled_line, index))
        lines.extend(item_lines)
        if cancelled_line:
            continue
        shipping = net.get("SHIPPING", Decimal(0)) + shipping_discount
        handling = sum((net.get(k, Decimal(0)) for k in _HANDLING_PARTS), Decimal(0))
        shipping_by_item[index], handling_by_item[index] = shipping, handling
        if facilitator:
            facilitator_tax += money.tax
            item_codes[index] = None  # the facilitator code, rate 0
            continue
        seller_tax += money.tax
        pieces = [line.amount for line in item_lines] + [p for p in (shipping, handling) if p]
        if money.tax:
            code = _choose_code(seller_codes, pieces, money.tax)
            if code is None:
                tax_as_line = True
            item_codes[index] = code
        elif not money.has_tax_breakdown and marketplace.prices_include_tax and sum(pieces, Decimal(0)):
            treatment = marketplace.missing_tax_treatment
            if treatment == "zero_rated":
                item_codes[index] = zero_code
            else:
                raise OrderTransformError(
                    order_id, "missing_tax",
                    f"item {item.get('orderItemId')} of a VAT marketplace ({marketplace.marketplace_name}) has no TAX "
                    "breakdown: booking it with a tax code would disagree with its amounts. Make sure the orders are "
                    "read with includedData TAX, or set missing_tax_treatment=zero_rated in marketplaces.csv if these "
                    "sales carry no VAT, then replay",
                )
        else:
            item_codes[index] = zero_code

    if any(item_is_facilitator.values()) and facilitator_tax and not marketplace.facilitator_tax_item_id:
        raise OrderTransformError(
            order_id, "missing_mapping",
            f"the order carries marketplace-facilitator tax but marketplaces.csv has no facilitator_tax_item_id for "
            f"{marketplace.marketplace_name} (an other-charge item booking to the facilitator-tax account)",
        )
    facilitator_code = mappings.tax_code(marketplace.facilitator_tax_code_id) if marketplace.facilitator_tax_code_id else None
    if any(item_is_facilitator.values()) and facilitator_code is None:
        raise OrderTransformError(
            order_id, "missing_mapping",
            f"the order carries marketplace-facilitator tax but marketplaces.csv has no facilitator_tax_code_id for "
            f"{marketplace.marketplace_name}",
        )

    def code_of(index: int) -> TaxCode:
        if item_is_facilitator[index]:
            return facilitator_code
        if tax_as_line:
            return zero_code
        return item_codes.get(index) or zero_code

    def header_code(amounts: dict[int, Decimal]) -> TaxCode | None | bool:
        """One code for the order's shipping (or handling): the items that carry it must agree on the
        rate; False when they don't (NetSuite has one shipping and one handling tax code per order)."""
        codes = {code_of(i).tax_code_id: code_of(i) for i, value in amounts.items() if value}
        if not codes:
            return None
        if len({c.rate for c in codes.values()}) > 1:
            return False
        return next(iter(codes.values()))

    shipping_total = sum(shipping_by_item.values(), Decimal(0))
    handling_total = sum(handling_by_item.values(), Decimal(0))
    ship_code, hand_code = header_code(shipping_by_item), header_code(handling_by_item)
    if ship_code is False or hand_code is False:
        # items at different rates share the shipping: book the seller's tax as a line instead (every
        # seller line then has the zero code, and the facilitator one is zero-rated too)
        tax_as_line = True
        ship_code, hand_code = header_code(shipping_by_item), header_code(handling_by_item)

    proceeds = order.get("proceeds") or {}
    for breakdown in proceeds.get("breakdowns") or []:
        if breakdown.get("type") in _ORDER_LEVEL_HANDLING:
            tip = _amount(order_id, breakdown.get("subtotal"), currency, breakdown["type"])
            if tip < 0:
                raise OrderTransformError(order_id, "implausible_value", f"{breakdown['type']} is negative ({tip})")
            handling_total += tip
            if hand_code is not None and hand_code.rate:
                # a tip is not taxed: the handling code would tax it
                tax_as_line = True
    if tax_as_line:
        ship_code = ship_code if ship_code is None or ship_code.facilitator else zero_code
        hand_code = hand_code if hand_code is None or hand_code.facilitator else zero_code
    if handling_total and hand_code is None:
        hand_code = zero_code
    grand_total = _amount(order_id, proceeds.get("grandTotal"), currency, "proceeds.grandTotal")
    if grand_total < 0 or grand_total > bounds.max_order_total:
        raise OrderTransformError(
            order_id, "implausible_value",
            f"grandTotal {grand_total} {currency} is outside 0..{bounds.max_order_total} ([amazon_netsuite] "
            "max_order_total); check the order in Seller Central",
        )

    # What NetSuite will compute, line by line, from the codes.
    computed_tax = Decimal(0)
    for line in lines:
        line.code = code_of(line.item_index)
        if not line.closed:
            computed_tax += netsuite_tax(line.amount, line.code.rate)
    if ship_code is not None:
        computed_tax += netsuite_tax(shipping_total, ship_code.rate)
    if hand_code is not None:
        computed_tax += netsuite_tax(handling_total, hand_code.rate)

    facilitator_line, seller_line = _tax_lines(order)
    extra: list[SalesOrderLine] = []
    if facilitator_line and marketplace.facilitator_tax_item_id:
        extra.append(SalesOrderLine(
            item_id=marketplace.facilitator_tax_item_id, quantity=Decimal(1), rate=facilitator_tax,
            amount=facilitator_tax, description="Sales tax collected and remitted by Amazon (marketplace facilitator)",
            tax_code_id=facilitator_code.tax_code_id,
        ))
    adjustment = seller_tax if tax_as_line else seller_tax - computed_tax
    wanted, what = ((marketplace.seller_tax_item_id, "seller_tax_item_id") if tax_as_line
                    else (marketplace.tax_rounding_item_id, "tax_rounding_item_id"))
    if adjustment and wanted is None:
        raise OrderTransformError(
            order_id, "missing_mapping",
            f"marketplaces.csv has no {what} for {marketplace.marketplace_name}: "
            + ("Amazon's seller-collected tax matches no code of tax_codes.csv and is booked on an other-charge line "
               "(add a tax code with the rate, or the item)" if tax_as_line else
               f"NetSuite's per-line tax rounding differs from Amazon's tax by {adjustment} {currency} and is "
               "booked on a rounding line (add the item)"),
        )
    # present whenever the order has seller-taxed items and an item is configured (amount may be 0), so
    # the line numbers after the items never shift
    if seller_line and (marketplace.tax_rounding_item_id or marketplace.seller_tax_item_id):
        extra.append(SalesOrderLine(
            item_id=wanted or marketplace.tax_rounding_item_id or marketplace.seller_tax_item_id,
            quantity=Decimal(1), rate=adjustment, amount=adjustment,
            description=("Tax collected by the seller, as Amazon calculated it" if tax_as_line
                         else "Tax rounding: Amazon's tax less NetSuite's per-line tax"),
            tax_code_id=zero_code.tax_code_id,
        ))

    sales_lines: list[SalesOrderLine] = []
    for line in lines:
        rate = (line.amount / line.quantity).quantize(RATE, ROUND_HALF_UP) if line.quantity else Decimal(0)
        sales_lines.append(SalesOrderLine(
            item_id=line.item_id, quantity=line.quantity, rate=rate, line=len(sales_lines) + 1, amount=line.amount,
            description=line.description, tax_code_id=line.code.tax_code_id, location_id=line.location_id,
            is_closed=True if line.closed else None,
        ))
    for line in extra:
        sales_lines.append(replace(line, line=len(sales_lines) + 1))

    open_lines = [line for line in sales_lines if not line.is_closed]
    computed = sum((line.amount for line in open_lines), Decimal(0)) + computed_tax + shipping_total + handling_total
    if computed != grand_total:
        raise OrderTransformError(
            order_id, "unreconciled_total",
            f"the sales order would total {computed} {currency} but Amazon's grandTotal is {grand_total} {currency}",
        )

    customer = plan_customer(order, marketplace, auto_numbering=auto_numbering)
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
        lines=sales_lines,
        location_id=location_id,
        department_id=marketplace.department_id,
        class_id=marketplace.class_id,
        shipping_cost=shipping_total if shipping_total else None,
        shipping_tax_code_id=ship_code.tax_code_id if shipping_total and ship_code is not None else None,
        handling_cost=handling_total if handling_total else None,
        handling_tax_code_id=hand_code.tax_code_id if handling_total and hand_code is not None else None,
        ship_address=_address((order.get("recipient") or {}).get("deliveryAddress")),
        other_ref_num=buyer.get("buyerPurchaseOrderNumber"),
        memo=f"Amazon order {order_id} ({marketplace.marketplace_name}{', FBA' if fba else ''})",
        custom_field_values=custom_fields,
    )
    digest = content_hash({"record": record, "customer": customer.record, "custom": custom_fields})
    return OrderPlan(
        **base,
        action="upsert",
        customer=customer,
        record=record,
        custom_fields=custom_fields,
        expected_total=grand_total,
        netsuite_tax=computed_tax,
        tax_booked_as_line=tax_as_line,
        line_count=len(sales_lines),
        content_hash=digest,
    )
