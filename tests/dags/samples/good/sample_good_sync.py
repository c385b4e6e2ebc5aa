"""Sample DAG that follows every convention (used by the policy tests, never deployed).

Syncs nothing: it proves the policy accepts a conforming DAG.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task

from amazon_netsuite.dags_common import NETSUITE_POOL, data_interval_schedule, default_args, sync_params
from amazon_netsuite.notifiers import SyncAlertNotifier


@task(pool=NETSUITE_POOL)
def load() -> int:
    """Pretend to write to NetSuite."""
    from amazon_netsuite.netsuite import NetSuiteHook  # noqa: F401  (imported inside the task)

    return 0


@task
def summary() -> None:
    """Summarise the run."""


@dag(
    dag_id="sample_good_sync",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    schedule=data_interval_schedule("*/15 * * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["sample"],
    params=sync_params("window_start", "window_end", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def sample_good_sync():
    load() >> summary()


sample_good_sync()
