"""Archive of raw documents (settlement reports) before they are parsed, so finance can audit them.

``AMAZON_NETSUITE_ARCHIVE_S3_URI`` (``s3://bucket/prefix``) stores them in S3 through the Amazon
provider's ``S3Hook`` (connection ``aws_default``); otherwise in ``AMAZON_NETSUITE_ARCHIVE_DIR``
(default ``$AIRFLOW_HOME/archive``). Keys are ``{kind}/{id}/{sha256[:16]}{suffix}``: archiving the
same bytes twice is a no-op, and a file that changed is kept beside the first one.

Files finance downloaded from Seller Central are imported (:func:`read_import`) only from ``s3://``
URIs or from the import folder ``AMAZON_NETSUITE_IMPORT_DIR`` (default ``$AIRFLOW_HOME/imports``):
a path outside it (``airflow.cfg``...), with ``..``, or a symlink leading out of it is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

S3_ENV = "AMAZON_NETSUITE_ARCHIVE_S3_URI"
DIR_ENV = "AMAZON_NETSUITE_ARCHIVE_DIR"
IMPORT_DIR_ENV = "AMAZON_NETSUITE_IMPORT_DIR"


class ArchiveError(RuntimeError):
    pass


class ImportRefused(ArchiveError):  # noqa: N818 - reads as what happened to the file
    """An ``import_file`` that is not under the import folder or S3, or not a settlement report."""


def _airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def import_dir() -> Path:
    """The folder imported files must be under: ``AMAZON_NETSUITE_IMPORT_DIR`` or ``$AIRFLOW_HOME/imports``."""
    return Path(os.environ.get(IMPORT_DIR_ENV) or _airflow_home() / "imports")


def resolve_import(uri: str) -> str:
    """The ``s3://bucket/key`` or the real path under the import folder that ``uri`` names; anything
    else is refused with :class:`ImportRefused` (nothing read, nothing archived)."""
    text = (uri or "").strip()
    advice = (f"put the file in the import folder {import_dir()} (setting {IMPORT_DIR_ENV}) on the workers, or "
              "upload it to S3 and give its s3://bucket/key")
    if text.startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise ImportRefused(f"import_file {text!r} is not an S3 object URI (s3://bucket/key)")
        return text
    if "://" in text:
        raise ImportRefused(f"import_file {text!r} refused: only s3:// URIs and files under the import folder "
                            f"are read; {advice}")
    path = Path(text)
    if not text or ".." in path.parts:
        raise ImportRefused(f"import_file {text!r} refused: a path with '..' (or an empty one) is never read; {advice}")
    base = import_dir()
    candidate = path if path.is_absolute() else base / path
    try:
        real_base = base.resolve(strict=True)
    except OSError:
        raise ImportRefused(f"import_file {text!r} refused: the import folder {base} does not exist on this worker; "
                            f"{advice}") from None
    try:
        real = candidate.resolve(strict=True)
    except OSError:
        raise ImportRefused(f"import_file {text!r}: no file at {candidate}; {advice}") from None
    if not real.is_relative_to(real_base):
        raise ImportRefused(f"import_file {text!r} refused: it is not under the import folder {real_base} (symlinks "
                            f"are followed); only settlement files put there, or on S3, are imported; {advice}")
    if not real.is_file():
        raise ImportRefused(f"import_file {text!r} refused: {real} is not a file")
    return str(real)


def read_import(uri: str, *, aws_conn_id: str = "aws_default") -> bytes:
    """The bytes of a settlement file finance imports (see :func:`resolve_import`)."""
    return read_archived(resolve_import(uri), aws_conn_id=aws_conn_id)


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
        base = Path(os.environ.get(DIR_ENV) or _airflow_home() / "archive")
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
    """Read a document by the URI :func:`archive_document` returned (imported files go through
    :func:`read_import`, which checks where they are first)."""
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
