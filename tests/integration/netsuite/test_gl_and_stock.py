"""The admin API's GL balance and stock endpoints (ARCHITECTURE contract): what posting records and
stock moves add up to."""

from __future__ import annotations

from decimal import Decimal


def test_given_journal_entries_when_asking_the_gl_then_debits_minus_credits_per_account(admin):
    entry = {"externalId": "AMZ-JE-GL-1", "subsidiary": {"internalId": "2"}, "currency": {"internalId": "1"},
             "tranDate": "2026-11-20T12:00:00+00:00",
             "lineList": [{"account": {"internalId": "1010"}, "debit": 100.0},
                          {"account": {"internalId": "1210"}, "credit": 60.0},
                          {"account": {"internalId": "6110"}, "credit": 40.0}]}
    admin.post("/_sandbox/records/journalEntry", json=[entry]).raise_for_status()
    clearing = admin.get("/_sandbox/gl", params={"account": "1210", "subsidiary": "2"}).json()
    assert (Decimal(clearing["balance"]), clearing["lines"], clearing["currency"]) == (Decimal("-60.00"), 1, "1")
    assert Decimal(admin.get("/_sandbox/gl", params={"account": "1010"}).json()["balance"]) == Decimal("100.00")
    assert admin.get("/_sandbox/gl", params={"account": "1210", "subsidiary": "3"}).json()["lines"] == 0


def test_given_an_item_when_asking_its_stock_then_on_hand_committed_available_per_location(admin):
    levels = admin.get("/_sandbox/stock", params={"item": "501"}).json()
    assert levels and {row["item"] for row in levels} == {"501"}
    for row in levels:
        assert Decimal(row["available"]) == max(Decimal(row["onHand"]) - Decimal(row["committed"]), Decimal(0))
    one = admin.get("/_sandbox/stock", params={"item": "501", "location": levels[0]["location"]}).json()
    assert one == [levels[0]]
    assert admin.get("/_sandbox/stock", params={"item": "99999"}).status_code == 404


def test_given_an_open_order_line_then_its_units_are_committed_and_no_longer_available(admin):
    before = {r["location"]: r for r in admin.get("/_sandbox/stock", params={"item": "501"}).json()}
    order = {"externalId": "AMZ-SO-STOCK-1", "entity": {"internalId": "100"}, "subsidiary": {"internalId": "2"},
             "tranDate": "2026-11-20T12:00:00+00:00", "location": {"internalId": "1"},
             "itemList": [{"item": {"internalId": "501"}, "quantity": 3, "rate": 1.0, "taxCode": {"internalId": "11"}}]}
    admin.post("/_sandbox/records/salesOrder", json=[order]).raise_for_status()
    after = {r["location"]: r for r in admin.get("/_sandbox/stock", params={"item": "501"}).json()}
    assert Decimal(after["1"]["committed"]) == Decimal(before["1"]["committed"]) + 3
    assert Decimal(after["1"]["onHand"]) == Decimal(before["1"]["onHand"])
    assert Decimal(after["1"]["available"]) == Decimal(before["1"]["available"]) - 3


def test_given_queued_faults_when_cleared_then_the_next_call_succeeds(admin, hook):
    admin.post("/_sandbox/faults", json={"operation": "getList", "status": 503, "times": 5}).raise_for_status()
    assert admin.delete("/_sandbox/faults").json() == {"cleared": 1}
    assert hook.get_records("customer", ["100"])["100"]["internalId"] == "100"
    assert admin.get("/_sandbox/calls").json()["operations"]["getList"]["calls"] == 1
