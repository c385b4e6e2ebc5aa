"""Every DAG in dags/ parses cleanly and follows the conventions; the samples prove the checks bite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dags.policy import dag_files, violations  # noqa: I001

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
DAGS = dag_files(PROJECT_ROOT / "dags")
GOOD = HERE / "samples" / "good" / "sample_good_sync.py"
BAD = HERE / "samples" / "bad" / "sample_bad_sync.py"
BAD_PARSE = HERE / "samples" / "bad" / "sample_bad_parse_time.py"


def _guarded_parse(paths: list[Path]) -> dict[str, dict]:
    """Parse in a fresh interpreter with no connections configured and the network switched off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(HERE), str(PROJECT_ROOT)])
    done = subprocess.run(
        [sys.executable, str(HERE / "parse_guard.py"), *map(str, paths)],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {r["path"]: r for r in results}


def _load(path: Path):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    dags = list(bag.dags.values())
    assert dags, f"{path.name} defines no DAG"
    return dags, path.read_text()


@pytest.fixture(scope="module")
def guarded():
    return _guarded_parse([*DAGS, GOOD, BAD_PARSE])


class TestPolicyBites:
    def test_given_conforming_sample_then_no_violations(self):
        dags, source = _load(GOOD)
        assert violations(dags[0], source) == []

    def test_given_nonconforming_sample_then_each_convention_reported(self):
        dags, source = _load(BAD)
        found = "\n".join(violations(dags[0], source))
        for expected in (
            "no tags",
            "no doc_md",
            "max_active_runs is not set",
            "no on_failure_callback",
            "timetable CronTriggerTimetable has no data interval",
            "catchup must be False",
            "task load: owner is Airflow's default",
            "task load: retries=0; at least 2",
            "task load: retry_exponential_backoff is off",
            "task load: calls NetSuite but runs in pool 'default_pool'; use pool='netsuite_api'",
            "param order_ids: type 'array' excludes null, so the Trigger form marks it required",
            "param order_ids: its description needs an example",
        ):
            assert expected in found

    def test_given_parse_time_access_then_import_error_and_heavy_imports_reported(self, guarded):
        result = guarded[str(BAD_PARSE)]
        assert "Variable.get at DAG parse time" in "".join(result["import_errors"].values())
        assert "pandas" in result["heavy_modules"]

    def test_given_conforming_sample_then_parses_offline_without_heavy_imports(self, guarded):
        result = guarded[str(GOOD)]
        assert result["import_errors"] == {}
        assert result["dag_ids"] == ["sample_good_sync"]
        assert result["heavy_modules"] == []


@pytest.mark.parametrize("path", DAGS, ids=[p.name for p in DAGS])
class TestProjectDags:
    def test_parses_offline_with_no_connections_and_no_heavy_imports(self, path, guarded):
        result = guarded[str(path)]
        assert result["import_errors"] == {}
        assert result["dag_ids"], f"{path.name} defines no DAG"
        assert result["heavy_modules"] == [], "import these inside tasks"

    def test_follows_conventions(self, path):
        dags, source = _load(path)
        for dag in dags:
            assert violations(dag, source) == [], dag.dag_id


def test_dag_ids_are_the_contract():
    """DAG ids other tools depend on (docs/architecture.md section 1): no file defines anything else."""
    from amazon_netsuite.dags_common import MANUAL_DAG_IDS

    allowed = {
        "amazon_orders_to_netsuite",
        "amazon_settlements_to_netsuite",
        "amazon_fba_shipments_to_netsuite",
        "netsuite_shipments_to_amazon",
        "amazon_returns_to_netsuite",
        "netsuite_inventory_to_amazon",
        "netsuite_catalog_to_amazon",
        "sync_replay_failed_records",
        "sync_reconciliation",
    }
    assert MANUAL_DAG_IDS <= allowed
    for path in DAGS:
        dags, _ = _load(path)
        assert {d.dag_id for d in dags} <= allowed, path.name
