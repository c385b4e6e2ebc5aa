"""SQLite state of the SP-API emulator: orders, reports, documents, tokens, pagination cursors.

Reports, documents and access tokens belong to one SP-API region (the endpoint that created them);
orders belong to the region of their marketplace.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    marketplace_id TEXT NOT NULL,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    fulfillment_status TEXT,
    fulfilled_by TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_updated ON orders (last_updated_time, order_id);
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY,
    report_type TEXT NOT NULL,
    marketplace_ids TEXT NOT NULL,
    created_time TEXT NOT NULL,
    created_epoch REAL NOT NULL,
    data_start_time TEXT,
    data_end_time TEXT,
    in_progress_at REAL NOT NULL,
    done_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    document_id TEXT,
    region TEXT
);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    report_type TEXT NOT NULL,
    content BLOB NOT NULL,
    charset TEXT NOT NULL,
    compression TEXT,
    region TEXT
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    expires_at REAL NOT NULL,
    resources TEXT,
    region TEXT,
    scope TEXT
);
CREATE TABLE IF NOT EXISTS cursors (
    token TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    ids TEXT NOT NULL,
    position INTEGER NOT NULL,
    page_size INTEGER NOT NULL,
    extra TEXT NOT NULL,
    issued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settlements (
    settlement_id TEXT PRIMARY KEY,
    marketplace_id TEXT NOT NULL,
    report_id TEXT NOT NULL
);
"""
#: Columns added after the first release: an older state directory gets them on start.
ADDED_COLUMNS = {"reports": ("region",), "documents": ("region",), "access_tokens": ("region", "scope")}


class AmazonStore:
    """Thread-safe access to one SQLite file (uvicorn serves requests from one event loop)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            present = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def execute(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def reset(self) -> None:
        """The seller's data goes; the access tokens Amazon issued stay valid until they expire (a client that
        cached one, as python-amazon-sp-api does process-wide, is not refused because a test reseeded)."""
        with self._lock:
            for table in ("orders", "reports", "documents", "cursors", "counters", "settlements"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def next_number(self, name: str, start: int) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = (row["value"] if row else start) + 1
            self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))
            return value

    # -- orders ---------------------------------------------------------------------------------
    def order_count(self) -> int:
        return self.execute("SELECT COUNT(*) AS n FROM orders")[0]["n"]

    def upsert_orders(self, orders: Iterable[dict]) -> int:
        count = 0
        with self._lock:
            for order in orders:
                fulfillment = order.get("fulfillment") or {}
                self._db.execute(
                    "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        order["orderId"],
                        order["salesChannel"].get("marketplaceId", ""),
                        order["createdTime"],
                        order["lastUpdatedTime"],
                        fulfillment.get("fulfillmentStatus"),
                        fulfillment.get("fulfilledBy"),
                        json.dumps(order),
                    ),
                )
                count += 1
        return count

    def get_order(self, order_id: str) -> dict | None:
        rows = self.execute("SELECT body FROM orders WHERE order_id = ?", (order_id,))
        return json.loads(rows[0]["body"]) if rows else None

    def orders_by_ids(self, ids: list[str]) -> list[dict]:
        bodies = {}
        for row in self.execute(
            f"SELECT order_id, body FROM orders WHERE order_id IN ({','.join('?' * len(ids))})", ids  # noqa: S608
        ):
            bodies[row["order_id"]] = json.loads(row["body"])
        return [bodies[i] for i in ids if i in bodies]

    def all_orders(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.execute("SELECT body FROM orders ORDER BY last_updated_time, order_id")]

    # -- tokens ---------------------------------------------------------------------------------
    def issue_token(self, kind: str, ttl: int, resources: list | None = None, *, region: str | None = None,
                    scope: str | None = None) -> str:
        """``kind``: ``lwa`` (a seller authorization of ``region``), ``grantless`` (``scope``), ``rdt``."""
        prefix = "Atz.sprdt|" if kind == "rdt" else "Atza|"
        token = prefix + secrets.token_urlsafe(32)
        self.execute(
            "INSERT INTO access_tokens (token, kind, expires_at, resources, region, scope) VALUES (?, ?, ?, ?, ?, ?)",
            (token, kind, time.time() + ttl, json.dumps(resources) if resources is not None else None, region, scope),
        )
        return token

    def token(self, token: str) -> sqlite3.Row | None:
        rows = self.execute("SELECT * FROM access_tokens WHERE token = ?", (token,))
        return rows[0] if rows else None

    def expire_tokens(self) -> None:
        self.execute("UPDATE access_tokens SET expires_at = ? WHERE kind IN ('lwa', 'grantless')", (time.time() - 1,))

    # -- cursors (nextToken / paginationToken) ----------------------------------------------------
    def create_cursor(self, operation: str, ids: list[str], position: int, page_size: int, extra: dict) -> str:
        token = secrets.token_urlsafe(24)
        self.execute(
            "INSERT INTO cursors VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token, operation, json.dumps(ids), position, page_size, json.dumps(extra), time.time()),
        )
        return token

    def cursor(self, operation: str, token: str) -> sqlite3.Row | None:
        rows = self.execute("SELECT * FROM cursors WHERE token = ? AND operation = ?", (token, operation))
        return rows[0] if rows else None

    def age_cursors(self, seconds: float) -> None:
        self.execute("UPDATE cursors SET issued_at = issued_at - ?", (seconds,))

    # -- seeded settlements (settlement id -> the report that published it) ------------------------
    def settlement_report(self, settlement_id: str) -> str | None:
        rows = self.execute("SELECT report_id FROM settlements WHERE settlement_id = ?", (settlement_id,))
        return rows[0]["report_id"] if rows else None

    def record_settlement(self, settlement_id: str, marketplace_id: str, report_id: str) -> None:
        self.execute("INSERT OR REPLACE INTO settlements VALUES (?, ?, ?)", (settlement_id, marketplace_id, report_id))

    # -- reports and documents --------------------------------------------------------------------
    def insert_report(self, **row) -> None:
        columns = ", ".join(row)
        self.execute(f"INSERT INTO reports ({columns}) VALUES ({', '.join('?' * len(row))})", row.values())  # noqa: S608

    def report(self, report_id: str) -> sqlite3.Row | None:
        rows = self.execute("SELECT * FROM reports WHERE report_id = ?", (report_id,))
        return rows[0] if rows else None

    def reports(self) -> list[sqlite3.Row]:
        return self.execute("SELECT * FROM reports ORDER BY created_epoch DESC, report_id DESC")

    def cancel_report(self, report_id: str) -> None:
        self.execute("UPDATE reports SET cancelled = 1 WHERE report_id = ?", (report_id,))

    def insert_document(self, document_id: str, report_type: str, content: bytes, charset: str, compression: str | None,
                        region: str) -> None:
        self.execute(
            "INSERT INTO documents (document_id, report_type, content, charset, compression, region) VALUES (?, ?, ?, ?, ?, ?)",
            (document_id, report_type, content, charset, compression, region),
        )

    def document(self, document_id: str) -> sqlite3.Row | None:
        rows = self.execute("SELECT * FROM documents WHERE document_id = ?", (document_id,))
        return rows[0] if rows else None
