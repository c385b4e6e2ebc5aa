"""On-call CLI of the sync ledger (docs/architecture.md section 9)::

    python -m amazon_netsuite.ledger failed [--dag DAG_ID] [--json]
    python -m amazon_netsuite.ledger show KEY [--json]

The ledger is the one the DAGs use: the ``sync_ledger_default`` connection
(``AIRFLOW_CONN_SYNC_LEDGER_DEFAULT``), else ``sqlite:///$AIRFLOW_HOME/sync_ledger.db`` with
``AIRFLOW_HOME`` defaulting to the project's ``airflow_home/`` like the make targets (``./bin/ledger``
sets it for you); ``--url`` points at another one. The CLI only reads: it never creates a ledger, and
says where it looked when there is none. Output carries ids, errors and counts, never buyer data: an
encrypted payload is shown only as kept/not kept.
"""

from __future__ import annotations

import argparse
import json
import sys

from amazon_netsuite.ledger.store import (
    LEDGER_CONN_ID,
    Ledger,
    LedgerError,
    LedgerRecord,
    airflow_home,
    ledger_url_from_connection,
)

REPLAY_HINT = (
    "Fix the cause (mapping table, NetSuite data), then replay: "
    "airflow dags trigger sync_replay_failed_records --conf '{conf}'"
)


def _ledger(url: str | None) -> Ledger:
    """The ledger to read, opened read-only; LedgerError names what was looked for when it is absent."""
    if url:
        return Ledger(url, read_only=True)
    url = ledger_url_from_connection()
    try:
        return Ledger(url, read_only=True)
    except LedgerError as exc:
        home, source = airflow_home()
        demo = home / "demo" / "sync_ledger.db"
        hint = (f"\nThe last `make demo` wrote its own ledger ({demo}): read it with ./bin/ledger --demo ..."
                if demo.is_file() else "")
        raise LedgerError(
            f"{exc}.\nLooked for: connection {LEDGER_CONN_ID} (not set), so the default "
            f"{url} under Airflow home {home} (from {source}).\nRun the CLI with the same AIRFLOW_HOME and "
            f"connections as the DAGs (from the project: ./bin/ledger ...), or pass --url.{hint}"
        ) from None


def _short(text: str | None, width: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_failed(records: list[LedgerRecord], dag_id: str | None) -> None:
    if not records:
        scope = f" for {dag_id}" if dag_id else ""
        print(f"No failed records{scope}.")
        return
    print(f"{len(records)} failed record(s):")
    print(f"{'KEY':<60} {'ATTEMPTS':>8} {'REASON':<20} {'UPDATED (UTC)':<20} ERROR")
    for r in records:
        print(
            f"{r.key:<60} {r.attempts:>8} {(r.reason or ''):<20} "
            f"{r.updated_at.strftime('%Y-%m-%d %H:%M:%S'):<20} {_short(r.last_error)}"
        )
    conf = {"dag_id": dag_id} if dag_id else {"keys": [r.key for r in records[:20]]}
    print()
    print(REPLAY_HINT.format(conf=json.dumps(conf)))


def _print_record(record: LedgerRecord) -> None:
    fields = record.as_dict()
    fields["payload"] = "kept (encrypted)" if record.has_payload else "not kept"
    fields.pop("has_payload")
    width = max(len(k) for k in fields)
    for name, value in fields.items():
        if isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        print(f"{name:<{width}}  {value if value is not None else '-'}")
    if record.status == "failed":
        print()
        print(REPLAY_HINT.format(conf=json.dumps({"keys": [record.key]})))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amazon_netsuite.ledger", description="Sync ledger for on-call")
    parser.add_argument("--url", help="SQLAlchemy URL of the ledger (default: the sync_ledger_default connection)")
    sub = parser.add_subparsers(dest="command", required=True)
    failed = sub.add_parser("failed", help="list dead-lettered records with their errors")
    failed.add_argument("--dag", dest="dag_id", help="only this DAG's records")
    failed.add_argument("--json", action="store_true", help="machine-readable output")
    show = sub.add_parser("show", help="show one record by its key (dag_id:record_type:source_key)")
    show.add_argument("key")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)

    try:
        ledger = _ledger(args.url)
    except LedgerError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    if args.command == "failed":
        records = ledger.failed(dag_id=args.dag_id)
        if args.json:
            print(json.dumps([r.as_dict() for r in records], indent=2, sort_keys=True))
        else:
            _print_failed(records, args.dag_id)
        return 0

    record = ledger.get(args.key)
    if record is None:
        print(f"No ledger record with key {args.key!r} (keys look like dag_id:record_type:source_key).", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(record.as_dict(), indent=2, sort_keys=True))
    else:
        _print_record(record)
    return 0
