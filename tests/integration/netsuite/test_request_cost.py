"""What a request costs and where it stops: save time per record and line (scaled by --rate-scale), the
100 MB envelope limit, the 15-minute limit of list writes, and how the hook sizes its requests; plus the
hook's defences against malformed search pages and its bulk e-mail search."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import httpx
import pytest

from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError, NetSuiteRequestTooLargeError
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.netsuite.records import JournalLine, build_customer, build_journal_entry
from sandbox.runner import start_servers

FAST_RETRY = {"max_attempts": 8, "backoff_initial": 0.01, "backoff_max": 0.2}
US = 2
FEES, CLEARING = 6110, 1210


def journal(external_id: str, lines: int) -> dict:
    """A balanced journal entry of ``lines`` lines (lines - 1 fee debits of 0.01 and one credit)."""
    debits = [JournalLine(FEES, debit=Decimal("0.01")) for _ in range(lines - 1)]
    credit = JournalLine(CLEARING, credit=Decimal("0.01") * (lines - 1))
    return build_journal_entry(external_id=external_id, subsidiary_id=US, currency_id=1,
                               tran_date=date(2026, 11, 14), lines=[*debits, credit])


def customers(n: int, prefix: str = "RC") -> list[dict]:
    return [build_customer(external_id=f"{prefix}-{i:04d}", subsidiary_id=US, company_name=f"Request cost buyer {prefix} {i}")
            for i in range(n)]


def calls(admin, operation: str) -> dict[str, int]:
    return admin.get("/_sandbox/calls").json()["operations"].get(operation, {"calls": 0, "throttled": 0, "records": 0})


class TestLatency:
    def test_given_a_cost_per_line_then_the_same_journal_takes_lines_x_cost_longer(self, hook, admin):
        assert admin.get("/_sandbox/config").json()["rate_scale"] == 1.0
        hook.get_record("subsidiary", internal_id="1")  # the WSDL is loaded before anything is timed

        def timed(external_id: str) -> float:
            started = time.monotonic()
            assert hook.upsert_records("journalEntry", [journal(external_id, 400)])[0].ok
            return time.monotonic() - started

        free = timed("AMZ-JE-LAT-0")
        admin.post("/_sandbox/config", json={"latency_per_line_ms": 3, "latency_per_record_ms": 100}).raise_for_status()
        charged = timed("AMZ-JE-LAT-1")

        # 400 lines x 3 ms + 100 ms for the record = 1.3 s (a margin for a busy machine; without the
        # per-line charge the difference would be ~0.1 s)
        assert charged - free >= 0.9

    def test_given_a_rate_scale_then_the_app_divides_netsuites_time_by_it(self, tmp_path, reference_dir):
        from sandbox.netsuite import create_app

        app = create_app(state_dir=tmp_path / "scaled", rate_scale=50, seed=None)
        config = app.state.service.config.as_dict()
        assert app.state.service.rate_scale == 50
        # realistic defaults (a busy account's ordinary save times), overridden by the test fixtures
        assert (config["latency_per_record_ms"], config["latency_per_line_ms"]) == (200.0, 15.0)
        assert (config["max_request_bytes"], config["request_timeout_s"]) == (100 * 1024 * 1024, 900.0)
        started = time.monotonic()
        app.state.service.sleep(1.0)  # one NetSuite second at --rate-scale 50
        assert time.monotonic() - started < 0.2


class TestRequestSize:
    def test_given_an_envelope_over_the_limit_then_exceeded_request_size_fault_before_any_work(self, hook, admin):
        admin.post("/_sandbox/config", json={"max_request_bytes": 20_000}).raise_for_status()

        with pytest.raises(NetSuiteRequestTooLargeError) as info:
            hook.backend.write_list("upsertList", "customer", customers(60, "BIG"))

        assert info.value.code == "EXCEEDED_RQST_SIZE_LIMIT" and "exceeds the limit" in str(info.value)
        assert not [c for c in admin.get("/_sandbox/records/customer").json() if c["externalId"].startswith("BIG-")]

    def test_given_a_request_refused_as_too_large_then_the_hook_sends_it_in_halves(self, hook, admin):
        admin.post("/_sandbox/config", json={"max_request_bytes": 20_000}).raise_for_status()

        results = hook.upsert_records("customer", customers(60, "HALF"))

        assert all(r.ok for r in results) and len(results) == 60
        assert calls(admin, "oversized")["calls"] >= 1
        assert calls(admin, "upsertList")["records"] == 60  # every record was written exactly once

    def test_given_a_byte_budget_then_the_hook_never_sends_an_envelope_over_it(self, admin, set_connection):
        admin.post("/_sandbox/config", json={"max_request_bytes": 20_000}).raise_for_status()
        set_connection(max_request_bytes=12_000)
        budgeted = NetSuiteHook(**FAST_RETRY)

        results = budgeted.upsert_records("customer", customers(60, "BUDGET"))

        assert all(r.ok for r in results)
        assert calls(admin, "oversized")["calls"] == 0 and calls(admin, "upsertList")["calls"] > 1


class TestLineBudget:
    def test_given_journals_over_the_line_budget_then_split_into_requests_within_it(self, admin, set_connection):
        set_connection(max_lines_per_request=300)
        budgeted = NetSuiteHook(**FAST_RETRY)

        results = budgeted.upsert_records("journalEntry", [journal(f"AMZ-JE-LB-{n}", 100) for n in range(10)])

        assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]
        assert budgeted.max_lines_per_request == 300
        assert calls(admin, "upsertList") == {"calls": 4, "throttled": 0, "records": 10}  # 3 + 3 + 3 + 1 journals


@pytest.fixture(scope="module")
def fast_clock_server(reference_dir, tmp_path_factory):
    """An emulator at --rate-scale 10000: 15 NetSuite minutes pass in 90 ms, so the time limit is testable."""
    with start_servers(state_dir=tmp_path_factory.mktemp("fast-clock"), only=("netsuite",), rate_scale=10_000) as servers:
        yield servers.urls["netsuite"]


class TestTimeLimit:
    @pytest.fixture
    def slow_account(self, fast_clock_server, monkeypatch, test_config):
        """Saves of 1 NetSuite second per line and a 30-second request limit (20 s of work per request)."""
        import json

        from sandbox.netsuite import airflow_connection

        with httpx.Client(base_url=fast_clock_server, timeout=30) as admin:
            admin.post("/_sandbox/reset").raise_for_status()
            admin.post("/_sandbox/seed", json={"seed": 0}).raise_for_status()
            admin.post("/_sandbox/config", json={
                **test_config, "latency_per_line_ms": 1000, "request_timeout_s": 30,
            }).raise_for_status()
            monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(airflow_connection(base_url=fast_clock_server)))
            yield admin

    def test_given_a_list_write_past_the_time_limit_then_the_records_not_reached_are_answered_unprocessed(
        self, slow_account
    ):
        hook = NetSuiteHook(**FAST_RETRY)
        journals = [journal(f"AMZ-JE-TL-{n}", 6) for n in range(5)]  # 6 s each: 3 fit in 20 s

        results = hook.backend.write_list("upsertList", "journalEntry", journals)

        assert [r.ok for r in results] == [True, True, True, False, False]
        assert all(r.not_processed and r.error_code == "EXCEEDED_MAX_TIME" for r in results[3:])
        stored = {j["externalId"] for j in slow_account.get("/_sandbox/records/journalEntry").json()}
        assert stored == {"AMZ-JE-TL-0", "AMZ-JE-TL-1", "AMZ-JE-TL-2"}  # the rest was never saved

    def test_given_records_not_reached_then_the_hook_sends_them_again_and_all_are_written_once(self, slow_account):
        hook = NetSuiteHook(**FAST_RETRY)

        results = hook.upsert_records("journalEntry", [journal(f"AMZ-JE-TL2-{n}", 6) for n in range(5)])

        assert all(r.ok for r in results), [r.describe() for r in results]
        assert hook.calls["upsertList"] == 3  # 5 records, then the 2 not reached in two requests of one
        assert len(slow_account.get("/_sandbox/records/journalEntry").json()) == 5


class TestMalformedSearchPages:
    @pytest.fixture
    def paged(self, admin, set_connection):
        set_connection(page_size=10)
        hook = NetSuiteHook(**FAST_RETRY)
        hook.upsert_records("customer", [
            build_customer(external_id=f"MS-{n:03d}", subsidiary_id=US, company_name=f"Malformed {n}",
                           email=f"ms{n}@marketplace.amazon.com")
            for n in range(25)
        ])
        return hook

    @pytest.mark.parametrize(("operation", "how"), [
        ("searchMoreWithId", "no_record_list"), ("searchMoreWithId", "page_index"), ("search", "no_status"),
        ("search", "no_record_list"),
    ])
    def test_given_a_malformed_page_then_retried_and_every_record_comes_back(self, paged, admin, operation, how):
        admin.post("/_sandbox/faults", json={"operation": operation, "malformed": how, "times": 1}).raise_for_status()

        found = list(paged.iter_customers_by_email(operator="endsWith", value="@marketplace.amazon.com"))

        assert sorted(c["externalId"] for c in found) == [f"MS-{n:03d}" for n in range(25)]
        assert paged.calls[operation] == 2 if operation == "search" else paged.calls[operation] == 3

    def test_given_malformed_pages_beyond_the_retries_then_the_call_fails_instead_of_an_empty_page(self, paged, admin):
        admin.post("/_sandbox/faults", json={"operation": "searchMoreWithId", "malformed": "no_record_list", "times": 50}).raise_for_status()

        with pytest.raises(NetSuiteMalformedResponseError, match="carries no record list"):
            list(paged.iter_customers_by_email(operator="contains", value="@marketplace.amazon."))

        assert paged.calls["searchMoreWithId"] == FAST_RETRY["max_attempts"]


class TestCustomerEmailPatterns:
    def test_given_customers_when_searched_by_pattern_then_all_pages_case_insensitive_and_no_email_logged(
        self, admin, set_connection, caplog
    ):
        set_connection(page_size=5)
        hook = NetSuiteHook(**FAST_RETRY)
        emails = [f"buyer{n}@marketplace.amazon.{'com' if n % 2 else 'co.uk'}" for n in range(12)]
        emails += ["OTHER@Marketplace.Amazon.DE", "someone@example.com", "amazon.fan@example.org"]
        hook.upsert_records("customer", [
            build_customer(external_id=f"EP-{n:02d}", subsidiary_id=US, company_name=f"Pattern {n}", email=email)
            for n, email in enumerate(emails)
        ])

        with caplog.at_level("DEBUG"):
            contains = list(hook.iter_customers_by_email(operator="contains", value="@marketplace.amazon."))
        ends = list(hook.iter_customers_by_email(operator="endsWith", value=".CO.UK"))
        starts = list(hook.iter_customers_by_email(operator="startsWith", value="other@"))
        exact = list(hook.iter_customers_by_email(operator="is", value="someone@example.com"))

        assert len(contains) == 13 and {c["externalId"] for c in contains} == {f"EP-{n:02d}" for n in range(13)}
        assert len(ends) == 6 and [c["externalId"] for c in starts] == ["EP-12"]
        assert [c["externalId"] for c in exact] == ["EP-13"]
        assert hook.calls["searchMoreWithId"] >= 2  # 13 results in pages of 5
        assert "marketplace.amazon" not in caplog.text.lower() and "buyer1@" not in caplog.text

    def test_given_a_bad_operator_or_empty_value_then_value_error(self, hook):
        with pytest.raises(ValueError, match="operator"):
            list(hook.iter_customers_by_email(operator="like", value="x"))
        with pytest.raises(ValueError):
            list(hook.iter_customers_by_email(value="  "))
