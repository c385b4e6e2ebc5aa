"""Archive of raw documents (settlement reports) before they are parsed, so finance can audit them.

``AMAZON_NETSUITE_ARCHIVE_S3_URI`` (``s3://bucket/prefix``) stores them in S3 through the Amazon
provider's ``S3Hook`` (connection ``aws_default``); otherwise in ``AMAZON_NETSUITE_ARCHIVE_DIR``
(default ``$AIRFLOW_HOME/archive``). Keys are ``{kind}/{id}/{sha256[:16]}{suffix}``: archiving the
same bytes twice is a no-op, and a file that changed is kept beside the first one.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

S3_ENV = "AMAZON_NETSUITE_ARCHIVE_S3_URI"
DIR_ENV = "AMAZON_NETSUITE_ARCHIVE_DIR"


class ArchiveError(RuntimeError):
    pass


def _key(kind: str, record_id: str, data: bytes, suffix: str) -> str:
    safe_id = "".join(c for c in record_id if c.isalnum() or c in "-_.") or "unknown"
    return f"{kind}/{safe_id}/{hashlib.sha256(data).hexdigest()[:16]}{suffix}"


def archive_document(kind: str, record_id: str, data: bytes, *, suffix: str = ".txt", aws_conn_id: str = "aws_default") -> str:
    """Store ``data``; returns its URI (``s3://...`` or a file path)."""
    key = _key(kind, record_id, data, suffix)
    s3_uri = os.environ.get(S3_ENV, "").strip()
    if s3_uri:
        if not s3_uri.startswith("s3://"):
            raise ArchiveError(f"{S3_ENV}={s3_uri!r} must look like s3://bucket/prefix")
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, _, prefix = s3_uri[5:].partition("/")
        full_key = f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key
        hook = S3Hook(aws_conn_id=aws_conn_id)
        if not hook.check_for_key(full_key, bucket_name=bucket):
            hook.load_bytes(data, key=full_key, bucket_name=bucket, replace=False)
        uri = f"s3://{bucket}/{full_key}"
    else:
        base = Path(os.environ.get(DIR_ENV) or Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "archive")
        path = base / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        uri = str(path)
    log.info("Archived %s %s (%s bytes) at %s", kind, record_id, len(data), uri)
    return uri


def read_archived(uri: str, *, aws_conn_id: str = "aws_default") -> bytes:
    """Read a document by the URI :func:`archive_document` returned, or a file finance downloaded
    from Seller Central (a local path or ``s3://bucket/key``)."""
    if uri.startswith("s3://"):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, _, key = uri[5:].partition("/")
        obj = S3Hook(aws_conn_id=aws_conn_id).get_key(key, bucket_name=bucket)
        return obj.get()["Body"].read()
    path = Path(uri)
    if not path.is_file():
        raise ArchiveError(f"no file at {uri}")
    return path.read_bytes()


def decode_text_file(data: bytes) -> str:
    """A settlement file downloaded by hand: gunzip if gzipped; UTF-8 (with or without BOM), else
    Windows-1252 as Seller Central writes EU files."""
    import gzip

    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")
