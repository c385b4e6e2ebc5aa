"""The forked ``airflow`` commands of the DAG tests (tests/dags/airflow_cli.py) behave as the console script
would: each in the environment it is given, exit status and output its own, killed past its timeout."""

from __future__ import annotations

import subprocess

import pytest

from tests.dags.airflow_cli import airflow, base_env, copy_airflow_db


def test_each_command_runs_in_its_own_environment_and_metadata_db(migrated_airflow_db, tmp_path):
    copy = tmp_path / "copy.db"
    copy_airflow_db(migrated_airflow_db, copy)
    on_copy = {**base_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{copy}"}

    listed = airflow(["pools", "list"], on_copy)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "amazon_sp_api" in listed.stdout and "netsuite_api" in listed.stdout

    empty = {**on_copy, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'empty.db'}"}
    refused = airflow(["pools", "list"], empty)
    assert refused.returncode != 0 and "no such table" in refused.stdout + refused.stderr

    for value in ("True", "False"):  # the command reads the environment it is given, not the warm process's
        shown = airflow(["config", "get-value", "core", "load_examples"], {**on_copy, "AIRFLOW__CORE__LOAD_EXAMPLES": value})
        assert shown.returncode == 0 and shown.stdout.strip() == value, shown.stdout + shown.stderr


def test_a_failed_run_exits_non_zero_with_the_reason_on_its_output(migrated_airflow_db, tmp_path):
    copy = tmp_path / "copy.db"
    copy_airflow_db(migrated_airflow_db, copy)
    env = {**base_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{copy}"}
    done = airflow(["dags", "test", "no_such_dag"], env)
    assert done.returncode == 1
    assert "Dag 'no_such_dag' could not be found" in done.stdout + done.stderr


def test_a_command_past_its_timeout_is_killed_and_the_next_one_runs():
    with pytest.raises(subprocess.TimeoutExpired):
        airflow(["version"], base_env(), timeout=0.001)
    done = airflow(["version"], base_env())
    assert done.returncode == 0 and done.stdout.strip().startswith("3."), done.stdout + done.stderr
