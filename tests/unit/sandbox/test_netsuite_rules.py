"""The NetSuite emulator's rules, in process (no server): what billing documents, return authorizations
and refund documents share (``Rules._source_lines``, ``_parties_from``, ``_posting_account``)."""

from __future__ import annotations

import pytest

from sandbox.netsuite.rules import RecordError, Rules
from sandbox.netsuite.store import Store

US, UK = "1", "2"
WIDGET, CHARGE = "501", "601"
WAREHOUSE = "7"
NOW = "2026-11-20T12:00:00+00:00"


@pytest.fixture
def rules(tmp_path) -> Rules:
    store = Store(tmp_path)
    store.put("subsidiary", {"internalId": US, "name": "US"}, NOW)
    store.put("subsidiary", {"internalId": UK, "name": "UK"}, NOW)
    store.put("inventoryItem", {"internalId": WIDGET, "itemId": "widget", "subsidiaryList": [{"internalId": US}]}, NOW)
    store.put("otherChargeSaleItem", {"internalId": CHARGE, "itemId": "gift wrap"}, NOW)
    store.put("location", {"internalId": WAREHOUSE, "name": "Warehouse", "subsidiaryList": [{"internalId": US}]}, NOW)
    yield Rules(store, schema=None, config=None)
    store.close()


SOURCE = {1: {"line": 1, "item": {"internalId": WIDGET}}, 2: {"line": 2, "item": {"internalId": CHARGE}}}


class TestSourceLines:
    def test_given_lines_naming_source_lines_then_they_are_numbered_take_the_source_item_and_an_amount(self, rules):
        lines = [{"orderLine": 1, "quantity": 2, "rate": "4.995"},
                 {"item": {"internalId": CHARGE}, "quantity": 1, "amount": "3.00"}]
        items = rules._source_lines(lines, SOURCE, "sales order")
        assert [item["internalId"] for item in items] == [WIDGET, CHARGE]
        assert [line["line"] for line in lines] == [1, 2]
        assert lines[0]["item"]["internalId"] == WIDGET and lines[0]["amount"] == 9.99
        assert lines[1]["amount"] == 3.0

    def test_given_no_lines_then_at_least_one_is_asked_for(self, rules):
        with pytest.raises(RecordError, match="at least one line item"):
            rules._source_lines([], SOURCE, "sales order")

    @pytest.mark.parametrize("source", ["sales order", "return authorization"])
    def test_given_an_order_line_the_source_lacks_then_the_error_names_the_source(self, rules, source):
        with pytest.raises(RecordError, match=f"Invalid orderLine 9: the {source} has no such line"):
            rules._source_lines([{"orderLine": 9, "quantity": 1}], SOURCE, source)

    def test_given_a_line_without_item_or_quantity_then_netsuite_asks_for_the_field(self, rules):
        with pytest.raises(RecordError, match="Please enter value\\(s\\) for: Item"):
            rules._source_lines([{"quantity": 1, "amount": 1}], SOURCE, "sales order")
        with pytest.raises(RecordError, match="Please enter value\\(s\\) for: Quantity"):
            rules._source_lines([{"orderLine": 1, "amount": 1}], SOURCE, "sales order")

    def test_given_a_subsidiary_then_items_and_locations_must_be_available_to_it(self, rules):
        line = {"orderLine": 1, "quantity": 1, "amount": 1, "location": {"internalId": WAREHOUSE}}
        rules._source_lines([line], SOURCE, "sales order", items_in_subsidiary=US)
        assert line["location"] == {"internalId": WAREHOUSE, "name": "Warehouse"}
        with pytest.raises(RecordError, match=f"Invalid item reference key {WIDGET} for subsidiary {UK}"):
            rules._source_lines([{"orderLine": 1, "quantity": 1, "amount": 1}], SOURCE, "sales order", items_in_subsidiary=UK)
        with pytest.raises(RecordError, match=f"Invalid location reference key {WAREHOUSE} for subsidiary {UK}"):
            rules._source_lines([{"item": {"internalId": CHARGE}, "quantity": 1, "amount": 1,
                                  "location": {"internalId": WAREHOUSE}}], SOURCE, "sales order", items_in_subsidiary=UK)

    def test_given_no_subsidiary_then_neither_availability_nor_locations_are_checked(self, rules):
        line = {"orderLine": 1, "quantity": 1, "amount": 1, "location": {"internalId": WAREHOUSE}}
        rules._source_lines([line], SOURCE, "return authorization")
        assert line["location"] == {"internalId": WAREHOUSE}


class TestDocumentHead:
    """``_parties_from`` and ``_posting_account``: what billing, return and refund documents take from the
    transaction they are created from, and the account they post to."""

    def test_given_a_source_then_customer_and_subsidiary_are_its_and_a_sent_currency_is_kept(self, rules):
        source = {"entity": {"internalId": "90"}, "subsidiary": {"internalId": US}, "currency": {"internalId": "1"}}
        record = {"entity": {"internalId": "91"}}
        assert rules._parties_from(record, source) == US
        assert record == {"entity": {"internalId": "90"}, "subsidiary": {"internalId": US}, "currency": {"internalId": "1"}}
        record = {"currency": {"internalId": "2"}}
        rules._parties_from(record, source)
        assert record["currency"] == {"internalId": "2"}

    def test_given_an_account_of_an_allowed_type_then_it_is_resolved(self, rules):
        rules.store.put("account", {"internalId": "1212", "acctName": "Amazon clearing", "acctType": "_otherCurrentAsset"}, NOW)
        record = {"account": {"internalId": "1212"}}
        rules._posting_account(record, "cashsale", ("_bank", "_otherCurrentAsset"), US, required=False)
        assert record["account"]["internalId"] == "1212"

    def test_given_an_account_of_another_type_then_the_error_names_the_allowed_types(self, rules):
        rules.store.put("account", {"internalId": "2330", "acctName": "Balance owed", "acctType": "_otherCurrentLiability"}, NOW)
        with pytest.raises(RecordError, match="a cashrefund posts to an account of type bank or otherCurrentAsset, "
                                              "not otherCurrentLiability"):
            rules._posting_account({"account": {"internalId": "2330"}}, "cashrefund", ("_bank", "_otherCurrentAsset"), US,
                                   required=True)

    def test_given_no_account_then_it_is_asked_for_only_when_required(self, rules):
        rules._posting_account({}, "cashsale", ("_bank",), US, required=False)
        with pytest.raises(RecordError, match="Please enter value\\(s\\) for: Account"):
            rules._posting_account({}, "invoice", ("_accountsReceivable",), US, required=True)


ORDER, RETURN = "3001", "4001"

#: what each document is created from: (check it, the createdFrom record type, NetSuite's lower-case kind)
CREATED_FROM = {
    "itemFulfillment": (lambda rules, record: rules.source_order(record, "itemfulfillment"), "salesOrder", "itemfulfillment"),
    "returnAuthorization": (lambda rules, record: rules._apply_returnAuthorization(record, None, {}), "salesOrder",
                            "returnauthorization"),
    "itemReceipt": (lambda rules, record: rules.source_return(record, "itemreceipt"), "returnAuthorization", "itemreceipt"),
}


class TestCreatedFrom:
    """Every document created from another resolves ``createdFrom`` alike: required, and a reference to
    nothing is NetSuite's INVALID_INITIALIZE_REF naming the document kind and the key sent."""

    @pytest.fixture
    def sources(self, rules):
        rules.store.put("salesOrder", {"internalId": ORDER, "externalId": "AMZ-SO-1", "orderStatus": "_cancelled",
                                       "status": "Cancelled"}, NOW)
        rules.store.put("returnAuthorization", {"internalId": RETURN, "externalId": "AMZ-RA-1",
                                                "orderStatus": "_cancelled", "status": "Cancelled"}, NOW)
        return rules

    @pytest.mark.parametrize("document", CREATED_FROM)
    def test_given_no_created_from_then_netsuite_asks_for_it(self, rules, document):
        check, _, _ = CREATED_FROM[document]
        with pytest.raises(RecordError, match="Please enter value\\(s\\) for: Created From") as error:
            check(rules, {})
        assert error.value.code == "USER_ERROR"

    @pytest.mark.parametrize("document", CREATED_FROM)
    @pytest.mark.parametrize("ref", [{"internalId": "999999"}, {"externalId": "999999"}, "999999"])
    def test_given_a_reference_to_nothing_then_invalid_initialize_ref_naming_the_kind_and_key(self, rules, document, ref):
        check, _, kind = CREATED_FROM[document]
        with pytest.raises(RecordError, match=f"^You can not initialize {kind}: invalid reference 999999\\.$") as error:
            check(rules, {"createdFrom": ref})
        assert error.value.code == "INVALID_INITIALIZE_REF"

    @pytest.mark.parametrize("document", CREATED_FROM)
    def test_given_a_cancelled_source_then_invalid_initialize_ref_naming_its_status(self, sources, document):
        check, source_type, kind = CREATED_FROM[document]
        source = ORDER if source_type == "salesOrder" else RETURN
        with pytest.raises(RecordError, match=f"^You can not initialize {kind}: invalid reference {source} \\(the .* is Cancelled\\)\\.$") as error:
            check(sources, {"createdFrom": {"externalId": "AMZ-SO-1" if source == ORDER else "AMZ-RA-1"}})
        assert error.value.code == "INVALID_INITIALIZE_REF"
