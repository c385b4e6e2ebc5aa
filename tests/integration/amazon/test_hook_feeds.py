"""Feeds, Listings Items and FBA inventory through SellingPartnerHook against the SP-API sandbox.

Every response is checked against Amazon's models by the ``start_sandbox`` fixture; the processing
report against Amazon's listings feed processing-report schema (v2) here.
"""

from __future__ import annotations

import json
import time

import pytest

from amazon_netsuite.amazon.errors import SellingPartnerError

US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
MUG = "ACME-MUG-11OZ"
FBA_MUG = "ACME-MUG-11OZ-FBA"


def _feed(seller_id: str, *messages: dict) -> bytes:
    return json.dumps({"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
                       "messages": list(messages)}).encode()


def _qty(message_id: int, sku: str, quantity: int, product_type: str = "DRINKING_CUP") -> dict:
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH", "productType": product_type,
            "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                         "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]}]}


def _wait(hook, feed_id: str) -> dict:
    for _ in range(200):
        feed = hook.get_feed(feed_id)
        if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
            return feed
        time.sleep(0.02)
    raise AssertionError(f"feed {feed_id} never finished")


def _validate_report(reference_dir, report: dict) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads((reference_dir / "sp-api-models" / "schemas" / "feeds"
                         / "listings-feed-processing-report-schema-v2.json").read_text())
    errors = [e.message for e in Draft7Validator(schema).iter_errors(report)]
    assert not errors, errors


def _listing(sandbox, sku: str, region: str = "na") -> dict:
    return next(x for x in sandbox.http.get("/_sandbox/listings", params={"region": region}).json() if x["sku"] == sku)


class TestFeeds:
    def test_given_a_listings_feed_when_submitted_then_amazon_applies_it_and_reports_per_message(self, sandbox, hook, reference_dir):
        sandbox.http.post("/_sandbox/listings/rejections", json={"sku": "ACME-BOTTLE-750", "code": "8541",
                                                                  "message": "Listing data conflicts with the Amazon catalog."}).raise_for_status()
        seller = hook.config.seller_id
        feed_id = hook.submit_feed("JSON_LISTINGS_FEED", _feed(seller, _qty(1, MUG, 7), _qty(2, "ACME-BOTTLE-750", 3, "BOTTLE")),
                                   marketplace_ids=[US])
        feed = _wait(hook, feed_id)
        assert feed["processingStatus"] == "DONE"
        report = hook.feed_processing_report(feed)
        _validate_report(reference_dir, report)
        assert report["summary"] == {"errors": 1, "warnings": 0, "messagesProcessed": 2, "messagesAccepted": 1, "messagesInvalid": 1}
        assert report["issues"] == [{"messageId": 2, "sku": "ACME-BOTTLE-750", "code": "8541", "severity": "ERROR",
                                     "message": "Listing data conflicts with the Amazon catalog."}]
        assert _listing(sandbox, MUG)["quantity"] == 7
        assert _listing(sandbox, "ACME-MUG-11OZ", "eu")["quantity"] == 0, "another region's listing is untouched"

    def test_given_a_fatal_fault_when_the_feed_finishes_then_fatal_with_a_report_and_nothing_applied(self, sandbox, hook, reference_dir):
        sandbox.fault("createFeed", fault="FATAL")
        feed = _wait(hook, hook.submit_feed("JSON_LISTINGS_FEED", _feed(hook.config.seller_id, _qty(1, MUG, 9)), marketplace_ids=[US]))
        assert feed["processingStatus"] == "FATAL"
        report = hook.feed_processing_report(feed)
        _validate_report(reference_dir, report)
        assert report["summary"]["messagesAccepted"] == 0 and report["issues"][0]["severity"] == "ERROR"
        assert _listing(sandbox, MUG)["quantity"] == 0

    def test_given_a_document_of_another_seller_when_processed_then_fatal(self, sandbox, hook):
        feed = _wait(hook, hook.submit_feed("JSON_LISTINGS_FEED", _feed("AOTHERSELLER", _qty(1, MUG, 1)), marketplace_ids=[US]))
        assert feed["processingStatus"] == "FATAL"
        assert "sellerId" in hook.feed_processing_report(feed)["issues"][0]["message"]

    def test_given_createfeed_throttled_when_submitting_then_the_hook_backs_off_and_one_feed_is_created(self, sandbox, hook):
        sandbox.fault("createFeed", status=429, times=2)
        feed_id = hook.submit_feed("JSON_LISTINGS_FEED", _feed(hook.config.seller_id, _qty(1, MUG, 4)), marketplace_ids=[US])
        assert _wait(hook, feed_id)["processingStatus"] == "DONE"
        calls = sandbox.calls("createFeed")
        assert calls["calls"] == 3 and calls["throttled"] == 2

    def test_given_a_feed_not_uploaded_when_creating_the_feed_then_amazon_refuses_it(self, sandbox, hook):
        document = hook.create_feed_document()
        with pytest.raises(SellingPartnerError, match="no content"):
            hook.create_feed("JSON_LISTINGS_FEED", document["feedDocumentId"], marketplace_ids=[US])

    def test_given_a_malformed_report_when_reading_it_then_it_raises_instead_of_reading_no_issues(self, sandbox, hook, monkeypatch):
        feed = _wait(hook, hook.submit_feed("JSON_LISTINGS_FEED", _feed(hook.config.seller_id, _qty(1, MUG, 2)), marketplace_ids=[US]))
        monkeypatch.setattr(hook, "download_feed_document", lambda _id: "<html>proxy error</html>")
        with pytest.raises(SellingPartnerError, match="not JSON"):
            hook.feed_processing_report(feed)


class TestListingsItems:
    def test_given_a_listing_when_read_and_patched_then_the_quantity_changes(self, sandbox, hook):
        before = hook.get_listings_item(MUG, marketplace_ids=[US])
        assert before["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 0}]
        result = hook.patch_listings_item(MUG, "DRINKING_CUP", [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                                                 "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 12}]}],
                                          marketplace_ids=[US])
        assert result["status"] == "ACCEPTED"
        assert hook.get_listings_item(MUG, marketplace_ids=[US])["fulfillmentAvailability"][0]["quantity"] == 12

    def test_given_an_unknown_sku_when_read_then_none_and_when_patched_then_invalid(self, sandbox, hook):
        assert hook.get_listings_item("NO-SUCH-SKU", marketplace_ids=[US]) is None
        result = hook.patch_listings_item("NO-SUCH-SKU", "PRODUCT", [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                                                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}]}],
                                          marketplace_ids=[US])
        assert result["status"] == "INVALID" and result["issues"][0]["severity"] == "ERROR"


class TestInventorySummaries:
    def test_given_fba_stock_when_listing_summaries_then_every_page_is_read(self, sandbox, hook):
        sandbox.http.post("/_sandbox/fba_inventory", json=[{"marketplaceId": US, "sku": f"FBA-{n:03d}", "fulfillable": n}
                                                           for n in range(120)]).raise_for_status()
        summaries = list(hook.iter_inventory_summaries(US))
        by_sku = {s["sellerSku"]: s["inventoryDetails"]["fulfillableQuantity"] for s in summaries}
        assert by_sku["FBA-119"] == 119 and FBA_MUG in by_sku
        assert sandbox.calls("getInventorySummaries")["calls"] == 3

    def test_given_a_uk_marketplace_on_the_na_connection_when_listing_then_refused_before_any_call(self, sandbox, hook):
        with pytest.raises(SellingPartnerError):
            list(hook.iter_inventory_summaries(UK))
        assert sandbox.calls("getInventorySummaries")["calls"] == 0
