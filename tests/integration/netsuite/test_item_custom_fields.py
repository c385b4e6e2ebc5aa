"""Inventory items with the catalog flow's custom fields (README, NetSuite setup checklist) on both backends:
the real SOAP client (a lastModifiedDate search, updateList, nullFieldList) and REST (a SuiteQL search that
selects the named custom fields, a PATCH per item, a cleared field sent as null)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from amazon_netsuite.transforms.catalog import WriteBack, custom_fields

READ = ["custitem_amazon_publish", "custitem_amazon_price_us", "custitem_amazon_brand"]


@pytest.fixture(params=["soap", "rest"])
def hook(request, admin, set_connection, netsuite_server, monkeypatch):
    from amazon_netsuite.netsuite import rest
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from sandbox.netsuite import airflow_connection
    from tests.integration.netsuite.conftest import FAST_RETRY

    if request.param == "rest":
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(airflow_connection(base_url=netsuite_server, api="rest")))
        rest._TOKENS.clear()
    else:
        set_connection()
    hook = NetSuiteHook(**FAST_RETRY)
    assert hook.api == request.param
    return hook


def _add(admin, item_id: str, **fields) -> str:
    custom = [{"scriptId": k, "value": v} for k, v in {"custitem_amazon_publish": True, **fields}.items()]
    stored = admin.post("/_sandbox/records/inventoryItem", json=[{"itemId": item_id, "displayName": item_id, "customFieldList": custom}])
    stored.raise_for_status()
    return stored.json()[0]["internalId"]


class TestItemCustomFields:
    def test_given_flagged_items_when_searched_by_last_modified_then_custom_fields_come_with_the_body(self, hook, admin):
        since = datetime.now(UTC) - timedelta(seconds=5)
        internal_id = _add(admin, "CF-READ", custitem_amazon_price_us="12.99", custitem_amazon_brand="Acme")
        found = {r["internalId"]: r for r in hook.search_modified_since("inventoryItem", since, custom_fields=READ)}
        fields = custom_fields(found[internal_id])
        assert fields["custitem_amazon_publish"] is True
        assert (fields["custitem_amazon_price_us"], fields["custitem_amazon_brand"]) == ("12.99", "Acme")

    def test_given_a_write_back_when_updated_then_set_fields_change_and_the_others_are_kept(self, hook, admin):
        internal_id = _add(admin, "CF-WB", custitem_amazon_price_us="12.99")
        wb = WriteBack(internal_id)
        wb.add("ERROR", issue="na: [8541] Listing data conflicts with the Amazon catalog.")
        [result] = hook.update_records("inventoryItem", [wb.record("2026-12-02T06:00:00Z")])
        assert result.ok, result
        fields = custom_fields(hook.get_record("inventoryItem", internal_id=internal_id))
        assert fields["custitem_amazon_listing_status"] == "ERROR"
        assert fields["custitem_amazon_listing_issues"].startswith("na: [8541]")
        assert fields["custitem_amazon_price_us"] == "12.99", "custom fields not sent keep their values"

        listed = WriteBack(internal_id)
        listed.add("ACTIVE", asin="B0ACME0001")
        [result] = hook.update_records("inventoryItem", [listed.record("2026-12-02T07:00:00Z")])
        assert result.ok, result
        fields = custom_fields(hook.get_record("inventoryItem", internal_id=internal_id))
        assert fields["custitem_amazon_listing_status"] == "ACTIVE" and fields["custitem_amazon_asin"] == "B0ACME0001"
        assert "custitem_amazon_listing_issues" not in fields, "nullFieldList cleared the last run's issues"

    def test_given_custom_fields_not_named_then_only_soap_returns_them(self, hook, admin):
        since = datetime.now(UTC) - timedelta(seconds=5)
        internal_id = _add(admin, "CF-NAMED", custitem_amazon_price_us="12.99", custitem_amazon_brand="Acme")
        found = {r["internalId"]: r for r in hook.search_modified_since("inventoryItem", since,
                                                                        custom_fields=["custitem_amazon_brand"])}
        fields = custom_fields(found[internal_id])
        assert fields["custitem_amazon_brand"] == "Acme"
        # SOAP's search carries every custom field; SuiteQL only the columns it selects
        assert ("custitem_amazon_price_us" in fields) == (hook.api == "soap")
