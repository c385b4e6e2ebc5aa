"""Session-wide test set-up: an isolated AIRFLOW_HOME, no example DAGs, the reference directory.

Runs before any test module imports Airflow, so Airflow reads this configuration.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="amazon-netsuite-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT_ROOT / "plugins")
# Each process its own metadata DB (pytest-xdist workers inherit the controller's environment: a
# setdefault would make them share one SQLite file). AMAZON_NETSUITE_TEST_AIRFLOW_DB points at another.
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = os.environ.get(
    "AMAZON_NETSUITE_TEST_AIRFLOW_DB", f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
)
# A fixed test key: the ledger encrypts payloads with Airflow's Fernet key.
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "x3Jc7ZyJcjmtBNs1HNdbnrLLN1Qsz1lT8ABgqbj3fzs=")
os.environ.setdefault(
    "AMAZON_NETSUITE_REFERENCE_DIR", str((PROJECT_ROOT.parent / "shared" / "reference").resolve())
)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Amazon's SP-API models and the NetSuite 2023_2 WSDL; conformance tests skip without them."""
    path = Path(os.environ["AMAZON_NETSUITE_REFERENCE_DIR"])
    if not path.is_dir():
        pytest.skip(f"reference material not found at {path} (set AMAZON_NETSUITE_REFERENCE_DIR)")
    return path


@pytest.fixture(scope="session")
def migrated_airflow_db(tmp_path_factory) -> Path:
    """A SQLite metadata DB ``airflow db migrate`` made once per test worker, with the DAGs' pools: a
    template, copied (``sqlite3`` backup) by the tests that need a migrated Airflow DB of their own."""
    from amazon_netsuite.dags_common import POOLS
    from tests.dags.airflow_cli import airflow, base_env

    path = tmp_path_factory.mktemp("airflow-template") / "airflow.db"
    env = {**base_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{path}"}
    done = airflow(["db", "migrate"], env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for name, (slots, description) in POOLS.items():
        done = airflow(["pools", "set", name, str(slots), description], env, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    return path
