"""Inventory flow benchmark (issue 18): a run with 10,000 MFN SKUs of which 5% changed in NetSuite.

Runs the flow's own code (``read_and_plan``, the shared ``SellingPartnerFeedOperator`` with its
trigger, ``record_feed_results``: what the DAG's tasks run) against both emulators with a generated
``sku_items.csv`` (N SKUs on Amazon.com, one NetSuite item each, stock at the US warehouse). A first
run publishes everything (and fills the ledger's stock snapshot); then ``--changed`` of the items
move in NetSuite (inventory adjustments posted on the admin API, as a warehouse would) and the
measured run follows. Printed, for the measured run:

- NetSuite calls per operation against the minimum (ceil(N/10,000) ``getItemAvailability`` reads);
- SP-API calls per operation against the minimum (one feed: createFeedDocument, the upload, createFeed,
  getFeed until done, getFeedDocument, the report download) and against ``patchListingsItem`` per
  changed SKU (its usage plan: 5 requests/s, burst 5), which would be cheaper only for a handful;
- wall time of each step.

Figures only; nothing here passes or fails.
Usage: ``python bench/inventory_sync.py [--skus N] [--changed 0.05] [--rate-scale R]``
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]
os.environ.setdefault("AMAZON_NETSUITE_REFERENCE_DIR", str((ROOT.parent / "shared" / "reference").resolve()))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "x3Jc7ZyJcjmtBNs1HNdbnrLLN1Qsz1lT8ABgqbj3fzs=")
# The items are created seconds before the first run: with the production overlap (5 minutes) every
# run of the benchmark would still see them as "modified since the last run". A 30-second overlap
# measures the steady state (items created long ago) instead.
os.environ.setdefault("AMAZON_NETSUITE_INVENTORY_OVERLAP_SECONDS", "30")

import httpx  # noqa: E402

from sandbox.runner import start_servers  # noqa: E402

US = "ATVPDKIKX0DER"
FIRST_ITEM = 10_000  # the NetSuite sandbox's generated items (seed "items": N) start here


class StateStore:
    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = value


def calls(url: str) -> dict[str, int]:
    ops = httpx.get(f"{url}/_sandbox/calls", timeout=60).json()["operations"]
    return {op: c.get("calls", 0) for op, c in ops.items()}


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in sorted(after.items()) if n - before.get(op, 0)}


def mappings_dir(tmp: Path, skus: int) -> Path:
    target = tmp / "mappings"
    shutil.copytree(ROOT / "include" / "mappings", target)
    with (target / "sku_items.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["seller_sku", "marketplace_id", "asin", "netsuite_item_id", "fulfillment_channel", "units_per_sku",
                         "product_type", "safety_stock", "publish"])
        for n in range(skus):
            writer.writerow([f"BENCH-{n:05d}", US, f"B0BN{n:06d}", FIRST_ITEM + n, "MFN", 1, "PRODUCT", 1, "true"])
    return target


def one_run(targets, run_id: str) -> dict:
    from airflow.exceptions import TaskDeferred

    from amazon_netsuite.amazon.operators import SellingPartnerFeedOperator
    from amazon_netsuite.flows.inventory import read_and_plan as plan
    from amazon_netsuite.flows.inventory import record_feed_results
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    ledger = Ledger.from_connection()
    timings = {}
    started = time.perf_counter()
    planned = plan(netsuite=NetSuiteHook(), ledger=ledger, mappings=load_mappings(), run_id=run_id, targets=targets)
    timings["read_and_plan"] = time.perf_counter() - started
    results = []
    for region in planned["regions"]:
        operator = SellingPartnerFeedOperator(task_id="push", document_uris=region["document_uris"],
                                              feed_type="JSON_LISTINGS_FEED", marketplace_ids=region["marketplace_ids"],
                                              sp_api_conn_id=region["conn_id"], fail_on_fatal=False, poll_interval=0.05,
                                              report_dag_id="bench")
        t0 = time.perf_counter()
        context = {"task_state_store": StateStore(), "run_id": run_id}
        try:
            pushed = operator.execute(context)
        except TaskDeferred as deferred:
            async def first(trigger):
                async for event in trigger.run():
                    return event.payload
            pushed = operator.execute_complete(context, asyncio.run(first(deferred.trigger)))
        timings[f"push {region['region']}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        results.append(record_feed_results(pushed, ledger=ledger, run_id=run_id, region=region["region"]))
        timings[f"record {region['region']}"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    return {"planned": planned, "results": results, "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--rate-scale", type=float, default=1000.0)
    args = parser.parse_args()

    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.mappings import load_mappings

    with tempfile.TemporaryDirectory() as tmp_name, start_servers(state_dir=Path(tmp_name) / "sandbox",
                                                                   rate_scale=args.rate_scale) as servers:
        tmp = Path(tmp_name)
        os.environ.update(servers.env())
        os.environ["AMAZON_NETSUITE_MAPPINGS_DIR"] = str(mappings_dir(tmp, args.skus))
        os.environ["AMAZON_NETSUITE_STAGING_URI"] = f"file://{tmp}/staging"
        os.environ["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = f'{{"conn_type": "sqlite", "host": "{tmp}/ledger.db"}}'
        amazon, netsuite = servers.urls["amazon"], servers.urls["netsuite"]
        for url in (amazon, netsuite):
            httpx.post(f"{url}/_sandbox/reset", timeout=60).raise_for_status()
        httpx.post(f"{netsuite}/_sandbox/seed", json={"seed": 0, "items": args.skus}, timeout=1800).raise_for_status()
        httpx.post(f"{amazon}/_sandbox/listings", json=[
            {"sku": f"BENCH-{n:05d}", "region": "na", "productType": "PRODUCT", "quantity": 0,
             "marketplaces": {US: {"asin": f"B0BN{n:06d}"}}} for n in range(args.skus)], timeout=600).raise_for_status()

        mappings = load_mappings()
        sp_targets = [t for t in mappings.sp_api_targets() if t.region == "na"]
        hooks = hooks_for_targets(sp_targets)
        targets = [{"conn_id": t.conn_id, "region": t.region, "marketplace_ids": list(t.marketplace_ids),
                    "seller_id": h.config.seller_id} for t, h in zip(sp_targets, hooks, strict=True)]

        first = one_run(targets, "bench-first")
        print(f"first run: {sum(r['changes'] for r in first['planned']['regions'])} SKU(s) published in "
              f"{first['timings']['total']:.1f}s (reads every item once, fills the ledger's stock snapshot)")
        ns_before, amz_before = calls(netsuite), calls(amazon)
        quiet = one_run(targets, "bench-quiet")
        print(f"quiet run (nothing moved): NetSuite {diff(calls(netsuite), ns_before)}, SP-API "
              f"{diff(calls(amazon), amz_before) or 'no call'}, {quiet['timings']['total']:.1f}s")

        changed = max(1, int(args.skus * args.changed))
        step = args.skus // changed
        adjustments = [{"subsidiary": {"internalId": "2"}, "adjLocation": {"internalId": "1"},
                        "inventoryList": [{"item": {"internalId": str(FIRST_ITEM + n)}, "location": {"internalId": "1"},
                                           "adjustQtyBy": 3.0}]} for n in range(0, changed * step, step)]
        for start in range(0, len(adjustments), 200):
            httpx.post(f"{netsuite}/_sandbox/records/inventoryAdjustment", json=adjustments[start:start + 200],
                       timeout=600).raise_for_status()

        ns_before, amz_before = calls(netsuite), calls(amazon)
        measured = one_run(targets, "bench-measured")
        ns, amz = diff(calls(netsuite), ns_before), diff(calls(amazon), amz_before)
        sent = sum(r["changes"] for r in measured["planned"]["regions"])
        accepted = sum(r["accepted"] for r in measured["results"])

        print(f"\nmeasured run: {args.skus:,} MFN SKUs, {changed:,} items moved in NetSuite ({args.changed:.0%}), "
              f"{sent:,} quantities sent, {accepted:,} accepted, rate scale {args.rate_scale:g}")
        availability_min = math.ceil(args.skus / 10_000)
        print("\nNetSuite calls (minimum: "
              f"{availability_min} getItemAvailability):")
        for op, n in ns.items():
            print(f"  {op:24s} {n:6d}")
        print(f"  {'total':24s} {sum(ns.values()):6d}   ratio to the minimum {sum(ns.values()) / availability_min:.1f}x")
        feeds = math.ceil(sent / 25_000) if sent else 0
        print(f"\nSP-API calls (minimum: {feeds} feed(s) = createFeedDocument + upload + createFeed + getFeed + "
              "getFeedDocument + report download each):")
        for op, n in amz.items():
            print(f"  {op:24s} {n:6d}")
        feed_calls = sum(n for op, n in amz.items() if op != "getFeed") + min(amz.get("getFeed", 0), feeds)
        print(f"  {'total':24s} {sum(amz.values()):6d}   (getFeed polls depend on Amazon's processing time; without them "
              f"{feed_calls} for a minimum of {6 * feeds})")
        print(f"  patchListingsItem per SKU instead: {sent:,} calls, at least {max(0, sent - 5) / 5:.0f}s at 5 requests/s "
              "(burst 5): a feed is cheaper from about 6 changes on")
        print("\nwall time:")
        for step_name, seconds in measured["timings"].items():
            print(f"  {step_name:24s} {seconds:7.2f}s")


if __name__ == "__main__":
    main()
