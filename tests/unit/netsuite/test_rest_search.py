"""The REST backend's reads and writes the reconciliation, catalog and inventory flows rely on, without a
server: a timestamp ``tranDate`` sent as the account's local date, cleared fields sent as null, searches
that select the custom fields their caller reads, sales order totals and statuses read from SuiteQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError
from amazon_netsuite.netsuite.rest import RestBackend, RestSettings, dumps, local_dates, to_rest


def backend(**kwargs) -> RestBackend:
    return RestBackend(RestSettings(account="1", base_url="https://x", **kwargs))


class TestDates:
    def test_given_an_iso_timestamp_string_tran_date_then_its_date_in_the_account_zone(self):
        # what the billing helper of the reconciliation tests gives a fulfillment: Amazon's shipTime as is
        assert local_dates({"tranDate": "2026-11-20T05:30:00Z"}, "America/Los_Angeles") == {"tranDate": date(2026, 11, 19)}
        assert local_dates({"tranDate": "2026-11-20T05:30:00+00:00"}, "Europe/Berlin") == {"tranDate": date(2026, 11, 20)}
        assert local_dates({"tranDate": "2026-11-20 23:30:00"}, "Asia/Tokyo") == {"tranDate": date(2026, 11, 21)}, "naive = UTC"
        assert to_rest(local_dates({"tranDate": "2026-11-20T05:30:00Z"}, "UTC"))["tranDate"] == "2026-11-20"

    def test_given_a_pandas_timestamp_tran_date_then_its_local_date(self):
        import pandas as pd

        stamp = pd.Timestamp("2026-11-20T05:30:00Z")
        assert local_dates({"tranDate": stamp}, "America/Los_Angeles") == {"tranDate": date(2026, 11, 19)}

    def test_given_a_day_or_another_field_then_nothing_changes(self):
        record = {"tranDate": "2026-11-20", "memo": "2026-11-20T05:30:00Z", "shipDate": date(2026, 1, 2)}
        assert local_dates(record, "UTC") is record
        assert local_dates({"tranDate": "not a date T10:00"}, "UTC") == {"tranDate": "not a date T10:00"}


class TestClearedFields:
    def test_given_a_null_field_list_then_each_field_is_sent_as_null(self):
        body = to_rest({"internalId": "9", "customFieldList": [{"scriptId": "custitem_amazon_listing_status", "value": "ACTIVE"}],
                        "nullFieldList": ["custitem_amazon_listing_issues", "addressbookAddress"]})
        assert body == {"custitem_amazon_listing_status": "ACTIVE", "custitem_amazon_listing_issues": None,
                        "addressBookAddress": None}
        assert '"custitem_amazon_listing_issues": null' in dumps(body)
        assert to_rest({"nullFieldList": {"name": ["memo"]}}) == {"memo": None}  # the SOAP NullField shape too


class TestSearchColumns:
    def test_given_custom_fields_then_selected_and_read_back_typed(self):
        query = backend().build_query("inventoryItem", {
            "modified_after": datetime(2026, 11, 1, tzinfo=UTC), "custom_fields": ["custitem_amazon_publish", "CUSTITEM_AMAZON_PRICE_US"]})
        assert "custitem_amazon_publish, custitem_amazon_price_us FROM item" in query.sql
        assert "salesdescription" in query.sql and "upccode" in query.sql
        assert "WHERE itemtype = 'InvtPart' AND" in query.sql, "SuiteQL's item table names its type itemtype"
        record = backend()._row("item", {"id": "501", "itemid": "ACME-1", "isinactive": "F", "custitem_amazon_publish": "T",
                                         "custitem_amazon_price_us": Decimal("19.99")}, query)
        assert record["customFieldList"] == [{"scriptId": "custitem_amazon_publish", "value": True},
                                             {"scriptId": "custitem_amazon_price_us", "value": Decimal("19.99")}]
        assert record["isInactive"] is False and record["itemId"] == "ACME-1"

    def test_given_something_that_is_not_a_custom_field_then_refused_before_any_query(self):
        with pytest.raises(ValueError, match="custom field script ids"):
            backend().build_query("inventoryItem", {"custom_fields": ["isinactive) OR (1=1"]})

    def test_given_a_sales_order_search_then_total_and_status_in_the_soap_shape(self):
        query = backend().build_query("salesOrder", {"external_ids": ["AMZ-SO-1"], "custom_fields": ["custbody_amazon_marketplace_id"]})
        assert "foreigntotal" in query.sql and ", status," in query.sql
        row = {"id": "7", "externalid": "AMZ-SO-1", "foreigntotal": Decimal("25.98"), "status": "B",
               "custbody_amazon_marketplace_id": "ATVPDKIKX0DER", "trandate": "2026-11-20"}
        record = backend()._row("transaction", row, query)
        assert (record["total"], record["orderStatus"], record["tranDate"]) == (Decimal("25.98"), "_pendingFulfillment",
                                                                                date(2026, 11, 20))
        assert record["customFieldList"] == [{"scriptId": "custbody_amazon_marketplace_id", "value": "ATVPDKIKX0DER"}]
        with pytest.raises(NetSuiteMalformedResponseError, match="unknown salesOrder status"):
            backend()._row("transaction", {**row, "status": "Z"}, query)

    def test_given_a_return_authorization_search_then_its_own_status_letters(self):
        query = backend().build_query("returnAuthorization", {"external_ids": ["AMZ-RA-1"]})
        assert ", status FROM transaction" in query.sql
        assert backend()._row("transaction", {"id": "9", "status": "B"}, query)["orderStatus"] == "_pendingReceipt"

    def test_given_another_transaction_type_then_its_status_letter_is_not_read_as_an_order_status(self):
        query = backend().build_query("cashSale", {"external_ids": ["AMZ-CS-1"]})
        assert ", status," not in query.sql
        assert "orderStatus" not in backend()._row("transaction", {"id": "8", "status": "B"}, query)

    def test_given_a_search_page_then_records_carry_the_custom_fields(self, monkeypatch):
        rest = backend()
        monkeypatch.setattr(rest, "suiteql_page", lambda sql, offset, limit: {
            "items": [{"id": "7", "externalid": "AMZ-SO-1", "status": "G", "foreigntotal": Decimal("5.00"),
                       "custbody_amazon_order_id": "111-1"}], "totalResults": 1, "hasMore": False})
        page = rest.search("salesOrder", {"external_ids": ["AMZ-SO-1"], "custom_fields": ["custbody_amazon_order_id"]})
        [record] = page.records
        assert record["orderStatus"] == "_fullyBilled" and record["customFieldList"][0]["value"] == "111-1"

    def test_given_internal_ids_then_one_id_in_query_and_non_numeric_ids_refused(self):
        query = backend().build_query("inventoryItem", {"internal_ids": ["501", "504"]})
        assert "id IN ('501', '504')" in query.sql and query.sql.endswith("ORDER BY id")
        with pytest.raises(ValueError, match="numeric ids"):
            backend().build_query("inventoryItem", {"internal_ids": ["501) OR (1=1"]})
