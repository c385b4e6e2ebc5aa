"""SellingPartnerReportOperator + ReportProcessingTrigger against the sandbox: defer, resume, complete."""

from __future__ import annotations

import asyncio

import pytest
from airflow.exceptions import TaskDeferred

from amazon_netsuite.amazon.errors import ReportProcessingError
from amazon_netsuite.amazon.operators import STATE_KEY, SellingPartnerReportOperator
from amazon_netsuite.amazon.triggers import ReportProcessingTrigger

REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"


class FakeTaskStateStore:
    """What ``context["task_state_store"]`` offers a task: get/set surviving retries."""

    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = value


def _operator(marketplace_id: str = "ATVPDKIKX0DER") -> SellingPartnerReportOperator:
    return SellingPartnerReportOperator(task_id="orders_report", report_type=REPORT, marketplace_ids=[marketplace_id],
                                        sp_api_conn_id="amazon_sp_api_na", poll_interval=0.02)


async def _first_event(trigger: ReportProcessingTrigger):
    async for event in trigger.run():
        return event.payload


class TestReportOperator:
    def test_given_a_retry_after_deferring_when_executing_again_then_it_resumes_the_same_report(self, start_sandbox):
        sandbox = start_sandbox(rate_scale=1.0)  # the report stays IN_QUEUE for 2 s: the retry finds it there
        store = FakeTaskStateStore()
        context = {"task_state_store": store}

        with pytest.raises(TaskDeferred) as first:
            _operator().execute(context)
        report_id = store.values[STATE_KEY]
        assert first.value.trigger.report_id == report_id

        with pytest.raises(TaskDeferred) as retry:  # e.g. the triggerer restarted and the task was retried
            _operator().execute(context)

        assert retry.value.trigger.report_id == report_id
        assert sandbox.calls("createReport")["calls"] == 1

        event = asyncio.run(_first_event(retry.value.trigger))
        result = _operator().execute_complete(context, event)
        assert result["reportId"] == report_id and result["processingStatus"] == "DONE"

    def test_given_a_report_already_done_when_retrying_then_it_returns_without_deferring(self, hook, sandbox):
        store = FakeTaskStateStore()
        report_id = hook.create_report(REPORT, marketplace_ids=["ATVPDKIKX0DER"])
        hook.wait_for_report(report_id, poll_interval=0.02, timeout=10)
        store.set(STATE_KEY, report_id)

        assert _operator().execute({"task_state_store": store})["reportId"] == report_id
        assert sandbox.calls("createReport")["calls"] == 1

    def test_given_the_previous_report_ended_fatal_when_retrying_then_a_new_report_is_requested(self, hook, sandbox):
        store = FakeTaskStateStore()
        sandbox.fault("createReport", fault="FATAL", times=1)
        failed = hook.create_report(REPORT, marketplace_ids=["ATVPDKIKX0DER"])
        with pytest.raises(ReportProcessingError):
            hook.wait_for_report(failed, poll_interval=0.02, timeout=10)
        store.set(STATE_KEY, failed)

        with pytest.raises(TaskDeferred) as deferred:
            _operator().execute({"task_state_store": store})

        assert deferred.value.trigger.report_id != failed == f"{failed}"
        assert store.values[STATE_KEY] == deferred.value.trigger.report_id

    def test_given_a_fatal_event_when_completing_then_it_raises_with_the_error_document(self, sandbox):
        sandbox.fault("createReport", fault="FATAL", times=1)
        with pytest.raises(TaskDeferred) as deferred:
            _operator().execute({"task_state_store": FakeTaskStateStore()})

        event = asyncio.run(_first_event(deferred.value.trigger))

        assert event["status"] == "FATAL"
        with pytest.raises(ReportProcessingError, match="errorDetails"):
            _operator().execute_complete({}, event)

    def test_given_amazon_cancels_the_report_for_lack_of_data_when_completing_then_no_document_not_a_failure(self, sandbox):
        store = FakeTaskStateStore()
        with pytest.raises(TaskDeferred) as deferred:
            _operator("A1AM78C64UM0Y8").execute({"task_state_store": store})  # Mexico: no orders

        event = asyncio.run(_first_event(deferred.value.trigger))
        result = _operator().execute_complete({}, event)

        assert event["status"] == "CANCELLED"
        assert result == {"reportId": store.values[STATE_KEY], "reportType": REPORT, "reportDocumentId": None,
                          "processingStatus": "CANCELLED"}

    def test_given_the_previous_report_was_cancelled_when_retrying_then_no_new_report_is_requested(self, hook, sandbox):
        store = FakeTaskStateStore()
        sandbox.fault("createReport", fault="CANCELLED", times=1)
        cancelled = hook.create_report(REPORT, marketplace_ids=["ATVPDKIKX0DER"])
        hook.wait_for_report(cancelled, poll_interval=0.02, timeout=10)
        store.set(STATE_KEY, cancelled)

        result = _operator().execute({"task_state_store": store})

        assert result["reportId"] == cancelled and result["reportDocumentId"] is None
        assert sandbox.calls("createReport")["calls"] == 1


class TestTrigger:
    def test_given_a_trigger_when_serialized_then_it_round_trips_from_its_import_path(self):
        trigger = ReportProcessingTrigger(report_id="123", sp_api_conn_id="amazon_sp_api_eu", poll_interval=5, timeout=60)

        path, kwargs = trigger.serialize()

        assert path == "amazon_netsuite.amazon.triggers.ReportProcessingTrigger"
        assert ReportProcessingTrigger(**kwargs).serialize() == (path, kwargs)

    def test_given_an_unknown_report_when_polling_then_an_error_event_names_it(self, sandbox):
        event = asyncio.run(_first_event(ReportProcessingTrigger(report_id="404404", sp_api_conn_id="amazon_sp_api_na",
                                                                 poll_interval=0.01)))

        assert event["status"] == "error"
        assert "getReport failed with HTTP 404" in event["message"]
