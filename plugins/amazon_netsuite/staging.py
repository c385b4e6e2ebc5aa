"""Staging between a DAG's extract and load tasks: what was read from one side, encrypted, by path.

Extract tasks (pool ``amazon_sp_api``) write what they read here and pass only the path and counts
through XCom; load tasks (pool ``netsuite_api``) read it back. A NetSuite outage then retries only the
load task and never spends Amazon's scarce quota again. Staged data holds buyer PII, so it is
gzipped and encrypted with Airflow's Fernet key (a deployment without one is refused, never written
in clear) and deleted once loaded; anything left behind is purged after the payload retention
(``AMAZON_NETSUITE_PAYLOAD_RETENTION_DAYS``, default 30) by every run's summary task.

Where: ``AMAZON_NETSUITE_STAGING_URI`` (``s3://bucket/prefix`` with connection ``aws_default``, or
``file:///shared/path``), default ``$AIRFLOW_HOME/staging``. With the CeleryExecutor the folder must be
shared by every worker (or use S3): a load task may run on another machine than its extract.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import re
from typing import Any

log = logging.getLogger(__name__)

STAGING_ENV = "AMAZON_NETSUITE_STAGING_URI"
AWS_CONN_ID = "aws_default"


class StagingError(RuntimeError):
    pass


def _root():
    from airflow.sdk import ObjectStoragePath

    uri = os.environ.get(STAGING_ENV, "").strip()
    if not uri:
        from amazon_netsuite.ledger.store import airflow_home

        return ObjectStoragePath(f"file://{airflow_home()[0] / 'staging'}")
    if uri.startswith("s3://"):
        return ObjectStoragePath(uri, conn_id=AWS_CONN_ID)
    if uri.startswith("file://") or uri.startswith("/"):
        return ObjectStoragePath(uri if uri.startswith("file://") else f"file://{uri}")
    raise StagingError(f"{STAGING_ENV}={uri!r} must be s3://bucket/prefix or an absolute path")


def _fernet():
    from airflow.sdk.crypto import get_fernet

    fernet = get_fernet()
    if not getattr(fernet, "is_encrypted", False):
        raise StagingError(
            "no Fernet key is configured (core.fernet_key): staged orders hold buyer data and are only written "
            "encrypted. Set AIRFLOW__CORE__FERNET_KEY (make demo and make up create one)"
        )
    return fernet


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", part)[:120] or "_"


def stage(records: Any, *, dag_id: str, run_id: str, name: str) -> str:
    """Write ``records`` (JSON-able) encrypted; returns the URI to pass to the load task."""
    fernet = _fernet()
    data = fernet.encrypt(gzip.compress(json.dumps(records, separators=(",", ":")).encode("utf-8"), mtime=0))
    path = _root() / _safe(dag_id) / _safe(run_id) / f"{_safe(name)}.json.gz.fernet"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    log.info("Staged %s for %s at %s (%s bytes, encrypted)", name, dag_id, path, len(data))
    return str(path)


def load(uri: str) -> Any:
    """The records staged at ``uri``; a missing or unreadable file is a :class:`StagingError` saying so."""
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri, conn_id=AWS_CONN_ID) if uri.startswith("s3://") else ObjectStoragePath(uri)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StagingError(
            f"staged data {uri} is gone (purged after the retention, or written on another machine: with Celery "
            f"workers set {STAGING_ENV} to S3 or a shared folder). Clear the extract task to read the source again"
        ) from None
    try:
        return json.loads(gzip.decompress(_fernet().decrypt(data)))
    except Exception as exc:  # noqa: BLE001 - InvalidToken, BadGzipFile, JSONDecodeError: all unreadable
        raise StagingError(f"staged data {uri} cannot be read ({type(exc).__name__}); was the Fernet key rotated? "
                           "Clear the extract task to read the source again") from exc


def discard(uri: str) -> None:
    """Delete a staged file once it is loaded (it holds buyer data)."""
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri, conn_id=AWS_CONN_ID) if uri.startswith("s3://") else ObjectStoragePath(uri)
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def purge(older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
    """Delete staged files older than ``older_than``; returns how many."""
    root = _root()
    if not root.exists():
        return 0
    cutoff = (now or dt.datetime.now(dt.UTC)) - older_than
    purged = 0
    for path in root.rglob("*.fernet"):
        try:
            info = path.stat()  # fsspec's info: mtime (local files) or LastModified (S3)
            modified = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
            if isinstance(modified, dt.datetime):
                modified = modified.timestamp()
            if modified is not None and float(modified) < cutoff.timestamp():
                path.unlink()
                purged += 1
        except FileNotFoundError:
            continue
    if purged:
        log.info("Purged %s staged file(s) older than %s", purged, older_than)
    return purged
