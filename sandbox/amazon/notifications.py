"""Notifications API v1 of the SP-API emulator: destinations, subscriptions, and ORDER_CHANGE delivery to SQS.

- ``createDestination`` / ``getDestinations`` are grantless (a ``client_credentials`` token with scope
  ``sellingpartnerapi::notifications``); ``createSubscription`` / ``getSubscription`` need the seller's
  authorization (a refresh-token access token of the region). Destinations and subscriptions belong to
  a region's endpoint, as every SP-API resource does here.
- Refusals follow the model (notifications.json): a body without ``name`` or ``resourceSpecification``,
  an SQS ARN not matching ``^arn:aws:sqs:\\S+:\\S+:\\S+``, or an unknown ``destinationId`` is 400; a second
  destination for the same ARN and a second subscription for the same notification type and payload
  version are 409 Conflict; ``getSubscription`` without one is 404. EventBridge destinations are not
  emulated (400 with that reason).
- When an order changes (``POST /_sandbox/orders``: a new order, or another ``fulfillmentStatus``),
  every ORDER_CHANGE subscription of its region gets a notification in Amazon's schema
  (schemas/notifications/OrderChangeNotification.json), sent to the destination's queue on the SQS
  endpoint set with ``POST /_sandbox/notifications`` (moto in tests). Like Amazon, delivery needs the
  queue policy to let Amazon's publisher account (437568002678) ``sqs:SendMessage``: without it the
  notification is dropped (counted as refused), which is what Amazon's silent non-delivery looks like.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

#: The AWS account Amazon publishes SP-API notifications from (it must be allowed to SendMessage).
AMAZON_PUBLISHER_ACCOUNT = "437568002678"
SQS_ARN = re.compile(r"^arn:aws:sqs:\S+:\S+:\S+")
#: Types a subscription may be created for here (Amazon has more; these are the ones this project uses).
NOTIFICATION_TYPES = {
    "ORDER_CHANGE": "1.0",
    "REPORT_PROCESSING_FINISHED": "2020-09-04",
    "FEED_PROCESSING_FINISHED": "2020-09-04",
    "FBA_INVENTORY_AVAILABILITY_CHANGES": "1.0",
}
APPLICATION_ID = "amzn1.sellerapps.app.sandbox-0000-0000-0000-000000000000"
#: Orders v2026-01-01 fulfillmentStatus -> the OrderStatus enum of the ORDER_CHANGE schema.
ORDER_STATUS = {
    "PENDING_AVAILABILITY": "PendingAvailability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}


class NotificationError(Exception):
    def __init__(self, status: int, details: str = "") -> None:
        self.status = status
        self.details = details
        super().__init__(details)


def _iso_ms(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def allows_amazon(policy_text: str | None) -> bool:
    """Whether a queue policy lets Amazon's publisher account send messages."""
    if not policy_text:
        return False
    try:
        policy = json.loads(policy_text)
    except ValueError:
        return False
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal") or {}
        aws = principal.get("AWS", []) if isinstance(principal, dict) else principal
        aws = [aws] if isinstance(aws, str) else list(aws)
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else list(actions)
        if any(AMAZON_PUBLISHER_ACCOUNT in str(p) for p in aws) and any(
            a.lower() in ("sqs:sendmessage", "sqs:*") for a in actions
        ):
            return True
    return False


class Notifications:
    """Destinations and subscriptions per region, and the delivery of ORDER_CHANGE messages."""

    def __init__(self, seller_id: str) -> None:
        self.seller_id = seller_id
        self._lock = threading.Lock()
        self.sqs_endpoint: str | None = None
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.destinations: dict[str, dict[str, dict]] = {}
            self.subscriptions: dict[str, dict[tuple[str, str], dict]] = {}
            self.delivered: list[dict] = []
            self.refused: list[dict] = []

    # -- API operations ------------------------------------------------------------------------------
    def create_destination(self, region: str, body: Any) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body.get("name"):
            raise NotificationError(400, "name is required.")
        if len(body["name"]) > 256:
            raise NotificationError(400, "name must be at most 256 characters.")
        spec = body.get("resourceSpecification")
        if not isinstance(spec, dict) or not spec:
            raise NotificationError(400, "resourceSpecification is required.")
        if "eventBridge" in spec:
            raise NotificationError(400, "EventBridge destinations are not emulated by the sandbox; use sqs.")
        arn = (spec.get("sqs") or {}).get("arn") if isinstance(spec.get("sqs"), dict) else None
        if not isinstance(arn, str) or not SQS_ARN.match(arn) or len(arn) > 1000:
            raise NotificationError(400, "resourceSpecification.sqs.arn must be an SQS queue ARN (arn:aws:sqs:region:account:name).")
        with self._lock:
            regional = self.destinations.setdefault(region, {})
            if any(d["resource"]["sqs"]["arn"] == arn for d in regional.values()):
                raise NotificationError(409, f"A destination for {arn} already exists.")
            destination = {"name": body["name"], "destinationId": str(uuid.uuid4()), "resource": {"sqs": {"arn": arn}}}
            regional[destination["destinationId"]] = destination
        return destination

    def get_destinations(self, region: str) -> list[dict]:
        with self._lock:
            return list(self.destinations.get(region, {}).values())

    def create_subscription(self, region: str, notification_type: str, body: Any) -> dict:
        if notification_type not in NOTIFICATION_TYPES:
            raise NotificationError(400, f"{notification_type} is not a notification type the sandbox supports "
                                         f"({', '.join(sorted(NOTIFICATION_TYPES))}).")
        if not isinstance(body, dict) or not body.get("destinationId") or not body.get("payloadVersion"):
            raise NotificationError(400, "destinationId and payloadVersion are required.")
        if body["payloadVersion"] != NOTIFICATION_TYPES[notification_type]:
            raise NotificationError(400, f"payloadVersion {body['payloadVersion']} is not supported for {notification_type}.")
        with self._lock:
            if body["destinationId"] not in self.destinations.get(region, {}):
                raise NotificationError(400, f"Destination {body['destinationId']} was not found.")
            regional = self.subscriptions.setdefault(region, {})
            key = (notification_type, body["payloadVersion"])
            if key in regional:
                raise NotificationError(409, f"A subscription for {notification_type} already exists.")
            subscription = {"subscriptionId": str(uuid.uuid4()), "payloadVersion": body["payloadVersion"],
                            "destinationId": body["destinationId"]}
            if isinstance(body.get("processingDirective"), dict):
                subscription["processingDirective"] = body["processingDirective"]
            regional[key] = subscription
        return subscription

    def get_subscription(self, region: str, notification_type: str) -> dict:
        if notification_type not in NOTIFICATION_TYPES:
            raise NotificationError(400, f"{notification_type} is not a notification type the sandbox supports.")
        with self._lock:
            for (kind, _version), subscription in self.subscriptions.get(region, {}).items():
                if kind == notification_type:
                    return subscription
        raise NotificationError(404, f"No subscription for {notification_type}.")

    # -- ORDER_CHANGE ------------------------------------------------------------------------------
    def order_change(self, order: dict, subscription_id: str, *, now: datetime | None = None) -> dict:
        """The notification Amazon sends for ``order`` (OrderChangeNotification.json, payload 1.0)."""
        now = now or datetime.now(UTC)
        items = order.get("orderItems") or []
        shipped = sum(int((i.get("fulfillment") or {}).get("quantityFulfilled") or 0) for i in items)
        unshipped = sum(int((i.get("fulfillment") or {}).get("quantityUnfulfilled") or 0) for i in items)
        fulfillment = order.get("fulfillment") or {}
        address = (order.get("recipient") or {}).get("deliveryAddress") or {}
        buyer_cancel = any(((i.get("cancellation") or {}).get("cancellationRequest") or {}).get("requester") == "BUYER"
                           for i in items)
        status = ORDER_STATUS.get(fulfillment.get("fulfillmentStatus") or "", "Pending")
        return {
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0",
            "EventTime": _iso_ms(now),
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": self.seller_id,
                "AmazonOrderId": order["orderId"],
                "OrderChangeType": "BuyerRequestedChange" if buyer_cancel and status != "Canceled" else "OrderStatusChange",
                "OrderChangeTrigger": {
                    "TimeOfOrderChange": order.get("lastUpdatedTime") or _iso_ms(now),
                    "ChangeReason": "Buyer Requested Cancel" if buyer_cancel else "Order status changed",
                },
                "Summary": {
                    "MarketplaceId": (order.get("salesChannel") or {}).get("marketplaceId", ""),
                    "OrderStatus": status,
                    "PurchaseDate": order.get("createdTime"),
                    "DestinationPostalCode": address.get("postalCode"),
                    "FulfillmentType": "AFN" if fulfillment.get("fulfilledBy") == "AMAZON" else "MFN",
                    "OrderType": "StandardOrder",
                    "NumberOfItemsShipped": shipped,
                    "NumberOfItemsUnshipped": unshipped,
                    "OrderItems": [{
                        "OrderItemId": str(i.get("orderItemId")),
                        "SellerSKU": (i.get("product") or {}).get("sellerSku"),
                        "SupplySourceId": None,
                        "Quantity": int(i.get("quantityOrdered") or 0),
                        "QuantityShipped": int((i.get("fulfillment") or {}).get("quantityFulfilled") or 0),
                    } for i in items],
                },
            }},
            "NotificationMetadata": {
                "ApplicationId": APPLICATION_ID,
                "SubscriptionId": subscription_id,
                "PublishTime": _iso_ms(now),
                "NotificationId": str(uuid.uuid4()),
            },
        }

    def publish_order_changes(self, region: str, orders: list[dict]) -> None:
        """Send an ORDER_CHANGE per order to the region's ORDER_CHANGE destination, if subscribed."""
        with self._lock:
            subscription = self.subscriptions.get(region, {}).get(("ORDER_CHANGE", "1.0"))
            destination = self.destinations.get(region, {}).get(subscription["destinationId"]) if subscription else None
            endpoint = self.sqs_endpoint
        if not orders or subscription is None or destination is None:
            return
        arn = destination["resource"]["sqs"]["arn"]
        if endpoint is None:
            self._refuse(arn, orders, "no SQS endpoint configured (POST /_sandbox/notifications)")
            return
        import boto3

        _, _, _, aws_region, account, name = arn.split(":", 5)
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=aws_region, aws_access_key_id="sandbox",
                           aws_secret_access_key="sandbox")  # noqa: S106 - the emulated publisher
        try:
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
        except Exception as exc:  # noqa: BLE001 - an unreachable or missing queue: Amazon drops the message
            self._refuse(arn, orders, f"queue unreachable: {type(exc).__name__}")
            return
        if not allows_amazon(policy):
            self._refuse(arn, orders, f"the queue policy does not allow account {AMAZON_PUBLISHER_ACCOUNT} sqs:SendMessage")
            return
        for order in orders:
            message = self.order_change(order, subscription["subscriptionId"])
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
            with self._lock:
                self.delivered.append({"orderId": order["orderId"], "arn": arn,
                                       "notificationId": message["NotificationMetadata"]["NotificationId"]})

    def _refuse(self, arn: str, orders: list[dict], reason: str) -> None:
        with self._lock:
            self.refused.extend({"orderId": o["orderId"], "arn": arn, "reason": reason} for o in orders)

    def state(self) -> dict:
        with self._lock:
            return {
                "sqs_endpoint": self.sqs_endpoint,
                "destinations": {r: list(d.values()) for r, d in self.destinations.items()},
                "subscriptions": {r: {f"{k[0]}/{k[1]}": s for k, s in subs.items()} for r, subs in self.subscriptions.items()},
                "delivered": list(self.delivered),
                "refused": list(self.refused),
            }
