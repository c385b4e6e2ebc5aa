"""Documents created from a sales order on the REST backend: the hook's ``add_records`` of an item
fulfillment, cash sale or invoice with a ``createdFrom`` becomes ``POST /record/v1/salesOrder/{id}/
!transform/{type}?replace=item`` (REST has no initialize: the transform saves the record at once), after
one SuiteQL query that finds the externalIds already written. The emulator answers the transform on the
store SOAP uses, with the rules of SOAP initialize + add."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.records import (
    BillingLine,
    FulfillmentLine,
    build_billing_document,
    build_item_fulfillment,
)
from tests.integration.netsuite import test_rest_backend as _rest
from tests.integration.netsuite.test_fulfillment_billing import _order, _stock

rest_connection = _rest.rest_connection  # the REST backend's fixtures (netsuite_default with extra.api = "rest")
rest_hook = _rest.rest_hook


def _day(order) -> date:
    return date.fromisoformat(order["tranDate"][:10])  # the admin API answers SOAP-shaped JSON; REST takes dates


def _calls(admin, operation: str) -> int:
    return admin.get("/_sandbox/calls").json()["operations"].get(operation, {}).get("calls", 0)


def test_given_a_shipment_then_transformed_once_with_stock_moved_and_a_rerun_sends_nothing(admin, rest_hook):
    order = _order(admin)
    on_hand, committed = _stock(admin)
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-R1", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(2), "2")], ship_date=_day(order),
                                         tracking_numbers=["1Z999"], carrier="UPS")
    result = rest_hook.add_records("itemFulfillment", [fulfillment])[0]
    assert result.ok, result.error_message
    assert _calls(admin, "restTransform") == 1 and _calls(admin, "restAdd") == 0
    stored = admin.get("/_sandbox/records/itemFulfillment").json()
    assert [(r["externalId"], r["createdFrom"]["internalId"], r["internalId"]) for r in stored] == [
        ("AMZ-IF-R1", order["internalId"], result.internal_id)]
    assert [(line["orderLine"], Decimal(str(line["quantity"]))) for line in stored[0]["itemList"]] == [(1, Decimal(2))]
    assert stored[0]["packageList"][0]["packageTrackingNumber"] == "1Z999"
    assert _stock(admin) == (on_hand - 2, committed - 2)
    so = admin.get("/_sandbox/records/salesOrder").json()[-1]
    assert (so["itemList"][0]["quantityFulfilled"], so["status"]) == (2.0, "Pending Billing/Partially Fulfilled")

    again = rest_hook.add_records("itemFulfillment", [fulfillment])[0]
    assert again.error_code == "DUP_RCRD"  # found by SuiteQL first: no second transform is sent
    assert _calls(admin, "restTransform") == 1
    assert len(admin.get("/_sandbox/records/itemFulfillment").json()) == 1
    assert _stock(admin) == (on_hand - 2, committed - 2)


def test_given_more_than_is_left_to_fulfill_then_refused_and_nothing_moves(admin, rest_hook):
    order = _order(admin)
    first = build_item_fulfillment(external_id="AMZ-IF-R2", sales_order_id=order["internalId"],
                                   lines=[FulfillmentLine(1, Decimal(2), "2")], ship_date=_day(order))
    assert rest_hook.add_records("itemFulfillment", [first])[0].ok
    stock = _stock(admin)
    too_many = build_item_fulfillment(external_id="AMZ-IF-R3", sales_order_id=order["internalId"],
                                      lines=[FulfillmentLine(1, Decimal(2), "2")], ship_date=_day(order))
    result = rest_hook.add_records("itemFulfillment", [too_many])[0]
    assert not result.ok and "remaining quantity" in result.error_message
    assert _stock(admin) == stock
    assert [r["externalId"] for r in admin.get("/_sandbox/records/itemFulfillment").json()] == ["AMZ-IF-R2"]


@pytest.mark.parametrize(("record_type", "account"), [("cashSale", "1210"), ("invoice", "1212")])
def test_given_a_billing_document_then_transformed_into_clearing_once(admin, rest_hook, record_type, account):
    subsidiary, customer, location, tax_code = ("2", "100", "2", "11") if account == "1210" else ("4", "101", "8", "31")
    order = _order(admin, subsidiary=subsidiary, customer=customer, location=location, tax_code=tax_code)
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-RGL", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(3), location)], ship_date=_day(order))
    assert rest_hook.add_records("itemFulfillment", [fulfillment])[0].ok
    document = build_billing_document(
        record_type=record_type, external_id="AMZ-X-RGL", sales_order_id=order["internalId"], account_id=account,
        tran_date=_day(order), lines=[BillingLine("501", Decimal(3), Decimal("30.00"), order_line=1, tax_code_id=tax_code)],
        shipping_cost=Decimal("4.99"), shipping_tax_code_id=tax_code,
    )
    result = rest_hook.add_records(record_type, [document])[0]
    assert result.ok, result.error_message
    stored = admin.get(f"/_sandbox/records/{record_type}").json()
    assert len(stored) == 1 and stored[0]["createdFrom"]["internalId"] == order["internalId"]
    total = Decimal(str(stored[0]["total"]))
    expected = Decimal("34.99") if account == "1210" else Decimal("34.99") + Decimal("6.00") + Decimal("1.00")
    assert total == expected
    gl = admin.get("/_sandbox/gl", params={"account": account, "subsidiary": subsidiary}).json()
    assert Decimal(gl["balance"]) == total
    assert admin.get("/_sandbox/records/salesOrder").json()[-1]["status"] == "Billed"
    transforms = _calls(admin, "restTransform")

    again = rest_hook.add_records(record_type, [document])[0]
    assert again.error_code == "DUP_RCRD" and _calls(admin, "restTransform") == transforms
    assert Decimal(admin.get("/_sandbox/gl", params={"account": account, "subsidiary": subsidiary}).json()["balance"]) == total


def test_given_a_document_without_shipping_then_the_order_shipping_is_not_carried_over(admin, rest_hook):
    """A transform carries the order's shipping onto the first bill unless the body says otherwise: the
    backend sends 0, so the document holds exactly what the record says (as SOAP add does)."""
    order = _order(admin)
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-RNS", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=_day(order))
    assert rest_hook.add_records("itemFulfillment", [fulfillment])[0].ok
    document = build_billing_document(
        record_type="cashSale", external_id="AMZ-CS-RNS", sales_order_id=order["internalId"], account_id="1210",
        tran_date=_day(order), lines=[BillingLine("501", Decimal(1), Decimal("10.00"), order_line=1, tax_code_id="11")],
    )
    assert rest_hook.add_records("cashSale", [document])[0].ok
    stored = admin.get("/_sandbox/records/cashSale").json()[-1]
    assert Decimal(str(stored["total"])) == Decimal("10.00")


def test_given_nothing_shipped_or_a_closed_order_then_the_transform_is_refused(admin, rest_hook):
    order = _order(admin)
    unshipped = build_billing_document(
        record_type="cashSale", external_id="AMZ-CS-RNOSHIP", sales_order_id=order["internalId"], account_id="1210",
        tran_date=_day(order), lines=[BillingLine("501", Decimal(1), Decimal("10.00"), order_line=1, tax_code_id="11")],
    )
    result = rest_hook.add_records("cashSale", [unshipped])[0]
    assert (result.ok, result.error_code) == (False, "INVALID_INITIALIZE_REF")
    closing = {"externalId": order["externalId"], "entity": {"internalId": "100"},
               "itemList": [{"line": 1, "item": {"internalId": "501"}, "quantity": 3, "isClosed": True}]}
    assert rest_hook.upsert_records("salesOrder", [closing])[0].ok
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-RCLOSED", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=_day(order))
    assert rest_hook.add_records("itemFulfillment", [fulfillment])[0].error_code == "INVALID_INITIALIZE_REF"
    assert admin.get("/_sandbox/records/itemFulfillment").json() == []
    assert admin.get("/_sandbox/records/cashSale").json() == []


def test_given_a_throttled_or_lost_transform_answer_then_retried_and_written_once(admin, rest_hook):
    order = _order(admin)
    admin.post("/_sandbox/faults", json={"operation": "restTransform", "status": 429, "times": 2}).raise_for_status()
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-RFAULT", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=_day(order))
    assert rest_hook.add_records("itemFulfillment", [fulfillment])[0].ok
    assert _calls(admin, "restTransform") == 3
    admin.post("/_sandbox/faults", json={"operation": "restTransform", "status": 503, "times": 1,
                                         "after": True}).raise_for_status()
    second = build_item_fulfillment(external_id="AMZ-IF-RFAULT2", sales_order_id=order["internalId"],
                                    lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=_day(order))
    outcome = rest_hook.add_records("itemFulfillment", [second])[0]
    assert outcome.ok or outcome.error_code == "DUP_RCRD"  # the work was done; never a second fulfillment
    assert sorted(r["externalId"] for r in admin.get("/_sandbox/records/itemFulfillment").json()) == [
        "AMZ-IF-RFAULT", "AMZ-IF-RFAULT2"]


def test_given_an_order_when_initializing_on_rest_then_the_create_form_prefills_and_saves_nothing(admin, rest_hook):
    """SOAP initialize on REST: the transform's create-form answers the pre-filled record, unsaved."""
    order = _order(admin)
    result = rest_hook.initialize_records("itemFulfillment", "salesOrder", [order["internalId"]])
    fulfillment = result[order["internalId"]]
    assert [(line["orderLine"], Decimal(str(line["quantity"])), line["location"]["internalId"])
            for line in fulfillment["itemList"]] == [(1, Decimal(3), "2")]
    assert fulfillment["createdFrom"]["internalId"] == order["internalId"]
    billed = rest_hook.initialize_records("cashSale", "salesOrder", [order["internalId"], "999999"])
    assert billed[order["internalId"]].error_code == "INVALID_INITIALIZE_REF"  # nothing fulfilled yet
    assert billed["999999"].error_code == "INVALID_INITIALIZE_REF"
    by_external = rest_hook.initialize_records("itemFulfillment", "salesOrder", [order["externalId"], "AMZ-SO-NONE"],
                                               by="externalId")
    assert by_external[order["externalId"]]["itemList"][0]["orderLine"] == 1
    assert by_external["AMZ-SO-NONE"].error_code == "INVALID_INITIALIZE_REF"
    assert _calls(admin, "restCreateForm") == 4 and _calls(admin, "restTransform") == 0
    assert admin.get("/_sandbox/records/itemFulfillment").json() == []

    shipped = build_item_fulfillment(external_id="AMZ-IF-RFORM", sales_order_id=order["internalId"],
                                     lines=[FulfillmentLine(1, Decimal(2), "2")], ship_date=_day(order))
    assert rest_hook.add_records("itemFulfillment", [shipped])[0].ok
    bill = rest_hook.initialize_records("cashSale", "salesOrder", [order["internalId"]])[order["internalId"]]
    assert [Decimal(str(line["quantity"])) for line in bill["itemList"]] == [Decimal(2)]
    assert Decimal(str(bill["shippingCost"])) == Decimal("4.99")
    left = rest_hook.initialize_records("itemFulfillment", "salesOrder", [order["internalId"]])[order["internalId"]]
    assert [Decimal(str(line["quantity"])) for line in left["itemList"]] == [Decimal(1)]


def test_given_a_throttled_create_form_then_retried(admin, rest_hook):
    order = _order(admin)
    admin.post("/_sandbox/faults", json={"operation": "restCreateForm", "status": 429, "times": 2}).raise_for_status()
    result = rest_hook.initialize_records("itemFulfillment", "salesOrder", [order["internalId"]])[order["internalId"]]
    assert result["itemList"][0]["orderLine"] == 1
    assert _calls(admin, "restCreateForm") == 3


def test_given_the_same_shipment_twice_in_one_batch_then_one_document_and_a_duplicate(admin, rest_hook):
    """Neither exists when SuiteQL looks, so both transforms are sent; NetSuite's unique externalId refuses
    the second (DUP_RCRD), which the flows read as "exists"."""
    order = _order(admin)
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-RTWICE", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=_day(order))
    results = rest_hook.add_records("itemFulfillment", [fulfillment, fulfillment])
    assert sorted(r.error_code or "ok" for r in results) == ["DUP_RCRD", "ok"]
    assert [r["externalId"] for r in admin.get("/_sandbox/records/itemFulfillment").json()] == ["AMZ-IF-RTWICE"]
    so = admin.get("/_sandbox/records/salesOrder").json()[-1]
    assert so["itemList"][0]["quantityFulfilled"] == 1.0


def test_given_async_write_mode_then_the_transform_runs_as_a_job(admin, rest_connection):
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from tests.integration.netsuite.conftest import FAST_RETRY

    rest_connection(rest_write_mode="async", async_poll_interval=0.01)
    hook = NetSuiteHook(**FAST_RETRY)
    order = _order(admin)
    fulfillment = build_item_fulfillment(external_id="AMZ-IF-RASYNC", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(3), "2")], ship_date=_day(order))
    result = hook.add_records("itemFulfillment", [fulfillment])[0]
    stored = admin.get("/_sandbox/records/itemFulfillment").json()
    assert result.ok and [r["internalId"] for r in stored] == [result.internal_id]
    assert _calls(admin, "restTransform") == 1 and _calls(admin, "asyncJob") >= 3
