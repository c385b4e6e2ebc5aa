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

    def test_given_a_request_error_then_not_retried_and_the_record_fails_by_itself(self, connection):
        backend = FakeBackend(failures=[NetSuiteRequestError("bad", operation="upsertList", code="USER_ERROR")])
        hook = make_hook(backend)
        (result,) = hook.upsert_records("customer", records(1))
        assert not result.ok and result.external_id == "E0" and result.error_code == "USER_ERROR"
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


def journal_record(n: int, lines: int) -> dict:
    return {"externalId": f"AMZ-JE-S-{n}", "lineList": [{"line": i + 1, "account": {"internalId": "6110"}, "debit": 1}
                                                         for i in range(lines)]}


class TestRequestSizing:
    def test_given_100_journals_of_1000_lines_then_split_by_the_line_budget(self, connection):
        backend = FakeBackend()
        hook = make_hook(backend)

        results = hook.upsert_records("journalEntry", [journal_record(n, 1000) for n in range(100)])

        assert len(results) == 100 and all(r.ok for r in results)
        assert backend.batches == [5] * 20  # 5,000 lines per request by default, never 100 journals at once
        assert hook.max_lines_per_request == 5000

    def test_given_a_line_budget_in_the_connection_then_it_is_used(self, connection):
        connection({**CONN, "extra": {**CONN["extra"], "max_lines_per_request": "2500"}})
        backend = FakeBackend()
        make_hook(backend).upsert_records("journalEntry", [journal_record(n, 1000) for n in range(5)])
        assert backend.batches == [2, 2, 1]

    def test_given_one_record_over_the_budget_then_it_travels_alone(self, connection):
        connection({**CONN, "extra": {**CONN["extra"], "max_lines_per_request": 10}})
        backend = FakeBackend()
        make_hook(backend).upsert_records("journalEntry", [journal_record(0, 3), journal_record(1, 50), journal_record(2, 3)])
        assert backend.batches == [1, 1, 1]

    def test_given_a_byte_budget_then_requests_stay_under_it(self, connection):
        from amazon_netsuite.netsuite.hook import estimate_bytes

        connection({**CONN, "extra": {**CONN["extra"], "max_request_bytes": 10_000}})
        backend = FakeBackend()
        records = [{"externalId": f"E{i}", "companyName": "x" * 500} for i in range(40)]
        make_hook(backend).upsert_records("customer", records)
        size = estimate_bytes(records[0])
        assert sum(backend.batches) == 40 and max(backend.batches) == 10_000 // size

    def test_given_small_records_then_still_at_most_100_per_request(self, connection):
        backend = FakeBackend()
        make_hook(backend).upsert_records("customer", records(230))
        assert backend.batches == [100, 100, 30]


class NotReachedBackend(FakeBackend):
    """Answers the last ``unreached`` records of each request of more than one record as not processed."""

    def __init__(self, unreached: int):
        super().__init__()
        self.unreached = unreached

    def write_list(self, operation, record_type, records):
        self.batches.append(len(records))
        cut = len(records) - self.unreached if len(records) > 1 else len(records)
        return [
            RecordResult(record_type, r["externalId"], internal_id=r["externalId"]) if i < cut
            else RecordResult(record_type, r["externalId"], error_code="EXCEEDED_MAX_TIME", error_message="not processed")
            for i, r in enumerate(records)
        ]


class TooLargeBackend(FakeBackend):
    """Refuses requests of more than ``limit`` records as too large (before any work)."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def write_list(self, operation, record_type, records):
        from amazon_netsuite.netsuite.errors import NetSuiteRequestTooLargeError

        self.batches.append(len(records))
        if len(records) > self.limit:
            raise NetSuiteRequestTooLargeError("too large", operation=operation, code="EXCEEDED_RQST_SIZE_LIMIT")
        return [RecordResult(record_type, r["externalId"], internal_id="1") for r in records]


class TestUnprocessedAndOversized:
    def test_given_records_not_reached_then_sent_again_and_results_keep_their_order(self, connection):
        backend = NotReachedBackend(unreached=2)
        results = make_hook(backend).upsert_records("customer", records(6))

        assert [r.external_id for r in results] == [f"E{i}" for i in range(6)] and all(r.ok for r in results)
        assert backend.batches == [6, 1, 1]

    def test_given_a_request_too_large_then_halved_until_it_fits(self, connection):
        backend = TooLargeBackend(limit=3)
        results = make_hook(backend).upsert_records("customer", records(10))

        assert all(r.ok for r in results) and len(results) == 10
        assert backend.batches == [10, 5, 2, 3, 5, 2, 3]

    def test_given_a_single_record_too_large_then_batch_error(self, connection):
        backend = TooLargeBackend(limit=0)
        with pytest.raises(NetSuiteBatchError) as info:
            make_hook(backend).upsert_records("customer", records(1))
        assert info.value.code == "EXCEEDED_RQST_SIZE_LIMIT" and info.value.reason == "netsuite_rejected"


class TestAuthFailures:
    def test_given_missing_credentials_then_auth_error(self, connection):
        from amazon_netsuite.netsuite.errors import NetSuiteAuthError

        connection({**CONN, "password": None})
        with pytest.raises(NetSuiteAuthError) as info:
            NetSuiteHook().get_settings()
        assert info.value.reason == "auth_failed"

    def test_given_an_auth_failure_in_a_batch_then_an_auth_batch_error_not_retried(self, connection):
        from amazon_netsuite.netsuite.errors import NetSuiteAuthError

        backend = FakeBackend(failures=[NetSuiteAuthError("Invalid login attempt.", operation="upsertList", code="INVALID_LOGIN_ATTEMPT")] * 3)
        hook = make_hook(backend)
        with pytest.raises(NetSuiteBatchError) as info:
            hook.upsert_records("customer", records(150))
        assert isinstance(info.value, NetSuiteAuthError) and info.value.reason == "auth_failed"
        assert len(info.value.pending_external_ids) == 150 and hook.calls["upsertList"] == 1

    def test_given_a_5xx_batch_error_then_reason_unavailable(self, connection):
        from amazon_netsuite.netsuite.errors import NetSuiteUnavailableError

        backend = FakeBackend(failures=[NetSuiteUnavailableError("down", operation="upsertList")] * 10)
        with pytest.raises(NetSuiteBatchError) as info:
            make_hook(backend, max_attempts=2).upsert_records("customer", records(1))
        assert info.value.reason == "netsuite_unavailable"


class TestCustomerAutoNumbering:
    @pytest.mark.parametrize(("value", "expected"), [(None, False), (True, True), ("true", True), ("false", False), ("0", False)])
    def test_given_the_connection_flag_then_exposed_for_the_builders(self, connection, value, expected):
        extra = dict(CONN["extra"])
        if value is not None:
            extra["customer_auto_numbering"] = value
        connection({**CONN, "extra": extra})
        assert NetSuiteHook().customer_auto_numbering is expected


class PoisonBackend(FakeBackend):
    """Refuses a whole request (nothing written) whenever it holds the poisoned record, as NetSuite does
    with an envelope it cannot parse."""

    def __init__(self, poisoned: str):
        super().__init__()
        self.poisoned = poisoned
        self.written: list[str] = []

    def write_list(self, operation, record_type, records):
        self.batches.append(len(records))
        if any(r["externalId"] == self.poisoned for r in records):
            raise NetSuiteRequestError("org.xml.sax.SAXParseException: invalid XML character", operation=operation,
                                       code="USER_ERROR")
        self.written.extend(r["externalId"] for r in records)
        return [RecordResult(record_type, r["externalId"], internal_id=str(i)) for i, r in enumerate(records)]


class TestOneRecordRefusingTheRequest:
    def test_given_one_record_that_makes_netsuite_refuse_the_request_then_only_it_fails_by_name(self, connection):
        backend = PoisonBackend("E37")
        results = make_hook(backend).upsert_records("customer", records(100))
        assert [r.external_id for r in results] == [f"E{i}" for i in range(100)]
        failed = [r for r in results if not r.ok]
        assert [r.external_id for r in failed] == ["E37"] and "refused the request" in failed[0].error_message
        assert len(backend.written) == 99 and "E37" not in backend.written
        assert len(backend.batches) <= 1 + 2 * 7  # halving: about log2(100) levels, two requests each
