"""The sync ledger: what happened to every record each flow touched, and what replay needs.

Writes are single-statement upserts (``INSERT ... ON CONFLICT DO UPDATE``) whose counters are
computed by the database (``attempts = attempts + 1``), so concurrent writers — parallel mapped
tasks, a replay racing a scheduled run — never lose an update, on SQLite and PostgreSQL alike.

PII: ``replay`` holds ids only (it is refused when it looks like buyer data); a payload that ids
cannot reproduce is stored Fernet-encrypted with Airflow's key and purged after the retention.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from amazon_netsuite.ledger.models import (
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SKIPPED,
    STATUS_SYNCED,
    customer_index,
    item_state,
    item_stock,
    metadata,
    pushed_state,
    reconciliation_findings,
    reconciliation_runs,
    sync_records,
    watermarks,
)

log = logging.getLogger(__name__)

LEDGER_CONN_ID = "sync_ledger_default"
RETENTION_ENV = "AMAZON_NETSUITE_PAYLOAD_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
# Keys that mean someone is about to put buyer data in the clear ``replay`` column.
_PII_KEYS = ("email", "name", "address", "phone", "buyer_info", "recipient", "street", "postal")


class LedgerError(RuntimeError):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ledger_key(dag_id: str, record_type: str, source_key: str) -> str:
    return f"{dag_id}:{record_type}:{source_key}"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


def content_hash(value: Any) -> str:
    """A stable SHA-256 of a JSON-able value (Decimal as its exact string), to skip unchanged records."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    key: str
    dag_id: str
    record_type: str
    source_key: str
    external_id: str | None
    internal_id: str | None
    status: str
    attempts: int
    reason: str | None
    last_error: str | None
    replay: dict[str, Any] | None
    has_payload: bool
    payload_expires_at: dt.datetime | None
    content_hash: str | None
    run_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    synced_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in self.__dict__.items()}


@dataclass
class RunSummary:
    """What one DAG run did, from the ledger (plus counts the flow adds, e.g. unchanged records)."""

    dag_id: str
    run_id: str
    counts: dict[str, int] = field(default_factory=dict)
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    failed_keys: list[str] = field(default_factory=list)
    first_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.counts.get(STATUS_FAILED, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "counts": dict(self.counts),
            "failures_by_reason": dict(self.failures_by_reason),
            "failed_keys": list(self.failed_keys),
            "first_errors": [list(e) for e in self.first_errors],
        }


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite gives naive datetimes back; every datetime this module writes is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _row_to_record(row: sa.Row) -> LedgerRecord:
    m = row._mapping
    return LedgerRecord(
        key=m["key"],
        dag_id=m["dag_id"],
        record_type=m["record_type"],
        source_key=m["source_key"],
        external_id=m["external_id"],
        internal_id=m["internal_id"],
        status=m["status"],
        attempts=m["attempts"],
        reason=m["reason"],
        last_error=m["last_error"],
        replay=m["replay"],
        has_payload=m["payload"] is not None,
        payload_expires_at=_as_utc(m["payload_expires_at"]),
        content_hash=m["content_hash"],
        run_id=m["run_id"],
        created_at=_as_utc(m["created_at"]),
        updated_at=_as_utc(m["updated_at"]),
        synced_at=_as_utc(m["synced_at"]),
    )


#: the project checkout's Airflow home, where the make targets and ./bin wrappers point AIRFLOW_HOME
PROJECT_AIRFLOW_HOME = Path(__file__).resolve().parents[3] / "airflow_home"


def airflow_home() -> tuple[Path, str]:
    """Airflow's home and where that answer came from (for messages): ``$AIRFLOW_HOME``, else the
    project's ``airflow_home/`` when it exists (the make targets' default), else ``~/airflow``."""
    if os.environ.get("AIRFLOW_HOME"):
        return Path(os.environ["AIRFLOW_HOME"]), "AIRFLOW_HOME"
    if PROJECT_AIRFLOW_HOME.is_dir():
        return PROJECT_AIRFLOW_HOME, "the project's airflow_home/ (AIRFLOW_HOME is not set)"
    return Path.home() / "airflow", "Airflow's default ~/airflow (AIRFLOW_HOME is not set)"


def default_ledger_url() -> str:
    return f"sqlite:///{airflow_home()[0] / 'sync_ledger.db'}"


def ledger_url_from_connection(conn_id: str = LEDGER_CONN_ID) -> str:
    """SQLAlchemy URL of the ``sync_ledger_default`` connection, or the SQLite default without one.

    The connection may carry the URL in its extra (``{"sqlalchemy_url": "..."}``) or be a plain
    ``postgres``/``sqlite`` connection.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return default_ledger_url()
    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return extra["sqlalchemy_url"]
    conn_type = (conn.conn_type or "").lower()
    if conn_type in ("postgres", "postgresql"):
        return sa.URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        ).render_as_string(hide_password=False)
    if conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    raise LedgerError(
        f"connection {conn_id!r} has type {conn.conn_type!r}; use postgres or sqlite, "
        'or give {"sqlalchemy_url": "..."} in its extra'
    )


def _retention_days() -> int:
    value = os.environ.get(RETENTION_ENV, "")
    if not value:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(value)
    except ValueError:
        raise LedgerError(f"{RETENTION_ENV}={value!r} is not a whole number of days") from None
    if days < 1:
        raise LedgerError(f"{RETENTION_ENV} must be at least 1 day, got {days}")
    return days


_ENGINES: dict[str, sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine_for(url: str) -> sa.Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _create_engine(url)
            _ENGINES[url] = engine
        return engine


def _create_engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised via every sqlite test
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover
            # Take the write lock up front: no deadlock between two readers upgrading to writers.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class Ledger:
    """Per-record sync state of every flow. Create with :meth:`from_connection` in tasks.

    ``read_only`` (the on-call CLI) never creates anything: a SQLite ledger file that does not exist
    is a :class:`LedgerError` naming where it looked, and a database without the tables reads as empty.
    """

    def __init__(self, url: str, *, retention_days: int | None = None, read_only: bool = False):
        self.url = url
        self.read_only = read_only
        if read_only:
            parsed = sa.make_url(url)
            database = parsed.database
            if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" \
                    and not Path(database).is_file():
                raise LedgerError(f"no sync ledger at {database}: nothing has been synced with this ledger")
        self.engine = _engine_for(url)
        self.retention = dt.timedelta(days=retention_days or _retention_days())
        self._schema_ready = False
        self._missing_tables: set[str] = set()

    @classmethod
    def from_connection(cls, conn_id: str = LEDGER_CONN_ID) -> Ledger:
        return cls(ledger_url_from_connection(conn_id))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_schema(self) -> None:
        """Create the ledger tables if missing (safe to call from parallel tasks).

        Read-only: create nothing; missing tables make every read empty."""
        if self._schema_ready:
            return
        if self.read_only:
            inspector = sa.inspect(self.engine)
            self._missing_tables = {t.name for t in metadata.sorted_tables if not inspector.has_table(t.name)}
            self._schema_ready = True
            return
        try:
            metadata.create_all(self.engine, checkfirst=True)
        except (IntegrityError, ProgrammingError, OperationalError) as exc:
            # Another process created them between our check and create: fine if they exist now.
            inspector = sa.inspect(self.engine)
            if not all(inspector.has_table(t.name) for t in metadata.sorted_tables):
                raise LedgerError(f"could not create the sync ledger tables at {self._safe_url}: {exc}") from exc
        self._schema_ready = True

    @property
    def _safe_url(self) -> str:
        return sa.make_url(self.url).render_as_string(hide_password=True)

    # --------------------------------------------------------------------------- writes

    def _insert(self, table: sa.Table):
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - guarded by documentation: SQLite or PostgreSQL
            raise LedgerError(f"the sync ledger supports SQLite and PostgreSQL, not {self.dialect}")
        return insert(table)

    def _write(
        self,
        *,
        dag_id: str,
        record_type: str,
        source_key: str,
        status: str,
        run_id: str | None,
        values: dict[str, Any],
        count_attempt: bool,
    ) -> LedgerRecord:
        if self.read_only:
            raise LedgerError("this ledger was opened read-only")
        self.create_schema()
        now = utcnow()
        key = ledger_key(dag_id, record_type, source_key)
        insert_values = {
            "key": key,
            "dag_id": dag_id,
            "record_type": record_type,
            "source_key": source_key,
            "status": status,
            "run_id": run_id,
            "attempts": 1 if count_attempt else 0,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        table = sync_records
        update = {
            "status": status,
            "run_id": run_id,
            "updated_at": now,
            **{k: v for k, v in values.items()},
        }
        if count_attempt:
            update["attempts"] = table.c.attempts + 1
        stmt = self._insert(table).values(**insert_values)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_=update)
        with self.engine.begin() as conn:
            conn.execute(stmt)
            row = conn.execute(sa.select(table).where(table.c.key == key)).one()
        return _row_to_record(row)

    def record_synced(
        self,
        *,
        dag_id: str,
        record_type: str,
        source_key: str,
        external_id: str | None,
        internal_id: str | None,
        run_id: str | None,
        content_hash: str | None = None,
        replay: Mapping[str, Any] | None = None,
    ) -> LedgerRecord:
        """The record is in NetSuite (or Amazon): clears the error and any stored payload."""
        values = {
            "external_id": external_id,
            "internal_id": internal_id,
            "content_hash": content_hash,
            "reason": None,
            "last_error": None,
            "payload": None,
            "payload_expires_at": None,
            "synced_at": utcnow(),
        }
        if replay is not None:
            values["replay"] = self._check_replay(replay)
        return self._write(
            dag_id=dag_id,
            record_type=record_type,
            source_key=source_key,
            status=STATUS_SYNCED,
            run_id=run_id,
            values=values,
            count_attempt=True,
        )

    def record_failed(
        self,
        *,
        dag_id: str,
        record_type: str,
        source_key: str,
        error: str,
        reason: str,
        run_id: str | None,
        replay: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        payload: Any = None,
        internal_id: str | None = None,
    ) -> LedgerRecord:
        """Dead-letter one record: keeps the error, what replay needs, and counts the attempt.

        ``internal_id`` is given when the record exists in NetSuite but still needs attention (a
        settlement posted with amounts in suspense).

        ``replay`` holds ids only. ``payload`` (optional) is stored encrypted and purged after the
        retention; without a Fernet key it is not stored and replay re-reads the source by its ids.
        """
        values: dict[str, Any] = {"reason": reason, "last_error": error[:4000]}
        if replay is not None:
            values["replay"] = self._check_replay(replay)
        if external_id is not None:
            values["external_id"] = external_id
        if internal_id is not None:
            values["internal_id"] = internal_id
        if payload is not None:
            token = self._encrypt(payload)
            if token is not None:
                values["payload"] = token
                values["payload_expires_at"] = utcnow() + self.retention
        return self._write(
            dag_id=dag_id,
            record_type=record_type,
            source_key=source_key,
            status=STATUS_FAILED,
            run_id=run_id,
            values=values,
            count_attempt=True,
        )

    def record_skipped(
        self,
        *,
        dag_id: str,
        record_type: str,
        source_key: str,
        reason: str,
        run_id: str | None,
        detail: str | None = None,
        external_id: str | None = None,
    ) -> LedgerRecord:
        """Deliberately not synced (e.g. a pending or unfulfillable order): closed, never replayed."""
        values: dict[str, Any] = {
            "reason": reason,
            "last_error": detail,
            "payload": None,
            "payload_expires_at": None,
        }
        if external_id is not None:
            values["external_id"] = external_id
        return self._write(
            dag_id=dag_id,
            record_type=record_type,
            source_key=source_key,
            status=STATUS_SKIPPED,
            run_id=run_id,
            values=values,
            count_attempt=False,
        )

    def record_pending(
        self,
        *,
        dag_id: str,
        record_type: str,
        source_key: str,
        run_id: str | None,
        replay: Mapping[str, Any] | None = None,
        external_id: str | None = None,
    ) -> LedgerRecord:
        """Seen and in flight (e.g. submitted in a feed whose result is not back yet)."""
        values: dict[str, Any] = {}
        if replay is not None:
            values["replay"] = self._check_replay(replay)
        if external_id is not None:
            values["external_id"] = external_id
        return self._write(
            dag_id=dag_id,
            record_type=record_type,
            source_key=source_key,
            status=STATUS_PENDING,
            run_id=run_id,
            values=values,
            count_attempt=False,
        )

    @staticmethod
    def _check_replay(replay: Mapping[str, Any]) -> dict[str, Any]:
        def walk(value: Any, path: str) -> None:
            if isinstance(value, Mapping):
                for k, v in value.items():
                    lowered = str(k).lower()
                    if any(p in lowered for p in _PII_KEYS):
                        raise LedgerError(
                            f"replay field {path + str(k)!r} looks like buyer data; the ledger keeps ids "
                            "in clear only — pass personal data as the encrypted payload instead"
                        )
                    walk(v, f"{path}{k}.")
            elif isinstance(value, list | tuple):
                for item in value:
                    walk(item, path)

        walk(replay, "")
        return json.loads(json.dumps(dict(replay), default=_json_default))

    # --------------------------------------------------------------------------- payloads

    def _fernet(self):
        from airflow.sdk.crypto import get_fernet

        fernet = get_fernet()
        return fernet if getattr(fernet, "is_encrypted", False) else None

    def _encrypt(self, payload: Any) -> str | None:
        fernet = self._fernet()
        if fernet is None:
            log.warning(
                "No Fernet key configured (core.fernet_key): the payload is not kept; replay re-reads "
                "the source by its ids"
            )
            return None
        data = json.dumps(payload, default=_json_default, sort_keys=True).encode("utf-8")
        return fernet.encrypt(data).decode("ascii")

    def payload(self, key: str) -> Any:
        """The decrypted payload of a record, or None when none is kept (or it was purged)."""
        self.create_schema()
        with self.engine.connect() as conn:
            token = conn.execute(sa.select(sync_records.c.payload).where(sync_records.c.key == key)).scalar()
        if token is None:
            return None
        fernet = self._fernet()
        if fernet is None:
            raise LedgerError(f"record {key} has an encrypted payload but no Fernet key is configured")
        return json.loads(fernet.decrypt(token.encode("ascii")))

    def purge_expired_payloads(self, now: dt.datetime | None = None) -> int:
        """Erase payloads past their retention (Amazon's Data Protection Policy); returns how many."""
        self.create_schema()
        now = now or utcnow()
        stmt = (
            sa.update(sync_records)
            .where(sync_records.c.payload.is_not(None), sync_records.c.payload_expires_at <= now)
            .values(payload=None, payload_expires_at=None)
        )
        with self.engine.begin() as conn:
            purged = conn.execute(stmt).rowcount or 0
        if purged:
            log.info("Purged %s expired payload(s) from the sync ledger", purged)
        return purged

    # --------------------------------------------------------------------------- reads

    def _absent(self, table: sa.Table) -> bool:
        """Read-only and the table does not exist: the read is empty."""
        self.create_schema()
        return table.name in self._missing_tables

    def get(self, key: str) -> LedgerRecord | None:
        if self._absent(sync_records):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sync_records).where(sync_records.c.key == key)).one_or_none()
        return _row_to_record(row) if row is not None else None

    def get_many(self, keys: Iterable[str]) -> dict[str, LedgerRecord]:
        if self._absent(sync_records):
            return {}
        keys = list(dict.fromkeys(keys))
        result: dict[str, LedgerRecord] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                for row in conn.execute(sa.select(sync_records).where(sync_records.c.key.in_(chunk))):
                    record = _row_to_record(row)
                    result[record.key] = record
        return result

    def unchanged(self, dag_id: str, record_type: str, source_keys_to_hash: Mapping[str, str]) -> set[str]:
        """Source keys already synced with this exact content hash (skip them)."""
        keys = {ledger_key(dag_id, record_type, s): s for s in source_keys_to_hash}
        records = self.get_many(keys)
        return {
            source
            for key, source in keys.items()
            if (r := records.get(key)) is not None
            and r.status == STATUS_SYNCED
            and r.content_hash is not None
            and r.content_hash == source_keys_to_hash[source]
        }

    def failed(
        self,
        *,
        dag_id: str | None = None,
        record_type: str | None = None,
        error_contains: str | None = None,
        keys: Iterable[str] | None = None,
        updated_after: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[LedgerRecord]:
        """Dead-lettered records, oldest first, filtered as the replay DAG's params allow."""
        if self._absent(sync_records):
            return []
        c = sync_records.c
        stmt = sa.select(sync_records).where(c.status == STATUS_FAILED)
        if dag_id:
            stmt = stmt.where(c.dag_id == dag_id)
        if record_type:
            stmt = stmt.where(c.record_type == record_type)
        if error_contains:
            stmt = stmt.where(c.last_error.contains(error_contains, autoescape=True))
        if keys is not None:
            stmt = stmt.where(c.key.in_(list(keys)))
        if updated_after is not None:
            stmt = stmt.where(c.updated_at >= updated_after)
        stmt = stmt.order_by(c.updated_at, c.id)
        if limit:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_record(r) for r in conn.execute(stmt)]

    @staticmethod
    def _record_filter(*, statuses: Iterable[str] | None, dag_id: str | None, reason: str | None) -> list[Any]:
        c = sync_records.c
        where: list[Any] = []
        if statuses is not None:
            where.append(c.status.in_(list(statuses)))
        if dag_id:
            where.append(c.dag_id == dag_id)
        if reason:
            where.append(c.reason == reason)
        return where

    def record_counts(self, *, statuses: Iterable[str] | None = None, dag_id: str | None = None,
                      reason: str | None = None) -> list[tuple[str, str, str, int]]:
        """(dag_id, status, reason or "", count) over every record the filter matches (one GROUP BY, however
        many records), sorted: the UI page's counts, never capped by how many records it lists."""
        if self._absent(sync_records):
            return []
        c = sync_records.c
        stmt = (sa.select(c.dag_id, c.status, c.reason, sa.func.count())
                .where(*self._record_filter(statuses=statuses, dag_id=dag_id, reason=reason))
                .group_by(c.dag_id, c.status, c.reason))
        with self.engine.connect() as conn:
            rows = [(d, st, why or "", int(n)) for d, st, why, n in conn.execute(stmt)]
        merged: dict[tuple[str, str, str], int] = {}
        for d, st, why, n in rows:  # NULL and "" reasons are one group
            merged[(d, st, why)] = merged.get((d, st, why), 0) + n
        return [(d, st, why, n) for (d, st, why), n in sorted(merged.items())]

    def records(
        self,
        *,
        statuses: Iterable[str] | None = None,
        dag_id: str | None = None,
        record_type: str | None = None,
        source_keys: Iterable[str] | None = None,
        updated_after: dt.datetime | None = None,
        limit: int | None = 1000,
        reason: str | None = None,
        unsynced_first: bool = False,
    ) -> list[LedgerRecord]:
        """Records of any status (newest first), e.g. failed and pending ones for the UI page, or a flow's
        settlements posted since a date (``updated_after``) for reconciliation. ``unsynced_first``: failed and
        pending records before the others (so a ``limit`` never hides one behind newer synced records)."""
        if self._absent(sync_records):
            return []
        c = sync_records.c
        stmt = sa.select(sync_records).where(*self._record_filter(statuses=statuses, dag_id=dag_id, reason=reason))
        if record_type:
            stmt = stmt.where(c.record_type == record_type)
        if source_keys is not None:
            stmt = stmt.where(c.source_key.in_(list(source_keys)))
        if updated_after is not None:
            stmt = stmt.where(c.updated_at >= updated_after)
        if unsynced_first:
            stmt = stmt.order_by(sa.case((c.status.in_((STATUS_FAILED, STATUS_PENDING)), 0), else_=1))
        stmt = stmt.order_by(c.updated_at.desc(), c.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_record(r) for r in conn.execute(stmt)]

    def synced_without_internal_id(self, dag_id: str, record_type: str, *, limit: int | None = None) -> list[LedgerRecord]:
        """Synced records still waiting for the target's id (e.g. listings Amazon accepted before assigning
        the ASIN), oldest first: a later run looks them up again."""
        if self._absent(sync_records):
            return []
        c = sync_records.c
        stmt = (sa.select(sync_records)
                .where(c.status == STATUS_SYNCED, c.dag_id == dag_id, c.record_type == record_type, c.internal_id.is_(None))
                .order_by(c.updated_at, c.id))
        if limit:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_record(r) for r in conn.execute(stmt)]

    def pending(self, *, dag_id: str, record_type: str | None = None, limit: int | None = None) -> list[LedgerRecord]:
        """Records still pending (seen, waiting for something: e.g. a shipment whose sales order is not in
        NetSuite yet), oldest first; ``created_at`` is when the record was first seen."""
        if self._absent(sync_records):
            return []
        c = sync_records.c
        stmt = sa.select(sync_records).where(c.status == STATUS_PENDING, c.dag_id == dag_id)
        if record_type:
            stmt = stmt.where(c.record_type == record_type)
        stmt = stmt.order_by(c.created_at, c.id)
        if limit:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_record(r) for r in conn.execute(stmt)]

    # --------------------------------------------------------------------------- reconciliation

    def record_reconciliation(
        self,
        *,
        run_id: str,
        scope: str,
        check: str,
        findings: Iterable[Mapping[str, Any]],
        counts: Mapping[str, Any] | None = None,
        detail: Any = None,
        window: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> int:
        """Write one check's result for one region (replacing an earlier attempt of the same run); returns
        the number of findings written."""
        self.create_schema()
        now = utcnow()
        rows = [{
            "run_id": run_id, "scope": scope, "check_name": check, "kind": f["kind"], "record_key": f["key"],
            "message": f["message"], "marketplace_id": f.get("marketplace_id"), "currency": f.get("currency"),
            "amazon_value": f.get("amazon_value"), "netsuite_value": f.get("netsuite_value"),
            "difference": f.get("difference"), "netsuite_id": f.get("netsuite_id"), "found_at": now,
        } for f in findings]
        rc, fc = reconciliation_runs.c, reconciliation_findings.c
        with self.engine.begin() as conn:
            conn.execute(sa.delete(reconciliation_findings).where(
                fc.run_id == run_id, fc.scope == scope, fc.check_name == check))
            conn.execute(sa.delete(reconciliation_runs).where(
                rc.run_id == run_id, rc.scope == scope, rc.check_name == check))
            if rows:
                conn.execute(sa.insert(reconciliation_findings), rows)
            conn.execute(sa.insert(reconciliation_runs).values(
                run_id=run_id, scope=scope, check_name=check, findings=len(rows),
                window_start=window[0] if window else None, window_end=window[1] if window else None,
                counts=json.loads(json.dumps(dict(counts or {}), default=_json_default)),
                detail=json.loads(json.dumps(detail, default=_json_default)) if detail is not None else None,
                finished_at=now))
        return len(rows)

    def reconciliation_runs(self, *, run_id: str | None = None, latest: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Check results, newest first; ``latest``: only the last result of each (region, check)."""
        if self._absent(reconciliation_runs):
            return []
        c = reconciliation_runs.c
        stmt = sa.select(reconciliation_runs)
        if run_id:
            stmt = stmt.where(c.run_id == run_id)
        stmt = stmt.order_by(c.finished_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if latest:
            seen: set[tuple[str, str]] = set()
            rows = [r for r in rows if (r["scope"], r["check_name"]) not in seen and not seen.add((r["scope"], r["check_name"]))]
        for row in rows:
            for name in ("window_start", "window_end", "finished_at"):
                row[name] = _as_utc(row[name]).isoformat() if row[name] else None
        return rows

    def reconciliation_findings(self, *, run_id: str, scope: str | None = None, check: str | None = None) -> list[dict[str, Any]]:
        if self._absent(reconciliation_findings):
            return []
        c = reconciliation_findings.c
        stmt = sa.select(reconciliation_findings).where(c.run_id == run_id)
        if scope:
            stmt = stmt.where(c.scope == scope)
        if check:
            stmt = stmt.where(c.check_name == check)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt.order_by(c.id))]
        for row in rows:
            row["found_at"] = _as_utc(row["found_at"]).isoformat()
        return rows

    def run_summary(self, dag_id: str | None, run_id: str, *, first: int = 10, label: str | None = None) -> RunSummary:
        """Counts by status and failure reason of the records this run wrote last.

        ``dag_id`` None counts the records of every flow written under ``run_id`` (the replay DAG
        writes each record under its own flow's dag_id); ``label`` names the summary's DAG then.
        """
        self.create_schema()
        c = sync_records.c
        where = c.run_id == run_id if dag_id is None else sa.and_(c.dag_id == dag_id, c.run_id == run_id)
        summary = RunSummary(dag_id=label or dag_id or "", run_id=run_id)
        with self.engine.connect() as conn:
            for status, count in conn.execute(
                sa.select(c.status, sa.func.count()).where(where).group_by(c.status)
            ):
                summary.counts[status] = count
            reasons: Counter[str] = Counter()
            for reason, count in conn.execute(
                sa.select(c.reason, sa.func.count()).where(where, c.status == STATUS_FAILED).group_by(c.reason)
            ):
                reasons[reason or "unknown"] = count
            summary.failures_by_reason = dict(reasons.most_common())
            rows = conn.execute(
                sa.select(c.key, c.last_error)
                .where(where, c.status == STATUS_FAILED)
                .order_by(c.updated_at, c.id)
                .limit(first)
            ).all()
        summary.failed_keys = [r.key for r in rows]
        summary.first_errors = [(r.key, r.last_error or "") for r in rows]
        return summary

    # --------------------------------------------------------------------------- pushed state

    def pushed_quantities(self, marketplace_id: str) -> dict[str, int]:
        self.create_schema()
        c = pushed_state.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.seller_sku, c.quantity).where(c.marketplace_id == marketplace_id))
            return {sku: qty for sku, qty in rows}

    def pushed_since(self, marketplace_id: str, since: dt.datetime) -> set[str]:
        """The seller SKUs of ``marketplace_id`` (a scope) whose quantity was published after ``since``."""
        self.create_schema()
        c = pushed_state.c
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(c.seller_sku).where(c.marketplace_id == marketplace_id,
                                                                  c.pushed_at > since)).scalars())

    def record_pushed(
        self,
        marketplace_id: str,
        quantities: Mapping[str, int],
        *,
        dag_id: str | None = None,
        run_id: str | None = None,
        feed_id: str | None = None,
    ) -> None:
        """Remember what Amazon now holds per SKU (after the feed reported success)."""
        if not quantities:
            return
        self.create_schema()
        now = utcnow()
        rows = [
            {
                "marketplace_id": marketplace_id,
                "seller_sku": sku,
                "quantity": int(qty),
                "dag_id": dag_id,
                "run_id": run_id,
                "feed_id": feed_id,
                "pushed_at": now,
            }
            for sku, qty in quantities.items()
        ]
        stmt = self._insert(pushed_state)
        stmt = stmt.on_conflict_do_update(
            index_elements=[pushed_state.c.marketplace_id, pushed_state.c.seller_sku],
            set_={
                "quantity": stmt.excluded.quantity,
                "dag_id": stmt.excluded.dag_id,
                "run_id": stmt.excluded.run_id,
                "feed_id": stmt.excluded.feed_id,
                "pushed_at": stmt.excluded.pushed_at,
            },
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)

    # --------------------------------------------------------------------------- inventory state

    def item_stock(self, item_ids: Iterable[str] | None = None) -> dict[tuple[str, str], Decimal]:
        """Last known available quantity per (item, location) (every item, or these)."""
        if self._absent(item_stock):
            return {}
        c = item_stock.c
        query = sa.select(c.item_id, c.location_id, c.available)
        wanted = None if item_ids is None else {str(i) for i in item_ids}
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {(r.item_id, r.location_id): Decimal(str(r.available)) for r in rows if wanted is None or r.item_id in wanted}

    def record_item_stock(self, rows: Mapping[tuple[str, str], Decimal], *, replace_items: Iterable[str] = ()) -> None:
        """Store what getItemAvailability answered; ``replace_items`` were read in full (every location),
        so their locations missing from ``rows`` are gone (0)."""
        if self.read_only:
            raise LedgerError("this ledger was opened read-only")
        self.create_schema()
        now = utcnow()
        replace = [str(i) for i in replace_items]
        with self.engine.begin() as conn:
            for start in range(0, len(replace), 500):
                conn.execute(sa.delete(item_stock).where(item_stock.c.item_id.in_(replace[start:start + 500])))
            if rows:
                stmt = self._insert(item_stock)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[item_stock.c.item_id, item_stock.c.location_id],
                    set_={"available": stmt.excluded.available, "updated_at": stmt.excluded.updated_at})
                conn.execute(stmt, [{"item_id": str(i), "location_id": str(loc), "available": str(qty), "updated_at": now}
                                    for (i, loc), qty in rows.items()])

    def item_states(self) -> dict[str, str]:
        """item id -> active | inactive | missing, as last read from NetSuite."""
        if self._absent(item_state):
            return {}
        with self.engine.connect() as conn:
            return {r.item_id: r.state for r in conn.execute(sa.select(item_state.c.item_id, item_state.c.state))}

    def record_item_states(self, states: Mapping[str, str]) -> None:
        if not states:
            return
        if self.read_only:
            raise LedgerError("this ledger was opened read-only")
        self.create_schema()
        now = utcnow()
        stmt = self._insert(item_state)
        stmt = stmt.on_conflict_do_update(index_elements=[item_state.c.item_id],
                                          set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at})
        with self.engine.begin() as conn:
            conn.execute(stmt, [{"item_id": str(i), "state": st, "updated_at": now} for i, st in states.items()])

    def unsynced_order_units(self, dag_id: str = "amazon_orders_to_netsuite",
                             record_type: str = "salesOrder", *, key: str = "units") -> dict[tuple[str, str], int]:
        """(marketplace id, seller SKU) -> units of orders read from Amazon but not in NetSuite yet
        (failed or pending in the ledger), from what the orders flow keeps in ``replay``: ``units``
        (merchant-fulfilled orders) or ``afn_units`` (Amazon-fulfilled orders)."""
        if self._absent(sync_records):
            return {}
        c = sync_records.c
        units: dict[tuple[str, str], int] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.replay).where(
                c.dag_id == dag_id, c.record_type == record_type, c.status.in_((STATUS_FAILED, STATUS_PENDING))))
            for (replay,) in rows:
                replay = replay if isinstance(replay, dict) else json.loads(replay or "{}")
                marketplace = replay.get("marketplace_id")
                for sku, qty in (replay.get(key) or {}).items():
                    if marketplace and isinstance(qty, int) and qty > 0:
                        units[(marketplace, sku)] = units.get((marketplace, sku), 0) + qty
        return units

    # --------------------------------------------------------------------------- high-water marks

    def watermark(self, dag_id: str, scope: str) -> dt.datetime | None:
        """How far ``dag_id`` has read its source for ``scope`` (e.g. ``amazon_sp_api_na``), or None."""
        if self._absent(watermarks):
            return None
        c = watermarks.c
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(c.high_water).where(c.dag_id == dag_id, c.scope == scope)).scalar()
        return _as_utc(value)

    def advance_watermark(self, dag_id: str, scope: str, high_water: dt.datetime, *, run_id: str | None) -> dt.datetime:
        """Move the mark forward to ``high_water`` (never back: a slow run finishing after a newer one does
        not rewind it); returns the mark now stored."""
        if self.read_only:
            raise LedgerError("this ledger was opened read-only")
        if high_water.tzinfo is None:
            raise ValueError("high_water must be timezone-aware (UTC)")
        self.create_schema()
        now = utcnow()
        stmt = self._insert(watermarks).values(dag_id=dag_id, scope=scope, high_water=high_water, run_id=run_id,
                                               updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[watermarks.c.dag_id, watermarks.c.scope],
            set_={"high_water": high_water, "run_id": run_id, "updated_at": now},
            where=watermarks.c.high_water < high_water,
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        return self.watermark(dag_id, scope)

    # --------------------------------------------------------------------------- customer index

    def customers(self, keys: Iterable[str]) -> dict[str, str]:
        """customer key (the customer's externalId) -> NetSuite internalId, for the keys indexed."""
        if self._absent(customer_index):
            return {}
        keys = list(dict.fromkeys(keys))
        c = customer_index.c
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                for key, internal_id in conn.execute(sa.select(c.customer_key, c.internal_id).where(c.customer_key.in_(chunk))):
                    found[key] = internal_id
        return found

    def index_customers(self, entries: Mapping[str, str], *, source: str, marketplace_ids: Mapping[str, str] | None = None) -> int:
        """Remember customer key -> internalId (``source``: created | found | adopted); returns how many."""
        if not entries:
            return 0
        if self.read_only:
            raise LedgerError("this ledger was opened read-only")
        self.create_schema()
        now = utcnow()
        rows = [{"customer_key": key, "internal_id": str(internal_id), "source": source, "updated_at": now,
                 "marketplace_id": (marketplace_ids or {}).get(key)} for key, internal_id in entries.items()]
        stmt = self._insert(customer_index)
        stmt = stmt.on_conflict_do_update(
            index_elements=[customer_index.c.customer_key],
            set_={"internal_id": stmt.excluded.internal_id, "source": stmt.excluded.source,
                  "marketplace_id": stmt.excluded.marketplace_id, "updated_at": stmt.excluded.updated_at},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def forget_customers(self, keys: Iterable[str]) -> None:
        """Drop index entries whose customer no longer exists in NetSuite (deleted there)."""
        keys = list(keys)
        if not keys or self._absent(customer_index):
            return
        with self.engine.begin() as conn:
            conn.execute(sa.delete(customer_index).where(customer_index.c.customer_key.in_(keys)))


__all__ = [
    "LEDGER_CONN_ID",
    "STATUS_FAILED",
    "STATUS_PENDING",
    "STATUS_SKIPPED",
    "STATUS_SYNCED",
    "Ledger",
    "LedgerError",
    "LedgerRecord",
    "RunSummary",
    "content_hash",
    "ledger_key",
]
