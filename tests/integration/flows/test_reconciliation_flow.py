"""sync_reconciliation's steps in process against both sandboxes, on both NetSuite backends (``soap``;
``rest``: sales orders by externalId and the GL lines on clearing read with SuiteQL, never a record GET).

The world is built as production builds it (tests/dags/test_reconciliation_dag.py builds the same one
through ``airflow dags test``, SOAP only): the orders flow writes the sales orders, the shared billing step
fulfils and bills the shipped ones into Amazon clearing (its fulfillments dated with Amazon's shipTime
timestamps: REST sends their local date), Amazon publishes a settlement of them and the settlements flow
posts it. A clean world reconciles with zero findings; each planted difference is found and named.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

from amazon_netsuite import staging
from amazon_netsuite.flows.orders import extract_orders_by_target, sync_orders
from amazon_netsuite.flows.reconciliation import compare_region, extract_region, finish
from amazon_netsuite.flows.settlements import find_settlement_reports, post_settlement
from amazon_netsuite.netsuite.hook import NetSuiteHook
from tests.dags.test_reconciliation_dag import (
    AFN_ITEMS,
    SETTLEMENT_ID,
    US,
    _align_fba,
    _bill,
    _iso,
    _publish_settlement,
    _shipped,
)
from tests.integration.flows.conftest import FAST_RETRY, World, backend_world

WINDOW = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(params=["soap", "rest"])
def world(request, servers, tmp_path, monkeypatch):
    """Seed 3 (40 orders, no settlements), the orders synced; ``netsuite_default`` on one backend."""
    w = backend_world(servers, tmp_path, monkeypatch, request.param)
    w.servers = servers
    monkeypatch.setenv(staging.STAGING_ENV, f"file://{tmp_path}/staging")
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_IMPORT_DIR", str(tmp_path / "imports"))
    monkeypatch.setenv("AMAZON_NETSUITE_REPORT_POLL_SECONDS", "0.05")  # the merchant listings reports
    (tmp_path / "imports").mkdir()
    for admin in (w.amazon_admin, w.netsuite_admin):
        admin.post("/_sandbox/reset").raise_for_status()
        admin.post("/_sandbox/seed", json={"seed": 3, "orders": 40, "settlements": False}).raise_for_status()
    amazon, netsuite = w.hooks()
    assert netsuite.api == request.param
    orders, failures = extract_orders_by_target(amazon, window=WINDOW)
    assert failures == []
    sync_orders(orders, mappings=w.mappings, netsuite=netsuite, ledger=w.ledger, run_id="orders-1")
    return w


def _settle(world: World) -> None:
    """The settlements flow: every report found is posted."""
    from amazon_netsuite.amazon.hook import hooks_for_targets

    amazon = {h.sp_api_conn_id: h for h in hooks_for_targets(world.mappings.sp_api_targets(), backoff_base=0.01,
                                                              backoff_max=0.2)}
    netsuite = NetSuiteHook(**FAST_RETRY)
    for source in find_settlement_reports(list(amazon.values()), window=None):
        post_settlement(source, ledger=world.ledger, run_id="settle-1", mappings=world.mappings, netsuite=netsuite)
    assert world.ledger.get(f"amazon_settlements_to_netsuite:journalEntry:{SETTLEMENT_ID}").status == "synced"


def _reconcile(world: World, run_id: str = "recon-1") -> dict[str, dict]:
    """What the DAG's mapped region task does, per SP-API connection: extract, then compare."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook

    out = {}
    for target in world.mappings.sp_api_targets():
        spec = {"conn_id": target.conn_id, "region": target.region, "marketplace_ids": list(target.marketplace_ids)}
        hook = SellingPartnerHook(target.conn_id, marketplace_ids=spec["marketplace_ids"])
        try:
            extracted = extract_region(hook, spec, window=WINDOW, ledger=world.ledger, mappings=world.mappings,
                                       run_id=run_id)
        finally:
            hook.close()
        out[target.conn_id] = compare_region(extracted, netsuite=NetSuiteHook(**FAST_RETRY), ledger=world.ledger,
                                             mappings=world.mappings, run_id=run_id)
    return out


def _calls(world: World) -> dict[str, int]:
    return {op: world.calls(world.netsuite_admin, op) for op in ("get", "getList", "restGet", "search", "suiteql")}


def test_given_a_clean_world_then_zero_findings_and_clearing_nets_to_zero(world):
    _bill(_shipped(world.amazon_orders()))  # the fulfillments carry Amazon's shipTime strings as tranDate
    _publish_settlement(world.servers, _shipped(world.amazon_orders(), US))
    _settle(world)
    _align_fba(world.servers, world.ledger)  # Amazon's FBA counts = NetSuite's FBA locations less unsynced AFN orders
    before = _calls(world)

    results = _reconcile(world)

    used = {op: n - before[op] for op, n in _calls(world).items()}
    assert finish(list(results.values()))["findings"] == 0
    na = results["amazon_sp_api_na"]
    assert results["amazon_sp_api_eu"]["checks"]["inventory"]["counts"]["fba_skus"] == 2 * len(AFN_ITEMS)
    [clearing] = na["clearing"]
    assert (clearing["settlement_id"], clearing["net"], clearing["balanced"]) == (SETTLEMENT_ID, "0.00", True)
    assert na["checks"]["orders"]["counts"]["compared"] > 0
    if NetSuiteHook().api == "rest":  # every NetSuite read is a SuiteQL query; no record is fetched one by one
        assert used["restGet"] == 0 and used["search"] == used["getList"] == 0 and used["suiteql"] > 0, used
    else:  # sales orders by search (the inventory check reads its items with getList)
        assert used["search"] > 0 and used["suiteql"] == 0, used


def test_given_planted_differences_then_each_is_found_and_the_run_fails(world):
    from airflow.sdk.exceptions import AirflowFailException

    orders = world.amazon_orders()
    us_shipped = _shipped(orders, US)
    unbilled = min(us_shipped, key=lambda o: o["packages"][0]["shipTime"])
    _bill([o for o in _shipped(orders) if o["orderId"] != unbilled["orderId"]])
    _publish_settlement(world.servers, us_shipped)  # it settles the unbilled order too
    _settle(world)
    _align_fba(world.servers, world.ledger)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    unshipped = [o for o in orders if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"]
    missing = copy.deepcopy(unshipped[0])
    missing["orderId"] = "111-9999999-0000001"
    missing["createdTime"], missing["lastUpdatedTime"] = _iso(old - dt.timedelta(hours=5)), _iso(old)
    changed = copy.deepcopy(unshipped[1])
    changed["proceeds"]["grandTotal"]["amount"] = str(Decimal(changed["proceeds"]["grandTotal"]["amount"]) + Decimal("1.00"))
    changed["lastUpdatedTime"] = _iso(old)
    cancelled = copy.deepcopy(unshipped[2])
    cancelled["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    cancelled["lastUpdatedTime"] = _iso(old)
    world.amazon_admin.post("/_sandbox/orders", json=[missing, changed, cancelled]).raise_for_status()

    results = _reconcile(world)

    found = {(f["kind"], f["record_key"]) for run in world.ledger.reconciliation_runs() if run["run_id"] == "recon-1"
             for f in world.ledger.reconciliation_findings(run_id="recon-1", scope=run["scope"])}
    for expected in (("missing_sales_order", missing["orderId"]), ("total_mismatch", changed["orderId"]),
                     ("cancelled_open", cancelled["orderId"]), ("settled_not_billed", unbilled["orderId"]),
                     ("clearing_not_zero", SETTLEMENT_ID)):
        assert expected in found, (expected, found)
    assert not {k for k, key in found if k == "shipped_not_billed" and key != unbilled["orderId"]}, found
    mismatch = [f for r in results.values() for f in r["checks"]["orders"]["first"] if changed["orderId"] in f]
    assert mismatch, results
    with pytest.raises(AirflowFailException, match="clearing_not_zero=1, settled_not_billed=1"):
        finish(list(results.values()))
