"""NetSuiteHook through the real netsuitesdk/zeep client against the SuiteTalk SOAP emulator."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthError,
    NetSuiteBatchError,
    NetSuiteMalformedResponseError,
    NetSuiteRequestError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.netsuite.records import (
    Address,
    SalesOrderLine,
    build_customer,
    build_sales_order,
    customer_external_id,
    ref,
    sales_order_external_id,
)
from sandbox.runner import start_servers
from tests.integration.netsuite.conftest import FAST_RETRY

#: the items flagged for Amazon in the demo world (sandbox/netsuite/seed.py CATALOG_ITEMS)
CATALOG_IDS = {"509", "510", "511"}

US_MARKETPLACE = "ATVPDKIKX0DER"
US_SUBSIDIARY, UK_SUBSIDIARY = 2, 4
USD = 1
US_WAREHOUSE = 1
MUG, TEE_M = 501, 502
US_NOT_TAXABLE, US_IL = 11, 51  # tax codes of subsidiary 2 (0 % and 6.25 %)


def company(n: int, *, subsidiary: int = US_SUBSIDIARY, prefix: str = "T") -> dict:
    return build_customer(
        external_id=f"AMZ-CU-{prefix}-{n:05d}", subsidiary_id=subsidiary, company_name=f"Buyer {n}"
    )


def order(order_id: str, *, customer: dict | None = None, lines=None, **kwargs) -> dict:
    return build_sales_order(
        external_id=sales_order_external_id(order_id),
        customer=customer or ref(100),
        subsidiary_id=US_SUBSIDIARY,
        currency_id=USD,
        tran_date=date(2024, 5, 1),
        location_id=US_WAREHOUSE,
        lines=lines or [SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99"), tax_code_id=US_NOT_TAXABLE)],
        **kwargs,
    )


class TestBatching:
    def test_given_250_customers_when_upserted_then_three_upsert_list_calls(self, hook, admin, sandbox_calls):
        results = hook.upsert_records("customer", [company(n) for n in range(250)])

        assert len(results) == 250 and all(r.ok for r in results)
        assert [r.external_id for r in results] == [f"AMZ-CU-T-{n:05d}" for n in range(250)]
        assert sandbox_calls("upsertList") == {"calls": 3, "throttled": 0, "records": 250}
        stored = [c for c in admin.get("/_sandbox/records/customer").json() if c["externalId"].startswith("AMZ-CU-T-")]
        assert len(stored) == 250

    def test_given_some_invalid_records_when_upserted_then_failures_come_back_and_the_rest_is_written(
        self, hook, admin
    ):
        records = [company(1), company(2, subsidiary=999), company(3), order("ORD-1", customer=ref(424242))]
        customers = hook.upsert_records("customer", records[:3])
        orders = hook.upsert_records("salesOrder", records[3:])

        assert [r.ok for r in customers] == [True, False, True]
        failed = customers[1]
        assert failed.external_id == "AMZ-CU-T-00002"
        assert failed.error_code == "INVALID_KEY_OR_REF" and "999" in failed.error_message
        assert orders[0].error_code == "INVALID_KEY_OR_REF" and "entity" in orders[0].error_message
        ids = {c["externalId"] for c in admin.get("/_sandbox/records/customer").json()}
        assert {"AMZ-CU-T-00001", "AMZ-CU-T-00003"} <= ids and "AMZ-CU-T-00002" not in ids

    def test_given_more_than_100_records_in_one_call_then_netsuite_faults(self, hook):
        backend = hook.backend
        with pytest.raises(NetSuiteRequestError) as info:
            backend.write_list("upsertList", "customer", [company(n) for n in range(101)])
        assert info.value.code == "MAX_RCRDS_EXCEEDED"

    def test_given_a_record_without_external_id_when_upserted_then_value_error(self, hook):
        with pytest.raises(ValueError, match="externalId"):
            hook.upsert_records("customer", [{"companyName": "x", "subsidiary": ref(2)}])


class TestIdempotency:
    def test_given_an_upserted_customer_when_upserted_again_then_same_internal_id_and_one_record(self, hook, admin):
        customer = build_customer(
            external_id=customer_external_id(US_MARKETPLACE, "buyer@marketplace.amazon.com"),
            subsidiary_id=US_SUBSIDIARY,
            first_name="Ada",
            last_name="Lovelace",
            address=Address(country="US", addressee="Ada Lovelace", addr1="1 Main St", city="Seattle", state="WA", zip="98101"),
        )
        first = hook.upsert_records("customer", [customer])[0]
        second = hook.upsert_records("customer", [customer])[0]

        assert first.ok and second.internal_id == first.internal_id
        stored = [c for c in admin.get("/_sandbox/records/customer").json() if c["externalId"] == customer["externalId"]]
        assert len(stored) == 1
        assert len(stored[0]["addressbookList"]) == 1  # the address book is replaced, not appended
        record = hook.get_record("customer", external_id=customer["externalId"])
        assert record["addressbookList"][0]["addressbookAddress"]["country"] == "_unitedStates"

    def test_given_an_order_when_upserted_again_then_lines_are_kept_not_duplicated(self, hook):
        so = order("111-0000001-0000001", lines=[
            SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99"), tax_code_id=US_NOT_TAXABLE),
            SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("15.00"), tax_code_id=US_NOT_TAXABLE),
        ])
        first = hook.upsert_records("salesOrder", [so])[0]
        changed = order("111-0000001-0000001", lines=[
            SalesOrderLine(item_id=MUG, quantity=Decimal(3), rate=Decimal("9.99"), tax_code_id=US_NOT_TAXABLE),
            SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("15.00"), tax_code_id=US_NOT_TAXABLE),
        ])
        second = hook.upsert_records("salesOrder", [changed])[0]

        assert second.internal_id == first.internal_id
        record = hook.get_record("salesOrder", internal_id=first.internal_id)
        assert [(line["line"], line["quantity"]) for line in record["itemList"]] == [(1, Decimal(3)), (2, Decimal(1))]
        assert record["total"] == Decimal("44.97")

    def test_given_an_existing_external_id_when_added_then_dup_rcrd_for_that_record_only(self, hook):
        hook.add_records("customer", [company(1)])
        results = hook.add_records("customer", [company(1), company(2)])
        assert results[0].error_code == "DUP_RCRD" and results[0].external_id == "AMZ-CU-T-00001"
        assert results[1].ok

    def test_given_an_unknown_record_when_updated_then_rcrd_dsnt_exist(self, hook):
        result = hook.update_records("customer", [company(77)])[0]
        assert result.error_code == "RCRD_DSNT_EXIST"


class TestSalesOrderRules:
    def test_given_lines_shipping_tax_and_discount_then_netsuite_computes_the_total(self, hook):
        so = order(
            "TOTALS-1",
            lines=[
                SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99"), tax_code_id=US_IL),
                SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("15.00"), tax_code_id=US_IL),
            ],
            shipping_cost=Decimal("4.99"),
            shipping_tax_code_id=US_IL,
        )
        so["discountRate"] = "-2.00"
        result = hook.upsert_records("salesOrder", [so])[0]
        assert result.ok, result.describe()
        record = hook.get_record("salesOrder", internal_id=result.internal_id)
        # tax per line at 6.25 %, half-up: 19.98 -> 1.25 (1.24875), 15.00 -> 0.94 (0.9375), shipping 4.99 -> 0.31
        assert [line["tax1Amt"] for line in record["itemList"]] == [Decimal("1.25"), Decimal("0.94")]
        assert record["shippingTax1Rate"] == Decimal("6.25")
        # 19.98 + 15.00 - 2.00 + (1.25 + 0.94 + 0.31) + 4.99
        assert (record["subTotal"], record["taxTotal"], record["total"]) == (
            Decimal("34.98"), Decimal("2.5"), Decimal("40.47")
        )
        assert record["status"] == "Pending Fulfillment" and record["tranId"].startswith("SO")

    def test_given_a_customer_of_another_subsidiary_then_the_order_fails(self, hook):
        result = hook.upsert_records("salesOrder", [order("SUB-1", customer=ref(101))])[0]
        assert result.error_code == "USER_ERROR" and "subsidiary" in result.error_message

    def test_given_an_unknown_item_then_invalid_key_or_ref(self, hook):
        so = order("ITEM-1", lines=[SalesOrderLine(item_id=999999, quantity=Decimal(1), rate=Decimal(1), tax_code_id=US_NOT_TAXABLE)])
        result = hook.upsert_records("salesOrder", [so])[0]
        assert result.error_code == "INVALID_KEY_OR_REF" and "item" in result.error_message


class TestReads:
    def test_given_ids_when_get_records_then_found_ones_are_returned(self, hook):
        found = hook.get_records("inventoryItem", ["501", "502", "999999"])
        assert set(found) == {"501", "502"}
        assert found["501"]["itemId"] == "Mug 11oz"
        assert hook.get_record("customer", internal_id="999999") is None
        by_external = hook.get_records("customer", ["AMZ-GENERIC-100"], by="externalId")
        assert by_external["AMZ-GENERIC-100"]["internalId"] == "100"

    def test_given_many_modified_records_when_searched_then_pages_come_through_search_more_with_id(
        self, hook, admin, set_connection, sandbox_calls
    ):
        set_connection(page_size=10)
        paged = NetSuiteHook(max_attempts=3, backoff_initial=0.01)
        time.sleep(0.01)  # the seed was written just before
        since = datetime.now(UTC)
        paged.upsert_records("customer", [company(n) for n in range(35)])

        found = list(paged.search_modified_since("customer", since))

        assert sorted(r["externalId"] for r in found) == [f"AMZ-CU-T-{n:05d}" for n in range(35)]
        assert sandbox_calls("search")["calls"] == 1
        assert sandbox_calls("searchMoreWithId")["calls"] == 3
        assert list(paged.search_modified_since("customer", since, until=since)) == []

    def test_given_external_ids_when_searched_then_those_records(self, hook):
        hook.upsert_records("salesOrder", [order("S-1"), order("S-2")])
        found = hook.search_by_external_ids("salesOrder", ["AMZ-SO-S-1", "AMZ-SO-S-2", "AMZ-SO-nope"])
        assert sorted(r["externalId"] for r in found) == ["AMZ-SO-S-1", "AMZ-SO-S-2"]
        assert "itemList" not in found[0]  # searches return body fields only

    def test_given_items_when_availability_requested_then_per_location_quantities(self, hook):
        rows = hook.item_availability(["506"])
        assert {r.location_id for r in rows} == {"7", "8", "9"}
        assert all(r.quantity_available == r.quantity_on_hand - r.quantity_committed for r in rows)
        assert all(isinstance(r.quantity_available, Decimal) for r in rows)

    def test_given_an_order_when_availability_since_then_only_the_changed_row_and_stock_is_committed(self, hook):
        before = {r.location_id: r for r in hook.item_availability([str(MUG)])}
        since = datetime.now(UTC)
        time.sleep(0.01)
        hook.upsert_records("salesOrder", [order("AV-1")])

        changed = hook.item_availability([str(MUG), str(TEE_M)], since=since)

        assert [(r.item_id, r.location_id) for r in changed] == [(str(MUG), str(US_WAREHOUSE))]
        assert changed[0].quantity_committed == before["1"].quantity_committed + 2
        assert changed[0].quantity_available == before["1"].quantity_available - 2



class TestMalformedListReads:
    """A ``getList``/``initializeList`` answering fewer or more ``readResponse`` than refs asked must fail,
    never drop records: a caller reading "absent" as "not in NetSuite" would create a duplicate."""

    def _malform(self, admin, operation, how, times):
        admin.post("/_sandbox/faults", json={"operation": operation, "malformed": how, "times": times}).raise_for_status()

    def test_given_a_get_list_short_of_one_response_then_retried_and_every_record_comes_back(self, hook, admin):
        self._malform(admin, "getList", "missing_response", 1)

        found = hook.get_records("inventoryItem", ["501", "502", "503"])

        assert set(found) == {"501", "502", "503"}
        assert hook.calls["getList"] == 2

    @pytest.mark.parametrize("how", ["missing_response", "extra_response"])
    def test_given_get_list_answers_that_never_match_the_refs_then_malformed_not_absent(self, hook, admin, how):
        self._malform(admin, "getList", how, 50)

        with pytest.raises(NetSuiteMalformedResponseError, match="getList answered [24] responses for 3 records") as error:
            hook.get_records("inventoryItem", ["501", "502", "503"])

        assert error.value.code == "MALFORMED_RESPONSE"
        assert hook.calls["getList"] == FAST_RETRY["max_attempts"]

    @pytest.mark.parametrize("how", ["missing_response", "extra_response"])
    def test_given_initialize_list_answers_that_never_match_the_refs_then_malformed(self, hook, admin, how):
        [saved] = hook.upsert_records("salesOrder", [order("IL-1")])
        self._malform(admin, "initializeList", how, 50)

        with pytest.raises(NetSuiteMalformedResponseError, match="initializeList answered [02] responses for 1 records"):
            hook.initialize_records("itemFulfillment", "salesOrder", [saved.internal_id])

        assert hook.calls["initializeList"] == FAST_RETRY["max_attempts"]

    def test_given_a_list_read_malformation_on_a_search_then_refused(self, admin):
        response = admin.post("/_sandbox/faults", json={"operation": "search", "malformed": "missing_response"})

        assert response.status_code == 422 and "missing_response on getList or initializeList" in response.text


class TestGovernance:
    def test_given_a_concurrency_limit_when_threads_upsert_then_faults_are_retried_and_each_record_written_once(
        self, hook, admin, sandbox_calls
    ):
        admin.post("/_sandbox/config", json={"concurrency_limit": 2, "latency_ms": 40}).raise_for_status()
        results: dict[int, list] = {}
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                worker_hook = NetSuiteHook(max_attempts=30, backoff_initial=0.02, backoff_max=0.2)
                batch = [company(n * 100 + i, prefix="C") for i in range(10)]
                results[n] = [worker_hook.upsert_records("customer", batch[i : i + 5]) for i in (0, 5)]
            except BaseException as exc:  # pragma: no cover - surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert not errors
        assert all(r.ok for chunks in results.values() for chunk in chunks for r in chunk)
        assert sandbox_calls("upsertList")["throttled"] > 0
        stored = [c["externalId"] for c in admin.get("/_sandbox/records/customer").json() if c["externalId"].startswith("AMZ-CU-C-")]
        assert len(stored) == 60 and len(set(stored)) == 60

    @pytest.mark.parametrize(
        "fault",
        [{"status": 503}, {"fault": "ExceededRequestLimitFault"}, {"fault": "ExceededConcurrentRequestLimitFault"},
         {"fault": "UnexpectedErrorFault"}],
    )
    def test_given_transient_failures_when_called_then_retried_until_success(self, hook, admin, fault):
        admin.post("/_sandbox/faults", json={"operation": "upsertList", "times": 2, **fault}).raise_for_status()
        results = hook.upsert_records("customer", [company(1)])
        assert results[0].ok
        assert hook.calls["upsertList"] == 3

    def test_given_failures_outlasting_retries_when_batch_then_batch_error_keeps_completed_results(self, admin, set_connection):
        set_connection()
        short = NetSuiteHook(max_attempts=2, backoff_initial=0.01, backoff_max=0.01)
        backend = short.backend
        write_list = backend.write_list

        def write_then_break(operation, record_type, chunk):
            # the first chunk is answered; from then on NetSuite is down for longer than the retries
            answered = write_list(operation, record_type, chunk)
            admin.post("/_sandbox/faults", json={"operation": "upsertList", "status": 503, "times": 5}).raise_for_status()
            backend.write_list = write_list
            return answered

        backend.write_list = write_then_break
        records = [company(n) for n in range(150)]
        records[1] = company(1, subsidiary=999)  # a record-level failure is part of what was answered
        with pytest.raises(NetSuiteBatchError) as info:
            short.upsert_records("customer", records)

        completed = info.value.completed
        assert len(completed) == 100 and [r.ok for r in completed[:3]] == [True, False, True]
        assert info.value.pending_external_ids == [f"AMZ-CU-T-{n:05d}" for n in range(100, 150)]
        assert isinstance(info.value.__cause__, NetSuiteUnavailableError)
        assert "re-run" in str(info.value)
        stored = {c["externalId"] for c in admin.get("/_sandbox/records/customer").json()}
        assert {r.external_id for r in completed if r.ok} <= stored and "AMZ-CU-T-00100" not in stored

    def test_given_a_non_retryable_fault_then_raised_at_once(self, hook, admin):
        admin.post(
            "/_sandbox/faults",
            json={"operation": "get", "fault": "InvalidCredentialsFault", "times": 1},
        ).raise_for_status()
        with pytest.raises(NetSuiteAuthError):
            hook.get_record("customer", internal_id="100")
        assert hook.calls["get"] == 1


class TestTokenBasedAuthentication:
    def test_given_a_wrong_token_secret_then_invalid_login_attempt_and_no_secret_leaks(
        self, admin, set_connection, caplog
    ):
        wrong = "not-the-token-secret-0123456789"
        set_connection(token_secret=wrong)
        bad = NetSuiteHook(max_attempts=3, backoff_initial=0.01)
        with caplog.at_level("DEBUG"), pytest.raises(NetSuiteAuthError) as info:
            bad.get_record("customer", internal_id="100")

        assert info.value.code == "INVALID_LOGIN_ATTEMPT"
        assert "Invalid login attempt." in str(info.value)
        assert bad.calls["get"] == 1  # never retried
        text = str(info.value) + caplog.text
        assert wrong not in text
        from sandbox.netsuite import SANDBOX_CREDENTIALS

        for secret in (SANDBOX_CREDENTIALS.consumer_secret, SANDBOX_CREDENTIALS.token_secret):
            assert secret not in text

    def test_given_a_wrong_account_then_invalid_login_attempt(self, admin, set_connection):
        set_connection(account_id="7654321_SB1")
        with pytest.raises(NetSuiteAuthError):
            NetSuiteHook(max_attempts=1).get_record("customer", internal_id="100")


class TestAdminApi:
    def test_given_records_posted_then_listed_in_the_schema_shape(self, admin):
        posted = admin.post(
            "/_sandbox/records/inventoryItem",
            json=[{"itemId": "Widget", "externalId": "W-1", "subsidiaryList": [{"internalId": "1"}],
                   "locationsList": [{"locationId": {"internalId": "1"}, "quantityOnHand": 7}]}],
        )
        assert posted.status_code == 200, posted.text
        item = posted.json()[0]
        assert item["internalId"] and item["locationsList"][0]["quantityAvailable"] == 7
        assert item["locationsList"][0]["locationId"]["name"] == "US Warehouse"
        listed = admin.get("/_sandbox/records/inventoryItem").json()
        assert any(i.get("externalId") == "W-1" for i in listed)

    def test_given_a_bad_reference_when_posted_then_400_naming_the_record(self, admin):
        response = admin.post("/_sandbox/records/customer", json=[{"externalId": "X", "companyName": "X", "subsidiary": {"internalId": "99"}}])
        assert response.status_code == 400
        assert response.json()["detail"]["errors"][0]["code"] == "INVALID_KEY_OR_REF"

    def test_given_an_unknown_record_type_then_404(self, admin):
        assert admin.get("/_sandbox/records/vendor").status_code == 404

    def test_given_seed_data_then_it_matches_the_mapping_tables(self, admin):
        customers = {c["internalId"]: c for c in admin.get("/_sandbox/records/customer").json()}
        assert customers["100"]["subsidiary"]["internalId"] == "2"
        assert customers["102"]["currency"]["internalId"] == "4"
        locations = {loc["internalId"]: loc for loc in admin.get("/_sandbox/records/location").json()}
        assert len(locations) == 12 and locations["11"]["subsidiaryList"][0]["internalId"] == "5"
        accounts = {a["internalId"] for a in admin.get("/_sandbox/records/account").json()}
        assert {"1010", "1213", "1220", "2313", "4010", "6150"} <= accounts
        items = {i["internalId"] for i in admin.get("/_sandbox/records/inventoryItem").json()}
        assert {str(n) for n in range(501, 509)} <= items
        assert not items & CATALOG_IDS, "the flagged items come only when asked for"

    def test_given_seed_with_catalog_then_two_items_list_and_one_reports_what_the_merchandiser_must_add(self, admin):
        from amazon_netsuite.mappings import load_mappings
        from amazon_netsuite.transforms.catalog import build_listings, is_published, load_requirements
        from sandbox.amazon.product_types import validate

        admin.post("/_sandbox/reset").raise_for_status()
        admin.post("/_sandbox/seed", json={"seed": 0, "catalog": True}).raise_for_status()
        items = {i["internalId"]: i for i in admin.get("/_sandbox/records/inventoryItem").json()}
        mappings = load_mappings()
        requirements = load_requirements(mappings.directory)
        now = datetime.now(UTC)
        assert {i for i, item in items.items() if is_published(item)} == CATALOG_IDS
        listings = {}
        for item_id in sorted(CATALOG_IDS):
            saved = datetime.fromisoformat(items[item_id]["lastModifiedDate"])
            assert 1 <= (now - saved).days <= 3, "saved in the last days: inside the demo's 30-day window"
            for listing in build_listings(items[item_id], mappings.marketplaces.values(), requirements):
                listings[(item_id, listing.region)] = listing
        assert sorted(listings) == [("509", "na"), ("510", "eu"), ("510", "na"), ("511", "na")]
        for key in [("509", "na"), ("510", "eu"), ("510", "na")]:
            listing = listings[key]
            assert (listing.missing, listing.problems) == ((), ()), key
            currencies = {m: mappings.marketplaces[m].currency for m in listing.marketplace_ids}
            assert validate(listing.product_type, listing.attributes, currencies) == [], "Amazon accepts it"
        assert listings[("511", "na")].missing == ("bullet_point", "main_product_image_locator")
        assert not {row.netsuite_item_id for row in mappings.sku_items} & CATALOG_IDS, "no stock flow touches them"

    def test_given_a_fresh_sandbox_then_it_starts_with_the_flagged_items(self, tmp_path, reference_dir):
        import httpx

        with start_servers(state_dir=tmp_path, only=("netsuite",)) as servers:
            items = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/inventoryItem", timeout=30).json()
        assert CATALOG_IDS <= {i["internalId"] for i in items}


AMAZON_ORDER_ID = "113-7654321-7654321"


class TestCustomFields:
    def test_given_custom_body_fields_when_upserted_then_stored_and_read_back_in_the_same_shape(self, hook, admin):
        so = build_sales_order(
            external_id=sales_order_external_id(AMAZON_ORDER_ID), customer=ref(100), subsidiary_id=US_SUBSIDIARY,
            currency_id=USD, tran_date=date(2024, 5, 1), location_id=US_WAREHOUSE,
            lines=[SalesOrderLine(item_id=MUG, quantity=Decimal(1), rate=Decimal("9.99"), tax_code_id=US_NOT_TAXABLE)],
            custom_field_values={"custbody_amazon_order_id": AMAZON_ORDER_ID, "custbody_amazon_channel": "MFN"},
        )
        result = hook.upsert_records("salesOrder", [so])[0]
        assert result.ok, result.describe()

        expected = [
            {"scriptId": "custbody_amazon_order_id", "value": AMAZON_ORDER_ID},
            {"scriptId": "custbody_amazon_channel", "value": "MFN"},
        ]
        stored = [r for r in admin.get("/_sandbox/records/salesOrder").json() if r["externalId"] == so["externalId"]]
        assert stored[0]["customFieldList"] == expected
        assert hook.get_record("salesOrder", internal_id=result.internal_id)["customFieldList"] == expected
        # custom body fields are body fields: searches return them
        assert hook.search_by_external_ids("salesOrder", [so["externalId"]])[0]["customFieldList"] == expected

    def test_given_an_update_with_one_custom_field_then_the_others_are_kept(self, hook):
        so = order("CF-2", custom_field_values={"custbody_a": "1", "custbody_b": "2"})
        internal_id = hook.upsert_records("salesOrder", [so])[0].internal_id
        hook.upsert_records("salesOrder", [{"externalId": so["externalId"], "customFieldList": [{"scriptId": "custbody_b", "value": "3"}]}])

        fields = hook.get_record("salesOrder", internal_id=internal_id)["customFieldList"]
        assert {f["scriptId"]: f["value"] for f in fields} == {"custbody_a": "1", "custbody_b": "3"}

    def test_given_custom_fields_posted_to_the_admin_api_then_the_hook_reads_them(self, hook, admin):
        posted = admin.post(
            "/_sandbox/records/customer",
            json=[{"externalId": "CF-CU-1", "companyName": "X", "subsidiary": {"internalId": "2"},
                   "customFieldList": [{"scriptId": "custentity_flag", "value": True}, {"scriptId": "custentity_s", "value": "v"}]}],
        )
        assert posted.status_code == 200, posted.text
        record = hook.get_record("customer", external_id="CF-CU-1")
        assert record["customFieldList"] == [
            {"scriptId": "custentity_flag", "value": True}, {"scriptId": "custentity_s", "value": "v"}
        ]


class TestCustomerByEmail:
    def test_given_customers_with_emails_when_searched_by_email_then_only_the_match_ignoring_case(self, hook, caplog):
        first = build_customer(external_id="EM-1", subsidiary_id=US_SUBSIDIARY, company_name="One", email="abc123@marketplace.amazon.com")
        second = build_customer(external_id="EM-2", subsidiary_id=US_SUBSIDIARY, company_name="Two", email="zzz999@marketplace.amazon.com")
        assert all(r.ok for r in hook.upsert_records("customer", [first, second]))

        with caplog.at_level("DEBUG"):
            found = hook.search_customers_by_email("ABC123@Marketplace.Amazon.com")

        assert [c["externalId"] for c in found] == ["EM-1"]
        assert hook.search_customers_by_email("nobody@marketplace.amazon.com") == []
        assert "abc123" not in caplog.text.lower()  # the email is PII: never logged, not even the SOAP body

    def test_given_an_empty_email_then_value_error(self, hook):
        with pytest.raises(ValueError):
            hook.search_customers_by_email("  ")


class TestAddressBook:
    HOME = Address(country="US", addressee="Ada Lovelace", addr1="1 Main St", city="Seattle", state="WA", zip="98101")
    WORK = Address(country="US", addressee="Ada Lovelace", addr1="500 Pine St", city="Seattle", state="WA", zip="98101")

    def _customer(self, address):
        return build_customer(external_id="AB-1", subsidiary_id=US_SUBSIDIARY, first_name="Ada", last_name="Lovelace", address=address)

    def _book(self, hook):
        return hook.get_record("customer", external_id="AB-1")["addressbookList"]

    def test_given_a_customer_when_a_merged_address_book_is_upserted_then_the_new_address_is_added_once(self, hook):
        from amazon_netsuite.netsuite.records import merge_addressbook

        assert hook.upsert_records("customer", [self._customer(self.HOME)])[0].ok
        home_id = self._book(hook)[0]["internalId"]

        for _ in range(2):  # the second run finds the address on file and adds nothing
            customer = self._customer(self.HOME)
            customer["addressbookList"] = merge_addressbook(self._book(hook), self.WORK)
            assert hook.upsert_records("customer", [customer])[0].ok

        book = self._book(hook)
        assert [e["addressbookAddress"]["addr1"] for e in book] == ["1 Main St", "500 Pine St"]
        assert book[0]["internalId"] == home_id and len({e["internalId"] for e in book}) == 2
        assert [e.get("defaultShipping", False) for e in book] == [False, True]
        assert book[0]["defaultBilling"] is True  # billing default untouched

    def test_given_an_address_already_on_file_when_merged_then_only_the_default_moves(self, hook):
        from amazon_netsuite.netsuite.records import merge_addressbook

        hook.upsert_records("customer", [self._customer(self.HOME)])
        customer = self._customer(self.HOME)
        customer["addressbookList"] = merge_addressbook(self._book(hook), self.WORK)
        hook.upsert_records("customer", [customer])
        spaced = Address(country="us", addressee="ADA  LOVELACE", addr1="1 main st", city="Seattle", state="WA", zip="98101")
        customer["addressbookList"] = merge_addressbook(self._book(hook), spaced)
        hook.upsert_records("customer", [customer])

        book = self._book(hook)
        assert len(book) == 2
        assert [e.get("defaultShipping", False) for e in book] == [True, False]

    def test_given_a_new_entry_listed_first_then_internal_ids_never_collide(self, hook):
        hook.upsert_records("customer", [self._customer(self.HOME)])
        existing = self._book(hook)
        customer = self._customer(self.HOME)
        customer["addressbookList"] = [{"addressbookAddress": self.WORK.to_record(), "defaultShipping": True}, *existing]
        hook.upsert_records("customer", [customer])

        book = self._book(hook)
        assert len(book) == 2 and len({e["internalId"] for e in book}) == 2
        assert sum(1 for e in book if e.get("defaultShipping")) == 1


class TestLostResponses:
    """The write happened but the response was lost (timeout, 5xx after commit): retries must not duplicate."""

    def _lose_next(self, admin, operation):
        admin.post("/_sandbox/faults", json={"operation": operation, "status": 504, "times": 1, "after": True}).raise_for_status()

    def _stored(self, admin, prefix):
        return [c for c in admin.get("/_sandbox/records/customer").json() if (c.get("companyName") or "").startswith(prefix)]

    def test_given_a_lost_add_list_response_when_retried_then_records_reported_written_once(self, hook, admin):
        self._lose_next(admin, "addList")
        results = hook.add_records("customer", [company(1), company(2)])

        assert all(r.ok for r in results), [r.describe() for r in results]
        stored = {c["externalId"]: c["internalId"] for c in admin.get("/_sandbox/records/customer").json()}
        assert [r.internal_id for r in results] == [stored["AMZ-CU-T-00001"], stored["AMZ-CU-T-00002"]]
        assert hook.calls["addList"] == 2

    def test_given_a_lost_add_list_response_and_records_without_external_id_then_no_retry_and_no_duplicate(
        self, hook, admin
    ):
        self._lose_next(admin, "addList")
        record = {"companyName": "NoExt buyer", "subsidiary": ref(US_SUBSIDIARY)}
        with pytest.raises(NetSuiteBatchError) as info:
            hook.add_records("customer", [record])

        assert hook.calls["addList"] == 1
        assert len(self._stored(admin, "NoExt")) == 1
        assert "look the records up" in str(info.value)

    def test_given_a_lost_upsert_list_response_when_retried_then_one_record_each(self, hook, admin):
        self._lose_next(admin, "upsertList")
        results = hook.upsert_records("customer", [company(1), company(2)])

        assert all(r.ok for r in results) and hook.calls["upsertList"] == 2
        assert len(self._stored(admin, "Buyer ")) == 2


class TestUnbuildableRecords:
    def test_given_a_record_the_wsdl_cannot_hold_then_only_that_record_fails(self, hook, admin):
        bad = dict(company(2), colour="red")
        results = hook.upsert_records("customer", [company(1), bad, company(3)])

        assert [r.ok for r in results] == [True, False, True]
        assert results[1].error_code == "INVALID_RECORD" and "colour" in results[1].error_message
        ids = {c["externalId"] for c in admin.get("/_sandbox/records/customer").json()}
        assert {"AMZ-CU-T-00001", "AMZ-CU-T-00003"} <= ids and "AMZ-CU-T-00002" not in ids
