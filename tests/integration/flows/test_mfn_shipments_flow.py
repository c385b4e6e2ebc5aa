"""``flows.mfn_shipments.find_fulfillments`` against the NetSuite sandbox: which fulfillments are ours to
confirm, read with a handful of calls whatever their number (one search page, one getList of sales orders,
one getList of fulfillments), never one call per order."""

from __future__ import annotations

import datetime as dt

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


def test_given_fulfillments_of_every_kind_when_found_then_only_shipped_mfn_amazon_ones_in_three_calls(world):
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
    before = world.netsuite_admin.get("/_sandbox/calls").json()["operations"]

    found, counts = find_fulfillments(NetSuiteHook(), since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))

    assert sorted(e["fulfillment"]["internalId"] for e in found) == sorted(f["internalId"] for f in shipped)
    assert all(e["fulfillment"]["packageList"] and e["fulfillment"]["itemList"] for e in found), "full records"
    assert (counts["not_shipped"], counts["fba_fulfillment"], counts["not_amazon"]) == (1, 1, 1)
    after = world.netsuite_admin.get("/_sandbox/calls").json()["operations"]

    def delta(operation):
        return after.get(operation, {}).get("calls", 0) - before.get(operation, {}).get("calls", 0)

    assert (delta("search"), delta("getList"), delta("get")) == (1, 2, 0)
