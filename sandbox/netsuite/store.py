"""SQLite state of the NetSuite emulator: records as JSON (the admin API shape), ids, call counters."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: NetSuite's record groups ("Shared Internal and External IDs"): internal ids are numbered per group
#: (all transactions share one sequence) and externalIds are unique per group, compared ignoring case:
#: a journal entry cannot take the externalId of a sales order, and "AMZ-SO-1" and "amz-so-1" collide.
FAMILIES = {
    "customer": "entity",
    "vendor": "entity",
    "salesOrder": "transaction",
    "cashSale": "transaction",
    "invoice": "transaction",
    "itemFulfillment": "transaction",
    "returnAuthorization": "transaction",
    "creditMemo": "transaction",
    "cashRefund": "transaction",
    "journalEntry": "transaction",
    "inventoryAdjustment": "transaction",
    "transferOrder": "transaction",
    "itemReceipt": "transaction",
    "inventoryItem": "item",
    "otherChargeSaleItem": "item",
    "salesTaxItem": "item",
    "account": "account",
    "subsidiary": "subsidiary",
    "location": "location",
    "currency": "currency",
    "accountingPeriod": "accountingPeriod",
}
FIRST_ID = 1000


def group_of(record_type: str) -> str:
    return FAMILIES.get(record_type, record_type)


def external_key(external_id: str | None) -> str | None:
    """How NetSuite compares externalIds: ignoring case."""
    return external_id.casefold() if external_id else None

_INDEXES = """
DROP INDEX IF EXISTS records_external_id;
CREATE UNIQUE INDEX IF NOT EXISTS records_group_external_key ON records (id_group, external_key)
    WHERE external_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_name_key ON records (record_type, name_key) WHERE name_key IS NOT NULL;
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_type TEXT NOT NULL,
    internal_id INTEGER NOT NULL,
    external_id TEXT,
    last_modified TEXT NOT NULL,
    data TEXT NOT NULL,
    id_group TEXT,
    external_key TEXT,
    name_key TEXT,
    PRIMARY KEY (record_type, internal_id)
);
CREATE INDEX IF NOT EXISTS records_last_modified ON records (record_type, last_modified);
CREATE TABLE IF NOT EXISTS sequences (family TEXT PRIMARY KEY, next_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS qty_changes (
    item_id INTEGER NOT NULL, location_id INTEGER NOT NULL, changed_at TEXT NOT NULL,
    PRIMARY KEY (item_id, location_id)
);
CREATE TABLE IF NOT EXISTS calls (
    operation TEXT PRIMARY KEY, calls INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0, records INTEGER NOT NULL DEFAULT 0
);
"""


def _name_key(record: dict[str, Any]) -> str | None:
    """Entity names (``entityId``) are unique per entity type, compared ignoring case."""
    name = record.get("entityId")
    return " ".join(str(name).split()).casefold() if name else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _json_default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Store:
    """Thread-safe (one connection behind a lock): uvicorn runs SOAP calls in a thread pool."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "netsuite.sqlite3"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._db.executescript(_INDEXES)
        self.lock = threading.RLock()

    def _migrate(self) -> None:
        """State written before externalIds were grouped: add the columns and fill them in."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        missing = [c for c in ("id_group", "external_key", "name_key") if c not in columns]
        for column in missing:
            self._db.execute(f"ALTER TABLE records ADD COLUMN {column} TEXT")
        if missing:
            rows = self._db.execute("SELECT record_type, internal_id, data FROM records").fetchall()
            for record_type, internal_id, data in rows:
                record = json.loads(data)
                self._db.execute(
                    "UPDATE records SET id_group = ?, external_key = ?, name_key = ? WHERE record_type = ? AND internal_id = ?",
                    (group_of(record_type), external_key(record.get("externalId")), _name_key(record), record_type, internal_id),
                )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def is_empty(self) -> bool:
        with self.lock:
            return self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0

    def reset(self) -> None:
        with self.transaction():
            for table in ("records", "sequences", "qty_changes", "calls"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    # ------------------------------------------------------------------ records
    def next_id(self, record_type: str) -> int:
        family = group_of(record_type)
        with self.lock:
            row = self._db.execute("SELECT next_id FROM sequences WHERE family = ?", (family,)).fetchone()
            value = row[0] if row else FIRST_ID
            self._db.execute(
                "INSERT INTO sequences (family, next_id) VALUES (?, ?) "
                "ON CONFLICT (family) DO UPDATE SET next_id = excluded.next_id",
                (family, value + 1),
            )
            return value

    def bump_sequence(self, record_type: str, used_id: int) -> None:
        family = group_of(record_type)
        with self.lock:
            self._db.execute(
                "INSERT INTO sequences (family, next_id) VALUES (?, ?) ON CONFLICT (family) "
                "DO UPDATE SET next_id = MAX(next_id, excluded.next_id)",
                (family, max(used_id + 1, FIRST_ID)),
            )

    def get(self, record_type: str, internal_id: int | str | None = None, external_id: str | None = None):
        with self.lock:
            if internal_id is not None:
                try:
                    key = int(internal_id)
                except (TypeError, ValueError):
                    return None
                row = self._db.execute(
                    "SELECT data FROM records WHERE record_type = ? AND internal_id = ?", (record_type, key)
                ).fetchone()
            elif external_id is not None:
                row = self._db.execute(
                    "SELECT data FROM records WHERE id_group = ? AND external_key = ? AND record_type = ?",
                    (group_of(record_type), external_key(external_id), record_type),
                ).fetchone()
            else:
                return None
        return json.loads(row[0]) if row else None

    def owner(self, record_type: str, external_id: str) -> tuple[str, dict[str, Any]] | None:
        """(record type, record) holding ``external_id`` anywhere in ``record_type``'s group, ignoring case."""
        with self.lock:
            row = self._db.execute(
                "SELECT record_type, data FROM records WHERE id_group = ? AND external_key = ?",
                (group_of(record_type), external_key(external_id)),
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def named(self, record_type: str, entity_id: str, *, other_than: int | str | None = None) -> list[int]:
        """Internal ids of ``record_type`` records whose entityId is ``entity_id`` (ignoring case and spacing)."""
        key = _name_key({"entityId": entity_id})
        with self.lock:
            rows = self._db.execute(
                "SELECT internal_id FROM records WHERE record_type = ? AND name_key = ? AND internal_id != ?",
                (record_type, key, int(other_than) if other_than is not None else -1),
            ).fetchall()
        return [row[0] for row in rows]

    def put(self, record_type: str, record: dict[str, Any], last_modified: str) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO records (record_type, internal_id, external_id, last_modified, data, id_group, external_key, name_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_type, internal_id) DO UPDATE SET "
                "external_id = excluded.external_id, last_modified = excluded.last_modified, data = excluded.data, "
                "id_group = excluded.id_group, external_key = excluded.external_key, name_key = excluded.name_key",
                (
                    record_type,
                    int(record["internalId"]),
                    record.get("externalId"),
                    last_modified,
                    json.dumps(record, default=_json_default, sort_keys=True),
                    group_of(record_type),
                    external_key(record.get("externalId")),
                    _name_key(record),
                ),
            )

    def all(self, record_type: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self._db.execute(
                "SELECT data FROM records WHERE record_type = ? ORDER BY internal_id", (record_type,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def all_with_modified(self, record_type: str) -> list[tuple[dict[str, Any], str]]:
        """Every record of a type with its last-modified instant (ISO, UTC), by internal id (SuiteQL rows)."""
        with self.lock:
            rows = self._db.execute(
                "SELECT data, last_modified FROM records WHERE record_type = ? ORDER BY internal_id", (record_type,)
            ).fetchall()
        return [(json.loads(row[0]), row[1]) for row in rows]

    def select_ids(
        self,
        record_type: str,
        *,
        internal_ids: list[int] | None = None,
        external_ids: list[str] | None = None,
        modified_from: str | None = None,
        modified_to: str | None = None,
        from_inclusive: bool = True,
        to_inclusive: bool = True,
        email: tuple[str, str] | None = None,
    ) -> list[int]:
        sql = ["SELECT internal_id FROM records WHERE record_type = ?"]
        args: list[Any] = [record_type]
        if internal_ids is not None:
            sql.append(f"AND internal_id IN ({','.join('?' * len(internal_ids)) or 'NULL'})")
            args.extend(internal_ids)
        if external_ids is not None:
            sql.append(f"AND external_key IN ({','.join('?' * len(external_ids)) or 'NULL'})")
            args.extend(external_key(e) for e in external_ids)
        if modified_from is not None:
            sql.append("AND last_modified >= ?" if from_inclusive else "AND last_modified > ?")
            args.append(modified_from)
        if modified_to is not None:
            sql.append("AND last_modified <= ?" if to_inclusive else "AND last_modified < ?")
            args.append(modified_to)
        if email is not None:  # (operator, value); NetSuite compares text ignoring case
            operator, value = email
            field = "lower(coalesce(json_extract(data, '$.email'), ''))"
            value = value.strip().lower()
            if operator == "is":
                sql.append(f"AND {field} = ?")
            elif operator == "contains":
                sql.append(f"AND instr({field}, ?) > 0")
            elif operator == "startsWith":
                sql.append(f"AND substr({field}, 1, length(?1)) = ?1".replace("?1", "?"))
                args.append(value)
            elif operator == "endsWith":
                sql.append(f"AND length({field}) >= length(?) AND substr({field}, -length(?)) = ?")
                args.extend([value, value])
            else:
                raise ValueError(f"unsupported email operator {operator}")
            args.append(value)
        sql.append("ORDER BY internal_id")
        with self.lock:
            return [row[0] for row in self._db.execute(" ".join(sql), args).fetchall()]

    # ------------------------------------------------------------------ availability
    def touch_quantity(self, item_id: int, location_id: int, at: str) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO qty_changes (item_id, location_id, changed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (item_id, location_id) DO UPDATE SET changed_at = excluded.changed_at",
                (item_id, location_id, at),
            )

    def quantity_changes(self, item_id: int) -> dict[int, str]:
        with self.lock:
            rows = self._db.execute(
                "SELECT location_id, changed_at FROM qty_changes WHERE item_id = ?", (item_id,)
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    # ------------------------------------------------------------------ call counters
    def count_call(self, operation: str, *, throttled: bool = False, records: int = 0) -> None:
        with self.lock:
            self._db.execute(
                "INSERT INTO calls (operation, calls, throttled, records) VALUES (?, 1, ?, ?) "
                "ON CONFLICT (operation) DO UPDATE SET calls = calls + 1, "
                "throttled = throttled + excluded.throttled, records = records + excluded.records",
                (operation, int(throttled), records),
            )

    def add_records_count(self, operation: str, records: int) -> None:
        with self.lock:
            self._db.execute("UPDATE calls SET records = records + ? WHERE operation = ?", (records, operation))

    def calls(self) -> dict[str, dict[str, int]]:
        with self.lock:
            rows = self._db.execute("SELECT operation, calls, throttled, records FROM calls").fetchall()
        return {op: {"calls": c, "throttled": t, "records": r} for op, c, t, r in rows}
