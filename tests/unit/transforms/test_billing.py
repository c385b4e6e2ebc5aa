"""Billing transform: each shipment's document is its share of the order's grand total, to the cent,
the last shipment taking the remainder; NetSuite's own tax computation is predicted and reconciled."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest

from amazon_netsuite.transforms.billing import BillingError, BillingSettings, fold_billed, plan_billing

CASH = BillingSettings("cash_sale", "1210", tax_rounding_item_id="611", zero_tax_code_id="11")
RATES = {"11": Decimal(0), "15": Decimal(0), "51": Decimal("6.25"), "31": Decimal(20)}
INVENTORY = {"501", "502"}


def _tax(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _order(lines, *, shipping="0", ship_code="11", handling="0"):
    """A sales order as NetSuite holds it: tax per line from the codes, totals computed."""
    item_list = []
    tax = Decimal(0)
    for number, (item, quantity, amount, code) in enumerate(lines, start=1):
        line_tax = _tax(Decimal(amount), RATES[code])
        tax += line_tax
        item_list.append({"line": number, "item": {"internalId": item}, "quantity": float(quantity), "amount": float(amount),
                          "taxCode": {"internalId": code}, "taxRate1": float(RATES[code]), "tax1Amt": float(line_tax),
                          "quantityBilled": 0.0, "quantityFulfilled": 0.0, "location": {"internalId": "2"}})
    tax += _tax(Decimal(shipping), RATES[ship_code])
    total = sum(Decimal(a) for _i, _q, a, _c in lines) + Decimal(shipping) + Decimal(handling) + tax
    order = {"internalId": "77", "itemList": item_list, "taxTotal": float(tax), "total": float(total)}
    if Decimal(shipping):
        order.update(shippingCost=float(shipping), shippingTaxCode={"internalId": ship_code}, shippingTax1Rate=float(RATES[ship_code]))
    if Decimal(handling):
        order.update(handlingCost=float(handling), handlingTaxCode={"internalId": "11"}, handlingTax1Rate=0.0)
    return order


def _netsuite_total(record) -> Decimal:
    """What NetSuite computes for the document (lines + per-line tax + shipping/handling and their tax)."""
    total = Decimal(0)
    for line in record["itemList"]:
        amount = Decimal(line["amount"])
        total += amount + _tax(amount, RATES[(line.get("taxCode") or {"internalId": "11"})["internalId"]])
    for cost, code in (("shippingCost", "shippingTaxCode"), ("handlingCost", "handlingTaxCode")):
        if record.get(cost):
            total += Decimal(record[cost]) + _tax(Decimal(record[cost]), RATES[record[code]["internalId"]])
    return total


def _bill_all(order, shipments, settings=CASH):
    plans = []
    for shipment_id, shipped in shipments:
        plan = plan_billing(order, shipped, shipment_id=shipment_id, settings=settings, inventory_items=INVENTORY,
                            tran_date="2026-11-20")
        assert _netsuite_total(plan.record) == plan.total  # NetSuite's total is the planned one
        plans.append(plan)
        order = fold_billed(order, plan)
    return plans, order


def test_given_one_shipment_then_one_cash_sale_into_clearing_for_the_whole_grand_total():
    # the worked example of docs/accounting.md: 2 mugs 22.00 net of the promotion, facilitator tax 1.89, shipping 4.99
    order = _order([("501", 2, "22.00", "15"), ("601", 1, "1.89", "15")], shipping="4.99", ship_code="15")
    (plan,), folded = _bill_all(order, [("S1", {1: Decimal(2)})])
    assert (plan.external_id, plan.record_type, plan.final) == ("AMZ-CS-S1", "cashSale", True)
    assert plan.record["account"] == {"internalId": "1210"} and plan.record["undepFunds"] is False
    assert plan.total == Decimal("28.88") == Decimal(str(order["total"]))
    assert [line.get("orderLine") for line in plan.record["itemList"]] == [1, 2]
    assert all(line["quantityBilled"] == line["quantity"] for line in folded["itemList"])


def test_given_three_shipments_of_a_third_then_cents_add_up_and_the_last_takes_the_remainder():
    order = _order([("501", 3, "10.00", "15"), ("601", 1, "0.70", "15")], shipping="4.99", ship_code="15")
    plans, _ = _bill_all(order, [(f"S{n}", {1: Decimal(1)}) for n in range(1, 4)])
    assert [plan.total for plan in plans] == [Decimal("5.22"), Decimal("5.25"), Decimal("5.22")]
    assert sum(plan.total for plan in plans) == Decimal("15.69") == Decimal(str(order["total"]))
    assert [plan.final for plan in plans] == [False, False, True]
    amounts = [[Decimal(line["amount"]) for line in plan.record["itemList"]] for plan in plans]
    assert amounts == [[Decimal("3.33"), Decimal("0.23")], [Decimal("3.34"), Decimal("0.24")], [Decimal("3.33"), Decimal("0.23")]]
    # the facilitator line names its order line only on the last document (the order ends fully billed)
    assert [[line.get("orderLine") for line in plan.record["itemList"]] for plan in plans] == [[1, None], [1, None], [1, 2]]


@pytest.mark.parametrize("order_of_shipments", list(itertools.permutations([("A", {1: 1}), ("B", {1: 2, 2: 1}), ("C", {2: 4})])))
def test_given_split_shipments_in_any_order_then_documents_sum_to_the_grand_total_with_seller_tax(order_of_shipments):
    order = _order([("501", 3, "19.99", "51"), ("502", 5, "7.77", "51")], shipping="5.55", ship_code="51", handling="1.00")
    shipments = [(sid, {k: Decimal(v) for k, v in shipped.items()}) for sid, shipped in order_of_shipments]
    plans, folded = _bill_all(order, shipments)
    assert sum(plan.total for plan in plans) == Decimal(str(order["total"]))
    assert [plan.final for plan in plans] == [False, False, True]
    assert all(line["quantityBilled"] == line["quantity"] for line in folded["itemList"])


def test_given_per_line_tax_rounding_then_a_rounding_line_keeps_the_share_exact():
    order = _order([("501", 2, "0.10", "51")])  # tax 0.01 on the order; 0.05 x 6.25% rounds to 0.00 per shipment
    plans, _ = _bill_all(order, [("S1", {1: Decimal(1)}), ("S2", {1: Decimal(1)})])
    assert [plan.total for plan in plans] == [Decimal("0.06"), Decimal("0.05")]
    assert [line["item"]["internalId"] for line in plans[0].record["itemList"]] == ["501", "611"]
    no_rounding = BillingSettings("cash_sale", "1210")
    with pytest.raises(BillingError) as refused:
        plan_billing(order, {1: Decimal(1)}, shipment_id="S1", settings=no_rounding, inventory_items=INVENTORY, tran_date="2026-11-20")
    assert refused.value.reason == "unreconciled_total"


def test_given_an_invoice_marketplace_then_an_invoice_on_the_clearing_account():
    settings = BillingSettings("invoice", "1212", tax_rounding_item_id="611", zero_tax_code_id="11")
    order = _order([("501", 1, "37.81", "31")], shipping="3.77", ship_code="31")
    (plan,), _ = _bill_all(order, [("SHIP-9", {1: Decimal(1)})], settings)
    assert (plan.external_id, plan.record_type, plan.record["account"]) == ("AMZ-INV-SHIP-9", "invoice", {"internalId": "1212"})
    assert "undepFunds" not in plan.record
    assert plan.total == Decimal(str(order["total"])) == Decimal("49.89")


def test_given_more_units_than_left_or_an_unknown_line_then_refused_with_a_reason():
    order = _order([("501", 2, "10.00", "11")])
    with pytest.raises(BillingError) as over:
        plan_billing(order, {1: Decimal(3)}, shipment_id="S1", settings=CASH, inventory_items=INVENTORY, tran_date="2026-11-20")
    assert over.value.reason == "over_billed"
    with pytest.raises(BillingError) as unknown:
        plan_billing(order, {9: Decimal(1)}, shipment_id="S1", settings=CASH, inventory_items=INVENTORY, tran_date="2026-11-20")
    assert unknown.value.reason == "unknown_order_line"
    header = dict(order, taxItem={"internalId": "51"})
    with pytest.raises(BillingError) as legacy:
        plan_billing(header, {1: Decimal(1)}, shipment_id="S1", settings=CASH, inventory_items=INVENTORY, tran_date="2026-11-20")
    assert legacy.value.reason == "unsupported_tax_mode"
