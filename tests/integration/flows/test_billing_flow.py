"""The shared billing step against the emulators: synced Amazon orders, their fulfillments, then one
billing document per shipment into the marketplace's Amazon clearing account, whose GL balance is the
billed grand totals to the cent; re-running writes nothing."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments, inventory_item_ids
from amazon_netsuite.netsuite.records import (
    FulfillmentLine,
    build_item_fulfillment,
    shipment_fulfillment_external_id,
)


def _day(order) -> date:
    """The order's date as a ``date`` (the admin API answers the stored ISO stamp; REST takes YYYY-MM-DD)."""
    value = order["tranDate"]
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _fulfill(netsuite, order, lines, shipment_id):
    record = build_item_fulfillment(external_id=shipment_fulfillment_external_id(shipment_id),
                                    sales_order_id=order["internalId"], ship_date=_day(order),
                                    lines=[FulfillmentLine(n, q) for n, q in lines.items()])
    assert netsuite.add_records("itemFulfillment", [record])[0].ok


def _item_lines(world, order):
    items = inventory_item_ids(world.mappings)
    return {int(line["line"]): Decimal(str(line["quantity"])) for line in order["itemList"]
            if line["item"]["internalId"] in items and not line.get("isClosed")}


def test_given_synced_orders_when_each_ships_then_billed_once_into_clearing_to_the_cent(world):
    world.reset(orders=40)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    orders = [o for o in world.records("salesOrder") if o["status"] != "Closed"]
    assert len(orders) > 10
    shipments = []
    for order in orders:
        lines = _item_lines(world, order)
        _fulfill(netsuite, order, lines, f"SHIP-{order['internalId']}")
    fresh = netsuite.get_records("salesOrder", [o["internalId"] for o in orders])
    for order in orders:
        fields = {f["scriptId"]: f["value"] for f in fresh[order["internalId"]].get("customFieldList") or []}
        shipments.append(ShipmentToBill(
            shipment_id=f"SHIP-{order['internalId']}", amazon_order_id=fields["custbody_amazon_order_id"],
            marketplace_id=fields["custbody_amazon_marketplace_id"], sales_order=fresh[order["internalId"]],
            shipped=_item_lines(world, order), ship_date=_day(order)))
    outcomes = bill_shipments(shipments, netsuite=netsuite, mappings=world.mappings)
    assert [o.status for o in outcomes] == ["billed"] * len(orders), [(o.reason, o.message) for o in outcomes if o.status != "billed"]

    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for shipment, outcome in zip(shipments, outcomes, strict=True):
        marketplace = world.mappings.marketplace(shipment.marketplace_id)
        assert outcome.external_id == ("AMZ-CS-" if marketplace.billing_document == "cash_sale" else "AMZ-INV-") + shipment.shipment_id
        assert outcome.total == Decimal(str(shipment.sales_order["total"]))
        expected[(marketplace.amazon_clearing_account_id, marketplace.subsidiary_id)] += outcome.total
    for (account, subsidiary), total in expected.items():
        gl = world.netsuite_admin.get("/_sandbox/gl", params={"account": account, "subsidiary": subsidiary}).json()
        assert Decimal(gl["balance"]) == total, account
    assert {o["status"] for o in world.records("salesOrder") if o["internalId"] in fresh} == {"Billed"}

    again = bill_shipments(shipments, netsuite=netsuite, mappings=world.mappings)
    assert {o.status for o in again} == {"exists"}
    for (account, subsidiary), total in expected.items():
        gl = world.netsuite_admin.get("/_sandbox/gl", params={"account": account, "subsidiary": subsidiary}).json()
        assert Decimal(gl["balance"]) == total


def test_given_an_order_shipped_in_parts_then_its_documents_add_up_to_its_total(world):
    world.reset(orders=40)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    order = next(o for o in world.records("salesOrder")
                 if o["status"] != "Closed" and sum(_item_lines(world, o).values()) >= 2)
    lines = _item_lines(world, order)
    first_line = min(lines)
    parts = [{first_line: Decimal(1)}, {**{n: q for n, q in lines.items()}, first_line: lines[first_line] - 1}]
    parts = [{n: q for n, q in part.items() if q} for part in parts]
    fields = {f["scriptId"]: f["value"] for f in order.get("customFieldList") or []}
    outcomes = []
    for number, part in enumerate(parts, start=1):
        _fulfill(netsuite, order, part, f"PART-{order['internalId']}-{number}")
    fresh = netsuite.get_records("salesOrder", [order["internalId"]])[order["internalId"]]
    shipments = [ShipmentToBill(f"PART-{order['internalId']}-{n}", fields["custbody_amazon_order_id"],
                                fields["custbody_amazon_marketplace_id"], fresh, part, _day(order))
                 for n, part in enumerate(parts, start=1)]
    outcomes = bill_shipments(shipments, netsuite=netsuite, mappings=world.mappings)
    assert [o.status for o in outcomes] == ["billed", "billed"], [(o.reason, o.message) for o in outcomes]
    assert sum(o.total for o in outcomes) == Decimal(str(order["total"]))
    stored = {r["externalId"]: Decimal(str(r["total"])) for r in world.records(outcomes[0].record_type)}
    assert [stored[o.external_id] for o in outcomes] == [o.total for o in outcomes]


def test_given_a_shipment_of_an_unmapped_marketplace_or_netsuite_refusal_then_failed_with_a_reason(world):
    world.reset(orders=10)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    order = next(o for o in world.records("salesOrder") if o["status"] != "Closed")
    fields = {f["scriptId"]: f["value"] for f in order.get("customFieldList") or []}
    unmapped = ShipmentToBill("X-1", fields["custbody_amazon_order_id"], "A13V1IB3VIYZZH", order, _item_lines(world, order), _day(order))
    not_shipped = ShipmentToBill("X-2", fields["custbody_amazon_order_id"], fields["custbody_amazon_marketplace_id"], order,
                                 _item_lines(world, order), _day(order))
    outcomes = bill_shipments([unmapped, not_shipped], netsuite=netsuite, mappings=world.mappings)
    assert (outcomes[0].status, outcomes[0].reason) == ("failed", "unmapped_marketplace")
    assert outcomes[1].status == "failed" and "fulfilled" in outcomes[1].message  # NetSuite bills only what shipped
