"""SellingPartnerHook against the SP-API sandbox: Reports 2021-06-30 lifecycle, documents, RDTs.

``hook`` is the NA connection, ``eu_hook`` the EU one: reports and documents belong to one region.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from amazon_netsuite.amazon.errors import ReportProcessingError, SellingPartnerApiError, SellingPartnerError

ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"
EU_TEXT = "settlement-id\tsku\tamount\n1234\tACME-KETTLE-EU\t44,99\nMüller GmbH £ € Straße\n"


class TestReportLifecycle:
    def test_given_a_report_request_when_polling_then_it_goes_through_the_queue_to_done_with_a_gzip_document(self, hook, sandbox):
        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=[US],
                                       data_start_time=datetime.now(UTC) - timedelta(days=30))
        assert hook.get_report(report_id)["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")

        report = hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)
        text = hook.download_report(report_id)

        assert report["processingStatus"] == "DONE"
        assert hook.get_report_document(report["reportDocumentId"])["compressionAlgorithm"] == "GZIP"
        header, *rows = text.splitlines()
        assert header.startswith("amazon-order-id\tpurchase-date")
        assert rows and all(row.split("\t")[6].startswith("ACME-") for row in rows)

    def test_given_an_eu_orders_report_when_downloading_then_it_is_decoded_with_the_declared_cp1252(self, eu_hook, sandbox):
        report_id = eu_hook.create_report(ORDERS_REPORT, marketplace_ids=[DE],
                                          data_start_time=datetime.now(UTC) - timedelta(days=30))
        eu_hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)

        assert "Amazon.de" in eu_hook.download_report(report_id)

    def test_given_a_fatal_report_when_waiting_then_it_raises_with_amazons_error_document(self, hook, sandbox):
        sandbox.fault("createReport", fault="FATAL", times=1)
        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=[US])

        with pytest.raises(ReportProcessingError, match=r"ended FATAL; Amazon's error document: .*errorDetails") as raised:
            hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)
        assert raised.value.report_id == report_id
        with pytest.raises(ReportProcessingError):
            hook.download_report(report_id)

    def test_given_a_queued_report_when_cancelled_then_it_reports_cancelled(self, start_sandbox, fast_hook_kwargs):
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        start_sandbox(rate_scale=1.0)  # stays IN_QUEUE for 2 s
        hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=[US])

        hook.cancel_report(report_id)

        assert hook.get_report(report_id)["processingStatus"] == "CANCELLED"
        assert hook.download_report(report_id) is None  # cancelled: no document, not a failure


class TestDocuments:
    @pytest.mark.parametrize("compression", [None, "GZIP"])
    @pytest.mark.parametrize("charset", ["UTF-8", "Cp1252", "ISO-8859-1"])
    def test_given_a_published_document_when_downloading_then_text_round_trips(self, eu_hook, sandbox, compression, charset):
        text = EU_TEXT if charset != "ISO-8859-1" else EU_TEXT.replace("€", "EUR")
        published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content=text,
                                           charset=charset, compression=compression)

        assert eu_hook.download_report(published["reportId"]) == text

    def test_given_a_restricted_report_when_downloading_then_a_restricted_data_token_is_used(self, hook, sandbox):
        published = sandbox.publish_report(reportType="GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
                                           marketplaceIds=[US], content="amazon-order-id\tbuyer-name\n111-1\tX\n")

        assert hook.download_report(published["reportId"]).startswith("amazon-order-id")
        assert sandbox.calls("createRestrictedDataToken")["calls"] == 1
        with pytest.raises(SellingPartnerApiError, match="getReportDocument failed with HTTP 403: Unauthorized"):
            hook.download_report_document(published["reportDocumentId"], restricted=False)

    def test_given_the_fba_shipments_report_when_downloading_then_no_restricted_data_token(self, hook, sandbox):
        published = sandbox.publish_report(reportType="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
                                           marketplaceIds=[US], content="amazon-order-id\tbuyer-name\n111-1\t\n")

        assert hook.download_report(published["reportId"]).startswith("amazon-order-id")
        assert sandbox.calls("createRestrictedDataToken")["calls"] == 0


    def test_given_an_expired_presigned_url_when_downloading_then_a_fresh_url_is_requested_once(self, eu_hook, sandbox, monkeypatch):
        hook = eu_hook
        published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content=EU_TEXT, charset="Cp1252")
        real = hook.get_report_document
        served: list[str] = []

        def first_url_already_expired(document_id, **kwargs):
            meta = dict(real(document_id, **kwargs))
            if not served:  # the URL lived past its 5 minutes before the download started
                meta["url"] = meta["url"].replace("X-Amz-Expires=300", "X-Amz-Expires=0")
            served.append(meta["url"])
            return meta

        monkeypatch.setattr(hook, "get_report_document", first_url_already_expired)
        time.sleep(1.05)  # the sandbox signs whole seconds; make the zero-lifetime URL strictly expired

        assert hook.download_report(published["reportId"]) == EU_TEXT
        assert len(served) == 2 and "X-Amz-Expires=0" in served[0]
        assert sandbox.calls("s3GetObject")["calls"] == 2

    def test_given_the_presigned_url_is_refused_twice_when_downloading_then_the_error_names_the_document(self, hook, sandbox, monkeypatch):
        published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content="x\n")
        real = hook.get_report_document

        def always_tampered(document_id, **kwargs):
            meta = dict(real(document_id, **kwargs))
            meta["url"] = meta["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0")
            return meta

        monkeypatch.setattr(hook, "get_report_document", always_tampered)

        with pytest.raises(SellingPartnerError, match=rf"(?s)report document {published['reportDocumentId']}.*HTTP 403.*SignatureDoesNotMatch"):
            hook.download_report(published["reportId"])
        assert sandbox.calls("s3GetObject")["calls"] == 2


@pytest.fixture
def unseeded_hook(start_sandbox, fast_hook_kwargs):
    """A hook on a sandbox without seed data (a seeded one already holds settlement reports)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook

    client = start_sandbox(seed=None)
    hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
    yield hook, client
    hook.close()


class TestListReports:
    def test_given_a_settlement_type_when_creating_then_hook_refuses_and_points_to_listing(self, hook, sandbox):
        with pytest.raises(SellingPartnerError, match="cannot be requested.*list_reports"):
            hook.create_report(SETTLEMENT)
        assert sandbox.calls("createReport")["calls"] == 0

    def test_given_many_settlement_reports_when_listing_then_every_page_is_read_with_next_token_alone(self, unseeded_hook):
        hook, sandbox = unseeded_hook
        ids = {sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content=f"s\n{n}\n")["reportId"] for n in range(5)}

        reports = hook.list_reports([SETTLEMENT], page_size=2)

        assert {r["reportId"] for r in reports} == ids
        assert sandbox.calls("getReports")["calls"] == 3

    def test_given_reports_older_than_90_days_when_listing_then_they_are_gone_and_created_since_is_clamped(self, unseeded_hook):
        hook, sandbox = unseeded_hook
        old = datetime.now(UTC) - timedelta(days=100)
        sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content="old\n", createdTime=old.isoformat())
        recent = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content="new\n")

        reports = hook.list_reports([SETTLEMENT], created_since=datetime.now(UTC) - timedelta(days=200))

        assert [r["reportId"] for r in reports] == [recent["reportId"]]

    def test_given_a_window_when_listing_by_creation_date_then_only_reports_created_in_it_return(self, unseeded_hook):
        hook, sandbox = unseeded_hook
        sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content="a\n",
                               createdTime=(datetime.now(UTC) - timedelta(days=10)).isoformat())
        inside = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content="b\n",
                                        createdTime=(datetime.now(UTC) - timedelta(days=3)).isoformat())

        reports = hook.list_reports([SETTLEMENT], created_since=datetime.now(UTC) - timedelta(days=5),
                                    created_until=datetime.now(UTC) - timedelta(days=1))

        assert [r["reportId"] for r in reports] == [inside["reportId"]]


class TestCancelledMeansNoData:
    """Amazon: "There are two ways a report can be cancelled: an explicit cancellation request before the
    report starts processing, or an automatic cancellation if there is no data to return." (Reports API,
    processingStatus). A CANCELLED report is "no document", never a failure."""

    def test_given_a_report_without_data_when_waiting_then_it_is_cancelled_and_yields_no_document(self, hook, sandbox, caplog):
        import logging

        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=["A1AM78C64UM0Y8"],  # Mexico: no orders
                                       data_start_time=datetime.now(UTC) - timedelta(days=30))

        with caplog.at_level(logging.INFO, logger="amazon_netsuite.amazon.hook"):
            report = hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)
            text = hook.download_report(report_id)

        assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
        assert text is None
        assert f"report {report_id} ({ORDERS_REPORT}, A1AM78C64UM0Y8) is CANCELLED" in caplog.text
        assert "no document" in caplog.text

    def test_given_a_fatal_report_then_it_still_fails(self, hook, sandbox):
        sandbox.fault("createReport", fault="FATAL", times=1)
        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=[US])

        with pytest.raises(ReportProcessingError, match="FATAL"):
            hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)


class TestMalformedReportLists:
    def test_given_reports_null_when_it_persists_then_listing_fails_after_retries(self, unseeded_hook, fast_hook_kwargs):
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        _, sandbox = unseeded_hook
        sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content="s\n")
        hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
        sandbox.fault("getReports", status=200, body='{"reports": null}', content_type="application/json", times=3)

        with pytest.raises(SellingPartnerApiError, match=r"getReports failed.*reports is null instead of a list.*after 3 attempts"):
            hook.list_reports([SETTLEMENT])

    def test_given_reports_null_on_a_later_page_when_it_persists_then_listing_fails_instead_of_ending(
        self, unseeded_hook, fast_hook_kwargs
    ):
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        _, sandbox = unseeded_hook
        for n in range(5):
            sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content=f"s\n{n}\n")
        hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
        real = hook._reports().get_reports
        pages: list[dict] = []

        def second_page_malformed(**query):
            if "nextToken" in query and not pages:
                pages.append(query)
                sandbox.fault("getReports", status=200, body='{"reports": null}', content_type="application/json", times=3)
            return real(**query)

        hook._reports().get_reports = second_page_malformed
        with pytest.raises(SellingPartnerApiError, match="reports is null"):
            hook.list_reports([SETTLEMENT], page_size=2)
        assert sandbox.calls("getReports")["calls"] == 1 + 3

    def test_given_reports_null_once_then_it_is_retried_and_every_report_is_listed(self, unseeded_hook):
        hook, sandbox = unseeded_hook
        ids = {sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[US], content=f"s\n{n}\n")["reportId"] for n in range(3)}
        sandbox.fault("getReports", status=200, body='{"reports": null}', content_type="application/json", times=1)

        assert {r["reportId"] for r in hook.list_reports([SETTLEMENT])} == ids
        assert sandbox.calls("getReports")["calls"] == 2


class TestReportRegions:
    def test_given_a_report_of_another_region_when_reading_it_then_this_endpoint_does_not_know_it(self, hook, eu_hook, sandbox):
        published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content=EU_TEXT, charset="Cp1252")

        with pytest.raises(SellingPartnerApiError, match="getReport failed with HTTP 404"):
            hook.get_report(published["reportId"])
        with pytest.raises(SellingPartnerApiError, match="getReportDocument failed with HTTP 404"):
            hook.get_report_document(published["reportDocumentId"])
        assert eu_hook.download_report(published["reportId"]) == EU_TEXT

    def test_given_more_than_ten_marketplaces_when_listing_then_they_are_sent_ten_at_a_time(self, eu_hook, sandbox):
        assert len(eu_hook.marketplace_ids) > 10  # the sandbox's EU connection lists every EU marketplace

        reports = eu_hook.list_reports([SETTLEMENT], created_since=datetime.now(UTC) - timedelta(days=30))

        assert reports and len({r["reportId"] for r in reports}) == len(reports)
        assert sandbox.calls("getReports", region="eu") == {"calls": 2, "throttled": 0, "records": 2 * len(reports), "errors": 0}

    def test_given_a_marketplace_of_another_region_when_creating_a_report_then_refused_before_calling(self, hook, sandbox):
        from amazon_netsuite.amazon.errors import MarketplaceRegionError

        with pytest.raises(MarketplaceRegionError, match="A1PA6795UKMFR9 \\(DE\\) belongs to SP-API region eu.*amazon_sp_api_eu"):
            hook.create_report(ORDERS_REPORT, marketplace_ids=[US, DE])
        assert sandbox.calls("createReport")["calls"] == 0


class TestMerchantListingsReport:
    """GET_MERCHANT_LISTINGS_ALL_DATA, built from the sandbox's listings state (what feeds and patches set)."""

    COLUMNS = ("item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date", "image-url",
               "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note", "item-condition",
               "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1", "asin2", "asin3",
               "will-ship-internationally", "expedited-shipping", "zshop-boldface", "product-id",
               "bid-for-featured-placement", "add-delete", "pending-quantity", "fulfillment-channel",
               "merchant-shipping-group", "status")

    def _rows(self, hook, marketplace_id):
        import csv
        import io

        report_id = hook.create_report("GET_MERCHANT_LISTINGS_ALL_DATA", marketplace_ids=[marketplace_id])
        report = hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)
        text = hook.download_report(report_id)
        assert report["processingStatus"] == "DONE"
        assert tuple(text.splitlines()[0].split("\t")) == self.COLUMNS
        return {r["seller-sku"]: r for r in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)}

    def test_given_a_quantity_set_at_amazon_then_the_report_shows_it_mfn_as_default_fba_without_quantity(self, hook, sandbox):
        from amazon_netsuite.transforms.reconciliation import parse_merchant_listings

        patch = [{"op": "replace", "path": "/attributes/fulfillment_availability",
                  "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 12}]}]
        assert hook.patch_listings_item("ACME-MUG-11OZ", "DRINKING_CUP", patch, marketplace_ids=[US])["status"] == "ACCEPTED"

        rows = self._rows(hook, US)

        mug, six, tee = rows["ACME-MUG-11OZ"], rows["ACME-MUG-11OZ-6PK"], rows["ACME-TEE-BLK-M"]
        assert (mug["quantity"], mug["fulfillment-channel"], mug["status"], mug["asin1"]) == ("12", "DEFAULT", "Active", "B0ACMEMUG1")
        assert (six["quantity"], six["status"]) == ("0", "Inactive")  # seeded at 0 until the inventory flow publishes
        assert (tee["quantity"], tee["fulfillment-channel"]) == ("", "AMAZON_NA")
        assert "ACME-KETTLE-UK" not in rows  # another region's listing
        report_id = hook.create_report("GET_MERCHANT_LISTINGS_ALL_DATA", marketplace_ids=[US])
        hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)
        parsed = parse_merchant_listings(hook.download_report(report_id))
        assert parsed["ACME-MUG-11OZ"] == 12 and "ACME-TEE-BLK-M" not in parsed

    def test_given_an_eu_marketplace_then_only_its_listings_with_the_eu_channel(self, eu_hook, sandbox):
        rows = self._rows(eu_hook, DE)
        assert rows["ACME-KETTLE-EU"]["fulfillment-channel"] == "DEFAULT"
        assert all(r["fulfillment-channel"] in ("DEFAULT", "AMAZON_EU") for r in rows.values())
        assert "ACME-KETTLE-UK" not in rows  # listed in the UK marketplace only
