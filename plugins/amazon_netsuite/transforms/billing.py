"""A shipment's billing document (cash sale or invoice) from its sales order. Pure: no I/O.

docs/accounting.md, "Billing shipments": revenue is booked once, on the billing document of each
shipment, into the marketplace's Amazon clearing account. The sales order's total is Amazon's
``proceeds.grandTotal``; its shipments' billing documents add up to it exactly, to the cent:

- **Item lines** (inventory items, what ships): a shipment bills the units it shipped of each line.
  The amount is allocated **cumulatively**: after a shipment, a line has billed
  ``round(line amount x units billed so far / line units)``; the shipment bills the difference with what
  was billed before. So a line's shipments always add up to the line's amount and the last one takes
  the remainder cent, whatever order the shipments come in. Units billed so far are the sales order's
  ``quantityBilled`` (NetSuite keeps it) plus shipments billed earlier in the same run.
- **Everything else on the order** (shipping, handling such as gift wrap, the marketplace-facilitator
  tax line, a promotion discount line, the tax-rounding line, and the tax NetSuite computed) follows the
  order's **progress by value**: ``P`` = item amount billed so far / the order's item amount. After a
  shipment each of these has billed ``round(amount x P)``; the shipment bills the difference. The last
  shipment (``P`` = 1) takes the remainder. Promotions taken off the item line (no
  ``promotion_item_id``) are already in the line amounts.
- **Tax**: NetSuite computes the document's tax itself from the tax codes (line by line, half up). The
  document should carry its share of the order's tax; where NetSuite's rounding of the shipment's lines
  differs by a cent, a line on ``tax_rounding_item_id`` (zero-rated) carries the difference, so the
  document's total is its share of the grand total exactly. Without that item such an order is refused
  (``unreconciled_total``), never billed with a wrong total.
- Other-charge lines (facilitator tax, discount, rounding) reference their order line only on the last
  shipment's document, so the sales order ends fully billed.

Only per-line tax subsidiaries are handled (all of the shipped marketplaces); a sales order with a
header ``taxItem`` (US legacy tax) is refused with ``unsupported_tax_mode``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from amazon_netsuite.netsuite.records import (
    BILLING_RECORD_TYPES,
    BillingLine,
    build_billing_document,
    shipment_billing_external_id,
)

CENT = Decimal("0.01")


class AccountingModelError(ValueError):
    """A document that cannot be booked as the accounting model (docs/accounting.md) says: ``key`` names
    it, ``reason`` is the ledger's reason, ``message`` says what is wrong."""

    def __init__(self, key: str, reason: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.reason = reason
        self.message = message


class BillingError(AccountingModelError):
    """A shipment that cannot be billed as the accounting model says: ``reason`` is the ledger's reason."""


@dataclass(frozen=True)
class BillingSettings:
    """The marketplace's billing settings (marketplaces.csv)."""

    billing_document: str  # cash_sale | invoice
    clearing_account_id: str
    tax_rounding_item_id: str | None = None
    #: the marketplace's zero-rate code (``tax_code_id``), for the tax-rounding line
    zero_tax_code_id: str | None = None

    @classmethod
    def of(cls, marketplace: Any) -> BillingSettings:
        return cls(
            billing_document=marketplace.billing_document,
            clearing_account_id=str(marketplace.amazon_clearing_account_id),
            tax_rounding_item_id=str(marketplace.tax_rounding_item_id) if marketplace.tax_rounding_item_id else None,
            zero_tax_code_id=str(marketplace.tax_code_id) if marketplace.tax_code_id else None,
        )


@dataclass
class BillingPlan:
    shipment_id: str
    record_type: str
    external_id: str
    record: dict[str, Any]
    total: Decimal
    final: bool
    #: order line -> units this document bills (fold into the sales order before billing its next shipment)
    billed_units: dict[int, Decimal] = field(default_factory=dict)


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _tax(amount: Decimal, rate_percent: Decimal) -> Decimal:
    """NetSuite's per-line tax: amount x rate, half up to the cent."""
    return _round(amount * rate_percent / 100)


def _is_item_line(line: Mapping[str, Any], inventory_items: set[str]) -> bool:
    return str((line.get("item") or {}).get("internalId")) in inventory_items


def plan_billing(
    order: Mapping[str, Any],
    shipped: Mapping[int, Decimal],
    *,
    shipment_id: str,
    settings: BillingSettings,
    inventory_items: set[str],
    tran_date: date | datetime,
    memo: str | None = None,
    custom_field_values: Mapping[str, Any] | None = None,
) -> BillingPlan:
    """The billing document of one shipment.

    ``order`` is the sales order as NetSuite holds it (``itemList`` with ``line``, ``item``, ``quantity``,
    ``amount``, ``taxCode``, ``taxRate1``, ``quantityBilled``, ``isClosed``; ``shippingCost``,
    ``shippingTax1Rate``, ``handlingCost``, ``handlingTax1Rate``, ``taxTotal``, ``total``), with the
    shipments billed earlier in this run folded in (:func:`fold_billed`). ``shipped`` maps order line ->
    units this shipment fulfilled. ``inventory_items`` are the item ids that ship (the rest of the lines
    are charges allocated by value).
    """
    key = f"shipment {shipment_id}"
    if order.get("taxItem"):
        raise BillingError(key, "unsupported_tax_mode", "the sales order uses header (US legacy) tax; only per-line tax is billed")
    record_type = BILLING_RECORD_TYPES.get(settings.billing_document)
    if record_type is None:
        raise BillingError(key, "missing_mapping", f"billing_document {settings.billing_document!r} is not cash_sale or invoice")
    lines = [line for line in order.get("itemList") or [] if not line.get("isClosed")]
    item_lines = [line for line in lines if _is_item_line(line, inventory_items)]
    charge_lines = [line for line in lines if not _is_item_line(line, inventory_items)]
    by_line = {int(line["line"]): line for line in item_lines}
    unknown = sorted(set(shipped) - set(by_line))
    if unknown:
        raise BillingError(key, "unknown_order_line", f"order lines {unknown} are not open item lines of the sales order")

    value_total = sum((dec(line.get("amount")) for line in item_lines), Decimal(0))
    units_total = sum((dec(line.get("quantity")) for line in item_lines), Decimal(0))
    billed_before = billed_after = Decimal(0)
    units_before = units_after = Decimal(0)
    doc_lines: list[BillingLine] = []
    predicted_tax = Decimal(0)
    billed_units: dict[int, Decimal] = {}
    for line in item_lines:
        number = int(line["line"])
        quantity, amount = dec(line.get("quantity")), dec(line.get("amount"))
        before_units = dec(line.get("quantityBilled"))
        now_units = dec(shipped.get(number, 0))
        if before_units + now_units > quantity:
            raise BillingError(
                key, "over_billed",
                f"line {number} would bill {before_units + now_units} of {quantity} units (already billed {before_units})",
            )
        before = _round(amount * before_units / quantity) if quantity else Decimal(0)
        after = _round(amount * (before_units + now_units) / quantity) if quantity else Decimal(0)
        billed_before, billed_after = billed_before + before, billed_after + after
        units_before, units_after = units_before + before_units, units_after + before_units + now_units
        if now_units:
            this = after - before
            rate = dec(line.get("taxRate1"))
            predicted_tax += _tax(this, rate)
            billed_units[number] = now_units
            doc_lines.append(BillingLine(
                item_id=line["item"]["internalId"], quantity=now_units, amount=this, order_line=number,
                tax_code_id=(line.get("taxCode") or {}).get("internalId"),
                location_id=(line.get("location") or {}).get("internalId"), description=line.get("description"),
            ))
    if not doc_lines:
        raise BillingError(key, "nothing_shipped", "the shipment ships no units of the sales order")
    if value_total:
        p_before, p_after = billed_before / value_total, billed_after / value_total
    else:  # free items only: progress by units
        p_before, p_after = units_before / units_total, units_after / units_total
    final = p_after == 1

    def share(amount: Decimal) -> Decimal:
        if final:
            return amount - _round(amount * p_before)
        return _round(amount * p_after) - _round(amount * p_before)

    for line in charge_lines:
        amount = dec(line.get("amount"))
        billed_flag = dec(line.get("quantityBilled")) > 0
        if billed_flag:
            continue  # billed already (a document of an earlier shipment that completed the order)
        this = share(amount)
        if not this and not final:
            continue
        rate = dec(line.get("taxRate1"))
        predicted_tax += _tax(this, rate)
        doc_lines.append(BillingLine(
            item_id=line["item"]["internalId"], quantity=dec(line.get("quantity")) if final else Decimal(1), amount=this,
            order_line=int(line["line"]) if final else None,
            tax_code_id=(line.get("taxCode") or {}).get("internalId"), description=line.get("description"),
        ))
    shipping = share(dec(order.get("shippingCost")))
    handling = share(dec(order.get("handlingCost")))
    predicted_tax += _tax(shipping, dec(order.get("shippingTax1Rate"))) + _tax(handling, dec(order.get("handlingTax1Rate")))
    wanted_tax = share(dec(order.get("taxTotal")))
    difference = wanted_tax - predicted_tax
    if difference:
        if not settings.tax_rounding_item_id:
            raise BillingError(
                key, "unreconciled_total",
                f"NetSuite's tax on the shipment's lines differs from its share of the order's tax by {difference}; "
                "add tax_rounding_item_id to marketplaces.csv",
            )
        doc_lines.append(BillingLine(
            item_id=settings.tax_rounding_item_id, quantity=Decimal(1), amount=difference,
            tax_code_id=settings.zero_tax_code_id,
            description="Tax rounding: this shipment's share of the order's tax less NetSuite's per-line tax",
        ))
    lines_total = sum((bl.amount for bl in doc_lines), Decimal(0))
    total = lines_total + shipping + handling + predicted_tax  # the rounding line is among the lines
    external_id = shipment_billing_external_id(settings.billing_document, shipment_id)
    record = build_billing_document(
        record_type=record_type, external_id=external_id, sales_order_id=order["internalId"],
        account_id=settings.clearing_account_id, tran_date=tran_date, lines=doc_lines,
        shipping_cost=shipping or None, shipping_tax_code_id=(order.get("shippingTaxCode") or {}).get("internalId"),
        handling_cost=handling or None, handling_tax_code_id=(order.get("handlingTaxCode") or {}).get("internalId"),
        memo=memo, custom_field_values=custom_field_values,
    )
    return BillingPlan(shipment_id=shipment_id, record_type=record_type, external_id=external_id, record=record,
                       total=total, final=final, billed_units=billed_units)


def fold_billed(order: Mapping[str, Any], plan: BillingPlan) -> dict[str, Any]:
    """The sales order as NetSuite will hold it once ``plan`` is written (its lines' ``quantityBilled``
    grow; other-charge lines count as billed after the final document): bill the next shipment of the
    same order in the same run from this."""
    out = dict(order)
    lines = []
    for line in order.get("itemList") or []:
        line = dict(line)
        number = int(line["line"])
        if number in plan.billed_units:
            line["quantityBilled"] = float(dec(line.get("quantityBilled")) + plan.billed_units[number])
        elif plan.final and not line.get("isClosed") and not dec(line.get("quantityBilled")):
            line["quantityBilled"] = float(dec(line.get("quantity")))
        lines.append(line)
    out["itemList"] = lines
    return out


def order_total_billed(plans: Sequence[BillingPlan]) -> Decimal:
    """What documents of one order add up to (equals the order's total once the final one is among them)."""
    return sum((plan.total for plan in plans), Decimal(0))
