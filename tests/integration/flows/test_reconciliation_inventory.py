"""sync_reconciliation's inventory check, flow level, against both emulators over HTTP: the extract reads
Amazon's FBA inventory summaries and its merchant listings report (the MFN quantities Amazon shows), the compare reads NetSuite's FBA locations and availability with the
inventory flow's own code, and every difference is a finding in the ledger and the archived CSV.

Expected quantities are computed here from the NetSuite emulator's stock (``GET /_sandbox/stock``), not
from the code under test: MFN quantity = available at the region's warehouses - safety stock, per pack."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from amazon_netsuite.flows.reconciliation import compare_region, extract_region, finish

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
NA = {"conn_id": "amazon_sp_api_na", "region": "na", "marketplace_ids": [US, CA]}
FBA_LOCATION = {US: "2", CA: "5"}  # marketplaces.csv fba_location_id
NA_WAREHOUSES = ("1", "4")  # location_id of US and CA: the region's merchant-fulfilled stock
AFN = {"ACME-MUG-11OZ-FBA": "501", "ACME-TEE-BLK-M": "502", "ACME-TEE-BLK-L": "503"}  # units_per_sku 1
LATER = dt.timedelta(hours=2)  # past MFN_GRACE: the seeded stock moves count as settled


@pytest.fixture
def inventory_world(world, tmp_path, monkeypatch):
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_STAGING_URI", f"file://{tmp_path}/staging")
    monkeypatch.setenv("AMAZON_NETSUITE_REPORT_POLL_SECONDS", "0.05")
    world.reset(orders=0)
    # Amazon's FBA counts as NetSuite's FBA locations hold them (a reconciled day)
    world.amazon_admin.post("/_sandbox/fba_inventory", json=[
        {"marketplaceId": market, "sku": sku, "fulfillable": int(_available(world, item, (location,)))}
        for market, location in FBA_LOCATION.items() for sku, item in AFN.items()]).raise_for_status()
    return world


def _available(world, item: str, locations=NA_WAREHOUSES) -> Decimal:
    total = Decimal(0)
    for location in locations:
        rows = world.netsuite_admin.get("/_sandbox/stock", params={"item": item, "location": location}).json()
        total += sum((Decimal(r["available"]) for r in rows), Decimal(0))
    return total


def _expected_mfn(world) -> dict[str, int]:
    mug = _available(world, "501")
    return {"ACME-MUG-11OZ": max(0, int(mug) - 2), "ACME-MUG-11OZ-6PK": int(mug // 6)}  # safety 2; six-pack, safety 0


def _hook():
    from amazon_netsuite.amazon.hook import SellingPartnerHook

    return SellingPartnerHook(NA["conn_id"], marketplace_ids=NA["marketplace_ids"], backoff_base=0.01, backoff_max=0.2)


def _set_at_amazon(quantities: dict[str, int]) -> None:
    """Set merchant-fulfilled quantities on Amazon's listings (patchListingsItem: what another tool or Seller
    Central does; the inventory flow's accepted feed has the same effect)."""
    hook = _hook()
    for sku, quantity in quantities.items():
        result = hook.patch_listings_item(sku, "DRINKING_CUP", [{
            "op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]}], marketplace_ids=[US])
        assert result["status"] == "ACCEPTED", result


def _publish(world, quantities: dict[str, int]) -> None:
    """What a feed of the inventory flow that Amazon accepted leaves: the pushed state, and Amazon's listings."""
    world.ledger.record_pushed("region:na", quantities, dag_id="netsuite_inventory_to_amazon", run_id="scheduled__x",
                               feed_id="1")
    from amazon_netsuite.ledger.models import pushed_state

    with world.ledger.engine.begin() as conn:  # accepted two hours ago: past the grace of a report asked for now
        conn.execute(pushed_state.update().values(pushed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)))
    _set_at_amazon(quantities)


def _reconcile(world, run_id: str, *, now: dt.datetime):
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from tests.integration.flows.conftest import FAST_RETRY

    hook = SellingPartnerHook(NA["conn_id"], marketplace_ids=NA["marketplace_ids"], backoff_base=0.01, backoff_max=0.2)
    window = (now - dt.timedelta(days=1), now)
    extracted = extract_region(hook, NA, window=window, ledger=world.ledger, mappings=world.mappings, run_id=run_id)
    return compare_region(extracted, netsuite=NetSuiteHook(**FAST_RETRY), ledger=world.ledger, mappings=world.mappings,
                          run_id=run_id, now=now)


def _inventory_findings(world, run_id: str) -> set[tuple[str, str, str | None]]:
    return {(f["kind"], f["record_key"], f["marketplace_id"])
            for f in world.ledger.reconciliation_findings(run_id=run_id, check="inventory")}


def test_given_fba_drift_and_published_quantities_off_then_each_is_a_finding_in_the_ledger_and_csv(inventory_world):
    world = inventory_world
    fba_before = _available(world, "502", (FBA_LOCATION[US],))
    world.amazon_admin.post("/_sandbox/fba_inventory", json=[
        {"marketplaceId": US, "sku": "ACME-TEE-BLK-M", "fulfillable": int(fba_before) + 3}]).raise_for_status()
    expected = _expected_mfn(world)
    assert expected["ACME-MUG-11OZ-6PK"] >= 1
    # what the inventory flow recorded as accepted by Amazon: one SKU too high, one too low, the rest right
    pushed = {**expected, "ACME-MUG-11OZ": expected["ACME-MUG-11OZ"] + 5,
              "ACME-MUG-11OZ-6PK": expected["ACME-MUG-11OZ-6PK"] - 1}
    _publish(world, pushed)
    availability_calls = world.calls(world.netsuite_admin, "getItemAvailability")

    outcome = _reconcile(world, "recon-1", now=dt.datetime.now(dt.UTC) + LATER)

    # Amazon shows what was published (one quantity per region: in both marketplaces' listings reports)
    assert _inventory_findings(world, "recon-1") == {
        ("fba_mismatch", "ACME-TEE-BLK-M", US), ("mfn_oversell_risk", "ACME-MUG-11OZ", US),
        ("mfn_oversell_risk", "ACME-MUG-11OZ", CA), ("mfn_stale", "ACME-MUG-11OZ-6PK", US),
        ("mfn_stale", "ACME-MUG-11OZ-6PK", CA)}
    by_kind = {f["kind"]: f for f in world.ledger.reconciliation_findings(run_id="recon-1", check="inventory")}
    assert by_kind["fba_mismatch"]["amazon_value"] == str(int(fba_before) + 3)
    assert Decimal(by_kind["fba_mismatch"]["netsuite_value"]) == fba_before and by_kind["fba_mismatch"]["difference"] == "-3"
    assert by_kind["mfn_oversell_risk"]["amazon_value"] == str(expected["ACME-MUG-11OZ"] + 5)
    assert by_kind["mfn_oversell_risk"]["netsuite_value"] == str(expected["ACME-MUG-11OZ"])
    assert (by_kind["mfn_stale"]["amazon_value"], by_kind["mfn_stale"]["netsuite_value"]) == (
        str(expected["ACME-MUG-11OZ-6PK"] - 1), str(expected["ACME-MUG-11OZ-6PK"]))
    assert f"Amazon shows {expected['ACME-MUG-11OZ'] + 5}" in by_kind["mfn_oversell_risk"]["message"]
    check = outcome["checks"]["inventory"]
    assert check["findings"] == 5 and check["by_kind"] == {"fba_mismatch": 1, "mfn_oversell_risk": 2, "mfn_stale": 2}
    assert check["counts"]["fba_skus"] == len(AFN) * len(FBA_LOCATION)
    assert check["counts"]["mfn_compared"] == len(pushed)
    assert check["counts"]["mfn_not_published"] == check["counts"]["mfn_skus"] - len(pushed) > 0
    # one listings report per marketplace with MFN SKUs (US, CA), never a listing read per SKU
    assert world.calls(world.amazon_admin, "getListingsItem") == 0
    # one getItemAvailability for the FBA locations, one for the MFN items: no per-item calls
    assert world.calls(world.netsuite_admin, "getItemAvailability") - availability_calls == 2
    # archived like the other checks: one CSV, ids and quantities
    with Path(outcome["csv"]["inventory"]).open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["check"], r["kind"], r["key"]) for r in rows} == {
        ("inventory", "fba_mismatch", "ACME-TEE-BLK-M"), ("inventory", "mfn_oversell_risk", "ACME-MUG-11OZ"),
        ("inventory", "mfn_stale", "ACME-MUG-11OZ-6PK")}
    # the inventory flow's stock snapshot and read mark are not touched (the check reads afresh, as a dry run)
    assert world.ledger.item_stock() == {} and world.ledger.item_states() == {}
    assert world.ledger.watermark("netsuite_inventory_to_amazon", "netsuite_item_availability") is None
    # the run fails with the counts by check
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match=r"inventory: 5 finding\(s\) \(fba_mismatch=1, mfn_oversell_risk=2, mfn_stale=2\)"):
        finish([outcome])


def test_given_netsuite_stock_moving_after_the_last_push_then_judged_only_once_the_grace_has_passed(inventory_world):
    world = inventory_world
    _publish(world, _expected_mfn(world))
    assert finish([_reconcile(world, "recon-clean", now=dt.datetime.now(dt.UTC) + LATER)])["findings"] == 0

    # the warehouse ships 10 mugs outside Amazon; Amazon still holds the old quantity
    world.netsuite_admin.post("/_sandbox/records/inventoryAdjustment", json=[{
        "subsidiary": {"internalId": "2"}, "adjLocation": {"internalId": "1"},
        "inventoryList": [{"item": {"internalId": "501"}, "location": {"internalId": "1"}, "adjustQtyBy": -10}],
    }]).raise_for_status()

    fresh = _reconcile(world, "recon-now", now=dt.datetime.now(dt.UTC))
    assert fresh["checks"]["inventory"]["findings"] == 0
    assert fresh["checks"]["inventory"]["counts"]["mfn_recent"] == 2  # the mug and its six-pack: not judged yet

    later = _reconcile(world, "recon-later", now=dt.datetime.now(dt.UTC) + LATER)
    found = {(kind, key) for kind, key, _ in _inventory_findings(world, "recon-later")}
    assert ("mfn_oversell_risk", "ACME-MUG-11OZ") in found
    assert found <= {("mfn_oversell_risk", "ACME-MUG-11OZ"), ("mfn_oversell_risk", "ACME-MUG-11OZ-6PK")}
    assert later["checks"]["inventory"]["counts"]["mfn_recent"] == 0


def test_given_amazons_quantity_changed_behind_the_projects_back_then_drift_and_oversell_are_found(inventory_world):
    world = inventory_world
    expected = _expected_mfn(world)
    assert expected["ACME-MUG-11OZ"] >= 3
    _publish(world, expected)  # the inventory flow published the formula; Amazon agrees
    assert finish([_reconcile(world, "recon-agree", now=dt.datetime.now(dt.UTC) + LATER)])["findings"] == 0

    # someone edits the listings in Seller Central: the mug lowered, the six-pack raised above what NetSuite has
    lowered, raised = expected["ACME-MUG-11OZ"] - 3, expected["ACME-MUG-11OZ-6PK"] + 4
    _set_at_amazon({"ACME-MUG-11OZ": lowered, "ACME-MUG-11OZ-6PK": raised})

    outcome = _reconcile(world, "recon-drift", now=dt.datetime.now(dt.UTC) + LATER)

    assert _inventory_findings(world, "recon-drift") == {
        ("mfn_drift", "ACME-MUG-11OZ", US), ("mfn_drift", "ACME-MUG-11OZ", CA),
        ("mfn_oversell_risk", "ACME-MUG-11OZ-6PK", US), ("mfn_oversell_risk", "ACME-MUG-11OZ-6PK", CA)}
    found = {(f["kind"], f["marketplace_id"]): f for f in world.ledger.reconciliation_findings(run_id="recon-drift",
                                                                                               check="inventory")}
    drift, oversell = found[("mfn_drift", US)], found[("mfn_oversell_risk", US)]
    assert (drift["amazon_value"], drift["netsuite_value"]) == (str(lowered), str(expected["ACME-MUG-11OZ"]))
    assert f"last published {expected['ACME-MUG-11OZ']}" in drift["message"] and "outside the project" in drift["message"]
    assert f"Amazon shows {raised}" in oversell["message"] and "outside the project" in oversell["message"]
    assert outcome["checks"]["inventory"]["by_kind"] == {"mfn_drift": 2, "mfn_oversell_risk": 2}
    # the pushed state alone would have said all is well
    assert world.ledger.pushed_quantities("region:na") == expected
