"""What the end-to-end DAG runs share: a migrated Airflow metadata DB and the sandbox.

``airflow db migrate`` runs once per test worker, into a template DB with the pools the DAGs use
(``migrated_airflow_db``, tests/conftest.py); each test module gets a copy of it: its own DAG runs,
task instances and XComs, whatever ran before it on the worker. The ``airflow`` commands run through
tests/dags/airflow_cli.py: a process per command, forked from one warm process instead of starting
Python and importing Airflow each time.
"""

from __future__ import annotations

import pytest

from sandbox.runner import start_servers
from tests.dags.airflow_cli import base_env, copy_airflow_db


@pytest.fixture(scope="module")
def airflow_env(migrated_airflow_db, tmp_path_factory, reference_dir) -> dict[str, str]:
    """The environment of ``airflow dags test`` for this module: its own copy of the migrated DB."""
    path = tmp_path_factory.mktemp("airflow-db") / "airflow.db"
    copy_airflow_db(migrated_airflow_db, path)
    return {**base_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{path}"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, reference_dir):
    """Both sandboxes for this module (each test resets and seeds them)."""
    with start_servers(state_dir=tmp_path_factory.mktemp("dag-sandbox"), rate_scale=500) as running:
        yield running


@pytest.fixture
def netsuite_api() -> str:
    """The backend of ``netsuite_default`` a test's DAG runs use: SOAP, unless the test parametrizes
    ``netsuite_api`` (``"rest"``: tests/dags/backends.py)."""
    return "soap"
