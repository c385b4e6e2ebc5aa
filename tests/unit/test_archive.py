from __future__ import annotations

import gzip
import json

import pytest

from amazon_netsuite.archive import (
    ArchiveError,
    ImportRefused,
    archive_document,
    decode_text_file,
    read_archived,
    read_import,
    resolve_import,
)


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


def test_given_missing_archived_file_then_clear_error(tmp_path):
    with pytest.raises(ArchiveError, match="no file at"):
        read_archived(str(tmp_path / "missing.txt"))


@pytest.fixture
def import_folder(tmp_path, monkeypatch):
    home = tmp_path / "airflow_home"
    folder = home / "imports"
    folder.mkdir(parents=True)
    (home / "airflow.cfg").write_text("[database]\nsql_alchemy_conn = postgresql://airflow:s3cret@db/airflow\n")
    (folder / "2026-08.txt").write_text("settlement-id\tx\n")
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.delenv("AMAZON_NETSUITE_IMPORT_DIR", raising=False)
    return folder


def test_given_file_in_the_import_folder_then_read_by_name_or_full_path(import_folder):
    assert read_import("2026-08.txt") == b"settlement-id\tx\n"
    assert read_import(str(import_folder / "2026-08.txt")) == b"settlement-id\tx\n"


@pytest.mark.parametrize("given", ["{home}/airflow.cfg", "../airflow.cfg", "{folder}/../airflow.cfg", "/etc/passwd",
                                   "file:///etc/passwd", ""])
def test_given_path_outside_the_import_folder_then_refused_and_not_read(import_folder, given):
    path = given.format(home=import_folder.parent, folder=import_folder)
    with pytest.raises(ImportRefused, match="refused|no file at") as excinfo:
        read_import(path)
    assert "s3cret" not in str(excinfo.value)
    assert "AMAZON_NETSUITE_IMPORT_DIR" in str(excinfo.value) or "S3 object" in str(excinfo.value)


def test_given_symlink_leading_out_of_the_import_folder_then_refused(import_folder):
    (import_folder / "settlement.txt").symlink_to(import_folder.parent / "airflow.cfg")
    with pytest.raises(ImportRefused, match="not under the import folder"):
        read_import("settlement.txt")


def test_given_configured_import_folder_then_only_it(import_folder, tmp_path, monkeypatch):
    other = tmp_path / "finance-drop"
    other.mkdir()
    (other / "old.txt").write_text("x")
    monkeypatch.setenv("AMAZON_NETSUITE_IMPORT_DIR", str(other))
    assert read_import("old.txt") == b"x"
    with pytest.raises(ImportRefused):
        read_import(str(import_folder / "2026-08.txt"))


def test_given_s3_uri_then_accepted_as_is_and_bad_one_refused():
    assert resolve_import("s3://finance/amazon/2026-08.txt") == "s3://finance/amazon/2026-08.txt"
    with pytest.raises(ImportRefused, match="not an S3 object URI"):
        resolve_import("s3://finance/")
