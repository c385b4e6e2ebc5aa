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
    _expect,
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
    monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(CONNECTION))
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
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(conn))

        with pytest.raises(SellingPartnerError, match="amazon_sp_api_na is missing extra.refresh_token"):
            SellingPartnerHook().config  # noqa: B018

    def test_given_a_connection_when_reading_then_endpoint_overrides_and_marketplaces_apply(self, hook):
        assert hook.config.endpoint == "http://127.0.0.1:1"
        assert hook.marketplace_ids == ["ATVPDKIKX0DER"]

    def test_given_no_endpoint_when_reading_then_the_region_endpoint_is_used(self, monkeypatch):
        conn = json.loads(json.dumps(CONNECTION))
        del conn["extra"]["endpoint"], conn["extra"]["lwa_endpoint"], conn["extra"]["region"]
        conn["extra"]["marketplace_ids"] = ["A1PA6795UKMFR9"]
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_EU", json.dumps(conn))

        config = SellingPartnerHook("amazon_sp_api_eu").config  # region from the connection id
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
            _expect(ApiResponse(payload={"pagination": {}}), "orders", list)

    @pytest.mark.parametrize("payload, message", [
        ({"orders": None}, "orders is null instead of a list"),
        ({"orders": {"orderId": "1"}}, "orders is an object instead of a list"),
        ({"orders": "[]"}, "orders is a string instead of a list"),
        ({"orders": [1, 2]}, "items that are not objects"),
        ({"orders": [{"orderId": None}]}, "items without orderId"),
    ])
    def test_given_a_null_or_mistyped_list_then_it_is_malformed_not_empty(self, payload, message):
        with pytest.raises(UnreadableResponseError, match=message):
            _expect(ApiResponse(**payload), "orders", list, item_id="orderId")

    def test_given_an_empty_list_then_it_is_an_empty_page(self):
        assert _expect(ApiResponse(orders=[]), "orders", list, item_id="orderId").payload == {"orders": []}


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


class TestRegionsConfiguration:
    def test_given_no_region_and_a_connection_id_without_one_then_error_says_to_set_it(self, monkeypatch):
        conn = json.loads(json.dumps(CONNECTION))
        del conn["extra"]["region"]
        monkeypatch.setenv("AIRFLOW_CONN_SELLER_TWO", json.dumps(conn))

        with pytest.raises(SellingPartnerError, match="seller_two: extra.region must be one of na, eu, fe"):
            SellingPartnerHook("seller_two").config  # noqa: B018

    def test_given_explicit_marketplaces_then_they_replace_the_connections(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(CONNECTION))

        assert SellingPartnerHook("amazon_sp_api_na", marketplace_ids=["A2EUQ1WTGCTBG2"]).marketplace_ids == ["A2EUQ1WTGCTBG2"]

    def test_given_explicit_marketplaces_of_another_region_then_error_names_marketplace_and_connections(self, monkeypatch):
        from amazon_netsuite.amazon.errors import MarketplaceRegionError

        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(CONNECTION))

        with pytest.raises(MarketplaceRegionError, match=r"amazon_sp_api_na \(region na\): marketplace A1VC38T7YXB528 "
                                                         r"\(JP\) belongs to SP-API region fe.*use connection amazon_sp_api_fe"):
            SellingPartnerHook("amazon_sp_api_na", marketplace_ids=["A1VC38T7YXB528"]).config  # noqa: B018


class TestHooksForTargets:
    def test_given_a_mapped_region_without_connection_then_one_error_names_it_and_how_to_add_it(self, monkeypatch):
        from amazon_netsuite.amazon.errors import SellingPartnerConfigError
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.mappings import SpApiTarget

        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(CONNECTION))
        monkeypatch.delenv("AIRFLOW_CONN_AMAZON_SP_API_EU", raising=False)
        monkeypatch.delenv("AIRFLOW_CONN_AMAZON_SP_API_FE", raising=False)
        targets = [SpApiTarget("amazon_sp_api_na", "na", ("ATVPDKIKX0DER",)),
                   SpApiTarget("amazon_sp_api_eu", "eu", ("A1F83G8C2ARO7P", "A1PA6795UKMFR9")),
                   SpApiTarget("amazon_sp_api_fe", "fe", ("A1VC38T7YXB528",))]

        with pytest.raises(SellingPartnerConfigError) as raised:
            hooks_for_targets(targets)

        message = str(raised.value)
        assert "2 problem(s)" in message
        assert "marketplaces.csv maps A1F83G8C2ARO7P (UK), A1PA6795UKMFR9 (DE) (region eu) to connection amazon_sp_api_eu" in message
        assert "Admin > Connections" in message and "AIRFLOW_CONN_AMAZON_SP_API_EU" in message and "AIRFLOW_CONN_AMAZON_SP_API_FE" in message

    def test_given_one_region_only_then_only_its_connection_is_needed(self, monkeypatch):
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.mappings import SpApiTarget

        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(CONNECTION))
        monkeypatch.delenv("AIRFLOW_CONN_AMAZON_SP_API_EU", raising=False)

        hooks = hooks_for_targets([SpApiTarget("amazon_sp_api_na", "na", ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"))])

        assert [(h.sp_api_conn_id, h.region, h.marketplace_ids) for h in hooks] == [
            ("amazon_sp_api_na", "na", ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])]

    def test_given_a_target_on_a_connection_of_another_region_then_error(self, monkeypatch):
        from amazon_netsuite.amazon.errors import SellingPartnerConfigError
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.mappings import SpApiTarget

        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(CONNECTION))

        with pytest.raises(SellingPartnerConfigError, match="A1F83G8C2ARO7P \\(UK\\) belongs to SP-API region eu"):
            hooks_for_targets([SpApiTarget("amazon_sp_api_na", "eu", ("A1F83G8C2ARO7P",))])

    def test_given_marketplaces_then_their_connection_is_found(self):
        from amazon_netsuite.amazon.hook import conn_id_for_marketplaces
        from amazon_netsuite.mappings import load_mappings

        assert conn_id_for_marketplaces(["A28R8C7NBKEWEA", "A1F83G8C2ARO7P"]) == "amazon_sp_api_eu"
        assert conn_id_for_marketplaces(["ATVPDKIKX0DER"], load_mappings()) == "amazon_sp_api_na"
        with pytest.raises(SellingPartnerError, match="no SP-API region serves"):
            conn_id_for_marketplaces(["A1NOTAMARKET"])


class TestProgressLogs:
    def test_given_a_long_usage_plan_wait_when_calling_then_it_is_logged_once_as_it_starts(self, hook, monkeypatch, caplog):
        import logging

        from amazon_netsuite.amazon import hook as hook_module
        from amazon_netsuite.amazon.throttling import TokenBucket

        now = [0.0]

        def sleep(seconds: float) -> None:
            now[0] += seconds

        bucket = TokenBucket(0.0056, 1, clock=lambda: now[0], sleep=sleep)
        monkeypatch.setattr(hook_module.RATE_LIMITER, "bucket", lambda scope, operation: bucket)

        with caplog.at_level(logging.INFO, logger="amazon_netsuite.amazon.hook"):
            hook._call("searchOrders", _sequence(_ok("0.0056"), _ok("0.0056")))
            hook._call("searchOrders", _sequence(_ok("0.0056")))

        waits = [r.getMessage() for r in caplog.records if "throttled by the usage plan" in r.getMessage()]
        assert waits == ["searchOrders: throttled by the usage plan (0.0056 requests/s), next call in 179 s"]

    def test_given_short_waits_when_calling_then_nothing_is_logged(self, hook, monkeypatch, caplog):
        import logging

        from amazon_netsuite.amazon import hook as hook_module
        from amazon_netsuite.amazon.throttling import TokenBucket

        now = [0.0]
        bucket = TokenBucket(2.0, 1, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
        monkeypatch.setattr(hook_module.RATE_LIMITER, "bucket", lambda scope, operation: bucket)

        with caplog.at_level(logging.INFO, logger="amazon_netsuite.amazon.hook"):
            for _ in range(20):
                hook._call("getReport", _sequence(_ok("2")))

        assert now[0] == pytest.approx(9.5)
        assert "throttled by the usage plan" not in caplog.text
