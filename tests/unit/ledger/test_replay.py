from __future__ import annotations

import pytest

from amazon_netsuite.ledger import STATUS_FAILED, STATUS_SYNCED
from amazon_netsuite.ledger.replay import (
    ReplayError,
    register,
    registered,
    replay_records,
    replayer_for,
    unregister,
)

DAG = "test_flow"
TYPE = "widget"


@pytest.fixture
def registry():
    yield
    unregister(DAG, TYPE)


def _fail(ledger, key, run_id="r1"):
    return ledger.record_failed(dag_id=DAG, record_type=TYPE, source_key=key, error="boom", reason="x",
                                run_id=run_id, replay={"id": key})


class TestRegistry:
    def test_given_dotted_path_when_resolved_then_function_imported(self, registry):
        register(DAG, TYPE, "amazon_netsuite.ledger.store:content_hash")
        from amazon_netsuite.ledger.store import content_hash

        assert replayer_for(DAG, TYPE) is content_hash
        assert (DAG, TYPE) in registered()

    def test_given_bad_target_then_value_error(self):
        with pytest.raises(ValueError, match="package.module:function"):
            register(DAG, TYPE, "not_a_path")

    @pytest.mark.parametrize("record_type", ["cashRefund", "creditMemo", "returnAuthorization", "itemReceipt"])
    def test_returns_flow_records_have_the_returns_replayer(self, record_type):
        from amazon_netsuite.flows.returns import replay

        assert replayer_for("amazon_returns_to_netsuite", record_type) is replay

    def test_given_nothing_registered_then_error_names_flow(self):
        with pytest.raises(ReplayError, match="no replayer is registered for nobody / thing"):
            replayer_for("nobody", "thing")


class TestReplay:
    def test_given_replayer_fixes_one_when_replayed_then_outcomes_from_ledger(self, ledger, registry):
        def replayer(records, *, ledger, run_id):
            for r in records:
                if r.source_key == "good":
                    ledger.record_synced(dag_id=r.dag_id, record_type=r.record_type, source_key=r.source_key,
                                         external_id=None, internal_id="5", run_id=run_id)
                else:
                    ledger.record_failed(dag_id=r.dag_id, record_type=r.record_type, source_key=r.source_key,
                                         error="still broken", reason="x", run_id=run_id)

        register(DAG, TYPE, replayer)
        records = [_fail(ledger, "good"), _fail(ledger, "bad")]
        outcome = replay_records(records, ledger=ledger, run_id="replay-1")
        assert outcome == {f"{DAG}:{TYPE}:good": STATUS_SYNCED, f"{DAG}:{TYPE}:bad": STATUS_FAILED}
        assert ledger.get(f"{DAG}:{TYPE}:bad").attempts == 2

    def test_given_replayer_raises_then_every_record_failed_again_with_reason(self, ledger, registry):
        def replayer(records, *, ledger, run_id):
            raise ConnectionError("NetSuite unreachable")

        register(DAG, TYPE, replayer)
        records = [_fail(ledger, "a"), _fail(ledger, "b")]
        assert set(replay_records(records, ledger=ledger, run_id="rp").values()) == {STATUS_FAILED}
        record = ledger.get(f"{DAG}:{TYPE}:a")
        assert record.attempts == 2 and record.reason == "replay_error"
        assert "ConnectionError: NetSuite unreachable" in record.last_error

    def test_given_no_replayer_then_records_stay_failed_with_reason(self, ledger):
        records = [_fail(ledger, "a")]
        assert replay_records(records, ledger=ledger, run_id="rp") == {f"{DAG}:{TYPE}:a": STATUS_FAILED}
        assert "no replayer is registered" in ledger.get(f"{DAG}:{TYPE}:a").last_error

    def test_given_record_synced_meanwhile_then_not_replayed(self, ledger, registry):
        calls = []
        register(DAG, TYPE, lambda records, **_: calls.append(records))
        stale = _fail(ledger, "a")
        ledger.record_synced(dag_id=DAG, record_type=TYPE, source_key="a", external_id=None, internal_id="1",
                             run_id="r2")
        fresh = ledger.get(stale.key)
        assert replay_records([fresh], ledger=ledger, run_id="rp") == {}
        assert calls == []
