from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from amazon_netsuite.ledger import Ledger
from amazon_netsuite.ledger.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DAG = "amazon_orders_to_netsuite"


def _seed(ledger: Ledger) -> None:
    ledger.record_failed(dag_id=DAG, record_type="salesOrder", source_key="111-1", run_id="r",
                         error="seller SKU 'X' has no row in sku_items.csv", reason="unknown_sku",
                         replay={"order_id": "111-1"}, payload={"buyer_email": "secret@marketplace.amazon.com"})
    ledger.record_failed(dag_id="amazon_settlements_to_netsuite", record_type="journalEntry", source_key="99",
                         run_id="r", error="unbalanced", reason="unbalanced")
    ledger.record_synced(dag_id=DAG, record_type="salesOrder", source_key="111-2", external_id="AMZ-SO-111-2",
                         internal_id="7", run_id="r")


def test_given_failures_when_listing_for_dag_then_table_and_replay_hint(ledger, ledger_url, capsys):
    _seed(ledger)
    assert main(["--url", ledger_url, "failed", "--dag", DAG]) == 0
    out = capsys.readouterr().out
    assert "1 failed record(s):" in out
    assert f"{DAG}:salesOrder:111-1" in out and "unknown_sku" in out
    assert "journalEntry" not in out
    assert "airflow dags trigger sync_replay_failed_records --conf '{\"dag_id\": \"amazon_orders_to_netsuite\"}'" in out
    assert "secret@" not in out


def test_given_failures_when_listing_json_then_machine_readable_without_payload(ledger, ledger_url, capsys):
    _seed(ledger)
    assert main(["--url", ledger_url, "failed", "--json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out)
    assert [r["key"] for r in rows] == [f"{DAG}:salesOrder:111-1", "amazon_settlements_to_netsuite:journalEntry:99"]
    assert rows[0]["has_payload"] is True and "secret@" not in out


def test_given_key_when_showing_then_every_field(ledger, ledger_url, capsys):
    _seed(ledger)
    assert main(["--url", ledger_url, "show", f"{DAG}:salesOrder:111-1"]) == 0
    out = capsys.readouterr().out
    assert "attempts" in out and "kept (encrypted)" in out and '"order_id": "111-1"' in out
    assert main(["--url", ledger_url, "show", f"{DAG}:salesOrder:111-2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["internal_id"] == "7"


def test_given_unknown_key_when_showing_then_exit_1(ledger, ledger_url, capsys):
    ledger.create_schema()
    assert main(["--url", ledger_url, "show", "nope"]) == 1
    assert "No ledger record with key 'nope'" in capsys.readouterr().err


def test_given_empty_ledger_then_says_so(ledger, ledger_url, capsys):
    ledger.create_schema()
    assert main(["--url", ledger_url, "failed"]) == 0
    assert capsys.readouterr().out.strip() == "No failed records."


def test_given_connection_env_when_run_as_module_then_uses_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    _seed(Ledger(url))
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT / "plugins"),
               AIRFLOW_CONN_SYNC_LEDGER_DEFAULT=json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "l.db")}))
    done = subprocess.run([sys.executable, "-m", "amazon_netsuite.ledger", "failed", "--json"], env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2


def test_given_no_ledger_anywhere_when_reading_then_fails_loudly_naming_where_and_creates_nothing(tmp_path, capsys,
                                                                                                  monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.delenv("AIRFLOW_CONN_SYNC_LEDGER_DEFAULT", raising=False)
    assert main(["failed", "--dag", DAG]) == 2
    err = capsys.readouterr().err
    assert f"no sync ledger at {home / 'sync_ledger.db'}" in err
    assert "sync_ledger_default" in err and "from AIRFLOW_HOME" in err and "./bin/ledger" in err
    assert list(home.iterdir()) == []


def test_given_url_of_missing_sqlite_file_when_reading_then_error_and_no_file(tmp_path, capsys):
    missing = tmp_path / "nope" / "ledger.db"
    assert main(["--url", f"sqlite:///{missing}", "failed"]) == 2
    assert "no sync ledger at" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_given_ledger_without_tables_when_reading_then_empty_and_nothing_created(tmp_path, capsys):
    import sqlalchemy as sa

    path = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{path}").connect().close()
    assert main(["--url", f"sqlite:///{path}", "failed"]) == 0
    assert capsys.readouterr().out.strip() == "No failed records."
    assert sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names() == []


def test_given_no_airflow_home_when_defaulting_then_project_airflow_home(monkeypatch):
    from amazon_netsuite.ledger.store import PROJECT_AIRFLOW_HOME, airflow_home

    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    home, source = airflow_home()
    if PROJECT_AIRFLOW_HOME.is_dir():
        assert home == PROJECT_AIRFLOW_HOME and "project's airflow_home" in source
    else:
        assert home == Path.home() / "airflow"
