from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from amazon_netsuite.amazon.throttling import USAGE_PLANS, RateLimiter, TokenBucket, parse_rate_limit
from sandbox.amazon import limits as sandbox_limits

MODELS = ("orders_2026-01-01.json", "ordersV0.json", "reports_2021-06-30.json", "tokens_2021-03-01.json", "notifications.json",
          "financesV0.json",
          "feeds_2021-06-30.json", "listingsItems_2021-08-01.json", "fbaInventory.json")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _model_plans(reference_dir) -> dict[str, tuple[Decimal, int]]:
    plans = {}
    for name in MODELS:
        model = json.loads((reference_dir / "sp-api-models" / "models" / name).read_text())
        for methods in model["paths"].values():
            for method, op in methods.items():
                if method == "parameters" or not isinstance(op, dict) or "operationId" not in op:
                    continue
                match = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", op.get("description", ""))
                if match:
                    plans[op["operationId"]] = (Decimal(match.group(1)), int(match.group(2)))
    return plans


class TestUsagePlans:
    def test_given_the_model_files_when_comparing_then_hook_defaults_are_amazons_usage_plans(self, reference_dir):
        plans = _model_plans(reference_dir)
        for operation, (rate, burst) in USAGE_PLANS.items():
            assert (Decimal(str(rate)), burst) == plans[operation], operation

    def test_given_the_model_files_when_comparing_then_sandbox_plans_are_amazons_usage_plans(self, reference_dir):
        plans = _model_plans(reference_dir)
        for operation, plan in sandbox_limits.USAGE_PLANS.items():
            assert plan == plans[operation], operation


class TestTokenBucket:
    def test_given_a_full_bucket_when_acquiring_the_burst_then_no_wait_and_the_next_waits_one_interval(self):
        clock = FakeClock()
        bucket = TokenBucket(0.5, 3, clock=clock, sleep=clock.sleep)

        waits = [bucket.acquire() for _ in range(4)]

        assert waits[:3] == [0, 0, 0]
        assert waits[3] == pytest.approx(2.0)

    def test_given_an_empty_bucket_when_acquiring_then_on_wait_hears_the_wait_before_it_starts(self):
        clock = FakeClock()
        bucket = TokenBucket(0.0056, 1, clock=clock, sleep=clock.sleep)
        heard: list[tuple[float, float]] = []

        bucket.acquire(on_wait=lambda s: heard.append((clock.now, s)))
        bucket.acquire(on_wait=lambda s: heard.append((clock.now, s)))

        assert heard == [(0.0, pytest.approx(1 / 0.0056))]

    def test_given_a_429_when_draining_then_the_next_request_waits_one_over_rate(self):
        clock = FakeClock()
        bucket = TokenBucket(0.0056, 20, clock=clock, sleep=clock.sleep)
        bucket.drain()

        assert bucket.acquire() == pytest.approx(1 / 0.0056)

    def test_given_a_rate_limit_header_when_updating_then_the_bucket_follows_amazons_rate(self):
        limiter = RateLimiter()
        limiter.update_from_headers("seller", "searchOrders", {"x-amzn-RateLimit-Limit": "0.0167"})

        assert limiter.bucket("seller", "searchOrders").rate == pytest.approx(0.0167)
        assert limiter.bucket("seller", "searchOrders").burst == 20

    @pytest.mark.parametrize("headers, expected", [
        ({"x-amzn-RateLimit-Limit": "2.0"}, 2.0),
        ({"x-amzn-ratelimit-limit": "0.5"}, 0.5),
        ({"x-amzn-RateLimit-Limit": "abc"}, None),
        ({"x-amzn-RateLimit-Limit": "0"}, None),
        ({}, None),
        (None, None),
    ])
    def test_given_headers_when_parsing_the_rate_limit_then_only_positive_numbers_count(self, headers, expected):
        assert parse_rate_limit(headers) == expected


class TestSandboxBucket:
    def test_given_rate_scale_when_building_buckets_then_rates_scale_and_bursts_do_not(self):
        limiter = sandbox_limits.RateLimiter(rate_scale=1000)

        assert limiter.buckets["searchOrders"].rate == pytest.approx(5.6)
        assert limiter.buckets["searchOrders"].burst == 20
        assert limiter.limit_header("searchOrders") == "5.6"
