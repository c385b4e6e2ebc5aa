"""The FBA shipments flow on the REST backend (``extra.api = "rest"``): the scenarios of
tests/integration/flows/test_fba_shipments_flow.py collected again, the item fulfillments and billing
documents written with ``!transform`` from their sales orders (docs/netsuite-quirks.md, REST backend)."""

from __future__ import annotations

import pytest

from tests.integration.flows.conftest import backend_world
from tests.integration.flows.test_fba_shipments_flow import (  # noqa: F401 - collected here on the REST backend
    test_given_a_shipment_before_its_order_is_synced_then_it_waits_then_fulfills_or_dead_letters_when_old,
    test_given_a_split_multipack_order_then_two_fulfillments_of_pack_units_and_two_documents_summing_to_its_total,
    test_given_an_order_cancelled_in_netsuite_then_its_shipment_is_dead_lettered_not_fulfilled,
    test_given_shipped_fba_orders_then_fulfilled_and_billed_once_stock_moves_and_rerun_writes_nothing,
)


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    return backend_world(servers, tmp_path, monkeypatch, "rest")


def test_given_shipped_fba_orders_on_rest_then_every_document_is_a_transform(world):
    from tests.integration.flows.test_fba_shipments_flow import _fba_shipped, run_fba

    world.reset(orders=40)
    world.run("orders-1")
    shipped = _fba_shipped(world)
    counts = run_fba(world, "fba-1")
    assert counts["synced"] == len(shipped) and counts.get("failed", 0) == 0, counts
    admin = world.netsuite_admin
    documents = sum(len(world.records(t)) for t in ("itemFulfillment", "cashSale", "invoice"))
    assert documents >= 2 * len(shipped)
    assert world.calls(admin, "restTransform") == documents and world.calls(admin, "restAdd") == 0
