"""``netsuite_inventory_to_amazon`` end to end with ``airflow dags test`` against both sandboxes.

Stock moves in NetSuite through inventory adjustments posted on the admin API (as a warehouse would);
what Amazon shows is read back from ``GET /_sandbox/listings``.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal

import httpx
import pytest

from amazon_netsuite.ledger import Ledger
from tests.dags.airflow_cli import airflow
from tests.dags.backends import BACKENDS, assert_only_through, connection_env, writes

DAG_ID = "netsuite_inventory_to_amazon"
US = "ATVPDKIKX0DER"
# include/mappings: US warehouse 1 and CA warehouse 4 serve the NA region; UK 7 and DE 10 the EU region
NA_LOCATIONS = ("1", "4")


@pytest.fixture
def world(servers, airflow_env, tmp_path, netsuite_api):
    for url in servers.urls.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": 0}, timeout=60).raise_for_status()
    env = {**airflow_env, **connection_env(servers, netsuite_api)}
    ledger_db = tmp_path / "ledger.db"
    env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})
    env["AMAZON_NETSUITE_STAGING_URI"] = f"file://{tmp_path}/staging"
    return World(servers, env, Ledger(f"sqlite:///{ledger_db}"))


class World:
    def __init__(self, servers, env, ledger):
        self.amazon = httpx.Client(base_url=servers.urls["amazon"], timeout=30)
        self.netsuite = httpx.Client(base_url=servers.urls["netsuite"], timeout=30)
        self.env = env
        self.ledger = ledger

    def run(self, conf: dict | None = None) -> subprocess.CompletedProcess:
        args = ["dags", "test", DAG_ID]
        if conf:
            args += ["--conf", json.dumps(conf)]
        return airflow(args, self.env)

    def listings(self, region: str = "na") -> dict[str, dict]:
        return {x["sku"]: x for x in self.amazon.get("/_sandbox/listings", params={"region": region}).json()}

    def available(self, item: str, locations=NA_LOCATIONS) -> Decimal:
        total = Decimal(0)
        for location in locations:
            rows = self.netsuite.get("/_sandbox/stock", params={"item": item, "location": location}).json()
            total += sum((Decimal(r["available"]) for r in rows), Decimal(0))
        return total

    def adjust(self, item: str, location: str, qty: float, subsidiary: str = "2") -> None:
        self.netsuite.post("/_sandbox/records/inventoryAdjustment", json=[{
            "subsidiary": {"internalId": subsidiary}, "adjLocation": {"internalId": location},
            "inventoryList": [{"item": {"internalId": item}, "location": {"internalId": location}, "adjustQtyBy": qty}],
        }]).raise_for_status()

    def fba_adjustments(self) -> list[dict]:
        return [a for a in self.netsuite.get("/_sandbox/records/inventoryAdjustment").json()
                if (a.get("externalId") or "").startswith("AMZ-IA-")]

    def netsuite_calls(self, operation: str) -> int:
        return self.netsuite.get("/_sandbox/calls").json()["operations"].get(operation, {}).get("calls", 0)

    def calls(self, operation: str) -> dict:
        return self.amazon.get("/_sandbox/calls").json()["operations"].get(operation, {"calls": 0, "throttled": 0})


def _ok(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


def _expected(world: World, item: str, *, units: int = 1, safety: int = 0, held: int = 0) -> int:
    return max(0, int((world.available(item) - held) // units) - safety)


class TestInventoryDag:
    @BACKENDS
    def test_given_stock_moves_when_the_dag_runs_then_amazon_shows_it_and_only_differences_are_sent(
        self, servers, world, netsuite_api
    ):
        fba_before = world.listings()["ACME-MUG-11OZ-FBA"]
        world.adjust("501", "1", 17)
        _ok(world.run())

        listings = world.listings()
        assert listings["ACME-MUG-11OZ"]["quantity"] == _expected(world, "501", safety=2)
        assert listings["ACME-MUG-11OZ-6PK"]["quantity"] == _expected(world, "501", units=6)
        assert listings["ACME-BOTTLE-750"]["quantity"] == _expected(world, "504", safety=5)
        assert listings["ACME-CANDLE-LAV"]["quantity"] == 0, "publish=false: 0, not forgotten"
        assert listings["ACME-MUG-11OZ-FBA"] == fba_before, "FBA SKUs are never pushed"
        assert listings["ACME-TEE-BLK-M"]["fulfillmentChannel"] == "AMAZON_NA"
        eu = world.listings("eu")
        assert eu["ACME-KETTLE-UK"]["quantity"] == max(0, int(world.available("506", ("7",))) - 1)
        feeds = world.calls("createFeed")["calls"]
        assert feeds == 2, "one feed per region"
        assert world.ledger.pushed_quantities("region:na")["ACME-MUG-11OZ"] == listings["ACME-MUG-11OZ"]["quantity"]
        assert_only_through(servers, netsuite_api, "suiteql")
        written = writes(servers)

        # a quiet run: nothing moved, nothing is sent, NetSuite is read with one filtered call
        # the MFN read + the FBA locations (getItemAvailability); on REST, SuiteQL on inventoryitemlocations
        # for those two and the items modified since the mark (SOAP: a search, not counted here)
        reads, expected = ("getItemAvailability", 2) if netsuite_api == "soap" else ("suiteql", 3)
        availability = world.netsuite_calls(reads)
        _ok(world.run())
        assert world.calls("createFeed")["calls"] == feeds
        assert world.netsuite_calls(reads) - availability == expected
        assert writes(servers) == written

        # stock to zero suppresses; orders read from Amazon but not in NetSuite hold units back
        world.adjust("504", "1", -float(world.available("504", ("1",))))
        world.adjust("504", "4", -float(world.available("504", ("4",))), subsidiary="3")
        world.ledger.record_failed(dag_id="amazon_orders_to_netsuite", record_type="salesOrder",
                                   source_key="113-0000000-0000001", error="NetSuite refused it", reason="netsuite_error",
                                   run_id="orders-run", replay={"order_id": "113-0000000-0000001", "marketplace_id": US,
                                                                "units": {"ACME-MUG-11OZ-6PK": 1, "ACME-MUG-11OZ": 2}})
        # and Amazon throttles createFeed twice: the hook backs off, one feed is created
        world.amazon.post("/_sandbox/faults", json={"operation": "createFeed", "status": 429, "times": 2}).raise_for_status()
        _ok(world.run())
        listings = world.listings()
        assert listings["ACME-BOTTLE-750"]["quantity"] == 0
        assert listings["ACME-MUG-11OZ"]["quantity"] == _expected(world, "501", safety=2, held=8)
        assert listings["ACME-MUG-11OZ-6PK"]["quantity"] == _expected(world, "501", units=6, held=8)
        assert world.calls("createFeed")["throttled"] == 2
        assert world.calls("createFeed")["calls"] == feeds + 1 + 2, "only NA changed: one feed (and the 2 throttled tries)"
        assert world.ledger.pushed_quantities("region:na")["ACME-BOTTLE-750"] == 0

    def test_given_amazon_rejects_a_sku_when_the_dag_runs_then_it_is_dead_lettered_and_the_others_apply(self, world):
        world.amazon.post("/_sandbox/listings/rejections", json={
            "sku": "ACME-MUG-11OZ-6PK", "region": "na", "code": "8541",
            "message": "The SKU data conflicts with the Amazon catalog."}).raise_for_status()
        done = world.run()
        output = done.stdout + done.stderr
        assert done.returncode != 0 and "record(s) failed and were dead-lettered" in output
        [failed] = world.ledger.failed(dag_id=DAG_ID)
        assert failed.source_key == "na:ACME-MUG-11OZ-6PK" and failed.reason == "amazon_rejected"
        assert "[8541] The SKU data conflicts with the Amazon catalog." in failed.last_error
        listings = world.listings()
        assert listings["ACME-MUG-11OZ"]["quantity"] == _expected(world, "501", safety=2)
        assert listings["ACME-MUG-11OZ-6PK"]["quantity"] == 0, "the rejected SKU kept Amazon's quantity"
        assert "ACME-MUG-11OZ-6PK" not in world.ledger.pushed_quantities("region:na"), "sent again next run"

    def test_given_a_fatal_feed_when_the_dag_runs_then_the_run_fails_with_the_report_and_nothing_applies(self, world):
        world.amazon.post("/_sandbox/faults", json={"operation": "createFeed", "fault": "FATAL", "region": "na"}).raise_for_status()
        done = world.run()
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "ended FATAL" in output and "internal error" in output
        assert world.listings()["ACME-MUG-11OZ"]["quantity"] == 0
        failed = world.ledger.failed(dag_id=DAG_ID)
        assert failed and {r.reason for r in failed} == {"feed_fatal"}
        assert all(r.source_key.startswith("na:") for r in failed)
        assert world.listings("eu")["ACME-KETTLE-UK"]["quantity"] is not None, "the EU feed applied"

    @BACKENDS
    def test_given_fba_adjustment_when_the_dag_runs_then_netsuite_fba_stock_is_set_to_amazons_once_a_day(
        self, servers, world, netsuite_api
    ):
        world.amazon.post("/_sandbox/fba_inventory", json=[
            {"marketplaceId": US, "sku": "ACME-TEE-BLK-M", "fulfillable": 3}]).raise_for_status()
        world.env["AMAZON_NETSUITE_FBA_ADJUSTMENT_ACCOUNT_ID"] = "5200"
        fba_listing = world.listings()["ACME-TEE-BLK-M"]
        done = world.run({"fba_adjustment": True})
        _ok(done)
        assert world.available("502", ("2",)) == 3  # US FBA location = Amazon's fulfillable units
        adjustments = world.fba_adjustments()
        assert adjustments and all(a["account"]["internalId"] == "5200" for a in adjustments)
        assert world.listings()["ACME-TEE-BLK-M"] == fba_listing, "FBA listings are never pushed"
        assert_only_through(servers, netsuite_api, "restUpsert")

        world.adjust("502", "2", 5)  # NetSuite drifts again the same day: reported, not adjusted twice
        _ok(world.run({"fba_adjustment": True}))
        assert world.fba_adjustments() == adjustments
        assert world.available("502", ("2",)) == 8

    def test_given_a_dry_run_when_the_dag_runs_then_nothing_is_sent(self, world):
        _ok(world.run({"dry_run": True}))
        assert world.calls("createFeed")["calls"] == 0
        assert world.listings()["ACME-MUG-11OZ"]["quantity"] == 0
