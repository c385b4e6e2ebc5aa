"""The GL read reconciliation relies on (``NetSuiteHook.gl_lines``) on the REST backend: one SuiteQL query over
``transactionaccountingline`` joined to ``transaction`` and ``transactionline``, paged with limit/offset,
answered by the emulator from the same GL impact as SOAP's TransactionSearchAdvanced and ``/_sandbox/gl``.
The SOAP scenarios of test_gl_search.py are collected again here on REST."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.errors import NetSuiteError, NetSuiteUnavailableError
from amazon_netsuite.netsuite.hook import NetSuiteHook
from tests.integration.netsuite.conftest import FAST_RETRY
from tests.integration.netsuite.test_gl_search import (  # noqa: F401 - collected here on the REST backend
    _billed_order,
    _stock_up,
    test_given_a_foreign_exchange_rate_then_base_amounts_differ_and_fx_amounts_keep_the_sign,
    test_given_an_fx_remainder_when_posted_then_clearing_nets_to_zero_in_both_currencies,
    test_given_billing_and_a_settlement_journal_then_gl_lines_match_the_gl_balance_across_pages,
)


@pytest.fixture
def set_connection(netsuite_server, monkeypatch):
    """``netsuite_default`` on the emulator's REST API (OAuth 2.0 M2M); overrides go to the extra."""
    from amazon_netsuite.netsuite import rest
    from sandbox.netsuite import airflow_connection

    def _set(**overrides) -> dict:
        conn = airflow_connection(base_url=netsuite_server, api="rest")
        conn["extra"].update(overrides)
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
        rest._TOKENS.clear()
        return conn

    return _set


@pytest.fixture
def hook(admin, set_connection) -> NetSuiteHook:
    set_connection()
    return NetSuiteHook(**FAST_RETRY)


def test_given_a_subsidiary_and_a_closed_date_range_then_only_those_lines_in_one_suiteql_query(admin, hook):
    _stock_up(admin)
    _billed_order(admin, hook, 0)  # cash sale on 2026-11-20, subsidiary 2
    for day, amount in (("2026-11-24", "5.00"), ("2026-11-25", "7.00")):
        admin.post("/_sandbox/records/journalEntry", json=[{
            "externalId": f"AMZ-JE-R-{day}", "subsidiary": {"internalId": "2"}, "currency": {"internalId": "1"},
            "tranDate": f"{day}T12:00:00+00:00",
            "lineList": [{"line": 1, "account": {"internalId": "1210"}, "credit": float(amount)},
                         {"line": 2, "account": {"internalId": "1010"}, "debit": float(amount)}]}]).raise_for_status()
    before = admin.get("/_sandbox/calls").json()["operations"].get("suiteql", {}).get("calls", 0)

    lines = hook.gl_lines(["1210"], date_from=date(2026, 11, 21), date_to=date(2026, 11, 24))

    assert [(line.external_id, line.amount, line.tran_date) for line in lines] == [
        ("AMZ-JE-R-2026-11-24", Decimal("-5.00"), "2026-11-24")]
    assert admin.get("/_sandbox/calls").json()["operations"]["suiteql"]["calls"] - before == 1
    assert {line.subsidiary_id for line in hook.gl_lines(["1210"], subsidiary_ids=["2"])} == {"2"}
    assert hook.gl_lines(["1210"], subsidiary_ids=["999"]) == []


def test_given_suiteql_unavailable_then_retried_then_failing_never_empty(admin, hook):
    _stock_up(admin)
    _billed_order(admin, hook, 0)
    admin.post("/_sandbox/faults", json={"operation": "suiteql", "status": 503, "times": 1}).raise_for_status()
    assert len(hook.gl_lines(["1210"])) == 1

    admin.post("/_sandbox/faults", json={"operation": "suiteql", "status": 503, "times": 50}).raise_for_status()
    with pytest.raises(NetSuiteUnavailableError):
        hook.gl_lines(["1210"])
    admin.delete("/_sandbox/faults")


def test_given_gl_queries_the_emulator_does_not_emulate_then_refused_not_answered_empty(admin, hook):
    _stock_up(admin)
    _billed_order(admin, hook, 0)
    backend = hook.backend
    with pytest.raises(NetSuiteError, match="transactionline only joined"):
        backend.suiteql_all("SELECT id, subsidiary FROM transactionline AS tl WHERE tl.transaction = '1'")
    with pytest.raises(NetSuiteError, match="was not found"):  # unqualified column in a join
        backend.suiteql_all("SELECT account FROM transactionaccountingline AS tal "
                            "INNER JOIN transaction AS t ON t.id = tal.transaction")


def test_the_emulator_answers_suiteql_over_http_with_amounts_as_numbers(admin, hook):
    """The wire shape the backend reads: debit/credit as JSON numbers, posting lines only."""
    _stock_up(admin)
    _billed_order(admin, hook, 0)
    rows = hook.backend.suiteql_all("SELECT tal.account AS account, tal.debit AS debit, tal.credit AS credit "
                                    "FROM transactionaccountingline AS tal INNER JOIN transaction AS t "
                                    "ON t.id = tal.transaction WHERE tal.account = '1210' AND tal.posting = 'T'")
    assert rows and all(isinstance(r["debit"] or r["credit"], Decimal) for r in rows)
