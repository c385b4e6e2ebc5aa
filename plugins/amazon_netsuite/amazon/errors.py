"""Errors raised by the SP-API hook: each names the operation, Amazon's error and what to do next."""

from __future__ import annotations


class SellingPartnerError(Exception):
    """Base class of every error the Amazon side of the project raises."""


class SellingPartnerApiError(SellingPartnerError):
    """An SP-API call failed for good (after the retries that apply to its status)."""

    def __init__(self, operation: str, status: int | None, errors: list[dict] | None, hint: str = "") -> None:
        self.operation = operation
        self.status = status
        self.errors = errors or []
        first = self.errors[0] if self.errors else {}
        self.code = first.get("code")
        self.amazon_message = first.get("message")
        self.details = first.get("details")
        text = f"SP-API {operation} failed"
        if status is not None:
            text += f" with HTTP {status}"
        if self.code or self.amazon_message:
            text += f": {self.code}: {self.amazon_message}"
        if self.details:
            text += f" ({self.details})"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class SellingPartnerThrottledError(SellingPartnerApiError):
    """Still throttled (429 QuotaExceeded) after every backoff: the Airflow task retry takes over."""


class SellingPartnerAuthError(SellingPartnerError):
    """LWA refused the connection's credentials (client id/secret or refresh token)."""


class PaginationTokenExpiredError(SellingPartnerApiError):
    """A searchOrders pagination token older than 24 hours (or otherwise no longer valid)."""


class ReportProcessingError(SellingPartnerError):
    """A report ended FATAL; ``error_document`` is Amazon's explanation, when it gave one.

    (CANCELLED is not a failure: Amazon cancels a report on its own when there is no data to return,
    so the hook, operator and trigger answer "no document" for it.)"""

    def __init__(self, report_id: str, report_type: str | None, status: str, error_document: str | None = None) -> None:
        self.report_id = report_id
        self.report_type = report_type
        self.status = status
        self.error_document = error_document
        text = f"Amazon report {report_id} ({report_type or 'unknown type'}) ended {status}"
        if error_document:
            text += f"; Amazon's error document: {error_document.strip()[:2000]}"
        if status == "FATAL":
            text += ". Check the report parameters (type, marketplaces, data window) and request it again."
        else:
            text += ". It was cancelled before processing: request it again."
        super().__init__(text)


class ReportDocumentDecodeError(SellingPartnerError):
    """A report document could not be decompressed or decoded with its declared charset."""


class SellingPartnerConfigError(SellingPartnerError):
    """The SP-API configuration cannot work: a missing connection, a marketplace on the wrong region's
    connection. Raised before any call; the message says which connection to add or fix, and how."""


class MarketplaceRegionError(SellingPartnerConfigError):
    """A call would name a marketplace its connection's regional endpoint does not serve (Amazon refuses
    the whole call with 403 "The marketplaces you provided are not valid for region.")."""

    def __init__(self, message: str, *, conn_id: str, region: str, marketplace_ids: list[str]) -> None:
        self.conn_id = conn_id
        self.region = region
        self.marketplace_ids = marketplace_ids
        super().__init__(message)


class FeedProcessingError(SellingPartnerError):
    """A feed ended FATAL (or CANCELLED): none of its messages were applied.

    ``report`` is Amazon's processing report (JSON_LISTINGS_FEED: ``header``, ``issues``, ``summary``)
    when Amazon wrote one; its issues say why the whole feed was refused.
    """

    def __init__(self, feed_id: str, feed_type: str | None, status: str, report: dict | str | None) -> None:
        self.feed_id = feed_id
        self.feed_type = feed_type
        self.status = status
        self.report = report
        if isinstance(report, dict):
            errors = [f"[{i.get('code', '-')}] {i.get('message')}" for i in report.get("issues") or [] if i.get("severity") == "ERROR"]
            detail = "; ".join(errors[:5]) or "no issues listed"
        else:
            detail = str(report)[:500] if report else "no processing report"
        super().__init__(
            f"feed {feed_id} ({feed_type}) ended {status}: Amazon applied none of its messages. Amazon's report: {detail}. "
            "Fix the cause, then clear the task: a FATAL feed is submitted again as a new feed"
        )
