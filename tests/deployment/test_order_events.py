"""Near real time, proven in a running Airflow: an order that changes in the sandbox reaches NetSuite
through the asset-triggered run, without waiting for the schedule.

The deployment of cluster.py (CeleryExecutor, PostgreSQL, Redis, one worker) with
AMAZON_NETSUITE_SQS_QUEUE_URL naming a queue on moto's ThreadedMotoServer: the setup CLI grants
Amazon's publisher, creates the destination and the ORDER_CHANGE subscription in the sandbox; the
sandbox publishes ORDER_CHANGE when an order changes; the triggerer's watcher (SqsSensorTrigger, what
MessageQueueTrigger(scheme="sqs") runs) turns it into an asset event; the scheduler starts an
asset-triggered run of the orders DAG, which syncs exactly the notified orders. Notifications sent
twice and out of order change nothing: each order is in NetSuite once, in its current state.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import boto3
import httpx
import pytest

from tests.deployment.cluster import ROOT, Unavailable, celery_cluster

ORDERS = "amazon_orders_to_netsuite"


@pytest.fixture
def moto_queue():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")  # noqa: S106
    url = client.create_queue(QueueName="sp-api-notifications")["QueueUrl"]
    yield endpoint, url
    server.stop()


@pytest.fixture
def cluster(tmp_path, reference_dir, moto_queue):
    endpoint, url = moto_queue
    extra = {
        "AMAZON_NETSUITE_SQS_QUEUE_URL": url,
        "AMAZON_NETSUITE_SQS_POLL_SECONDS": "1",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                                                "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",  # asset-triggered runs are created by the same loop
    }
    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(celery_cluster(tmp_path, redis_db=14, workers=1, worker_concurrency=4, rate_scale=100,
                                                         extra_env=extra))
        except Unavailable as exc:
            if os.environ.get("AMAZON_NETSUITE_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"{exc} (AMAZON_NETSUITE_REQUIRE_POSTGRES=1)")
            pytest.skip(str(exc))
        yield running


def _runs(cluster) -> list[dict]:
    answer = cluster.api("GET", f"/dags/{ORDERS}/dagRuns", params={"limit": 50})
    assert answer.status_code == 200, answer.text
    return answer.json()["dag_runs"]


def _wait(predicate, what: str, cluster, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        cluster.check_alive()
        assert time.monotonic() < deadline, f"{what} not within {timeout}s\n{cluster.logs()}"
        time.sleep(1)


@pytest.mark.postgres
@pytest.mark.slow
def test_an_order_change_reaches_netsuite_through_the_asset_triggered_run(cluster, moto_queue):
    endpoint, url = moto_queue
    amazon, netsuite = cluster.sandbox["amazon"], cluster.sandbox["netsuite"]
    for base in (amazon, netsuite):
        httpx.post(f"{base}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{base}/_sandbox/seed", json={"seed": 0, "orders": 30}, timeout=60).raise_for_status()
    httpx.post(f"{amazon}/_sandbox/notifications", json={"sqs_endpoint": endpoint}, timeout=30).raise_for_status()
    setup = subprocess.run([sys.executable, "-m", "amazon_netsuite.amazon.notifications", "setup", "--queue-url", url,
                            "--conn", "amazon_sp_api_na"], env=cluster.env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120, check=False)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "subscribed ORDER_CHANGE" in setup.stdout

    cluster.wait_for_dags([ORDERS])  # unpaused: the timetable's run (polling) starts
    scheduled = _wait(lambda: [r for r in _runs(cluster) if r["run_type"] == "scheduled"], "the scheduled run", cluster)
    assert cluster.wait_for_run(ORDERS, scheduled[0]["dag_run_id"])["state"] == "success", cluster.logs()

    # a new order arrives, then changes twice (the older change notified last): three ORDER_CHANGE messages
    template = next(o for o in httpx.get(f"{amazon}/_sandbox/orders", timeout=30).json()
                    if o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")
    order = json.loads(json.dumps(template))
    order["orderId"] = f"113-{uuid.uuid4().int % 10**7:07d}-{uuid.uuid4().int % 10**7:07d}"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    order["createdTime"] = order["lastUpdatedTime"] = now
    order["fulfillment"]["fulfillmentStatus"] = "PENDING"
    started = time.monotonic()
    httpx.post(f"{amazon}/_sandbox/orders", json=[order], timeout=30).raise_for_status()
    order["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
    httpx.post(f"{amazon}/_sandbox/orders", json=[order], timeout=30).raise_for_status()
    httpx.post(f"{amazon}/_sandbox/orders", json=[{**order, "fulfillment": {**order["fulfillment"], "fulfillmentStatus": "PENDING"}}],
               timeout=30).raise_for_status()
    httpx.post(f"{amazon}/_sandbox/orders", json=[order], timeout=30).raise_for_status()  # current state: UNSHIPPED
    delivered = httpx.get(f"{amazon}/_sandbox/notifications", timeout=30).json()["delivered"]
    assert [d["orderId"] for d in delivered] == [order["orderId"]] * 4

    def in_netsuite():
        records = httpx.get(f"{netsuite}/_sandbox/records/salesOrder", timeout=30).json()
        return [r for r in records if r["externalId"] == f"AMZ-SO-{order['orderId']}"]

    _wait(in_netsuite, "the changed order in NetSuite", cluster, timeout=150)
    seconds = time.monotonic() - started
    asset_runs = [r for r in _runs(cluster) if r["run_type"] == "asset_triggered"]
    assert asset_runs, [r["run_type"] for r in _runs(cluster)]
    for run in asset_runs:
        assert cluster.wait_for_run(ORDERS, run["dag_run_id"])["state"] == "success", cluster.logs()
    # no scheduled run besides the first one synced it: the asset-triggered run did, within seconds
    assert len([r for r in _runs(cluster) if r["run_type"] == "scheduled"]) == 1
    externals = collections.Counter(r["externalId"] for r in httpx.get(f"{netsuite}/_sandbox/records/salesOrder", timeout=30).json())
    assert externals[f"AMZ-SO-{order['orderId']}"] == 1 and max(externals.values()) == 1
    print(f"\norder change -> NetSuite through {len(asset_runs)} asset-triggered run(s) in {seconds:.0f}s")
