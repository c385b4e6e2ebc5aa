"""Inventory items with the catalog flow's custom fields (README, NetSuite setup checklist) through the
real SOAP client: read by a lastModifiedDate search, written back with updateList, cleared with nullFieldList."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amazon_netsuite.transforms.catalog import WriteBack, custom_fields


def _add(admin, item_id: str, **fields) -> str:
    custom = [{"scriptId": k, "value": v} for k, v in {"custitem_amazon_publish": True, **fields}.items()]
    stored = admin.post("/_sandbox/records/inventoryItem", json=[{"itemId": item_id, "displayName": item_id, "customFieldList": custom}])
    stored.raise_for_status()
    return stored.json()[0]["internalId"]


class TestItemCustomFields:
    def test_given_flagged_items_when_searched_by_last_modified_then_custom_fields_come_with_the_body(self, hook, admin):
        since = datetime.now(UTC) - timedelta(seconds=5)
        internal_id = _add(admin, "CF-READ", custitem_amazon_price_us="12.99", custitem_amazon_brand="Acme")
        found = {r["internalId"]: r for r in hook.search_modified_since("inventoryItem", since)}
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
