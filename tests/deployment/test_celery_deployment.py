"""The docker-compose deployment shape, proven without Docker: CeleryExecutor on PostgreSQL and Redis.

A throw-away PostgreSQL database (Airflow metadata, Celery results and the sync ledger), a dedicated
Redis database as the broker, the sandbox, api-server, scheduler, dag-processor, triggerer and two
Celery workers as processes. The orders and settlements DAGs are triggered through the REST API (a JWT
from the simple auth manager's ``/auth/token``); one worker is killed (SIGKILL of its process group)
while it writes sales orders: the scheduler notices the lost heartbeat, the task is retried on the other
worker and NetSuite holds every order once. Everything started is stopped, the database dropped.

Run alone with ``pytest -k celery``. Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on
127.0.0.1:6379; without them it skips, unless ``AMAZON_NETSUITE_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import collections
import contextlib
import os
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.deployment.cluster import Unavailable, celery_cluster, group_alive

ORDERS, SETTLEMENTS = "amazon_orders_to_netsuite", "amazon_settlements_to_netsuite"
WINDOW = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}


@pytest.fixture
def cluster(tmp_path, reference_dir):  # the NetSuite emulator is built from the reference WSDL
    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(celery_cluster(tmp_path, redis_db=13, workers=2, worker_concurrency=2, rate_scale=100))
        except Unavailable as exc:
            if os.environ.get("AMAZON_NETSUITE_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"{exc} (AMAZON_NETSUITE_REQUIRE_POSTGRES=1)")
            pytest.skip(str(exc))
        yield running
    # everything it started is gone (process groups, so Celery's pool processes and tasks too)
    assert all(not group_alive(p.pid) for p in running.started.values()), running.started


def _records(cluster, record_type: str) -> list[dict]:
    answer = httpx.get(f"{cluster.sandbox['netsuite']}/_sandbox/records/{record_type}", timeout=30)
    answer.raise_for_status()
    return answer.json()


@pytest.mark.postgres
@pytest.mark.slow
def test_celery_deployment_runs_the_dags_and_survives_a_lost_worker(cluster):
    began = time.monotonic()
    for url in cluster.sandbox.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": 160}, timeout=60).raise_for_status()
    # NetSuite's time per record written (50 ms a record at rate scale 100: the loads take seconds), so the worker
    # is lost while it writes, with some sales orders saved and the rest not; at the default the writes could
    # all be done before the kill lands, and the retry would have nothing left to write
    httpx.post(f"{cluster.sandbox['netsuite']}/_sandbox/config", json={"latency_per_record_ms": 5000},
               timeout=30).raise_for_status()
    cluster.wait_for_dags([ORDERS, SETTLEMENTS])

    orders_run = cluster.trigger(ORDERS, WINDOW)
    settlements_run = cluster.trigger(SETTLEMENTS)

    # a worker dies while it writes sales orders (some are in NetSuite already, the rest are not)
    victim = None
    deadline = time.monotonic() + 90
    while victim is None:
        running = cluster.worker_running(ORDERS, orders_run, "region.load")
        if running and _records(cluster, "salesOrder"):
            victim = running
            break
        assert cluster.run(ORDERS, orders_run)["state"] in ("queued", "running"), "the loads ended before a worker could be lost"
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.3)
    worker, killed_ti = victim
    written_before = len(_records(cluster, "salesOrder"))
    cluster.kill(worker)

    run = cluster.wait_for_run(ORDERS, orders_run)
    assert run["state"] == "success", cluster.logs()
    settled = cluster.wait_for_run(SETTLEMENTS, settlements_run)
    assert settled["state"] == "success", cluster.logs()

    # the lost task was retried (by the only worker left) and succeeded
    retried = [ti for ti in cluster.task_instances(ORDERS, orders_run)
               if ti["task_id"] == "region.load" and ti["map_index"] == killed_ti["map_index"]]
    assert retried and retried[0]["state"] == "success" and retried[0]["try_number"] >= 2, retried
    assert worker not in cluster.processes and all(p.poll() is None for p in cluster.processes.values())

    # NetSuite holds every synced order exactly once (upserts by externalId: the retry duplicated nothing)
    sales_orders = _records(cluster, "salesOrder")
    external_ids = collections.Counter(so["externalId"] for so in sales_orders)
    assert external_ids and max(external_ids.values()) == 1, external_ids.most_common(3)
    assert len(sales_orders) > written_before
    engine = sa.create_engine(cluster.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as conn:
        ledger = dict(conn.execute(sa.text(
            "SELECT external_id, status FROM an_sync_records WHERE dag_id = :dag AND record_type = 'salesOrder'"),
            {"dag": ORDERS}).all())
    engine.dispose()
    assert {k for k, status in ledger.items() if status == "synced"} == set(external_ids)
    assert "failed" not in ledger.values()

    journals = _records(cluster, "journalEntry")
    assert journals, "the settlements were posted"
    assert len({j["externalId"] for j in journals}) == len(journals)
    print(f"\ncelery deployment: {len(sales_orders)} sales orders ({written_before} before {worker} was killed), "
          f"{len(journals)} settlement journal(s), {time.monotonic() - began:.0f}s after start-up")
