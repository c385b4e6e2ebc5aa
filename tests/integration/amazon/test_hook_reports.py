"""SellingPartnerHook against the SP-API sandbox: Reports 2021-06-30 lifecycle, documents, RDTs."""

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

    def test_given_an_eu_orders_report_when_downloading_then_it_is_decoded_with_the_declared_cp1252(self, hook, sandbox):
        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=[DE],
                                       data_start_time=datetime.now(UTC) - timedelta(days=30))
        hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)

        assert "Amazon.de" in hook.download_report(report_id)

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
        hook = SellingPartnerHook(**fast_hook_kwargs)
        report_id = hook.create_report(ORDERS_REPORT, marketplace_ids=[US])

        hook.cancel_report(report_id)

        assert hook.get_report(report_id)["processingStatus"] == "CANCELLED"
        with pytest.raises(ReportProcessingError, match="CANCELLED"):
            hook.download_report(report_id)


class TestDocuments:
    @pytest.mark.parametrize("compression", [None, "GZIP"])
    @pytest.mark.parametrize("charset", ["UTF-8", "Cp1252", "ISO-8859-1"])
    def test_given_a_published_document_when_downloading_then_text_round_trips(self, hook, sandbox, compression, charset):
        text = EU_TEXT if charset != "ISO-8859-1" else EU_TEXT.replace("€", "EUR")
        published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content=text,
                                           charset=charset, compression=compression)

        assert hook.download_report(published["reportId"]) == text

    def test_given_a_restricted_report_when_downloading_then_a_restricted_data_token_is_used(self, hook, sandbox):
        published = sandbox.publish_report(reportType="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
                                           marketplaceIds=[US], content="amazon-order-id\tbuyer-name\n111-1\tX\n")

        assert hook.download_report(published["reportId"]).startswith("amazon-order-id")
        assert sandbox.calls("createRestrictedDataToken")["calls"] == 1
        with pytest.raises(SellingPartnerApiError, match="getReportDocument failed with HTTP 403: Unauthorized"):
            hook.download_report_document(published["reportDocumentId"], restricted=False)


    def test_given_an_expired_presigned_url_when_downloading_then_a_fresh_url_is_requested_once(self, hook, sandbox, monkeypatch):
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
    hook = SellingPartnerHook(**fast_hook_kwargs)
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
