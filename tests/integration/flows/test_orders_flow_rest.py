"""The orders flow end to end on the REST backend (``netsuite_default`` with ``extra.api = "rest"``: record
API + SuiteQL, OAuth 2.0 M2M), the same scenarios as tests/integration/flows/test_orders_flow.py.

The SOAP module's backend-neutral classes are collected here again with a REST ``world``; the scenarios
whose faults name SOAP operations have REST twins below. One module, so the suite runs the heavy
scenarios twice only where the backend matters.
"""

from __future__ import annotations

import pytest

from amazon_netsuite.flows.orders import DAG_ID
from amazon_netsuite.ledger import Ledger
from tests.integration.flows.conftest import FAST_RETRY, World, _sales_orders_by_external_id, backend_world
from tests.integration.flows.test_orders_flow import TestFailures as _Failures
from tests.integration.flows.test_orders_flow import TestThousandOrders as _ThousandOrders
from tests.integration.flows.test_orders_flow import TestUpdatesAndStatuses as _UpdatesAndStatuses
from tests.integration.flows.test_orders_flow import (  # noqa: F401 - collected here on the REST backend
    test_given_customer_of_another_integration_with_same_email_then_used_not_taken_over,
)


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    return backend_world(servers, tmp_path, monkeypatch, "rest")


def _outcome(world: World) -> dict:
    """Per sales order: total and customer (by externalId and name: concurrent creates number customers
    in whatever order their requests land, so internal ids differ from run to run)."""
    return {k: (v[0]["total"], v[0]["entity"].get("externalId"), v[0]["entity"].get("name"))
            for k, v in _sales_orders_by_external_id(world).items()}


class TestThousandOrders(_ThousandOrders):
    pass


class TestUpdatesAndStatuses(_UpdatesAndStatuses):
    pass


class TestFailures(_Failures):
    def test_given_throttling_and_concurrency_faults_then_outcome_identical(self, world):
        """REST twin of the SOAP scenario: 429 on record writes, 503 on SuiteQL and on writes whose
        answer is lost after the work was done."""
        world.reset(orders=200)
        world.run("clean")
        clean = _outcome(world)

        world.reset(orders=200)
        world.ledger = Ledger(world.ledger.url.replace("ledger.db", "ledger-faults.db"))
        admin = world.netsuite_admin
        admin.post("/_sandbox/faults", json={"operation": "restUpsert", "status": 429, "times": 5}).raise_for_status()
        admin.post("/_sandbox/faults", json={"operation": "suiteql", "status": 503, "times": 2}).raise_for_status()
        admin.post("/_sandbox/faults", json={"operation": "restUpsert", "status": 503, "times": 2,
                                             "after": True}).raise_for_status()
        world.run("faulty")

        assert _outcome(world) == clean
        assert all(len(v) == 1 for v in _sales_orders_by_external_id(world).values())
        assert admin.get("/_sandbox/calls").json()["operations"]["restUpsert"]["throttled"] == 0
        assert world.calls(admin, "restUpsert") > len(clean)  # the refused requests were sent again


def test_the_world_is_on_rest(world):
    amazon, netsuite = world.hooks()
    assert netsuite.api == "rest"


def test_given_a_rerun_of_the_same_window_then_no_rest_writes_and_matching_costs_few_queries(world):
    world.reset(orders=120)
    world.run("run-1")
    writes_before = world.calls(world.netsuite_admin, "restUpsert") + world.calls(world.netsuite_admin, "restUpdate")
    queries_before = world.calls(world.netsuite_admin, "suiteql")

    counts = world.run("run-2")

    assert counts.get("synced", 0) == 0 and counts["unchanged"] > 0
    assert world.calls(world.netsuite_admin, "restUpsert") + world.calls(world.netsuite_admin, "restUpdate") == writes_before
    assert world.calls(world.netsuite_admin, "suiteql") - queries_before <= 2  # adoption check (+ externalId lookup)


def test_given_netsuite_down_past_retries_then_orders_dead_lettered_for_replay_and_replay_syncs(world):
    from amazon_netsuite.ledger.replay import replay_records
    from amazon_netsuite.netsuite.errors import NetSuiteError

    world.reset(orders=30)
    world.netsuite_admin.post("/_sandbox/faults", json={"operation": "restUpsert", "status": 503,
                                                       "times": 10 * FAST_RETRY["max_attempts"]}).raise_for_status()
    with pytest.raises(NetSuiteError):
        world.run("run-1")
    world.netsuite_admin.delete("/_sandbox/faults").raise_for_status()

    failed = world.ledger.failed(dag_id=DAG_ID)
    assert failed and {r.reason for r in failed} <= {"netsuite_unavailable", "customer_error"}
    assert set(replay_records(failed, ledger=world.ledger, run_id="replay").values()) == {"synced"}
