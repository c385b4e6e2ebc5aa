"""``netsuite_shipments_to_amazon`` end to end with ``airflow dags test`` against both sandboxes (issue 16).

The world: MFN orders at Amazon, synced to NetSuite sales orders by the orders flow; the "warehouse"
fulfills them in NetSuite through the sandbox admin API (``POST /_sandbox/records/itemFulfillment``, as
a WMS would); the DAG confirms them to Amazon.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from amazon_netsuite.ledger import Ledger
from sandbox.netsuite.schema import RECORD_TYPES
from tests.dags.test_dag_runs import _dags_test
from tests.fixtures.mfn import mfn_order

# Until the NetSuite sandbox emulates item fulfillments (issue 15 adds them), there is no warehouse to ship.
pytestmark = pytest.mark.skipif("itemFulfillment" not in RECORD_TYPES, reason="the NetSuite sandbox has no itemFulfillment yet")

DAG_ID = "netsuite_shipments_to_amazon"
WINDOW = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
MUG, SIX_PACK = "ACME-MUG-11OZ", "ACME-MUG-11OZ-6PK"


class World:
    def __init__(self, servers, airflow_env, tmp_path, monkeypatch, *, max_throttle_retries: int = 10):  # noqa: F811
        self.amazon = httpx.Client(base_url=servers.urls["amazon"], timeout=60)
        self.netsuite = httpx.Client(base_url=servers.urls["netsuite"], timeout=60)
        for admin in (self.amazon, self.netsuite):
            admin.post("/_sandbox/reset").raise_for_status()
            admin.post("/_sandbox/seed", json={"seed": 0, "orders": 0, "settlements": False}).raise_for_status()
        env = {**airflow_env, **servers.env()}
        for name, value in list(env.items()):
            if name.startswith("AIRFLOW_CONN_AMAZON_SP_API_"):  # fast backoff: the storms stay short
                conn = json.loads(value)
                conn["extra"] = {**conn.get("extra", {}), "backoff_base": 0.01, "backoff_max": 0.05,
                                 "max_throttle_retries": max_throttle_retries}
                env[name] = json.dumps(conn)
            elif name == "AIRFLOW_CONN_NETSUITE_DEFAULT":  # an outage gives up after one retry
                conn = json.loads(value)
                conn["extra"] = {**conn.get("extra", {}), "max_attempts": 2}
                env[name] = json.dumps(conn)
        ledger_db = tmp_path / "ledger.db"
        env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})
        for name, value in env.items():
            if name.startswith("AIRFLOW_CONN_"):
                monkeypatch.setenv(name, value)
        self.env = env
        self.ledger = Ledger(f"sqlite:///{ledger_db}")

    # -- the world ------------------------------------------------------------------------------
    def orders(self, *orders: dict) -> None:
        """Orders at Amazon, and their sales orders in NetSuite (the orders flow, in-process)."""
        from amazon_netsuite.flows.orders import sync_orders
        from amazon_netsuite.mappings import load_mappings
        from amazon_netsuite.netsuite.hook import NetSuiteHook

        self.amazon.post("/_sandbox/orders", json=list(orders)).raise_for_status()
        result = sync_orders(orders, mappings=load_mappings(), netsuite=NetSuiteHook(), ledger=self.ledger, run_id="setup")
        assert result.counts["synced"] == len(orders), dict(result.counts)

    def sales_order(self, order_id: str) -> dict:
        return next(r for r in self.netsuite.get("/_sandbox/records/salesOrder").json()
                    if r["externalId"] == f"AMZ-SO-{order_id}")

    def ship(self, order_id: str, lines: list[tuple[int, int]], tracking: list[str], *, ship_method: str = "UPS Ground",
             status: str = "_shipped") -> dict:
        """The warehouse fulfills the sales order in NetSuite (admin API: a WMS writing the record)."""
        order = self.sales_order(order_id)
        record = {
            "createdFrom": {"internalId": order["internalId"]},
            "tranDate": datetime.now(UTC).strftime("%Y-%m-%dT00:00:00"),
            "shipStatus": status,
            "shipMethod": {"internalId": "9001", "name": ship_method},
            "itemList": [{"orderLine": line, "quantity": quantity, "itemReceive": True,
                          "location": order["location"]} for line, quantity in lines],
            "packageList": [{"packageTrackingNumber": number} for number in tracking],
        }
        response = self.netsuite.post("/_sandbox/records/itemFulfillment", json=[record])
        assert response.status_code == 200, response.text
        return response.json()[0]

    def amazon_order(self, order_id: str) -> dict:
        return next(o for o in self.amazon.get("/_sandbox/orders").json() if o["orderId"] == order_id)

    def calls(self, operation: str) -> dict:
        stats = self.amazon.get("/_sandbox/calls").json()["operations"]
        return stats.get(operation, {"calls": 0, "throttled": 0, "errors": 0, "records": 0})

    def fault(self, **fault) -> None:
        self.amazon.post("/_sandbox/faults", json=fault).raise_for_status()

    def run(self, conf: dict | None = None):
        return _dags_test(self.env, DAG_ID, conf or WINDOW)

    def records(self, record_type: str) -> list[dict]:
        return self.netsuite.get(f"/_sandbox/records/{record_type}").json()

    def cash_sales(self) -> dict[str, Decimal]:
        """externalId -> total of the cash sales in NetSuite."""
        return {r["externalId"]: Decimal(str(r["total"])) for r in self.records("cashSale")}

    def clearing(self, account: str = "1210") -> Decimal:
        return Decimal(self.netsuite.get("/_sandbox/gl", params={"account": account}).json()["balance"])

    def confirmations(self, status: str, record_type: str = "shipmentConfirmation") -> dict:
        import sqlalchemy as sa

        with self.ledger.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT source_key, reason, last_error FROM an_sync_records WHERE dag_id = :dag AND "
                "record_type = :type AND status = :status"), {"dag": DAG_ID, "status": status, "type": record_type}).all()
        return {row[0]: (row[1], row[2]) for row in rows}


@pytest.fixture
def world(servers, airflow_env, tmp_path, monkeypatch):  # noqa: F811 - the imported module fixtures
    return World(servers, airflow_env, tmp_path, monkeypatch)


def _tracking(order: dict) -> dict[str, list]:
    return {p["trackingNumber"]: sorted((i["orderItemId"], i["quantity"]) for i in p["packageItems"])
            for p in order.get("packages") or []}


class TestConfirmations:
    def test_given_warehouse_fulfillments_when_dag_runs_then_amazon_orders_ship_with_their_tracking_once(self, world):
        world.orders(
            mfn_order("113-0016000-0000001", items=[("16000000000001", MUG, 2, "12.99")]),
            mfn_order("113-0016000-0000002", items=[("16000000000002", MUG, 1, "12.99"),
                                                     ("16000000000003", SIX_PACK, 2, "59.99")]),
            mfn_order("113-0016000-0000003", items=[("16000000000004", MUG, 3, "12.99")]),
        )
        first = world.ship("113-0016000-0000001", [(1, 2)], ["1ZSINGLE0001"])
        world.ship("113-0016000-0000002", [(1, 1), (2, 12)], ["1ZSPLIT00001", "1ZSPLIT00002"])  # 12 units = 2 six-packs
        world.ship("113-0016000-0000003", [(1, 1)], ["1ZPARTIAL001"])  # partial shipment
        packed = world.ship("113-0016000-0000003", [(1, 2)], ["1ZREST000001"], status="_packed")  # not shipped yet

        done = world.run()

        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        single, split, partial = (world.amazon_order(f"113-0016000-000000{n}") for n in (1, 2, 3))
        assert single["fulfillment"]["fulfillmentStatus"] == "SHIPPED", (done.stdout + done.stderr)[-6000:]
        assert _tracking(single) == {"1ZSINGLE0001": [("16000000000001", 2)]}
        assert split["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        assert _tracking(split) == {"1ZSPLIT00001": [("16000000000002", 1), ("16000000000003", 1)],
                                    "1ZSPLIT00002": [("16000000000003", 1)]}
        assert partial["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
        assert _tracking(partial) == {"1ZPARTIAL001": [("16000000000004", 1)]}
        assert all(p["carrier"] == "UPS" and p["shippingService"] == "UPS Ground" for p in single["packages"])
        assert len(world.confirmations("synced")) == 3
        sent = world.calls("confirmShipment")["calls"]
        assert sent == 4

        fulfillments = {r["createdFrom"]["internalId"]: r["internalId"] for r in world.records("itemFulfillment")
                        if r["shipStatus"] == "_shipped"}
        assert len(fulfillments) == 3
        so = {n: world.sales_order(f"113-0016000-000000{n}")["internalId"] for n in (1, 2, 3)}
        assert world.cash_sales() == {  # each shipment's share of the order's grand total, into Amazon clearing
            f"AMZ-CS-IF-{fulfillments[so[1]]}": Decimal("25.98"),
            f"AMZ-CS-IF-{fulfillments[so[2]]}": Decimal("132.97"),
            f"AMZ-CS-IF-{fulfillments[so[3]]}": Decimal("12.99"),
        }
        assert world.clearing() == Decimal("171.94")
        assert len(world.confirmations("synced", "cashSale")) == 3

        again = world.run()

        assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
        assert world.calls("confirmShipment")["calls"] == sent, "a re-run confirms nothing twice"
        assert "unchanged" in again.stdout + again.stderr
        assert len(world.cash_sales()) == 3 and world.clearing() == Decimal("171.94"), "and bills nothing twice"

        from amazon_netsuite.netsuite.hook import NetSuiteHook

        results = NetSuiteHook().update_records("itemFulfillment", [
            {"internalId": packed["internalId"], "shipStatus": "_shipped"},  # the packed rest leaves the warehouse
            {"internalId": first["internalId"], "packageList": [{"packageTrackingNumber": "1ZCORRECTED01"}]},  # typo fixed
        ])
        assert all(r.ok for r in results), [r.describe() for r in results]
        rest = world.run()

        assert rest.returncode == 0, (rest.stdout + rest.stderr)[-4000:]
        assert world.amazon_order("113-0016000-0000003")["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        third = sorted(total for key, total in world.cash_sales().items()
                       if key.removeprefix("AMZ-CS-IF-") not in {fulfillments[so[1]], fulfillments[so[2]]})
        assert third == [Decimal("12.99"), Decimal("25.98")] and sum(third) == Decimal("38.97")  # = grandTotal
        corrected = world.amazon_order("113-0016000-0000001")  # edited at Amazon (same packageReferenceId), not shipped twice
        assert _tracking(corrected) == {"1ZCORRECTED01": [("16000000000001", 2)]}
        assert corrected["orderItems"][0]["fulfillment"]["quantityFulfilled"] == 2
        assert world.calls("confirmShipment")["calls"] == sent + 2
        assert len(world.cash_sales()) == 4, "a corrected tracking number is not billed again"


class TestFailures:
    def test_given_a_cancelled_order_an_unmapped_carrier_and_throttling_when_dag_runs_then_the_rest_ships_and_the_run_fails_once(
        self, world
    ):
        world.orders(
            mfn_order("113-0016000-0000021", items=[("16000000000021", MUG, 1, "12.99")]),
            mfn_order("113-0016000-0000022", items=[("16000000000022", MUG, 1, "12.99")]),
        )
        cancelled = world.amazon_order("113-0016000-0000022")
        cancelled["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        world.amazon.post("/_sandbox/orders", json=[cancelled]).raise_for_status()  # the buyer cancelled meanwhile
        world.ship("113-0016000-0000021", [(1, 1)], ["1ZGOOD"])
        world.ship("113-0016000-0000022", [(1, 1)], ["1ZSHIPPEDANYWAY"])
        world.orders(mfn_order("113-0016000-0000023", items=[("16000000000023", MUG, 1, "12.99")]))
        world.ship("113-0016000-0000023", [(1, 1)], ["1ZPIGEON"], ship_method="Carrier Pigeon")

        dry = world.run({**WINDOW, "dry_run": True})
        assert dry.returncode == 0, (dry.stdout + dry.stderr)[-4000:]
        assert world.calls("confirmShipment")["calls"] == 0 and world.confirmations("failed") == {}
        assert world.cash_sales() == {}

        world.fault(operation="confirmShipment", status=429, times=3)
        done = world.run()

        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "record(s) failed and were dead-lettered; the rest were written" in output
        assert world.amazon_order("113-0016000-0000021")["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        failed = {reason: error for reason, error in world.confirmations("failed").values()}
        assert set(failed) == {"amazon_rejected", "unmapped_carrier"}
        assert "has been cancelled" in failed["amazon_rejected"] and "1ZSHIPPEDANYWAY" in failed["amazon_rejected"]
        assert "Carrier Pigeon" in failed["unmapped_carrier"] and "carriers.csv" in failed["unmapped_carrier"]
        assert world.calls("confirmShipment")["throttled"] == 3
        assert len(world.cash_sales()) == 1, "the cancelled order is not billed"

    def test_given_a_429_storm_then_netsuite_down_while_billing_when_dag_reruns_then_each_side_is_done_once(
        self, servers, airflow_env, tmp_path, monkeypatch  # noqa: F811
    ):
        world = World(servers, airflow_env, tmp_path, monkeypatch, max_throttle_retries=2)
        world.orders(mfn_order("113-0016000-0000031", items=[("16000000000031", MUG, 2, "12.99")]))
        world.ship("113-0016000-0000031", [(1, 2)], ["1ZSTORM"])
        world.fault(operation="confirmShipment", status=429, times=50)

        storm = world.run()

        assert storm.returncode != 0 and "confirm" in storm.stdout + storm.stderr
        assert world.confirmations("synced") == {} and world.cash_sales() == {}
        world.amazon.delete("/_sandbox/faults").raise_for_status()
        world.netsuite.post("/_sandbox/faults", json={"operation": "addList", "status": 503, "times": 20}).raise_for_status()

        outage = world.run()

        assert outage.returncode != 0 and "bill" in outage.stdout + outage.stderr
        assert len(world.confirmations("synced")) == 1, "Amazon has the shipment"
        assert world.cash_sales() == {}
        confirmed_calls = world.calls("confirmShipment")["calls"]
        world.netsuite.delete("/_sandbox/faults").raise_for_status()

        done = world.run()

        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        assert world.calls("confirmShipment")["calls"] == confirmed_calls, "billing's retry never confirms again"
        assert len(world.amazon_order("113-0016000-0000031")["packages"]) == 1
        assert list(world.cash_sales().values()) == [Decimal("25.98")]
        assert len(world.confirmations("synced", "cashSale")) == 1
