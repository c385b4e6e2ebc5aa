"""NetSuite item -> Amazon listing attributes, the required-attributes table, content hash, feed documents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from amazon_netsuite.ledger.store import content_hash
from amazon_netsuite.mappings import MappingError, load_mappings
from amazon_netsuite.transforms import catalog
from amazon_netsuite.transforms.catalog import Listing, WriteBack, build_listings, load_requirements

US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"


def _item(**custom) -> dict:
    fields = {"custitem_amazon_publish": True, "custitem_amazon_product_type": "DRINKING_CUP",
              "custitem_amazon_brand": "Acme", "custitem_amazon_bullets": "Holds 11 oz\nDishwasher safe",
              "custitem_amazon_image_url": "https://img.example.com/mug.jpg", "custitem_amazon_price_us": "12.99"}
    fields.update(custom)
    return {"internalId": "501", "itemId": "ACME-MUG-11OZ", "displayName": "Acme mug 11 oz",
            "salesDescription": "A white ceramic mug.", "upcCode": "012345678905",
            "customFieldList": {"customField": [{"scriptId": k, "value": v} for k, v in fields.items() if v is not None]}}


@pytest.fixture(scope="module")
def mappings():
    return load_mappings()


@pytest.fixture(scope="module")
def requirements(mappings):
    return load_requirements(mappings.directory)


class TestRequirementsTable:
    def test_given_shipped_table_when_loaded_then_every_product_type_requires_title_price_and_identifier(self, requirements):
        assert {"PRODUCT", "DRINKING_CUP", "HOME", "LUGGAGE"} <= set(requirements)
        for attributes in requirements.values():
            assert {"item_name", "purchasable_offer", "externally_assigned_product_identifier"} <= set(attributes)

    def test_given_bad_rows_when_loaded_then_error_names_file_row_and_column(self, tmp_path):
        (tmp_path / "listing_requirements.csv").write_text(
            "product_type,attribute\nLUGGAGE,item_name\nluggage,brand\nLUGGAGE,Item Name\nLUGGAGE,item_name\n")
        with pytest.raises(MappingError) as err:
            load_requirements(tmp_path)
        problems = {(p.row, p.column) for p in err.value.problems}
        assert problems == {(3, "product_type"), (4, "attribute"), (5, "attribute")}
        assert "listing_requirements.csv" in str(err.value)


class TestBuildListings:
    def test_given_complete_item_priced_in_us_when_built_then_one_na_listing_in_amazon_shapes(self, mappings, requirements):
        [listing] = build_listings(_item(), mappings.marketplaces.values(), requirements)
        assert (listing.sku, listing.region, listing.marketplace_ids, listing.missing) == ("ACME-MUG-11OZ", "na", (US,), ())
        a = listing.attributes
        assert a["item_name"] == [{"value": "Acme mug 11 oz", "language_tag": "en_US", "marketplace_id": US}]
        assert [b["value"] for b in a["bullet_point"]] == ["Holds 11 oz", "Dishwasher safe"]
        assert a["externally_assigned_product_identifier"] == [{"type": "upc", "value": "012345678905", "marketplace_id": US}]
        assert a["condition_type"] == [{"value": "new_new", "marketplace_id": US}]
        offer = a["purchasable_offer"][0]
        assert offer["currency"] == "USD"
        assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("12.99")
        assert isinstance(offer["our_price"][0]["schedule"][0]["value_with_tax"], Decimal)

    def test_given_prices_in_us_and_de_when_built_then_one_listing_per_region_each_in_its_currency(self, mappings, requirements):
        listings = build_listings(_item(custitem_amazon_price_de="11.50"), mappings.marketplaces.values(), requirements)
        assert [(x.region, x.marketplace_ids) for x in listings] == [("eu", (DE,)), ("na", (US,))]
        eu = listings[0].attributes
        assert eu["purchasable_offer"][0]["currency"] == "EUR"
        assert eu["item_name"][0]["language_tag"] == "de_DE"

    def test_given_missing_brand_and_image_when_built_then_listing_names_the_missing_attributes(self, mappings, requirements):
        [listing] = build_listings(_item(custitem_amazon_brand=None, custitem_amazon_image_url=None),
                                   mappings.marketplaces.values(), requirements)
        assert listing.missing == ("brand", "main_product_image_locator")

    def test_given_no_barcode_when_exempt_then_exemption_satisfies_identifier_else_missing(self, mappings, requirements):
        item = _item(custitem_amazon_gtin_exempt=True)
        item["upcCode"] = None
        [exempt] = build_listings(item, mappings.marketplaces.values(), requirements)
        assert exempt.missing == ()
        assert exempt.attributes["supplier_declared_has_product_identifier_exemption"][0]["value"] is True
        item = _item()
        item["upcCode"] = None
        [plain] = build_listings(item, mappings.marketplaces.values(), requirements)
        assert plain.missing == ("externally_assigned_product_identifier",)

    def test_given_unknown_product_type_when_built_then_reported_with_how_to_extend_the_table(self, mappings, requirements):
        [listing] = build_listings(_item(custitem_amazon_product_type="KAYAK"), mappings.marketplaces.values(), requirements)
        assert "product_type" in listing.missing
        assert "listing_requirements.csv" in listing.problems[0]

    @pytest.mark.parametrize("bad", ["abc", "-1", "0", "12.999"])
    def test_given_malformed_price_when_built_then_price_is_missing_with_the_field_named(self, mappings, requirements, bad):
        [listing] = build_listings(_item(custitem_amazon_price_us=bad), mappings.marketplaces.values(), requirements)
        assert "purchasable_offer" in listing.missing
        assert any("custitem_amazon_price_us" in p for p in listing.problems)

    def test_given_no_price_anywhere_when_built_then_reported_not_silently_dropped(self, mappings, requirements):
        [listing] = build_listings(_item(custitem_amazon_price_us=None), mappings.marketplaces.values(), requirements)
        assert listing.missing == ("purchasable_offer",)

    def test_given_unflagged_or_inactive_item_then_not_published(self):
        assert catalog.is_published(_item())
        assert not catalog.is_published(_item(custitem_amazon_publish=False))
        assert not catalog.is_published({**_item(), "isInactive": True})


class TestContentHash:
    def test_given_same_item_twice_then_same_hash_and_price_change_changes_it(self, mappings, requirements):
        def digest(**custom):
            [listing] = build_listings(_item(**custom), mappings.marketplaces.values(), requirements)
            return content_hash(listing.content)

        assert digest() == digest()
        assert digest() != digest(custitem_amazon_price_us="13.99")
        assert digest() != digest(custitem_amazon_bullets="Holds 11 oz")

    def test_given_write_back_fields_change_then_hash_is_unchanged(self, mappings, requirements):
        [a] = build_listings(_item(), mappings.marketplaces.values(), requirements)
        [b] = build_listings(_item(custitem_amazon_asin="B0X", custitem_amazon_listing_status="ACTIVE"),
                             mappings.marketplaces.values(), requirements)
        assert content_hash(a.content) == content_hash(b.content)


class TestFeedAndWriteBack:
    def test_given_new_and_listed_skus_then_update_and_patch_messages_without_quantity(self, mappings, requirements):
        [listing] = build_listings(_item(), mappings.marketplaces.values(), requirements)
        [doc] = catalog.feed_documents([(listing, False), (listing, True)], "SELLER")
        assert doc["header"] == {"sellerId": "SELLER", "version": "2.0", "issueLocale": "en_US"}
        new, listed = doc["messages"]
        assert (new["messageId"], new["operationType"], new["attributes"]) == (1, "UPDATE", listing.attributes)
        assert listed["operationType"] == "PATCH"
        assert all(p["op"] == "replace" and p["path"] != "/attributes/fulfillment_availability" for p in listed["patches"])

    def test_given_more_than_the_feed_limit_then_documents_split_and_message_ids_restart(self):
        listing = Listing("1", "S", "na", "PRODUCT", (US,), {"item_name": []})
        docs = catalog.feed_documents([(listing, False)] * 5, "SELLER", max_messages=2)
        assert [len(d["messages"]) for d in docs] == [2, 2, 1]
        assert [m["messageId"] for m in docs[2]["messages"]] == [1]

    def test_given_two_regions_then_worst_status_and_first_asin_in_one_update(self):
        wb = WriteBack("501")
        wb.add("ACTIVE", asin="B0ACME")
        wb.add("ERROR", issue="eu: [90220] 'brand' is required but not supplied. (brand)")
        record = wb.record("2026-12-02T06:00:00Z")
        fields = {f["scriptId"]: f["value"] for f in record["customFieldList"]}
        assert record["internalId"] == "501" and "nullFieldList" not in record
        assert fields == {"custitem_amazon_asin": "B0ACME", "custitem_amazon_listing_status": "ERROR",
                          "custitem_amazon_listing_issues": "eu: [90220] 'brand' is required but not supplied. (brand)",
                          "custitem_amazon_last_sync": "2026-12-02T06:00:00Z"}

    def test_given_no_issues_then_the_last_runs_issues_are_cleared_with_null_field_list(self):
        wb = WriteBack("501")
        wb.add("ACTIVE", asin="B0ACME")
        record = wb.record("2026-12-02T06:00:00Z")
        assert record["nullFieldList"] == ["custitem_amazon_listing_issues"]
        assert "custitem_amazon_listing_issues" not in {f["scriptId"] for f in record["customFieldList"]}

    def test_given_no_outcome_then_no_record_is_built(self):
        with pytest.raises(ValueError, match="no outcome"):
            WriteBack("501").record("2026-12-02T06:00:00Z")

    def test_given_amazon_issues_then_errors_only_with_attribute_names(self):
        text = catalog.issue_text([
            {"code": "90220", "message": "'brand' is required but not supplied.", "severity": "ERROR", "attributeNames": ["brand"]},
            {"code": "18027", "message": "a warning", "severity": "WARNING"},
            {"code": "4000001", "message": "bad", "severity": "ERROR", "attributeName": "purchasable_offer"},
        ])
        assert text == "[90220] 'brand' is required but not supplied. (brand); [4000001] bad (purchasable_offer)"


class TestStagingRoundTrip:
    def test_given_a_listing_when_staged_as_json_and_read_back_then_prices_are_the_same_decimals(self, mappings, requirements):
        import json

        [listing] = build_listings(_item(custitem_amazon_price_us="19.90"), mappings.marketplaces.values(), requirements)
        back = Listing.from_dict(json.loads(json.dumps(listing.as_dict())))
        assert back == listing
        assert back.attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("19.90")

    def test_given_decimal_prices_when_written_as_json_numbers_then_same_digits_and_unrepresentable_refused(self):
        import json

        from amazon_netsuite.amazon.hook import json_numbers

        assert json.dumps(json_numbers({"v": [Decimal("19.99"), Decimal("0.10")]})) == '{"v": [19.99, 0.1]}'
        with pytest.raises(ValueError, match="JSON number"):
            json_numbers(Decimal("0.12345678901234567890123"))
