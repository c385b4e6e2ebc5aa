from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.records import (
    DOCUMENT_PREFIXES,
    FIELD_LIMITS,
    MAX_JOURNAL_LINES,
    Address,
    BillingLine,
    FieldTooLongError,
    JournalLine,
    RecordFieldError,
    SalesOrderLine,
    UnknownCountryError,
    build_billing_document,
    build_customer,
    build_journal_entry,
    build_refund_document,
    build_sales_order,
    cash_refund_external_id,
    cash_sale_external_id,
    clean_text,
    country_code,
    credit_memo_external_id,
    customer_entity_id,
    customer_external_id,
    document_external_id,
    document_head,
    document_type_of,
    inventory_adjustment_external_id,
    invoice_external_id,
    item_fulfillment_external_id,
    journal_entry_external_id,
    money,
    ref,
    return_authorization_external_id,
    sales_order_external_id,
    transfer_order_external_id,
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

    def test_given_a_too_long_id_then_a_field_error_naming_the_field_and_limit(self):
        with pytest.raises(FieldTooLongError, match="externalId is 307 characters; NetSuite takes at most 255") as info:
            sales_order_external_id("9" * 300)
        assert isinstance(info.value, ValueError) and info.value.field == "externalId" and info.value.limit == 255

    def test_given_a_control_character_in_a_source_key_then_refused_not_altered(self):
        with pytest.raises(RecordFieldError, match="control characters"):
            sales_order_external_id("113-0000000-000\x00001")


class TestDocumentPrefixes:
    def test_given_every_document_type_then_one_distinct_prefix_none_a_prefix_of_another(self):
        prefixes = list(DOCUMENT_PREFIXES.values())
        assert set(DOCUMENT_PREFIXES) == {
            "salesOrder", "cashSale", "invoice", "itemFulfillment", "returnAuthorization", "creditMemo",
            "cashRefund", "journalEntry", "inventoryAdjustment", "transferOrder", "customer", "itemReceipt",
        }
        assert len(set(prefixes)) == len(prefixes)
        assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]

    def test_given_one_amazon_order_then_its_documents_never_share_an_external_id(self):
        ids = [
            sales_order_external_id(ORDER_ID), cash_sale_external_id(ORDER_ID), invoice_external_id(ORDER_ID),
            item_fulfillment_external_id(ORDER_ID, "S1"), return_authorization_external_id(ORDER_ID, "R1"),
            credit_memo_external_id(ORDER_ID, "F1"), cash_refund_external_id(ORDER_ID, "F1"),
        ]
        assert ids[:3] == [f"AMZ-SO-{ORDER_ID}", f"AMZ-CS-{ORDER_ID}", f"AMZ-INV-{ORDER_ID}"]
        assert len({i.lower() for i in ids}) == len(ids)  # NetSuite compares them ignoring case
        assert [document_type_of(i) for i in ids] == [
            "salesOrder", "cashSale", "invoice", "itemFulfillment", "returnAuthorization", "creditMemo", "cashRefund",
        ]
        assert inventory_adjustment_external_id("R1") == "AMZ-IA-R1" and transfer_order_external_id("FBA1") == "AMZ-TO-FBA1"
        assert document_type_of("SOMETHING-ELSE") is None

    def test_given_an_unknown_record_type_then_value_error(self):
        with pytest.raises(ValueError, match="DOCUMENT_PREFIXES"):
            document_external_id("vendorBill", "1")


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

    def test_given_an_unknown_country_then_a_value_error_subclass_the_transform_can_dead_letter(self):
        with pytest.raises(UnknownCountryError, match="'ZZ'") as info:
            Address(country="ZZ").to_record(record="AMZ-CU-1")
        assert isinstance(info.value, ValueError) and info.value.field == "country" and "AMZ-CU-1" in str(info.value)

    @pytest.mark.parametrize(("iso", "value"), [
        ("us", "_unitedStates"), ("GB", "_unitedKingdom"), ("UK", "_unitedKingdom"), ("AX", "_alandIslands"),
        ("CI", "_coteDIvoire"), ("XK", "_kosovo"), ("IC", "_canaryIslands"), ("TR", "_turkiye"), ("LC", "_saintLucia"),
    ])
    def test_given_iso_codes_then_netsuite_country_values(self, iso, value):
        assert country_code(iso) == value

    def test_given_the_wsdl_then_every_country_value_has_an_iso_code(self, reference_dir):
        import re

        from amazon_netsuite.netsuite.countries import COUNTRIES

        xsd = (reference_dir / "netsuite-wsdl-2023_2" / "xsd" / "platform.commonTypes.xsd").read_text()
        block = xsd[xsd.index('<simpleType name="Country">'):]
        block = block[: block.index("</simpleType>")]
        assert sorted(COUNTRIES.values()) == sorted(re.findall(r'value="(_[^"]+)"', block))


class TestCustomerNames:
    def test_given_two_buyers_with_the_same_name_then_distinct_stable_entity_ids(self):
        first = build_customer(external_id=customer_external_id(MARKETPLACE, "a@x"), subsidiary_id=2, first_name="John", last_name="Smith")
        second = build_customer(external_id=customer_external_id(MARKETPLACE, "b@x"), subsidiary_id=2, first_name="John", last_name="Smith")
        again = build_customer(external_id=customer_external_id(MARKETPLACE, "a@x"), subsidiary_id=2, first_name="John", last_name="Smith")

        assert first["entityId"] != second["entityId"] and first["entityId"] == again["entityId"]
        assert first["entityId"].startswith("John Smith (") and len(first["entityId"]) == len("John Smith (ABCDEF)")

    def test_given_a_very_long_company_name_then_the_entity_id_keeps_its_suffix_within_83(self):
        record = build_customer(external_id="AMZ-CU-X", subsidiary_id=2, company_name="Q" * 200)
        assert len(record["entityId"]) == FIELD_LIMITS["entityId"] == 83
        assert record["entityId"].endswith(")") and len(record["companyName"]) == 83

    def test_given_auto_numbering_then_no_entity_id_is_sent(self):
        record = build_customer(external_id="AMZ-CU-X", subsidiary_id=2, first_name="A", last_name="B", auto_numbering=True)
        assert "entityId" not in record

    def test_given_the_same_name_then_entity_id_suffix_depends_only_on_the_external_id(self):
        assert customer_entity_id("A B", "X") == customer_entity_id("A B", "X") != customer_entity_id("A B", "Y")


class TestFieldLimitsAndControlCharacters:
    LONG = "x" * 300

    def test_given_overlong_address_lines_and_names_then_cut_to_netsuites_limits(self):
        record = build_customer(
            external_id="AMZ-CU-1", subsidiary_id=2, first_name=self.LONG, last_name=self.LONG,
            address=Address(country="US", addressee=self.LONG, attention=self.LONG, addr1=self.LONG, addr2=self.LONG, addr3=self.LONG),
        )
        address = record["addressbookList"][0]["addressbookAddress"]
        assert {k: len(address[k]) for k in ("addressee", "attention", "addr1", "addr2", "addr3")} == {
            "addressee": 83, "attention": 83, "addr1": 150, "addr2": 150, "addr3": 150,
        }
        assert len(record["firstName"]) == len(record["lastName"]) == 32

    @pytest.mark.parametrize(("field", "kwargs"), [
        ("email", {"email": "a" * 250 + "@x.com"}),
        ("phone", {"phone": "1" * 40}),
        ("city", {"address": Address(country="US", city="c" * 51)}),
        ("state", {"address": Address(country="US", state="s" * 31)}),
        ("zip", {"address": Address(country="US", zip="9" * 37)}),
    ])
    def test_given_a_field_that_cannot_be_cut_harmlessly_then_field_too_long_naming_field_and_limit(self, field, kwargs):
        with pytest.raises(FieldTooLongError) as info:
            build_customer(external_id="AMZ-CU-1", subsidiary_id=2, company_name="Acme", **kwargs)
        assert info.value.field == field and info.value.limit == FIELD_LIMITS[field]
        assert "AMZ-CU-1" in str(info.value) and isinstance(info.value, ValueError)
        assert "aaaa" not in str(info.value) and "1111" not in str(info.value)  # the value (PII) is never echoed

    def test_given_a_long_memo_then_cut_and_a_long_po_number_then_refused(self):
        lines = [SalesOrderLine(item_id=1, quantity=Decimal(1), rate=Decimal(1))]
        record = build_sales_order(external_id="AMZ-SO-1", customer=ref(1), subsidiary_id=2, currency_id=1,
                                   tran_date=date(2024, 1, 1), lines=lines, memo="m" * 2000)
        assert len(record["memo"]) == 999
        with pytest.raises(FieldTooLongError, match="otherRefNum"):
            build_sales_order(external_id="AMZ-SO-1", customer=ref(1), subsidiary_id=2, currency_id=1,
                              tran_date=date(2024, 1, 1), lines=lines, other_ref_num="P" * 46)

    def test_given_control_characters_then_stripped_from_every_text_field(self):
        record = build_customer(
            external_id="AMZ-CU-1", subsidiary_id=2, first_name="Jo\x00hn", last_name="Sm\x1fith\x85",
            email=" a\x00@x.com ",
            address=Address(country="US", addressee="Jane\nDoe", addr1="1 Main\tSt\x7f", city="Seattle\x0b"),
            custom_field_values={"custentity_note": "line1\nline2\x00"},
        )
        address = record["addressbookList"][0]["addressbookAddress"]
        assert (record["firstName"], record["lastName"], record["email"]) == ("John", "Smith", "a@x.com")
        assert (address["addressee"], address["addr1"], address["city"]) == ("Jane Doe", "1 Main St", "Seattle")
        assert record["customFieldList"][0]["value"] == "line1\nline2"  # multi-line text keeps its line breaks

    def test_given_a_multiline_memo_then_line_breaks_kept_and_nul_removed(self):
        assert clean_text("a\r\nb\tc\x00", multiline=True) == "a\r\nb\tc"
        assert clean_text("a\r\nb\tc\x00") == "a b c"
        assert clean_text("\ud800x\ufffe") == "x"

    def test_given_a_name_of_only_control_characters_then_a_field_error_not_an_empty_name(self):
        with pytest.raises(RecordFieldError, match="last name"):
            build_customer(external_id="AMZ-CU-1", subsidiary_id=2, first_name="A", last_name="\x00\x01")


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


def test_given_a_shipment_then_its_fulfillment_and_billing_external_ids_and_records_follow_netsuite():
    from decimal import Decimal

    from amazon_netsuite.netsuite.records import (
        BillingLine,
        FulfillmentLine,
        build_billing_document,
        build_item_fulfillment,
        shipment_billing_external_id,
        shipment_fulfillment_external_id,
    )

    assert shipment_fulfillment_external_id("DkYwqDhkH") == "AMZ-IF-DkYwqDhkH"
    assert shipment_billing_external_id("cash_sale", "DkYwqDhkH") == "AMZ-CS-DkYwqDhkH"
    assert shipment_billing_external_id("invoice", "DkYwqDhkH") == "AMZ-INV-DkYwqDhkH"
    with pytest.raises(ValueError, match="billing_document"):
        shipment_billing_external_id("cashsale", "D1")
    record = build_item_fulfillment(external_id="AMZ-IF-D1", sales_order_id="77", ship_date=date(2026, 11, 20),
                                    lines=[FulfillmentLine(1, Decimal(2), "2")], tracking_numbers=["1Z9", "1Z9", ""],
                                    carrier="UPS\x00")
    assert record["createdFrom"] == {"internalId": "77"} and record["shipStatus"] == "_shipped"
    assert record["itemList"] == [{"orderLine": 1, "quantity": Decimal(2), "itemReceive": True, "location": {"internalId": "2"}}]
    assert record["packageList"] == [{"packageTrackingNumber": "1Z9", "packageDescr": "UPS"}]  # cleaned, once
    with pytest.raises(ValueError):
        build_item_fulfillment(external_id="AMZ-IF-D2", sales_order_id="77", ship_date=date(2026, 11, 20),
                               lines=[FulfillmentLine(1, Decimal(0))])
    invoice = build_billing_document(record_type="invoice", external_id="AMZ-INV-D1", sales_order_id="77", account_id="1212",
                                     tran_date=date(2026, 11, 20),
                                     lines=[BillingLine("501", Decimal(3), Decimal("10.00"), order_line=1, tax_code_id="31")])
    assert invoice["account"] == {"internalId": "1212"} and "undepFunds" not in invoice
    assert invoice["itemList"][0]["rate"] == Decimal("3.3333") and invoice["itemList"][0]["amount"] == Decimal("10.00")
    with pytest.raises(ValueError):
        build_billing_document(record_type="salesOrder", external_id="X", sales_order_id="77", account_id="1",
                               tran_date=date(2026, 11, 20), lines=[BillingLine("501", Decimal(1), Decimal(1))])



HEAD_DAY = date(2026, 11, 20)
HEAD_LINES = (BillingLine("501", Decimal(3), Decimal("10.00"), order_line=1, tax_code_id="31"),)


class TestDocumentHead:
    """document_head: the fields a billing document and a refund document share, built in one place."""

    def test_given_charges_then_the_head_carries_them_with_their_tax_codes(self):
        head = document_head(record_type="cashSale", external_id="AMZ-CS-D1", created_from="77", account_id="1212",
                             tran_date=HEAD_DAY, lines=HEAD_LINES, shipping_cost=Decimal("4.5"), shipping_tax_code_id="31",
                             handling_cost=Decimal("1.00"))
        assert head == {
            "externalId": "AMZ-CS-D1", "createdFrom": {"internalId": "77"}, "account": {"internalId": "1212"},
            "tranDate": HEAD_DAY, "itemList": [HEAD_LINES[0].to_record()],
            "shippingCost": Decimal("4.50"), "shippingTaxCode": {"internalId": "31"}, "handlingCost": Decimal("1.00"),
        }

    def test_given_zero_charges_then_they_are_left_out(self):
        head = document_head(record_type="creditMemo", external_id="AMZ-CM-1", created_from=9, account_id=1,
                             tran_date=HEAD_DAY, lines=HEAD_LINES, shipping_cost=Decimal(0), shipping_tax_code_id="31")
        assert not {"shippingCost", "shippingTaxCode", "handlingCost", "handlingTaxCode"} & set(head)

    def test_given_no_lines_then_it_names_the_record(self):
        with pytest.raises(ValueError, match="cashRefund 'AMZ-CR-1' has no lines"):
            document_head(record_type="cashRefund", external_id="AMZ-CR-1", created_from=9, account_id=1,
                          tran_date=HEAD_DAY, lines=())

    def test_given_an_overlong_external_id_then_it_is_refused(self):
        with pytest.raises(FieldTooLongError):
            document_head(record_type="invoice", external_id="X" * 256, created_from=9, account_id=1,
                          tran_date=HEAD_DAY, lines=HEAD_LINES)

    def test_billing_and_refund_documents_share_the_head(self):
        charges = {"shipping_cost": Decimal("4.99"), "shipping_tax_code_id": "31", "handling_cost": Decimal("2"),
                   "handling_tax_code_id": "32", "tran_date": HEAD_DAY, "lines": HEAD_LINES, "account_id": "1212"}
        sale = build_billing_document(record_type="cashSale", external_id="AMZ-CS-D1", sales_order_id="77", **charges)
        refund = build_refund_document(record_type="cashRefund", external_id="AMZ-CR-D1", return_authorization_id="88",
                                       **charges)
        for document, external_id, source in ((sale, "AMZ-CS-D1", "77"), (refund, "AMZ-CR-D1", "88")):
            head = document_head(record_type="x", external_id=external_id, created_from=source, **charges)
            assert {key: document[key] for key in head} == head
        assert sale["undepFunds"] is False and "undepFunds" not in refund
