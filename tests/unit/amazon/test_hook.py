from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sp_api.base import ApiResponse
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
)

from amazon_netsuite.amazon.errors import (
    SellingPartnerApiError,
    SellingPartnerError,
    SellingPartnerThrottledError,
)
from amazon_netsuite.amazon.hook import (
    SellingPartnerHook,
    UnreadableResponseError,
    _expect_keys,
    _is_access_token_error,
    _is_pagination_token_error,
    _raise_for_unparsed_response,
    clamp_order_window,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
QUOTA_EXCEEDED = [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}]
EXPIRED = [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": "The access token you provided has expired."}]
DENIED = [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]
INTERNAL = [{"code": "InternalFailure", "message": "We encountered an internal error. Please try again.", "details": ""}]
INVALID_INPUT = [{"code": "InvalidInput", "message": "The input you have submitted is not valid. Please check your input and try again.", "details": ""}]
CONNECTION = {
    "conn_type": "amazon_sp_api", "login": "amzn1.application-oa2-client.x", "password": "secret",
    "extra": {"refresh_token": "Atzr|x", "seller_id": "A1", "region": "na", "marketplace_ids": ["ATVPDKIKX0DER"],
              "endpoint": "http://127.0.0.1:1", "lwa_endpoint": "http://127.0.0.1:1/auth/o2/token"},
}


@pytest.fixture
def hook(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_DEFAULT", json.dumps(CONNECTION))
    sleeps: list[float] = []
    hook = SellingPartnerHook(backoff_base=0.01, backoff_max=0.02, max_attempts=3, max_throttle_retries=4, sleep=sleeps.append)
    hook.sleeps = sleeps
    return hook


def _sequence(*outcomes):
    calls = []

    def fn():
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    fn.calls = calls
    return fn


def _ok(rate: str = "100") -> ApiResponse:
    return ApiResponse(payload={"ok": True}, headers=httpx.Headers({"x-amzn-RateLimit-Limit": rate}))


class TestOrderWindow:
    def test_given_a_window_ending_now_when_clamping_then_the_end_is_two_minutes_ago(self):
        start, end = clamp_order_window(NOW - timedelta(hours=1), NOW, now=NOW)

        assert start == NOW - timedelta(hours=1)
        assert end == NOW - timedelta(minutes=2)

    def test_given_an_old_window_when_clamping_then_it_is_unchanged(self):
        assert clamp_order_window(NOW - timedelta(days=2), NOW - timedelta(days=1), now=NOW) == (NOW - timedelta(days=2), NOW - timedelta(days=1))

    def test_given_a_window_inside_the_last_two_minutes_when_clamping_then_it_is_empty(self):
        assert clamp_order_window(NOW - timedelta(seconds=90), None, now=NOW) is None

    def test_given_a_naive_datetime_when_clamping_then_it_is_refused(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            clamp_order_window(datetime(2026, 1, 1), None, now=NOW)  # noqa: DTZ001

    def test_given_iso_strings_with_z_when_clamping_then_they_parse_as_utc(self):
        assert clamp_order_window("2026-02-28T00:00:00Z", "2026-02-28T06:00:00Z", now=NOW)[1] == datetime(2026, 2, 28, 6, tzinfo=UTC)


class TestConnection:
    def test_given_a_connection_without_refresh_token_when_reading_then_error_names_the_field(self, monkeypatch):
        conn = json.loads(json.dumps(CONNECTION))
        del conn["extra"]["refresh_token"]
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_DEFAULT", json.dumps(conn))

        with pytest.raises(SellingPartnerError, match="amazon_sp_api_default is missing extra.refresh_token"):
            SellingPartnerHook().config  # noqa: B018

    def test_given_a_connection_when_reading_then_endpoint_overrides_and_marketplaces_apply(self, hook):
        assert hook.config.endpoint == "http://127.0.0.1:1"
        assert hook.marketplace_ids == ["ATVPDKIKX0DER"]

    def test_given_no_endpoint_when_reading_then_the_region_endpoint_is_used(self, monkeypatch):
        conn = json.loads(json.dumps(CONNECTION))
        del conn["extra"]["endpoint"], conn["extra"]["lwa_endpoint"]
        conn["extra"]["region"] = "eu"
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_DEFAULT", json.dumps(conn))

        config = SellingPartnerHook().config
        assert config.endpoint == "https://sellingpartnerapi-eu.amazon.com"
        assert config.lwa_endpoint == "https://api.amazon.com/auth/o2/token"


class TestCall:
    def test_given_quota_exceeded_when_calling_then_it_backs_off_and_retries(self, hook):
        fn = _sequence(SellingApiRequestThrottledException(QUOTA_EXCEEDED, headers={"x-amzn-RateLimit-Limit": "100"}), _ok())

        assert hook._call("getReport", fn).payload == {"ok": True}
        assert len(fn.calls) == 2

    def test_given_endless_quota_exceeded_when_calling_then_a_throttled_error_is_raised(self, hook):
        fn = _sequence(*[SellingApiRequestThrottledException(QUOTA_EXCEEDED, headers={"x-amzn-RateLimit-Limit": "100"})] * 5)

        with pytest.raises(SellingPartnerThrottledError, match="getReport failed with HTTP 429: QuotaExceeded: You exceeded your quota for the requested resource"):
            hook._call("getReport", fn)

    def test_given_internal_failure_when_calling_then_bounded_exponential_backoff(self, hook):
        fn = _sequence(SellingApiServerException(INTERNAL), SellingApiServerException(INTERNAL), SellingApiServerException(INTERNAL))

        with pytest.raises(SellingPartnerApiError, match="InternalFailure: We encountered an internal error. Please try again.*after 3 attempts"):
            hook._call("getReport", fn)
        assert len(hook.sleeps) == 2 and all(s <= 0.02 for s in hook.sleeps)

    def test_given_a_network_error_when_calling_then_it_is_retried(self, hook):
        fn = _sequence(httpx.ConnectError("connection refused"), _ok())

        assert hook._call("getReport", fn).payload == {"ok": True}

    def test_given_an_expired_access_token_when_calling_then_it_is_refreshed_exactly_once(self, hook):
        fn = _sequence(SellingApiForbiddenException(EXPIRED), SellingApiForbiddenException(EXPIRED))

        with pytest.raises(SellingPartnerApiError, match="HTTP 403: Unauthorized: Access to requested resource is denied. \\(The access token you provided has expired.\\)"):
            hook._call("getReport", fn)
        assert len(fn.calls) == 2

    def test_given_access_denied_without_token_hint_when_calling_then_it_fails_at_once_with_a_role_hint(self, hook):
        fn = _sequence(SellingApiForbiddenException(DENIED))

        with pytest.raises(SellingPartnerApiError, match="role"):
            hook._call("getReport", fn)
        assert len(fn.calls) == 1

    def test_given_invalid_input_when_calling_then_it_is_not_retried(self, hook):
        fn = _sequence(SellingApiBadRequestException(INVALID_INPUT))

        with pytest.raises(SellingPartnerApiError, match="searchOrders failed with HTTP 400: InvalidInput"):
            hook._call("searchOrders", fn)
        assert len(fn.calls) == 1


class TestErrorClassification:
    def test_given_amazons_expired_token_wording_then_it_is_an_access_token_error(self):
        assert _is_access_token_error(EXPIRED)
        assert _is_access_token_error([{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                        "details": "The access token you provided is revoked, malformed or invalid."}])
        assert not _is_access_token_error(DENIED)

    def test_given_a_pagination_token_error_then_it_is_recognised(self):
        error = SellingPartnerApiError("searchOrders", 400, [{"code": "InvalidInput", "message": INVALID_INPUT[0]["message"],
                                                               "details": "The paginationToken has expired. Pagination tokens are valid for 24 hours."}])
        assert _is_pagination_token_error(error)
        assert not _is_pagination_token_error(SellingPartnerApiError("searchOrders", 400, INVALID_INPUT))


class TestUnparsedResponses:
    """python-amazon-sp-api only raises for JSON bodies with an ``errors`` list; the hook's clients raise for the rest."""

    URL = "https://sellingpartnerapi-na.amazon.com/orders/2026-01-01/orders"

    def _response(self, status: int, content: bytes, content_type: str = "text/html") -> httpx.Response:
        return httpx.Response(status, content=content, headers={"content-type": content_type}, request=httpx.Request("GET", self.URL))

    def test_given_an_html_502_then_a_retryable_server_error_with_the_real_status_is_raised(self):
        response = self._response(502, b"<html><title>502 Bad Gateway</title><body>nginx</body></html>")

        with pytest.raises(SellingApiServerException) as raised:
            _raise_for_unparsed_response(response, method="GET", res_no_data=False)
        assert raised.value.code == 502
        assert raised.value.error[0]["code"] == "HTTP502"
        assert "502 Bad Gateway nginx" in raised.value.error[0]["details"]

    def test_given_amazons_json_error_then_it_is_raised_with_amazons_errors_and_status(self):
        response = self._response(400, json.dumps({"errors": INVALID_INPUT}).encode(), "application/json")

        with pytest.raises(SellingApiBadRequestException) as raised:
            _raise_for_unparsed_response(response, method="GET", res_no_data=False)
        assert raised.value.error == INVALID_INPUT and raised.value.code == 400

    def test_given_a_truncated_2xx_order_page_then_the_error_never_quotes_the_body(self):
        response = self._response(200, b'{"orders": [{"orderId": "111-1", "buyer": {"buyerName": "Jane Roe", "buyerEmail": "jane@', "application/json")

        with pytest.raises(UnreadableResponseError) as raised:
            _raise_for_unparsed_response(response, method="GET", res_no_data=False)
        assert "Jane" not in str(raised.value) and "jane@" not in str(raised.value)
        assert "not a JSON document" in str(raised.value)

    def test_given_an_empty_2xx_to_a_delete_then_it_is_accepted(self):
        _raise_for_unparsed_response(self._response(200, b""), method="DELETE", res_no_data=False)

    def test_given_a_2xx_json_body_then_nothing_is_raised(self):
        _raise_for_unparsed_response(self._response(200, b'{"orders": []}', "application/json"), method="GET", res_no_data=False)

    def test_given_an_unreadable_response_when_calling_then_it_is_retried(self, hook):
        fn = _sequence(UnreadableResponseError(200, "HTTP 200 with a body that is not a JSON document"), _ok())

        assert hook._call("getReport", fn).payload == {"ok": True}
        assert len(fn.calls) == 2

    def test_given_a_payload_without_the_required_key_then_it_is_unreadable(self):
        with pytest.raises(UnreadableResponseError, match="without orders"):
            _expect_keys(ApiResponse(payload={"pagination": {}}), "orders")


class TestLibraryLogging:
    def test_given_debug_logging_when_building_a_client_then_the_library_does_not_log_response_bodies(self, hook):
        import logging

        from sp_api.api import Reports

        library_log, root = logging.getLogger("sp_api"), logging.getLogger()
        saved = library_log.level, root.level
        library_log.setLevel(logging.NOTSET)
        root.setLevel(logging.DEBUG)
        try:
            hook._build_client(Reports)

            assert not logging.getLogger("sp_api.base.client").isEnabledFor(logging.DEBUG)
        finally:
            library_log.setLevel(saved[0])
            root.setLevel(saved[1])
