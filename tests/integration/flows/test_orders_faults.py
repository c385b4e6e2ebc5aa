"""The orders flow under every fault the sandboxes can inject: nothing lost, nothing duplicated.

Each case injects one fault, runs the flow (it may fail, as the task would), checks that every order it
did not write is in the ledger as failed with a reason (never silently missing), then re-runs the flow
the way an Airflow retry does and checks every syncable order is in NetSuite exactly once.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.integration.flows.conftest import FAST_RETRY, SYNCED, World, _sales_orders_by_external_id

AMAZON_FAULTS = [
    pytest.param({"operation": "searchOrders", "status": 429, "times": 6}, id="searchOrders-429-storm"),
    pytest.param({"operation": "searchOrders", "status": 500, "times": 2}, id="searchOrders-500"),
    pytest.param({"operation": "searchOrders", "status": 503, "times": 3}, id="searchOrders-503"),
    pytest.param({"operation": "searchOrders", "status": 200, "body": '{"orders": null}',
                  "content_type": "application/json", "times": 2}, id="searchOrders-orders-null"),
    pytest.param({"operation": "searchOrders", "status": 200, "body": '{"orders": null}',
                  "content_type": "application/json", "times": 50}, id="searchOrders-orders-null-always"),
    pytest.param({"operation": "lwaToken", "status": 503, "times": 2}, id="lwa-503"),
]
NETSUITE_FAULTS = [
    pytest.param({"operation": "getList", "status": 503, "times": 2}, id="getList-503"),
    pytest.param({"operation": "upsertList", "fault": "UnexpectedErrorFault", "times": 2}, id="upsertList-unexpected"),
    pytest.param({"operation": "upsertList", "fault": "ExceededConcurrentRequestLimitFault", "times": 3},
                 id="upsertList-concurrency"),
    pytest.param({"operation": "upsertList", "status": 503, "times": 1, "after": True}, id="upsertList-lost-response"),
    pytest.param({"operation": "upsertList", "status": 503, "times": FAST_RETRY["max_attempts"]},
                 id="upsertList-down-past-retries"),
    pytest.param({"operation": "upsertList", "fault": "InvalidCredentialsFault", "times": 1}, id="upsertList-auth"),
    pytest.param({"operation": "search", "status": 503, "times": 1}, id="search-503"),
]


def _check_nothing_lost(world: World, orders: list[dict], unread: set[str]) -> None:
    """Every syncable order read from Amazon is in NetSuite, or in the ledger as failed with a reason.
    Orders of a region whose read failed were not read at all: the failed task re-reads that window
    (``unread`` marketplaces)."""
    landed = _sales_orders_by_external_id(world)
    for order in orders:
        if order["fulfillment"]["fulfillmentStatus"] not in SYNCED:
            continue
        if order["salesChannel"]["marketplaceId"] in unread:
            continue
        if f"AMZ-SO-{order['orderId']}" in landed:
            continue
        record = world.ledger.get(f"amazon_orders_to_netsuite:salesOrder:{order['orderId']}")
        assert record is not None and record.status == "failed" and record.reason, (
            f"order {order['orderId']} is neither in NetSuite nor dead-lettered: {record}")


def _check_each_once(world: World, orders: list[dict]) -> None:
    landed = _sales_orders_by_external_id(world)
    syncable = {f"AMZ-SO-{o['orderId']}" for o in orders if o["fulfillment"]["fulfillmentStatus"] in SYNCED}
    assert set(landed) == syncable
    assert all(len(v) == 1 for v in landed.values())
    customers = Counter(c.get("externalId") for c in world.records("customer"))
    assert all(n == 1 for key, n in customers.items() if key)
    assert world.ledger.failed(dag_id="amazon_orders_to_netsuite") == []


@pytest.mark.parametrize("fault", AMAZON_FAULTS + NETSUITE_FAULTS)
def test_given_fault_when_run_then_retried_run_lands_each_order_once(world, fault):
    from amazon_netsuite.amazon.errors import SellingPartnerError
    from amazon_netsuite.netsuite.errors import NetSuiteError

    world.reset(orders=60)
    orders = world.amazon_orders()
    admin = world.netsuite_admin if fault in [p.values[0] for p in NETSUITE_FAULTS] else world.amazon_admin
    admin.post("/_sandbox/faults", json=fault).raise_for_status()
    unread: set[str] = set()
    try:
        _, failures = world.run_regions("attempt-1")  # a region whose read failed: the task would fail
        unread = {m for f in failures for m in f.marketplace_ids}
    except (SellingPartnerError, NetSuiteError):
        pass  # the task fails and Airflow retries it; what matters is what the ledger says meanwhile
    _check_nothing_lost(world, orders, unread)
    if admin is world.amazon_admin:
        admin.delete("/_sandbox/faults").raise_for_status()
    world.run("attempt-2", force=True)
    _check_each_once(world, orders)
