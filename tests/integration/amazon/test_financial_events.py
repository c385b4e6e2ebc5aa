"""Finances API refund events: the sandbox (48-hour omission, late release, pagination, 429) and the hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from amazon_netsuite.amazon.errors import SellingPartnerApiError
from amazon_netsuite.amazon.hook import SellingPartnerHook


def refund_event(order_id: str, posted: datetime, *, marketplace: str = "Amazon.com", principal: str = "-10.00") -> dict:
    return {"AmazonOrderId": order_id, "MarketplaceName": marketplace, "PostedDate": posted.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ShipmentItemAdjustmentList": [{"SellerSKU": "SKU-1", "OrderAdjustmentItemId": f"A{order_id[-4:]}", "QuantityShipped": 1,
                                            "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": {
                                                "CurrencyCode": "USD", "CurrencyAmount": float(principal)}}]}]}


def publish(sandbox, event: dict, release_at: str | None = None) -> None:
    sandbox.http.post("/_sandbox/financial-events", json={"event": event, "releaseAt": release_at}).raise_for_status()


def test_seeded_refunds_match_the_settlement_rows(hook):
    from sandbox.amazon import seed as seed_data
    from sandbox.amazon.settlements import _order_rows

    now = datetime.now(UTC)
    events = list(hook.iter_refund_events(posted_after=now - timedelta(days=60)))
    assert events, "the seeded orders have refunds"
    for event in events:
        assert datetime.fromisoformat(event["PostedDate"].replace("Z", "+00:00")) <= now - timedelta(hours=48)
    # the same money as the settlement report's Refund rows of that order, to the cent
    orders = {o["orderId"]: o for o in seed_data.generate_orders(0, orders=120, now=now)}
    event = events[0]
    rows = [r for r in _order_rows(orders[event["AmazonOrderId"]], 0, now - timedelta(days=400), now) if r["transaction-type"] == "Refund"]
    charges = sum(Decimal(str(c["ChargeAmount"]["CurrencyAmount"])) for i in event["ShipmentItemAdjustmentList"]
                  for c in i["ItemChargeAdjustmentList"])
    assert charges == sum(Decimal(str(r["amount"])) for r in rows if r["amount-type"] == "ItemPrice")


def test_recent_and_unreleased_events_are_omitted_then_appear(sandbox, hook):
    now = datetime.now(UTC)
    publish(sandbox, refund_event("111-0000000-0000001", now - timedelta(hours=10)))  # inside Amazon's 48 h
    publish(sandbox, refund_event("111-0000000-0000002", now - timedelta(days=3)),
            release_at=(now + timedelta(days=1)).isoformat())  # deferred
    publish(sandbox, refund_event("111-0000000-0000003", now - timedelta(days=3)),
            release_at=(now - timedelta(minutes=1)).isoformat())  # released late, now visible
    ids = {e["AmazonOrderId"] for e in hook.iter_refund_events(posted_after=now - timedelta(days=7))}
    assert "111-0000000-0000003" in ids
    assert not {"111-0000000-0000001", "111-0000000-0000002"} & ids


def test_pages_and_throttling(sandbox, hook):
    now = datetime.now(UTC)
    for n in range(5):
        publish(sandbox, refund_event(f"111-0000000-00001{n:02d}", now - timedelta(days=4, minutes=n)))
    sandbox.fault("listFinancialEvents", status=429, times=2)
    events = list(hook.iter_refund_events(posted_after=now - timedelta(days=5), posted_before=now - timedelta(days=3), page_size=2))
    assert [e["AmazonOrderId"] for e in events] == [f"111-0000000-00001{n:02d}" for n in reversed(range(5))]
    stats = sandbox.calls("listFinancialEvents")
    assert stats["throttled"] == 2 and stats["calls"] == 3 + 2


def test_refuses_a_window_ending_in_the_last_two_minutes(sandbox):
    token = sandbox.token("na")
    now = datetime.now(UTC)
    answer = sandbox.http.get("/na/finances/v0/financialEvents", headers={"x-amz-access-token": token},
                              params={"PostedAfter": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert answer.status_code == 400


@pytest.mark.parametrize("body", ['{"payload": {"FinancialEvents": {"RefundEventList": {}}}}', '{"payload": {}}',
                                  '{"payload": {"FinancialEvents": {"RefundEventList": [{"PostedDate": "x"}]}}}'])
def test_malformed_page_is_retried_then_fails_never_read_as_empty(sandbox, fast_hook_kwargs, body):
    hook = SellingPartnerHook("amazon_sp_api_na", max_attempts=3, **fast_hook_kwargs)
    sandbox.fault("listFinancialEvents", status=200, body=body, content_type="application/json", times=3)
    with pytest.raises(SellingPartnerApiError, match=r"listFinancialEvents failed.*2xx response.*after 3 attempts"):
        list(hook.iter_refund_events(posted_after=datetime.now(UTC) - timedelta(days=7)))
    assert sandbox.calls("listFinancialEvents")["calls"] == 3


def test_returns_reports_are_generated_from_the_published_returns(sandbox, fast_hook_kwargs):
    from amazon_netsuite.transforms.returns import parse_fba_returns_report, parse_mfn_returns_report

    hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
    now = datetime.now(UTC)
    day = (now - timedelta(days=2)).strftime("%d-%b-%Y")
    sandbox.http.post("/_sandbox/customer-returns", json={"rows": [
        {"marketplaceId": "ATVPDKIKX0DER", "return-date": (now - timedelta(days=1)).isoformat(timespec="seconds"),
         "order-id": "111-0000000-0000009", "sku": "SKU-1", "quantity": "1", "detailed-disposition": "DEFECTIVE",
         "license-plate-number": "LPN000000009"},
        {"marketplaceId": "ATVPDKIKX0DER", "report": "mfn", "Order ID": "111-0000000-0000010", "Return request date": day,
         "Amazon RMA ID": "RMA10", "Merchant SKU": "SKU-2", "Return quantity": "2", "Return delivery date": day},
        {"marketplaceId": "A2EUQ1WTGCTBG2", "report": "mfn", "Order ID": "702-0000000-0000011", "Return request date": day,
         "Amazon RMA ID": "RMA11", "Merchant SKU": "SKU-2", "Return quantity": "1", "Return delivery date": ""},
    ]}).raise_for_status()
    texts = {}
    for report_type in ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"):
        report_id = hook.create_report(report_type, marketplace_ids=["ATVPDKIKX0DER"], data_start_time=now - timedelta(days=7))
        report = hook.wait_for_report(report_id, poll_interval=0.05, timeout=30)
        texts[report_type] = hook.download_report_document(report["reportDocumentId"], report_type=report_type)
    fba = parse_fba_returns_report(texts["GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"])
    assert [(r.amazon_order_id, r.disposition, r.key) for r in fba if r.amazon_order_id.startswith("111-0000000")] == [
        ("111-0000000-0000009", "DEFECTIVE", "LPN000000009")]
    mfn, in_transit = parse_mfn_returns_report(texts["GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"])
    assert ("111-0000000-0000010", 2, "RMA10") in [(r.amazon_order_id, r.quantity, r.key) for r in mfn]
    assert "702-0000000-0000011" not in texts["GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"]  # another marketplace's report


def test_a_published_refund_brings_no_returned_units_of_its_own(sandbox, fast_hook_kwargs):
    """Only the seeded refunds derive returned units: a published refund's return is published with it.
    (Deriving one from the published refund too returned the same units twice, under two license plates,
    and which of them NetSuite received depended on the clock: tests/dags/test_returns_dag.py.)"""
    import hashlib

    from amazon_netsuite.transforms.returns import parse_fba_returns_report, parse_mfn_returns_report
    from sandbox.amazon.finances import refund_events_from_orders

    hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
    now = datetime.now(UTC)
    orders = sandbox.http.get("/_sandbox/orders").json()
    seeded = {e["event"]["AmazonOrderId"] for e in refund_events_from_orders(orders, 0, now)}
    us = [o for o in orders if o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and o["orderId"] not in seeded
          and o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]
    fba = next(o for o in us if o["fulfillment"]["fulfilledBy"] == "AMAZON")
    # an MFN order the seeded data would give a return (half of them: the digest the sandbox draws from)
    mfn = next(o for o in us if o["fulfillment"]["fulfilledBy"] == "MERCHANT"
               and not int(hashlib.sha256(f"mfn-return|{o['orderId']}".encode()).hexdigest(), 16) % 2)
    for order in (fba, mfn):
        item = order["orderItems"][0]
        event = refund_event(order["orderId"], now - timedelta(days=4))
        event["ShipmentItemAdjustmentList"][0]["SellerSKU"] = item["product"]["sellerSku"]
        publish(sandbox, event)
    texts = {}
    for report_type in ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"):
        report_id = hook.create_report(report_type, marketplace_ids=["ATVPDKIKX0DER"], data_start_time=now - timedelta(days=10))
        report = hook.wait_for_report(report_id, poll_interval=0.05, timeout=30)
        texts[report_type] = hook.download_report_document(report["reportDocumentId"], report_type=report_type) \
            if report.get("reportDocumentId") else ""
    fba_rows = parse_fba_returns_report(texts["GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"]) if texts[
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"] else []
    mfn_rows = parse_mfn_returns_report(texts["GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"])[0] if texts[
        "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"] else []
    assert fba["orderId"] not in {r.amazon_order_id for r in fba_rows}
    assert mfn["orderId"] not in {r.amazon_order_id for r in mfn_rows}
    # the seeded refunds still bring theirs
    assert {r.amazon_order_id for r in fba_rows} | {r.amazon_order_id for r in mfn_rows} <= seeded
