"""The extract/load of a run the ORDER_CHANGE notifications triggered (flows/orders.extract_notified):
exactly the notified orders of the region, idempotent with the polling runs, unknown ids dead-lettered."""

from __future__ import annotations

import json

from amazon_netsuite.amazon.notifications import notified_orders
from amazon_netsuite.flows.orders import DAG_ID, extract_notified, load_region, record_not_found
from tests.integration.flows.conftest import NA, SYNCED, _sales_orders_by_external_id


def _message(order_id: str, marketplace: str) -> dict:
    body = {"NotificationType": "ORDER_CHANGE", "NotificationVersion": "1.0", "PayloadVersion": "1.0",
            "EventTime": "2026-12-01T10:00:00.000Z",
            "Payload": {"OrderChangeNotification": {"AmazonOrderId": order_id, "SellerId": "S",
                                                    "Summary": {"MarketplaceId": marketplace}}},
            "NotificationMetadata": {"NotificationId": order_id}}
    return {"MessageId": order_id, "Body": json.dumps(body)}


def test_notified_orders_are_synced_once_polling_then_changes_nothing_and_unknown_ids_are_dead_lettered(world):
    world.reset(orders=40)
    wanted = [o for o in world.amazon_orders() if o["salesChannel"]["marketplaceId"] in NA
              and o["fulfillment"]["fulfillmentStatus"] in SYNCED][:3]
    messages = [_message(o["orderId"], o["salesChannel"]["marketplaceId"]) for o in wanted]
    messages += messages[:1]  # delivered twice
    messages.append(_message("111-0000000-0000000", "ATVPDKIKX0DER"))  # an id Amazon does not know
    notified = notified_orders(messages)
    amazon, netsuite = world.hooks()
    na = next(h for h in amazon if h.region == "na")

    extracted = extract_notified(na, run_id="event-1", order_ids=notified.for_marketplaces(na.marketplace_ids))
    assert extracted["orders"] == 3 and extracted["missing_order_ids"] == ["111-0000000-0000000"]
    assert extracted["advance_to"] is None  # the polling runs keep their synced point
    loaded = load_region(extracted, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="event-1")
    assert loaded["counts"]["synced"] == 3
    missing = record_not_found([loaded], ledger=world.ledger, run_id="event-1", any_region=True)
    assert missing == ["111-0000000-0000000"]
    assert {r.reason for r in world.ledger.failed(dag_id=DAG_ID)} == {"not_found"}
    by_external = _sales_orders_by_external_id(world)
    assert all(len(by_external[f"AMZ-SO-{o['orderId']}"]) == 1 for o in wanted)

    # the polling run reads the same orders afterwards: nothing written twice
    polled = world.run("poll-1")
    assert polled["unchanged"] == 3  # the notified orders, already written: skipped by content hash
    by_external = _sales_orders_by_external_id(world)
    assert all(len(records) == 1 for records in by_external.values())

    # the same notifications again (SQS at least once): unchanged orders are skipped
    again = extract_notified(na, run_id="event-2", order_ids=notified.for_marketplaces(na.marketplace_ids))
    result = load_region(again, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="event-2")
    assert result["counts"].get("synced", 0) == 0 and result["counts"]["unchanged"] == 3, result["counts"]

    # a region none of the notifications name reads nothing
    eu = next(h for h in amazon if h.region == "eu")
    empty = extract_notified(eu, run_id="event-3", order_ids=notified.for_marketplaces(eu.marketplace_ids))
    assert empty["orders"] == 0
