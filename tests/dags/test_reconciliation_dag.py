"""sync_reconciliation end to end with ``airflow dags test`` against the sandbox.

The world is built the way production builds it: the orders DAG writes the sales orders, the shared
billing step (flows/billing.py, as the FBA and MFN flows call it) bills the shipped orders into Amazon
clearing, Amazon publishes a settlement of those orders and the settlements DAG posts it. A clean world
reconciles with zero findings; each planted difference is found and named, and the run fails.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from amazon_netsuite.ledger import Ledger
from tests.dags.backends import BACKENDS, assert_only_through, connection_env
from tests.dags.test_dag_runs import _dags_test

WINDOW = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
US = "ATVPDKIKX0DER"
SETTLEMENT_ID = "77000000001"


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def world(servers, airflow_env, tmp_path, monkeypatch, netsuite_api):  # noqa: F811 - the shared fixtures
    """Sandbox seeded without settlements; orders synced by the orders DAG; env for the next DAGs (and the
    in-process billing, _bill), ``netsuite_default`` on ``netsuite_api``."""
    for url in servers.urls.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{url}/_sandbox/seed", json={"seed": 3, "orders": 40, "settlements": False}, timeout=60).raise_for_status()
    env = {**airflow_env, **connection_env(servers, netsuite_api)}
    ledger_db = tmp_path / "ledger.db"
    env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})
    env["AMAZON_NETSUITE_ARCHIVE_DIR"] = str(tmp_path / "archive")
    for key, value in env.items():
        if key.startswith("AIRFLOW_CONN_") or key.startswith("AMAZON_NETSUITE_"):
            monkeypatch.setenv(key, value)
    done = _dags_test(env, "amazon_orders_to_netsuite", WINDOW)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    orders = httpx.get(f"{servers.urls['amazon']}/_sandbox/orders", timeout=30).json()
    return env, Ledger(f"sqlite:///{ledger_db}"), orders


def _bill(orders: list[dict]) -> list[str]:
    """Fulfil and bill each order in full through the shared billing step; returns the billed order ids."""
    from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from amazon_netsuite.netsuite.records import (
        FulfillmentLine,
        build_item_fulfillment,
        sales_order_external_id,
    )

    netsuite, mappings = NetSuiteHook(), load_mappings()
    external = {o["orderId"]: sales_order_external_id(o["orderId"]) for o in orders}
    sales_orders = netsuite.get_records("salesOrder", list(external.values()), by="externalId")
    shipments, fulfillments = [], []
    initialized = netsuite.initialize_records("itemFulfillment", "salesOrder",
                                              [str(sales_orders[e]["internalId"]) for e in external.values()])
    for order in orders:
        so = sales_orders[external[order["orderId"]]]
        record = initialized[str(so["internalId"])]
        assert isinstance(record, dict), record
        lines = [FulfillmentLine(int(line["orderLine"]), Decimal(str(line["quantity"])),
                                 (line.get("location") or so.get("location") or {}).get("internalId"))
                 for line in record["itemList"]]
        fulfillments.append(build_item_fulfillment(external_id=f"AMZ-IF-{order['orderId']}", sales_order_id=so["internalId"],
                                                   lines=lines, ship_date=order["packages"][0]["shipTime"]))
        shipments.append((order, {line.order_line: line.quantity for line in lines}))
    results = netsuite.add_records("itemFulfillment", fulfillments)
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]
    fresh = netsuite.get_records("salesOrder", list(external.values()), by="externalId")
    outcomes = bill_shipments([
        ShipmentToBill(shipment_id=f"SHIP-{order['orderId']}", amazon_order_id=order["orderId"],
                       marketplace_id=order["salesChannel"]["marketplaceId"], sales_order=fresh[external[order["orderId"]]],
                       shipped=shipped, ship_date=dt.datetime.fromisoformat(order["packages"][0]["shipTime"].replace("Z", "+00:00")))
        for order, shipped in shipments], netsuite=netsuite, mappings=mappings)
    assert all(o.status == "billed" for o in outcomes), [(o.amazon_order_id, o.reason, o.message) for o in outcomes if o.status != "billed"]
    return [o.amazon_order_id for o in outcomes]


def _publish_settlement(servers, orders: list[dict]) -> None:  # noqa: F811
    """Amazon's settlement of ``orders`` (their Order rows, fees and a deposit), as the sandbox writes files."""
    from sandbox.amazon.settlements import REPORT_TYPE, _order_rows, render_v2

    ships = [dt.datetime.fromisoformat(o["packages"][0]["shipTime"].replace("Z", "+00:00")) for o in orders]
    start, end = min(ships) - dt.timedelta(hours=1), max(ships) + dt.timedelta(hours=1)
    rows = [row for order in orders for row in _order_rows(order, 3, start, end) if row["transaction-type"] == "Order"]
    text = render_v2({"settlement-id": SETTLEMENT_ID, "settlement-start-date": start, "settlement-end-date": end,
                      "deposit-date": end + dt.timedelta(days=2), "currency": "USD"}, rows)
    httpx.post(f"{servers.urls['amazon']}/_sandbox/reports", json={
        "reportType": REPORT_TYPE, "marketplaceIds": [US], "content": text}, timeout=30).raise_for_status()


#: marketplaces.csv fba_location_id, and the AFN SKUs of sku_items.csv (units_per_sku 1) with their items
FBA_LOCATIONS = {"ATVPDKIKX0DER": "2", "A2EUQ1WTGCTBG2": "5", "A1F83G8C2ARO7P": "8", "A1PA6795UKMFR9": "11"}
AFN_ITEMS = {"ACME-MUG-11OZ-FBA": "501", "ACME-TEE-BLK-M": "502", "ACME-TEE-BLK-L": "503"}


def _align_fba(servers, ledger: Ledger) -> dict[tuple[str, str], int]:  # noqa: F811
    """Amazon's FBA fulfillable units set to what NetSuite's FBA locations hold less the units of Amazon-fulfilled
    orders not in NetSuite yet (Amazon reserved them when they were placed): a reconciled inventory; returns them
    per (marketplace, sku)."""
    unsynced = ledger.unsynced_order_units(key="afn_units")
    counts = {}
    for market, location in FBA_LOCATIONS.items():
        for sku, item in AFN_ITEMS.items():
            rows = httpx.get(f"{servers.urls['netsuite']}/_sandbox/stock", params={"item": item, "location": location},
                             timeout=30).json()
            available = int(sum((Decimal(r["available"]) for r in rows), Decimal(0)))
            counts[(market, sku)] = max(0, available - unsynced.get((market, sku), 0))
    httpx.post(f"{servers.urls['amazon']}/_sandbox/fba_inventory", timeout=30, json=[
        {"marketplaceId": m, "sku": sku, "fulfillable": n} for (m, sku), n in counts.items()]).raise_for_status()
    return counts


def _shipped(orders: list[dict], marketplace: str | None = None) -> list[dict]:
    return [o for o in orders if o["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and o.get("packages")
            and (marketplace is None or o["salesChannel"]["marketplaceId"] == marketplace)]


def _findings(ledger: Ledger) -> list[dict]:
    runs = ledger.reconciliation_runs()
    assert runs, "no reconciliation result in the ledger"
    run_id = runs[0]["run_id"]
    return [f for scope in {r["scope"] for r in runs if r["run_id"] == run_id}
            for f in ledger.reconciliation_findings(run_id=run_id, scope=scope)]


class TestReconciliationDag:
    @BACKENDS
    def test_given_a_clean_world_then_zero_findings_and_the_clearing_account_nets_to_zero(self, servers, world, netsuite_api):  # noqa: F811
        env, ledger, orders = world
        shipped = _shipped(orders)
        _bill(shipped)
        _publish_settlement(servers, _shipped(orders, US))
        done = _dags_test(env, "amazon_settlements_to_netsuite")
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        journals = httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/journalEntry", timeout=30).json()
        assert {j["externalId"] for j in journals} <= {f"AMZ-JE-{SETTLEMENT_ID}", f"AMZ-JE-{SETTLEMENT_ID}-1",
                                                       f"AMZ-JE-{SETTLEMENT_ID}-2"} and journals
        assert ledger.get(f"amazon_settlements_to_netsuite:journalEntry:{SETTLEMENT_ID}").status == "synced"
        _align_fba(servers, ledger)

        done = _dags_test(env, "sync_reconciliation", WINDOW)

        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-6000:]
        assert "Amazon and NetSuite agree" in output
        assert _findings(ledger) == []
        assert_only_through(servers, netsuite_api, "suiteql")
        runs = {(r["scope"], r["check_name"]): r for r in ledger.reconciliation_runs()}
        clearing = runs[("amazon_sp_api_na", "clearing")]
        assert clearing["counts"]["settlements"] == 1 and clearing["counts"]["balanced"] == 1
        [result] = clearing["detail"]
        assert result["settlement_id"] == SETTLEMENT_ID and result["net"] == "0.00" and result["orders"] == len(_shipped(orders, US))
        assert Decimal(result["journal_amount"]) == -Decimal(result["billed_amount"]) != 0
        assert runs[("amazon_sp_api_na", "orders")]["counts"]["compared"] > 0
        inventory = runs[("amazon_sp_api_eu", "inventory")]
        assert inventory["findings"] == 0 and inventory["counts"]["fba_skus"] == 2 * len(AFN_ITEMS)
        # the CSV of each check is archived, with its header even when empty
        with Path(runs[("amazon_sp_api_eu", "orders")]["counts"]["csv"]).open() as handle:
            assert next(csv.reader(handle))[:3] == ["check", "kind", "key"]

    def test_given_planted_differences_then_each_is_found_and_the_run_fails_with_counts(self, servers, world):  # noqa: F811
        env, ledger, orders = world
        us_shipped = _shipped(orders, US)
        assert len(us_shipped) >= 2, "the seed needs two shipped US orders"
        unbilled = min(us_shipped, key=lambda o: o["packages"][0]["shipTime"])  # the oldest shipment
        shipped_at = dt.datetime.fromisoformat(unbilled["packages"][0]["shipTime"].replace("Z", "+00:00"))
        # shipped more than bill_after_days (3) ago and still open in NetSuite: reported by the orders check too
        late = shipped_at < dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        _bill([o for o in _shipped(orders) if o["orderId"] != unbilled["orderId"]])
        _publish_settlement(servers, us_shipped)  # it settles the unbilled order too
        assert _dags_test(env, "amazon_settlements_to_netsuite").returncode == 0

        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        unshipped = [o for o in orders if o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"]
        assert len(unshipped) >= 3, "the seed needs three unshipped orders"
        missing = copy.deepcopy(unshipped[0])
        missing["orderId"] = "111-9999999-0000001"
        missing["createdTime"], missing["lastUpdatedTime"] = _iso(old - dt.timedelta(hours=5)), _iso(old)
        changed_total = copy.deepcopy(unshipped[1])
        amount = Decimal(changed_total["proceeds"]["grandTotal"]["amount"])
        changed_total["proceeds"]["grandTotal"]["amount"] = str(amount + Decimal("1.00"))
        changed_total["lastUpdatedTime"] = _iso(old)
        cancelled = copy.deepcopy(unshipped[2])
        cancelled["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        cancelled["lastUpdatedTime"] = _iso(old)
        httpx.post(f"{servers.urls['amazon']}/_sandbox/orders", json=[missing, changed_total, cancelled],
                   timeout=30).raise_for_status()
        # then Amazon counts 2 more of a US AFN SKU than NetSuite's FBA location: one with no Amazon-fulfilled order
        # changed in the last hour (those are not judged yet)
        hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=70)
        recent = {line["product"]["sellerSku"] for o in orders
                  if o["fulfillment"].get("fulfilledBy") == "AMAZON" and o["salesChannel"]["marketplaceId"] == US
                  and dt.datetime.fromisoformat(o["lastUpdatedTime"].replace("Z", "+00:00")) > hour_ago
                  for line in o.get("orderItems") or []}
        planted = next((sku for sku in sorted(AFN_ITEMS) if sku not in recent), None)
        assert planted, f"the seed needs a US AFN SKU without an order in the last hour: {sorted(recent)}"
        fba = _align_fba(servers, ledger)
        httpx.post(f"{servers.urls['amazon']}/_sandbox/fba_inventory", timeout=30, json=[
            {"marketplaceId": US, "sku": planted, "fulfillable": fba[(US, planted)] + 2}]).raise_for_status()

        done = _dags_test(env, "sync_reconciliation", WINDOW)

        output = done.stdout + done.stderr
        assert done.returncode != 0, output[-6000:]
        found = {(f["kind"], f["record_key"]) for f in _findings(ledger)}
        assert ("missing_sales_order", missing["orderId"]) in found
        assert ("total_mismatch", changed_total["orderId"]) in found
        assert ("cancelled_open", cancelled["orderId"]) in found
        assert ("settled_not_billed", unbilled["orderId"]) in found
        assert ("clearing_not_zero", SETTLEMENT_ID) in found
        expected = {("missing_sales_order", missing["orderId"]), ("total_mismatch", changed_total["orderId"]),
                    ("cancelled_open", cancelled["orderId"]), ("settled_not_billed", unbilled["orderId"]),
                    ("clearing_not_zero", SETTLEMENT_ID), ("fba_mismatch", planted)}
        if late:
            expected.add(("shipped_not_billed", unbilled["orderId"]))
        assert found == expected, found
        mismatch = next(f for f in _findings(ledger) if f["kind"] == "total_mismatch")
        assert mismatch["difference"] == "-1.00"
        # the failure says what is off, by check, and the alert went out through the notifier
        assert f"Reconciliation found {len(expected)} difference(s)" in output
        # counts by check and kind, per region (the planted orders may be of na or eu marketplaces)
        for kind in {kind for kind, _ in expected if kind not in ("clearing_not_zero", "settled_not_billed", "fba_mismatch")}:
            assert f"{kind}=1" in output, kind
        assert "clearing: 2 finding(s) (clearing_not_zero=1, settled_not_billed=1)" in output
        assert "amazon_sp_api_na inventory: 1 finding(s) (fba_mismatch=1)" in output
        assert "[Amazon-NetSuite] sync_reconciliation: run failed" in output
        # the findings are in the archived CSV too (ids and amounts, no buyer data)
        runs = {(r["scope"], r["check_name"]): r for r in ledger.reconciliation_runs()}
        text = Path(runs[("amazon_sp_api_na", "clearing")]["counts"]["csv"]).read_text()
        assert unbilled["orderId"] in text and SETTLEMENT_ID in text
        assert unbilled["buyer"]["buyerEmail"] not in text and os.path.getsize(runs[("amazon_sp_api_na", "orders")]["counts"]["csv"])
