"""Orders flow benchmark (docs/architecture.md section 8, issue 5): calls per 1,000 orders and throughput.

For N seeded orders over four marketplaces (default 1,000 and 10,000), runs the flow's own code
(``extract_orders_by_target`` + ``sync_orders``, what the DAG's task runs: one search per SP-API
region) against both emulators with the
SP-API usage plans scaled by ``--rate-scale`` (default 100), then prints:

- SP-API calls, NetSuite calls and records written per 1,000 orders, against the minimum possible
  (ceil(N/100) ``searchOrders`` pages; ceil(N/100) ``upsertList`` calls per record type) and against
  one call per order;
- the orders per hour Amazon's usage plan for ``searchOrders`` allows (rate and burst, from the
  model files) against what the flow achieved at the scaled rate, scaled back;
- customer matching at batch cost: 2,000 orders from about 400 new buyers (``--buyers``), every
  NetSuite call of the run against the minimum (ceil(records/100) writes per record type), as a ratio.

With ``--backend soap|rest`` (one or both, e.g. ``--backend soap rest``) it runs instead the customer
scenario (2,000 orders, ~400 new buyers) on each NetSuite backend and prints, side by side and per
1,000 orders: NetSuite HTTP requests by operation, the minimum for that backend (SOAP: ceil(records/100)
list writes per record type; REST, which has no list write: one request per record written, plus the
token), the NetSuite-side wall time (measured at ``--rate-scale``, and scaled back to NetSuite time), and
the REST concurrency used (``--rest-concurrency``, default 4: requests in flight per worker) and the
REST write mode (``--rest-write-mode sync async``: concurrent synchronous requests, or the asynchronous
pattern, ``Prefer: respond-async`` then job status / task / result requests, writes counting all of them). The wall
time is the emulator's (its save-time model divided by ``--rate-scale``, plus its own processing of
every request), so compare the backends with each other, not with a real account.

Figures only; nothing here passes or fails.
Usage: ``python bench/orders_sync.py [N ...] [--rate-scale R] [--buyers B] [--skip-customer-scenario]``
       ``python bench/orders_sync.py --backend soap rest [--rest-concurrency 4] [--rest-write-mode sync async]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]
os.environ.setdefault("AMAZON_NETSUITE_REFERENCE_DIR", str((ROOT.parent / "shared" / "reference").resolve()))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "x3Jc7ZyJcjmtBNs1HNdbnrLLN1Qsz1lT8ABgqbj3fzs=")

import httpx  # noqa: E402

from sandbox.runner import start_servers  # noqa: E402


def calls(url: str) -> dict[str, int]:
    ops = httpx.get(f"{url}/_sandbox/calls", timeout=30).json()["operations"]
    return {op: c.get("calls", 0) for op, c in ops.items()}


def run(n: int, rate_scale: float, buyers_per_marketplace: int = 10, backend: str = "soap",
        rest_concurrency: int = 4, rest_write_mode: str = "sync") -> dict:
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.amazon.throttling import USAGE_PLANS
    from amazon_netsuite.flows.orders import extract_orders_by_target, sync_orders
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    with tempfile.TemporaryDirectory() as state, start_servers(state_dir=Path(state), rate_scale=rate_scale) as servers:
        for url in servers.urls.values():
            httpx.post(f"{url}/_sandbox/reset", timeout=60).raise_for_status()
            httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": n, "buyers_per_marketplace": buyers_per_marketplace},
                       timeout=600).raise_for_status()
        env = servers.env(netsuite_api=backend)
        if backend == "rest":
            conn = json.loads(env["AIRFLOW_CONN_NETSUITE_DEFAULT"])
            conn["extra"]["concurrency"] = rest_concurrency
            conn["extra"]["rest_write_mode"] = rest_write_mode
            conn["extra"]["async_poll_interval"] = 1.0 / rate_scale  # NetSuite-time 1 s, scaled like the emulator
            env["AIRFLOW_CONN_NETSUITE_DEFAULT"] = json.dumps(conn)
        os.environ.update(env)
        # as many REST async processors as requests in flight: the modes compare at the same parallelism
        httpx.post(f"{servers.urls['netsuite']}/_sandbox/config", json={"rest_async_processors": rest_concurrency},
                   timeout=30).raise_for_status()
        amazon_before, netsuite_before = calls(servers.urls["amazon"]), calls(servers.urls["netsuite"])
        ledger = Ledger(f"sqlite:///{state}/ledger.db")
        now = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        amazon = hooks_for_targets(load_mappings().sp_api_targets())
        orders, failures = extract_orders_by_target(amazon, window=(now - dt.timedelta(days=20), now - dt.timedelta(minutes=2)))
        assert not failures, [f.describe() for f in failures]
        t_extract = time.perf_counter() - t0
        t_load = time.perf_counter()
        result = sync_orders(orders, mappings=load_mappings(), netsuite=NetSuiteHook(), ledger=ledger, run_id="bench")
        elapsed = time.perf_counter() - t0
        t_load = time.perf_counter() - t_load
        amazon_calls = {k: v - amazon_before.get(k, 0) for k, v in calls(servers.urls["amazon"]).items()}
        netsuite_calls = {k: v - netsuite_before.get(k, 0) for k, v in calls(servers.urls["netsuite"]).items()}
        sales_orders = len(httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=60).json())
    counts = result.counts
    customers = counts.get("customers_created", 0) + counts.get("customers_enriched", 0)
    rate, burst = USAGE_PLANS["searchOrders"]
    return {
        "orders": len(orders), "elapsed": elapsed, "extract": t_extract, "load": t_load, "sales_orders": sales_orders,
        "backend": backend, "rest_concurrency": rest_concurrency if backend == "rest" else None,
        "rest_write_mode": rest_write_mode if backend == "rest" else None,
        "customers_written": customers, "customers_created": counts.get("customers_created", 0),
        "amazon": amazon_calls, "netsuite": netsuite_calls,
        "plan_rate": rate, "plan_burst": burst,
    }


def report(r: dict, rate_scale: float) -> None:
    n = r["orders"]
    per_k = 1000 / n
    pages = r["amazon"].get("searchOrders", 0)
    min_pages = math.ceil(n / 100)
    upserts = r["netsuite"].get("upsertList", 0)
    min_upserts = math.ceil(r["sales_orders"] / 100) + math.ceil(r["customers_written"] / 100)
    reads = sum(v for k, v in r["netsuite"].items() if k in ("get", "getList", "search", "searchMoreWithId"))
    netsuite_total = sum(r["netsuite"].values())
    print(f"\n{n} orders ({r['sales_orders']} sales orders and {r['customers_written']} customers written) "
          f"in {r['elapsed']:.1f} s at --rate-scale {rate_scale:g}")
    print(f"  SP-API searchOrders pages: {pages} (minimum ceil(N/100) = {min_pages}; ratio {pages / min_pages:.2f}); "
          f"per 1,000 orders: {pages * per_k:.1f} vs {n * per_k:.0f} getOrder calls one-per-order "
          f"({n / max(pages, 1):.0f}x fewer)")
    print(f"  NetSuite upsertList calls: {upserts} (minimum ceil(records/100) per record type = {min_upserts}; "
          f"ratio {upserts / max(min_upserts, 1):.2f}); per 1,000 orders: {upserts * per_k:.1f} vs "
          f"{(r['sales_orders'] + r['customers_written']) * per_k:.0f} one-per-record")
    print(f"  NetSuite reads (getList/search: customer matching, e-mail look-ups): {reads} "
          f"({reads * per_k:.1f} per 1,000 orders); all NetSuite calls: {netsuite_total} "
          f"({netsuite_total * per_k:.1f} per 1,000 orders)")
    print(f"  NetSuite calls by operation: {json.dumps(r['netsuite'], sort_keys=True)}")
    minimum = math.ceil(r["sales_orders"] / 100) + math.ceil(r["customers_written"] / 100)
    print(f"  customer matching at batch cost: {r['customers_created']} new buyers; all NetSuite calls {netsuite_total} "
          f"vs the minimum ceil(records/100) per record type {minimum}: ratio {netsuite_total / max(minimum, 1):.2f} "
          f"(one e-mail search per new buyer would add {r['customers_created']})")
    rate, burst = r["plan_rate"], r["plan_burst"]
    allowed_first_hour = (burst + rate * 3600) * 100
    allowed_sustained = rate * 3600 * 100
    # Only the extract is paced by Amazon's (scaled) usage plan: scale that part back, keep the rest.
    scaled_back = r["extract"] * rate_scale + (r["elapsed"] - r["extract"])
    achieved = n / scaled_back * 3600
    print(f"  searchOrders usage plan {rate}/s, burst {burst}: Amazon allows {allowed_sustained:,.0f} orders/hour "
          f"sustained ({allowed_first_hour:,.0f} in the first hour with the burst)")
    # What the plan allows for exactly these N orders: the burst at once, the other pages at the rate.
    plan_seconds = max(0, math.ceil(n / 100) - burst) / rate
    plan_text = (f"the plan allows these {n} orders in {plan_seconds / 3600:.2f} h, i.e. {n / plan_seconds * 3600:,.0f} "
                 f"orders/hour: achieved/allowed = {achieved / (n / plan_seconds * 3600):.2f}"
                 if plan_seconds else f"the plan serves these {n} orders from its burst at once")
    print(f"  flow achieved {n / r['elapsed'] * 3600:,.0f} orders/hour at --rate-scale {rate_scale:g}; scaled back "
          f"(extract {r['extract']:.1f} s x {rate_scale:g} + NetSuite side {r['elapsed'] - r['extract']:.1f} s): "
          f"{achieved:,.0f} orders/hour; {plan_text}")


def compare(results: list[dict], rate_scale: float) -> None:
    """The backends side by side, per 1,000 orders."""
    print(f"\nNetSuite backends side by side (per 1,000 orders; emulator at --rate-scale {rate_scale:g})")
    rows: list[tuple[str, list[str]]] = []
    for r in results:
        r["per_k"] = 1000 / r["orders"]
        written = r["sales_orders"] + r["customers_written"]
        if r["backend"] == "soap":
            r["minimum"] = math.ceil(r["sales_orders"] / 100) + math.ceil(r["customers_written"] / 100)
            r["writes"] = sum(v for k, v in r["netsuite"].items() if k in ("upsertList", "addList", "updateList"))
        else:
            r["minimum"] = written + 1  # REST has no list write: one request per record, plus the token
            r["writes"] = sum(v for k, v in r["netsuite"].items() if k in ("restUpsert", "restAdd", "restUpdate", "asyncJob"))
        r["total"] = sum(r["netsuite"].values())
    label = {"soap": "SOAP (TBA, list writes)", "rest": "REST (OAuth 2.0 M2M)"}
    rows.append(("backend", [label[r["backend"]] + (f", {r['rest_write_mode']}, {r['rest_concurrency']} in flight"
                                                    if r["rest_concurrency"] else "") for r in results]))
    rows.append(("orders / sales orders / customers written",
                 [f"{r['orders']} / {r['sales_orders']} / {r['customers_written']}" for r in results]))
    rows.append(("NetSuite requests per 1,000 orders", [f"{r['total'] * r['per_k']:.1f}" for r in results]))
    rows.append(("  of which writes", [f"{r['writes'] * r['per_k']:.1f}" for r in results]))
    rows.append(("  of which reads (get/getList/search/SuiteQL)",
                 [f"{(r['total'] - r['writes'] - r['netsuite'].get('token', 0)) * r['per_k']:.1f}" for r in results]))
    rows.append(("minimum for the backend per 1,000 orders", [f"{r['minimum'] * r['per_k']:.1f}" for r in results]))
    rows.append(("ratio to the minimum", [f"{r['total'] / max(r['minimum'], 1):.2f}" for r in results]))
    rows.append(("NetSuite-side wall time per 1,000 orders (measured)", [f"{r['load'] * r['per_k']:.2f} s" for r in results]))
    width = max(len(name) for name, _ in rows) + 2
    col = max(len(v) for _, values in rows for v in values) + 2
    for name, values in rows:
        print(f"  {name:<{width}}" + "".join(f"{v:<{col}}" for v in values))
    for r in results:
        print(f"  {r['backend']} requests by operation: {json.dumps(r['netsuite'], sort_keys=True)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=("soap", "rest"),
                        help="compare NetSuite backends on the customer scenario instead (side by side)")
    parser.add_argument("--rest-concurrency", type=int, default=4, help="REST requests in flight (connection extra)")
    parser.add_argument("--orders", type=int, default=2000, help="orders of the --backend scenario")
    parser.add_argument("--rest-write-mode", nargs="+", choices=("sync", "async"), default=["sync"],
                        help="REST writes: concurrent synchronous requests, or Prefer: respond-async jobs (or both)")
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--rate-scale", type=float, default=100.0)
    parser.add_argument("--buyers", type=int, default=10, help="distinct buyers per marketplace in the seed")
    parser.add_argument("--skip-customer-scenario", action="store_true",
                        help="skip the 2,000 orders / ~400 new buyers customer-matching run")
    args = parser.parse_args()
    if args.backend:
        print(f"Orders flow on each NetSuite backend: {args.orders} orders, most buyers new (figures, not assertions)")
        results = [run(args.orders, args.rate_scale, 5000, backend=b, rest_concurrency=args.rest_concurrency,
                       rest_write_mode=mode)
                   for b in args.backend for mode in (args.rest_write_mode if b == "rest" else ["sync"])]
        compare(results, args.rate_scale)
        return 0
    print("Orders flow: calls per 1,000 orders and throughput (figures, not assertions)")
    for n in args.sizes:
        report(run(n, args.rate_scale, args.buyers), args.rate_scale)
    if not args.skip_customer_scenario:
        print("\nCustomer matching: 2,000 orders, most buyers new (5,000 per marketplace in the seed's pool)")
        report(run(2000, args.rate_scale, 5000), args.rate_scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
