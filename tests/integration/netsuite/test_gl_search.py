"""The GL read reconciliation relies on: ``NetSuiteHook.gl_lines`` (a TransactionSearchAdvanced over posting
lines by account, paged) against the emulator, which answers it from the same GL impact ``/_sandbox/gl``
sums, and refuses what it does not emulate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.errors import NetSuiteMalformedResponseError
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.netsuite.records import (
    BillingLine,
    FulfillmentLine,
    JournalLine,
    build_billing_document,
    build_item_fulfillment,
    build_journal_entry,
)
from tests.integration.netsuite.conftest import FAST_RETRY


def _billed_order(admin, hook, n: int) -> dict:
    order = {"externalId": f"AMZ-SO-GL-{n}", "entity": {"internalId": "100"}, "subsidiary": {"internalId": "2"},
             "tranDate": "2026-11-20T12:00:00+00:00", "location": {"internalId": "2"},
             "itemList": [{"item": {"internalId": "501"}, "quantity": 1, "rate": 10.0, "amount": 10.0,
                           "taxCode": {"internalId": "11"}}]}
    order = admin.post("/_sandbox/records/salesOrder", json=[order]).json()[0]
    fulfillment = build_item_fulfillment(external_id=f"AMZ-IF-GL-{n}", sales_order_id=order["internalId"],
                                         lines=[FulfillmentLine(1, Decimal(1), "2")], ship_date=order["tranDate"][:10])
    assert hook.add_records("itemFulfillment", [fulfillment])[0].ok
    sale = build_billing_document(record_type="cashSale", external_id=f"AMZ-CS-GL-{n}", sales_order_id=order["internalId"],
                                  account_id="1210", tran_date=order["tranDate"][:10],
                                  lines=[BillingLine("501", Decimal(1), Decimal("10.00"), order_line=1, tax_code_id="11")])
    assert hook.add_records("cashSale", [sale])[0].ok
    return order


def _stock_up(admin) -> None:
    admin.post("/_sandbox/records/inventoryAdjustment", json=[{
        "externalId": "AMZ-IA-GL-STOCK", "subsidiary": {"internalId": "2"}, "account": {"internalId": "5000"},
        "adjLocation": {"internalId": "2"}, "tranDate": "2026-11-01T12:00:00+00:00",
        "inventoryList": [{"item": {"internalId": "501"}, "location": {"internalId": "2"}, "adjustQtyBy": 50}]}])


def test_given_billing_and_a_settlement_journal_then_gl_lines_match_the_gl_balance_across_pages(admin, set_connection):
    set_connection(page_size=5)
    hook = NetSuiteHook(**FAST_RETRY)
    _stock_up(admin)
    orders = [_billed_order(admin, hook, n) for n in range(7)]
    journal = build_journal_entry(external_id="AMZ-JE-GL-1", subsidiary_id="2", currency_id="1", tran_date="2026-11-25",
                                  lines=[JournalLine.for_amount("1210", Decimal("-70.00")),
                                         JournalLine.for_amount("1010", Decimal("70.00"))])
    assert hook.upsert_records("journalEntry", [journal])[0].ok

    lines = hook.gl_lines(["1210"])

    assert len(lines) == 8 and hook.calls["searchMoreWithId"] == 1  # 8 rows, pages of 5
    sales = [line for line in lines if line.record_type == "_cashSale"]
    assert {line.external_id for line in sales} == {f"AMZ-CS-GL-{n}" for n in range(7)}
    assert {line.created_from_id for line in sales} == {str(o["internalId"]) for o in orders}
    assert all(line.amount == line.base_amount for line in lines)
    journal_line = next(line for line in lines if line.record_type == "_journal")
    assert journal_line.amount == Decimal("-70.00") and journal_line.tran_date == "2026-11-25"
    balance = Decimal(admin.get("/_sandbox/gl", params={"account": "1210"}).json()["balance"])
    assert sum((line.amount for line in lines), Decimal(0)) == balance
    assert all(isinstance(line.amount, Decimal) for line in lines)
    # a date range narrows the search (the journal only)
    only_journal = hook.gl_lines(["1210"], date_from=__import__("datetime").date(2026, 11, 24))
    assert [line.external_id for line in only_journal] == ["AMZ-JE-GL-1"]
    assert hook.gl_lines(["9999"]) == []


def test_given_a_foreign_exchange_rate_then_base_amounts_differ_and_fx_amounts_keep_the_sign(admin, hook):
    admin.post("/_sandbox/records/journalEntry", json=[{
        "externalId": "AMZ-JE-FXT", "subsidiary": {"internalId": "2"}, "currency": {"internalId": "1"},
        "exchangeRate": 1.1, "tranDate": "2026-11-25T12:00:00+00:00",
        "lineList": [{"line": 1, "account": {"internalId": "1210"}, "credit": 10.0},
                     {"line": 2, "account": {"internalId": "1010"}, "debit": 10.0}]}]).raise_for_status()

    [line] = hook.gl_lines(["1210"])

    assert line.amount == Decimal("-10.00") and line.base_amount == Decimal("-11.00")
    assert line.exchange_rate == Decimal("1.1")


def test_given_malformed_row_pages_then_retried_then_failing_never_empty(admin, set_connection):
    set_connection(page_size=5)
    hook = NetSuiteHook(**FAST_RETRY)
    _stock_up(admin)
    for n in range(6):
        _billed_order(admin, hook, n)
    admin.post("/_sandbox/faults", json={"operation": "searchMoreWithId", "malformed": "no_record_list", "times": 1}).raise_for_status()
    assert len(hook.gl_lines(["1210"])) == 6

    admin.post("/_sandbox/faults", json={"operation": "searchMoreWithId", "malformed": "no_record_list", "times": 50}).raise_for_status()
    with pytest.raises(NetSuiteMalformedResponseError):
        hook.gl_lines(["1210"])


def test_given_a_criterion_or_column_the_emulator_does_not_emulate_then_refused_not_ignored(admin, hook):
    from amazon_netsuite.netsuite.errors import NetSuiteRequestError

    backend = hook.backend
    core = lambda name: backend.type(backend._ns_core, name)  # noqa: E731
    sales = "urn:sales_2023_2.transactions.webservices.netsuite.com"

    def search(criteria: dict, columns: dict):
        record = backend.type(sales, "TransactionSearchAdvanced")(
            criteria=backend.type(sales, "TransactionSearch")(
                basic=backend.type(backend._ns_common, "TransactionSearchBasic")(**criteria)),
            columns=backend.type(sales, "TransactionSearchRow")(
                basic=backend.type(backend._ns_common, "TransactionSearchRowBasic")(**columns)))
        return backend._page("search", backend.call("search", searchRecord=record), 1)

    account = {"account": core("SearchMultiSelectField")(operator="anyOf", searchValue=[core("RecordRef")(internalId="1210")])}
    amount = {"amount": [core("SearchColumnDoubleField")()]}
    with pytest.raises(NetSuiteRequestError, match="INVALID_SEARCH_FIELD_OBJ|does not support the search field entity"):
        search({**account, "entity": core("SearchMultiSelectField")(operator="anyOf", searchValue=[core("RecordRef")(internalId="100")])}, amount)
    with pytest.raises(NetSuiteRequestError, match="does not return the column"):
        search(account, {"quantity": [core("SearchColumnDoubleField")()]})
    assert search(account, amount).total_records == 0


def test_given_an_fx_remainder_when_posted_then_clearing_nets_to_zero_in_both_currencies(admin, hook):
    """The FX path of reconciliation against the emulator: a settlement journal at another rate than the
    billing document leaves a base-currency remainder; AMZ-JE-FX-{id} moves it out and clearing is zero."""
    from amazon_netsuite.flows.reconciliation import _post_fx
    from amazon_netsuite.transforms.reconciliation import SettledPeriod, clearing_status

    _stock_up(admin)
    order = _billed_order(admin, hook, 0)
    [sale] = hook.gl_lines(["1210"])
    admin.post("/_sandbox/records/journalEntry", json=[{
        "externalId": "AMZ-JE-555", "subsidiary": {"internalId": "2"}, "currency": {"internalId": "1"},
        "exchangeRate": 1.1, "tranDate": "2026-11-25T12:00:00+00:00",
        "lineList": [{"line": 1, "account": {"internalId": "1210"}, "credit": float(sale.amount)},
                     {"line": 2, "account": {"internalId": "1010"}, "debit": float(sale.amount)}]}]).raise_for_status()
    period = SettledPeriod(settlement_id="555", marketplace_id="ATVPDKIKX0DER", currency="USD", currency_id="1",
                           subsidiary_id="2", clearing_account_id="1210", start="2026-11-20", end="2026-11-24",
                           deposit_date="2026-11-25", total=str(sale.amount), order_ids=["GL-0"])
    so_map = {str(order["internalId"]): "GL-0"}

    result, findings = clearing_status(period, hook.gl_lines(["1210"]), order_of_sales_order=so_map)
    assert result.net == Decimal("0.00") and [f.kind for f in findings] == ["fx_remainder"]
    remainder = result.base_net
    assert remainder == (sale.amount - (sale.amount * Decimal("1.1")).quantize(Decimal("0.01")))

    assert _post_fx(hook, period, result, fx_account_id="4910") is True

    result, findings = clearing_status(period, hook.gl_lines(["1210"]), order_of_sales_order=so_map)
    assert findings == [] and result.balanced and result.fx_posted == -remainder
    fx = [j for j in admin.get("/_sandbox/records/journalEntry").json() if j["externalId"] == "AMZ-JE-FX-555"]
    assert len(fx) == 1
    assert _post_fx(hook, period, result, fx_account_id=None).kind == "fx_remainder"  # no account: said, not posted


@pytest.mark.parametrize("fault", [{"status": 503}, {"fault": "ExceededConcurrentRequestLimitFault"}])
def test_given_netsuite_unavailable_or_throttling_then_the_gl_search_is_retried_not_read_as_empty(admin, hook, fault):
    _stock_up(admin)
    _billed_order(admin, hook, 0)
    admin.post("/_sandbox/faults", json={"operation": "search", "times": 2, **fault}).raise_for_status()

    lines = hook.gl_lines(["1210"])

    assert len(lines) == 1 and lines[0].record_type == "_cashSale"
    assert hook.calls["search"] == 3
