"""The shared billing step on the REST backend (``netsuite_default`` with ``extra.api = "rest"``): the same
scenarios as tests/integration/flows/test_billing_flow.py, the fulfillments and billing documents written
with ``POST /record/v1/salesOrder/{id}/!transform/{type}`` (REST has no initialize + add), the existing ones
found with SuiteQL first. A re-run sends no transform at all."""

from __future__ import annotations

import pytest

from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments
from tests.integration.flows.conftest import backend_world
from tests.integration.flows.test_billing_flow import (  # noqa: F401 - collected here on the REST backend
    _day,
    _fulfill,
    _item_lines,
    test_given_a_shipment_of_an_unmapped_marketplace_or_netsuite_refusal_then_failed_with_a_reason,
    test_given_an_order_shipped_in_parts_then_its_documents_add_up_to_its_total,
    test_given_synced_orders_when_each_ships_then_billed_once_into_clearing_to_the_cent,
)


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    return backend_world(servers, tmp_path, monkeypatch, "rest")


def test_the_world_is_on_rest(world):
    _amazon, netsuite = world.hooks()
    assert netsuite.api == "rest"


def test_given_billed_shipments_when_billed_again_then_no_transform_is_sent(world):
    world.reset(orders=12)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    orders = [o for o in world.records("salesOrder") if o["status"] != "Closed"][:4]
    for order in orders:
        _fulfill(netsuite, order, _item_lines(world, order), f"RE-{order['internalId']}")
    fresh = netsuite.get_records("salesOrder", [o["internalId"] for o in orders])
    shipments = []
    for order in orders:
        fields = {f["scriptId"]: f["value"] for f in fresh[order["internalId"]].get("customFieldList") or []}
        shipments.append(ShipmentToBill(f"RE-{order['internalId']}", fields["custbody_amazon_order_id"],
                                        fields["custbody_amazon_marketplace_id"], fresh[order["internalId"]],
                                        _item_lines(world, order), _day(order)))
    assert {o.status for o in bill_shipments(shipments, netsuite=netsuite, mappings=world.mappings)} == {"billed"}
    transforms = world.calls(world.netsuite_admin, "restTransform")
    assert transforms == 2 * len(orders)  # one fulfillment and one billing document per shipment

    again = bill_shipments(shipments, netsuite=netsuite, mappings=world.mappings)
    assert {o.status for o in again} == {"exists"}
    assert world.calls(world.netsuite_admin, "restTransform") == transforms
