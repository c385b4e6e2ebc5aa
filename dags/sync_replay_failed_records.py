"""
### Replay failed records (after the cause is fixed)

Every flow dead-letters the records it could not write (unknown SKU, missing mapping, NetSuite
rejection...) in the sync ledger with the reason, and the rest of its batch goes through. Once the
cause is fixed — a row added to `include/mappings/`, an item repaired in NetSuite, a GL rule added —
trigger this DAG: each selected record is replayed through **its own flow's code** (re-read from the
source, today's mapping tables, the same externalId), so a record that synced meanwhile is left as it
is and nothing is duplicated.

**Selecting what to replay** (Trigger DAG w/ config; with no selection, every failed record of the
last `max_age_days` is replayed):

| param | meaning |
|---|---|
| `keys` | exact ledger keys (`dag_id:record_type:source_key`), as the alert and `ledger failed` print them |
| `dag_id` | the failed records of one flow, e.g. `amazon_orders_to_netsuite` |
| `record_type` | only this NetSuite record type, e.g. `salesOrder` |
| `error_contains` | only records whose last error contains this text, e.g. `ACME-MUG-11OZ` |
| `max_age_days` | only failures of the last N days (default 90) |
| `dry_run` | list what would be replayed and why; write nothing |

```bash
airflow dags trigger sync_replay_failed_records --conf '{"dag_id": "amazon_orders_to_netsuite"}'
airflow dags trigger sync_replay_failed_records --conf '{"keys": ["amazon_orders_to_netsuite:salesOrder:113-..."]}'
```

**Outcome** per record, in the ledger: `synced` (with the NetSuite internalId), `failed` again (new
error, attempts + 1), or `skipped` with the reason when the source is gone or no longer syncable (an
order cancelled meanwhile): closed, never retried forever. The run fails — one alert listing what is
still failing and why — when anything still fails. Check with
`python -m amazon_netsuite.ledger show KEY`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task

from amazon_netsuite.dags_common import NETSUITE_POOL, START_DATE, default_args, sync_params
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "sync_replay_failed_records"


@task
def select() -> list[dict[str, Any]]:
    """Pick the failed records to replay from the ledger (ids, reasons and errors only)."""
    from amazon_netsuite.flows.replay import select_records

    params = get_current_context()["params"]
    return select_records(params)


@task(pool=NETSUITE_POOL)
def replay(selection: list[dict[str, Any]]) -> dict[str, Any]:
    """Replay each selected record through its flow's own transform and load code."""
    from amazon_netsuite.flows.replay import replay_selection
    from amazon_netsuite.notifiers import ledger_run_id

    context = get_current_context()
    return replay_selection(selection, run_id=ledger_run_id(context), dry_run=bool(context["params"].get("dry_run")))


@task
def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Report the outcome; fail the run once if any record still fails."""
    from amazon_netsuite.notifiers import finish_run

    return finish_run(get_current_context(), extra_counts=result.get("counts", {}))


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=None,
    catchup=False,
    # Triggered by people (and the sync page) only: shipped unpaused, so a trigger is never left queued.
    is_paused_upon_creation=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["replay", "amazon", "netsuite", "on-call"],
    params=sync_params("keys", "dag_id", "record_type", "error_contains", "max_age_days", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def sync_replay_failed_records():
    summary(replay(select()))


sync_replay_failed_records()
