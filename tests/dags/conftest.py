"""What the end-to-end DAG runs share: a migrated Airflow metadata DB and the sandbox.

``airflow db migrate`` runs once per test worker, into a template DB with the pools the DAGs use;
each test module gets a copy of it (its own DAG runs, task instances and XComs, whatever ran before
it on the worker). The ``airflow`` commands run through tests/dags/airflow_cli.py: a process per
command, forked from one warm process instead of starting Python and importing Airflow each time.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from amazon_netsuite.dags_common import POOLS
from sandbox.runner import start_servers
from tests.dags.airflow_cli import airflow

ROOT = Path(__file__).resolve().parents[2]


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])
    env["AMAZON_NETSUITE_TASK_RETRIES"] = "0"
    # the deferred waits on Amazon's reports and feeds check often: the sandbox answers at once
    env["AMAZON_NETSUITE_FEED_POLL_SECONDS"] = "0.05"
    env["AMAZON_NETSUITE_REPORT_POLL_SECONDS"] = "0.05"
    return env


@pytest.fixture(scope="session")
def migrated_airflow_db(tmp_path_factory) -> Path:
    """A migrated SQLite metadata DB with the DAGs' pools: the template each module copies."""
    path = tmp_path_factory.mktemp("airflow-template") / "airflow.db"
    env = {**_base_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{path}"}
    done = airflow(["db", "migrate"], env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for name, (slots, description) in POOLS.items():
        done = airflow(["pools", "set", name, str(slots), description], env, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def airflow_env(migrated_airflow_db, tmp_path_factory, reference_dir) -> dict[str, str]:
    """The environment of ``airflow dags test`` for this module: its own copy of the migrated DB."""
    path = tmp_path_factory.mktemp("airflow-db") / "airflow.db"
    with closing(sqlite3.connect(migrated_airflow_db)) as template, closing(sqlite3.connect(path)) as copy:
        template.backup(copy)  # a consistent copy, whatever is still in the template's journal
    return {**_base_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{path}"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, reference_dir):
    """Both sandboxes for this module (each test resets and seeds them)."""
    with start_servers(state_dir=tmp_path_factory.mktemp("dag-sandbox"), rate_scale=500) as running:
        yield running
