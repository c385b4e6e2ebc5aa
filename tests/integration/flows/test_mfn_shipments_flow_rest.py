"""The MFN shipments flow's find step on the REST backend (``extra.api = "rest"``): the SuiteQL transaction
search returns ``shipStatus`` (``transaction.shipstatus``) and ``createdFrom`` (one query over
``PreviousTransactionLineLink`` per page), which ``find_fulfillments`` filters on
(docs/netsuite-quirks.md, REST backend)."""

from __future__ import annotations

import datetime as dt

import pytest

from amazon_netsuite.flows.mfn_shipments import find_fulfillments
from tests.integration.flows.conftest import backend_world
from tests.integration.flows.test_mfn_shipments_flow import fulfillments_of_every_kind


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    return backend_world(servers, tmp_path, monkeypatch, "rest")


def test_given_fulfillments_of_every_kind_on_rest_then_only_shipped_mfn_amazon_ones_with_two_suiteql_queries(world):
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    shipped = fulfillments_of_every_kind(world)
    before = world.netsuite_admin.get("/_sandbox/calls").json()["operations"]

    found, counts = find_fulfillments(NetSuiteHook(), since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))

    assert sorted(e["fulfillment"]["internalId"] for e in found) == sorted(f["internalId"] for f in shipped)
    assert all(e["fulfillment"]["packageList"] and e["fulfillment"]["itemList"] for e in found), "full records"
    assert all(e["sales_order"]["internalId"] == e["fulfillment"]["createdFrom"]["internalId"] for e in found)
    assert (counts["not_shipped"], counts["fba_fulfillment"], counts["not_amazon"]) == (1, 1, 1)
    after = world.netsuite_admin.get("/_sandbox/calls").json()["operations"]

    def delta(operation):
        return after.get(operation, {}).get("calls", 0) - before.get(operation, {}).get("calls", 0)

    # one page of the transaction search + one PreviousTransactionLineLink query; then one GET per sales
    # order of the 12 shipped fulfillments and per fulfillment of ours (REST has no list read)
    assert delta("suiteql") == 2
    assert delta("restGet") == 12 + 10


def test_given_a_link_query_the_sandbox_does_not_emulate_then_refused_not_answered_empty(world):
    from amazon_netsuite.netsuite.errors import NetSuiteError
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    world.reset(orders=0)
    backend = NetSuiteHook().backend
    with pytest.raises(NetSuiteError, match="ShipRcpt"):
        backend.suiteql_all("SELECT nextdoc, previousdoc FROM previoustransactionlinelink WHERE nextdoc IN ('1')")
