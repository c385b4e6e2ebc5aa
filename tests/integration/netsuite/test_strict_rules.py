"""The emulator refuses what NetSuite refuses (record groups, names, tax, subsidiaries, periods, field
limits, control characters, authentication), through the real netsuitesdk/zeep client and the hook."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from amazon_netsuite.netsuite.errors import NetSuiteAuthError, NetSuiteBatchError
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.netsuite.records import (
    Address,
    JournalLine,
    SalesOrderLine,
    build_customer,
    build_journal_entry,
    build_sales_order,
    customer_external_id,
    ref,
)

US, CA, UK, DE = 2, 3, 4, 5
USD, GBP, EUR = 1, 3, 4
US_WAREHOUSE, UK_WAREHOUSE, DE_WAREHOUSE = 1, 7, 10
MUG = 501
US_NOT_TAXABLE, US_IL = 11, 51
GB_STANDARD, DE_STANDARD = 31, 41
FACILITATOR_US, FACILITATOR_UK, TAX_ROUNDING = 601, 603, 611
GENERIC_CUSTOMER = {US: 100, UK: 101, DE: 102, CA: 103}
LOCATION = {US: US_WAREHOUSE, UK: UK_WAREHOUSE, DE: DE_WAREHOUSE}
CURRENCY = {US: USD, UK: GBP, DE: EUR}
NOV_2026 = date(2026, 11, 14)  # period 23, open


def order(external_id: str, subsidiary: int = US, *, lines: list[SalesOrderLine] | None = None, **kwargs) -> dict:
    return build_sales_order(
        external_id=external_id, customer=ref(GENERIC_CUSTOMER[subsidiary]), subsidiary_id=subsidiary,
        currency_id=CURRENCY[subsidiary], tran_date=date(2026, 11, 2), location_id=LOCATION[subsidiary],
        lines=lines or [SalesOrderLine(item_id=MUG, quantity=Decimal(1), rate=Decimal("10.00"), tax_code_id=US_NOT_TAXABLE)],
        **kwargs,
    )


def line(amount: str, tax_code: int | None = None, item: int = MUG, **kwargs) -> SalesOrderLine:
    return SalesOrderLine(item_id=item, quantity=Decimal(1), rate=Decimal(amount), tax_code_id=tax_code, **kwargs)


def journal(external_id: str, subsidiary: int = US, tran_date: date = NOV_2026) -> dict:
    accounts = {US: (1210, 1010, USD), UK: (1212, 1012, GBP)}
    clearing, bank, currency = accounts[subsidiary]
    return build_journal_entry(
        external_id=external_id, subsidiary_id=subsidiary, currency_id=currency, tran_date=tran_date,
        lines=[JournalLine(clearing, credit=Decimal("10.00")), JournalLine(bank, debit=Decimal("10.00"))],
    )


def stored(admin, record_type: str) -> dict[str, dict]:
    return {r.get("externalId"): r for r in admin.get(f"/_sandbox/records/{record_type}").json()}


class TestExternalIdsPerRecordGroup:
    def test_given_a_sales_order_when_a_journal_entry_takes_its_external_id_then_dup_rcrd_and_the_order_untouched(
        self, hook, admin
    ):
        assert hook.upsert_records("salesOrder", [order("AMZ-SHARED-1", memo="the order")])[0].ok

        [journal_result] = hook.upsert_records("journalEntry", [journal("AMZ-SHARED-1")])
        [added] = hook.add_records("journalEntry", [journal("AMZ-SHARED-1")])

        assert (journal_result.error_code, journal_result.error_message) == ("DUP_RCRD", "This record already exists")
        assert added.error_code == "DUP_RCRD"
        assert stored(admin, "salesOrder")["AMZ-SHARED-1"]["memo"] == "the order"
        assert "AMZ-SHARED-1" not in stored(admin, "journalEntry")

    def test_given_an_external_id_when_a_case_variant_is_added_then_dup_rcrd(self, hook, admin):
        first = hook.add_records("salesOrder", [order("AMZ-SO-CASE-1")])[0]
        [variant] = hook.add_records("salesOrder", [order("amz-so-case-1")])
        [other_type] = hook.upsert_records("journalEntry", [journal("Amz-So-Case-1")])

        assert first.ok and variant.error_code == "DUP_RCRD" and other_type.error_code == "DUP_RCRD"
        assert [k for k in stored(admin, "salesOrder") if k.lower() == "amz-so-case-1"] == ["AMZ-SO-CASE-1"]

    def test_given_a_case_variant_when_upserted_as_the_same_type_then_the_record_is_updated_not_duplicated(
        self, hook, admin
    ):
        first = hook.upsert_records("salesOrder", [order("AMZ-SO-CASE-2")])[0]
        again = hook.upsert_records("salesOrder", [order("amz-so-case-2", memo="updated")])[0]

        assert again.internal_id == first.internal_id
        record = hook.get_record("salesOrder", external_id="AMZ-so-CASE-2")
        assert record["memo"] == "updated" and record["externalId"] == "AMZ-SO-CASE-2"

    def test_given_an_entity_and_a_transaction_then_the_same_external_id_is_allowed(self, hook):
        customer = build_customer(external_id="AMZ-GROUPS-1", subsidiary_id=US, company_name="Groups Inc")
        assert hook.upsert_records("customer", [customer])[0].ok
        assert hook.upsert_records("salesOrder", [order("AMZ-GROUPS-1")])[0].ok


class TestCustomerNames:
    @staticmethod
    def john_smith(external_id: str) -> dict:
        return {"externalId": external_id, "isPerson": True, "firstName": "John", "lastName": "Smith",
                "subsidiary": {"internalId": "2"}}

    def test_given_no_auto_numbering_when_two_customers_share_a_name_then_the_second_is_refused(self, hook):
        results = hook.upsert_records("customer", [self.john_smith("JS-1"), self.john_smith("JS-2")])

        assert results[0].ok
        assert results[1].error_code == "UNIQUE_CUST_ID_REQD" and results[1].duplicate_name
        assert results[1].error_message.startswith("A customer record with this ID already exists.")
        # the same customer upserted again is not its own duplicate
        assert hook.upsert_records("customer", [self.john_smith("JS-1")])[0].ok

    def test_given_auto_numbering_when_two_customers_share_a_name_then_both_are_numbered(self, hook, admin, set_connection):
        admin.post("/_sandbox/config", json={"customer_auto_numbering": True}).raise_for_status()
        set_connection(customer_auto_numbering=True)
        numbering = NetSuiteHook(max_attempts=2)
        assert numbering.customer_auto_numbering is True
        customers = [
            build_customer(external_id=f"JS-A{n}", subsidiary_id=US, first_name="John", last_name="Smith",
                           auto_numbering=numbering.customer_auto_numbering)
            for n in (1, 2)
        ]

        results = numbering.upsert_records("customer", customers)

        assert all(r.ok for r in results), [r.describe() for r in results]
        names = [stored(admin, "customer")[f"JS-A{n}"]["entityId"] for n in (1, 2)]
        assert names[0] != names[1] and all(name.startswith("CUST") for name in names)

    def test_given_the_builder_when_two_john_smiths_buy_then_both_get_customers(self, hook, admin):
        assert hook.customer_auto_numbering is False
        customers = [
            build_customer(external_id=customer_external_id("ATVPDKIKX0DER", email), subsidiary_id=US,
                           first_name="John", last_name="Smith", auto_numbering=hook.customer_auto_numbering)
            for email in ("john1@marketplace.amazon.com", "john2@marketplace.amazon.com")
        ]

        results = hook.upsert_records("customer", customers)

        assert all(r.ok for r in results), [r.describe() for r in results]
        names = [stored(admin, "customer")[c["externalId"]]["entityId"] for c in customers]
        assert len(set(names)) == 2 and all(n.startswith("John Smith (") for n in names)


class TestTax:
    def test_given_tax_codes_then_netsuite_computes_each_line_and_ignores_the_client_tax(self, hook):
        so = order("AMZ-TAX-1", UK, lines=[
            line("10.01", GB_STANDARD, tax_amount=Decimal("5.00")),  # 2.002 -> 2.00, the 5.00 sent is ignored
            line("0.05", GB_STANDARD),  # 0.01 (half-up)
        ], shipping_cost=Decimal("3.99"), shipping_tax_code_id=GB_STANDARD, handling_cost=Decimal("1.00"),
            handling_tax_code_id=GB_STANDARD)
        result = hook.upsert_records("salesOrder", [so])[0]
        assert result.ok, result.describe()

        record = hook.get_record("salesOrder", internal_id=result.internal_id)

        assert [(x["taxRate1"], x["tax1Amt"]) for x in record["itemList"]] == [
            (Decimal("20"), Decimal("2")), (Decimal("20"), Decimal("0.01"))
        ]
        # lines 2.00 + 0.01, shipping 0.80 (0.798), handling 0.20
        assert record["taxTotal"] == Decimal("3.01")
        assert record["total"] == Decimal("10.06") + Decimal("3.01") + Decimal("3.99") + Decimal("1.00")

    def test_given_an_account_allowing_tax_overrides_then_the_client_tax_is_kept(self, hook, admin):
        admin.post("/_sandbox/config", json={"tax_override": True}).raise_for_status()
        so = order("AMZ-TAX-2", UK, lines=[line("10.01", GB_STANDARD, tax_amount=Decimal("2.01"))])

        internal_id = hook.upsert_records("salesOrder", [so])[0].internal_id

        assert hook.get_record("salesOrder", internal_id=internal_id)["taxTotal"] == Decimal("2.01")

    def test_given_a_taxable_line_without_tax_code_in_a_per_line_subsidiary_then_refused(self, hook):
        [result] = hook.upsert_records("salesOrder", [order("AMZ-TAX-3", UK, lines=[line("10.00")])])

        assert (result.error_code, result.error_message) == ("USER_ERROR", "Please enter value(s) for: Tax Code")
        assert result.tax_code_missing

    def test_given_a_non_taxable_facilitator_charge_then_no_tax_code_is_needed(self, hook):
        so = order("AMZ-TAX-4", UK, lines=[
            line("10.00", GB_STANDARD),
            line("2.00", item=FACILITATOR_UK, tax_amount=Decimal("0.40")),  # not taxable: no tax, whatever sent
            line("-0.01", item=TAX_ROUNDING),  # available to UK through includeChildren under subsidiary 1
        ])
        result = hook.upsert_records("salesOrder", [so])[0]
        assert result.ok, result.describe()

        record = hook.get_record("salesOrder", internal_id=result.internal_id)

        assert "tax1Amt" not in record["itemList"][1]
        assert (record["taxTotal"], record["total"]) == (Decimal("2"), Decimal("13.99"))

    def test_given_a_tax_code_of_another_subsidiary_then_invalid_key_or_ref(self, hook):
        [result] = hook.upsert_records("salesOrder", [order("AMZ-TAX-5", UK, lines=[line("10.00", DE_STANDARD)])])

        assert result.error_code == "INVALID_KEY_OR_REF"
        assert result.error_message == "Invalid taxCode reference key 41 for subsidiary 4."

    def test_given_a_header_tax_subsidiary_then_the_tax_items_rate_applies_once_to_the_taxable_lines(self, hook, admin):
        admin.post("/_sandbox/config", json={"tax_modes": {"2": "header"}}).raise_for_status()
        so = order("AMZ-TAX-6", US, tax_item_id=US_IL, lines=[
            line("0.10", is_taxable=True), line("0.10", is_taxable=True), line("0.10", is_taxable=True),
            line("5.00", is_taxable=False),
        ])
        result = hook.upsert_records("salesOrder", [so])[0]
        assert result.ok, result.describe()

        record = hook.get_record("salesOrder", internal_id=result.internal_id)

        # 0.30 x 6.25 % = 0.01875 -> 0.02 once (per line it would be 3 x 0.01)
        assert (record["taxRate"], record["taxTotal"], record["total"]) == (Decimal("6.25"), Decimal("0.02"), Decimal("5.32"))

    def test_given_the_seed_then_the_agreed_tax_codes_and_charge_items_exist(self, admin):
        codes = {c["internalId"]: c for c in admin.get("/_sandbox/records/salesTaxItem").json()}
        assert set(codes) == {str(n) for n in (11, 15, 51, 12, 16, 21, 22, 23, 13, 17, 31, 32, 14, 18, 41, 42)}
        assert (codes["51"]["rate"], codes["51"]["subsidiaryList"][0]["internalId"]) == ("6.25%", "2")
        assert codes["17"]["taxAccount"]["internalId"] == "2312" and codes["41"]["taxAccount"]["internalId"] == "2320"
        charges = {c["internalId"]: c for c in admin.get("/_sandbox/records/otherChargeSaleItem").json()}
        assert set(charges) == {"601", "602", "603", "604", "611", "621", "622", "623", "624"}
        assert charges["623"]["incomeAccount"]["internalId"] == "2320"  # seller tax as Amazon calculated it
        assert charges["611"]["includeChildren"] is True and charges["611"]["incomeAccount"]["internalId"] == "4095"
        accounts = {a["internalId"]: a for a in admin.get("/_sandbox/records/account").json()}
        assert accounts["4095"]["acctName"] == "Tax rounding"


class TestSubsidiaryRestrictions:
    def test_given_an_item_of_another_subsidiary_then_invalid_key_or_ref(self, hook, admin):
        admin.post("/_sandbox/records/inventoryItem", json=[
            {"itemId": "UK only", "externalId": "ITEM-UK", "subsidiaryList": [{"internalId": "4"}], "includeChildren": False},
        ]).raise_for_status()
        uk_item = stored(admin, "inventoryItem")["ITEM-UK"]["internalId"]

        [wrong] = hook.upsert_records("salesOrder", [order("AMZ-SUB-1", US, lines=[line("1.00", US_NOT_TAXABLE, item=int(uk_item))])])
        [charge] = hook.upsert_records("salesOrder", [order("AMZ-SUB-2", UK, lines=[line("1.00", item=FACILITATOR_US)])])

        assert (wrong.error_code, wrong.error_message) == ("INVALID_KEY_OR_REF", f"Invalid item reference key {uk_item} for subsidiary 2.")
        assert (charge.error_code, charge.error_message) == ("INVALID_KEY_OR_REF", "Invalid item reference key 601 for subsidiary 4.")

    def test_given_a_location_of_another_subsidiary_then_invalid_key_or_ref(self, hook):
        header = order("AMZ-SUB-3", US)
        header["location"] = ref(UK_WAREHOUSE)
        on_line = order("AMZ-SUB-4", US, lines=[line("1.00", US_NOT_TAXABLE, location_id=UK_WAREHOUSE)])

        results = hook.upsert_records("salesOrder", [header, on_line])

        assert [(r.error_code, r.error_message) for r in results] == [
            ("INVALID_KEY_OR_REF", "Invalid location reference key 7 for subsidiary 2."),
        ] * 2


class TestPeriodsPerSubsidiary:
    def test_given_a_period_locked_for_one_subsidiary_then_its_postings_fail_and_the_others_post(self, hook, admin):
        admin.post("/_sandbox/config", json={"period_locks": {"23": ["4"]}}).raise_for_status()

        uk, us = hook.upsert_records("journalEntry", [journal("AMZ-JE-LOCK-UK", UK), journal("AMZ-JE-LOCK-US", US)])

        assert uk.period_closed and "Nov 2026 is closed for subsidiary 4" in uk.error_message
        assert us.ok

    def test_given_a_subsidiary_on_its_own_fiscal_calendar_then_the_hook_finds_its_period_and_its_close(self, hook, admin):
        admin.post("/_sandbox/records/accountingPeriod", json=[
            {"internalId": "123", "periodName": "Nov 2026 (UK)", "startDate": "2026-11-01T00:00:00+00:00",
             "endDate": "2026-11-30T00:00:00+00:00", "isQuarter": False, "isYear": False, "closed": True,
             "fiscalCalendar": {"internalId": "2"}},
        ]).raise_for_status()
        admin.post("/_sandbox/records/subsidiary", json=[
            {"internalId": "4", "fiscalCalendar": {"internalId": "2"}},
        ]).raise_for_status()

        uk_period = hook.get_accounting_period(NOV_2026, subsidiary_id=UK)
        us_period = hook.get_accounting_period(NOV_2026, subsidiary_id=US)
        default = hook.get_accounting_period(NOV_2026)  # the old call still works: the default calendar
        uk, us = hook.upsert_records("journalEntry", [journal("AMZ-JE-CAL-UK", UK), journal("AMZ-JE-CAL-US", US)])

        assert (uk_period["internalId"], uk_period["closed"]) == ("123", True)
        assert (us_period["internalId"], us_period["closed"]) == ("23", False)
        assert default["internalId"] == "23"
        assert uk.period_closed and "Nov 2026 (UK)" in uk.error_message
        assert us.ok


class TestFieldLimits:
    def test_given_a_field_over_netsuites_limit_then_the_record_is_refused_with_netsuites_wording(self, hook):
        customer = build_customer(external_id="FL-1", subsidiary_id=US, company_name="Acme")
        customer["addressbookList"] = [{"addressbookAddress": {"country": "_unitedStates", "addr1": "x" * 151}}]

        [result] = hook.upsert_records("customer", [customer])

        assert result.error_code == "USER_ERROR" and result.field_too_long
        assert result.error_message == "The field addr1 contained more than the maximum number ( 150 ) of characters allowed."

    def test_given_builder_output_at_the_limits_then_netsuite_takes_it(self, hook):
        long = "y" * 400
        customer = build_customer(
            external_id="FL-2", subsidiary_id=US, first_name=long, last_name=long,
            address=Address(country="US", addressee=long, attention=long, addr1=long, addr2=long, addr3=long),
        )
        so = order("AMZ-SO-FL-2", memo=long * 3)

        assert hook.upsert_records("customer", [customer])[0].ok
        assert hook.upsert_records("salesOrder", [so])[0].ok

    def test_given_the_builders_table_then_it_matches_what_the_emulator_enforces(self):
        from amazon_netsuite.netsuite.records import FIELD_LIMITS as BUILDER_LIMITS
        from sandbox.netsuite.rules import FIELD_LIMITS as NETSUITE_LIMITS

        assert BUILDER_LIMITS == NETSUITE_LIMITS


class TestControlCharacters:
    def _envelope_with_two_customers(self, hook) -> bytes:
        backend = hook.backend
        records = [backend.build_record("customer", build_customer(external_id=f"NUL-{n}", subsidiary_id=US,
                                                                   company_name=f"Buyer NUL{n}")) for n in (1, 2)]
        message = backend.client._client.create_message(backend.client._service_proxy, "addList", record=records)
        return etree.tostring(message, xml_declaration=True, encoding="utf-8")

    @pytest.mark.parametrize(("poison", "expected"), [
        (b"Buyer \x00NUL2", "An invalid XML character (Unicode: 0x0) was found in the element content of the document."),
        (b"Buyer &#0;NUL2", 'Character reference "&#0" is an invalid XML character.'),
    ])
    def test_given_a_nul_in_one_record_then_netsuite_refuses_the_whole_envelope(self, hook, admin, netsuite_server, poison, expected):
        payload = self._envelope_with_two_customers(hook).replace(b"Buyer NUL2", poison)

        response = httpx.post(f"{netsuite_server}/services/NetSuitePort_2023_2", content=payload,
                              headers={"Content-Type": "text/xml"})

        assert response.status_code == 500
        fault = etree.fromstring(response.content).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
        assert fault.findtext("faultcode") == "soapenv:Server.userException"
        assert fault.findtext("faultstring").startswith("org.xml.sax.SAXParseException; lineNumber: ")
        assert fault.findtext("faultstring").endswith(expected)
        assert fault.find("detail") is None  # no platformFaults detail: the request was never read
        assert not {"NUL-1", "NUL-2"} & set(stored(admin, "customer"))  # not even the clean record

    def test_given_a_raw_record_with_a_nul_then_only_that_record_fails_and_the_batch_is_written(self, hook, admin):
        clean = build_customer(external_id="NUL-3", subsidiary_id=US, company_name="Clean buyer")
        dirty = dict(build_customer(external_id="NUL-4", subsidiary_id=US, company_name="Dirty buyer"), companyName="Dir\x00ty")

        results = hook.upsert_records("customer", [clean, dirty])

        assert results[0].ok and results[1].error_code == "INVALID_RECORD" and "companyName" in results[1].error_message
        assert "NUL-3" in stored(admin, "customer")


class TestAuthentication:
    def test_given_an_hmac_sha1_signature_then_invalid_login_attempt_and_no_retry(self, admin, set_connection):
        from amazon_netsuite.netsuite import soap
        from sandbox.netsuite import SANDBOX_CREDENTIALS as C

        set_connection(page_size=11)  # a client of its own: the SHA1 passport must not leak into other tests
        hook = NetSuiteHook(max_attempts=3, backoff_initial=0.01)
        hook.backend.client.connect_tba(consumer_key=C.consumer_key, consumer_secret=C.consumer_secret,
                                        token_key=C.token_id, token_secret=C.token_secret,
                                        signature_algorithm="HMAC-SHA1")
        try:
            with pytest.raises(NetSuiteAuthError) as info:
                hook.get_record("customer", internal_id="100")
        finally:
            soap._CLIENTS.pop(hook.get_settings().fingerprint(), None)

        assert info.value.code == "INVALID_LOGIN_ATTEMPT" and hook.calls["get"] == 1

    @pytest.mark.parametrize("fault", [
        {"fault": "InvalidSessionFault"}, {"fault": "InsufficientPermissionFault"}, {"fault": "InvalidAccountFault"},
        {"status": 401}, {"status": 403},
    ])
    def test_given_any_authentication_failure_then_auth_error_at_once(self, hook, admin, fault):
        admin.post("/_sandbox/faults", json={"operation": "upsertList", "times": 3, **fault}).raise_for_status()

        with pytest.raises(NetSuiteBatchError) as info:
            hook.upsert_records("customer", [build_customer(external_id="AUTH-1", subsidiary_id=US, company_name="A")])

        # a batch error (completed/pending for the flow) that is also an auth error: reason auth_failed
        assert isinstance(info.value, NetSuiteAuthError) and info.value.reason == "auth_failed"
        assert info.value.pending_external_ids == ["AUTH-1"]
        assert hook.calls["upsertList"] == 1  # not retried like a 5xx
