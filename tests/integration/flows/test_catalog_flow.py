"""The catalog flow's steps against both sandboxes, without Airflow: replay after the item is fixed, a
FATAL feed, a 5xx on the write-back. Every scenario runs on both NetSuite backends (``soap``; ``rest``:
the item search in SuiteQL with the catalog's custom fields, the write-back a record API PATCH)."""

from __future__ import annotations

import datetime as dt

import pytest

from amazon_netsuite import staging
from amazon_netsuite.amazon.hook import SellingPartnerHook
from amazon_netsuite.flows import catalog
from amazon_netsuite.netsuite.hook import NetSuiteHook
from amazon_netsuite.transforms.catalog import custom_fields, load_requirements

WINDOW = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2031, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(autouse=True)
def _staging(tmp_path, monkeypatch):
    monkeypatch.setenv(staging.STAGING_ENV, f"file://{tmp_path}/staging")


@pytest.fixture(params=["soap", "rest"])
def world(request, servers, tmp_path, monkeypatch):
    """The flows' world with ``netsuite_default`` on one backend."""
    from tests.integration.flows.conftest import backend_world

    w = backend_world(servers, tmp_path, monkeypatch, request.param)
    assert NetSuiteHook().api == request.param
    return w


def _item(sku: str, **fields) -> dict:
    values = {"custitem_amazon_publish": True, "custitem_amazon_product_type": "HOME", "custitem_amazon_brand": "Acme",
              "custitem_amazon_bullets": "Boils fast", "custitem_amazon_price_us": "19.99", **fields}
    return {"itemId": sku, "displayName": f"Acme {sku}", "salesDescription": "A kettle.", "upcCode": "012345678905",
            "customFieldList": [{"scriptId": k, "value": v} for k, v in values.items() if v is not None]}


def _add(world, *items, asin_delay: float = 0) -> dict[str, str]:
    world.reset(orders=0)
    world.amazon_admin.post("/_sandbox/listings/asin_delay", json={"seconds": asin_delay}).raise_for_status()
    stored = world.netsuite_admin.post("/_sandbox/records/inventoryItem", json=list(items))
    stored.raise_for_status()
    return {r["itemId"]: r["internalId"] for r in stored.json()}


def _run(world, run_id: str, *, threshold: int = 20) -> dict:
    """What the DAG's tasks do, in order."""
    netsuite = NetSuiteHook()
    extracted = catalog.extract(netsuite=netsuite, ledger=world.ledger, mappings=world.mappings,
                                requirements=load_requirements(world.mappings.directory), run_id=run_id, window=WINDOW,
                                advance_to=None)
    confirmed = []
    for batch in extracted["regions"]:
        hook = SellingPartnerHook(batch["conn_id"], marketplace_ids=batch["marketplace_ids"])
        submitted = catalog.submit(batch, hook=hook, run_id=run_id, threshold=threshold)
        confirmed.append(catalog.confirm(submitted, None, hook=hook, run_id=run_id))
    return catalog.write_back(extracted, confirmed, netsuite=netsuite, ledger=world.ledger, run_id=run_id)


def _fields(item_id: str) -> dict:
    return custom_fields(NetSuiteHook().get_record("inventoryItem", internal_id=item_id))


class TestCatalogFlow:
    def test_given_an_incomplete_item_when_fixed_and_replayed_then_listed_and_written_back(self, world):
        ids = _add(world, _item("FLOW-FIX", custitem_amazon_brand=None))
        _run(world, "r1")
        [failed] = world.ledger.failed(dag_id=catalog.DAG_ID)
        assert (failed.source_key, failed.reason) == ("na:FLOW-FIX", "missing_attributes")
        assert "brand" in failed.last_error and _fields(ids["FLOW-FIX"])["custitem_amazon_listing_status"] == "INCOMPLETE"

        [ok] = NetSuiteHook().update_records("inventoryItem", [
            {"internalId": ids["FLOW-FIX"], "customFieldList": [{"scriptId": "custitem_amazon_brand", "value": "Acme"}]}])
        assert ok.ok
        catalog.replay([failed], ledger=world.ledger, run_id="replay-1")

        record = world.ledger.get(failed.key)
        assert record.status == "synced" and record.internal_id.startswith("B0")
        fields = _fields(ids["FLOW-FIX"])
        assert fields["custitem_amazon_listing_status"] == "ACTIVE" and fields["custitem_amazon_asin"] == record.internal_id
        assert "custitem_amazon_listing_issues" not in fields

    def test_given_amazon_assigns_the_asin_late_then_submitted_first_and_a_later_run_writes_it_back(self, world):
        import time

        ids = _add(world, _item("FLOW-LATE"), asin_delay=1.0)
        first = _run(world, "r1")["counts"]
        assert first["listed"] == 1
        fields = _fields(ids["FLOW-LATE"])
        assert fields["custitem_amazon_listing_status"] == "SUBMITTED" and "custitem_amazon_asin" not in fields
        record = world.ledger.get(f"{catalog.DAG_ID}:listing:na:FLOW-LATE")
        assert record.status == "synced" and record.internal_id is None
        puts = world.amazon_admin.get("/_sandbox/calls").json()["operations"]["putListingsItem"]["calls"]

        _run(world, "r2")
        assert world.ledger.get(record.key).internal_id is None, "not assigned yet: nothing written, still waiting"
        time.sleep(1.1)
        second = _run(world, "r3")["counts"]
        assert second.get("asins_assigned") == 1 and second["listed"] == 0
        asin = world.ledger.get(record.key).internal_id
        fields = _fields(ids["FLOW-LATE"])
        assert asin.startswith("B0") and fields["custitem_amazon_asin"] == asin
        assert fields["custitem_amazon_listing_status"] == "ACTIVE"
        assert world.amazon_admin.get("/_sandbox/calls").json()["operations"]["putListingsItem"]["calls"] == puts

    def test_given_an_unpublished_item_when_replayed_then_closed_as_skipped(self, world):
        ids = _add(world, _item("FLOW-OFF", custitem_amazon_brand=None))
        _run(world, "r1")
        [failed] = world.ledger.failed(dag_id=catalog.DAG_ID)
        NetSuiteHook().update_records("inventoryItem", [
            {"internalId": ids["FLOW-OFF"], "customFieldList": [{"scriptId": "custitem_amazon_publish", "value": False}]}])
        catalog.replay([failed], ledger=world.ledger, run_id="replay-1")
        assert (world.ledger.get(failed.key).status, world.ledger.get(failed.key).reason) == ("skipped", "not_published")

    def test_given_a_fatal_feed_when_confirmed_then_every_listing_of_it_fails_with_amazons_reason(self, world):
        _add(world, *[_item(f"FLOW-FEED-{n}") for n in range(3)])
        extracted = catalog.extract(netsuite=NetSuiteHook(), ledger=world.ledger, mappings=world.mappings,
                                    requirements=load_requirements(world.mappings.directory), run_id="r1", window=WINDOW,
                                    advance_to=None)
        [batch] = extracted["regions"]
        hook = SellingPartnerHook(batch["conn_id"], marketplace_ids=batch["marketplace_ids"])
        submitted = catalog.submit(batch, hook=hook, run_id="r1", threshold=1)
        assert submitted["mode"] == "feed" and len(submitted["document_uris"]) == 1
        feeds = {"feeds": [{"index": 0, "feedId": "61", "processingStatus": "FATAL", "report_uri": None,
                            "errors": ["[4000001] The feed could not be processed because of an internal error."]}]}
        confirmed = catalog.confirm(submitted, feeds, hook=hook, run_id="r1")
        results = staging.load(confirmed["results_uri"])
        assert [r["status"] for r in results] == ["ERROR"] * 3
        assert "ended FATAL" in results[0]["issues"] and "internal error" in results[0]["issues"]
        counts = catalog.write_back(extracted, [confirmed], netsuite=NetSuiteHook(), ledger=world.ledger, run_id="r1")["counts"]
        assert counts["rejected"] == 3 and counts["written_back"] == 3
        assert {r.reason for r in world.ledger.failed(dag_id=catalog.DAG_ID)} == {"amazon_rejected"}

    def test_given_netsuite_refuses_one_write_back_then_it_is_dead_lettered_and_the_others_written(self, world, monkeypatch):
        ids = _add(world, _item("FLOW-WB-1"), _item("FLOW-WB-2"))
        real = NetSuiteHook.update_records

        def refuse_second(self, record_type, records):
            results = real(self, record_type, records)
            from amazon_netsuite.netsuite.results import RecordResult

            return [results[0], RecordResult(record_type, None, error_code="INSUFFICIENT_PERMISSION",
                                             error_message="Permission Violation: Items (Edit)")] + list(results[2:])

        monkeypatch.setattr(NetSuiteHook, "update_records", refuse_second)
        counts = _run(world, "r1")["counts"]
        assert counts["listed"] == 2 and counts["written_back"] == 1
        [failed] = world.ledger.failed(dag_id=catalog.DAG_ID)
        assert failed.record_type == "item_writeback" and "INSUFFICIENT_PERMISSION" in failed.last_error
        assert failed.source_key in ids.values()


class TestDelisting:
    def test_given_a_listed_item_when_unflagged_then_its_listing_is_deleted_and_the_item_says_so(self, world):
        ids = _add(world, _item("FLOW-UNFLAG"))
        assert _run(world, "r1")["counts"]["listed"] == 1
        [ok] = NetSuiteHook().update_records("inventoryItem", [
            {"internalId": ids["FLOW-UNFLAG"], "customFieldList": [{"scriptId": "custitem_amazon_publish", "value": False}]}])
        assert ok.ok

        counts = _run(world, "r2")["counts"]

        assert counts["delisted"] == 1
        listings = world.amazon_admin.get("/_sandbox/listings", params={"region": "na"}).json()
        assert "FLOW-UNFLAG" not in {x["sku"] for x in listings}
        assert _fields(ids["FLOW-UNFLAG"])["custitem_amazon_listing_status"] == "DELISTED"
        record = world.ledger.get(f"{catalog.DAG_ID}:listing:na:FLOW-UNFLAG")
        assert (record.status, record.reason) == ("skipped", "unpublished")
        assert _run(world, "r3")["counts"].get("delisted", 0) == 0, "deleted once, not again"

    def test_given_an_unflagged_item_never_listed_then_nothing_is_deleted(self, world):
        _add(world, _item("FLOW-NEVER", custitem_amazon_publish=False))
        counts = _run(world, "r1")["counts"]
        assert counts.get("delisted", 0) == 0
        assert world.amazon_admin.get("/_sandbox/calls").json()["operations"].get("deleteListingsItem", {}).get("calls", 0) == 0


class TestCatalogBackends:
    def test_given_flagged_items_then_one_search_reads_them_and_each_item_is_written_back_on_either_backend(self, world):
        ids = _add(world, _item("FLOW-BK-1"), _item("FLOW-BK-2", custitem_amazon_publish=False),
                   _item("FLOW-BK-3", custitem_amazon_condition="new_open_box"))
        before = {op: world.calls(world.netsuite_admin, op) for op in ("search", "updateList", "suiteql", "restUpdate", "restGet")}

        counts = _run(world, "r1")["counts"]

        assert counts["listed"] == 2 and counts["written_back"] == 2, counts
        used = {op: world.calls(world.netsuite_admin, op) - n for op, n in before.items()}
        if NetSuiteHook().api == "rest":  # SuiteQL search (custom fields selected), one PATCH per item, no GET
            assert (used["suiteql"], used["restUpdate"], used["restGet"], used["search"]) == (1, 2, 0, 0), used
        else:
            assert (used["search"], used["updateList"], used["suiteql"]) == (1, 1, 0), used
        listings = {x["sku"]: x for x in world.amazon_admin.get("/_sandbox/listings", params={"region": "na"}).json()}
        assert set(listings) >= {"FLOW-BK-1", "FLOW-BK-3"} and "FLOW-BK-2" not in listings
        for sku in ("FLOW-BK-1", "FLOW-BK-3"):
            fields = _fields(ids[sku])
            assert fields["custitem_amazon_listing_status"] == "ACTIVE" and fields["custitem_amazon_asin"].startswith("B0")
        assert "custitem_amazon_listing_status" not in _fields(ids["FLOW-BK-2"]), "unflagged: never written"
