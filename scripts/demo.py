"""``make demo``: the main job on the embedded default — SQLite, the sandbox, every DAG once.

1. prepares AIRFLOW_HOME (SQLite metadata DB, Fernet key) and creates the API pools;
2. starts the sandbox emulators on free loopback ports with fresh deterministic seed data;
3. runs every DAG in dags/ once with ``airflow dags test`` against them (a demo ledger too), over
   a window covering the seeded data (the last 30 days);
4. prints what happened: each DAG's outcome, the ledger's counts and failures, the API calls made.
Everything of the demo (sandbox state, ledger, logs) is under $AIRFLOW_HOME/demo, renewed each run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import airflow_setup  # noqa: E402

PROJECT_ROOT = airflow_setup.PROJECT_ROOT


def discover_dags() -> list[str]:
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(PROJECT_ROOT / 'dags')!r});"
        "print(json.dumps({'ids': sorted(bag.dag_ids), 'errors': {str(k): str(v) for k, v in bag.import_errors.items()}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"could not parse dags/: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"]:
        for path, error in result["errors"].items():
            print(f"import error in {path}:\n{error}", file=sys.stderr)
        raise SystemExit("dags/ has import errors; fix them first")
    return result["ids"]


def order_dags(dag_ids: list[str]) -> list[str]:
    from amazon_netsuite.dags_common import MANUAL_DAG_IDS

    # The order a seller's day runs in: orders reach NetSuite before their shipments are fulfilled and
    # billed, billing before the settlement clears it and before refunds mirror it, stock and catalog
    # after, the reconciliation of it all next, and the replay DAG last so it has something to look at.
    known = [d for d in DEMO_ORDER if d in dag_ids]
    scheduled = [d for d in dag_ids if d not in MANUAL_DAG_IDS and d not in DEMO_ORDER]
    return known + scheduled + [d for d in dag_ids if d in MANUAL_DAG_IDS]


#: A run that did all its work and failed only because it dead-lettered records or reconciliation found
#: differences (the alert a seller gets): the summary lists them, and the demo still counts as working.
#: The seeded world has such records on purpose, e.g. merchant-fulfilled orders Amazon shows shipped that
#: no NetSuite fulfilment matches (shipped outside NetSuite), whose refunds wait for billing, or the item
#: flagged for Amazon that lacks attributes its product type requires (reported to the merchandiser).
RECORDS_REPORTED = "completed; records dead-lettered or differences found (listed below)"
_RECORD_LEVEL = ("record(s) failed and were dead-lettered", "Reconciliation found ")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*(?:Error|Exception): ")


def record_level_failure(log_text: str) -> bool:
    """True when every failed task of an ``airflow dags test`` log ended with the record-level
    AirflowFailException of finish_run / the reconciliation (not a crash)."""
    lines = log_text.splitlines()
    starts = [i for i, line in enumerate(lines) if "Task failed with exception" in line]
    if not starts:
        return False
    for start in starts:
        end = next((j for j in range(start + 1, len(lines))
                    if "::group::Post Execute" in lines[j] or "Task instance state updated" in lines[j]), len(lines))
        raised = [line for line in lines[start:end] if _EXCEPTION_LINE.match(line)]
        if not raised:
            return False
        last = raised[-1]
        if not (last.startswith("airflow.sdk.exceptions.AirflowFailException: ") and any(m in last for m in _RECORD_LEVEL)):
            return False
    return True


DEMO_ORDER = (
    "amazon_orders_to_netsuite",
    "amazon_fba_shipments_to_netsuite",
    "netsuite_shipments_to_amazon",
    "amazon_settlements_to_netsuite",
    "amazon_returns_to_netsuite",
    "netsuite_inventory_to_amazon",
    "netsuite_catalog_to_amazon",
    "sync_reconciliation",
)


def sandbox_calls(env: dict[str, str], ports: dict[str, int], names: list[str]) -> dict[str, dict]:
    import httpx

    calls = {}
    for name in names:
        try:
            response = httpx.get(f"http://127.0.0.1:{ports[name]}/_sandbox/calls", timeout=10)
            calls[name] = response.json().get("operations", {})
        except Exception as exc:  # noqa: BLE001 - the summary reports what it could read
            calls[name] = {"error": str(exc)}
    return calls


def ledger_report(url: str) -> list[str]:
    from amazon_netsuite.ledger import Ledger

    ledger = Ledger(url)
    ledger.create_schema()
    import sqlalchemy as sa

    from amazon_netsuite.ledger.models import sync_records as t

    lines = []
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.dag_id, t.c.record_type, t.c.status, sa.func.count())
            .group_by(t.c.dag_id, t.c.record_type, t.c.status)
            .order_by(t.c.dag_id, t.c.record_type, t.c.status)
        ).all()
    for dag_id, record_type, status, count in rows:
        lines.append(f"  {dag_id:<36} {record_type:<22} {status:<8} {count:>6}")
    for record in ledger.failed()[:10]:
        lines.append(f"  failed {record.key}: {' '.join((record.last_error or '').split())[:160]}")
    return lines


def main() -> int:
    started = time.monotonic()
    home = airflow_setup.prepare_environment()
    demo_dir = home / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    (demo_dir / "logs").mkdir(parents=True)
    print(f"AIRFLOW_HOME={home} (metadata DB: SQLite)")

    pools = airflow_setup.migrate_and_create_pools(home)
    print("Airflow DB migrated; pools: " + ", ".join(pools))

    ledger_db = demo_dir / "sync_ledger.db"
    ledger_url = f"sqlite:///{ledger_db}"
    env = dict(os.environ)
    # One run each, reported at once: no task retries with minutes of backoff in the demo.
    env.setdefault("AMAZON_NETSUITE_TASK_RETRIES", "0")
    # The sandbox finishes a report or feed about 5 s after it is requested; production polls Amazon
    # every 30 s (reports) / 60 s (feeds), which here would only be waiting.
    env.setdefault("AMAZON_NETSUITE_REPORT_POLL_SECONDS", "2")
    env.setdefault("AMAZON_NETSUITE_FEED_POLL_SECONDS", "2")
    env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})

    emulators = airflow_setup.available_emulators()
    dag_ids = order_dags(discover_dags())
    results: list[tuple[str, str, float, Path]] = []
    calls: dict[str, dict] = {}

    # The seed spreads its data over the last two weeks: give every run a window that covers it
    # (DAGs ignore the params that don't apply to them).
    now = dt.datetime.now(dt.UTC)
    conf = {"window_start": (now - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "window_end": now.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def run_dags(conn_env: dict[str, str]) -> None:
        for dag_id in dag_ids:
            log_file = demo_dir / "logs" / f"{dag_id}.log"
            t0 = time.monotonic()
            with log_file.open("w") as log:
                done = subprocess.run(
                    [airflow_setup.AIRFLOW, "dags", "test", dag_id, "--conf", json.dumps(conf)],
                    env={**env, **conn_env}, stdout=log, stderr=subprocess.STDOUT, timeout=1800, check=False,
                )
            if done.returncode == 0:
                outcome = "success"
            elif record_level_failure(log_file.read_text(errors="replace")):
                outcome = RECORDS_REPORTED
            else:
                outcome = f"failed (exit {done.returncode})"
            results.append((dag_id, outcome, time.monotonic() - t0, log_file))
            print(f"  {dag_id}: {outcome} in {time.monotonic() - t0:.1f}s (log: {log_file})", flush=True)

    if emulators:
        ports = {"amazon": airflow_setup.free_port(), "netsuite": airflow_setup.free_port()}
        with airflow_setup.sandbox(demo_dir / "sandbox-state", ports, demo_dir / "sandbox.log") as conn_env:
            print("Sandbox running: " + ", ".join(f"{n} on 127.0.0.1:{ports[n]}" for n in emulators) + " (seed 0)")
            if dag_ids:
                print(f"Running {len(dag_ids)} DAG(s) once with `airflow dags test`:")
            run_dags(conn_env)
            calls = sandbox_calls(conn_env, ports, emulators)
    else:
        print("Sandbox: no emulator exists in this checkout yet (sandbox/amazon, sandbox/netsuite).")
        run_dags({})

    print()
    print("Summary")
    if not dag_ids:
        print("  dags/ holds no DAG yet: nothing was synced. What ran: the virtualenv, the Airflow")
        print("  metadata DB on SQLite, the pools" + (", the sandbox" if emulators else "") + ".")
    else:
        ok = sum(1 for _, outcome, _, _ in results if outcome == "success")
        reported = sum(1 for _, outcome, _, _ in results if outcome == RECORDS_REPORTED)
        print(f"  DAG runs: {ok} succeeded, {reported} completed with records reported, "
              f"{len(results) - ok - reported} failed")
        lines = ledger_report(ledger_url)
        print("  Sync ledger (dag, record type, status, count):" if lines else "  Sync ledger: no records written")
        for line in lines:
            print(line)
    for name, operations in calls.items():
        if "error" in operations:
            print(f"  {name} API calls: could not read ({operations['error']})")
            continue
        used = {op: c for op, c in operations.items() if c.get("calls")}
        if used:
            text = ", ".join(f"{op} {c['calls']}" + (f" ({c['throttled']} throttled)" if c.get("throttled") else "")
                             for op, c in sorted(used.items()))
            print(f"  {name} API calls: {text}")
    print(f"Done in {time.monotonic() - started:.0f}s. Demo state and logs: {demo_dir}")
    if dag_ids:
        print("Inspect the demo's sync ledger: ./bin/ledger --demo failed   (one record: ./bin/ledger --demo show KEY)")
    return 0 if all(outcome in ("success", RECORDS_REPORTED) for _, outcome, _, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
