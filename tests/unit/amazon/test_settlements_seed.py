"""Seeded settlement V2 files: internally consistent and consistent with the seeded orders."""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sandbox.amazon.seed import MARKETPLACES, generate_orders
from sandbox.amazon.settlements import (
    CA_CHAIN_TOTALS,
    COLUMNS,
    REPORT_TYPE,
    SUMMARY_COLUMNS,
    extra_settlement_files,
    render_v2,
    settlement_files,
)

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
ORDERS = generate_orders(0, orders=200, now=NOW)
FILES = settlement_files(ORDERS, 0, now=NOW)
REGULAR = settlement_files(ORDERS, 0, now=NOW, extras=False)
EXTRAS = extra_settlement_files(0, now=NOW)
BY_ID = {o["orderId"]: o for o in ORDERS}
DE_TIME = r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d UTC"
ISO_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
MX = "A1AM78C64UM0Y8"


def parse(text: str) -> tuple[dict, list[dict]]:
    reader = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    return reader[0], reader[1:]


def money(value: str) -> Decimal:
    return Decimal(value.replace(",", ".")) if "," in value else Decimal(value)


def item_of(order: dict, code: str) -> dict:
    return next(i for i in order["orderItems"] if i["orderItemId"] == code)


class TestShape:
    def test_given_the_seed_then_each_marketplace_has_a_latest_and_an_older_closed_settlement(self):
        assert sorted(f.marketplace_id for f in REGULAR) == sorted([US, CA, UK, DE] * 2)
        assert [f.settlement_id for f in FILES] == [f.settlement_id for f in REGULAR + EXTRAS]
        for f in FILES:
            assert f.deposit <= NOW and f.end - f.start == timedelta(days=14) and f.deposit - f.end == timedelta(days=2)
            assert f.settlement_id.isdigit() and len(f.settlement_id) == 11
        assert len({f.settlement_id for f in FILES}) == len(FILES)
        assert all(f.rows > 20 for f in REGULAR if f.end > NOW - timedelta(days=4))  # the latest ones carry orders

    def test_given_a_file_then_the_first_row_is_the_summary_and_transaction_rows_leave_summary_columns_empty(self):
        for f in FILES:
            header = f.text.splitlines()[0].split("\t")
            summary, rows = parse(f.text)
            assert tuple(header) == COLUMNS
            assert all(summary[c] for c in SUMMARY_COLUMNS) and not any(summary[c] for c in COLUMNS[6:])
            assert summary["currency"] == f.currency
            assert len(rows) == f.rows
            for row in rows:
                assert row["settlement-id"] == f.settlement_id
                assert not any(row[c] for c in SUMMARY_COLUMNS[1:])
                assert row["transaction-type"] and row["amount-type"] and row["amount"]

    def test_given_every_file_then_total_amount_is_the_exact_sum_of_its_rows(self):
        for f in FILES:
            summary, rows = parse(f.text)
            assert money(summary["total-amount"]) == sum(money(r["amount"]) for r in rows) == f.total
        assert any(f.total < 0 for f in FILES)  # fee-only settlements end negative

    def test_given_de_then_decimal_commas_german_dates_and_cp1252_other_marketplaces_dots_and_iso(self):
        for f in FILES:
            summary, rows = parse(f.text)
            amounts = [summary["total-amount"]] + [r["amount"] for r in rows]
            if f.marketplace_id == DE:
                assert f.charset == "Cp1252" and f.encoded.decode("cp1252") == f.text
                assert all("," in a and "." not in a for a in amounts)
                assert re.fullmatch(DE_TIME, summary["deposit-date"])
                assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4}", r["posted-date"]) for r in rows)
                assert all(re.fullmatch(DE_TIME, r["posted-date-time"]) for r in rows)
            else:
                assert f.charset == "UTF-8"
                assert all("." in a and "," not in a for a in amounts)
                assert re.fullmatch(ISO_TIME, summary["settlement-start-date"])
                assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["posted-date"]) for r in rows)
                assert all(re.fullmatch(ISO_TIME, r["posted-date-time"]) for r in rows)

    def test_given_the_same_seed_at_another_time_then_ids_and_amounts_are_the_same(self):
        later = NOW + timedelta(hours=5)  # same day: the same settlement periods relative to the orders
        again = settlement_files(generate_orders(0, orders=200, now=later), 0, now=later)
        assert [(f.settlement_id, f.total, f.rows) for f in again] == [(f.settlement_id, f.total, f.rows) for f in FILES]
        other = settlement_files(generate_orders(1, orders=200, now=NOW), 1, now=NOW)
        assert {f.settlement_id for f in other}.isdisjoint({f.settlement_id for f in FILES})


class TestConsistencyWithOrders:
    def test_given_order_rows_then_order_sku_quantity_and_charges_match_the_seeded_order(self):
        checked_orders = 0
        for f in FILES:
            _, rows = parse(f.text)
            charges: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
            for row in rows:
                if row["transaction-type"] != "Order":
                    continue
                order = BY_ID[row["order-id"]]
                assert order["salesChannel"]["marketplaceId"] == f.marketplace_id
                assert order["fulfillment"]["fulfillmentStatus"] in ("SHIPPED", "PARTIALLY_SHIPPED")
                item = item_of(order, row["order-item-code"])
                assert item["fulfillment"]["quantityFulfilled"] > 0
                assert row["sku"] == item["product"]["sellerSku"]
                assert int(row["quantity-purchased"]) == item["quantityOrdered"]
                assert row["marketplace-name"] == MARKETPLACES[f.marketplace_id].name
                assert row["fulfillment-id"] == ("AFN" if order["fulfillment"]["fulfilledBy"] == "AMAZON" else "MFN")
                if row["amount-type"] in ("ItemPrice", "Promotion"):
                    charges[(row["order-id"], row["order-item-code"])] += money(row["amount"])
            per_order: dict[str, Decimal] = defaultdict(Decimal)
            for (order_id, code), amount in charges.items():
                assert amount == Decimal(item_of(BY_ID[order_id], code)["proceeds"]["proceedsTotal"]["amount"])
                per_order[order_id] += amount
            for order_id, amount in per_order.items():
                order = BY_ID[order_id]
                if order["fulfillment"]["fulfillmentStatus"] == "SHIPPED":
                    assert amount == Decimal(order["proceeds"]["grandTotal"]["amount"]), order_id
                    checked_orders += 1
        assert checked_orders > 30

    def test_given_breakdowns_then_principal_shipping_promotion_and_tax_rows_equal_them(self):
        for f in REGULAR:
            _, rows = parse(f.text)
            vat = MARKETPLACES[f.marketplace_id].vat_inclusive
            groups: dict[tuple[str, str], dict[tuple[str, str], Decimal]] = defaultdict(dict)
            for row in rows:
                if row["transaction-type"] == "Order":
                    groups[(row["order-id"], row["order-item-code"])][(row["amount-type"], row["amount-description"])] = money(row["amount"])
            for (order_id, code), amounts in groups.items():
                item = item_of(BY_ID[order_id], code)
                parts = {b["type"]: Decimal(b["subtotal"]["amount"]) for b in item["proceeds"]["breakdowns"]}
                assert amounts[("ItemPrice", "Principal")] == parts["ITEM"]
                assert amounts.get(("ItemPrice", "Shipping")) == parts.get("SHIPPING")
                assert amounts.get(("ItemPrice", "GiftWrap")) == parts.get("GIFT_WRAP")
                assert amounts.get(("Promotion", "Principal")) == parts.get("DISCOUNT")
                taxes = sum(v for (t, d), v in amounts.items() if t == "ItemPrice" and d.endswith("Tax"))
                withheld = sum(v for (t, _d), v in amounts.items() if t == "ItemWithheldTax")
                facilitator = bool(item.get("tax", {}).get("taxCollections"))
                if vat:
                    assert taxes == 0 and withheld == 0 and ("ItemPrice", "Tax") not in amounts
                else:
                    assert taxes == parts["TAX"]
                    assert withheld == (-parts["TAX"] if facilitator else 0)
                assert amounts[("ItemFees", "Commission")] < 0
                fba = amounts.get(("ItemFees", "FBAPerUnitFulfillmentFee"))
                assert (fba is not None and fba < 0) == (BY_ID[order_id]["fulfillment"]["fulfilledBy"] == "AMAZON")

    def test_given_refunds_then_they_mirror_a_seeded_shipped_order_with_refund_commission(self):
        refunds = 0
        for f in FILES:
            _, rows = parse(f.text)
            order_rows = {(r["order-id"], r["amount-type"], r["amount-description"]): money(r["amount"])
                          for r in rows if r["transaction-type"] == "Order"}
            for row in rows:
                if row["transaction-type"] != "Refund":
                    continue
                refunds += 1
                order = BY_ID[row["order-id"]]
                assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and row["adjustment-id"]
                assert row["sku"] == item_of(order, row["order-item-code"])["product"]["sellerSku"]
                amount, key = money(row["amount"]), (row["order-id"], row["amount-type"], row["amount-description"])
                if row["amount-description"] == "RefundCommission":
                    assert amount < 0
                elif key in order_rows and len(order["orderItems"]) == 1:
                    assert amount == -order_rows[key]
        assert refunds > 0

    def test_given_account_level_rows_then_signs_follow_amazon(self):
        seen = set()
        for f in FILES:
            _, rows = parse(f.text)
            for row in rows:
                description, amount = row["amount-description"], money(row["amount"])
                seen.add(description)
                if description == "Previous Reserve Amount Balance":
                    assert amount > 0 and row["marketplace-name"] == ""
                elif description in ("Current Reserve Amount", "Subscription Fee", "Storage Fee", "TransactionTotalAmount"):
                    assert amount < 0
        assert {"Previous Reserve Amount Balance", "Current Reserve Amount", "Subscription Fee", "Storage Fee",
                "TransactionTotalAmount", "WAREHOUSE_DAMAGE"} <= seen

    def test_given_two_consecutive_settlements_then_the_reserve_released_is_the_one_held_before(self):
        for marketplace in (US, CA, UK, DE):
            files = sorted((f for f in FILES if f.marketplace_id == marketplace), key=lambda f: f.end)
            for older, latest in zip(files, files[1:], strict=False):
                held = next(money(r["amount"]) for r in parse(older.text)[1] if r["amount-description"] == "Current Reserve Amount")
                released = next(money(r["amount"]) for r in parse(latest.text)[1] if r["amount-description"] == "Previous Reserve Amount Balance")
                assert released == -held
                assert older.end == latest.start


class TestExtras:
    """Settlements that test what real files do (docs/amazon-quirks.md, "Settlement reports")."""

    def test_given_the_extras_then_no_seeded_order_in_them(self):
        for f in EXTRAS:
            _, rows = parse(f.text)
            assert not [r for r in rows if r["order-id"]]
            assert f.deposit <= NOW and money(parse(f.text)[0]["total-amount"]) == f.total

    def test_given_the_amazon_ca_chain_then_negative_totals_carried_into_the_next_and_only_the_last_positive(self):
        chain = sorted((f for f in EXTRAS if f.marketplace_id == CA), key=lambda f: f.end)
        assert tuple(f.total for f in chain) == CA_CHAIN_TOTALS == (Decimal("-321.69"), Decimal("-62.31"),
                                                                    Decimal("1016.08"))
        first_rows = parse(chain[0].text)[1]
        assert all(r["marketplace-name"] == "" for r in first_rows)  # fee-only, resolved by currency
        for older, newer in zip(chain, chain[1:], strict=False):
            payable = [money(r["amount"]) for r in parse(newer.text)[1] if r["amount-description"] == "Payable to Amazon"]
            assert payable == [older.total]
        regular = min((f for f in REGULAR if f.marketplace_id == CA), key=lambda f: f.end)
        assert chain[-1].end == regular.start  # the chain leads into the settlements with orders

    def test_given_the_mx_and_multi_marketplace_eur_settlements_then_their_rows_name_those_marketplaces(self):
        mx = next(f for f in EXTRAS if f.marketplace_id == MX)
        assert mx.currency == "MXN" and {r["marketplace-name"] for r in parse(mx.text)[1]} == {"", "Amazon.com.mx"}
        eur = next(f for f in EXTRAS if f.marketplace_id == DE)
        names = {r["marketplace-name"] for r in parse(eur.text)[1]}
        assert names == {"", "Amazon.de", "Amazon.fr", "Amazon.it"} and eur.charset == "Cp1252"


class TestRenderV2:
    def test_given_no_total_then_it_is_the_exact_sum_and_formats_follow_the_style(self):
        posted = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
        summary = {"settlement-id": "24567890123", "settlement-start-date": datetime(2026, 11, 1, 7, 48, 10, tzinfo=UTC),
                   "settlement-end-date": datetime(2026, 11, 15, 7, 48, 10, tzinfo=UTC),
                   "deposit-date": datetime(2026, 11, 17, 7, 48, 10, tzinfo=UTC), "currency": "EUR"}
        rows = [{"transaction-type": "Order", "amount-type": "ItemPrice", "amount-description": "Principal",
                 "amount": Decimal("1234.56"), "posted-date": posted},
                {"transaction-type": "Order", "amount-type": "ItemFees", "amount-description": "Commission",
                 "amount": Decimal("-3.6"), "posted-date": posted}]

        de = render_v2(summary, rows, decimal_comma=True, date_style="de", line_ending="\r\n")
        us = render_v2(summary, rows)

        head, first, second = parse(de)[0], *parse(de)[1]
        assert de.endswith("\r\n") and head["total-amount"] == "1230,96" and head["deposit-date"] == "17.11.2026 07:48:10 UTC"
        assert (first["amount"], second["amount"]) == ("1234,56", "-3,60")
        assert (first["posted-date"], first["posted-date-time"]) == ("02.11.2026", "02.11.2026 10:15:00 UTC")
        assert parse(us)[0]["total-amount"] == "1230.96" and parse(us)[1][1]["posted-date"] == "2026-11-02"

    def test_given_many_rows_then_rendering_is_fast_enough_for_a_benchmark_file(self):
        posted = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
        row = {"transaction-type": "Order", "order-id": "111-1234567-7654321", "marketplace-name": "Amazon.com",
               "amount-type": "ItemPrice", "amount-description": "Principal", "amount": Decimal("12.99"),
               "posted-date": posted, "sku": "ACME-MUG-11OZ", "quantity-purchased": "1"}
        summary = {"settlement-id": "1", "settlement-start-date": posted, "settlement-end-date": posted,
                   "deposit-date": posted, "currency": "USD"}
        started = time.perf_counter()
        text = render_v2(summary, [row] * 50_000)
        assert text.count("\n") == 50_002
        assert time.perf_counter() - started < 2.0  # ~1 M lines in well under a minute


@pytest.fixture
def sandbox(tmp_path):
    from sandbox.amazon.app import AmazonSandbox

    sb = AmazonSandbox(state_dir=tmp_path, seed=None)
    sb.seed(0, unmapped_marketplaces=True)
    yield sb
    sb.store.close()


class TestSeedPublishes:
    def test_given_a_seeded_sandbox_then_settlements_are_reports_created_on_their_deposit_date(self, sandbox):
        reports = [r for r in sandbox.store.reports() if r["report_type"] == REPORT_TYPE]
        assert len(reports) == 8 + 5  # and the extras: Amazon.com.mx, the Amazon.ca chain, the EUR one

        now = time.time()
        for report in reports:
            assert report["created_epoch"] <= now
            document = sandbox.store.document(report["document_id"])
            # the report lists its whole region (as Amazon's do): the settlement's marketplace is the seed's
            marketplace = sandbox.store.execute("SELECT marketplace_id FROM settlements WHERE report_id = ?",
                                                (report["report_id"],))[0]["marketplace_id"]
            assert document["charset"] == ("Cp1252" if marketplace == DE else "UTF-8")
            assert report["data_start_time"] < report["data_end_time"] < report["created_time"]


    def test_given_the_default_seed_then_no_settlement_of_an_unmapped_marketplace(self, tmp_path):
        from sandbox.amazon.app import AmazonSandbox

        sb = AmazonSandbox(state_dir=tmp_path / "default", seed=0)
        try:
            reports = [r for r in sb.store.reports() if r["report_type"] == REPORT_TYPE]
            assert len(reports) == 8 + 3  # the Amazon.ca chain only: make demo's settlements all post
        finally:
            sb.store.close()

    def test_given_a_second_seed_then_settlements_are_not_published_twice(self, sandbox):
        sandbox.seed(0)
        sandbox.seed(0, settlements=False)
        assert len([r for r in sandbox.store.reports() if r["report_type"] == REPORT_TYPE]) == 8 + 5
