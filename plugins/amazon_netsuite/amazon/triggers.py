"""Deferrable waits on Amazon: poll a report or a feed to DONE/FATAL/CANCELLED in the triggerer.

The triggerer imports this module from ``plugins/`` (on its ``sys.path``) as
``amazon_netsuite.amazon.triggers``. The blocking SP-API client runs in a thread so the event loop
is never blocked; the hook stays the only code that talks to Amazon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from amazon_netsuite.amazon.errors import SellingPartnerError

TERMINAL = ("DONE", "FATAL", "CANCELLED")
#: defaults: check every 30 s, give up after 6 hours
POLL_INTERVAL = 30.0
TIMEOUT = 6 * 3600.0


class _SellingPartnerPollTrigger(BaseTrigger):
    """What the report and feed triggers share: the SP-API connection they poll through, how often and
    for how long. Each subclass keeps its own ``serialize`` (the triggerer rebuilds it from that
    classpath and those kwargs), naming its own arguments and adding these with ``_serialized``."""

    def __init__(self, *, sp_api_conn_id: str, poll_interval: float, timeout: float) -> None:
        super().__init__()
        self.sp_api_conn_id = sp_api_conn_id
        self.poll_interval = poll_interval
        self.timeout = timeout

    def _serialized(self, **own: Any) -> tuple[str, dict[str, Any]]:
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {**own, "sp_api_conn_id": self.sp_api_conn_id, "poll_interval": self.poll_interval, "timeout": self.timeout},
        )

    def _hook(self) -> Any:
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        return SellingPartnerHook(self.sp_api_conn_id)


class ReportProcessingTrigger(_SellingPartnerPollTrigger):
    """Fires once report ``report_id`` is DONE, FATAL or CANCELLED (or polling failed / timed out).

    The event is ``{"status": "DONE"|"FATAL"|"CANCELLED"|"error"|"timeout", "report_id": ..., "report": {...}}``;
    CANCELLED means "no document" (Amazon cancels a report when there is no data to return), not a failure.
    """

    def __init__(
        self,
        *,
        report_id: str,
        sp_api_conn_id: str,
        poll_interval: float = POLL_INTERVAL,
        timeout: float = TIMEOUT,
    ) -> None:
        super().__init__(sp_api_conn_id=sp_api_conn_id, poll_interval=poll_interval, timeout=timeout)
        self.report_id = report_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self._serialized(report_id=self.report_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    report = await asyncio.to_thread(hook.get_report, self.report_id)
                except SellingPartnerError as exc:
                    yield TriggerEvent({"status": "error", "report_id": self.report_id, "message": str(exc)})
                    return
                status = report.get("processingStatus")
                if status == "CANCELLED":
                    self.log.info("report %s is CANCELLED: no data to return, no document", self.report_id)
                if status in TERMINAL:
                    yield TriggerEvent({"status": status, "report_id": self.report_id, "report": report})
                    return
                if time.monotonic() > deadline:
                    yield TriggerEvent({
                        "status": "timeout", "report_id": self.report_id, "report": report,
                        "message": f"report {self.report_id} still {status} after {self.timeout:.0f}s",
                    })
                    return
                self.log.info("report %s is %s; next check in %ss", self.report_id, status, self.poll_interval)
                await asyncio.sleep(self.poll_interval)
        finally:
            await asyncio.to_thread(hook.close)


#: a feed's processingStatus values that end the wait (the same as a report's)
FEED_TERMINAL = TERMINAL


class FeedProcessingTrigger(_SellingPartnerPollTrigger):
    """Fires once every feed of ``feed_ids`` is DONE, FATAL or CANCELLED (or polling failed / timed out).

    One trigger watches all the feeds one task submitted (a feed holds at most 25,000 messages, so a
    big run splits): the event is ``{"status": "done"|"error"|"timeout", "feeds": [{feed}, ...], "message": ...}``
    where each feed is Amazon's ``getFeed`` answer. Reading the processing reports is the operator's
    job (it runs on a worker, in the ``amazon_sp_api`` pool).
    """

    def __init__(
        self,
        *,
        feed_ids: list[str],
        sp_api_conn_id: str,
        poll_interval: float = POLL_INTERVAL,
        timeout: float = TIMEOUT,
    ) -> None:
        super().__init__(sp_api_conn_id=sp_api_conn_id, poll_interval=poll_interval, timeout=timeout)
        self.feed_ids = list(feed_ids)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self._serialized(feed_ids=self.feed_ids)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        deadline = time.monotonic() + self.timeout
        finished: dict[str, dict] = {}
        try:
            while True:
                for feed_id in self.feed_ids:
                    if feed_id in finished:
                        continue
                    try:
                        feed = await asyncio.to_thread(hook.get_feed, feed_id)
                    except SellingPartnerError as exc:
                        yield TriggerEvent({"status": "error", "feeds": list(finished.values()),
                                            "message": f"feed {feed_id}: {exc}"})
                        return
                    if feed.get("processingStatus") in FEED_TERMINAL:
                        finished[feed_id] = feed
                if len(finished) == len(self.feed_ids):
                    yield TriggerEvent({"status": "done", "feeds": [finished[f] for f in self.feed_ids]})
                    return
                waiting = [f for f in self.feed_ids if f not in finished]
                if time.monotonic() > deadline:
                    yield TriggerEvent({"status": "timeout", "feeds": list(finished.values()),
                                        "message": f"feeds {', '.join(waiting)} not processed after {self.timeout:.0f}s"})
                    return
                self.log.info("feeds %s still processing; next check in %ss", ", ".join(waiting), self.poll_interval)
                await asyncio.sleep(self.poll_interval)
        finally:
            await asyncio.to_thread(hook.close)
