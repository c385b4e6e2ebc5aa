"""What one more Celery worker buys: orders per minute of the orders DAG with one worker, then two.

The deployment of tests/deployment/cluster.py (CeleryExecutor, PostgreSQL, Redis, every component a
process) against the sandbox at ``--rate-scale 100`` (BENCH_RATE_SCALE), seeded with BENCH_ORDERS
orders over the three SP-API regions; each worker runs BENCH_WORKER_CONCURRENCY task slots (2: the
figure is about machines, not slots). The rate is orders written to NetSuite over the run's wall
time (first task queued to last task done, from the REST API). Needs PostgreSQL on 127.0.0.1:5432 and
Redis on 127.0.0.1:6379. Prints figures; never asserts on them.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from tests.deployment.cluster import celery_cluster  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "900"))
RATE_SCALE = float(os.environ.get("BENCH_RATE_SCALE", "100"))
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
WINDOW = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(workers: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp, \
            celery_cluster(Path(tmp), redis_db=15, workers=workers, worker_concurrency=CONCURRENCY, rate_scale=RATE_SCALE) as cluster:
        for url in cluster.sandbox.values():
            httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
            httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": ORDERS}, timeout=120).raise_for_status()
        cluster.wait_for_dags(["amazon_orders_to_netsuite"])
        run_id = cluster.trigger("amazon_orders_to_netsuite", WINDOW)
        run = cluster.wait_for_run("amazon_orders_to_netsuite", run_id, timeout=1800)
        if run["state"] != "success":
            raise SystemExit(f"the run ended {run['state']}\n{cluster.logs()}")
        tis = cluster.task_instances("amazon_orders_to_netsuite", run_id)
        began = min(_instant(t["queued_when"] or t["start_date"]) for t in tis)
        ended = max(_instant(t["end_date"]) for t in tis)
        written = len(httpx.get(f"{cluster.sandbox['netsuite']}/_sandbox/records/salesOrder", timeout=60).json())
        return written, (ended - began).total_seconds()


def main() -> int:
    print(f"orders DAG on Celery, sandbox --rate-scale {RATE_SCALE:g}, {ORDERS} orders seeded over 3 regions, "
          f"worker concurrency {CONCURRENCY}")
    for workers in (1, 2):
        written, seconds = measure(workers)
        print(f"  {workers} worker(s): {written} sales orders in {seconds:.1f} s = {written / seconds * 60:.0f} orders/minute",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
