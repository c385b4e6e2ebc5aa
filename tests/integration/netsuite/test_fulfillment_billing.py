"""Item fulfillments and billing documents from a sales order in the NetSuite emulator, through the hook:
``initializeList``, NetSuite's quantity rules, stock moves at the fulfillment location, and the GL impact of
a cash sale / invoice on the Amazon clearing account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.records import (
    BillingLine,
    FulfillmentLine,
    build_billing_document,
    build_item_fulfillment,
)


def _order(admin, external_id="AMZ-SO-IF-1", *, subsidiary="2", customer="100", location="2", tax_code="11", quantity=3):
    order = {"externalId": external_id, "entity": {"internalId": customer}, "subsidiary": {"internalId": subsidiary},
             "tranDate": "2026-11-20T12:00:00+00:00", "location": {"internalId": location}, "shippingCost": 4.99,
             "itemList": [{"item": {"internalId": "501"}, "quantity": quantity, "rate": 10.0, "amount": 30.0,
                           "taxCode": {"internalId": tax_code}}]}
    answer = admin.post("/_sandbox/records/salesOrder", json=[order])
    answer.raise_for_status()
    return answer.json()[0]


def _stock(admin, location="2"):
    rows = admin.get("/_sandbox/stock", params={"item": "501", "location": location}).json()
    return Decimal(rows[0]["onHand"]), Decimal(rows[0]["committed"])


def test_given_an_order_when_initializing_then_the_lines_left_to_fulfill_and_nothing_to_bill(admin, hook):
    order = _order(admin)
    result = hook.initialize_records("itemFulfillment", "salesOrder", [order["internalId"]])
    fulfillment = result[order["internalId"]]
    assert [(line["orderLine"], Decimal(str(line["quantity"])), line["location"]["internalId"])
            for line in fulfillment["itemList"]] == [(1, Decimal(3), "2")]
    billed = hook.initialize_records("cashSale", "salesOrder", [order["internalId"], "999999"])
    assert billed[order["internalId"]].error_code == "INVALID_INITIALIZE_REF"  # nothing fulfilled yet
    assert billed["999999"].error_code == "INVALID_INITIALIZE_REF"
    assert admin.get("/_sandbox/calls").json()["operations"]["initializeList"]["calls"] == 2


def test_given_split_shipments_then_stock_moves_quantities_cap_and_the_order_status_follows(admin, hook):
    order = _order(admin)
    on_hand, committed = _stock(admin)
    first = build_item_fulfillment(external_id="AMZ-IF-S1", sales_order_id=order["internalId"],
                                   lines=[FulfillmentLine(1, Decimal(2), "2")], ship_date=order["tranDate"],
                                   tracking_numbers=["1Z999"], carrier="UPS")
    assert hook.add_records("itemFulfillment", [first])[0].ok
    assert _stock(admin) == (on_hand - 2, committed - 2)
    stored = admin.get("/_sandbox/records/salesOrder").json()[-1]
    assert (stored["itemList"][0]["quantityFulfilled"], stored["status"]) == (2.0, "Pending Billing/Partially Fulfilled")
    too_many = build_item_fulfillment(external_id="AMZ-IF-S2", sales_order_id=order["internalId"],
                                      lines=[FulfillmentLine(1, Decimal(2), "2")], ship_date=order["tranDate"])
    result = hook.add_records("itemFulfillment", [too_many])[0]
    assert not result.ok and "remaining quantity" in result.error_message
    assert _stock(admin) == (on_hand - 2, committed - 2)  # the refused fulfillment moved nothing
    again = hook.add_records("itemFulfillment", [first])[0]
    assert again.error_code == "DUP_RCRD"  # externalIds are unique: the same shipment is never fulfilled twice
    assert _stock(admin) == (on_hand - 2, committed - 2)
    billed = hook.initialize_records("cashSale", "salesOrder", [order["internalId"]])[order["internalId"]]
    assert [Decimal(str(line["quantity"])) for line in billed["itemList"]] == [Decimal(2)]
    assert Decimal(str(billed["shippingCost"])) == Decimal("4.99")


@pytest.mark.parametrize(("record_type", "account"), [("cashSale", "1210"), ("invoice", "1212")])
def test_given_a_billing_document_into_clearing_then_the_gl_debits_clearing_with_its_total(admin, hook, record_type, account):
    subsidiary, customer, location, tax_code = ("2", "100", "2", "11") if account == "1210" else ("4", "101", "8", "31")
    order = _order(admin, subsidiary=subsidiary, customer=customer, location=location, tax_code=tax_code)
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-GL1", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(3), location)], ship_date=order["tranDate"])
    assert hook.add_records("itemFulfillment", [fulfillment])[0].ok
    document = build_billing_document(
        record_type=record_type, external_id="AMZ-X-GL1", sales_order_id=order["internalId"], account_id=account,
        tran_date=order["tranDate"], lines=[BillingLine("501", Decimal(3), Decimal("30.00"), order_line=1, tax_code_id=tax_code)],
        shipping_cost=Decimal("4.99"), shipping_tax_code_id=tax_code,
    )
    assert hook.add_records(record_type, [document])[0].ok
    stored = admin.get(f"/_sandbox/records/{record_type}").json()[-1]
    total = Decimal(str(stored["total"]))
    expected = Decimal("34.99") if account == "1210" else Decimal("34.99") + Decimal("6.00") + Decimal("1.00")
    assert total == expected
    gl = admin.get("/_sandbox/gl", params={"account": account, "subsidiary": subsidiary}).json()
    assert Decimal(gl["balance"]) == total
    order_after = admin.get("/_sandbox/records/salesOrder").json()[-1]
    assert order_after["status"] == "Billed"
    again = hook.add_records(record_type, [document])[0]
    assert again.error_code == "DUP_RCRD" and Decimal(admin.get("/_sandbox/gl", params={"account": account}).json()["balance"]) == total


def test_given_billing_beyond_what_shipped_or_a_wrong_account_then_refused(admin, hook):
    order = _order(admin)
    unshipped = build_billing_document(
        record_type="cashSale", external_id="AMZ-CS-NOSHIP", sales_order_id=order["internalId"], account_id="1210",
        tran_date=order["tranDate"], lines=[BillingLine("501", Decimal(1), Decimal("10.00"), order_line=1, tax_code_id="11")],
    )
    result = hook.add_records("cashSale", [unshipped])[0]
    assert not result.ok and "fulfilled and not billed" in result.error_message
    wrong = build_billing_document(
        record_type="invoice", external_id="AMZ-INV-WRONG", sales_order_id=order["internalId"], account_id="1210",
        tran_date=order["tranDate"], lines=[BillingLine("611", Decimal(1), Decimal("0.01"), tax_code_id="11")],
    )
    result = hook.add_records("invoice", [wrong])[0]
    assert (result.ok, result.error_code) == (False, "INVALID_KEY_OR_REF")
    assert admin.get("/_sandbox/records/invoice").json() == []


def test_given_a_closed_order_then_it_can_be_neither_fulfilled_nor_billed(admin, hook):
    order = _order(admin)
    closing = {"externalId": order["externalId"], "entity": {"internalId": "100"},
               "itemList": [{"line": 1, "item": {"internalId": "501"}, "quantity": 3, "isClosed": True}]}
    assert hook.upsert_records("salesOrder", [closing])[0].ok
    assert hook.get_record("salesOrder", internal_id=order["internalId"])["status"] == "Closed"
    result = hook.initialize_records("itemFulfillment", "salesOrder", [order["internalId"]])[order["internalId"]]
    assert result.error_code == "INVALID_INITIALIZE_REF"
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-CLOSED", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=order["tranDate"])
    assert hook.add_records("itemFulfillment", [fulfillment])[0].error_code == "INVALID_INITIALIZE_REF"
