"""netsuite_catalog_to_amazon end to end with ``airflow dags test`` against both sandboxes.

NetSuite items with the setup checklist's custom fields are added to the NetSuite sandbox; the DAG lists
them on the SP-API sandbox and writes the result back to the items.
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

DAG_ID = "netsuite_catalog_to_amazon"
US = "ATVPDKIKX0DER"
WINDOW = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2031-01-01T00:00:00Z"}


def _item(sku: str, *, price: str = "12.99", brand: str | None = "Acme", publish: bool = True, upc: str = "012345678905") -> dict:
    fields = {"custitem_amazon_publish": publish, "custitem_amazon_product_type": "HOME", "custitem_amazon_brand": brand,
              "custitem_amazon_bullets": "Boils in 2 minutes\nAuto shut-off", "custitem_amazon_price_us": price}
    return {"itemId": sku, "displayName": f"Acme {sku}", "salesDescription": "A kettle.", "upcCode": upc,
            "customFieldList": [{"scriptId": k, "value": v} for k, v in fields.items() if v is not None]}


class World:
    def __init__(self, servers, airflow_env, tmp_path, monkeypatch, netsuite_api: str = "soap"):
        for url in servers.urls.values():
            httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
            httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": 0}, timeout=60).raise_for_status()
        self.amazon, self.netsuite = servers.urls["amazon"], servers.urls["netsuite"]
        # the ASIN at once: the runs below check what is written back after one run (the delayed ASIN is
        # tests/integration/flows/test_catalog_flow.py's)
        httpx.post(f"{self.amazon}/_sandbox/listings/asin_delay", json={"seconds": 0}, timeout=30).raise_for_status()
        connections = connection_env(servers, netsuite_api)
        self.env = {**airflow_env, **connections}
        ledger_db = tmp_path / "ledger.db"
        self.env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})
        self.env["AMAZON_NETSUITE_STAGING_URL"] = f"file://{tmp_path}/staging"
        self.ledger = Ledger(f"sqlite:///{ledger_db}")
        for name, value in connections.items():
            monkeypatch.setenv(name, value)

    def add_items(self, *items: dict) -> dict[str, str]:
        stored = httpx.post(f"{self.netsuite}/_sandbox/records/inventoryItem", json=list(items), timeout=30)
        stored.raise_for_status()
        return {r["itemId"]: r["internalId"] for r in stored.json()}

    def item_fields(self, internal_id: str) -> dict:
        item = next(r for r in httpx.get(f"{self.netsuite}/_sandbox/records/inventoryItem", timeout=30).json()
                    if r["internalId"] == internal_id)
        return {f["scriptId"]: f.get("value") for f in item.get("customFieldList") or []}

    def listing(self, sku: str) -> dict | None:
        return next((x for x in httpx.get(f"{self.amazon}/_sandbox/listings", params={"region": "na"}, timeout=30).json()
                     if x["sku"] == sku), None)

    def calls(self, operation: str) -> int:
        return httpx.get(f"{self.amazon}/_sandbox/calls", timeout=30).json()["operations"].get(operation, {}).get("calls", 0)

    def run(self, conf: dict | None = None, **env: str) -> subprocess.CompletedProcess:
        args = ["dags", "test", DAG_ID]
        if conf:
            args += ["--conf", json.dumps(conf)]
        return airflow(args, {**self.env, **env})

    def ledger_rows(self) -> dict[str, tuple[str, str | None, str | None]]:
        return {r.source_key: (r.status, r.reason, r.internal_id)
                for r in (self.ledger.get(k) for k in self._keys()) if r is not None}

    def _keys(self) -> list[str]:
        import sqlalchemy as sa

        with self.ledger.engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.text("SELECT key FROM an_sync_records WHERE dag_id = :d"), {"d": DAG_ID})]


@pytest.fixture
def world(servers, airflow_env, tmp_path, monkeypatch, netsuite_api):
    return World(servers, airflow_env, tmp_path, monkeypatch, netsuite_api)


def _out(done: subprocess.CompletedProcess) -> str:
    return (done.stdout + done.stderr)[-5000:]


class TestCatalogDag:
    def test_given_new_items_when_dag_runs_then_listed_asin_written_back_incomplete_and_rejected_reported(self, world):
        ids = world.add_items(_item("CAT-NEW"), _item("CAT-NOBRAND", brand=None), _item("CAT-REJECT"),
                              _item("CAT-OFF", publish=False))
        httpx.post(f"{world.amazon}/_sandbox/listings/rejections",
                   json={"sku": "CAT-REJECT", "code": "8541", "message": "Listing data conflicts with the Amazon catalog."},
                   timeout=30).raise_for_status()
        httpx.post(f"{world.amazon}/_sandbox/faults", json={"operation": "putListingsItem", "status": 429, "times": 2},
                   timeout=30).raise_for_status()

        done = world.run(WINDOW)

        assert done.returncode != 0, "listings were dead-lettered: the run ends failed once"
        assert "2 record(s) failed" in _out(done), _out(done)
        listed = world.listing("CAT-NEW")
        assert listed is not None and world.listing("CAT-NOBRAND") is None and world.listing("CAT-REJECT") is None
        assert world.listing("CAT-OFF") is None
        new = world.item_fields(ids["CAT-NEW"])
        assert new["custitem_amazon_listing_status"] == "ACTIVE"
        assert new["custitem_amazon_asin"].startswith("B0")
        assert "custitem_amazon_listing_issues" not in new
        incomplete = world.item_fields(ids["CAT-NOBRAND"])
        assert incomplete["custitem_amazon_listing_status"] == "INCOMPLETE"
        assert "brand" in incomplete["custitem_amazon_listing_issues"]
        rejected = world.item_fields(ids["CAT-REJECT"])
        assert rejected["custitem_amazon_listing_status"] == "ERROR"
        assert "[8541] Listing data conflicts with the Amazon catalog." in rejected["custitem_amazon_listing_issues"]
        assert "custitem_amazon_listing_status" not in world.item_fields(ids["CAT-OFF"])
        rows = world.ledger_rows()
        assert rows["na:CAT-NEW"] == ("synced", None, new["custitem_amazon_asin"])
        assert rows["na:CAT-NOBRAND"][:2] == ("failed", "missing_attributes")
        assert rows["na:CAT-REJECT"][:2] == ("failed", "amazon_rejected")
        assert world.calls("putListingsItem") == 3, "two 429s retried, one listing created"
        assert world.calls("createFeed") == 0

    @BACKENDS
    def test_given_a_listed_item_when_rerun_unchanged_then_nothing_sent_price_change_patched_unflag_delisted(
        self, servers, world, netsuite_api
    ):
        from amazon_netsuite.netsuite.hook import NetSuiteHook

        ids = world.add_items(_item("CAT-PRICE"))
        assert world.run(WINDOW).returncode == 0
        puts, patches = world.calls("putListingsItem"), world.calls("patchListingsItem")
        assert (puts, patches) == (1, 0)
        assert world.item_fields(ids["CAT-PRICE"])["custitem_amazon_asin"].startswith("B0")  # written back
        assert world.ledger_rows()["na:CAT-PRICE"][0] == "synced"
        assert_only_through(servers, netsuite_api, "restUpdate", "suiteql")
        written = writes(servers)

        again = world.run(WINDOW)
        assert again.returncode == 0, _out(again)
        assert writes(servers) == written, "nothing written back to NetSuite either"
        assert (world.calls("putListingsItem"), world.calls("patchListingsItem"), world.calls("putListingsItemPreview")) \
            == (1, 0, 1), "unchanged listing not sent again (the write-back changed lastModifiedDate only)"

        [result] = NetSuiteHook().update_records("inventoryItem", [
            {"internalId": ids["CAT-PRICE"], "customFieldList": [{"scriptId": "custitem_amazon_price_us", "value": "13.49"}]}])
        assert result.ok
        changed = world.run(WINDOW)
        assert changed.returncode == 0, _out(changed)
        assert (world.calls("putListingsItem"), world.calls("patchListingsItem")) == (1, 1)
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        hook = SellingPartnerHook("amazon_sp_api_na")
        attributes = hook.get_listings_item("CAT-PRICE", marketplace_ids=[US], included_data=("attributes",))["attributes"]
        assert Decimal(str(attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"])) == Decimal("13.49")
        assert world.item_fields(ids["CAT-PRICE"])["custitem_amazon_listing_status"] == "ACTIVE"

        [result] = NetSuiteHook().update_records("inventoryItem", [
            {"internalId": ids["CAT-PRICE"], "customFieldList": [{"scriptId": "custitem_amazon_publish", "value": False}]}])
        assert result.ok
        unflagged = world.run(WINDOW)
        assert unflagged.returncode == 0, _out(unflagged)
        assert world.calls("deleteListingsItem") == 1 and world.listing("CAT-PRICE") is None
        assert world.item_fields(ids["CAT-PRICE"])["custitem_amazon_listing_status"] == "DELISTED"

    def test_given_many_items_when_dag_runs_then_one_feed_and_one_rejected_message_does_not_hold_the_others(self, world):
        skus = [f"CAT-BULK-{n:02d}" for n in range(6)]
        ids = world.add_items(*[_item(sku) for sku in skus])
        httpx.post(f"{world.amazon}/_sandbox/listings/rejections",
                   json={"sku": "CAT-BULK-03", "code": "8541", "message": "Listing data conflicts with the Amazon catalog."},
                   timeout=30).raise_for_status()

        done = world.run(WINDOW, AMAZON_NETSUITE_LISTINGS_FEED_THRESHOLD="3")

        assert done.returncode != 0 and "1 record(s) failed" in _out(done), _out(done)
        assert world.calls("createFeed") == 1 and world.calls("putListingsItem") == 0
        for sku in skus:
            fields = world.item_fields(ids[sku])
            if sku == "CAT-BULK-03":
                assert fields["custitem_amazon_listing_status"] == "ERROR"
                assert "8541" in fields["custitem_amazon_listing_issues"]
                assert world.listing(sku) is None
            else:
                assert fields["custitem_amazon_listing_status"] == "ACTIVE", (sku, fields)
                assert fields["custitem_amazon_asin"].startswith("B0")

    def test_given_dry_run_when_dag_runs_then_amazon_previews_and_nothing_is_written(self, world):
        ids = world.add_items(_item("CAT-DRY"))
        done = world.run({**WINDOW, "dry_run": True})
        assert done.returncode == 0, _out(done)
        assert world.calls("putListingsItemPreview") == 1 and world.calls("putListingsItem") == 0
        assert world.listing("CAT-DRY") is None
        assert "custitem_amazon_listing_status" not in world.item_fields(ids["CAT-DRY"])
        assert world.ledger_rows() == {}
