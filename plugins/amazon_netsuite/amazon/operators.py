"""SellingPartnerReportOperator: request an SP-API report and wait for it without holding a worker.

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


class SellingPartnerReportOperator(BaseOperator):
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
        super().__init__(**kwargs)
        self.report_type = report_type
        self.marketplace_ids = marketplace_ids
        self.data_start_time = data_start_time
        self.data_end_time = data_end_time
        self.report_options = report_options
        self.sp_api_conn_id = sp_api_conn_id
        self.poll_interval = poll_interval
        self.report_timeout = report_timeout

    def _hook(self) -> Any:
        from amazon_netsuite.amazon.hook import SellingPartnerHook

        return SellingPartnerHook(self.sp_api_conn_id)

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


__all__ = ["RegionReportOperator", "ReportProcessingError", "SellingPartnerReportOperator"]
