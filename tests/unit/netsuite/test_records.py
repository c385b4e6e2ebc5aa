from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.records import (
    Address,
    SalesOrderLine,
    build_customer,
    build_sales_order,
    customer_external_id,
    money,
    ref,
    sales_order_external_id,
)

ORDER_ID = "113-1234567-1234567"
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
