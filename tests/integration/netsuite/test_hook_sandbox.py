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

US_MARKETPLACE = "ATVPDKIKX0DER"
US_SUBSIDIARY, UK_SUBSIDIARY = 2, 4
USD = 1
US_WAREHOUSE = 1
MUG, TEE_M = 501, 502


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
        lines=lines or [SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99"))],
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
            SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99")),
            SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("15.00")),
        ])
        first = hook.upsert_records("salesOrder", [so])[0]
        changed = order("111-0000001-0000001", lines=[
            SalesOrderLine(item_id=MUG, quantity=Decimal(3), rate=Decimal("9.99")),
            SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("15.00")),
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
                SalesOrderLine(item_id=MUG, quantity=Decimal(2), rate=Decimal("9.99"), tax_amount=Decimal("1.60")),
                SalesOrderLine(item_id=TEE_M, quantity=Decimal(1), rate=Decimal("15.00"), tax_amount=Decimal("1.20")),
            ],
            shipping_cost=Decimal("4.99"),
        )
        so["discountRate"] = "-2.00"
        internal_id = hook.upsert_records("salesOrder", [so])[0].internal_id
        record = hook.get_record("salesOrder", internal_id=internal_id)
        # 19.98 + 15.00 - 2.00 + (1.60 + 1.20) + 4.99
        assert (record["subTotal"], record["taxTotal"], record["total"]) == (
            Decimal("34.98"), Decimal("2.8"), Decimal("40.77")
        )
        assert record["status"] == "Pending Fulfillment" and record["tranId"].startswith("SO")

    def test_given_a_customer_of_another_subsidiary_then_the_order_fails(self, hook):
        result = hook.upsert_records("salesOrder", [order("SUB-1", customer=ref(101))])[0]
        assert result.error_code == "USER_ERROR" and "subsidiary" in result.error_message

    def test_given_an_unknown_item_then_invalid_key_or_ref(self, hook):
        so = order("ITEM-1", lines=[SalesOrderLine(item_id=999999, quantity=Decimal(1), rate=Decimal(1))])
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
        short.upsert_records("customer", [company(0)])  # warm up: the first call must succeed
        admin.post("/_sandbox/faults", json={"operation": "upsertList", "status": 503, "times": 5}).raise_for_status()
        admin.post("/_sandbox/faults", json={"operation": "getList", "status": 503, "times": 1})
        records = [company(n) for n in range(150)]
        with pytest.raises(NetSuiteBatchError) as info:
            short.upsert_records("customer", records)
        assert info.value.completed == [] and len(info.value.pending_external_ids) == 150
        assert isinstance(info.value.__cause__, NetSuiteUnavailableError)
        assert "re-run" in str(info.value)

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
