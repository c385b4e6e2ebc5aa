"""SP-API notifications through SQS: reading ORDER_CHANGE messages, and the setup CLI.

Amazon publishes a notification (schemas/notifications/*.json of selling-partner-api-models) to an SQS
queue the app registered as a *destination* (``createDestination``, grantless) for each *subscription*
a seller's authorization created (``createSubscription``). The orders DAG's asset watches the queue
through ``MessageQueueTrigger(scheme="sqs")`` in the triggerer; the trigger deletes what it received
(at most once), so the scheduled polling stays the safety net.

Setup (per SP-API connection, i.e. region), idempotent; ``--dry-run`` prints the plan and changes nothing::

    python -m amazon_netsuite.amazon.notifications setup --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/sp-api \\
        [--conn amazon_sp_api_na ...] [--aws-conn-id aws_default] [--dry-run]

1. the queue policy lets Amazon's publisher account (437568002678) ``sqs:SendMessage`` and
   ``sqs:GetQueueAttributes`` (Amazon's SQS set-up guide); other statements are kept;
2. a destination for the queue's ARN (an existing one for the same ARN is reused);
3. an ``ORDER_CHANGE`` subscription (payload 1.0) to it (an existing one is kept; one pointing elsewhere
   is reported, never replaced).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

AMAZON_PUBLISHER_ACCOUNT = "437568002678"
POLICY_SID = "AllowAmazonSellingPartnerNotifications"
ORDER_CHANGE = "ORDER_CHANGE"
ORDER_CHANGE_PAYLOAD_VERSION = "1.0"
DESTINATION_NAME = "amazon-netsuite-sync"
_AWS_QUEUE_URL = re.compile(r"^https://sqs\.([^.]+)\.amazonaws\.com(?:\.cn)?/(\d+)/([^/]+)$")


# ------------------------------------------------------------------------------------ messages


@dataclass(frozen=True)
class OrderChange:
    order_id: str
    marketplace_id: str
    seller_id: str
    order_status: str | None
    change_type: str | None
    event_time: str | None
    notification_id: str | None


def parse_order_change(body: Any) -> OrderChange | None:
    """An ORDER_CHANGE notification (its SQS message body, JSON text or already decoded), or None for
    another notification type. Raises ValueError for a body that is not a notification at all."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or "NotificationType" not in body:
        raise ValueError("not an SP-API notification (no NotificationType)")
    if body["NotificationType"] != ORDER_CHANGE:
        return None
    change = (body.get("Payload") or {}).get("OrderChangeNotification")
    if not isinstance(change, dict):
        raise ValueError("ORDER_CHANGE without Payload.OrderChangeNotification")
    order_id = change.get("AmazonOrderId")
    summary = change.get("Summary") if isinstance(change.get("Summary"), dict) else {}
    marketplace_id = summary.get("MarketplaceId")
    if not isinstance(order_id, str) or not order_id or not isinstance(marketplace_id, str) or not marketplace_id:
        raise ValueError("ORDER_CHANGE without AmazonOrderId or Summary.MarketplaceId")
    metadata = body.get("NotificationMetadata") if isinstance(body.get("NotificationMetadata"), dict) else {}
    return OrderChange(order_id=order_id, marketplace_id=marketplace_id, seller_id=str(change.get("SellerId") or ""),
                       order_status=summary.get("OrderStatus"), change_type=change.get("OrderChangeType"),
                       event_time=body.get("EventTime"), notification_id=metadata.get("NotificationId"))


@dataclass
class NotifiedOrders:
    """The order ids the triggering notifications name, per marketplace (each id once, first seen first)."""

    by_marketplace: dict[str, list[str]]
    messages: int = 0
    other_types: int = 0
    unreadable: int = 0

    def for_marketplaces(self, marketplace_ids: Iterable[str]) -> list[str]:
        ids: list[str] = []
        for marketplace in marketplace_ids:
            ids.extend(i for i in self.by_marketplace.get(marketplace, []) if i not in ids)
        return ids

    @property
    def order_ids(self) -> list[str]:
        return [i for ids in self.by_marketplace.values() for i in ids]


def sqs_messages(asset_event_extras: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The SQS messages in asset events a ``MessageQueueTrigger(scheme="sqs")`` watcher created: Airflow
    stores the trigger event as ``extra = {"from_trigger": True, "payload": {"message_batch": [...]}}``."""
    messages: list[dict] = []
    for extra in asset_event_extras:
        payload = (extra or {}).get("payload") if isinstance(extra, Mapping) else None
        batch = payload.get("message_batch") if isinstance(payload, Mapping) else None
        if isinstance(batch, list):
            messages.extend(m for m in batch if isinstance(m, Mapping))
    return messages


def notified_orders(messages: Iterable[Mapping[str, Any]]) -> NotifiedOrders:
    """Group the ORDER_CHANGE messages' order ids by marketplace. Duplicates (SQS delivers at least
    once; Amazon may notify twice) and the order the messages arrived in do not matter: the run reads
    each order's current state. Unreadable messages are logged and counted, never fatal: the
    scheduled polling run reads every changed order anyway."""
    result = NotifiedOrders(by_marketplace={})
    for message in messages:
        result.messages += 1
        try:
            change = parse_order_change(message.get("Body"))
        except ValueError as exc:
            result.unreadable += 1
            log.warning("SQS message %s is not a readable SP-API notification (%s); the polling run covers it",
                        message.get("MessageId"), exc)
            continue
        if change is None:
            result.other_types += 1
            continue
        ids = result.by_marketplace.setdefault(change.marketplace_id, [])
        if change.order_id not in ids:
            ids.append(change.order_id)
    return result


def triggering_messages(context: Mapping[str, Any]) -> list[dict] | None:
    """The SQS messages of the asset events that triggered this run, or None when the run was not
    triggered by the order-change assets (scheduled or manual runs)."""
    events = context.get("triggering_asset_events")
    if not events:
        return None
    extras = []
    for asset, asset_events in events.items():
        if not str(getattr(asset, "name", "")).startswith(ASSET_PREFIX):
            continue
        extras.extend(getattr(event, "extra", None) or {} for event in asset_events)
    return sqs_messages(extras) if extras else None


ASSET_PREFIX = "amazon_sp_api_order_changes"


# ------------------------------------------------------------------------------------ setup


def queue_arn_from_url(queue_url: str) -> str | None:
    """``arn:aws:sqs:region:account:name`` of an AWS queue URL (None for another endpoint's URL)."""
    match = _AWS_QUEUE_URL.match(queue_url)
    if not match:
        return None
    region, account, name = match.groups()
    partition = "aws-cn" if ".amazonaws.com.cn/" in queue_url else "aws"
    return f"arn:{partition}:sqs:{region}:{account}:{name}"


def publisher_statement(queue_arn: str) -> dict:
    """The queue-policy statement that lets Amazon publish SP-API notifications to the queue."""
    return {
        "Sid": POLICY_SID,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{AMAZON_PUBLISHER_ACCOUNT}:root"},
        "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
        "Resource": queue_arn,
    }


def merged_policy(current: str | None, queue_arn: str) -> dict:
    """The queue policy with the publisher statement in place; other statements are kept as they are."""
    policy = json.loads(current) if current else {}
    policy.setdefault("Version", "2012-10-17")
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    statements = [s for s in statements if s.get("Sid") != POLICY_SID]
    statements.append(publisher_statement(queue_arn))
    policy["Statement"] = statements
    return policy


@dataclass
class Step:
    what: str
    done: bool = False  # False: only planned (dry run) or nothing to do


def setup(
    *,
    queue_url: str,
    sp_api_hooks: Sequence[Any],
    sqs_client: Any | None,
    dry_run: bool,
    destination_name: str = DESTINATION_NAME,
    queue_arn: str | None = None,
) -> list[Step]:
    """Policy, destination and ORDER_CHANGE subscription for each SP-API connection (see module doc)."""
    steps: list[Step] = []
    arn = queue_arn or queue_arn_from_url(queue_url)
    current_policy = None
    if sqs_client is not None:
        attributes = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "Policy"])["Attributes"]
        arn = attributes["QueueArn"]
        current_policy = attributes.get("Policy")
    if arn is None:
        raise ValueError(f"cannot derive the queue ARN from {queue_url}; give --queue-arn (or run without --dry-run)")
    policy = merged_policy(current_policy, arn)
    if current_policy and publisher_statement(arn) in (json.loads(current_policy).get("Statement") or []):
        steps.append(Step(f"SQS policy of {arn}: already allows account {AMAZON_PUBLISHER_ACCOUNT}"))
    elif dry_run:
        steps.append(Step(f"would set the SQS policy of {arn}: {json.dumps(policy)}"))
    else:
        sqs_client.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        steps.append(Step(f"set the SQS policy of {arn}: account {AMAZON_PUBLISHER_ACCOUNT} may SendMessage", done=True))

    for hook in sp_api_hooks:
        conn = hook.sp_api_conn_id
        if dry_run:
            steps.append(Step(f"{conn}: would create (or reuse) destination {destination_name!r} for {arn} (createDestination, grantless)"))
            steps.append(Step(f"{conn}: would subscribe {ORDER_CHANGE} (payload {ORDER_CHANGE_PAYLOAD_VERSION}) to it (createSubscription)"))
            continue
        existing = next((d for d in hook.get_destinations() if ((d.get("resource") or {}).get("sqs") or {}).get("arn") == arn), None)
        if existing:
            destination_id = existing["destinationId"]
            steps.append(Step(f"{conn}: destination {destination_id} for {arn} exists"))
        else:
            destination_id = hook.create_destination(name=destination_name, sqs_arn=arn)["destinationId"]
            steps.append(Step(f"{conn}: created destination {destination_id} for {arn}", done=True))
        subscription = hook.get_subscription(ORDER_CHANGE)
        if subscription is None:
            created = hook.create_subscription(ORDER_CHANGE, destination_id=destination_id,
                                               payload_version=ORDER_CHANGE_PAYLOAD_VERSION)
            steps.append(Step(f"{conn}: subscribed {ORDER_CHANGE} ({created['subscriptionId']}) to {destination_id}", done=True))
        elif subscription.get("destinationId") == destination_id:
            steps.append(Step(f"{conn}: {ORDER_CHANGE} subscription {subscription['subscriptionId']} exists"))
        else:
            steps.append(Step(f"{conn}: {ORDER_CHANGE} subscription {subscription['subscriptionId']} delivers to another "
                              f"destination ({subscription.get('destinationId')}); left alone: delete it "
                              "(deleteSubscriptionById) to move it to this queue"))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amazon_netsuite.amazon.notifications", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("setup", help="SQS policy, destination and ORDER_CHANGE subscription per SP-API connection")
    cmd.add_argument("--queue-url", required=True)
    cmd.add_argument("--queue-arn", help="only needed with --dry-run for a queue URL that does not name its region")
    cmd.add_argument("--conn", action="append", dest="conns",
                     help="SP-API connection id (repeatable); default: the regions of include/mappings/marketplaces.csv")
    cmd.add_argument("--aws-conn-id", default="aws_default")
    cmd.add_argument("--destination-name", default=DESTINATION_NAME)
    cmd.add_argument("--dry-run", action="store_true", help="print what would be done; change nothing")
    args = parser.parse_args(argv)

    from amazon_netsuite.amazon.hook import SellingPartnerHook

    if args.conns:
        hooks = [SellingPartnerHook(conn) for conn in args.conns]
    else:
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.mappings import load_mappings

        hooks = hooks_for_targets(load_mappings().sp_api_targets())
    sqs_client = None
    if not args.dry_run:
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        sqs_client = SqsHook(aws_conn_id=args.aws_conn_id).get_conn()
    try:
        steps = setup(queue_url=args.queue_url, sp_api_hooks=hooks, sqs_client=sqs_client, dry_run=args.dry_run,
                      destination_name=args.destination_name, queue_arn=args.queue_arn)
    except Exception as exc:  # noqa: BLE001 - the CLI reports, the exit code says it failed
        print(f"setup failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for step in steps:
        print(("[done] " if step.done else "[dry-run] " if args.dry_run else "[ok] ") + step.what)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
