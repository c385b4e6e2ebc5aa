"""ORDER_CHANGE messages -> order ids, the queue policy, and the light SQS watcher of the orders DAG."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator

from amazon_netsuite.amazon.notifications import (
    AMAZON_PUBLISHER_ACCOUNT,
    merged_policy,
    notified_orders,
    parse_order_change,
    queue_arn_from_url,
    sqs_messages,
    triggering_messages,
)


@pytest.fixture
def schema(reference_dir):
    return json.loads((reference_dir / "sp-api-models" / "schemas" / "notifications" / "OrderChangeNotification.json").read_text())


def _message(order_id: str, marketplace: str = "ATVPDKIKX0DER", status: str = "Unshipped", **extra) -> dict:
    body = {
        "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": "2026-12-01T10:00:00.000Z",
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel", "SellerId": "A3SANDBOXSELLER", "AmazonOrderId": order_id,
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": "2026-12-01T10:00:00.000Z", "ChangeReason": "x"},
            "Summary": {"MarketplaceId": marketplace, "OrderStatus": status, "PurchaseDate": None,
                        "DestinationPostalCode": None, "FulfillmentType": "MFN", "OrderType": "StandardOrder",
                        "OrderItems": []}}},
        "NotificationMetadata": {"ApplicationId": "a", "SubscriptionId": "s", "PublishTime": "2026-12-01T10:00:00.000Z",
                                 "NotificationId": order_id + status},
    }
    body.update(extra)
    return {"MessageId": order_id + status, "ReceiptHandle": "r", "Body": json.dumps(body)}


def test_amazons_own_example_parses(schema):
    example = schema["examples"][0]
    change = parse_order_change(json.dumps(example))
    assert change.order_id == "903-8868176-2219830" and change.marketplace_id == "ATVPDKIKX0DER"
    assert change.change_type == "BuyerRequestedChange" and change.order_status == "Unshipped"


def test_the_test_messages_follow_amazons_schema(schema):
    body = json.loads(_message("113-0000000-0000001")["Body"])
    assert [e.message for e in Draft7Validator(schema).iter_errors(body)] == []


def test_duplicates_and_out_of_order_messages_name_each_order_once_per_marketplace():
    messages = [_message("113-1", status="Shipped"), _message("113-2"), _message("113-1", status="Unshipped"),
                _message("113-1", status="Shipped"), _message("302-9", marketplace="A1PA6795UKMFR9")]
    notified = notified_orders(messages)
    assert notified.by_marketplace == {"ATVPDKIKX0DER": ["113-1", "113-2"], "A1PA6795UKMFR9": ["302-9"]}
    assert notified.for_marketplaces(["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]) == ["113-1", "113-2"]
    assert notified.for_marketplaces(["A2Q3Y263D00KWC"]) == []
    assert notified.messages == 5


def test_unreadable_and_other_notifications_are_counted_never_fatal():
    report_done = {"MessageId": "r", "Body": json.dumps({"NotificationType": "REPORT_PROCESSING_FINISHED", "Payload": {}})}
    broken = [{"MessageId": "a", "Body": "<html>"}, {"MessageId": "b", "Body": json.dumps({"hello": 1})},
              {"MessageId": "c", "Body": json.dumps({"NotificationType": "ORDER_CHANGE", "Payload": {}})}]
    notified = notified_orders([*broken, report_done, _message("113-3")])
    assert notified.order_ids == ["113-3"]
    assert notified.unreadable == 3 and notified.other_types == 1
    with pytest.raises(ValueError):
        parse_order_change(json.dumps({"NotificationType": "ORDER_CHANGE", "Payload": {"OrderChangeNotification": {
            "AmazonOrderId": "1", "Summary": {}}}}))


def test_messages_come_from_the_asset_events_a_message_queue_trigger_created():
    batch = [_message("113-4"), _message("113-5")]
    extras = [{"from_trigger": True, "payload": {"status": "success", "message_batch": batch}},
              {"from_trigger": True, "payload": {"status": "success", "message_batch": [_message("113-4")]}},
              {"something": "else"}, None]
    assert [m["MessageId"] for m in sqs_messages(extras)] == ["113-4Unshipped", "113-5Unshipped", "113-4Unshipped"]


def test_only_the_order_change_assets_make_a_run_event_triggered():
    class Asset:
        def __init__(self, name):
            self.name = name

    class Event:
        def __init__(self, extra):
            self.extra = extra

    extra = {"from_trigger": True, "payload": {"message_batch": [_message("113-6")]}}
    assert triggering_messages({"triggering_asset_events": {}}) is None
    assert triggering_messages({"triggering_asset_events": {Asset("other_asset"): [Event(extra)]}}) is None
    messages = triggering_messages({"triggering_asset_events": {Asset("amazon_sp_api_order_changes__q"): [Event(extra)]}})
    assert [m["MessageId"] for m in messages] == ["113-6Unshipped"]


def test_queue_policy_adds_amazons_publisher_and_keeps_other_statements():
    arn = "arn:aws:sqs:us-east-1:123456789012:sp-api"
    current = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Mine", "Effect": "Allow",
                                                                  "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                                  "Action": "sqs:*", "Resource": arn}]})
    policy = merged_policy(current, arn)
    assert [s["Sid"] for s in policy["Statement"]] == ["Mine", "AllowAmazonSellingPartnerNotifications"]
    ours = policy["Statement"][1]
    assert ours["Principal"] == {"AWS": f"arn:aws:iam::{AMAZON_PUBLISHER_ACCOUNT}:root"}
    assert ours["Action"] == ["sqs:SendMessage", "sqs:GetQueueAttributes"] and ours["Resource"] == arn
    assert merged_policy(json.dumps(policy), arn) == policy  # applying twice changes nothing


def test_queue_arn_from_url():
    assert queue_arn_from_url("https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api") == "arn:aws:sqs:eu-west-1:123456789012:sp-api"
    assert queue_arn_from_url("http://127.0.0.1:5000/123456789012/sp-api") is None


def test_the_light_watcher_serializes_exactly_as_message_queue_trigger_sqs():
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    from amazon_netsuite.sqs_watch import SqsQueueTrigger

    kwargs = {"sqs_queue": "https://sqs.us-east-1.amazonaws.com/123456789012/sp-api", "aws_conn_id": "aws_sqs",
              "max_messages": 10, "wait_time_seconds": 20, "waiter_delay": 5}
    assert SqsQueueTrigger(**kwargs).serialize() == MessageQueueTrigger(scheme="sqs", **kwargs).serialize()
    assert SqsQueueTrigger(sqs_queue="q").serialize() == MessageQueueTrigger(scheme="sqs", sqs_queue="q").serialize()
    with pytest.raises(TypeError):
        SqsQueueTrigger(sqs_queue="q", no_such_option=1)
