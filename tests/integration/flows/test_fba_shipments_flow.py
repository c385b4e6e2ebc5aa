"""The FBA shipments flow against both emulators (no scheduler: what the DAG's tasks run). The report
comes from the SP-API emulator's Amazon-fulfilled orders; fulfillments and billing documents land in the
NetSuite emulator, which moves the FBA stock and books the documents into Amazon clearing."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from decimal import Decimal

from amazon_netsuite.flows.fba_shipments import DAG_ID, REPORT_TYPE, extract_region, load_region, parse_report
from amazon_netsuite.mappings import load_mappings

WINDOW = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None)


def run_fba(world, run_id: str, *, mappings=None, ledger=None):
    """What the DAG's region groups do: the report per region, extract, load. Returns the counts."""
    mappings = mappings or world.mappings
    amazon, netsuite = world.hooks()
    total = {}
    for hook in amazon:
        end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
        report_id = hook.create_report(REPORT_TYPE, data_start_time=end - dt.timedelta(days=29), data_end_time=end)
        report = hook.wait_for_report(report_id, poll_interval=0.05)
        extracted = extract_region(hook, {**report, "advance_to": None}, mappings=mappings, run_id=run_id)
        loaded = load_region(extracted, mappings=mappings, netsuite=netsuite, ledger=ledger or world.ledger, run_id=run_id)
        for key, value in loaded["counts"].items():
            total[key] = total.get(key, 0) + value
        world.last_shipped = loaded["shipped"]
    return total


def _fba_shipped(world):
    return [o for o in world.amazon_orders()
            if o["fulfillment"]["fulfilledBy"] == "AMAZON" and o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]


def _stock(world, item, location):
    rows = world.netsuite_admin.get("/_sandbox/stock", params={"item": item, "location": location}).json()
    return Decimal(rows[0]["onHand"]) if rows else Decimal(0)


def test_given_shipped_fba_orders_then_fulfilled_and_billed_once_stock_moves_and_rerun_writes_nothing(world):
    world.reset(orders=80)
    world.run("orders-1")
    shipped = _fba_shipped(world)
    assert len(shipped) > 5
    fba = {m.marketplace_id: m.fba_location_id for m in world.mappings.marketplaces.values()}
    units: dict[tuple[str, str], Decimal] = {}
    for order in shipped:
        for item in order["orderItems"]:
            sku = world.mappings.find_sku(item["product"]["sellerSku"], order["salesChannel"]["marketplaceId"])
            key = (sku.netsuite_item_id, fba[order["salesChannel"]["marketplaceId"]])
            units[key] = units.get(key, Decimal(0)) + item["quantityOrdered"] * sku.units_per_sku
    before = {key: _stock(world, *key) for key in units}

    counts = run_fba(world, "fba-1")
    assert counts["synced"] == len(shipped) and counts.get("failed", 0) == 0, counts

    fulfillments = {f["externalId"]: f for f in world.records("itemFulfillment")}
    sales_orders = {so["externalId"]: so for so in world.records("salesOrder")}
    for order in shipped:
        so = sales_orders[f"AMZ-SO-{order['orderId']}"]
        assert so["status"] == "Billed", order["orderId"]
    assert len(fulfillments) == len(shipped)
    for key, moved in units.items():
        assert _stock(world, *key) == before[key] - moved, key
    billed = world.records("cashSale") + world.records("invoice")
    assert len(billed) == len(shipped)
    assert sum(Decimal(str(d["total"])) for d in billed) == sum(
        Decimal(o["proceeds"]["grandTotal"]["amount"]) for o in shipped)
    invoices = {d["externalId"] for d in world.records("invoice")}
    assert all(i.startswith("AMZ-INV-") for i in invoices) and all(
        d["externalId"].startswith("AMZ-CS-") for d in world.records("cashSale"))
    assert any("TRK" in line for line in world.last_shipped + [""]) or world.last_shipped == []

    adds = world.calls(world.netsuite_admin, "addList")
    again = run_fba(world, "fba-2")
    assert again.get("synced", 0) == 0 and again["unchanged"] == len(shipped)
    assert world.calls(world.netsuite_admin, "addList") == adds  # nothing written
    assert len(world.records("itemFulfillment")) == len(shipped)


def test_given_a_shipment_before_its_order_is_synced_then_it_waits_then_fulfills_or_dead_letters_when_old(world):
    world.reset(orders=30)
    shipped = _fba_shipped(world)
    counts = run_fba(world, "fba-early")
    assert counts["waiting_for_order"] == len(shipped) and world.records("itemFulfillment") == []
    pending = world.ledger.pending(dag_id=DAG_ID)
    assert {r.source_key for r in pending} and all(r.replay["shipment"]["items"] for r in pending)

    world.run("orders-1")
    counts = run_fba(world, "fba-later")
    assert counts["synced"] == len(shipped)
    assert world.ledger.pending(dag_id=DAG_ID) == []


def test_given_a_shipment_whose_order_never_syncs_then_order_not_synced_after_the_wait(world, monkeypatch):
    world.reset(orders=30)
    monkeypatch.setenv("AMAZON_NETSUITE_FBA_WAIT_DAYS", "0")
    counts = run_fba(world, "fba-old")
    failed = world.ledger.failed(dag_id=DAG_ID)
    assert counts["failed"] == len(failed) > 0 and {r.reason for r in failed} == {"order_not_synced"}
    assert "sync the order" in failed[0].last_error


def test_given_an_order_cancelled_in_netsuite_then_its_shipment_is_dead_lettered_not_fulfilled(world):
    world.reset(orders=40)
    world.run("orders-1")
    order = _fba_shipped(world)[0]
    _amazon, netsuite = world.hooks()
    so = netsuite.get_records("salesOrder", [f"AMZ-SO-{order['orderId']}"], by="externalId")[f"AMZ-SO-{order['orderId']}"]
    closing = {"externalId": so["externalId"], "entity": so["entity"],
               "itemList": [{"line": line["line"], "item": line["item"], "quantity": line["quantity"], "isClosed": True}
                            for line in so["itemList"]]}
    assert netsuite.upsert_records("salesOrder", [closing])[0].ok
    run_fba(world, "fba-1")
    record = next(r for r in world.ledger.failed(dag_id=DAG_ID) if r.replay["shipment"]["amazon_order_id"] == order["orderId"])
    assert record.reason == "order_cancelled"
    assert not any(f["createdFrom"]["internalId"] == so["internalId"] for f in world.records("itemFulfillment"))


def test_given_a_split_multipack_order_then_two_fulfillments_of_pack_units_and_two_documents_summing_to_its_total(world, tmp_path, monkeypatch):
    mappings_dir = tmp_path / "mappings"
    shutil.copytree(load_mappings().directory, mappings_dir)
    with (mappings_dir / "sku_items.csv").open("a") as handle:
        handle.write("ACME-TEE-BLK-M-3PK,,B0ACMETE3P,502,AFN,3,SHIRT,0,false\n")
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(mappings_dir))
    mappings = load_mappings()
    world.mappings = mappings
    world.reset(orders=40)
    seeded = next(o for o in _fba_shipped(world) if o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER")
    order = copy.deepcopy(seeded)
    order["orderId"] = "114-9999999-0000001"
    item = order["orderItems"][0]
    item["product"]["sellerSku"] = "ACME-TEE-BLK-M-3PK"
    item["quantityOrdered"] = 2
    item["fulfillment"]["quantityFulfilled"] = 2
    order["orderItems"] = [item]
    order["proceeds"]["grandTotal"] = item["proceeds"]["proceedsTotal"]
    order["proceeds"]["breakdowns"] = [b for b in item["proceeds"]["breakdowns"]]
    package = order["packages"][0]
    order["packages"] = [
        {**package, "packageReferenceId": "1", "trackingNumber": "TRKSPLIT1",
         "packageItems": [{"orderItemId": item["orderItemId"], "quantity": 1}]},
        {**package, "packageReferenceId": "2", "trackingNumber": "TRKSPLIT2",
         "packageItems": [{"orderItemId": item["orderItemId"], "quantity": 1}]},
    ]
    world.amazon_admin.post("/_sandbox/orders", json=[order]).raise_for_status()
    world.run("orders-1")
    counts = run_fba(world, "fba-1", mappings=mappings)
    assert counts.get("failed", 0) == 0, counts
    so = next(s for s in world.records("salesOrder") if s["externalId"] == f"AMZ-SO-{order['orderId']}")
    mine = [f for f in world.records("itemFulfillment") if f["createdFrom"]["internalId"] == so["internalId"]]
    assert len(mine) == 2
    assert sorted(line["quantity"] for f in mine for line in f["itemList"]) == [3.0, 3.0]  # 1 x 3-pack each
    assert sorted(p["packageTrackingNumber"] for f in mine for p in f.get("packageList") or []) == ["TRKSPLIT1", "TRKSPLIT2"]
    documents = [d for d in world.records("cashSale") if d["createdFrom"]["internalId"] == so["internalId"]]
    assert len(documents) == 2
    assert sum(Decimal(str(d["total"])) for d in documents) == Decimal(order["proceeds"]["grandTotal"]["amount"])


def test_given_netsuite_failing_and_answers_lost_then_retried_and_each_shipment_written_once(world):
    world.reset(orders=40)
    world.run("orders-1")
    shipped = _fba_shipped(world)
    # 503 twice, then a write whose answer is lost (NetSuite saved it): the hook retries; DUP_RCRD = written
    world.netsuite_admin.post("/_sandbox/faults", json={"operation": "addList", "status": 503, "times": 2}).raise_for_status()
    world.netsuite_admin.post("/_sandbox/faults", json={"operation": "addList", "status": 503, "times": 1,
                                                        "after": True}).raise_for_status()
    counts = run_fba(world, "fba-1")
    assert counts["synced"] == len(shipped) and counts.get("failed", 0) == 0, counts
    external_ids = [f["externalId"] for f in world.records("itemFulfillment")]
    assert len(external_ids) == len(set(external_ids)) == len(shipped)
    documents = [d["externalId"] for d in world.records("cashSale") + world.records("invoice")]
    assert len(documents) == len(set(documents)) == len(shipped)


def test_given_duplicate_rows_and_a_malformed_report_then_one_shipment_and_a_clear_error():
    mappings = load_mappings()
    header = "amazon-order-id\tshipment-id\tshipment-item-id\tamazon-order-item-id\tsku\tquantity-shipped\tshipment-date\tcarrier\ttracking-number\tsales-channel\n"
    row = "111-1-1\tDABC\tDI1\t123\tACME-TEE-BLK-M\t1\t2026-11-20T10:00:00+00:00\tAMZN_US\tTBA1\tAmazon.com\n"
    parsed = parse_report(header + row + row + "111-1-2\tDXYZ\tDI2\t124\tACME-TEE-BLK-M\t0\t2026-11-20T10:00:00+00:00\tAMZN_US\tTBA2\tAmazon.com\n", mappings)
    assert [s.shipment_id for s in parsed.shipments] == ["DABC"] and len(parsed.shipments[0].items) == 1
    assert parsed.rejected[0][:2] == ("DXYZ", "malformed_row")
    import pytest

    from amazon_netsuite.flows.fba_shipments import ReportFormatError

    with pytest.raises(ReportFormatError):
        parse_report("<html>Service Unavailable</html>\n", mappings)
