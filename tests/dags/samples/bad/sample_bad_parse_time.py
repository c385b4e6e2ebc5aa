"""Sample DAG that reaches out at parse time (used by the policy tests, never deployed)."""

from __future__ import annotations

import datetime as dt

import pandas  # noqa: F401  (heavy import at parse time)
from airflow.sdk import Variable, dag

THRESHOLD = Variable.get("threshold")


@dag(dag_id="sample_bad_parse_time", start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), schedule=None)
def sample_bad_parse_time():
    pass


sample_bad_parse_time()
