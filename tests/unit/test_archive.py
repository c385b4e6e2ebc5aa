from __future__ import annotations

import gzip
import json

import pytest

from amazon_netsuite.archive import ArchiveError, archive_document, decode_text_file, read_archived


def test_given_no_s3_then_local_archive_keyed_by_id_and_content(tmp_path, monkeypatch):
    monkeypatch.delenv("AMAZON_NETSUITE_ARCHIVE_S3_URI", raising=False)
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path))
    first = archive_document("settlements", "123", b"v1")
    again = archive_document("settlements", "123", b"v1")
    changed = archive_document("settlements", "123", b"v2")
    assert first == again != changed
    assert read_archived(first) == b"v1" and read_archived(changed) == b"v2"
    assert sorted(p.name for p in (tmp_path / "settlements" / "123").iterdir()) == sorted(
        [first.rsplit("/", 1)[1], changed.rsplit("/", 1)[1]])


def test_given_s3_uri_then_archived_through_the_amazon_provider(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": {"region_name": "us-east-1"}}))
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_S3_URI", "s3://finance-archive/amazon")
    with moto.mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="finance-archive")
        uri = archive_document("settlements", "24567890123", b"settlement-id\n")
        assert uri.startswith("s3://finance-archive/amazon/settlements/24567890123/")
        assert read_archived(uri) == b"settlement-id\n"
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="finance-archive")["Contents"]]
        assert keys == [uri.split("/", 3)[3]]


def test_given_bad_s3_setting_then_clear_error(monkeypatch):
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_S3_URI", "finance-archive")
    with pytest.raises(ArchiveError, match="must look like s3://bucket/prefix"):
        archive_document("settlements", "1", b"x")


def test_given_seller_central_downloads_then_decoded():
    assert decode_text_file("Köln".encode("cp1252")) == "Köln"
    assert decode_text_file(b"\xef\xbb\xbfabc") == "abc"
    assert decode_text_file(gzip.compress("Müller".encode())) == "Müller"


def test_given_missing_import_file_then_clear_error(tmp_path):
    with pytest.raises(ArchiveError, match="no file at"):
        read_archived(str(tmp_path / "missing.txt"))
