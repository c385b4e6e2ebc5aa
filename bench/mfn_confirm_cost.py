"""MFN shipment confirmation: per-package ``confirmShipment`` calls vs one order-fulfillment feed (issue 16).

Time is what Amazon's usage plans allow, measured by driving the hook's own token buckets
(``amazon_netsuite.amazon.throttling.TokenBucket``, the pacing every SP-API call goes through) on a
virtual clock, for a run that starts with full buckets:

- **API**: ``getOrder`` per order (v2026-01-01: the ``orderItemId``\\ s; 0.5/s, burst 30) and one
  ``confirmShipment`` per package (Orders v0; 2/s, burst 10).
- **feed**: ``createFeedDocument`` (0.5/s, burst 15) + upload + ``createFeed`` (0.0083/s, burst 15) per
  feed, ``getFeed`` polls every 30 s, plus Amazon's processing time (not in any usage plan: given as
  ``FEED_MINUTES``, default 5) and the same ``getOrder`` per order (a feed names items by id too).
  Usage plans from the model files (ordersV0.json, orders_2026-01-01.json, feeds_2021-06-30.json).

Prints figures; never asserts on them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from amazon_netsuite.amazon.throttling import USAGE_PLANS, TokenBucket  # noqa: E402

FEED_MINUTES = float(os.environ.get("FEED_MINUTES", "5"))
PACKAGES_PER_ORDER = float(os.environ.get("PACKAGES_PER_ORDER", "1.2"))
FEED_PLANS = {"createFeedDocument": (0.5, 15), "createFeed": (0.0083, 15), "getFeed": (2.0, 15)}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def seconds_for(calls: int, rate: float, burst: int) -> float:
    """Seconds until ``calls`` requests have been let through by a full bucket of ``rate``/``burst``."""
    clock = Clock()
    bucket = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)
    for _ in range(calls):
        bucket.acquire()
    return clock.now


def main() -> None:
    get_order = USAGE_PLANS["getOrder"]
    confirm = USAGE_PLANS["confirmShipment"]
    print(f"usage plans: getOrder {get_order}, confirmShipment {confirm}, feeds {FEED_PLANS}; "
          f"{PACKAGES_PER_ORDER} packages per order; feed processing {FEED_MINUTES:g} min (assumed)")
    print(f"{'orders':>7} {'packages':>9} {'getOrder s':>11} {'confirm s':>10} {'API total s':>12} {'feed total s':>13}")
    for orders in (10, 50, 100, 250, 500, 1000, 2500, 5000):
        packages = round(orders * PACKAGES_PER_ORDER)
        reads = seconds_for(orders, *get_order)
        confirms = seconds_for(packages, *confirm)
        # the confirmations pace alongside the reads (different buckets): the slower one sets the time
        api = max(reads, confirms)
        feed = reads + seconds_for(1, *FEED_PLANS["createFeedDocument"]) + seconds_for(1, *FEED_PLANS["createFeed"]) \
            + FEED_MINUTES * 60
        print(f"{orders:>7} {packages:>9} {reads:>11.0f} {confirms:>10.0f} {api:>12.0f} {feed:>13.0f}")
    print("The getOrder reads bound both paths; per-package confirmShipment is never the slower part, and it answers "
          "each package at once (a refused package is dead-lettered with Amazon's message in the same run).")


if __name__ == "__main__":
    main()
