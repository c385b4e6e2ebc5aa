"""Deferrable SP-API operators: reports (SellingPartnerReportOperator) and feeds (SellingPartnerFeedOperator),
on a common base (SellingPartnerBaseOperator: connection, poll interval, hook).

SellingPartnerReportOperator requests an SP-API report and waits for it without holding a worker.

The reportId is saved in ``context["task_state_store"]`` before deferring, so a retry (worker lost,
triggerer restarted, task cleared) resumes the same report instead of requesting a second one.

A CANCELLED report is not a failure: Amazon cancels a report on its own "if there is no data to
return" (Reports API, processingStatus). The operator then returns ``reportDocumentId: None`` ("no
document") and says so in the log; FATAL fails the task with Amazon's error document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from amazon_netsuite.amazon.errors import ReportProcessingError, SellingPartnerError

if TYPE_CHECKING:
    from airflow.sdk import Context

STATE_KEY = "amazon_report_id"


class SellingPartnerBaseOperator(BaseOperator):
    """What the deferrable SP-API operators share: the connection of one region
    (``amazon_sp_api_{region}``), how often their trigger polls Amazon, and the hook."""

    def __init__(self, *, sp_api_conn_id: str, poll_interval: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sp_api_conn_id = sp_api_conn_id
        self.poll_interval = poll_interval

    def _hook(self) -> Any:
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        return SellingPartnerHook(self.sp_api_conn_id)


class SellingPartnerReportOperator(SellingPartnerBaseOperator):
    """Create a report (or resume the one a previous try created), defer until it is processed.

    Returns ``{"reportId", "reportType", "reportDocumentId", "processingStatus"}``; the flow downloads
    the document with ``SellingPartnerHook.download_report_document`` (documents can be large, they
    never travel through XCom). ``reportDocumentId`` is None when Amazon CANCELLED the report (no data).
    ``sp_api_conn_id`` is the connection of the marketplaces' region (``amazon_sp_api_{region}``).
    """

    template_fields: Sequence[str] = ("report_type", "marketplace_ids", "data_start_time", "data_end_time", "report_options")

    def __init__(
        self,
        *,
        report_type: str,
        marketplace_ids: Sequence[str] | None = None,
        data_start_time: str | None = None,
        data_end_time: str | None = None,
        report_options: dict[str, str] | None = None,
        sp_api_conn_id: str,
        poll_interval: float = 30.0,
        report_timeout: float = 6 * 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(sp_api_conn_id=sp_api_conn_id, poll_interval=poll_interval, **kwargs)
        self.report_type = report_type
        self.marketplace_ids = marketplace_ids
        self.data_start_time = data_start_time
        self.data_end_time = data_end_time
        self.report_options = report_options
        self.report_timeout = report_timeout

    def execute(self, context: Context) -> dict:
        from amazon_netsuite.amazon.triggers import ReportProcessingTrigger

        hook = self._hook()
        store = context.get("task_state_store")
        report_id = store.get(STATE_KEY) if store is not None else None
        if report_id:
            report = hook.get_report(report_id)
            status = report["processingStatus"]
            if status == "DONE":
                self.log.info("Resuming report %s from a previous try: already DONE", report_id)
                return _result(report)
            if status == "CANCELLED":
                # Amazon cancelled it for lack of data: asking again would get the same answer.
                hook.log_no_document(report)
                return _result(report)
            if status in ("IN_QUEUE", "IN_PROGRESS"):
                self.log.info("Resuming report %s from a previous try (%s) instead of requesting a new one", report_id, status)
            else:
                self.log.warning("Report %s of a previous try ended %s; requesting a new one", report_id, status)
                report_id = None
        if not report_id:
            report_id = hook.create_report(
                self.report_type,
                marketplace_ids=self.marketplace_ids,
                data_start_time=self.data_start_time,
                data_end_time=self.data_end_time,
                report_options=self.report_options,
            )
            if store is not None:
                store.set(STATE_KEY, report_id, retention=timedelta(days=90))
            else:
                self.log.warning("task_state_store is not available: a retry would request report %s again", report_id)
        self.defer(
            trigger=ReportProcessingTrigger(
                report_id=report_id, sp_api_conn_id=self.sp_api_conn_id,
                poll_interval=self.poll_interval, timeout=self.report_timeout,
            ),
            method_name="execute_complete",
        )
        raise AssertionError("unreachable: defer() raises TaskDeferred")  # pragma: no cover

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict:
        status = event.get("status")
        report_id = event.get("report_id")
        if status == "DONE":
            self.log.info("Report %s is DONE: document %s", report_id, event["report"].get("reportDocumentId"))
            return _result(event["report"])
        if status == "CANCELLED":
            self._hook().log_no_document(event["report"])
            return _result(event["report"])
        if status == "FATAL":
            error = self._hook().report_failure(event["report"])
            self.log.error("%s", error)
            raise error
        raise SellingPartnerError(
            f"waiting for report {report_id} failed ({status}): {event.get('message')}. "
            "Clear the task to resume the same report."
        )


class RegionReportOperator(SellingPartnerReportOperator):
    """:class:`SellingPartnerReportOperator` for one region of a mapped task group, whose connection,
    marketplaces and window come from an upstream task's result (``request``, templated: an XComArg)::

        {"conn_id": "amazon_sp_api_na", "marketplace_ids": [...], "start": ISO, "end": ISO, ...}

    Everything in ``request`` is passed on in the result next to the report's fields (e.g. the window
    the load task advances the high-water mark to)."""

    template_fields: Sequence[str] = (*SellingPartnerReportOperator.template_fields, "request")

    def __init__(self, *, request: Any, report_type: str, **kwargs: Any) -> None:
        kwargs.setdefault("sp_api_conn_id", "amazon_sp_api_na")  # replaced by request["conn_id"] at run time
        super().__init__(report_type=report_type, **kwargs)
        self.request = request

    def _apply_request(self) -> None:
        request = dict(self.request or {})
        self.sp_api_conn_id = request["conn_id"]
        self.marketplace_ids = request.get("marketplace_ids")
        self.data_start_time = request.get("start")
        self.data_end_time = request.get("end")

    def execute(self, context: Context) -> dict:
        self._apply_request()
        return {**dict(self.request), **super().execute(context)}

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict:
        self._apply_request()
        return {**dict(self.request), **super().execute_complete(context, event)}


def _result(report: dict) -> dict:
    return {
        "reportId": report["reportId"],
        "reportType": report.get("reportType"),
        "reportDocumentId": report.get("reportDocumentId"),
        "processingStatus": report["processingStatus"],
    }


FEED_STATE_KEY = "amazon_feed_id"


class SellingPartnerFeedOperator(SellingPartnerBaseOperator):
    """Submit staged feed documents (or resume the feeds a previous try submitted), defer until Amazon
    has processed them all, read their processing reports.

    Shared by every flow that writes to Amazon through the Feeds API (inventory quantities, catalog
    listings). The upstream task stages each feed document with :func:`amazon_netsuite.staging.stage`
    (a JSON object: the ``JSON_LISTINGS_FEED`` document with its ``header`` and ``messages``; at most
    25,000 messages each) and passes the list of URIs. Documents never travel through XCom.

    **A retry never submits twice.** Before deferring, each document's feedId is saved in
    ``context["task_state_store"]`` under ``amazon_feed_id:{n}`` (n: the document's position); a
    retry (worker lost, triggerer restarted, task cleared) finds it and waits for the same feed. A feed
    whose previous try ended FATAL or CANCELLED is submitted again (Amazon applied none of it).

    Returns ``{"sp_api_conn_id", "marketplace_ids", "feeds": [{"index", "feedId", "feedType",
    "processingStatus", "summary", "report_uri", "document_uri", "errors"}]}``: ``report_uri`` is the
    processing report, staged (``staging.load`` it: issues per message, ``summary``); ``document_uri``
    the document it answers (match issues to messages by messageId); ``errors`` the first ERROR issues
    without a messageId (why a whole feed failed). An empty ``document_uris`` submits nothing and
    returns ``feeds: []``.

    :param document_uris: staged feed documents (templated; usually an upstream task's XCom).
    :param feed_type: e.g. ``JSON_LISTINGS_FEED``.
    :param marketplace_ids: the feed's marketplaces (all of the connection's region).
    :param sp_api_conn_id: the connection of that region (``amazon_sp_api_{region}``).
    :param fail_on_fatal: raise :class:`FeedProcessingError` when a feed ends FATAL/CANCELLED (default).
        Flows that dead-letter the feed's records themselves pass False and read ``processingStatus``.
    :param report_dag_id: staging folder of the processing reports (default: the task's DAG id).
    """

    template_fields: Sequence[str] = ("document_uris", "marketplace_ids")

    def __init__(
        self,
        *,
        document_uris: Sequence[str] | str,
        feed_type: str,
        marketplace_ids: Sequence[str],
        sp_api_conn_id: str,
        content_type: str = "application/json; charset=UTF-8",
        fail_on_fatal: bool = True,
        poll_interval: float = 60.0,
        feed_timeout: float = 6 * 3600.0,
        report_dag_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(sp_api_conn_id=sp_api_conn_id, poll_interval=poll_interval, **kwargs)
        self.report_dag_id = report_dag_id
        self.document_uris = document_uris
        self.feed_type = feed_type
        self.marketplace_ids = marketplace_ids
        self.content_type = content_type
        self.fail_on_fatal = fail_on_fatal
        self.feed_timeout = feed_timeout

    def _uris(self) -> list[str]:
        uris = self.document_uris
        if isinstance(uris, str):
            uris = [uris] if uris else []
        return [u for u in (uris or []) if u]

    def execute(self, context: Context) -> dict:
        import json

        from amazon_netsuite import staging
        from amazon_netsuite.amazon.triggers import FeedProcessingTrigger

        uris = self._uris()
        if not uris:
            self.log.info("No feed document to submit: nothing changed, no feed")
            return {"sp_api_conn_id": self.sp_api_conn_id, "marketplace_ids": list(self.marketplace_ids), "feeds": []}
        hook = self._hook()
        store = context.get("task_state_store")
        if store is None:
            self.log.warning("task_state_store is not available: a retry of this task would submit its feeds again")
        feed_ids: list[str] = []
        for index, uri in enumerate(uris):
            key = f"{FEED_STATE_KEY}:{index}"
            feed_id = store.get(key) if store is not None else None
            if feed_id:
                status = hook.get_feed(feed_id)["processingStatus"]
                if status in ("FATAL", "CANCELLED"):
                    self.log.warning("Feed %s of a previous try ended %s: Amazon applied none of it; submitting document %s again",
                                     feed_id, status, index)
                    feed_id = None
                else:
                    self.log.info("Resuming feed %s (document %s, %s) from a previous try instead of submitting it again",
                                  feed_id, index, status)
            if not feed_id:
                document = staging.load(uri)
                content = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
                feed_id = hook.submit_feed(self.feed_type, content, marketplace_ids=list(self.marketplace_ids),
                                           content_type=self.content_type)
                if store is not None:
                    store.set(key, feed_id, retention=timedelta(days=30))
                self.log.info("Submitted document %s of %s as feed %s (%s messages)", index + 1, len(uris), feed_id,
                              len(document.get("messages") or []) if isinstance(document, dict) else "?")
            feed_ids.append(feed_id)
        self.defer(
            trigger=FeedProcessingTrigger(feed_ids=feed_ids, sp_api_conn_id=self.sp_api_conn_id,
                                          poll_interval=self.poll_interval, timeout=self.feed_timeout),
            method_name="execute_complete",
        )
        raise AssertionError("unreachable: defer() raises TaskDeferred")  # pragma: no cover

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict:
        from amazon_netsuite import staging
        from amazon_netsuite.amazon.errors import FeedProcessingError

        if event.get("status") != "done":
            raise SellingPartnerError(
                f"waiting for feeds failed ({event.get('status')}): {event.get('message')}. "
                "Clear the task to resume the same feeds (their ids are kept): they are not submitted again"
            )
        hook = self._hook()
        dag_id = self.report_dag_id or (self.dag_id if self.has_dag() else "feeds")
        run_id = str(context.get("run_id") or "manual")
        results = []
        fatal: list[FeedProcessingError] = []
        for index, feed in enumerate(event["feeds"]):
            report = hook.feed_processing_report(feed)
            status = feed["processingStatus"]
            uri = staging.stage(report, dag_id=dag_id, run_id=run_id,
                                name=f"feed-report-{self.sp_api_conn_id}-{feed['feedId']}") if report is not None else None
            errors = [f"[{i.get('code', '-')}] {i.get('message')}" for i in (report or {}).get("issues") or []
                      if i.get("severity") == "ERROR" and "messageId" not in i][:10]
            summary = (report or {}).get("summary")
            self.log.info("Feed %s is %s: %s", feed["feedId"], status, summary)
            if status != "DONE":
                fatal.append(FeedProcessingError(feed["feedId"], feed.get("feedType"), status, report))
            uris = self._uris()
            results.append({"index": index, "feedId": feed["feedId"], "feedType": feed.get("feedType"),
                            "processingStatus": status, "summary": summary, "report_uri": uri, "errors": errors,
                            "document_uri": uris[index] if index < len(uris) else None})
        if fatal and self.fail_on_fatal:
            for error in fatal:
                self.log.error("%s", error)
            raise fatal[0]
        return {"sp_api_conn_id": self.sp_api_conn_id, "marketplace_ids": list(self.marketplace_ids), "feeds": results}


__all__ = [
    "RegionReportOperator",
    "ReportProcessingError",
    "SellingPartnerBaseOperator",
    "SellingPartnerFeedOperator",
    "SellingPartnerReportOperator",
]
