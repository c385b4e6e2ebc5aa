"""Sample DAG that breaks the conventions (used by the policy tests, never deployed)."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task


@task(retries=0)
def load() -> None:
    from amazon_netsuite.netsuite import NetSuiteHook  # noqa: F401

    return None


@dag(
    dag_id="sample_bad_sync",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    schedule="*/15 * * * *",
    catchup=True,
    params={"order_ids": Param([], type="array", items={"type": "string"})},
)
def sample_bad_sync():
    load()


sample_bad_sync()
