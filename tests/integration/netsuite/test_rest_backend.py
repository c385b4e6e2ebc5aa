"""NetSuiteHook's REST backend (record API + SuiteQL, OAuth 2.0 M2M / TBA) over real HTTP against the
emulator, which answers REST on the same store as SOAP."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from amazon_netsuite.netsuite.errors import NetSuiteAuthError, NetSuiteBatchError, NetSuiteRequestError
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.netsuite.records import (
    Address,
    JournalLine,
    SalesOrderLine,
    build_customer,
    build_journal_entry,
    build_sales_order,
    journal_entry_external_id,
    ref,
    sales_order_external_id,
)
from amazon_netsuite.netsuite.rest import RestBackend
from tests.integration.netsuite.conftest import FAST_RETRY

US_SUBSIDIARY, USD, US_WAREHOUSE, MUG, TEE_M, US_NOT_TAXABLE = 2, 1, 1, 501, 502, 11
BANK_US, CLEARING_US, REFERRAL_FEES = 1010, 1210, 6110
OPEN_DAY, CLOSED_DAY = date(2026, 11, 14), date(2026, 3, 31)


@pytest.fixture
def rest_connection(netsuite_server, monkeypatch):
    """Point ``netsuite_default`` at the emulator's REST API (OAuth 2.0 M2M); overrides apply to the extra
    (``login``/``password`` to the connection)."""
    from sandbox.netsuite import airflow_connection

    def _set(**overrides) -> dict:
        conn = airflow_connection(base_url=netsuite_server, api="rest")
        for key, value in overrides.items():
            if key in ("login", "password"):
                conn[key] = value
            else:
                conn["extra"][key] = value
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
        from amazon_netsuite.netsuite import rest

        rest._TOKENS.clear()  # every test starts without a cached token
        return conn

    return _set


@pytest.fixture
def rest_hook(admin, rest_connection) -> NetSuiteHook:
    rest_connection()
    return NetSuiteHook(**FAST_RETRY)


@pytest.fixture
def soap_hook(admin, base_connection, monkeypatch) -> NetSuiteHook:
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_SOAP", json.dumps(base_connection))
    return NetSuiteHook("netsuite_soap", **FAST_RETRY)


def calls(admin: httpx.Client, operation: str, key: str = "calls") -> int:
    return admin.get("/_sandbox/calls").json()["operations"].get(operation, {}).get(key, 0)


def buyer(n: int, **kwargs) -> dict:
    return build_customer(
        external_id=f"AMZ-CS-REST-{n:05d}", subsidiary_id=US_SUBSIDIARY, first_name="Ann", last_name=f"Buyer {n}",
        email=f"buyer{n}@marketplace.amazon.com", is_person=True,
        address=Address(country="US", addressee=f"Ann Buyer {n}", addr1="1 Main St", city="Seattle", state="WA",
                        zip="98101"),
        **kwargs,
    )


def order(order_id: str, *, customer: dict, lines=None) -> dict:
    return build_sales_order(
        external_id=sales_order_external_id(order_id), customer=customer, subsidiary_id=US_SUBSIDIARY,
        currency_id=USD, tran_date=date(2026, 11, 5), location_id=US_WAREHOUSE,
        lines=lines or [
            SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99"), tax_code_id=US_NOT_TAXABLE),
            SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("19.95"), tax_code_id=US_NOT_TAXABLE),
        ],
        custom_field_values={"custbody_amazon_order_id": order_id},
    )


def journal(settlement_id: str, *, tran_date: date = OPEN_DAY, credit: str = "100.00") -> dict:
    return build_journal_entry(
        external_id=journal_entry_external_id(settlement_id), subsidiary_id=US_SUBSIDIARY, currency_id=USD,
        tran_date=tran_date, memo=f"Amazon settlement {settlement_id}",
        lines=[JournalLine(CLEARING_US, credit=Decimal(credit)),
               JournalLine(REFERRAL_FEES, debit=Decimal("15.00")),
               JournalLine(BANK_US, debit=Decimal(credit) - Decimal("15.00"))],
    )


class TestSameStoreAsSoap:
    def test_given_connection_api_rest_then_the_hook_uses_the_rest_backend(self, rest_hook):
        assert rest_hook.api == "rest" and isinstance(rest_hook.backend, RestBackend)

    def test_given_customers_written_over_rest_then_soap_reads_them_with_their_address_book(
        self, rest_hook, soap_hook, admin
    ):
        results = rest_hook.upsert_records("customer", [buyer(n) for n in range(3)])

        assert all(r.ok for r in results)
        found = soap_hook.get_records("customer", [r.external_id for r in results], by="externalId")
        assert set(found) == {r.external_id for r in results}
        first = found["AMZ-CS-REST-00000"]
        assert first["internalId"] == results[0].internal_id
        assert first["addressbookList"][0]["addressbookAddress"]["country"] == "_unitedStates"
        assert first["email"] == "buyer0@marketplace.amazon.com"
        assert calls(admin, "restUpsert") == 3 and calls(admin, "upsertList") == 0

    def test_given_orders_written_over_soap_then_rest_reads_lines_money_and_custom_fields_exactly(
        self, rest_hook, soap_hook
    ):
        [customer] = soap_hook.upsert_records("customer", [buyer(1)])
        [written] = soap_hook.upsert_records("salesOrder", [order("111-0000001-0000001", customer=ref(customer.internal_id))])

        record = rest_hook.get_records("salesOrder", [written.external_id], by="externalId")[written.external_id]

        assert record["internalId"] == written.internal_id
        assert [(line["item"]["internalId"], line["rate"]) for line in record["itemList"]] == [
            (str(MUG), Decimal("9.99")), (str(TEE_M), Decimal("19.95"))]
        assert {f["scriptId"]: f["value"] for f in record["customFieldList"]}["custbody_amazon_order_id"] == \
            "111-0000001-0000001"
        assert record["tranDate"] == date(2026, 11, 5)

    def test_given_an_order_referencing_its_customer_by_external_id_then_resolved_by_one_query(
        self, rest_hook, soap_hook, admin
    ):
        customers = rest_hook.upsert_records("customer", [buyer(n) for n in range(5)])
        before = calls(admin, "suiteql")
        orders = [order(f"111-0000002-000000{n}", customer=ref(external_id=c.external_id)) for n, c in enumerate(customers)]

        results = rest_hook.upsert_records("salesOrder", orders)

        assert all(r.ok for r in results), [r.describe() for r in results]
        assert calls(admin, "suiteql") - before == 1  # five references, one SuiteQL query
        stored = soap_hook.get_records("salesOrder", [r.external_id for r in results], by="externalId")
        assert [stored[r.external_id]["entity"]["internalId"] for r in results] == [c.internal_id for c in customers]
        assert Decimal(str(stored[results[0].external_id]["total"])) == Decimal("39.93")

    def test_given_lines_closed_by_a_partial_upsert_then_the_other_lines_are_kept(self, rest_hook, soap_hook):
        [customer] = rest_hook.upsert_records("customer", [buyer(7)])
        [written] = rest_hook.upsert_records("salesOrder", [order("111-0000003-0000001", customer=ref(customer.internal_id))])
        [result] = rest_hook.upsert_records("salesOrder", [{"externalId": written.external_id,
                                                            "itemList": [{"line": 1, "isClosed": True}]}])

        assert result.ok and result.internal_id == written.internal_id
        lines = soap_hook.get_record("salesOrder", external_id=written.external_id)["itemList"]
        assert [(line["line"], bool(line.get("isClosed"))) for line in lines] == [(1, True), (2, False)]

    def test_given_an_adopted_customer_when_updated_by_internal_id_then_claimed_by_external_id(self, rest_hook, soap_hook):
        [made] = soap_hook.add_records("customer", [{k: v for k, v in buyer(9).items() if k != "externalId"}])
        [result] = rest_hook.update_records("customer", [{"internalId": made.internal_id, "externalId": "AMZ-CS-CLAIMED"}])

        assert result.ok and result.internal_id == made.internal_id
        assert soap_hook.get_record("customer", external_id="AMZ-CS-CLAIMED")["internalId"] == made.internal_id


class TestRecordFailures:
    def test_given_a_closed_period_and_an_unknown_customer_then_those_fail_alone_named(self, rest_hook, admin):
        customers = rest_hook.upsert_records("customer", [buyer(20)])
        journals = rest_hook.upsert_records("journalEntry", [journal("R1"), journal("R2", tran_date=CLOSED_DAY), journal("R3")])
        orders = rest_hook.upsert_records("salesOrder", [
            order("111-0000004-0000001", customer=ref(external_id=customers[0].external_id)),
            order("111-0000004-0000002", customer=ref(external_id="AMZ-CS-NOBODY")),
        ])

        assert [r.ok for r in journals] == [True, False, True]
        assert journals[1].period_closed and journals[1].external_id == "AMZ-JE-R2"
        assert [r.ok for r in orders] == [True, False]
        assert orders[1].error_code == "INVALID_KEY_OR_REF" and "AMZ-CS-NOBODY" in orders[1].error_message

    def test_given_add_of_an_existing_external_id_then_dup_rcrd_for_that_record_only(self, rest_hook):
        rest_hook.upsert_records("customer", [buyer(30)])
        results = rest_hook.add_records("customer", [buyer(30), buyer(31)])

        assert results[0].error_code == "DUP_RCRD" and results[1].ok

    def test_given_a_missing_record_then_none_and_absent_from_get_records(self, rest_hook):
        assert rest_hook.get_record("customer", external_id="AMZ-CS-NOBODY") is None
        assert rest_hook.get_record("customer", internal_id="999999") is None
        assert rest_hook.get_records("customer", ["999998", "999999"]) == {}


class TestGovernance:
    def test_given_429_concurrency_refusals_then_only_the_refused_requests_are_retried(self, rest_hook, admin):
        admin.post("/_sandbox/faults", json={"operation": "restUpsert", "status": 429, "times": 3}).raise_for_status()

        results = rest_hook.upsert_records("customer", [buyer(n) for n in range(40, 50)])

        assert all(r.ok for r in results)
        assert calls(admin, "restUpsert") == 13  # 10 records + 3 refused attempts, no record sent twice after success
        assert len({r.internal_id for r in results}) == 10
        assert rest_hook.calls["rest:upsertList"] == 13

    def test_given_more_concurrent_requests_than_the_account_allows_then_all_written_after_backoff(
        self, rest_connection, admin
    ):
        rest_connection(concurrency=8)
        admin.post("/_sandbox/config", json={"concurrency_limit": 2, "latency_ms": 40}).raise_for_status()
        hook = NetSuiteHook(**FAST_RETRY | {"max_attempts": 30})

        results = hook.upsert_records("customer", [buyer(n) for n in range(60, 84)])

        assert all(r.ok for r in results)
        assert admin.get("/_sandbox/calls").json()["operations"]["restUpsert"]["throttled"] > 0
        stored = {c.get("externalId") for c in admin.get("/_sandbox/records/customer").json()}
        assert {r.external_id for r in results} <= stored and len({r.internal_id for r in results}) == 24

    def test_given_503_then_the_chunk_is_retried_and_upserts_write_each_record_once(self, rest_hook, admin):
        admin.post("/_sandbox/faults", json={"operation": "restUpsert", "status": 503, "times": 2,
                                             "after": True}).raise_for_status()

        results = rest_hook.upsert_records("customer", [buyer(n) for n in range(90, 95)])

        assert all(r.ok for r in results)
        stored = [c for c in admin.get("/_sandbox/records/customer").json() if c.get("externalId", "").startswith("AMZ-CS-REST-0009")]
        assert len(stored) == 5

    def test_given_netsuite_down_past_retries_then_batch_error_with_nothing_answered(self, rest_connection, admin):
        rest_connection()
        admin.post("/_sandbox/faults", json={"operation": "*", "status": 503, "times": 50}).raise_for_status()
        hook = NetSuiteHook(max_attempts=2, backoff_initial=0.01, backoff_max=0.02)

        with pytest.raises(NetSuiteBatchError) as caught:
            hook.upsert_records("customer", [buyer(1), buyer(2)])

        assert caught.value.reason == "netsuite_unavailable"
        assert caught.value.pending_external_ids == ["AMZ-CS-REST-00001", "AMZ-CS-REST-00002"]
        admin.delete("/_sandbox/faults")


class TestAsyncPattern:
    def test_given_async_write_mode_then_same_records_through_jobs_at_four_requests_or_more_each(
        self, rest_connection, soap_hook, admin
    ):
        rest_connection(rest_write_mode="async", async_poll_interval=0.01)
        hook = NetSuiteHook(**FAST_RETRY)

        results = hook.upsert_records("customer", [buyer(n) for n in range(300, 306)] + [
            {**buyer(306), "subsidiary": {"internalId": "999"}}])

        assert [r.ok for r in results] == [True] * 6 + [False]  # a refused record comes back from its job
        assert results[6].error_code and results[6].external_id == "AMZ-CS-REST-00306"
        found = soap_hook.get_records("customer", [r.external_id for r in results[:6]], by="externalId")
        assert {found[r.external_id]["internalId"] for r in results[:6]} == {r.internal_id for r in results[:6]}
        submits = calls(admin, "restUpsert")
        assert submits == 7 and calls(admin, "asyncJob") >= 3 * 7  # job status, task list, result per record


class TestAuthentication:
    def test_given_many_calls_then_one_token_until_it_expires_then_one_renewal(self, rest_hook, admin):
        rest_hook.get_record("subsidiary", internal_id="1")
        rest_hook.get_accounting_periods()
        assert calls(admin, "token") == 1

        admin.post("/_sandbox/rest/expire_tokens").raise_for_status()
        assert rest_hook.get_record("subsidiary", internal_id="1")["internalId"] == "1"
        assert calls(admin, "token") == 2

    def test_given_a_key_that_is_not_the_certificates_then_auth_error_without_retries(self, rest_connection, admin):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        rest_connection(password=other)

        with pytest.raises(NetSuiteAuthError) as caught:
            NetSuiteHook(**FAST_RETRY).get_record("subsidiary", internal_id="1")

        assert caught.value.reason == "auth_failed" and calls(admin, "token") == 1
        assert other not in str(caught.value)

    def test_given_an_unknown_certificate_id_then_auth_error(self, rest_connection, admin):
        rest_connection(certificate_id="not-the-mapped-certificate")
        with pytest.raises(NetSuiteAuthError):
            NetSuiteHook(**FAST_RETRY).get_accounting_periods()

    def test_given_a_request_without_credentials_then_401_in_netsuites_error_shape(self, admin, netsuite_server):
        answer = httpx.get(f"{netsuite_server}/services/rest/record/v1/customer/1")

        assert answer.status_code == 401
        assert answer.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"

    def test_given_tba_fallback_then_rest_works_with_the_integrations_tokens(self, rest_connection, admin):
        from sandbox.netsuite import SANDBOX_CREDENTIALS as creds

        rest_connection(auth="tba", login=creds.consumer_key, password=creds.consumer_secret,
                        token_id=creds.token_id, token_secret=creds.token_secret)
        hook = NetSuiteHook(**FAST_RETRY)

        assert hook.upsert_records("customer", [buyer(3)])[0].ok
        assert calls(admin, "token") == 0

    def test_given_a_replayed_tba_request_then_refused(self, admin, netsuite_server):
        import requests

        from amazon_netsuite.netsuite.rest import RestSettings, tba_auth
        from sandbox.netsuite import SANDBOX_CREDENTIALS as creds

        settings = RestSettings(account=creds.account, base_url=netsuite_server, auth="tba", consumer_key=creds.consumer_key,
                                consumer_secret=creds.consumer_secret, token_id=creds.token_id, token_secret=creds.token_secret)
        signed = requests.Request("GET", f"{netsuite_server}/services/rest/record/v1/subsidiary/1",
                                  auth=tba_auth(settings)).prepare()
        with requests.Session() as session:
            assert session.send(signed).status_code == 200
            assert session.send(signed).status_code == 401  # the same nonce again

    def test_given_tba_with_a_wrong_secret_then_auth_error(self, rest_connection, admin):
        from sandbox.netsuite import SANDBOX_CREDENTIALS as creds

        rest_connection(auth="tba", login=creds.consumer_key, password="wrong", token_id=creds.token_id,
                        token_secret=creds.token_secret)
        with pytest.raises(NetSuiteAuthError):
            NetSuiteHook(**FAST_RETRY).get_record("subsidiary", internal_id="1")


class TestSuiteQL:
    def test_given_small_pages_then_periods_read_across_pages_match_soap(self, rest_connection, soap_hook, admin):
        rest_connection(page_size=5)
        hook = NetSuiteHook(**FAST_RETRY)

        rest_periods = hook.get_accounting_periods()
        soap_periods = soap_hook.get_accounting_periods()

        assert [p["internalId"] for p in rest_periods] == [p["internalId"] for p in soap_periods]
        assert calls(admin, "suiteql") == -(-len(rest_periods) // 5)
        assert hook.get_accounting_period(OPEN_DAY, US_SUBSIDIARY)["internalId"] == \
            soap_hook.get_accounting_period(OPEN_DAY, US_SUBSIDIARY)["internalId"]

    def test_given_relay_customers_then_adoption_search_and_modified_since_filter(self, rest_hook, soap_hook):
        soap_hook.upsert_records("customer", [buyer(n) for n in range(100, 103)])

        found = list(rest_hook.iter_customers_by_email(operator="contains", value="@MARKETPLACE.amazon."))
        exact = rest_hook.search_customers_by_email("BUYER101@marketplace.amazon.com")

        assert {c["externalId"] for c in found} >= {"AMZ-CS-REST-00100", "AMZ-CS-REST-00101", "AMZ-CS-REST-00102"}
        assert [c["externalId"] for c in exact] == ["AMZ-CS-REST-00101"]
        later = max(c["lastModifiedDate"] for c in found)
        assert list(rest_hook.iter_customers_by_email(value="@marketplace.amazon.",
                                                      modified_after=later.replace(year=later.year + 1))) == []

    def test_given_a_batch_of_emails_then_one_query_matches_them_ignoring_case(self, rest_hook, soap_hook, admin):
        soap_hook.upsert_records("customer", [buyer(n) for n in range(110, 113)])
        before = calls(admin, "suiteql")

        found = rest_hook.search_customers_by_emails(["BUYER110@marketplace.amazon.com", "buyer112@marketplace.amazon.com",
                                                      "nobody@marketplace.amazon.com"])

        assert calls(admin, "suiteql") - before == 1
        assert [c["externalId"] for c in found["buyer110@marketplace.amazon.com"]] == ["AMZ-CS-REST-00110"]
        assert [c["externalId"] for c in found["buyer112@marketplace.amazon.com"]] == ["AMZ-CS-REST-00112"]
        assert found["nobody@marketplace.amazon.com"] == []
        assert soap_hook.search_customers_by_emails(["buyer110@marketplace.amazon.com"]) == {
            "buyer110@marketplace.amazon.com": [c for c in soap_hook.search_customers_by_email("buyer110@marketplace.amazon.com")]}

    def test_given_orders_modified_in_a_window_then_found_with_body_fields_and_not_outside_it(self, rest_hook):
        from datetime import UTC, datetime, timedelta

        [customer] = rest_hook.upsert_records("customer", [buyer(120)])
        written = rest_hook.upsert_records("salesOrder", [order(f"111-0000005-000000{n}", customer=ref(customer.internal_id))
                                                          for n in range(2)])
        now = datetime.now(UTC)

        found = list(rest_hook.search_modified_since("salesOrder", now - timedelta(hours=1), now + timedelta(hours=1)))
        later = list(rest_hook.search_modified_since("salesOrder", now + timedelta(hours=1)))

        assert sorted(r["externalId"] for r in found) == sorted(r.external_id for r in written)
        assert found[0]["tranDate"] == date(2026, 11, 5) and found[0]["entity"] == {"internalId": customer.internal_id}
        assert later == []

    def test_given_external_ids_then_one_query_finds_them(self, rest_hook, admin):
        rest_hook.upsert_records("customer", [buyer(n) for n in range(200, 204)])
        before = calls(admin, "suiteql")

        found = rest_hook.search_by_external_ids("customer", [f"AMZ-CS-REST-{n:05d}" for n in range(200, 206)])

        assert sorted(r["externalId"] for r in found) == [f"AMZ-CS-REST-{n:05d}" for n in range(200, 204)]
        assert calls(admin, "suiteql") - before == 1

    def test_given_item_ids_then_availability_per_location_matches_soap(self, rest_hook, soap_hook):
        rest_rows = {(r.item_id, r.location_id): r.quantity_available for r in rest_hook.item_availability([str(MUG)])}
        soap_rows = {(r.item_id, r.location_id): r.quantity_available for r in soap_hook.item_availability([str(MUG)])}

        assert rest_rows and rest_rows == soap_rows

    def test_given_a_limit_over_1000_or_unsupported_sql_then_refused(self, rest_hook, admin):
        backend = rest_hook.backend
        answer = backend._request("suiteql", "POST", "/services/rest/query/v1/suiteql",
                                  body={"q": "SELECT id FROM customer"}, params={"limit": 1001})
        assert answer.status_code == 400
        assert answer.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
        with pytest.raises(NetSuiteRequestError) as caught:
            backend.suiteql_page("DELETE FROM customer")
        assert caught.value.code == "INVALID_PARAMETER"
