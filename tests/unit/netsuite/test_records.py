from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.records import (
    MAX_JOURNAL_LINES,
    Address,
    JournalLine,
    SalesOrderLine,
    build_customer,
    build_journal_entry,
    build_sales_order,
    customer_external_id,
    journal_entry_external_id,
    money,
    ref,
    sales_order_external_id,
)

ORDER_ID = "113-1234567-1234567"
SETTLEMENT_ID = "12345678901"
CLEARING, FEES, BANK = 1210, 6110, 1010
MARKETPLACE = "ATVPDKIKX0DER"


class TestExternalIds:
    def test_given_an_order_id_then_the_architecture_external_id(self):
        assert sales_order_external_id(ORDER_ID) == f"AMZ-SO-{ORDER_ID}"

    def test_given_a_buyer_then_a_stable_hashed_customer_id_without_pii(self):
        first = customer_external_id(MARKETPLACE, "Buyer@Marketplace.Amazon.com ")
        assert first == customer_external_id(MARKETPLACE, "buyer@marketplace.amazon.com")
        assert "buyer" not in first.lower() and first.startswith(f"AMZ-CU-{MARKETPLACE}-")
        assert first != customer_external_id("A1F83G8C2ARO7P", "buyer@marketplace.amazon.com")

    @pytest.mark.parametrize("args", [("", "x"), (MARKETPLACE, "")])
    def test_given_missing_parts_then_value_error(self, args):
        with pytest.raises(ValueError):
            customer_external_id(*args)

    def test_given_a_too_long_id_then_value_error(self):
        with pytest.raises(ValueError, match="longer than 255"):
            sales_order_external_id("9" * 300)


class TestCustomer:
    def test_given_a_person_with_address_then_default_shipping_and_billing_entry(self):
        record = build_customer(
            external_id="AMZ-CU-1", subsidiary_id=2, first_name="Ada", last_name="Lovelace",
            address=Address(country="gb", addressee="Ada", addr1="1 High St", city="London", zip="N1"),
        )
        assert record["isPerson"] is True and record["subsidiary"] == {"internalId": "2"}
        entry = record["addressbookList"][0]
        assert entry["defaultShipping"] and entry["defaultBilling"]
        assert entry["addressbookAddress"]["country"] == "_unitedKingdom"
        assert "addr2" not in entry["addressbookAddress"]

    def test_given_no_last_name_then_a_company_named_after_the_addressee(self):
        record = build_customer(external_id="X", subsidiary_id=2, address=Address(country="US", addressee="Acme LLC"))
        assert record["isPerson"] is False and record["companyName"] == "Acme LLC"

    def test_given_neither_name_nor_addressee_then_value_error_naming_the_record(self):
        with pytest.raises(ValueError, match="'X'"):
            build_customer(external_id="X", subsidiary_id=2)

    def test_given_an_unmapped_country_then_value_error(self):
        with pytest.raises(ValueError, match="ZZ"):
            Address(country="ZZ").to_record()


class TestSalesOrder:
    def test_given_lines_then_keyed_lines_and_decimal_amounts(self):
        record = build_sales_order(
            external_id=sales_order_external_id(ORDER_ID), customer=ref(100), subsidiary_id=2, currency_id=1,
            tran_date=date(2024, 5, 1), location_id=1, shipping_cost=Decimal("4.99"),
            lines=[
                SalesOrderLine(item_id=501, quantity=Decimal(3), rate=Decimal("3.333")),
                SalesOrderLine(item_id=502, quantity=Decimal(1), rate=Decimal("15"), tax_code_id=11, tax_amount=Decimal("1.2")),
            ],
        )
        lines = record["itemList"]
        assert [line["line"] for line in lines] == [1, 2]
        assert lines[0]["amount"] == Decimal("10.00") and isinstance(lines[0]["rate"], Decimal)
        assert lines[1]["taxCode"] == {"internalId": "11"} and lines[1]["tax1Amt"] == Decimal("1.2")
        assert "total" not in record and record["shippingCost"] == Decimal("4.99")
        assert record["orderStatus"] == "_pendingFulfillment"

    def test_given_no_lines_then_value_error(self):
        with pytest.raises(ValueError, match="no lines"):
            build_sales_order(external_id="X", customer=ref(1), subsidiary_id=2, currency_id=1, tran_date=date(2024, 1, 1), lines=[])

    def test_given_float_money_then_type_error(self):
        with pytest.raises(TypeError):
            money(9.99)
        with pytest.raises(TypeError):
            SalesOrderLine(item_id=1, quantity=Decimal(1), rate=9.99).to_record(0)

    def test_given_no_id_then_ref_refuses(self):
        with pytest.raises(ValueError):
            ref(None)
        assert ref(external_id="E") == {"externalId": "E"}


class TestRoundingAndCustomFields:
    def test_given_a_half_cent_amount_then_rounded_half_up_like_netsuite(self):
        assert SalesOrderLine(item_id=1, quantity=Decimal(1), rate=Decimal("0.125")).to_record(0)["amount"] == Decimal("0.13")

    def test_given_custom_field_values_then_a_custom_field_list_without_nones(self):
        record = build_sales_order(
            external_id="X", customer=ref(1), subsidiary_id=2, currency_id=1, tran_date=date(2024, 1, 1),
            lines=[SalesOrderLine(item_id=1, quantity=Decimal(1), rate=Decimal(1))],
            custom_field_values={"custbody_amazon_order_id": ORDER_ID, "custbody_empty": None},
        )
        assert record["customFieldList"] == [{"scriptId": "custbody_amazon_order_id", "value": ORDER_ID}]

    def test_given_a_float_custom_field_then_type_error(self):
        from amazon_netsuite.netsuite.records import custom_fields

        with pytest.raises(TypeError):
            custom_fields({"custbody_fee": 1.1})


class TestMergeAddressbook:
    HOME = Address(country="US", addressee="Ada", addr1="1 Main St", city="Seattle", state="WA", zip="98101")
    WORK = Address(country="US", addressee="Ada", addr1="500 Pine St", city="Seattle", state="WA", zip="98101")

    def _existing(self):
        entry = build_customer(external_id="X", subsidiary_id=2, first_name="A", last_name="L", address=self.HOME)["addressbookList"][0]
        return [dict(entry, internalId="7", addressbookAddress=dict(entry["addressbookAddress"], addrText="Ada\n1 Main St"))]

    def test_given_a_new_address_then_appended_as_default_shipping_and_existing_kept(self):
        from amazon_netsuite.netsuite.records import merge_addressbook

        merged = merge_addressbook(self._existing(), self.WORK)
        assert [e.get("internalId") for e in merged] == ["7", None]
        assert [e["defaultShipping"] for e in merged] == [False, True]
        assert merged[0]["defaultBilling"] is True and "addrText" not in merged[0]["addressbookAddress"]

    def test_given_the_same_address_differently_spelled_then_not_added(self):
        from amazon_netsuite.netsuite.records import merge_addressbook

        same = Address(country="us", addressee=" ada ", addr1="1  MAIN st", city="seattle", state="wa", zip="98101")
        merged = merge_addressbook(self._existing(), same)
        assert len(merged) == 1 and merged[0]["internalId"] == "7" and merged[0]["defaultShipping"] is True

    def test_given_no_address_book_then_one_entry(self):
        from amazon_netsuite.netsuite.records import merge_addressbook

        assert len(merge_addressbook(None, self.HOME)) == 1


def journal(lines, **kwargs):
    return build_journal_entry(
        external_id=journal_entry_external_id(SETTLEMENT_ID), subsidiary_id=2, currency_id=1,
        tran_date=date(2026, 11, 14), lines=lines, **kwargs,
    )


BALANCED = [
    JournalLine(CLEARING, credit=Decimal("100.00"), memo="Order charges"),
    JournalLine(FEES, debit=Decimal("15.00"), department_id=1, class_id=2, location_id=3, entity_id=100),
    JournalLine(BANK, debit=Decimal("85.00")),
]


class TestJournalEntry:
    def test_given_a_settlement_id_then_the_architecture_external_ids(self):
        assert journal_entry_external_id(SETTLEMENT_ID) == "AMZ-JE-12345678901"
        assert journal_entry_external_id(SETTLEMENT_ID, 2) == "AMZ-JE-12345678901-2"

    @pytest.mark.parametrize(("settlement_id", "part"), [("", None), (None, None), ("1", 0), ("1", -1), ("1", True)])
    def test_given_a_missing_id_or_bad_part_then_value_error(self, settlement_id, part):
        with pytest.raises(ValueError):
            journal_entry_external_id(settlement_id, part)

    def test_given_balanced_lines_then_a_journal_entry_with_numbered_lines_and_refs(self):
        record = journal(BALANCED, memo="Settlement 1", posting_period_id=23, custom_field_values={"custbody_s": "1"})

        assert record["externalId"] == "AMZ-JE-12345678901"
        assert record["subsidiary"] == {"internalId": "2"} and record["currency"] == {"internalId": "1"}
        assert record["postingPeriod"] == {"internalId": "23"} and record["memo"] == "Settlement 1"
        assert record["tranDate"] == date(2026, 11, 14)
        assert record["customFieldList"] == [{"scriptId": "custbody_s", "value": "1"}]
        assert record["lineList"] == [
            {"line": 1, "account": {"internalId": "1210"}, "credit": Decimal("100.00"), "memo": "Order charges"},
            {
                "line": 2, "account": {"internalId": "6110"}, "debit": Decimal("15.00"), "entity": {"internalId": "100"},
                "department": {"internalId": "1"}, "class": {"internalId": "2"}, "location": {"internalId": "3"},
            },
            {"line": 3, "account": {"internalId": "1010"}, "debit": Decimal("85.00")},
        ]

    def test_given_unbalanced_lines_then_value_error_naming_the_entry_and_the_difference(self):
        lines = [*BALANCED[:2], JournalLine(BANK, debit=Decimal("84.99"))]
        with pytest.raises(ValueError, match=r"'AMZ-JE-12345678901' does not balance: debits 99.99 - credits 100.00 = -0.01"):
            journal(lines)

    def test_given_a_float_amount_then_type_error(self):
        with pytest.raises(TypeError, match="Decimal, not a float"):
            journal([JournalLine(CLEARING, credit=1.1), JournalLine(BANK, debit=Decimal("1.1"))])

    @pytest.mark.parametrize("line", [JournalLine(BANK), JournalLine(BANK, debit=Decimal(1), credit=Decimal(1))])
    def test_given_a_line_with_both_or_neither_amount_then_value_error(self, line):
        with pytest.raises(ValueError, match="line 2 .*give exactly one of them"):
            journal([BALANCED[0], line])

    def test_given_1000_lines_then_built_and_1001_refused(self):
        lines = [JournalLine(FEES, debit=Decimal("0.01")) for _ in range(MAX_JOURNAL_LINES - 1)]
        record = journal([*lines, JournalLine(CLEARING, credit=Decimal("9.99"))])
        assert len(record["lineList"]) == 1000 and record["lineList"][-1]["line"] == 1000
        with pytest.raises(ValueError, match="1001 lines; NetSuite takes at most 1000"):
            journal([*lines, JournalLine(CLEARING, credit=Decimal("9.99")), JournalLine(FEES, debit=Decimal(0))])

    def test_given_no_lines_then_value_error(self):
        with pytest.raises(ValueError, match="has no lines"):
            journal([])

    def test_given_signed_amounts_then_positive_debits_and_negative_credits(self):
        assert JournalLine.for_amount(FEES, Decimal("-2.50"), memo="x") == JournalLine(FEES, credit=Decimal("2.50"), memo="x")
        assert JournalLine.for_amount(FEES, "3") == JournalLine(FEES, debit=Decimal(3))
        with pytest.raises(TypeError):
            JournalLine.for_amount(FEES, 1.5)
