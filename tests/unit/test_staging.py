"""Staging between extract and load: encrypted, readable back, purged, refused without a Fernet key."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from amazon_netsuite import staging

BUYER = {"orderId": "111-1", "buyer": {"buyerEmail": "secret-buyer@marketplace.amazon.com", "buyerName": "Zoë Müller"}}


@pytest.fixture
def staging_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(staging.STAGING_ENV, str(tmp_path / "staging"))
    return tmp_path / "staging"


def test_given_orders_when_staged_then_encrypted_on_disk_and_read_back(staging_dir):
    uri = staging.stage([BUYER], dag_id="amazon_orders_to_netsuite", run_id="manual__2026-11-30T10:00:00+00:00",
                        name="amazon_sp_api_na")
    files = list(staging_dir.rglob("*.fernet"))
    assert len(files) == 1 and str(files[0]) in uri
    raw = files[0].read_bytes()
    assert b"secret-buyer" not in raw and "Müller".encode() not in raw
    assert staging.load(uri) == [BUYER]
    staging.discard(uri)
    assert not files[0].exists()
    staging.discard(uri)  # twice is fine


def test_given_missing_file_when_loading_then_error_says_clear_the_extract(staging_dir):
    uri = staging.stage([], dag_id="d", run_id="r", name="n")
    staging.discard(uri)
    with pytest.raises(staging.StagingError, match="Clear the extract task"):
        staging.load(uri)


def test_given_tampered_file_when_loading_then_unreadable_error(staging_dir):
    uri = staging.stage([BUYER], dag_id="d", run_id="r", name="n")
    path = next(staging_dir.rglob("*.fernet"))
    path.write_bytes(b"garbage")
    with pytest.raises(staging.StagingError, match="cannot be read"):
        staging.load(uri)


def test_given_old_files_when_purging_then_only_those_go(staging_dir):
    old = staging.stage([1], dag_id="d", run_id="old", name="n")
    new = staging.stage([2], dag_id="d", run_id="new", name="n")
    old_path = next(p for p in staging_dir.rglob("*.fernet") if p.parent.name == "old")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).timestamp()
    os.utime(old_path, (past, past))
    assert staging.purge(dt.timedelta(days=30)) == 1
    assert not Path(old_path).exists() and staging.load(new) == [2]
    with pytest.raises(staging.StagingError):
        staging.load(old)


def test_given_no_fernet_key_when_staging_then_refused_never_written_in_clear(staging_dir, monkeypatch):
    from airflow.sdk import crypto

    monkeypatch.setattr(crypto, "get_fernet", lambda: crypto._NullFernet())
    with pytest.raises(staging.StagingError, match="Fernet key"):
        staging.stage([BUYER], dag_id="d", run_id="r", name="n")
    assert not list(staging_dir.rglob("*"))


def test_given_bad_uri_then_clear_error(monkeypatch):
    monkeypatch.setenv(staging.STAGING_ENV, "ftp://nope")
    with pytest.raises(staging.StagingError, match="s3://bucket/prefix"):
        staging.stage([], dag_id="d", run_id="r", name="n")
