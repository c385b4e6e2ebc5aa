"""Inventory adjustments move stock the way a warehouse's would, and getItemAvailability sees it:
``lastQtyAvailableChange`` filters to what moved, paged by 10,000 items, never one call per item."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from amazon_netsuite.netsuite.errors import NetSuiteError


def _adjust(admin, item: str, location: str, qty: float, *, subsidiary: str = "2", external_id: str | None = None):
    record = {"subsidiary": {"internalId": subsidiary}, "adjLocation": {"internalId": location},
              "inventoryList": [{"item": {"internalId": item}, "location": {"internalId": location}, "adjustQtyBy": qty}]}
    if external_id:
        record["externalId"] = external_id
    return admin.post("/_sandbox/records/inventoryAdjustment", json=[record])


def _available(admin, item: str, location: str) -> Decimal:
    return Decimal(admin.get("/_sandbox/stock", params={"item": item, "location": location}).json()[0]["available"])


class TestInventoryAdjustment:
    def test_given_an_adjustment_without_account_when_posted_through_the_admin_api_then_stock_moves_and_the_account_defaults(self, admin):
        before = _available(admin, "501", "1")
        response = _adjust(admin, "501", "1", 7)
        response.raise_for_status()
        stored = response.json()[0]
        assert stored["account"]["internalId"] == "5200"
        assert _available(admin, "501", "1") == before + 7

    def test_given_an_adjustment_below_zero_when_posted_then_refused_and_nothing_moves(self, admin):
        before = _available(admin, "501", "1")
        response = _adjust(admin, "501", "1", -(float(before) + 1000))
        assert response.status_code == 400 and "below zero" in response.text
        assert _available(admin, "501", "1") == before

    def test_given_a_location_of_another_subsidiary_when_posted_then_refused(self, admin):
        response = _adjust(admin, "501", "7", 1, subsidiary="2")
        assert response.status_code == 400 and "INVALID_KEY_OR_REF" in response.text

    def test_given_an_adjustment_through_soap_without_account_when_upserted_then_netsuite_requires_it(self, hook):
        [result] = hook.upsert_records("inventoryAdjustment", [{
            "externalId": "AMZ-IA-TEST", "subsidiary": {"internalId": "2"}, "adjLocation": {"internalId": "2"},
            "inventoryList": [{"item": {"internalId": "501"}, "location": {"internalId": "2"}, "adjustQtyBy": 1.0}]}])
        assert not result.ok and "Adjustment Account" in (result.error_message or "")

    def test_given_the_same_adjustment_upserted_twice_when_read_then_stock_moved_once(self, admin, hook):
        """Lines keyed by ``line``: an upsert with replaceAll false replaces line 1 instead of adding one."""
        before = _available(admin, "501", "2")
        record = {"externalId": "AMZ-IA-2026-12-01", "subsidiary": {"internalId": "2"}, "account": {"internalId": "5200"},
                  "adjLocation": {"internalId": "2"},
                  "inventoryList": [{"line": 1, "item": {"internalId": "501"}, "location": {"internalId": "2"}, "adjustQtyBy": 3.0}]}
        assert hook.upsert_records("inventoryAdjustment", [record])[0].ok
        assert hook.upsert_records("inventoryAdjustment", [record])[0].ok
        assert _available(admin, "501", "2") == before + 3


class TestItemAvailability:
    def test_given_a_stock_move_when_reading_since_before_it_then_only_the_moved_rows_come_back(self, admin, hook):
        time.sleep(0.01)
        since = datetime.now(UTC)
        time.sleep(0.01)
        _adjust(admin, "504", "1", 5).raise_for_status()
        rows = hook.item_availability(["501", "502", "504"], since=since)
        assert {(r.item_id, r.location_id) for r in rows} == {("504", "1")}
        assert rows[0].quantity_available == _available(admin, "504", "1")
        everything = hook.item_availability(["501", "502", "504"])
        assert len({r.item_id for r in everything}) == 3

    def test_given_more_than_10000_items_when_reading_then_one_call_per_10000(self, admin, hook, sandbox_calls):
        ids = ["501"] + [str(900_000 + n) for n in range(10_000)]
        hook.item_availability(ids)
        assert sandbox_calls("getItemAvailability")["calls"] == 2

    def test_given_a_netsuite_outage_when_reading_then_retried_then_answered(self, admin, hook, sandbox_calls):
        admin.post("/_sandbox/faults", json={"operation": "getItemAvailability", "status": 503, "times": 1}).raise_for_status()
        assert hook.item_availability(["501"])
        assert sandbox_calls("getItemAvailability")["calls"] == 2

    def test_given_a_lasting_outage_when_reading_then_it_fails_instead_of_reading_nothing(self, admin, hook):
        admin.post("/_sandbox/faults", json={"operation": "getItemAvailability", "status": 503, "times": 20}).raise_for_status()
        with pytest.raises(NetSuiteError):
            hook.item_availability(["501"])
        admin.delete("/_sandbox/faults")
