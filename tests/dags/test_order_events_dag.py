"""The orders DAG with SP-API notifications configured (AMAZON_NETSUITE_SQS_QUEUE_URL): scheduled on its
timetable OR the SQS asset, still light to parse, and its polling runs unaffected by the queue.

The asset-triggered run itself is proven in a running Airflow: tests/deployment/test_order_events.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.dags.airflow_cli import airflow
from tests.dags.policy import violations  # noqa: I001

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DAG_FILE = ROOT / "dags" / "amazon_orders_to_netsuite.py"
#: a port nothing listens on: the queue is unreachable
DEAD_QUEUE = "http://127.0.0.1:9/123456789012/sp-api-notifications"


def test_with_a_queue_the_schedule_is_the_timetable_or_the_asset_and_parse_stays_light(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AMAZON_NETSUITE_SQS_QUEUE_URL", DEAD_QUEUE)
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["amazon_orders_to_netsuite"]
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert type(dag.timetable.timetable).__name__ == "CronDataIntervalTimetable"
    asset = dag.timetable.asset_condition
    assert asset.name == "amazon_sp_api_order_changes__sp-api-notifications"
    classpath, kwargs = asset.watchers[0].trigger.serialize()
    assert classpath == "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
    assert kwargs["sqs_queue"] == DEAD_QUEUE and kwargs["delete_message_on_reception"] is True
    assert violations(dag, DAG_FILE.read_text()) == []

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update({"AMAZON_NETSUITE_SQS_QUEUE_URL": DEAD_QUEUE,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(HERE), str(ROOT)])})
    done = subprocess.run([sys.executable, str(HERE / "parse_guard.py"), str(DAG_FILE)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert result["import_errors"] == {} and result["heavy_modules"] == [], result  # no boto3 at parse time


def test_without_a_queue_the_schedule_is_the_timetable_alone(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.delenv("AMAZON_NETSUITE_SQS_QUEUE_URL", raising=False)
    dag = DagBag(dag_folder=str(DAG_FILE)).dags["amazon_orders_to_netsuite"]
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"


def test_queue_unreachable_the_polling_run_still_syncs(tmp_path, airflow_env, servers):
    """The watcher runs in the triggerer, apart from the runs: with the queue down, a timetable run
    (here `airflow dags test` for a window, as the schedule would) syncs the orders as before."""
    env = {**airflow_env, **servers.env(), "AMAZON_NETSUITE_SQS_QUEUE_URL": DEAD_QUEUE,
           "AIRFLOW_CONN_SYNC_LEDGER_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "ledger.db")})}
    for url in servers.urls.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": 20}, timeout=60).raise_for_status()
    conf = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
    done = airflow(["dags", "test", "amazon_orders_to_netsuite", "--conf", json.dumps(conf)], env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    sales_orders = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()
    assert sales_orders
