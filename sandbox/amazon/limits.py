"""Usage plans, token buckets and fault injection of the SP-API emulator.

Amazon meters every operation with a token bucket (rate = requests per second, burst = bucket
size) and answers ``429 QuotaExceeded`` when the bucket is empty. The default plans below are the
"Usage Plan" tables of the model files (``tests/unit/amazon`` checks them against the models).
Amazon meters each region separately: the emulator keeps one ``RateLimiter`` per region.
``rate_scale`` multiplies the rate only: the burst is a number of requests, and scaling it would
hide exactly the throttling that tests and demos need to see.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

#: operationId -> (rate per second, burst), as published in the model files.
USAGE_PLANS: dict[str, tuple[Decimal, int]] = {
    "searchOrders": (Decimal("0.0056"), 20),
    "getOrder": (Decimal("0.5"), 30),
    "getReports": (Decimal("0.0222"), 10),
    "createReport": (Decimal("0.0167"), 15),
    "cancelReport": (Decimal("0.0222"), 10),
    "getReport": (Decimal("2"), 15),
    "getReportDocument": (Decimal("0.0167"), 15),
    "createRestrictedDataToken": (Decimal("1"), 10),
    "getDestinations": (Decimal("1"), 5),
    "listFinancialEvents": (Decimal("0.5"), 30),
    "createFeedDocument": (Decimal("0.5"), 15),
    "createFeed": (Decimal("0.0083"), 15),
    "getFeed": (Decimal("2"), 15),
    "getFeedDocument": (Decimal("0.0222"), 10),
    "getListingsItem": (Decimal("5"), 10),
    "patchListingsItem": (Decimal("5"), 5),
    "putListingsItem": (Decimal("5"), 10),
    "deleteListingsItem": (Decimal("5"), 5),
    "getInventorySummaries": (Decimal("2"), 2),
    # Orders API v0 (the only shipment-confirmation path for merchant-fulfilled orders)
    "confirmShipment": (Decimal("2"), 10),
    "createDestination": (Decimal("1"), 5),
    "createSubscription": (Decimal("1"), 5),
    "getSubscription": (Decimal("1"), 5),
}
#: Plans Amazon documents outside the model files: putListingsItem/patchListingsItem with
#: mode=VALIDATION_PREVIEW are throttled at 1 request per second (changelog, 2024-01-31; burst not stated: 1).
DOCUMENTED_PLANS: dict[str, tuple[Decimal, int]] = {"putListingsItemPreview": (Decimal("1"), 1),
                                                    "patchListingsItemPreview": (Decimal("1"), 1)}


class TokenBucket:
    """Thread-safe token bucket; ``try_take`` never blocks (the server answers 429 instead)."""

    def __init__(self, rate: float, burst: int, *, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_take(self) -> bool:
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def reset(self) -> None:
        with self._lock:
            self._tokens = float(self.burst)
            self._updated = self._clock()


class RateLimiter:
    """One bucket per operation, rates multiplied by ``rate_scale``."""

    def __init__(self, rate_scale: float = 1.0) -> None:
        self.rate_scale = rate_scale
        self.buckets = {
            name: TokenBucket(float(rate) * rate_scale, burst)
            for name, (rate, burst) in {**USAGE_PLANS, **DOCUMENTED_PLANS}.items()
        }

    def allow(self, operation: str) -> bool:
        bucket = self.buckets.get(operation)
        return True if bucket is None else bucket.try_take()

    def limit_header(self, operation: str) -> str | None:
        """The value of ``x-amzn-RateLimit-Limit`` for ``operation`` (the rate in force)."""
        bucket = self.buckets.get(operation)
        if bucket is None:
            return None
        return format(Decimal(str(bucket.rate)).normalize(), "f")

    def reset(self) -> None:
        for bucket in self.buckets.values():
            bucket.reset()


@dataclass
class Fault:
    operation: str
    times: int
    status: int | None = None
    fault: str | None = None
    delay: float = 0.0
    #: A raw body sent instead of Amazon's JSON error (what a proxy or load balancer in front of
    #: Amazon answers, e.g. an HTML 502 page); ``content_type`` defaults to text/html.
    body: str | None = None
    content_type: str | None = None
    #: Only calls to this region's endpoint (None: every region).
    region: str | None = None


@dataclass
class FaultRegistry:
    """Faults queued by ``POST /_sandbox/faults``; each applies to the next ``times`` calls."""

    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, operation: str, region: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.region is not None and fault.region != region:
                    continue
                if fault.operation in (operation, "*") and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [vars(f).copy() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
