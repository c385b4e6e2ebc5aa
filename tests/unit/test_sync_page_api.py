"""The sync page's records API without a server: counts over every matching record (not the records
listed), and failed/pending records listed before newer synced ones. (tests/integration/test_sync_page.py
covers auth, replay and the browser against a real api-server.)"""

from __future__ import annotations

import pytest

from amazon_netsuite.ledger import Ledger

ORDERS = {"dag_id": "amazon_orders_to_netsuite", "record_type": "salesOrder", "run_id": "r"}


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    from amazon_netsuite.ui import app

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setattr(app, "_ledger", lambda: ledger)
    # two old failures, one pending, then six newer synced records
    ledger.record_failed(**ORDERS, source_key="111-1", reason="unknown_sku", error="x")
    ledger.record_failed(**ORDERS, source_key="111-2", reason="netsuite_error", error="x")
    ledger.record_pending(**ORDERS, source_key="111-3")
    for n in range(6):
        ledger.record_synced(**ORDERS, source_key=f"222-{n}", external_id=f"AMZ-SO-222-{n}", internal_id=str(n))
    return ledger


def _groups(answer):
    return {(g["status"], g["reason"]): g["count"] for g in answer["groups"]}


def test_counts_cover_every_matching_record_and_failed_ones_are_never_hidden_behind_newer_synced(ledger):
    from amazon_netsuite.ui.app import records

    answer = records(status="failed,pending,synced,skipped", limit=4)

    assert _groups(answer) == {("failed", "netsuite_error"): 1, ("failed", "unknown_sku"): 1, ("pending", ""): 1,
                               ("synced", ""): 6}
    assert answer["total"] == 9
    assert [r["source_key"] for r in answer["records"]] == ["111-3", "111-2", "111-1", "222-5"]

    synced = records(status="synced", limit=2)
    assert _groups(synced) == {("synced", ""): 6} and len(synced["records"]) == 2 and synced["total"] == 6


def test_the_reason_filter_is_applied_before_the_limit_and_to_the_counts(ledger):
    from amazon_netsuite.ui.app import records

    answer = records(status="failed,pending,synced,skipped", reason="unknown_sku", limit=1)
    assert [r["source_key"] for r in answer["records"]] == ["111-1"]
    assert _groups(answer) == {("failed", "unknown_sku"): 1}
