"""The orders flow end to end against both emulators, through the real clients (no Airflow scheduler:
``sync_orders`` is what the DAG's task runs; tests/dags runs the DAG itself)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

import pytest

from amazon_netsuite.flows.orders import (
    DAG_ID,
    failed_extracts_message,
    fetch_orders_by_id,
    sync_orders,
)
from amazon_netsuite.ledger import Ledger
from amazon_netsuite.mappings import load_mappings
from tests.integration.flows.conftest import EU, FAST_RETRY, NA, SYNCED, World, _sales_orders_by_external_id


class TestThousandOrders:
    def test_given_1000_orders_when_synced_twice_then_each_once_with_right_money_and_no_rewrites(self, world):
        world.reset(orders=1000)
        first = world.run("run-1")
        orders = world.amazon_orders()
        syncable = [o for o in orders if o["fulfillment"]["fulfillmentStatus"] in SYNCED]
        assert len(orders) == 1000 and len(syncable) > 600

        by_external_id = _sales_orders_by_external_id(world)
        mappings = world.mappings
        for order in syncable:
            found = by_external_id.get(f"AMZ-SO-{order['orderId']}", [])
            assert len(found) == 1, order["orderId"]
            so = found[0]
            marketplace = mappings.marketplace(order["salesChannel"]["marketplaceId"])
            assert Decimal(str(so["total"])) == Decimal(order["proceeds"]["grandTotal"]["amount"]), order["orderId"]
            assert so["subsidiary"]["internalId"] == marketplace.subsidiary_id
            assert so["currency"]["internalId"] == marketplace.currency_id
            skus = [i["product"]["sellerSku"] for i in order["orderItems"]]
            expected_items = [mappings.sku(s, marketplace.marketplace_id).netsuite_item_id for s in skus]
            tax_items = {marketplace.facilitator_tax_item_id, marketplace.tax_rounding_item_id,
                         marketplace.seller_tax_item_id}
            assert [line["item"]["internalId"] for line in so["itemList"]
                    if line["item"]["internalId"] not in tax_items] == expected_items
            fields = {f["scriptId"]: f["value"] for f in so.get("customFieldList") or []}
            assert fields["custbody_amazon_order_id"] == order["orderId"]
        # nothing else was created: pending and cancelled orders made no sales order
        assert set(by_external_id) == {f"AMZ-SO-{o['orderId']}" for o in syncable}
        assert first["synced"] == len(syncable)
        assert first["waiting_at_amazon"] == sum(1 for o in orders if o["fulfillment"]["fulfillmentStatus"] == "PENDING")

        # customers: one per (per_buyer marketplace, buyer e-mail), never duplicated; Amazon gives the
        # e-mail of merchant-fulfilled orders only (FBA orders go to the marketplace's generic customer)
        buyers = {
            (o["salesChannel"]["marketplaceId"], o["buyer"]["buyerEmail"].lower())
            for o in syncable
            if (o.get("buyer") or {}).get("buyerEmail") and o["fulfillment"]["fulfilledBy"] == "MERCHANT"
            and mappings.marketplace(o["salesChannel"]["marketplaceId"]).customer_mode == "per_buyer"
        }
        amazon_customers = [c for c in world.records("customer") if (c.get("externalId") or "").startswith("AMZ-CU-")]
        assert len(amazon_customers) == len(buyers)
        assert len({c["externalId"] for c in amazon_customers}) == len(amazon_customers)

        # the same window again: no new records, no writes for unchanged orders
        upserts_before = world.calls(world.netsuite_admin, "upsertList")
        second = world.run("run-2")
        assert second["unchanged"] == len(syncable)
        assert second.get("synced", 0) == 0
        assert world.calls(world.netsuite_admin, "upsertList") == upserts_before
        assert len(world.records("salesOrder")) == len(syncable)

        # calls: ceil(N/100) searchOrders pages per region (all of a region's marketplaces in one search), per run
        per_region = [sum(1 for o in orders if o["salesChannel"]["marketplaceId"] in region) for region in (NA, EU)]
        # (pages served: a 429 or an expired LWA token on a loaded machine is answered >= 400 and retried)
        search = world.amazon_admin.get("/_sandbox/calls").json()["operations"]["searchOrders"]
        assert search["calls"] - search["errors"] == 2 * sum(-(-n // 100) for n in per_region), search


class TestUpdatesAndStatuses:
    def test_given_updated_and_cancelled_orders_when_rerun_then_updated_in_place_and_lines_closed(self, world):
        world.reset(orders=80)
        world.run("run-1")
        before = {k: v[0] for k, v in _sales_orders_by_external_id(world).items()}
        orders = {o["orderId"]: o for o in world.amazon_orders()}
        unshipped = [o for o in orders.values() if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
                     and o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER"][:2]
        assert len(unshipped) == 2
        moved, cancelled = copy.deepcopy(unshipped[0]), copy.deepcopy(unshipped[1])
        now = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        moved["recipient"]["deliveryAddress"]["city"] = "Tacoma"
        moved["lastUpdatedTime"] = now
        cancelled["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        cancelled["lastUpdatedTime"] = now
        world.amazon_admin.post("/_sandbox/orders", json=[moved, cancelled]).raise_for_status()

        counts = world.run("run-2")
        after = {k: v[0] for k, v in _sales_orders_by_external_id(world).items()}
        assert len(after) == len(before)
        key = f"AMZ-SO-{moved['orderId']}"
        assert after[key]["internalId"] == before[key]["internalId"]
        assert after[key]["shippingAddress"]["city"] == "Tacoma"
        closed = after[f"AMZ-SO-{cancelled['orderId']}"]
        assert all(line["isClosed"] for line in closed["itemList"])
        assert counts["closed"] == 1 and counts["synced"] == 1
        assert world.ledger.get(f"{DAG_ID}:salesOrder:{cancelled['orderId']}").reason == "cancelled"

    def test_given_repeat_buyer_with_new_address_then_address_added_not_duplicated(self, world):
        world.reset(orders=60)
        orders = [o for o in world.amazon_orders() if o["fulfillment"]["fulfillmentStatus"] in SYNCED
                  and o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
        base = orders[0]
        second = copy.deepcopy(base)
        second["orderId"] = base["orderId"][:-4] + "9999"
        second["recipient"]["deliveryAddress"]["addressLine1"] = "77 Other Road"
        third = copy.deepcopy(second)
        third["orderId"] = base["orderId"][:-4] + "9998"
        world.amazon_admin.post("/_sandbox/orders", json=[second, third]).raise_for_status()
        world.run("run-1")
        email = base["buyer"]["buyerEmail"].lower()
        customers = [c for c in world.records("customer") if (c.get("email") or "").lower() == email]
        assert len(customers) == 1
        lines = [e["addressbookAddress"]["addr1"] for e in customers[0]["addressbookList"]]
        assert sorted(lines) == sorted({base["recipient"]["deliveryAddress"]["addressLine1"], "77 Other Road"})

    def test_given_customer_created_outside_with_same_email_then_matched_not_duplicated(self, world):
        world.reset(orders=40)
        order = next(o for o in world.amazon_orders() if o["fulfillment"]["fulfillmentStatus"] in SYNCED
                     and o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and o["fulfillment"]["fulfilledBy"] == "MERCHANT")
        email = order["buyer"]["buyerEmail"]
        created = world.netsuite_admin.post("/_sandbox/records/customer", json=[{
            "companyName": "Existing customer", "isPerson": False, "email": email.upper(),
            "subsidiary": {"internalId": "2"},
        }])
        created.raise_for_status()
        internal_id = created.json()[0]["internalId"]
        counts = world.run("run-1")
        same = [c for c in world.records("customer") if (c.get("email") or "").lower() == email.lower()]
        assert [c["internalId"] for c in same] == [internal_id]
        so = _sales_orders_by_external_id(world)[f"AMZ-SO-{order['orderId']}"][0]
        assert so["entity"]["internalId"] == internal_id
        assert counts["customers_adopted"] >= 1

    def test_given_indexed_customer_deleted_in_netsuite_then_recreated_not_referenced(self, world):
        world.reset(orders=40)
        world.run("run-1")
        customer = next(c for c in world.records("customer") if (c.get("externalId") or "").startswith("AMZ-CU-"))
        key = customer["externalId"]
        assert world.ledger.customers([key]) == {key: customer["internalId"]}
        # the customer disappears from NetSuite (deleted by hand); the index still points at it
        world.netsuite_admin.post("/_sandbox/reset").raise_for_status()
        world.netsuite_admin.post("/_sandbox/seed", json={"seed": 0}).raise_for_status()
        counts = world.run("run-2", force=True)
        recreated = [c for c in world.records("customer") if c.get("externalId") == key]
        assert len(recreated) == 1 and counts["customers_recreated"] >= 1
        assert world.ledger.customers([key]) == {key: recreated[0]["internalId"]}
        orders = [so for so in world.records("salesOrder") if so["entity"].get("externalId") == key
                  or so["entity"].get("internalId") == recreated[0]["internalId"]]
        assert orders and all(so["entity"]["internalId"] == recreated[0]["internalId"] for so in orders)

    def test_given_known_buyers_when_next_batch_then_matching_costs_no_search_per_buyer(self, world):
        world.reset(orders=120)
        world.run("run-1")
        searches_before = world.calls(world.netsuite_admin, "search")
        get_lists_before = world.calls(world.netsuite_admin, "getList")
        world.run("run-2", force=True)  # same buyers: every one is in the index
        assert world.calls(world.netsuite_admin, "search") - searches_before <= 1  # the adoption check
        assert world.calls(world.netsuite_admin, "getList") - get_lists_before <= 2


class TestFailures:
    def test_given_unknown_sku_then_dead_lettered_and_the_rest_land(self, world):
        world.reset(orders=60, unmapped_sku=True)
        counts = world.run("run-1")
        failed = world.ledger.failed(dag_id=DAG_ID)
        assert failed and all(r.reason == "unknown_sku" for r in failed)
        assert "ACME-UNMAPPED-SKU" in failed[0].last_error
        assert failed[0].replay["order_id"] == failed[0].source_key
        bad = {r.source_key for r in failed}
        landed = set(_sales_orders_by_external_id(world))
        assert not {f"AMZ-SO-{o}" for o in bad} & landed
        assert counts["synced"] == len(landed) > 0
        summary = world.ledger.run_summary(DAG_ID, "run-1")
        assert summary.failures_by_reason == {"unknown_sku": len(bad)}

    def test_given_netsuite_rejects_one_order_then_only_that_one_dead_lettered(self, world):
        world.reset(orders=40)
        order = next(o for o in world.amazon_orders() if o["fulfillment"]["fulfillmentStatus"] in SYNCED)
        # make its item refer to an item NetSuite doesn't have (a mapping pointing at a deleted item)
        mappings = world.mappings
        sku = order["orderItems"][0]["product"]["sellerSku"]
        mapped = mappings.sku(sku, order["salesChannel"]["marketplaceId"])
        world.mappings = load_mappings()
        import dataclasses

        broken = dataclasses.replace(mapped, netsuite_item_id="99999")
        world.mappings.sku_items = [broken if s is mapped or s == mapped else s for s in world.mappings.sku_items]
        world.mappings.__post_init__()
        counts = world.run("run-1")
        failed = world.ledger.failed(dag_id=DAG_ID)
        assert failed and {r.reason for r in failed} == {"netsuite_error"}
        assert all("99999" in (r.last_error or "") or "INVALID_KEY_OR_REF" in (r.last_error or "") for r in failed)
        assert counts["synced"] > 0

    def test_given_throttling_and_concurrency_faults_then_outcome_identical(self, world):
        world.reset(orders=200)
        world.run("clean")
        clean = {k: (v[0]["total"], v[0]["entity"]) for k, v in _sales_orders_by_external_id(world).items()}

        world.reset(orders=200)
        world.ledger = Ledger(world.ledger.url.replace("ledger.db", "ledger-faults.db"))
        world.amazon_admin.post("/_sandbox/faults", json={"operation": "searchOrders", "status": 429, "times": 6}).raise_for_status()
        world.amazon_admin.post("/_sandbox/faults", json={"operation": "searchOrders", "status": 503, "times": 2}).raise_for_status()
        world.netsuite_admin.post("/_sandbox/faults", json={"operation": "upsertList",
                                                           "fault": "ExceededConcurrentRequestLimitFault", "times": 3}).raise_for_status()
        world.netsuite_admin.post("/_sandbox/faults", json={"operation": "getList", "status": 503, "times": 2}).raise_for_status()
        world.run("faulty")
        faulty = {k: (v[0]["total"], v[0]["entity"]) for k, v in _sales_orders_by_external_id(world).items()}
        assert faulty == clean
        assert world.amazon_admin.get("/_sandbox/calls").json()["operations"]["searchOrders"]["throttled"] >= 6

    def test_given_dry_run_then_nothing_written(self, world):
        world.reset(orders=40)
        counts = world.run("dry", dry_run=True)
        assert counts["would_upsert"] > 0
        assert world.records("salesOrder") == []
        assert world.ledger.run_summary(DAG_ID, "dry").counts == {}

    def test_given_order_ids_then_exactly_those_and_unknown_reported(self, world):
        world.reset(orders=30)
        wanted = [o["orderId"] for o in world.amazon_orders() if o["fulfillment"]["fulfillmentStatus"] in SYNCED][:2]
        amazon, netsuite = world.hooks()
        orders, missing = fetch_orders_by_id(amazon, [*wanted, "999-0000000-0000000"])
        assert missing == ["999-0000000-0000000"]
        result = sync_orders(orders, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger,
                             run_id="ids", force=True)
        assert result.counts["synced"] == 2
        assert set(_sales_orders_by_external_id(world)) == {f"AMZ-SO-{o}" for o in wanted}
        assert json.dumps(result.as_dict())  # XCom-safe


class TestReplay:
    def test_given_unknown_sku_fixed_when_replayed_then_synced_once_and_replay_again_is_noop(
        self, world, tmp_path, monkeypatch
    ):
        import shutil

        from amazon_netsuite.ledger.replay import replay_records

        world.reset(orders=60, unmapped_sku=True)
        world.run("run-1")
        failed = world.ledger.failed(dag_id=DAG_ID)
        assert failed

        # the cause persists: replay fails again, attempts counted
        replay_records(failed, ledger=world.ledger, run_id="replay-0")
        again = world.ledger.failed(dag_id=DAG_ID)
        assert {r.key for r in again} == {r.key for r in failed}
        assert all(r.attempts == 2 for r in again)

        # fix the mapping, replay: synced exactly once
        fixed = tmp_path / "mappings"
        shutil.copytree(world.mappings.directory, fixed)
        with (fixed / "sku_items.csv").open("a") as handle:
            handle.write("ACME-UNMAPPED-SKU,,,504,MFN,1,BOTTLE,0,false\n")
        monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(fixed))
        outcome = replay_records(again, ledger=world.ledger, run_id="replay-1")
        assert set(outcome.values()) == {"synced"}
        landed = _sales_orders_by_external_id(world)
        for record in failed:
            assert len(landed[f"AMZ-SO-{record.source_key}"]) == 1

        # nothing left to replay; replaying the old selection changes nothing
        assert world.ledger.failed(dag_id=DAG_ID) == []
        before = world.calls(world.netsuite_admin, "upsertList")
        assert replay_records([world.ledger.get(r.key) for r in failed], ledger=world.ledger, run_id="replay-2") == {}
        assert world.calls(world.netsuite_admin, "upsertList") == before


def test_given_replay_racing_a_normal_run_then_one_sales_order_per_order(world, tmp_path, monkeypatch):
    import shutil
    import threading

    from amazon_netsuite.ledger.replay import replay_records

    world.reset(orders=60, unmapped_sku=True)
    world.run("run-1")
    failed = world.ledger.failed(dag_id=DAG_ID)
    assert failed
    fixed = tmp_path / "mappings"
    shutil.copytree(world.mappings.directory, fixed)
    with (fixed / "sku_items.csv").open("a") as handle:
        handle.write("ACME-UNMAPPED-SKU,,,504,MFN,1,BOTTLE,0,false\n")
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(fixed))
    world.mappings = load_mappings(fixed)

    errors: list[BaseException] = []

    def guarded(func):
        def run():
            try:
                func()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
        return run

    threads = [
        threading.Thread(target=guarded(lambda: world.run("run-2", force=True))),
        threading.Thread(target=guarded(lambda: replay_records(failed, ledger=world.ledger, run_id="replay"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    landed = _sales_orders_by_external_id(world)
    for record in failed:
        assert len(landed[f"AMZ-SO-{record.source_key}"]) == 1
        assert world.ledger.get(record.key).status == "synced"
    assert all(len(v) == 1 for v in landed.values())


def test_given_netsuite_down_past_retries_then_orders_dead_lettered_for_replay_and_task_fails(world):
    from amazon_netsuite.netsuite.errors import NetSuiteError

    world.reset(orders=30)
    # as many 503s as the hook has attempts (FAST_RETRY): the first write gives up, nothing is left over
    world.netsuite_admin.post("/_sandbox/faults", json={"operation": "upsertList", "status": 503,
                                                       "times": FAST_RETRY["max_attempts"]}).raise_for_status()
    with pytest.raises(NetSuiteError):
        world.run("run-1")
    failed = world.ledger.failed(dag_id=DAG_ID)
    assert failed and {r.reason for r in failed} == {"netsuite_unavailable"}
    from amazon_netsuite.ledger.replay import replay_records

    assert set(replay_records(failed, ledger=world.ledger, run_id="replay").values()) == {"synced"}


def test_given_customer_of_another_integration_with_same_email_then_used_not_taken_over(world):
    world.reset(orders=40)
    order = next(o for o in world.amazon_orders() if o["fulfillment"]["fulfillmentStatus"] in SYNCED
                 and o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and o["fulfillment"]["fulfilledBy"] == "MERCHANT")
    created = world.netsuite_admin.post("/_sandbox/records/customer", json=[{
        "externalId": "CRM-42", "companyName": "From the CRM", "isPerson": False,
        "email": order["buyer"]["buyerEmail"], "subsidiary": {"internalId": "2"},
    }])
    created.raise_for_status()
    internal_id = created.json()[0]["internalId"]
    world.run("run-1")
    customer = next(c for c in world.records("customer") if c["internalId"] == internal_id)
    assert customer["externalId"] == "CRM-42"
    so = _sales_orders_by_external_id(world)[f"AMZ-SO-{order['orderId']}"][0]
    assert so["entity"]["internalId"] == internal_id


class TestRegions:
    """One SP-API connection per region: US+CA through amazon_sp_api_na, UK+DE through amazon_sp_api_eu."""

    def _calls(self, world: World, region: str, operation: str, key: str = "calls") -> int:
        return world.amazon_admin.get("/_sandbox/calls").json()["regions"][region].get(operation, {}).get(key, 0)

    def test_given_orders_in_both_regions_when_synced_then_all_land_in_one_run_each_read_on_its_region(self, world):
        world.reset(orders=80)

        counts = world.run("run-1")

        orders = world.amazon_orders()
        syncable = {f"AMZ-SO-{o['orderId']}" for o in orders if o["fulfillment"]["fulfillmentStatus"] in SYNCED}
        landed = _sales_orders_by_external_id(world)
        assert set(landed) == syncable and counts["synced"] == len(syncable)
        marketplaces = {o["salesChannel"]["marketplaceId"] for o in orders if f"AMZ-SO-{o['orderId']}" in landed}
        assert marketplaces == NA | EU
        for region, marketplaces in (("na", NA), ("eu", EU)):  # each region's orders read on its own endpoint
            served = sum(1 for o in orders if o["salesChannel"]["marketplaceId"] in marketplaces)
            assert self._calls(world, region, "searchOrders", "records") == served

    def test_given_one_region_failing_with_503s_then_the_other_regions_orders_are_written_and_the_error_names_it(self, world):
        world.reset(orders=80)
        world.amazon_admin.post("/_sandbox/faults", json={"operation": "searchOrders", "region": "eu", "status": 503,
                                                         "times": 50}).raise_for_status()

        counts, failures = world.run_regions("run-1", amazon_kwargs={"max_attempts": 3})

        orders = world.amazon_orders()
        na_syncable = {f"AMZ-SO-{o['orderId']}" for o in orders if o["fulfillment"]["fulfillmentStatus"] in SYNCED
                       and o["salesChannel"]["marketplaceId"] in NA}
        assert set(_sales_orders_by_external_id(world)) == na_syncable and counts["synced"] == len(na_syncable)
        assert [(f.conn_id, f.region, sorted(f.marketplace_ids)) for f in failures] == [("amazon_sp_api_eu", "eu", sorted(EU))]
        message = failed_extracts_message(failures, world.last_result)
        assert "amazon_sp_api_eu (region eu: A1F83G8C2ARO7P, A1PA6795UKMFR9)" in message
        assert "searchOrders failed with HTTP 503" in message and "task retry reads the window again" in message
        # the retry, once EU answers again, writes EU and skips what NA already wrote
        world.amazon_admin.delete("/_sandbox/faults").raise_for_status()
        again = world.run("run-2")
        assert again["unchanged"] == len(na_syncable) and again["synced"] > 0

    def test_given_a_failed_eu_order_when_replayed_then_it_is_read_on_the_eu_connection_only(self, world):
        from amazon_netsuite.flows.orders import replay

        world.reset(orders=40)
        uk = next(o for o in world.amazon_orders() if o["fulfillment"]["fulfillmentStatus"] in SYNCED
                  and o["salesChannel"]["marketplaceId"] == "A1F83G8C2ARO7P")
        world.ledger.record_failed(dag_id=DAG_ID, record_type="salesOrder", source_key=uk["orderId"], reason="netsuite_error",
                                   error="test", run_id="run-0", replay={"order_id": uk["orderId"], "marketplace_id": uk["salesChannel"]["marketplaceId"]})

        replay([world.ledger.get(f"{DAG_ID}:salesOrder:{uk['orderId']}")], ledger=world.ledger, run_id="replay")

        assert f"AMZ-SO-{uk['orderId']}" in _sales_orders_by_external_id(world)
        assert self._calls(world, "eu", "getOrder", "records") == 1 and self._calls(world, "na", "getOrder") == 0


class TestExtractThenLoad:
    """The DAG's two tasks per region: a NetSuite outage retries load only, never Amazon's quota."""

    def test_given_netsuite_down_during_load_when_load_is_retried_then_amazon_is_not_read_again(self, world, tmp_path,
                                                                                              monkeypatch):
        from amazon_netsuite.flows.orders import extract_region, load_region
        from amazon_netsuite.netsuite.errors import NetSuiteError

        monkeypatch.setenv("AMAZON_NETSUITE_STAGING_URI", str(tmp_path / "staging"))
        world.reset(orders=60)
        amazon, netsuite = world.hooks()
        now = dt.datetime.now(dt.UTC)
        window = (now - dt.timedelta(days=20), now - dt.timedelta(minutes=2))
        staged = [extract_region(hook, run_id="run-1", window=window, advance_to=window[1]) for hook in amazon]
        searches = world.calls(world.amazon_admin, "searchOrders")
        assert {s["conn_id"] for s in staged} == {"amazon_sp_api_na", "amazon_sp_api_eu"}
        assert all(s["orders"] > 0 for s in staged)

        world.netsuite_admin.post("/_sandbox/faults", json={"operation": "*", "status": 503,
                                                           "times": FAST_RETRY["max_attempts"]}).raise_for_status()
        with pytest.raises(NetSuiteError):
            load_region(staged[0], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="run-1")
        assert world.ledger.watermark(DAG_ID, staged[0]["conn_id"]) is None  # not loaded: the mark stays

        # Airflow retries the load task: the staged orders are written, Amazon is not asked again
        for extracted in staged:
            load_region(extracted, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="run-1")
        assert world.calls(world.amazon_admin, "searchOrders") == searches
        landed = {so["customFieldList"][0]["value"] if so.get("customFieldList") else None
                  for so in world.records("salesOrder")}
        markets = {m for so in world.records("salesOrder") for f in so.get("customFieldList") or []
                   if f["scriptId"] == "custbody_amazon_marketplace_id" for m in [f["value"]]}
        assert landed and markets == NA | EU  # US+CA through na, UK+DE through eu
        for extracted in staged:
            assert world.ledger.watermark(DAG_ID, extracted["conn_id"]) == dt.datetime.fromisoformat(extracted["advance_to"])
        assert not list((tmp_path / "staging").rglob("*.fernet"))  # loaded: the buyer data is gone
