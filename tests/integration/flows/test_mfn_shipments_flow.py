"""``flows.mfn_shipments.find_fulfillments`` against the NetSuite sandbox: which fulfillments are ours to
confirm, read with a handful of calls whatever their number (one search page, one getList of sales orders,
one getList of fulfillments), never one call per order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from amazon_netsuite.flows.mfn_shipments import find_fulfillments
from amazon_netsuite.flows.orders import sync_orders
from tests.fixtures.mfn import mfn_order


def _fulfill(world, sales_order: dict, *, status: str = "_shipped", external_id: str | None = None) -> dict:
    record = {"createdFrom": {"internalId": sales_order["internalId"]}, "shipStatus": status,
              "tranDate": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT00:00:00"),
              "itemList": [{"orderLine": 1, "quantity": 1, "itemReceive": True, "location": sales_order["location"]}],
              "packageList": [{"packageTrackingNumber": f"1Z{sales_order['internalId']}"}]}
    if external_id:
        record["externalId"] = external_id
    response = world.netsuite_admin.post("/_sandbox/records/itemFulfillment", json=[record])
    assert response.status_code == 200, response.text
    return response.json()[0]


def fulfillments_of_every_kind(world) -> list[dict]:
    """12 synced MFN orders: 10 shipped fulfillments of ours, one packed, one of our FBA flow, and one shipped
    fulfillment of another channel's order; returns the 10 that the MFN flow must find."""
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    world.reset(orders=0)
    orders = [mfn_order(f"113-0016100-{n:07d}", items=[(f"161{n:011d}", "ACME-MUG-11OZ", 2, "12.99")]) for n in range(12)]
    world.amazon_admin.post("/_sandbox/orders", json=orders).raise_for_status()
    assert sync_orders(orders, mappings=world.mappings, netsuite=NetSuiteHook(), ledger=world.ledger,
                       run_id="setup").counts["synced"] == 12
    by_order = {r["externalId"].removeprefix("AMZ-SO-"): r for r in world.records("salesOrder")}
    shipped = [_fulfill(world, by_order[o["orderId"]]) for o in orders[:10]]
    _fulfill(world, by_order[orders[10]["orderId"]], status="_packed")
    _fulfill(world, by_order[orders[11]["orderId"]], external_id="AMZ-IF-FBA0000001")  # our FBA flow's
    web = {k: v for k, v in by_order[orders[0]["orderId"]].items()
           if k not in ("internalId", "externalId", "customFieldList", "tranId")}
    created = world.netsuite_admin.post("/_sandbox/records/salesOrder", json=[{**web, "externalId": "WEB-SO-77"}])
    assert created.status_code == 200, created.text
    _fulfill(world, created.json()[0])  # another channel's order
    return shipped


def test_given_fulfillments_of_every_kind_when_found_then_only_shipped_mfn_amazon_ones_in_three_calls(world):
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    shipped = fulfillments_of_every_kind(world)
    before = world.netsuite_admin.get("/_sandbox/calls").json()["operations"]

    found, counts = find_fulfillments(NetSuiteHook(), since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))

    assert sorted(e["fulfillment"]["internalId"] for e in found) == sorted(f["internalId"] for f in shipped)
    assert all(e["fulfillment"]["packageList"] and e["fulfillment"]["itemList"] for e in found), "full records"
    assert (counts["not_shipped"], counts["fba_fulfillment"], counts["not_amazon"]) == (1, 1, 1)
    after = world.netsuite_admin.get("/_sandbox/calls").json()["operations"]

    def delta(operation):
        return after.get(operation, {}).get("calls", 0) - before.get(operation, {}).get("calls", 0)

    assert (delta("search"), delta("getList"), delta("get")) == (1, 2, 0)


def test_given_an_unmapped_carrier_dead_lettered_when_the_row_is_added_and_replayed_then_confirmed_and_billed(
    world, tmp_path, monkeypatch
):
    import shutil

    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.mfn_shipments import CONFIRMATION, DAG_ID, confirm_shipments
    from amazon_netsuite.ledger.replay import replay_records
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    world.reset(orders=0)
    order = mfn_order("113-0016100-0000099", items=[("16100000000099", "ACME-MUG-11OZ", 1, "12.99")])
    world.amazon_admin.post("/_sandbox/orders", json=[order]).raise_for_status()
    sync_orders([order], mappings=world.mappings, netsuite=NetSuiteHook(), ledger=world.ledger, run_id="setup")
    sales_order = next(r for r in world.records("salesOrder") if r["externalId"] == f"AMZ-SO-{order['orderId']}")
    fulfillment = _fulfill(world, sales_order)
    NetSuiteHook().update_records("itemFulfillment", [{"internalId": fulfillment["internalId"],
                                                       "shipMethod": {"internalId": "4242", "name": "Pigeon Post"}}])
    found, _ = find_fulfillments(NetSuiteHook(), fulfillment_ids=[fulfillment["internalId"]])
    confirm_shipments(found, amazon=SellingPartnerHook("amazon_sp_api_na", backoff_base=0.01), mappings=world.mappings,
                      ledger=world.ledger, run_id="run-1")
    [failed] = world.ledger.failed(dag_id=DAG_ID)
    assert (failed.record_type, failed.reason) == (CONFIRMATION, "unmapped_carrier")

    tables = tmp_path / "mappings"
    shutil.copytree(world.mappings.directory, tables)
    with (tables / "carriers.csv").open("a") as handle:
        handle.write("Pigeon Post,,Other,Pigeon Post Ltd,Standard\n")
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(tables))
    assert load_mappings().carrier({"name": "Pigeon Post"}, "ATVPDKIKX0DER").carrier_name == "Pigeon Post Ltd"

    statuses = replay_records([failed], ledger=world.ledger, run_id="replay-1")

    assert statuses == {failed.key: "synced"}
    shipped = next(o for o in world.amazon_orders() if o["orderId"] == order["orderId"])
    assert [(p["carrier"], p["trackingNumber"]) for p in shipped["packages"]] == [("Pigeon Post Ltd", f"1Z{sales_order['internalId']}")]
    [cash_sale] = world.records("cashSale")
    assert cash_sale["externalId"] == f"AMZ-CS-IF-{fulfillment['internalId']}"
    assert Decimal(str(cash_sale["total"])) == Decimal("12.99")


def test_given_billing_refused_in_a_closed_period_when_reopened_and_replayed_then_billed_in_order_without_confirming_again(
    world,
):
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.flows.mfn_shipments import DAG_ID, bill_confirmed, confirm_shipments
    from amazon_netsuite.ledger.replay import replay_records
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    world.reset(orders=0)
    order = mfn_order("113-0016100-0000077", items=[("16100000000077", "ACME-MUG-11OZ", 3, "12.99")])
    world.amazon_admin.post("/_sandbox/orders", json=[order]).raise_for_status()
    sync_orders([order], mappings=world.mappings, netsuite=NetSuiteHook(), ledger=world.ledger, run_id="setup")
    sales_order = next(r for r in world.records("salesOrder") if r["externalId"] == f"AMZ-SO-{order['orderId']}")
    first, second = _fulfill(world, sales_order), _fulfill(world, sales_order)  # one unit each, two boxes shipped apart
    for ups in (first, second):
        NetSuiteHook().update_records("itemFulfillment", [{"internalId": ups["internalId"], "shipMethod": {"name": "UPS Ground"}}])
    today = dt.datetime.now(dt.UTC).date().isoformat()
    [period] = [p for p in world.records("accountingPeriod") if not p.get("isQuarter") and not p.get("isYear")
                and not p.get("fiscalCalendar") and p["startDate"][:10] <= today <= p["endDate"][:10]]
    world.netsuite_admin.post("/_sandbox/records/accountingPeriod", json=[{"internalId": period["internalId"], "closed": True}]).raise_for_status()

    found, _ = find_fulfillments(NetSuiteHook(), fulfillment_ids=[first["internalId"], second["internalId"]])
    amazon = SellingPartnerHook("amazon_sp_api_na", backoff_base=0.01)
    result = confirm_shipments(found, amazon=amazon, mappings=world.mappings, ledger=world.ledger, run_id="run-1")
    bill_confirmed(result["confirmed"], netsuite=NetSuiteHook(), mappings=world.mappings, ledger=world.ledger, run_id="run-1")

    assert result["counts"]["synced"] == 2, "Amazon has both packages"
    failed = {r.source_key: r for r in world.ledger.failed(dag_id=DAG_ID)}
    assert {r.record_type for r in failed.values()} == {"cashSale"}
    assert failed[first["internalId"]].reason == "TRAN_PERIOD_CLOSED"
    assert failed[second["internalId"]].reason == "earlier_shipment_not_billed"
    assert world.records("cashSale") == []
    confirmed_calls = world.calls(world.amazon_admin, "confirmShipment")

    world.netsuite_admin.post("/_sandbox/records/accountingPeriod", json=[{"internalId": period["internalId"], "closed": False}]).raise_for_status()
    statuses = replay_records(list(failed.values()), ledger=world.ledger, run_id="replay-1")

    assert set(statuses.values()) == {"synced"}
    assert world.calls(world.amazon_admin, "confirmShipment") == confirmed_calls, "billing's replay never confirms again"
    totals = sorted(Decimal(str(r["total"])) for r in world.records("cashSale"))
    assert totals == [Decimal("12.99"), Decimal("12.99")]
