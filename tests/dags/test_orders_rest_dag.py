"""The orders DAG end to end (``airflow dags test``) with ``netsuite_default`` on the REST backend, as
``python -m sandbox env --netsuite-api rest`` sets it up: OAuth 2.0 M2M, record API and SuiteQL."""

from __future__ import annotations

import json

import httpx
import sqlalchemy as sa

from amazon_netsuite.ledger import Ledger
from tests.dags.test_dag_runs import _dags_test


def test_given_seeded_sandbox_when_the_orders_dag_runs_on_rest_then_orders_land_through_rest_only(
    servers, airflow_env, tmp_path  # noqa: F811
):
    for url in servers.urls.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": 60}, timeout=60).raise_for_status()
    env = {**airflow_env, **servers.env(netsuite_api="rest")}
    assert json.loads(env["AIRFLOW_CONN_NETSUITE_DEFAULT"])["extra"]["api"] == "rest"
    ledger_db = tmp_path / "ledger.db"
    env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})

    done = _dags_test(env, "amazon_orders_to_netsuite",
                      {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"})

    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    netsuite = servers.urls["netsuite"]
    sales_orders = httpx.get(f"{netsuite}/_sandbox/records/salesOrder", timeout=30).json()
    assert len(sales_orders) > 30
    with Ledger(f"sqlite:///{ledger_db}").engine.connect() as conn:
        synced = conn.execute(sa.text("SELECT count(*) FROM an_sync_records WHERE status = 'synced'")).scalar()
    assert synced == len(sales_orders)
    calls = httpx.get(f"{netsuite}/_sandbox/calls", timeout=30).json()["operations"]
    assert calls["restUpsert"]["calls"] >= len(sales_orders) and calls["token"]["calls"] >= 1
    assert not {"upsertList", "getList", "search"} & set(calls)  # nothing went through SOAP
