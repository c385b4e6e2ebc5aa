"""Client-side rate limiting: one token bucket per SP-API operation.

Defaults are the "Usage Plan" tables of Amazon's model files (a unit test checks them against the
models); the rate follows the ``x-amzn-RateLimit-Limit`` header of every response, which is the
plan Amazon actually applies to this seller. Buckets live per process (Airflow pools bound the
concurrency across workers) and 429 backoff handles the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

#: operationId -> (requests per second, burst), from the model files in selling-partner-api-models.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getReports": (0.0222, 10),
    "createReport": (0.0167, 15),
    "cancelReport": (0.0222, 10),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "createRestrictedDataToken": (1.0, 10),
    "listFinancialEvents": (0.5, 30),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "getListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "putListingsItem": (5.0, 10),
    "deleteListingsItem": (5.0, 5),
    "getInventorySummaries": (2.0, 2),
    "confirmShipment": (2.0, 10),
    "getDestinations": (1.0, 5),
    "createDestination": (1.0, 5),
    "getSubscription": (1.0, 5),
    "createSubscription": (1.0, 5),
}
DEFAULT_PLAN = (1.0, 5)
#: Calls that are not SP-API operations (the S3 document download) but go through the same retry path.
#: Plans Amazon documents outside the model files: putListingsItem/patchListingsItem with
#: mode=VALIDATION_PREVIEW are throttled at 1 request per second (changelog, 2024-01-31; burst not stated: 1).
DOCUMENTED_PLANS: dict[str, tuple[float, int]] = {"putListingsItemPreview": (1.0, 1), "patchListingsItemPreview": (1.0, 1)}
LOCAL_PLANS: dict[str, tuple[float, int]] = {**DOCUMENTED_PLANS, "downloadReportDocument": (50.0, 50), "uploadFeedDocument": (50.0, 50),
                                             "downloadFeedDocument": (50.0, 50)}


def parse_rate_limit(headers: Mapping[str, str] | None) -> float | None:
    """The rate in ``x-amzn-RateLimit-Limit`` (requests per second), or None when absent or invalid."""
    if not headers:
        return None
    value = headers.get("x-amzn-RateLimit-Limit") or headers.get("x-amzn-ratelimit-limit")
    try:
        rate = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return rate if rate and rate > 0 else None


class TokenBucket:
    """A blocking token bucket: ``acquire`` waits until a request may be sent."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self, on_wait: Callable[[float], None] | None = None) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited.

        ``on_wait(seconds)`` is called before each sleep (the hook logs long waits as they start).
        """
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                delay = (1.0 - self._tokens) / self.rate
            if on_wait is not None:
                on_wait(delay)
            self._sleep(delay)
            waited += delay

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self.rate = rate

    def drain(self) -> None:
        """Amazon said 429: our view of the bucket was optimistic, so start refilling from empty."""
        with self._lock:
            self._tokens = 0.0
            self._updated = self._clock()

    @property
    def interval(self) -> float:
        """Seconds between two requests at the current rate (what a 429 backoff waits at least)."""
        return 1.0 / self.rate


class RateLimiter:
    """The buckets of one process, keyed by (endpoint, seller, operation)."""

    _lock = threading.Lock()

    def __init__(self, plans: Mapping[str, tuple[float, int]] | None = None) -> None:
        self.plans = dict(plans or {**USAGE_PLANS, **LOCAL_PLANS})
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def bucket(self, scope: str, operation: str) -> TokenBucket:
        key = (scope, operation)
        with self._lock:
            if key not in self._buckets:
                rate, burst = self.plans.get(operation, DEFAULT_PLAN)
                self._buckets[key] = TokenBucket(rate, burst)
            return self._buckets[key]

    def update_from_headers(self, scope: str, operation: str, headers: Mapping[str, str] | None) -> None:
        rate = parse_rate_limit(headers)
        if rate is not None:
            bucket = self.bucket(scope, operation)
            if abs(bucket.rate - rate) > 1e-9:
                bucket.set_rate(rate)


#: Shared by every hook of the process, as Amazon's buckets are shared by every caller of a seller.
RATE_LIMITER = RateLimiter()
