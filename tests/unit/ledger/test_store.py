from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from amazon_netsuite.ledger import (
    STATUS_FAILED,
    STATUS_SKIPPED,
    STATUS_SYNCED,
    Ledger,
    LedgerError,
    content_hash,
    ledger_key,
)
from amazon_netsuite.ledger.store import ledger_url_from_connection

DAG = "amazon_orders_to_netsuite"
TYPE = "salesOrder"
ORDER = "113-5836120-0001234"
KEY = f"{DAG}:{TYPE}:{ORDER}"


def fail(ledger: Ledger, source_key: str = ORDER, *, run_id: str = "run-1", **kwargs):
    defaults = {
        "error": f"seller SKU 'NOPE' has no row in sku_items.csv (order {source_key})",
        "reason": "unknown_sku",
        "replay": {"order_id": source_key, "marketplace_id": "ATVPDKIKX0DER"},
    }
    defaults.update(kwargs)
    return ledger.record_failed(dag_id=DAG, record_type=TYPE, source_key=source_key, run_id=run_id, **defaults)


class TestLifecycle:
    def test_given_new_failure_when_recorded_then_dead_lettered_with_replay_ids(self, ledger):
        record = fail(ledger)
        assert record.key == KEY == ledger_key(DAG, TYPE, ORDER)
        assert record.status == STATUS_FAILED
        assert record.attempts == 1
        assert record.reason == "unknown_sku"
        assert record.replay == {"order_id": ORDER, "marketplace_id": "ATVPDKIKX0DER"}
        assert ledger.failed(dag_id=DAG)[0].key == KEY

    def test_given_failed_record_when_synced_then_error_cleared_and_attempts_counted(self, ledger):
        fail(ledger)
        fail(ledger, run_id="run-2")
        record = ledger.record_synced(
            dag_id=DAG, record_type=TYPE, source_key=ORDER, external_id=f"AMZ-SO-{ORDER}",
            internal_id="9001", run_id="replay-1", content_hash="abc",
        )
        assert (record.status, record.attempts, record.internal_id) == (STATUS_SYNCED, 3, "9001")
        assert record.last_error is None and record.reason is None
        assert record.replay == {"order_id": ORDER, "marketplace_id": "ATVPDKIKX0DER"}  # kept for audits
        assert record.synced_at is not None
        assert ledger.failed() == []

    def test_given_skipped_record_then_closed_with_reason_and_not_listed_as_failed(self, ledger):
        fail(ledger)
        record = ledger.record_skipped(
            dag_id=DAG, record_type=TYPE, source_key=ORDER, reason="cancelled", run_id="r",
            detail="order was cancelled before it synced",
        )
        assert record.status == STATUS_SKIPPED and record.attempts == 1
        assert ledger.failed() == []

    def test_given_filters_when_listing_failed_then_only_matching(self, ledger):
        fail(ledger, "A-1", error="NetSuite said INVALID_KEY_OR_REF for item 501", reason="netsuite_error")
        fail(ledger, "A-2")
        ledger.record_failed(
            dag_id="amazon_settlements_to_netsuite", record_type="journalEntry", source_key="1234",
            error="unbalanced", reason="unbalanced", run_id="r",
        )
        assert [r.source_key for r in ledger.failed(dag_id=DAG)] == ["A-1", "A-2"]
        assert [r.source_key for r in ledger.failed(error_contains="INVALID_KEY")] == ["A-1"]
        assert [r.source_key for r in ledger.failed(record_type="journalEntry")] == ["1234"]
        assert [r.source_key for r in ledger.failed(keys=[f"{DAG}:{TYPE}:A-2"])] == ["A-2"]
        future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        assert ledger.failed(updated_after=future) == []

    def test_given_error_with_like_wildcards_when_filtering_then_matched_literally(self, ledger):
        fail(ledger, "A-1", error="rate 100% used")
        fail(ledger, "A-2", error="rate 100 used")
        assert [r.source_key for r in ledger.failed(error_contains="100%")] == ["A-1"]


class TestContentHash:
    def test_given_same_content_when_hashed_then_same_regardless_of_key_order(self):
        assert content_hash({"a": Decimal("1.10"), "b": [1, 2]}) == content_hash({"b": [1, 2], "a": Decimal("1.10")})

    def test_given_decimal_scale_changes_then_hash_changes(self):
        # 1.1 and 1.10 are the same number but Amazon sent different text: treat as a change.
        assert content_hash({"a": Decimal("1.1")}) != content_hash({"a": Decimal("1.10")})

    def test_given_synced_with_hash_when_checked_then_unchanged_only_for_same_hash(self, ledger):
        ledger.record_synced(dag_id=DAG, record_type=TYPE, source_key="A-1", external_id="x", internal_id="1",
                             run_id="r", content_hash="h1")
        fail(ledger, "A-2")
        unchanged = ledger.unchanged(DAG, TYPE, {"A-1": "h1", "A-2": "h1", "A-3": "h1"})
        assert unchanged == {"A-1"}
        assert ledger.unchanged(DAG, TYPE, {"A-1": "h2"}) == set()


class TestConcurrency:
    def test_given_parallel_writers_on_one_record_then_no_attempt_is_lost(self, ledger_url):
        threads, per_thread = 6, 15
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            own = Ledger(ledger_url)
            try:
                for i in range(per_thread):
                    fail(own, run_id=f"run-{n}-{i}")
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert errors == []
        assert Ledger(ledger_url).get(KEY).attempts == threads * per_thread

    def test_given_parallel_writers_on_many_records_then_each_written_once(self, ledger_url):
        def worker(n: int) -> None:
            own = Ledger(ledger_url)
            for i in range(20):
                own.record_synced(dag_id=DAG, record_type=TYPE, source_key=f"{n}-{i}", external_id=None,
                                  internal_id=str(i), run_id="r")

        pool = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        summary = Ledger(ledger_url).run_summary(DAG, "r")
        assert summary.counts == {STATUS_SYNCED: 80}


class TestPii:
    BUYER = {"name": "Jane Q. Buyer", "email": "abc123@marketplace.amazon.com", "address": "1 Main St"}

    def test_given_buyer_data_in_replay_then_refused(self, ledger):
        with pytest.raises(LedgerError, match="looks like buyer data"):
            fail(ledger, replay={"order_id": ORDER, "buyer": {"buyer_email": "x@y"}})

    def test_given_payload_then_stored_encrypted_and_readable_with_key(self, ledger, ledger_url):
        fail(ledger, payload=self.BUYER)
        engine = sa.create_engine(ledger_url)
        with engine.connect() as conn:
            raw = json.dumps([list(r) for r in conn.execute(sa.text("SELECT * FROM an_sync_records"))], default=str)
        engine.dispose()
        for value in self.BUYER.values():
            assert value not in raw
        assert ledger.payload(KEY) == self.BUYER
        assert ledger.get(KEY).has_payload

    def test_given_expired_payload_when_purged_then_gone_and_record_kept(self, ledger):
        fail(ledger, payload=self.BUYER)
        fail(ledger, "A-2", payload=self.BUYER)
        assert ledger.purge_expired_payloads(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=29)) == 0
        assert ledger.purge_expired_payloads(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31)) == 2
        assert ledger.payload(KEY) is None
        assert ledger.get(KEY).status == STATUS_FAILED

    def test_given_retention_env_then_expiry_follows_it(self, ledger_url, monkeypatch):
        monkeypatch.setenv("AMAZON_NETSUITE_PAYLOAD_RETENTION_DAYS", "7")
        record = fail(Ledger(ledger_url), payload=self.BUYER)
        expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
        assert abs((record.payload_expires_at - expected).total_seconds()) < 60

    def test_given_bad_retention_env_then_clear_error(self, ledger_url, monkeypatch):
        monkeypatch.setenv("AMAZON_NETSUITE_PAYLOAD_RETENTION_DAYS", "thirty")
        with pytest.raises(LedgerError, match="AMAZON_NETSUITE_PAYLOAD_RETENTION_DAYS='thirty'"):
            Ledger(ledger_url)

    def test_given_synced_after_failure_then_payload_erased(self, ledger):
        fail(ledger, payload=self.BUYER)
        ledger.record_synced(dag_id=DAG, record_type=TYPE, source_key=ORDER, external_id=None, internal_id="1",
                             run_id="r2")
        assert ledger.payload(KEY) is None


class TestSummaryAndPushedState:
    def test_given_mixed_run_when_summarized_then_counts_by_status_and_reason(self, ledger):
        for i in range(3):
            ledger.record_synced(dag_id=DAG, record_type=TYPE, source_key=f"S-{i}", external_id=None,
                                 internal_id=str(i), run_id="r1")
        fail(ledger, "F-1", run_id="r1")
        fail(ledger, "F-2", run_id="r1", reason="netsuite_error", error="DUP_RCRD")
        fail(ledger, "F-3", run_id="r1")
        fail(ledger, "OTHER", run_id="r0")
        summary = ledger.run_summary(DAG, "r1")
        assert summary.counts == {STATUS_SYNCED: 3, STATUS_FAILED: 3}
        assert summary.failures_by_reason == {"unknown_sku": 2, "netsuite_error": 1}
        assert summary.failed_keys == [f"{DAG}:{TYPE}:F-{i}" for i in (1, 2, 3)]

    def test_given_pushed_quantities_then_last_value_per_sku_kept(self, ledger):
        ledger.record_pushed("ATVPDKIKX0DER", {"ACME-MUG-11OZ": 5, "ACME-BOTTLE-750": 0}, run_id="r1")
        ledger.record_pushed("ATVPDKIKX0DER", {"ACME-MUG-11OZ": 3}, run_id="r2", feed_id="50001")
        assert ledger.pushed_quantities("ATVPDKIKX0DER") == {"ACME-MUG-11OZ": 3, "ACME-BOTTLE-750": 0}
        assert ledger.pushed_quantities("A2EUQ1WTGCTBG2") == {}


class TestConnection:
    def test_given_no_connection_then_sqlite_under_airflow_home(self, monkeypatch, tmp_path):
        monkeypatch.delenv("AIRFLOW_CONN_SYNC_LEDGER_DEFAULT", raising=False)
        monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
        assert ledger_url_from_connection() == f"sqlite:///{tmp_path / 'sync_ledger.db'}"

    def test_given_postgres_connection_then_psycopg2_url(self, monkeypatch):
        monkeypatch.setenv(
            "AIRFLOW_CONN_SYNC_LEDGER_DEFAULT",
            json.dumps({"conn_type": "postgres", "host": "db", "port": 5432, "login": "airflow",
                        "password": "s3cret", "schema": "ledger"}),
        )
        assert ledger_url_from_connection() == "postgresql+psycopg2://airflow:s3cret@db:5432/ledger"

    def test_given_url_in_extra_then_used_verbatim(self, monkeypatch, tmp_path):
        url = f"sqlite:///{tmp_path}/x.db"
        monkeypatch.setenv("AIRFLOW_CONN_SYNC_LEDGER_DEFAULT", json.dumps({"conn_type": "generic",
                                                                            "extra": {"sqlalchemy_url": url}}))
        assert ledger_url_from_connection() == url

    def test_given_unsupported_connection_type_then_clear_error(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_SYNC_LEDGER_DEFAULT", json.dumps({"conn_type": "mysql", "host": "db"}))
        with pytest.raises(LedgerError, match="use postgres or sqlite"):
            ledger_url_from_connection()


def test_given_pending_record_then_not_failed_and_attempts_not_counted(ledger):
    record = ledger.record_pending(dag_id=DAG, record_type=TYPE, source_key="P-1", run_id="r",
                                   replay={"feed_id": "50001"}, external_id="AMZ-SO-P-1")
    assert (record.status, record.attempts, record.replay) == ("pending", 0, {"feed_id": "50001"})
    assert ledger.failed() == []
    assert ledger.record_synced(dag_id=DAG, record_type=TYPE, source_key="P-1", external_id="AMZ-SO-P-1",
                                internal_id="3", run_id="r2").attempts == 1
