"""make demo's verdict on a DAG run: record-level failures (dead-letters, reconciliation differences) are
reported as such; a crash is a failure of the demo."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import demo  # noqa: E402

_FAILED = "2026-12-02T07:55:25.583632Z [error    ] Task failed with exception     [task] loc=task_runner.py:1639"
_POST = "2026-12-02T07:55:25.600000Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1640"


def _log(*exception_lines: str, logged: str = "") -> str:
    return "\n".join(["starting", logged, _FAILED, "Traceback (most recent call last):", '  File "x.py", line 1',
                      *exception_lines, _POST, "DagRun failed"])


def test_given_dead_lettered_records_then_record_level():
    text = _log("airflow.sdk.exceptions.AirflowFailException: 3 record(s) failed and were dead-lettered; the rest were written.")
    assert demo.record_level_failure(text)


def test_given_reconciliation_differences_then_record_level():
    assert demo.record_level_failure(_log(
        "airflow.sdk.exceptions.AirflowFailException: Reconciliation found 42 difference(s) between Amazon and NetSuite."))


def test_given_a_crash_then_not_record_level_even_after_logged_record_errors():
    logged = "amazon_netsuite.ledger.replay.ReplayError: no replayer is registered for x / y"
    assert not demo.record_level_failure(_log("KeyError: 'marketplaceId'", logged=logged))
    assert not demo.record_level_failure(_log("airflow.sdk.exceptions.AirflowFailException: settlement 123 does not balance"))


def test_given_a_run_without_a_failed_task_then_not_record_level():
    assert not demo.record_level_failure("DagRun failed: import error")


def test_given_the_scheduled_flows_then_the_demo_runs_them_in_business_order():
    ids = sorted([*demo.DEMO_ORDER, "sync_replay_failed_records", "zz_new_flow"])
    ordered = demo.order_dags(ids)
    assert ordered[:2] == ["amazon_orders_to_netsuite", "amazon_fba_shipments_to_netsuite"]
    assert ordered.index("amazon_settlements_to_netsuite") < ordered.index("amazon_returns_to_netsuite")
    assert ordered[-2:] == ["zz_new_flow", "sync_replay_failed_records"]
