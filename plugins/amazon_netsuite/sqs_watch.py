"""The SQS watcher of the order-change assets, light enough for DAG parse time.

``MessageQueueTrigger(scheme="sqs", ...)`` (common-messaging) is what the asset watches, but importing
its module instantiates every installed queue provider, which imports boto3 (about 1.2 s per parse of
the orders DAG, and the DAG policy keeps boto3 out of parse time). ``SqsQueueTrigger`` serializes to
exactly what ``MessageQueueTrigger(scheme="sqs", **kwargs)`` serializes to, Amazon's
``SqsSensorTrigger`` with those kwargs (tests/unit/test_sqs_watch.py checks the two are equal), so the
triggerer runs the same trigger; its own ``run`` delegates to MessageQueueTrigger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

SQS_SENSOR_TRIGGER = "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
#: SqsSensorTrigger's parameters and defaults (providers/amazon/aws/triggers/sqs.py, amazon provider 9.39).
SQS_SENSOR_DEFAULTS: dict[str, Any] = {
    "aws_conn_id": "aws_default",
    "max_messages": 5,
    "num_batches": 1,
    "wait_time_seconds": 1,
    "visibility_timeout": None,
    "message_filtering": None,
    "delete_message_on_reception": True,
    "message_filtering_match_values": None,
    "message_filtering_config": None,
    "waiter_delay": 60,
    "region_name": None,
    "verify": None,
    "botocore_config": None,
}


class SqsQueueTrigger(BaseEventTrigger):
    """Receive messages from ``sqs_queue``; each batch becomes one asset event (deleted on receipt)."""

    def __init__(self, *, sqs_queue: str, **kwargs: Any) -> None:
        super().__init__()
        unknown = set(kwargs) - set(SQS_SENSOR_DEFAULTS)
        if unknown:
            raise TypeError(f"SqsSensorTrigger has no parameter(s) {sorted(unknown)}")
        self.sqs_queue = sqs_queue
        self.kwargs = {**SQS_SENSOR_DEFAULTS, **kwargs}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return SQS_SENSOR_TRIGGER, {"sqs_queue": self.sqs_queue, **self.kwargs}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

        async for event in MessageQueueTrigger(scheme="sqs", sqs_queue=self.sqs_queue, **self.kwargs).run():
            yield event
