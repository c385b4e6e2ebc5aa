"""The REST backend's pure parts: record dict <-> REST JSON, exact money, SuiteQL building, settings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import requests

from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthError,
    NetSuiteBatchError,
    NetSuiteThrottledError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.netsuite.rest import (
    RestBackend,
    RestSettings,
    default_base_url,
    dumps,
    from_rest,
    to_rest,
    whole_call_error,
)

REST_CONN = {
    "conn_type": "generic",
    "login": "client-id",
    "password": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
    "extra": {"api": "rest", "account_id": "1234567-sb1", "certificate_id": "cert-1"},
}


def response(status: int, body: dict | None = None) -> requests.Response:
    out = requests.Response()
    out.status_code = status
    out._content = json.dumps(body or {}).encode()
    return out


class TestMapping:
    def test_given_a_sales_order_dict_then_rest_json_with_sublists_refs_custom_fields_and_exact_money(self):
        record = {
            "externalId": "AMZ-SO-1", "internalId": "9", "entity": {"externalId": "AMZ-CS-1"},
            "tranDate": date(2026, 11, 5), "orderStatus": "_pendingFulfillment",
            "itemList": [{"item": {"internalId": "501"}, "quantity": Decimal("2"), "rate": Decimal("0.10"),
                          "line": 1}],
            "shippingAddress": {"country": "_unitedKingdom", "city": "London"},
            "customFieldList": [{"scriptId": "custbody_amazon_order_id", "value": "111-1"}],
        }
        body = to_rest(record)

        assert "internalId" not in body and body["externalId"] == "AMZ-SO-1"
        assert body["entity"] == {"externalId": "AMZ-CS-1"} and body["tranDate"] == "2026-11-05"
        assert body["orderStatus"] == {"id": "B"} and body["shippingAddress"]["country"] == {"id": "GB"}
        assert body["custbody_amazon_order_id"] == "111-1"
        text = dumps(body)
        assert '"rate": 0.10' in text and '"quantity": 2' in text  # the Decimal's digits, never a float

    def test_given_rest_json_then_the_hook_dict_comes_back(self):
        text = ('{"id": "9", "links": [], "externalId": "AMZ-SO-1", "total": 39.93, "tranDate": "2026-11-05",'
                ' "lastModifiedDate": "2026-11-05T10:00:00Z", "entity": {"id": "7", "refName": "Ann"},'
                ' "item": {"links": [], "items": [{"line": 1, "rate": 9.99, "item": {"id": "501"}}]},'
                ' "addressBook": {"items": [{"addressBookAddress": {"country": {"id": "US"}}}]},'
                ' "custbody_amazon_order_id": "111-1"}')
        record = from_rest(json.loads(text, parse_float=Decimal))

        assert record["internalId"] == "9" and record["total"] == Decimal("39.93")
        assert record["tranDate"] == date(2026, 11, 5)
        assert record["lastModifiedDate"] == datetime(2026, 11, 5, 10, tzinfo=UTC)
        assert record["entity"] == {"internalId": "7", "name": "Ann"}
        assert record["itemList"] == [{"line": 1, "rate": Decimal("9.99"), "item": {"internalId": "501"}}]
        assert record["addressbookList"][0]["addressbookAddress"]["country"] == "_unitedStates"
        assert record["customFieldList"] == [{"scriptId": "custbody_amazon_order_id", "value": "111-1"}]

    def test_given_a_float_then_refused(self):
        with pytest.raises(TypeError):
            to_rest({"externalId": "x", "total": 1.1})


class TestErrors:
    @pytest.mark.parametrize(("status", "code", "expected"), [
        (429, None, NetSuiteThrottledError),
        (400, "CONCURRENCY_LIMIT_EXCEEDED", NetSuiteThrottledError),
        (401, "INVALID_LOGIN", NetSuiteAuthError),
        (503, None, NetSuiteUnavailableError),
    ])
    def test_given_whole_call_failures_then_the_hook_error_class(self, status, code, expected):
        body = {"o:errorDetails": [{"detail": "x", "o:errorCode": code}]} if code else {}
        assert isinstance(whole_call_error(response(status, body), "upsertList"), expected)

    def test_given_a_record_error_then_not_a_whole_call_failure(self):
        body = {"o:errorDetails": [{"detail": "Journal entry amounts must balance.", "o:errorCode": "JE_AMOUNTS_MUST_BALANCE"}]}
        assert whole_call_error(response(400, body), "upsertList") is None


class TestQueries:
    def backend(self, **kwargs) -> RestBackend:
        return RestBackend(RestSettings(account="1", base_url="http://x", auth="tba", **kwargs))

    def test_given_email_and_modified_since_then_suiteql_with_escaped_literals_in_account_time(self):
        query = self.backend(timezone="America/Los_Angeles").build_query("customer", {
            "email": "o'brien@marketplace.amazon.com", "email_operator": "is",
            "modified_after": datetime(2026, 11, 5, 18, 0, tzinfo=UTC)})

        assert "LOWER(email) = 'o''brien@marketplace.amazon.com'" in query.sql
        assert "lastmodifieddate >= TO_TIMESTAMP('2026-11-05 10:00:00', 'YYYY-MM-DD HH24:MI:SS')" in query.sql
        assert query.sql.endswith("ORDER BY id")

    def test_given_transactions_then_filtered_by_type(self):
        query = self.backend().build_query("salesOrder", {"external_ids": ["AMZ-SO-1"]})
        assert "FROM transaction WHERE type = 'SalesOrd' AND externalid IN ('AMZ-SO-1')" in query.sql


class TestHookSettings:
    def test_given_api_rest_then_rest_settings_from_the_connection(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(REST_CONN))
        hook = NetSuiteHook()
        settings = hook.get_rest_settings()

        assert hook.api == "rest" and settings.account == "1234567_SB1"
        assert settings.base_url == default_base_url("1234567_SB1") == "https://1234567-sb1.suitetalk.api.netsuite.com"
        assert settings.client_id == "client-id" and settings.certificate_id == "cert-1"
        assert "PRIVATE" not in repr(settings)

    def test_given_no_certificate_id_then_auth_error_naming_it(self, monkeypatch):
        conn = json.loads(json.dumps(REST_CONN))
        del conn["extra"]["certificate_id"]
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
        with pytest.raises(NetSuiteAuthError, match="certificate_id"):
            NetSuiteHook().get_rest_settings()

    def test_given_an_unknown_api_then_refused(self, monkeypatch):
        conn = json.loads(json.dumps(REST_CONN))
        conn["extra"]["api"] = "graphql"
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
        with pytest.raises(NetSuiteAuthError, match="soap"):
            _ = NetSuiteHook().backend


class TestMalformedAnswers:
    """A malformed answer is retried by the hook, then fails: never read as an empty page."""

    def hook_with(self, monkeypatch, answers: list[requests.Response]) -> NetSuiteHook:
        conn = json.loads(json.dumps(REST_CONN))
        conn["extra"]["auth"] = "tba"
        conn["extra"].update(token_id="t", token_secret="s")
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
        hook = NetSuiteHook(max_attempts=3, backoff_initial=0.001, backoff_max=0.002)
        backend = hook.backend
        sent: list[str] = []

        def fake(operation, method, path, **kwargs):
            sent.append(operation)
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            error = whole_call_error(answer, operation)
            if error is not None:
                raise error
            return answer

        monkeypatch.setattr(backend, "_request", fake)
        hook.sent = sent
        return hook

    def test_given_a_suiteql_page_announcing_rows_but_empty_then_retried_then_malformed(self, monkeypatch):
        from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError

        hook = self.hook_with(monkeypatch, [response(200, {"items": [], "totalResults": 5, "hasMore": True})])

        with pytest.raises(NetSuiteMalformedResponseError):
            hook.get_accounting_periods()
        assert hook.sent == ["suiteql"] * 3

    def test_given_a_200_that_is_not_json_then_malformed_not_empty(self, monkeypatch):
        from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError

        broken = response(200)
        broken._content = b"<html>gateway</html>"
        hook = self.hook_with(monkeypatch, [broken])

        with pytest.raises(NetSuiteMalformedResponseError):
            list(hook.iter_customers_by_email(value="@marketplace.amazon."))

    def test_given_a_write_answered_without_location_then_retried_then_the_batch_fails(self, monkeypatch):
        hook = self.hook_with(monkeypatch, [response(204)])

        with pytest.raises(NetSuiteBatchError) as caught:
            hook.upsert_records("customer", [{"externalId": "AMZ-CS-1", "companyName": "A", "subsidiary": {"internalId": "1"}}])
        assert caught.value.pending_external_ids == ["AMZ-CS-1"] and hook.sent == ["upsertList"] * 3


def test_given_sandbox_env_for_rest_then_netsuite_default_selects_rest_with_the_test_key(capsys):
    from sandbox.cli import main

    assert main(["env", "--netsuite-api", "rest", "--json"]) == 0
    conn = json.loads(json.loads(capsys.readouterr().out)["AIRFLOW_CONN_NETSUITE_DEFAULT"])
    assert conn["extra"]["api"] == "rest" and conn["extra"]["certificate_id"]
    assert conn["password"].startswith("-----BEGIN PRIVATE KEY-----")
    assert main(["env", "--json"]) == 0
    default = json.loads(json.loads(capsys.readouterr().out)["AIRFLOW_CONN_NETSUITE_DEFAULT"])
    assert "api" not in default["extra"]  # SOAP stays the default


class TestTransform:
    """Documents created from a sales order go through ``!transform`` (REST has no initialize + add)."""

    def backend(self) -> RestBackend:
        return RestBackend(RestSettings(account="1", base_url="https://x", timezone="America/Los_Angeles"))

    def test_given_a_fulfillment_from_an_order_then_a_transform_that_replaces_the_prefilled_lines(self):
        body = {"externalId": "AMZ-IF-1", "createdFrom": {"id": "77"}, "item": {"items": [{"orderLine": 1, "quantity": 2}]}}
        path, sent = self.backend().transform_request("itemFulfillment", body)
        assert path == "/services/rest/record/v1/salesOrder/77/!transform/itemFulfillment?replace=item"
        assert "createdFrom" not in sent and sent["externalId"] == "AMZ-IF-1"
        assert "shippingCost" not in sent

    def test_given_a_bill_without_shipping_then_zero_is_sent_so_the_order_shipping_is_not_carried(self):
        _, sent = self.backend().transform_request("cashSale", {"createdFrom": {"id": "5"}, "shippingCost": 3})
        assert (sent["shippingCost"], sent["handlingCost"]) == (3, 0)

    def test_given_a_record_not_created_from_a_source_then_no_transform(self):
        backend = self.backend()
        assert backend.transform_request("cashSale", {"externalId": "AMZ-CS-1"}) is None
        assert backend.transform_request("journalEntry", {"createdFrom": {"id": "5"}}) is None
        assert backend.transform_request("cashSale", {"createdFrom": {"externalId": "AMZ-SO-1"}}) is None  # unresolved

    def test_given_returns_documents_then_each_is_a_transform_from_its_source(self):
        backend = self.backend()
        cases = {"returnAuthorization": "salesOrder", "itemReceipt": "returnAuthorization",
                 "creditMemo": "returnAuthorization", "cashRefund": "returnAuthorization"}
        for record_type, source in cases.items():
            path, sent = backend.transform_request(record_type, {"createdFrom": {"id": "9"}, "item": {"items": []}})
            assert path == f"/services/rest/record/v1/{source}/9/!transform/{record_type}?replace=item"
            assert "createdFrom" not in sent and "shippingCost" not in sent  # a return authorization has no shipping

    def test_given_a_credit_memo_applied_to_invoices_then_the_apply_sublist_as_rest_lines(self):
        from amazon_netsuite.netsuite.records import BillingLine, build_refund_document

        memo = build_refund_document(record_type="creditMemo", external_id="AMZ-CM-1", return_authorization_id=9,
                                     account_id=1100, tran_date=date(2026, 11, 2),
                                     lines=[BillingLine("611", Decimal(1), Decimal("10.00"), order_line=1)],
                                     apply_to=[(44, Decimal("10.00"))])
        body = json.loads(dumps(to_rest(memo)), parse_float=Decimal)
        assert body["apply"] == {"items": [{"doc": 44, "apply": True, "amount": Decimal("10.00")}]}
        assert body["autoApply"] is False and "applyList" not in body
        with pytest.raises(ValueError, match="replaceAll true"):
            to_rest({"applyList": {"replaceAll": True, "apply": []}})

    def test_given_a_return_authorization_then_its_own_status_letters(self):
        from amazon_netsuite.netsuite.rest import typed_status

        record = {"orderStatus": "_pendingReceipt", "memo": "x"}
        assert to_rest(typed_status("returnAuthorization", record))["orderStatus"] == {"id": "B"}
        assert typed_status("salesOrder", {"orderStatus": "_pendingFulfillment"}) == {"orderStatus": "_pendingFulfillment"}
        with pytest.raises(ValueError, match="_pendingFulfillment"):
            typed_status("returnAuthorization", {"orderStatus": "_pendingFulfillment"})
        assert from_rest({"id": "3", "orderStatus": {"id": "F"}}, "returnAuthorization")["orderStatus"] == "_pendingRefund"
        assert from_rest({"id": "3", "orderStatus": {"id": "F"}})["orderStatus"] == "_pendingBilling"  # a sales order's F

    def test_given_a_created_from_search_then_links_by_next_type_then_the_records_with_their_source(self, monkeypatch):
        backend = self.backend()
        sent: list[str] = []
        answers = [
            [{"nextdoc": "30", "previousdoc": "11"}, {"nextdoc": "21", "previousdoc": "10"}, {"nextdoc": "21", "previousdoc": "10"}],
            [{"id": "21", "externalid": "AMZ-INV-A", "type": "CustInvc", "foreignamountunpaid": Decimal("12.50")},
             {"id": "30", "externalid": "AMZ-INV-B", "type": "CustInvc", "foreignamountunpaid": 0}],
        ]

        def query(sql):
            sent.append(sql)
            return answers[len(sent) - 1] if len(sent) <= len(answers) else []

        monkeypatch.setattr(backend, "suiteql_all", query)
        found = backend.search("invoice", {"created_from": ["10", "11"]})
        assert "FROM previoustransactionlinelink WHERE nexttype = 'CustInvc' AND previousdoc IN ('10', '11')" in sent[0]
        assert "type = 'CustInvc' AND id IN ('21', '30')" in sent[1] and "foreignamountunpaid" in sent[1]
        assert [(r["internalId"], r["createdFrom"], r["amountRemaining"]) for r in found.records] == [
            ("21", {"internalId": "10"}, Decimal("12.50")), ("30", {"internalId": "11"}, Decimal(0))]

        sent.clear()
        answers[0] = []
        assert backend.search("invoice", {"created_from": ["12"]}).records == [] and len(sent) == 1  # no second query
        sent.clear()
        answers[0] = [{"nextdoc": "21", "previousdoc": "10"}, {"nextdoc": "21", "previousdoc": "11"}]
        from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError

        with pytest.raises(NetSuiteMalformedResponseError, match="2 sources"):
            backend.search("invoice", {"created_from": ["10", "11"]})
        with pytest.raises(ValueError, match="not a transaction"):
            backend.search("customer", {"created_from": ["10"]})
        # more linked documents than one IN list holds: the records are read 1,000 ids a query
        sent.clear()
        answers[:] = [[{"nextdoc": str(n), "previousdoc": "10"} for n in range(1, 1502)],
                      [{"id": str(n), "type": "CustInvc"} for n in range(1, 1001)],
                      [{"id": str(n), "type": "CustInvc"} for n in range(1001, 1502)]]
        found = backend.search("invoice", {"created_from": ["10"]})
        assert len(sent) == 3 and "id IN ('1', '2'," in sent[1] and "id IN ('1001'," in sent[2]
        assert len(found.records) == 1501 and found.total_pages == 1

    def test_given_a_datetime_in_a_date_field_then_the_date_in_the_account_zone(self):
        from amazon_netsuite.netsuite.rest import local_dates

        late = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)  # still the 19th in Los Angeles
        assert local_dates({"tranDate": late, "memo": "x"}, "America/Los_Angeles") == {"tranDate": date(2026, 11, 19), "memo": "x"}
        assert to_rest(local_dates({"tranDate": late}, "UTC"))["tranDate"] == "2026-11-20"
        record = {"tranDate": date(2026, 1, 2)}
        assert local_dates(record, "UTC") is record
