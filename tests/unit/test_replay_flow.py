from __future__ import annotations

import datetime as dt

import pytest

from amazon_netsuite.flows.replay import replay_selection, select_records
from amazon_netsuite.ledger import Ledger
from amazon_netsuite.ledger.replay import register, unregister

DAG = "amazon_orders_to_netsuite"


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    for key, reason in (("A", "unknown_sku"), ("B", "netsuite_error")):
        ledger.record_failed(dag_id=DAG, record_type="salesOrder", source_key=key, run_id="r", reason=reason,
                             error=f"order {key}: {reason} detail", replay={"order_id": key})
    ledger.record_synced(dag_id=DAG, record_type="salesOrder", source_key="C", external_id="AMZ-SO-C",
                         internal_id="9", run_id="r")
    return ledger


class TestSelect:
    def test_given_keys_then_failed_replayable_others_reported_as_left(self, ledger):
        selection = select_records({"keys": [f"{DAG}:salesOrder:A", f"{DAG}:salesOrder:C", "nope"]}, ledger=ledger)
        by_key = {e["key"]: e for e in selection}
        assert by_key[f"{DAG}:salesOrder:A"]["replayable"] is True
        assert by_key[f"{DAG}:salesOrder:C"]["why"] == "status is synced: nothing to replay, left as it is"
        assert "no ledger record with this key" in by_key["nope"]["why"]

    def test_given_filters_then_only_matching_failures(self, ledger):
        assert [e["key"] for e in select_records({"error_contains": "netsuite_error"}, ledger=ledger)] == [
            f"{DAG}:salesOrder:B"
        ]
        assert len(select_records({"dag_id": DAG}, ledger=ledger)) == 2
        assert select_records({"dag_id": "amazon_settlements_to_netsuite"}, ledger=ledger) == []

    def test_given_age_limit_then_old_failures_left_out(self, ledger):
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
        assert select_records({"max_age_days": 30}, ledger=ledger, now=later) == []
        assert len(select_records({"max_age_days": 90}, ledger=ledger, now=later)) == 2

    def test_given_flow_without_replayer_then_selection_says_so(self, ledger):
        ledger.record_failed(dag_id="future_flow", record_type="thing", source_key="X", run_id="r", reason="x", error="e")
        entry = select_records({"dag_id": "future_flow"}, ledger=ledger)[0]
        assert "no replayer is registered" in entry["why"]


class TestReplaySelection:
    def test_given_dry_run_then_nothing_written(self, ledger):
        selection = select_records({"dag_id": DAG}, ledger=ledger)
        result = replay_selection(selection, run_id="rp", dry_run=True, ledger=ledger)
        assert result["counts"] == {"would_replay": 2}
        assert all(r.attempts == 1 for r in ledger.failed())

    def test_given_replayer_then_outcomes_per_record(self, ledger):
        def replayer(records, *, ledger, run_id):
            for r in records:
                if r.source_key == "A":
                    ledger.record_synced(dag_id=r.dag_id, record_type=r.record_type, source_key="A",
                                         external_id="AMZ-SO-A", internal_id="77", run_id=run_id)
                else:
                    ledger.record_skipped(dag_id=r.dag_id, record_type=r.record_type, source_key=r.source_key,
                                          reason="cancelled", run_id=run_id)

        register("test_flow_x", "salesOrder", replayer)
        try:
            for key in ("A", "B"):
                ledger.record_failed(dag_id="test_flow_x", record_type="salesOrder", source_key=key, run_id="r",
                                     reason="x", error="e")
            selection = select_records({"dag_id": "test_flow_x"}, ledger=ledger)
            result = replay_selection(selection, run_id="rp", ledger=ledger)
        finally:
            unregister("test_flow_x", "salesOrder")
        assert result["counts"] == {"replayed_synced": 1, "closed_skipped": 1}
        assert {"key": "test_flow_x:salesOrder:A", "outcome": "synced", "internal_id": "77"} in result["records"]


def test_given_replayer_that_leaves_a_record_failed_then_counted_still_failing_under_the_replay_run(ledger):
    """A replay whose flow writes nowhere for a record (its outcome went to another key) must not end
    green: the record is recorded failed under the replay's run, so the summary fails the run."""
    register("test_flow_y", "journalEntry", lambda records, *, ledger, run_id: None)
    try:
        ledger.record_failed(dag_id="test_flow_y", record_type="journalEntry", source_key="report-1", run_id="r",
                             reason="download_error", error="could not read the settlement document")
        selection = select_records({"dag_id": "test_flow_y"}, ledger=ledger)
        result = replay_selection(selection, run_id="replay-run", ledger=ledger)
    finally:
        unregister("test_flow_y", "journalEntry")
    assert result["counts"] == {"still_failing": 1}
    record = ledger.get("test_flow_y:journalEntry:report-1")
    assert record.run_id == "replay-run" and record.attempts == 2 and "still failing after replay" in record.last_error
    assert ledger.run_summary(None, "replay-run").failed == 1
