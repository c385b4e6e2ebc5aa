"""DAGs run end to end with ``airflow dags test`` against the sandbox, as `make demo` and users do."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from amazon_netsuite.ledger import Ledger
from tests.dags.airflow_cli import airflow_db, dags_test
from tests.dags.backends import BACKENDS, assert_only_through, connection_env, writes

ROOT = Path(__file__).resolve().parents[2]


def _dags_test(env: dict, dag_id: str, conf: dict | None = None) -> subprocess.CompletedProcess:
    """``airflow dags test`` (tests/dags/airflow_cli.py); the other DAG test modules import it from here."""
    return dags_test(env, dag_id, conf)


class TestOrdersDag:
    def _world(self, servers, airflow_env, tmp_path, *, orders: int, unmapped_sku: bool = False,
               unmapped_marketplaces: bool = False, netsuite_api: str = "soap"):
        for url in servers.urls.values():
            httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
            httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": orders, "unmapped_sku": unmapped_sku,
                                                     "unmapped_marketplaces": unmapped_marketplaces},
                       timeout=60).raise_for_status()
        env = {**airflow_env, **connection_env(servers, netsuite_api)}
        ledger_db = tmp_path / "ledger.db"
        env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})
        return env, Ledger(f"sqlite:///{ledger_db}")

    def test_given_seeded_sandbox_when_dag_runs_for_a_window_then_orders_land_and_run_succeeds(
        self, servers, airflow_env, tmp_path
    ):
        env, ledger = self._world(servers, airflow_env, tmp_path, orders=60)
        conf = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
        done = _dags_test(env, "amazon_orders_to_netsuite", conf)
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        sales_orders = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()
        assert len(sales_orders) > 30
        import sqlalchemy as sa

        with ledger.engine.connect() as conn:
            synced = conn.execute(sa.text("SELECT count(*) FROM an_sync_records WHERE status = 'synced'")).scalar()
        assert synced == len(sales_orders)

    def test_given_unknown_sku_when_dag_runs_then_rest_written_and_run_fails_once_with_replay_hint(
        self, servers, airflow_env, tmp_path
    ):
        env, ledger = self._world(servers, airflow_env, tmp_path, orders=40, unmapped_sku=True)
        conf = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
        done = _dags_test(env, "amazon_orders_to_netsuite", conf)
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "record(s) failed and were dead-lettered; the rest were written" in output
        assert "sync_replay_failed_records" in output
        # the failure alert itself runs under `dags test` (it crashed on the SerializedDAG once)
        assert "[Amazon-NetSuite] amazon_orders_to_netsuite:" in output
        assert "Failed to send notification" not in output
        failed = ledger.failed(dag_id="amazon_orders_to_netsuite")
        assert failed and {r.reason for r in failed} == {"unknown_sku"}
        sales_orders = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()
        assert sales_orders, "the orders with mapped SKUs were written"

    def test_given_dry_run_when_dag_runs_then_nothing_written(self, servers, airflow_env, tmp_path):
        env, ledger = self._world(servers, airflow_env, tmp_path, orders=30)
        conf = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z", "dry_run": True}
        done = _dags_test(env, "amazon_orders_to_netsuite", conf)
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        assert httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json() == []
        assert "would_upsert" in done.stdout + done.stderr


    def test_given_the_eu_endpoint_down_when_dag_runs_then_na_orders_land_and_the_run_fails_naming_eu(
        self, servers, airflow_env, tmp_path
    ):
        env, _ = self._world(servers, airflow_env, tmp_path, orders=60)
        httpx.post(f"{servers.urls['amazon']}/_sandbox/faults", json={
            "operation": "searchOrders", "status": 503, "times": 100, "region": "eu"}, timeout=30).raise_for_status()
        conf = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
        done = _dags_test(env, "amazon_orders_to_netsuite", conf)
        httpx.delete(f"{servers.urls['amazon']}/_sandbox/faults", timeout=30).raise_for_status()
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "amazon_sp_api_eu" in output and "region.extract" in output
        sales_orders = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()
        markets = {f["value"] for so in sales_orders for f in so.get("customFieldList") or []
                   if f["scriptId"] == "custbody_amazon_marketplace_id"}
        assert markets == {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"}  # na synced; eu is read again by the next run


class TestReplayDag:
    """The on-call loop: dead-lettered by the orders DAG, fixed in the mapping, replayed, synced."""

    @BACKENDS
    def test_given_unknown_sku_when_fixed_and_replayed_then_synced_once(self, servers, airflow_env, tmp_path, netsuite_api):
        import shutil

        env, ledger = TestOrdersDag()._world(servers, airflow_env, tmp_path, orders=40, unmapped_sku=True,
                                             netsuite_api=netsuite_api)
        mappings = tmp_path / "mappings"
        shutil.copytree(ROOT / "include" / "mappings", mappings)
        env["AMAZON_NETSUITE_MAPPINGS_DIR"] = str(mappings)
        window = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
        assert _dags_test(env, "amazon_orders_to_netsuite", window).returncode != 0
        failed = ledger.failed(dag_id="amazon_orders_to_netsuite")
        keys = sorted(r.key for r in failed)
        assert keys

        # dry run: lists, writes nothing
        done = _dags_test(env, "sync_replay_failed_records", {"dag_id": "amazon_orders_to_netsuite", "dry_run": True})
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        assert "would_replay" in done.stdout + done.stderr
        assert all(r.attempts == 1 for r in ledger.failed())

        # the cause persists: fails again, attempts counted, the run fails with the reason
        done = _dags_test(env, "sync_replay_failed_records", {"keys": keys})
        assert done.returncode != 0
        assert "ACME-UNMAPPED-SKU" in done.stdout + done.stderr
        assert {r.attempts for r in ledger.failed()} == {2}

        # fix the mapping, replay: synced, exactly one sales order each
        with (mappings / "sku_items.csv").open("a") as handle:
            handle.write("ACME-UNMAPPED-SKU,,,504,MFN,1,BOTTLE,0,false\n")
        done = _dags_test(env, "sync_replay_failed_records", {"dag_id": "amazon_orders_to_netsuite"})
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        assert ledger.failed() == []
        sales_orders = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()
        by_external = [so["externalId"] for so in sales_orders]
        for key in keys:
            order_id = key.rsplit(":", 1)[1]
            assert by_external.count(f"AMZ-SO-{order_id}") == 1
            assert ledger.get(key).status == "synced" and ledger.get(key).internal_id
        assert_only_through(servers, netsuite_api, "restUpsert", "suiteql")
        written = writes(servers)

        # nothing left: a second replay does nothing and succeeds
        done = _dags_test(env, "sync_replay_failed_records", {"keys": keys})
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        assert writes(servers) == written
        assert len(httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()) == len(sales_orders)


class TestSettlementsDag:
    @BACKENDS
    def test_given_seeded_settlements_when_dag_runs_daily_then_posted_balanced_unmapped_alerted_once(
        self, servers, airflow_env, tmp_path, netsuite_api
    ):
        import sqlite3

        env, ledger = TestOrdersDag()._world(servers, airflow_env, tmp_path, orders=120, unmapped_marketplaces=True,
                                             netsuite_api=netsuite_api)
        env["AMAZON_NETSUITE_ARCHIVE_DIR"] = str(tmp_path / "archive")
        # a daily run: no window, every settlement Amazon still keeps (the seed holds a EUR settlement
        # whose rows name Amazon.fr and Amazon.it, which marketplaces.csv does not map)
        done = _dags_test(env, "amazon_settlements_to_netsuite")
        output = done.stdout + done.stderr
        assert done.returncode != 0, output[-4000:]  # it fails once, for the unmapped marketplaces
        failed = ledger.failed(dag_id="amazon_settlements_to_netsuite")
        assert failed and {r.reason for r in failed} == {"unmapped_marketplace"}, [(r.key, r.reason) for r in failed]
        journals = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/journalEntry", timeout=30).json()
        assert journals
        for journal in journals:
            debit = sum(float(line.get("debit") or 0) for line in journal["lineList"])
            credit = sum(float(line.get("credit") or 0) for line in journal["lineList"])
            assert round(debit - credit, 2) == 0
        assert "Settlement " in output and "balance carried -321.69 CAD" in output  # the finance summary
        assert "Totals per currency" in output
        # the mapped post tasks are labelled by settlement id
        db = sqlite3.connect(airflow_db(env))
        labels = [row[0] for row in db.execute(
            "SELECT rendered_map_index FROM task_instance WHERE dag_id = 'amazon_settlements_to_netsuite' "
            "AND task_id = 'settlement.post'")]
        assert labels and all(label and label.startswith("settlement ") for label in labels), labels
        assert {s for _, s, _, _ in ledger.record_counts(dag_id="amazon_settlements_to_netsuite")} == {"synced", "failed"}
        assert_only_through(servers, netsuite_api, "restUpsert")
        written = writes(servers)

        # the next day: the same reports are listed; nothing posted twice, the unmapped one not alerted again
        done = _dags_test(env, "amazon_settlements_to_netsuite")
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        assert "left alone" in done.stdout + done.stderr
        again = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/journalEntry", timeout=30).json()
        assert len(again) == len(journals)
        assert writes(servers) == written

    def test_given_a_window_older_than_amazon_keeps_then_the_run_says_nothing_could_be_listed(
        self, servers, airflow_env, tmp_path
    ):
        env, _ledger = TestOrdersDag()._world(servers, airflow_env, tmp_path, orders=10)
        window = {"window_start": "2025-01-01T00:00:00Z", "window_end": "2025-02-01T00:00:00Z"}
        done = _dags_test(env, "amazon_settlements_to_netsuite", window)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert "Nothing could be listed: Amazon keeps settlement reports 90 days" in output
        assert "import_file" in output
