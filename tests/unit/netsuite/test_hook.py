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


class AmbiguousBackend(FakeBackend):
    """The first addList call is written but its answer is lost; later calls see DUP_RCRD for those."""

    def __init__(self, error):
        super().__init__()
        self.error = error
        self.written: set[str] = set()
        self.get_list_calls = 0

    def write_list(self, operation, record_type, records):
        self.batches.append(len(records))
        if len(self.batches) == 1:
            self.written.update(r.get("externalId") for r in records)
            raise self.error
        return [
            RecordResult(record_type, r.get("externalId"), error_code="DUP_RCRD", error_message="This record already exists")
            if r.get("externalId") in self.written
            else RecordResult(record_type, r.get("externalId"), internal_id="9")
            for r in records
        ]

    def get_list(self, record_type, ids, *, by):
        self.get_list_calls += 1
        return [(i, {"internalId": f"id-{i}", "externalId": i}, None, None) for i in ids]


class TestAddIsNotIdempotent:
    def test_given_a_lost_add_response_when_retried_then_dup_rcrd_is_reported_as_written(self, connection):
        from amazon_netsuite.netsuite.errors import NetSuiteUnavailableError

        backend = AmbiguousBackend(NetSuiteUnavailableError("timeout", operation="addList"))
        results = make_hook(backend).add_records("customer", records(2))
        assert [(r.ok, r.internal_id) for r in results] == [(True, "id-E0"), (True, "id-E1")]
        assert backend.batches == [2, 2] and backend.get_list_calls == 1

    def test_given_a_lost_add_response_and_a_record_without_external_id_then_not_resent(self, connection):
        from amazon_netsuite.netsuite.errors import NetSuiteUnavailableError

        backend = AmbiguousBackend(NetSuiteUnavailableError("timeout", operation="addList"))
        with pytest.raises(NetSuiteBatchError):
            make_hook(backend).add_records("customer", [{"externalId": "E0"}, {"companyName": "no id"}])
        assert backend.batches == [2]

    def test_given_a_throttled_add_then_retried_and_dup_rcrd_stays_an_error(self, connection):
        backend = AmbiguousBackend(NetSuiteThrottledError("busy", operation="addList"))
        original = backend.write_list

        def throttled_first(operation, record_type, chunk):  # rejected before any work: nothing written
            if not backend.batches:
                backend.batches.append(len(chunk))
                raise NetSuiteThrottledError("busy", operation=operation)
            return original(operation, record_type, chunk)

        backend.write_list = throttled_first
        backend.written.add("E1")  # E1 existed before: its DUP_RCRD is a real error
        results = make_hook(backend).add_records("customer", [{"externalId": "E1"}])
        assert results[0].error_code == "DUP_RCRD" and backend.get_list_calls == 0


class TestSecrets:
    def test_given_settings_then_repr_shows_no_keys_or_secrets(self, connection):
        connection({**CONN, "password": "consumer-secret-value",
                    "extra": {"account_id": "1", "token_id": "token-id-value", "token_secret": "token-secret-value"}})
        text = repr(NetSuiteHook().get_settings())
        for secret in ("consumer-key-value", "consumer-secret-value", "token-id-value", "token-secret-value"):
            assert secret not in text


class TestRedaction:
    def test_given_netsuite_echoing_an_email_then_describe_redacts_it(self):
        result = RecordResult("customer", "AMZ-CU-1", error_code="INVALID_FLD_VALUE",
                              error_message="You have entered an Invalid Field Value jane.doe+1@mail.example.com for email")
        assert "jane" not in result.describe() and "<email>" in result.describe()
