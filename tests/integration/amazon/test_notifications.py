"""SP-API notifications end to end: the setup CLI against the sandbox's Notifications API and moto's SQS,
the sandbox publishing ORDER_CHANGE in Amazon's schema when an order changes, and Amazon's own
SqsSensorTrigger (what MessageQueueTrigger(scheme="sqs") runs) receiving them."""

from __future__ import annotations

import asyncio
import json

import boto3
import httpx
import pytest
from jsonschema import Draft7Validator

from amazon_netsuite.amazon import notifications
from amazon_netsuite.amazon.notifications import (
    AMAZON_PUBLISHER_ACCOUNT,
    notified_orders,
    setup,
    sqs_messages,
)

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def moto_sqs():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def queue(moto_sqs, monkeypatch):
    """A fresh queue on moto and the aws_default connection pointing at it."""
    import uuid

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": moto_sqs, "region_name": "us-east-1"}}))
    client = boto3.client("sqs", endpoint_url=moto_sqs, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")  # noqa: S106
    url = client.create_queue(QueueName=f"sp-api-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    yield client, url
    client.delete_queue(QueueUrl=url)


@pytest.fixture
def order_change_schema(reference_dir):
    return json.loads((reference_dir / "sp-api-models" / "schemas" / "notifications" / "OrderChangeNotification.json").read_text())


def _changed(order: dict, status: str, minute: int) -> dict:
    changed = json.loads(json.dumps(order))
    changed["fulfillment"]["fulfillmentStatus"] = status
    changed["lastUpdatedTime"] = f"2026-12-01T10:{minute:02d}:00Z"
    return changed


def _receive_all(client, url) -> list[dict]:
    messages = []
    while True:
        batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        client.delete_message_batch(QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
                                                           for m in batch])


def test_setup_dry_run_prints_the_plan_and_changes_nothing(sandbox, hook, queue):
    client, url = queue
    steps = setup(queue_url=url, sp_api_hooks=[hook], sqs_client=None, dry_run=True,
                  queue_arn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:{url.rsplit('/', 1)[1]}")
    text = "\n".join(s.what for s in steps)
    assert "would set the SQS policy" in text and AMAZON_PUBLISHER_ACCOUNT in text
    assert "would create (or reuse) destination" in text and "would subscribe ORDER_CHANGE" in text
    assert not any(s.done for s in steps)
    assert "Policy" not in client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    state = httpx.get(f"{sandbox.url}/_sandbox/notifications").json()
    assert state["destinations"] == {} and state["subscriptions"] == {}


def test_setup_cli_dry_run_needs_no_aws(sandbox, capsys):
    code = notifications.main(["setup", "--queue-url", f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/sp-api",
                               "--conn", "amazon_sp_api_na", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"arn:aws:sqs:us-east-1:{ACCOUNT}:sp-api" in out and out.count("[dry-run]") == 3


def test_setup_creates_policy_destination_subscription_once_and_order_changes_arrive_in_amazons_schema(
    sandbox, hook, queue, moto_sqs, order_change_schema
):
    client, url = queue
    httpx.post(f"{sandbox.url}/_sandbox/notifications", json={"sqs_endpoint": moto_sqs}).raise_for_status()
    code = notifications.main(["setup", "--queue-url", url, "--conn", "amazon_sp_api_na"])
    assert code == 0
    policy = json.loads(client.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert any(AMAZON_PUBLISHER_ACCOUNT in json.dumps(s["Principal"]) and "sqs:SendMessage" in s["Action"]
               for s in policy["Statement"])
    state = httpx.get(f"{sandbox.url}/_sandbox/notifications").json()
    assert len(state["destinations"]["na"]) == 1 and list(state["subscriptions"]["na"]) == ["ORDER_CHANGE/1.0"]

    # idempotent: a second setup reuses both
    again = setup(queue_url=url, sp_api_hooks=[hook], sqs_client=client, dry_run=False)
    assert not any(s.done for s in again), [s.what for s in again]
    assert httpx.get(f"{sandbox.url}/_sandbox/notifications").json()["destinations"] == state["destinations"]

    # an order changes in the sandbox: one ORDER_CHANGE per change, valid against Amazon's schema
    order = next(o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER"
                 and o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")
    sandbox.add_orders([_changed(order, "SHIPPED", 1)])
    sandbox.add_orders([_changed(order, "SHIPPED", 2)])  # same status: no notification
    messages = _receive_all(client, url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    errors = [e.message for e in Draft7Validator(order_change_schema).iter_errors(body)]
    assert errors == []
    change = body["Payload"]["OrderChangeNotification"]
    assert change["AmazonOrderId"] == order["orderId"] and change["Summary"]["OrderStatus"] == "Shipped"
    assert body["NotificationMetadata"]["SubscriptionId"] == state["subscriptions"]["na"]["ORDER_CHANGE/1.0"]["subscriptionId"]


def test_without_the_publisher_in_the_queue_policy_nothing_is_delivered(sandbox, hook, queue, moto_sqs):
    client, url = queue
    httpx.post(f"{sandbox.url}/_sandbox/notifications", json={"sqs_endpoint": moto_sqs}).raise_for_status()
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    destination = hook.create_destination(name="no-policy", sqs_arn=arn)
    hook.create_subscription("ORDER_CHANGE", destination_id=destination["destinationId"])
    order = next(o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER")
    sandbox.add_orders([_changed(order, "CANCELLED", 3)])
    assert _receive_all(client, url) == []
    refused = httpx.get(f"{sandbox.url}/_sandbox/notifications").json()["refused"]
    assert refused and "does not allow account 437568002678" in refused[0]["reason"]


def test_the_notifications_api_refuses_what_amazon_refuses(sandbox, hook, queue):
    from amazon_netsuite.amazon.errors import SellingPartnerApiError

    client, url = queue
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert hook.get_subscription("ORDER_CHANGE") is None  # 404: none yet
    with pytest.raises(SellingPartnerApiError) as bad_arn:
        hook.create_destination(name="x", sqs_arn="https://sqs.us-east-1.amazonaws.com/1/q")
    assert bad_arn.value.status == 400
    destination = hook.create_destination(name="x", sqs_arn=arn)
    with pytest.raises(SellingPartnerApiError) as duplicate:
        hook.create_destination(name="again", sqs_arn=arn)
    assert duplicate.value.status == 409
    with pytest.raises(SellingPartnerApiError) as unknown:
        hook.create_subscription("ORDER_CHANGE", destination_id="no-such-destination")
    assert unknown.value.status == 400
    hook.create_subscription("ORDER_CHANGE", destination_id=destination["destinationId"])
    with pytest.raises(SellingPartnerApiError) as twice:
        hook.create_subscription("ORDER_CHANGE", destination_id=destination["destinationId"])
    assert twice.value.status == 409
    # createDestination is grantless: a seller's access token is refused
    seller = httpx.post(f"{sandbox.url}/na/notifications/v1/destinations", headers={"x-amz-access-token": sandbox.token("na")},
                        json={"name": "y", "resourceSpecification": {"sqs": {"arn": arn + "-2"}}})
    assert seller.status_code == 403
    # and createSubscription needs the seller: a grantless token is refused
    from sandbox.amazon.app import LWA_CLIENT_ID, LWA_CLIENT_SECRET

    grantless = httpx.post(f"{sandbox.url}/auth/o2/token", data={
        "grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications", "client_id": LWA_CLIENT_ID,
        "client_secret": LWA_CLIENT_SECRET}).json()["access_token"]
    refused = httpx.post(f"{sandbox.url}/na/notifications/v1/subscriptions/ORDER_CHANGE",
                         headers={"x-amz-access-token": grantless},
                         json={"destinationId": destination["destinationId"], "payloadVersion": "1.0"})
    assert refused.status_code == 403


def test_amazons_sqs_trigger_receives_the_notifications_as_one_batch(sandbox, hook, queue, moto_sqs):
    """What the asset watcher's trigger yields (the asset event's payload) gives the run its order ids:
    duplicates and out-of-order changes collapse to each order once."""
    from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger

    client, url = queue
    httpx.post(f"{sandbox.url}/_sandbox/notifications", json={"sqs_endpoint": moto_sqs}).raise_for_status()
    assert notifications.main(["setup", "--queue-url", url, "--conn", "amazon_sp_api_na"]) == 0
    orders = [o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] in ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")
              and o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"][:2]
    sandbox.add_orders([_changed(orders[0], "SHIPPED", 5)])
    sandbox.add_orders([_changed(orders[1], "CANCELLED", 4)])
    sandbox.add_orders([_changed(orders[0], "PARTIALLY_SHIPPED", 3)])  # older change, arrives later

    trigger = SqsSensorTrigger(sqs_queue=url, aws_conn_id="aws_default", max_messages=10, wait_time_seconds=1,
                               waiter_delay=1)

    async def first_event():
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(asyncio.wait_for(first_event(), timeout=30))
    extra = {"from_trigger": True, "payload": payload}  # as Trigger.submit_event stores it on the asset event
    notified = notified_orders(sqs_messages([extra, extra]))  # the same event twice: still each order once
    assert sorted(notified.order_ids) == sorted({orders[0]["orderId"], orders[1]["orderId"]})
    assert notified.messages == 6 and notified.unreadable == 0
    assert _receive_all(client, url) == []  # the trigger deleted what it received (at most once)
