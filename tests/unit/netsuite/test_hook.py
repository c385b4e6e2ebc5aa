from __future__ import annotations

import json

import pytest

from amazon_netsuite.netsuite.errors import (
    NetSuiteBatchError,
    NetSuiteError,
    NetSuiteRequestError,
    NetSuiteThrottledError,
)
from amazon_netsuite.netsuite.hook import DEFAULT_WSDL_VERSION, NetSuiteHook
from amazon_netsuite.netsuite.results import RecordResult

CONN = {
    "conn_type": "generic",
    "login": "consumer-key-value",
    "password": "cs",
    "extra": {"account_id": "1234567-sb1", "token_id": "tid", "token_secret": "ts"},
}


class FakeBackend:
    """Answers write_list with one result per record; fails the first ``failures`` calls."""

    def __init__(self, failures=(), record_errors=()):
        self.failures = list(failures)
        self.record_errors = set(record_errors)
        self.batches: list[int] = []

    def write_list(self, operation, record_type, records):
        self.batches.append(len(records))
        if self.failures:
            raise self.failures.pop(0)
        return [
            RecordResult(record_type, r["externalId"], error_code="USER_ERROR", error_message="bad")
            if r["externalId"] in self.record_errors
            else RecordResult(record_type, r["externalId"], internal_id=str(i))
            for i, r in enumerate(records)
        ]


@pytest.fixture
def connection(monkeypatch):
    def _set(conn):
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))

    _set(CONN)
    return _set


def make_hook(backend, **kwargs) -> NetSuiteHook:
    hook = NetSuiteHook(max_attempts=kwargs.pop("max_attempts", 4), backoff_initial=0.0, backoff_max=0.0)
    hook._backend = backend
    return hook


def records(n):
    return [{"externalId": f"E{i}"} for i in range(n)]


class TestConnection:
    def test_given_a_connection_then_settings_with_defaults(self, connection):
        settings = NetSuiteHook().get_settings()
        assert settings.account == "1234567_SB1" and settings.wsdl_version == DEFAULT_WSDL_VERSION == "2025_2"
        assert settings.wsdl_url is None and settings.datacenter_url is None

    def test_given_missing_credentials_then_the_error_names_them_without_values(self, connection):
        connection({**CONN, "password": None, "extra": {"account_id": "1"}})
        with pytest.raises(NetSuiteError) as info:
            NetSuiteHook().get_settings()
        text = str(info.value)
        assert "password (consumer secret)" in text and "extra.token_id" in text and "consumer-key-value" not in text


class TestBatchingAndRetries:
    def test_given_250_records_then_three_calls_of_at_most_100(self, connection):
        backend = FakeBackend()
        results = make_hook(backend).upsert_records("customer", records(250))
        assert backend.batches == [100, 100, 50] and len(results) == 250

    def test_given_record_errors_then_returned_not_raised(self, connection):
        results = make_hook(FakeBackend(record_errors={"E1"})).upsert_records("customer", records(3))
        assert [r.ok for r in results] == [True, False, True]
        assert "E1" in results[1].describe() and "USER_ERROR" in results[1].describe()

    def test_given_throttling_then_retried(self, connection):
        backend = FakeBackend(failures=[NetSuiteThrottledError("busy", operation="upsertList")] * 2)
        hook = make_hook(backend)
        assert all(r.ok for r in hook.upsert_records("customer", records(2)))
        assert hook.calls["upsertList"] == 3

    def test_given_throttling_beyond_retries_then_batch_error_keeps_completed(self, connection):
        backend = FakeBackend()
        hook = make_hook(backend, max_attempts=2)
        original = backend.write_list

        def flaky(operation, record_type, chunk):
            if len(backend.batches) >= 1:
                backend.batches.append(len(chunk))
                raise NetSuiteThrottledError("busy", operation=operation, code="WS_REQUEST_BLOCKED")
            return original(operation, record_type, chunk)

        backend.write_list = flaky
        with pytest.raises(NetSuiteBatchError) as info:
            hook.upsert_records("customer", records(150))
        assert len(info.value.completed) == 100 and info.value.pending_external_ids[0] == "E100"
        assert info.value.code == "WS_REQUEST_BLOCKED"

    def test_given_a_request_error_then_not_retried(self, connection):
        backend = FakeBackend(failures=[NetSuiteRequestError("bad", operation="upsertList")])
        hook = make_hook(backend)
        with pytest.raises(NetSuiteBatchError):
            hook.upsert_records("customer", records(1))
        assert hook.calls["upsertList"] == 1

    def test_given_get_record_with_both_ids_then_value_error(self, connection):
        with pytest.raises(ValueError):
            make_hook(FakeBackend()).get_record("customer", internal_id="1", external_id="x")

    def test_given_no_items_then_no_availability_call(self, connection):
        assert make_hook(FakeBackend()).item_availability([]) == []
