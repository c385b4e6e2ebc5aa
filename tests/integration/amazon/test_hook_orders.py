"""SellingPartnerHook against the SP-API sandbox: Orders v2026-01-01, throttling, retries, tokens.

The ``hook`` fixture is the NA connection (amazon_sp_api_na): it sees the US and CA orders only.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from amazon_netsuite.amazon.errors import SellingPartnerApiError, SellingPartnerAuthError
from amazon_netsuite.amazon.hook import SellingPartnerHook

WINDOW_START = datetime.now(UTC) - timedelta(days=30)
NA_MARKETPLACES = {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"}


def _ids(orders):
    return [o["orderId"] for o in orders]


def _na(orders):
    """The orders the NA endpoint serves (the sandbox's admin listing holds every region's)."""
    return [o for o in orders if o["salesChannel"]["marketplaceId"] in NA_MARKETPLACES]


class TestSearchOrders:
    def test_given_seeded_orders_when_searching_a_window_then_every_page_is_read_and_each_order_arrives_once(self, hook, sandbox):
        orders = hook.search_orders(last_updated_after=WINDOW_START, page_size=7)

        expected = {o["orderId"] for o in _na(sandbox.orders())}
        assert Counter(_ids(orders)) == Counter(expected)
        assert sandbox.calls("searchOrders")["calls"] == -(-len(expected) // 7)

    def test_given_included_data_when_searching_then_sections_are_returned_only_when_asked(self, hook):
        bare = hook.search_orders(last_updated_after=WINDOW_START, included_data=())
        full = hook.search_orders(last_updated_after=WINDOW_START)

        assert not any("buyer" in o or "proceeds" in o for o in bare)
        assert any("proceeds" in o and "recipient" in o for o in full)
        amounts = [b["subtotal"]["amount"] for o in full for b in o["proceeds"]["breakdowns"]]
        assert all(isinstance(a, str) for a in amounts)

    def test_given_window_end_in_the_future_when_searching_then_end_is_clamped_to_two_minutes_ago(self, hook, sandbox):
        recent = dict(_na(sandbox.orders())[0], orderId="111-0000000-0000001")
        recent["lastUpdatedTime"] = (datetime.now(UTC) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sandbox.add_orders([recent])

        orders = hook.search_orders(last_updated_after=WINDOW_START, last_updated_before=datetime.now(UTC) + timedelta(hours=1))

        assert "111-0000000-0000001" not in _ids(orders)
        assert len(orders) == len(_na(sandbox.orders())) - 1

    def test_given_window_entirely_within_the_last_two_minutes_when_searching_then_no_call_is_made(self, hook, sandbox):
        assert hook.search_orders(last_updated_after=datetime.now(UTC) - timedelta(seconds=60)) == []
        assert sandbox.calls("searchOrders")["calls"] == 0

    def test_given_marketplace_and_channel_filters_when_searching_then_only_matching_orders_return(self, eu_hook, sandbox):
        orders = eu_hook.search_orders(last_updated_after=WINDOW_START, marketplace_ids=["A1PA6795UKMFR9"], fulfilled_by=["AMAZON"])

        expected = [o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == "A1PA6795UKMFR9"
                    and o["fulfillment"]["fulfilledBy"] == "AMAZON"]
        assert expected and sorted(_ids(orders)) == sorted(_ids(expected))


class TestThrottling:
    def test_given_window_larger_than_the_burst_when_searching_at_a_fast_rate_scale_then_bucket_paces_and_nothing_is_lost(
        self, start_sandbox, fast_hook_kwargs
    ):
        sandbox = start_sandbox(rate_scale=2000)  # searchOrders: 11.2 requests/s, burst 20
        hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
        started = time.monotonic()

        orders = hook.search_orders(last_updated_after=WINDOW_START, page_size=2)  # 35 pages > burst 20

        elapsed = time.monotonic() - started
        assert Counter(_ids(orders)) == Counter(_ids(_na(sandbox.orders())))
        assert sandbox.calls("searchOrders")["calls"] >= 30
        assert elapsed >= (30 - 20 - 1) / 11.2 * 0.8  # paced by the bucket once the burst is spent

    def test_given_a_429_storm_when_searching_then_hook_backs_off_and_every_order_arrives_exactly_once(self, hook, sandbox):
        iterator = hook.iter_orders(last_updated_after=WINDOW_START, page_size=10)
        first = next(iterator)
        sandbox.fault("searchOrders", status=429, times=6)

        orders = [first, *iterator]

        assert Counter(_ids(orders)) == Counter(_ids(_na(sandbox.orders())))
        assert sandbox.calls("searchOrders")["throttled"] == 6

    def test_given_sandbox_buckets_exceeded_when_calling_then_real_429s_carry_the_rate_limit_and_are_retried(
        self, start_sandbox, fast_hook_kwargs
    ):
        sandbox = start_sandbox(rate_scale=500)  # getOrder: 250/s; the hook starts from the plan's 0.5/s
        hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
        order_id = _na(sandbox.orders())[0]["orderId"]

        for _ in range(45):  # burst is 30
            assert hook.get_order(order_id)["orderId"] == order_id

        assert sandbox.calls("getOrder")["records"] == 45

    def test_given_429s_never_stop_when_calling_then_a_throttled_error_names_the_operation(self, sandbox, fast_hook_kwargs):
        hook = SellingPartnerHook("amazon_sp_api_na", max_throttle_retries=3, **fast_hook_kwargs)
        sandbox.fault("getOrder", status=429, times=10)

        with pytest.raises(SellingPartnerApiError, match=r"getOrder failed with HTTP 429: QuotaExceeded: You exceeded your quota"):
            hook.get_order("111-0000000-0000000")


class TestRetries:
    @pytest.mark.parametrize("status", [500, 503])
    def test_given_transient_server_errors_when_searching_then_hook_retries_and_succeeds(self, hook, sandbox, status):
        sandbox.fault("searchOrders", status=status, times=2)

        orders = hook.search_orders(last_updated_after=WINDOW_START)

        assert len(orders) == len(_na(sandbox.orders()))
        assert sandbox.calls("searchOrders")["calls"] == 2 + 1  # two failures, then the one page

    def test_given_persistent_5xx_when_calling_then_error_names_operation_after_bounded_attempts(self, sandbox, fast_hook_kwargs):
        hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
        sandbox.fault("getOrder", status=500, times=10)

        with pytest.raises(SellingPartnerApiError, match=r"getOrder failed with HTTP 500: InternalFailure.*after 3 attempts"):
            hook.get_order(_na(sandbox.orders())[0]["orderId"])
        assert sandbox.calls("getOrder")["calls"] == 3

    def test_given_a_slow_response_when_the_timeout_expires_then_the_call_is_retried(self, sandbox, fast_hook_kwargs):
        hook = SellingPartnerHook("amazon_sp_api_na", **{**fast_hook_kwargs, "timeout": 0.3})
        order_id = _na(sandbox.orders())[0]["orderId"]
        sandbox.fault("getOrder", delay=1.0, times=1)

        assert hook.get_order(order_id)["orderId"] == order_id
        assert sandbox.calls("getOrder")["calls"] == 2

    def test_given_unknown_order_when_getting_it_then_404_is_not_retried(self, hook, sandbox):
        with pytest.raises(SellingPartnerApiError, match="getOrder failed with HTTP 404: NotFound") as raised:
            hook.get_order("999-9999999-9999999")
        assert raised.value.status == 404
        assert sandbox.calls("getOrder")["calls"] == 1


PROXY_502 = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"


class TestNonJsonResponses:
    """A proxy or load balancer in front of Amazon answers with HTML, not Amazon's error JSON.

    python-amazon-sp-api turns such a body into an empty, successful-looking response: for
    searchOrders that means "no orders, no next page" and the rest of the window is lost.
    """

    def test_given_an_html_502_mid_window_when_searching_then_it_is_retried_and_every_order_arrives_once(self, hook, sandbox):
        iterator = hook.iter_orders(last_updated_after=WINDOW_START, page_size=10)
        first = next(iterator)
        sandbox.fault("searchOrders", status=502, body=PROXY_502, times=2)

        orders = [first, *iterator]

        assert Counter(_ids(orders)) == Counter(_ids(_na(sandbox.orders())))
        assert sandbox.calls("searchOrders")["calls"] == 7 + 2
        assert sandbox.calls("searchOrders")["errors"] == 2

    def test_given_html_502_never_stops_when_calling_then_error_names_status_and_proxy_after_bounded_attempts(
        self, sandbox, fast_hook_kwargs
    ):
        hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
        sandbox.fault("searchOrders", status=502, body=PROXY_502, times=10)

        with pytest.raises(SellingPartnerApiError, match=r"searchOrders failed with HTTP 502: HTTP502: .*proxy.*502 Bad Gateway nginx.*after 3 attempts") as raised:
            hook.search_orders(last_updated_after=WINDOW_START)
        assert raised.value.status == 502
        assert sandbox.calls("searchOrders")["calls"] == 3

    @pytest.mark.parametrize("body", [
        '{"errors": [{"code": "InternalFailure", "message": "We encountered an internal error. Please try again."}]}',
        '{"message": "Internal server error"}',  # a gateway's JSON, without Amazon's errors list
    ])
    def test_given_a_json_502_when_calling_then_it_is_retried_not_failed_as_unknown(self, hook, sandbox, body):
        # 502 has no exception class in python-amazon-sp-api: it became a generic, never-retried error "HTTP 999"
        sandbox.fault("getOrder", status=502, body=body, content_type="application/json", times=1)
        order_id = _na(sandbox.orders())[0]["orderId"]

        assert hook.get_order(order_id)["orderId"] == order_id
        assert sandbox.calls("getOrder")["calls"] == 2

    def test_given_a_200_with_a_non_json_body_when_searching_then_it_is_retried_instead_of_read_as_an_empty_page(self, hook, sandbox):
        iterator = hook.iter_orders(last_updated_after=WINDOW_START, page_size=10)
        first = next(iterator)
        sandbox.fault("searchOrders", status=200, body='{"orders": [{"orderId": "111-', content_type="application/json", times=1)

        orders = [first, *iterator]

        assert Counter(_ids(orders)) == Counter(_ids(_na(sandbox.orders())))
        assert sandbox.calls("searchOrders")["calls"] == 7 + 1

    def test_given_a_200_without_orders_when_searching_then_it_is_retried_instead_of_ending_the_window(self, hook, sandbox):
        sandbox.fault("searchOrders", status=200, body="{}", content_type="application/json", times=1)

        assert len(hook.search_orders(last_updated_after=WINDOW_START)) == len(_na(sandbox.orders()))
        assert sandbox.calls("searchOrders")["calls"] == 1 + 1

    def test_given_a_non_json_404_when_calling_then_it_fails_at_once_with_the_status(self, hook, sandbox):
        sandbox.fault("getOrder", status=404, body="<html><body>Not Found</body></html>", times=1)

        with pytest.raises(SellingPartnerApiError, match=r"getOrder failed with HTTP 404: HTTP404: .*Not Found") as raised:
            hook.get_order(_na(sandbox.orders())[0]["orderId"])
        assert raised.value.status == 404
        assert sandbox.calls("getOrder")["calls"] == 1

    def test_given_an_html_502_from_lwa_when_calling_then_the_token_request_is_retried(self, hook, sandbox):
        sandbox.fault("lwaToken", status=502, body=PROXY_502, times=1)
        order_id = _na(sandbox.orders())[0]["orderId"]

        assert hook.get_order(order_id)["orderId"] == order_id
        assert sandbox.calls("lwaToken")["calls"] == 2


class TestTokens:
    def test_given_the_access_token_expires_when_calling_then_it_is_refreshed_once_and_the_call_succeeds(self, hook, sandbox):
        order_id = _na(sandbox.orders())[0]["orderId"]
        hook.get_order(order_id)
        sandbox.fault("getOrder", fault="expire_token", times=1)

        assert hook.get_order(order_id)["orderId"] == order_id
        assert sandbox.calls("lwaToken")["calls"] == 2
        assert sandbox.calls("getOrder")["errors"] == 1

    def test_given_lwa_rejects_the_refresh_token_when_calling_then_auth_error_says_to_reauthorize(self, sandbox, monkeypatch, fast_hook_kwargs):
        import json
        import os

        conn = json.loads(os.environ["AIRFLOW_CONN_AMAZON_SP_API_NA"])
        conn["extra"]["refresh_token"] = "Atzr|revoked"
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(conn))

        with pytest.raises(SellingPartnerAuthError, match="invalid_grant.*re-authorize"):
            SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs).get_order("111-0000000-0000000")

    def test_given_lwa_fails_transiently_when_calling_then_the_token_request_is_retried(self, hook, sandbox):
        sandbox.fault("lwaToken", status=500, times=1)
        order_id = _na(sandbox.orders())[0]["orderId"]

        assert hook.get_order(order_id)["orderId"] == order_id
        assert sandbox.calls("lwaToken")["calls"] == 2

    def test_given_an_expired_pagination_token_when_paging_then_search_restarts_and_each_order_arrives_once(self, hook, sandbox):
        iterator = hook.iter_orders(last_updated_after=WINDOW_START, page_size=25)
        first_page = [next(iterator) for _ in range(25)]
        sandbox.fault("searchOrders", fault="expire_pagination_tokens", times=1)

        orders = first_page + list(iterator)

        assert Counter(_ids(orders)) == Counter(_ids(_na(sandbox.orders())))
        assert sandbox.calls("searchOrders")["errors"] == 1


class TestMalformedAnswers:
    """A 2xx whose orders list is null, missing or mistyped is malformed: retried, then a clear failure.

    ``payload["orders"] or []`` used to read ``{"orders": null}`` as an empty last page: the rest of
    the window was lost without a word.
    """

    @pytest.mark.parametrize("body", ['{"orders": null}', '{"orders": "none"}', '{"orders": [{"buyer": {}}]}',
                                      '{"pagination": {"nextToken": "x"}}'])
    def test_given_a_malformed_first_page_when_it_persists_then_the_call_fails_naming_it_and_no_order_is_yielded(
        self, sandbox, fast_hook_kwargs, body
    ):
        hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
        sandbox.fault("searchOrders", status=200, body=body, content_type="application/json", times=3)
        read: list[dict] = []

        with pytest.raises(SellingPartnerApiError, match=r"searchOrders failed.*2xx response .*orders.*after 3 attempts"):
            read.extend(hook.iter_orders(last_updated_after=WINDOW_START))
        assert read == []
        assert sandbox.calls("searchOrders")["calls"] == 3

    def test_given_orders_null_on_a_later_page_when_it_persists_then_the_search_fails_instead_of_ending(
        self, sandbox, fast_hook_kwargs
    ):
        hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
        iterator = hook.iter_orders(last_updated_after=WINDOW_START, page_size=10)
        first_page = [next(iterator) for _ in range(10)]
        sandbox.fault("searchOrders", status=200, body='{"orders": null}', content_type="application/json", times=3)

        with pytest.raises(SellingPartnerApiError, match=r"orders is null instead of a list.*after 3 attempts"):
            list(iterator)
        assert len(first_page) == 10

    @pytest.mark.parametrize("page", ["first", "later"])
    def test_given_orders_null_once_when_searching_then_it_is_retried_and_every_order_arrives_once(self, hook, sandbox, page):
        iterator = hook.iter_orders(last_updated_after=WINDOW_START, page_size=10)
        read = [] if page == "first" else [next(iterator)]
        sandbox.fault("searchOrders", status=200, body='{"orders": null}', content_type="application/json", times=1)

        read.extend(iterator)

        assert Counter(_ids(read)) == Counter(_ids(_na(sandbox.orders())))
        assert sandbox.calls("searchOrders")["calls"] == 7 + 1

    def test_given_order_null_when_getting_an_order_then_it_is_retried(self, hook, sandbox):
        order_id = _na(sandbox.orders())[0]["orderId"]
        sandbox.fault("getOrder", status=200, body='{"order": null}', content_type="application/json", times=1)

        assert hook.get_order(order_id)["orderId"] == order_id
        assert sandbox.calls("getOrder")["calls"] == 2


class TestRegions:
    """One connection per region: a marketplace of another region never reaches Amazon."""

    def test_given_a_marketplace_of_another_region_when_searching_then_refused_before_calling_naming_what_to_use(
        self, hook, sandbox
    ):
        from amazon_netsuite.amazon.errors import MarketplaceRegionError

        with pytest.raises(MarketplaceRegionError) as raised:
            hook.search_orders(last_updated_after=WINDOW_START, marketplace_ids=["ATVPDKIKX0DER", "A1PA6795UKMFR9"])

        message = str(raised.value)
        assert "A1PA6795UKMFR9 (DE)" in message and "region eu" in message
        assert "connection amazon_sp_api_na" in message and "use connection amazon_sp_api_eu" in message
        assert sandbox.calls("searchOrders")["calls"] == 0

    def test_given_an_unknown_marketplace_id_when_searching_then_refused_before_calling(self, hook, sandbox):
        from amazon_netsuite.amazon.errors import MarketplaceRegionError

        with pytest.raises(MarketplaceRegionError, match="A1NOTAMARKET is not a marketplace id of any SP-API region"):
            hook.search_orders(last_updated_after=WINDOW_START, marketplace_ids=["A1NOTAMARKET"])
        assert sandbox.calls("searchOrders")["calls"] == 0

    def test_given_a_connection_listing_another_regions_marketplace_when_used_then_config_error_names_both(
        self, sandbox, monkeypatch, fast_hook_kwargs
    ):
        import json
        import os

        from amazon_netsuite.amazon.errors import MarketplaceRegionError

        conn = json.loads(os.environ["AIRFLOW_CONN_AMAZON_SP_API_NA"])
        conn["extra"]["marketplace_ids"] = ["ATVPDKIKX0DER", "A1F83G8C2ARO7P"]
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(conn))

        with pytest.raises(MarketplaceRegionError, match=r"connection amazon_sp_api_na \(region na\): marketplace "
                                                         r"A1F83G8C2ARO7P \(UK\) belongs to SP-API region eu.*amazon_sp_api_eu"):
            SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs).search_orders(last_updated_after=WINDOW_START)
        assert sandbox.calls("searchOrders")["calls"] == 0

    def test_given_amazon_answers_not_valid_for_region_then_the_error_names_marketplaces_connection_and_endpoint(
        self, sandbox, monkeypatch, fast_hook_kwargs
    ):
        import json
        import os

        # region "na" and US marketplaces, but the EU authorization and endpoint: Amazon's 403 comes back
        conn = json.loads(os.environ["AIRFLOW_CONN_AMAZON_SP_API_EU"])
        conn["extra"].update(region="na", marketplace_ids=["ATVPDKIKX0DER"])
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_MISWIRED", json.dumps(conn))
        hook = SellingPartnerHook("amazon_sp_api_miswired", **fast_hook_kwargs)

        with pytest.raises(SellingPartnerApiError) as raised:
            hook.search_orders(last_updated_after=WINDOW_START)

        message = str(raised.value)
        assert raised.value.status == 403 and "The marketplaces you provided are not valid for region." in message
        assert "ATVPDKIKX0DER (US)" in message and "amazon_sp_api_miswired" in message
        assert f"{sandbox.url}/eu" in message and "https://sellingpartnerapi-na.amazon.com" in message
        assert "refresh_token" not in message.split("Amazon refused")[1]  # not "check the refresh token"

    def test_given_the_refresh_token_of_another_region_when_calling_then_403_says_each_region_is_authorized_apart(
        self, sandbox, monkeypatch, fast_hook_kwargs
    ):
        import json
        import os

        conn = json.loads(os.environ["AIRFLOW_CONN_AMAZON_SP_API_NA"])
        conn["extra"]["refresh_token"] = json.loads(os.environ["AIRFLOW_CONN_AMAZON_SP_API_EU"])["extra"]["refresh_token"]
        monkeypatch.setenv("AIRFLOW_CONN_AMAZON_SP_API_NA", json.dumps(conn))

        with pytest.raises(SellingPartnerApiError, match=r"HTTP 403.*amazon_sp_api_na holds a refresh_token the seller "
                                                         r"authorized for region na \(each region is authorized separately"):
            SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs).get_order(_na(sandbox.orders())[0]["orderId"])

    def test_given_an_order_of_another_region_when_getting_it_then_this_region_does_not_know_it(self, hook, eu_hook, sandbox):
        uk = next(o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == "A1F83G8C2ARO7P")

        with pytest.raises(SellingPartnerApiError, match="HTTP 404"):
            hook.get_order(uk["orderId"])
        assert eu_hook.get_order(uk["orderId"])["orderId"] == uk["orderId"]

    def test_given_both_regions_when_searching_then_each_hook_reads_its_own_buckets_and_orders(self, hook, eu_hook, sandbox):
        na, eu = hook.search_orders(last_updated_after=WINDOW_START), eu_hook.search_orders(last_updated_after=WINDOW_START)

        assert sorted(_ids(na + eu)) == sorted(_ids(sandbox.orders()))
        assert sandbox.calls("searchOrders", region="na")["calls"] == 1
        assert sandbox.calls("searchOrders", region="eu")["calls"] == 1


class TestProgress:
    def test_given_a_long_search_when_paging_then_progress_is_logged_every_n_pages_not_every_page(self, hook, caplog):
        import logging

        hook.progress_pages, hook.progress_seconds = 10, 3600.0

        with caplog.at_level(logging.INFO, logger="amazon_netsuite.amazon.hook"):
            orders = hook.search_orders(last_updated_after=WINDOW_START, page_size=2)  # 35 pages

        progress = [r.getMessage() for r in caplog.records if "so far" in r.getMessage()]
        assert progress == ["searchOrders: 10 pages, 20 orders so far (amazon_sp_api_na)",
                            "searchOrders: 20 pages, 40 orders so far (amazon_sp_api_na)",
                            "searchOrders: 30 pages, 60 orders so far (amazon_sp_api_na)"]
        assert len(orders) == 69
        emails = [o["buyer"]["buyerEmail"] for o in orders if "buyerEmail" in o.get("buyer", {})]
        assert emails and not any(email in caplog.text for email in emails)  # ids and counts only, never PII
