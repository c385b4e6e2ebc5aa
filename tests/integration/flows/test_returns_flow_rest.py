"""The returns flow on the REST backend (``netsuite_default`` with ``extra.api = "rest"``): the scenarios of
tests/integration/flows/test_returns_flow.py collected again, unchanged flow code. Every returns document is
a ``!transform`` (docs/netsuite-quirks.md, "REST: returns documents"): the return authorization from its
sales order, the credit memo / cash refund and the item receipt from the return authorization; the
return authorizations and invoices of an order are found by SuiteQL over PreviousTransactionLineLink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from amazon_netsuite.flows.returns import load_refunds, load_returns
from amazon_netsuite.ledger import Ledger
from amazon_netsuite.transforms.returns import load_dispositions
from tests.integration.flows import test_returns_flow as soap_returns
from tests.integration.flows.conftest import backend_world
from tests.integration.flows.test_returns_flow import (  # noqa: F401 - collected here on the REST backend
    ROOT,
    day,
    refund_event,
    test_a_refund_and_its_return_dead_lettered_before_billing_are_replayed_once_billed_then_replay_writes_nothing,
    test_a_return_before_its_refund_waits_pending,
    test_a_seller_fulfilled_return_delivered_to_the_seller_goes_to_the_returns_location,
    test_full_refunds_of_billed_orders_book_to_the_cent_out_of_refunds_pending_and_rerun_writes_nothing,
    test_netsuite_refuses_returning_receiving_or_crediting_more_and_a_refund_from_a_wrong_account,
    test_partial_refunds_and_several_refunds_of_one_order_each_get_their_documents,
    test_refund_of_an_order_not_billed_waits_then_succeeds_or_is_dead_lettered_after_max_wait,
    test_returned_units_restock_by_disposition_and_stock_moves_exactly,
)

billed = soap_returns.billed  # the fixture: synced and billed sales orders (on this module's REST world)
DOCUMENTS = ("returnAuthorization", "creditMemo", "cashRefund", "itemReceipt")


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    return backend_world(servers, tmp_path, monkeypatch, "rest")


def _returned_row(amazon, *, plate: str) -> dict:
    item = amazon["orderItems"][0]
    return {"amazon_order_id": amazon["orderId"], "seller_sku": item["product"]["sellerSku"],
            "quantity": item["quantityOrdered"], "disposition": "SELLABLE", "reason": "UNWANTED_ITEM",
            "license_plate": plate, "return_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "fulfillment_center": "PHX7"}


def test_the_world_is_on_rest(world):
    _amazon, netsuite = world.hooks()
    assert netsuite.api == "rest"


def test_given_refunds_and_returns_on_rest_then_every_document_is_a_transform_and_a_rerun_sends_none(world, billed, tmp_path):
    netsuite, pairs = billed
    us = [(so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER"][:2]
    other = [(so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] != "ATVPDKIKX0DER"][:2]
    events = [refund_event(a, a["orderItems"][0], key=f"T{n:05d}") for n, (_so, a) in enumerate(us + other)]
    admin = world.netsuite_admin
    before = world.calls(admin, "restTransform")
    assert load_refunds(events, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger,
                        run_id="t1")["counts"]["synced"] == len(events)
    rows = [_returned_row(a, plate=f"LPNT{n:06d}") for n, (_so, a) in enumerate(us)]
    dispositions = load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv")
    result = load_returns(rows, marketplace_id="ATVPDKIKX0DER", mappings=world.mappings, netsuite=netsuite,
                          ledger=world.ledger, dispositions=dispositions, run_id="t2")
    assert result["counts"]["synced"] == len(rows), result
    documents = {t: world.records(t) for t in DOCUMENTS}
    assert len(documents["returnAuthorization"]) == len(events) and len(documents["itemReceipt"]) == len(rows)
    assert len(documents["creditMemo"]) + len(documents["cashRefund"]) == len(events)
    transforms = world.calls(admin, "restTransform")
    assert transforms - before == sum(len(d) for d in documents.values())
    assert world.calls(admin, "addList") == 0 and world.calls(admin, "initializeList") == 0  # no SOAP at all
    # each document names its source (the transform's URL): a return authorization of the same Amazon order
    ras = {r["internalId"]: r for r in documents["returnAuthorization"]}
    for record_type in ("creditMemo", "cashRefund", "itemReceipt"):
        for document in documents[record_type]:
            source = ras[document["createdFrom"]["internalId"]]
            order_id = document["externalId"].split("-", 2)[2].rsplit("-", 1)[0]  # AMZ-XX-{orderId}-{key}
            assert source["externalId"].startswith(f"AMZ-RA-{order_id}-"), (document["externalId"], source["externalId"])

    # the ledger forgotten (a run that wrote NetSuite but not the ledger): every document is found by
    # externalId with SuiteQL and nothing is transformed again
    forgetful = Ledger(f"sqlite:///{tmp_path / 'forgetful.db'}")
    again = load_refunds(events, mappings=world.mappings, netsuite=netsuite, ledger=forgetful, run_id="t3")
    assert again["counts"]["exists"] == len(events), again
    returned = load_returns(rows, marketplace_id="ATVPDKIKX0DER", mappings=world.mappings, netsuite=netsuite,
                            ledger=forgetful, dispositions=dispositions, run_id="t4")
    assert returned["counts"]["exists"] == len(rows), returned
    assert world.calls(admin, "restTransform") == transforms


def test_given_throttled_transforms_create_forms_and_suiteql_then_retried_and_each_document_written_once(world, billed):
    netsuite, pairs = billed
    so, amazon = next((so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER")
    admin = world.netsuite_admin
    admin.post("/_sandbox/faults", json={"operation": "restTransform", "status": 429, "times": 3}).raise_for_status()
    before = world.calls(admin, "restTransform")
    event = refund_event(amazon, amazon["orderItems"][0], key="Q00001")
    result = load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="q1")
    assert result["counts"]["synced"] == 1, result
    assert world.calls(admin, "restTransform") - before == 2 + 3  # RA + refund document, three 429s retried
    admin.post("/_sandbox/faults", json={"operation": "restTransform", "status": 429, "times": 2}).raise_for_status()
    admin.post("/_sandbox/faults", json={"operation": "restCreateForm", "status": 429, "times": 2}).raise_for_status()
    admin.post("/_sandbox/faults", json={"operation": "suiteql", "status": 429, "times": 2}).raise_for_status()
    returned = load_returns([_returned_row(amazon, plate="LPNQ000001")], marketplace_id="ATVPDKIKX0DER",
                            mappings=world.mappings, netsuite=netsuite, ledger=world.ledger,
                            dispositions=load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv"),
                            run_id="q2")
    assert returned["counts"]["synced"] == 1, returned
    assert admin.delete("/_sandbox/faults").json()["cleared"] == 0  # every 429 was answered, and retried
    assert [len(world.records(t)) for t in ("returnAuthorization", "itemReceipt")] == [1, 1]
    (ra,) = world.records("returnAuthorization")
    assert ra["status"] == "Refunded"  # every unit credited and received
    # read back over REST: the return authorization's own status letter (G), not the sales order's (G = billed)
    assert netsuite.get_record("returnAuthorization", internal_id=ra["internalId"])["orderStatus"] == "_refunded"


def test_given_a_link_type_the_sandbox_does_not_emulate_then_the_query_is_refused_not_answered_empty(world):
    from amazon_netsuite.netsuite.errors import NetSuiteError

    _amazon, netsuite = world.hooks()
    with pytest.raises(NetSuiteError, match="nexttype"):
        netsuite.backend.suiteql_all("SELECT nextdoc FROM previoustransactionlinelink WHERE linktype = 'OrdBill'")
    with pytest.raises(NetSuiteError, match="nexttype"):
        netsuite.backend.suiteql_all("SELECT nextdoc FROM previoustransactionlinelink WHERE nexttype = 'RtnAuth' "
                                     "AND linktype = 'OrdBill'")
    assert netsuite.backend.suiteql_all("SELECT nextdoc FROM previoustransactionlinelink WHERE nexttype = 'RtnAuth' "
                                        "AND previousdoc IN ('999999')") == []


def test_given_a_lost_transform_answer_then_the_retry_is_a_duplicate_never_a_second_document(world, billed):
    """A 503 after the work (the answer lost): the hook retries the add (every record has an externalId),
    the retry finds the document exists (DUP_RCRD) and reports it written, with its internal id."""
    netsuite, pairs = billed
    so, amazon = next((so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER")
    admin = world.netsuite_admin
    event = refund_event(amazon, amazon["orderItems"][0], key="L00001")
    admin.post("/_sandbox/faults", json={"operation": "restTransform", "status": 503, "times": 1,
                                         "after": True}).raise_for_status()
    result = load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="l1")
    assert result["counts"]["synced"] == 1, result
    assert len(world.records("returnAuthorization")) == 1
    record = world.ledger.get(f"amazon_returns_to_netsuite:cashRefund:{amazon['orderId']}:L00001")
    (refund,) = world.records("cashRefund")
    assert record.status == "synced" and record.internal_id == refund["internalId"]


def test_given_more_units_than_authorized_or_nothing_left_then_netsuite_refuses_the_transform(world, billed):
    from amazon_netsuite.netsuite.records import ReceiptLine, build_item_receipt

    netsuite, pairs = billed
    so, amazon = next((so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER")
    assert load_refunds([refund_event(amazon, amazon["orderItems"][0], key="O00001")], mappings=world.mappings,
                        netsuite=netsuite, ledger=world.ledger, run_id="o1")["counts"]["synced"] == 1
    (ra,) = world.records("returnAuthorization")
    authorized = Decimal(str(ra["itemList"][0]["quantity"]))
    admin = world.netsuite_admin
    before = world.calls(admin, "restTransform")
    over = build_item_receipt(external_id="AMZ-IR-O-OVER", return_authorization_id=ra["internalId"], tran_date=day(so),
                              lines=[ReceiptLine(int(ra["itemList"][0]["line"]), authorized + 1, "2")])
    result = netsuite.add_records("itemReceipt", [over])[0]
    assert result.error_code == "USER_ERROR" and "remaining quantity" in result.error_message
    assert world.calls(admin, "restTransform") == before + 1  # refused by NetSuite, not retried
    assert world.records("itemReceipt") == [] and world.records("returnAuthorization")[0]["itemList"][0].get(
        "quantityReceived", 0) in (0, None)
    exact = build_item_receipt(external_id="AMZ-IR-O-ALL", return_authorization_id=ra["internalId"], tran_date=day(so),
                               lines=[ReceiptLine(int(ra["itemList"][0]["line"]), authorized, "2")])
    assert netsuite.add_records("itemReceipt", [exact])[0].ok
    # everything received: the transform has nothing to pre-fill (SOAP initialize's INVALID_INITIALIZE_REF)
    again = build_item_receipt(external_id="AMZ-IR-O-MORE", return_authorization_id=ra["internalId"], tran_date=day(so),
                               lines=[ReceiptLine(int(ra["itemList"][0]["line"]), Decimal(1), "2")])
    assert netsuite.add_records("itemReceipt", [again])[0].error_code == "INVALID_INITIALIZE_REF"
    assert netsuite.initialize_records("itemReceipt", "returnAuthorization", [ra["internalId"]])[
        ra["internalId"]].error_code == "INVALID_INITIALIZE_REF"
    assert [r["externalId"] for r in world.records("itemReceipt")] == ["AMZ-IR-O-ALL"]
