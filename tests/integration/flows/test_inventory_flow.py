"""netsuite_inventory_to_amazon's NetSuite side in process, on both NetSuite backends (``soap``:
``getItemAvailability`` filtered by ``lastQtyAvailableChange``; ``rest``: SuiteQL ``inventoryitemlocations``
filtered by ``lastquantityavailablechange``), against the same sandbox state: the quantities planned per
SKU, a quiet run that reads one filtered availability and sends nothing, a stock move that sends only its
SKUs, an inactivated item that goes to 0, and the FBA adjustment. Amazon's side (the feed operator) is
covered by tests/dags/test_inventory_dag.py; here Amazon accepts every message of the staged documents.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from amazon_netsuite import staging
from amazon_netsuite.flows import inventory
from amazon_netsuite.netsuite.hook import NetSuiteHook
from tests.integration.flows.conftest import FAST_RETRY, World, backend_world

US = "ATVPDKIKX0DER"
NA_LOCATIONS = ("1", "4")  # include/mappings: US warehouse 1 and CA warehouse 4 serve the NA region


@pytest.fixture(params=["soap", "rest"])
def world(request, servers, tmp_path, monkeypatch):
    w = backend_world(servers, tmp_path, monkeypatch, request.param)
    monkeypatch.setenv(staging.STAGING_ENV, f"file://{tmp_path}/staging")
    w.reset(orders=0)
    assert NetSuiteHook().api == request.param
    return w


def _targets(world: World) -> list[dict]:
    return [{"conn_id": t.conn_id, "region": t.region, "marketplace_ids": list(t.marketplace_ids), "seller_id": "A1SELLER"}
            for t in world.mappings.sp_api_targets()]


def _plan(world: World, run_id: str) -> dict[str, dict[str, int]]:
    """One read_and_plan; Amazon accepts every message (the ledger's pushed state moves). Region -> SKU -> qty sent."""
    planned = inventory.read_and_plan(netsuite=NetSuiteHook(**FAST_RETRY), ledger=world.ledger, mappings=world.mappings,
                                      run_id=run_id, targets=_targets(world))
    sent: dict[str, dict[str, int]] = {}
    for region in planned["regions"]:
        feeds = []
        for n, uri in enumerate(region["document_uris"]):
            document = staging.load(uri)
            for message in document["messages"]:
                sent.setdefault(region["region"], {})[message["sku"]] = int(message["patches"][0]["value"][0]["quantity"])
            report = staging.stage({"issues": []}, dag_id=inventory.DAG_ID, run_id=run_id, name=f"report-{region['region']}-{n}")
            feeds.append({"feedId": f"{run_id}-{n}", "processingStatus": "DONE", "document_uri": uri, "report_uri": report})
        inventory.record_feed_results({"feeds": feeds}, ledger=world.ledger, run_id=run_id, region=region["region"])
    world.last_planned = planned
    return sent


def _available(world: World, item: str, locations=NA_LOCATIONS) -> Decimal:
    total = Decimal(0)
    for location in locations:
        rows = world.netsuite_admin.get("/_sandbox/stock", params={"item": item, "location": location}).json()
        total += sum((Decimal(r["available"]) for r in rows), Decimal(0))
    return total


def _adjust(world: World, item: str, location: str, qty: float, subsidiary: str = "2") -> None:
    world.netsuite_admin.post("/_sandbox/records/inventoryAdjustment", json=[{
        "subsidiary": {"internalId": subsidiary}, "adjLocation": {"internalId": location},
        "inventoryList": [{"item": {"internalId": item}, "location": {"internalId": location}, "adjustQtyBy": qty}],
    }]).raise_for_status()


def _reads(world: World) -> dict[str, int]:
    return {op: world.calls(world.netsuite_admin, op)
            for op in ("getItemAvailability", "search", "getList", "get", "suiteql", "restGet")}


def test_given_stock_then_every_mfn_sku_gets_its_quantity_and_later_runs_send_only_what_moved(world):
    start = _reads(world)
    first = _plan(world, "r1")
    used = {op: n - start[op] for op, n in _reads(world).items()}
    if NetSuiteHook().api == "rest":  # item states + full availability: two SuiteQL queries, no record GET
        assert (used["suiteql"], used["restGet"], used["getItemAvailability"], used["getList"]) == (2, 0, 0, 0), used
    else:
        assert (used["getList"], used["getItemAvailability"], used["suiteql"]) == (1, 1, 0), used
    na = first["na"]
    assert na["ACME-MUG-11OZ"] == max(0, int(_available(world, "501")) - 2)  # safety stock 2
    assert na["ACME-MUG-11OZ-6PK"] == int(_available(world, "501") // 6)  # 6 units a pack
    assert na["ACME-BOTTLE-750"] == max(0, int(_available(world, "504")) - 5)
    assert na["ACME-CANDLE-LAV"] == 0, "publish=false: 0"
    assert "ACME-MUG-11OZ-FBA" not in na, "FBA SKUs are never pushed"
    assert first["eu"]["ACME-KETTLE-UK"] == max(0, int(_available(world, "506", ("7",))) - 1)

    before = _reads(world)
    assert _plan(world, "r2") == {}, "nothing moved: nothing sent"
    used = {op: n - before[op] for op, n in _reads(world).items()}
    if NetSuiteHook().api == "rest":  # one SuiteQL item search (states) + one filtered availability query
        assert (used["suiteql"], used["restGet"], used["getItemAvailability"], used["search"]) == (2, 0, 0, 0), used
    else:
        assert (used["getItemAvailability"], used["search"], used["suiteql"]) == (1, 1, 0), used
    assert world.last_planned["netsuite"]["full_items"] == 0, "every item was read whole once: only changes now"

    _adjust(world, "501", "1", 17)
    moved = _plan(world, "r3")
    assert set(moved) == {"na"} and set(moved["na"]) == {"ACME-MUG-11OZ", "ACME-MUG-11OZ-6PK"}, moved
    assert moved["na"]["ACME-MUG-11OZ"] == na["ACME-MUG-11OZ"] + 17
    assert world.last_planned["netsuite"]["changed_rows"] >= 1


def test_given_an_item_inactivated_in_netsuite_then_its_skus_go_to_zero(world):
    first = _plan(world, "r1")
    assert first["na"]["ACME-BOTTLE-750"] > 0
    [result] = NetSuiteHook(**FAST_RETRY).update_records("inventoryItem", [{"internalId": "504", "isInactive": True}])
    assert result.ok, result

    assert _plan(world, "r2") == {region: {"ACME-BOTTLE-750": 0} for region in first if "ACME-BOTTLE-750" in first[region]}


def test_given_fba_counts_then_one_adjustment_a_day_sets_netsuite_to_amazons(world):
    counts = {f"{US}|ACME-TEE-BLK-M": 3}
    netsuite = NetSuiteHook(**FAST_RETRY)
    kwargs = {"netsuite": netsuite, "ledger": world.ledger, "mappings": world.mappings, "account_id": "5200",
              "day": "2026-12-02"}

    report = inventory.fba_reconcile(counts, run_id="fba-1", post_adjustment=True, **kwargs)

    assert report["difference_count"] >= 1 and report["adjustments"], report
    assert _available(world, "502", ("2",)) == 3  # the US FBA location = Amazon's fulfillable units
    again = inventory.fba_reconcile(counts, run_id="fba-2", post_adjustment=True, **kwargs)
    assert again["adjustments"] == [] and again["difference_count"] == 0, again
