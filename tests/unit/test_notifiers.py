from __future__ import annotations

import email
import json
import socket
import threading
import types

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from amazon_netsuite.ledger import Ledger
from amazon_netsuite.notifiers import SyncAlertNotifier, finish_run, format_summary, send_success_summary

DAG = "amazon_orders_to_netsuite"
RUN = "scheduled__2026-11-29T10:00:00+00:00"
BUYER_EMAIL = "qxyz12345@marketplace.amazon.com"
SECRET = "smtp-password-do-not-leak"


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd handler API
        self.messages.append(email.message_from_bytes(envelope.content))
        self.received.set()
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"alerts" and auth_data.password == SECRET.encode()
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server(monkeypatch):
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd's Controller cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "alerts", "password": SECRET,
                    "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@acme.test"}}),
    )
    yield inbox
    controller.stop()


@pytest.fixture
def ledger(tmp_path):
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def _context(dag_id=DAG, run_id=RUN, **extra):
    return {
        "dag_run": types.SimpleNamespace(dag_id=dag_id, run_id=run_id),
        "ti": types.SimpleNamespace(task_id="summary"),
        **extra,
    }


def _failed_run(ledger, n=3):
    for i in range(n):
        ledger.record_failed(
            dag_id=DAG, record_type="salesOrder", source_key=f"111-000000{i}-0000001", run_id=RUN,
            error=f"seller SKU 'ACME-GONE-{i}' has no row in sku_items.csv", reason="unknown_sku",
            replay={"order_id": f"111-000000{i}-0000001"}, payload={"buyer_email": BUYER_EMAIL},
        )
    ledger.record_synced(dag_id=DAG, record_type="salesOrder", source_key="111-9", external_id="AMZ-SO-111-9",
                         internal_id="77", run_id=RUN)


def _body(message) -> str:
    part = message.get_payload()[0] if message.is_multipart() else message
    while part.is_multipart():
        part = part.get_payload()[0]
    return part.get_payload(decode=True).decode()


class TestFinishRun:
    def test_given_failed_records_when_finishing_then_fails_once_with_counts_and_replay(self, ledger):
        from airflow.sdk.exceptions import AirflowFailException

        _failed_run(ledger)
        with pytest.raises(AirflowFailException) as excinfo:
            finish_run(_context(), ledger=ledger)
        text = str(excinfo.value)
        assert "3 record(s) failed and were dead-lettered; the rest were written." in text
        assert "Records: failed 3, synced 1" in text
        assert "Failed by reason: unknown_sku 3" in text
        assert f"{DAG}:salesOrder:111-0000000-0000001" in text
        assert "airflow dags trigger sync_replay_failed_records --conf '{\"keys\": [" in text
        assert BUYER_EMAIL not in text

    def test_given_clean_run_when_finishing_then_summary_returned(self, ledger):
        ledger.record_synced(dag_id=DAG, record_type="salesOrder", source_key="1", external_id=None,
                             internal_id="1", run_id=RUN)
        result = finish_run(_context(), ledger=ledger, extra_counts={"unchanged": 4})
        assert result["counts"] == {"synced": 1}
        assert result["extra_counts"] == {"unchanged": 4}

    def test_given_many_failures_then_replay_instruction_selects_by_dag(self, ledger):
        from amazon_netsuite.ledger import RunSummary

        summary = RunSummary(dag_id=DAG, run_id=RUN, counts={"failed": 50}, failures_by_reason={"x": 50},
                             failed_keys=["k"] * 10, first_errors=[("k", "e")] * 10)
        assert f"--conf '{{\"dag_id\": \"{DAG}\"}}'" in format_summary(summary)


class TestEmailAlert:
    def test_given_failed_run_when_alerting_then_email_on_loopback_smtp_without_pii_or_secrets(
        self, smtp_server, ledger, monkeypatch
    ):
        monkeypatch.setenv("AIRFLOW__AMAZON_NETSUITE__ALERT_EMAIL", "oncall@acme.test, finance@acme.test")
        _failed_run(ledger)
        SyncAlertNotifier(ledger_factory=lambda: ledger).notify(_context(exception=RuntimeError("3 failed")))
        assert smtp_server.received.wait(10)
        message = smtp_server.messages[0]
        assert message["Subject"] == f"[Amazon-NetSuite] {DAG}: 3 record(s) failed"
        assert "oncall@acme.test" in message["To"] and "finance@acme.test" in message["To"]
        body = _body(message)
        assert "Failed by reason: unknown_sku 3" in body
        assert "python -m amazon_netsuite.ledger failed --dag amazon_orders_to_netsuite" in body
        assert "sync_replay_failed_records" in body
        raw = message.as_string()
        assert BUYER_EMAIL not in raw and SECRET not in raw

    def test_given_success_summary_recipients_when_run_succeeds_then_summary_mailed(
        self, smtp_server, ledger, monkeypatch
    ):
        monkeypatch.setenv("AIRFLOW__AMAZON_NETSUITE__SUMMARY_EMAIL", "finance@acme.test")
        ledger.record_synced(dag_id=DAG, record_type="salesOrder", source_key="1", external_id=None,
                             internal_id="1", run_id=RUN)
        finish_run(_context(), ledger=ledger)
        assert smtp_server.received.wait(10)
        assert smtp_server.messages[0]["Subject"] == f"[Amazon-NetSuite] {DAG}: 1 record(s) processed"

    def test_given_no_channel_when_alerting_then_logged_only(self, ledger, caplog):
        _failed_run(ledger, n=1)
        with caplog.at_level("WARNING"):
            SyncAlertNotifier(ledger_factory=lambda: ledger).notify(_context())
        assert "No alert channel configured" in caplog.text

    def test_given_unreachable_smtp_when_alerting_then_error_raised_not_swallowed(self, ledger, monkeypatch):
        monkeypatch.setenv("AIRFLOW__AMAZON_NETSUITE__ALERT_EMAIL", "oncall@acme.test")
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_DEFAULT",
            json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": 1,
                        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "a@acme.test",
                                  "retry_limit": 0, "timeout": 2}}),
        )
        _failed_run(ledger, n=1)
        with pytest.raises(OSError):
            SyncAlertNotifier(ledger_factory=lambda: ledger).notify(_context())

    def test_given_unreadable_ledger_when_alerting_then_alert_still_built(self):
        def broken():
            raise RuntimeError("database is down")

        subject, text = SyncAlertNotifier(ledger_factory=broken).build(_context(exception=ValueError("boom")))
        assert subject == f"[Amazon-NetSuite] {DAG}: run failed"
        assert "sync ledger unreadable: RuntimeError" in text and "Error: boom" in text


class TestSlackAlert:
    def test_given_slack_connection_when_alerting_then_webhook_called(self, ledger, monkeypatch):
        calls = []
        import airflow.providers.slack.notifications.slack_webhook as module

        monkeypatch.setattr(module.SlackWebhookNotifier, "notify", lambda self, ctx: calls.append(self.text))
        monkeypatch.setenv("AIRFLOW__AMAZON_NETSUITE__ALERT_SLACK_CONN_ID", "slack_alerts")
        _failed_run(ledger, n=2)
        SyncAlertNotifier(ledger_factory=lambda: ledger).notify(_context())
        assert len(calls) == 1 and "2 record(s) failed" in calls[0] and BUYER_EMAIL not in calls[0]

    def test_given_no_summary_channel_then_nothing_sent(self, ledger):
        from amazon_netsuite.ledger import RunSummary

        assert send_success_summary(_context(), RunSummary(dag_id=DAG, run_id=RUN)) == []


def test_given_failures_and_details_then_finance_still_gets_the_summary(smtp_server, ledger, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW__AMAZON_NETSUITE__SUMMARY_EMAIL", "finance@acme.test")
    _failed_run(ledger, n=1)
    with pytest.raises(AirflowFailException):
        finish_run(_context(), ledger=ledger, details=["Settlement 123 2026-11-01..2026-11-15: posted, 1 line to suspense"])
    assert smtp_server.received.wait(10)
    assert "Settlement 123" in _body(smtp_server.messages[0])


class TestNotifierUnderEveryRunner:
    """The alert is called as ``notifier(context)``; the context's ``dag`` differs by runner: a
    SerializedDAG under ``airflow dags test`` (no ``get_template_env``), the parsed DAG in the dag
    processor (scheduler, Celery deployments), none in some callbacks. It must work with each."""

    @staticmethod
    def _dags():
        import datetime as dt

        from airflow.sdk import DAG as SdkDag
        from airflow.serialization.serialized_objects import DagSerialization

        dag = SdkDag("amazon_orders_to_netsuite", schedule=None, start_date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
        return {"sdk": dag, "serialized": DagSerialization.from_dict(DagSerialization.to_dict(dag)), "none": None}

    @pytest.mark.parametrize("kind", ["sdk", "serialized", "none"])
    def test_given_dag_of_each_runner_when_called_then_alert_is_sent(self, ledger, kind, caplog):
        _failed_run(ledger)
        dag = self._dags()[kind]
        context = _context(dag=dag) if dag is not None else _context()
        with caplog.at_level("ERROR", logger="amazon_netsuite.notifiers"):
            SyncAlertNotifier(ledger_factory=lambda: ledger)(context)
        assert "[Amazon-NetSuite] amazon_orders_to_netsuite: 3 record(s) failed" in caplog.text


def test_given_customer_service_recipients_then_the_shipments_summary_lists_tracking_by_order(smtp_server, monkeypatch):
    from amazon_netsuite.notifiers import send_shipments_summary

    assert send_shipments_summary(_context(), "amazon_fba_shipments_to_netsuite", ["113-1: shipment D1, UPS 1Z9"]) == []
    monkeypatch.setenv("AIRFLOW__AMAZON_NETSUITE__SHIPMENTS_SUMMARY_EMAIL", "support@acme.test")
    assert send_shipments_summary(_context(), "amazon_fba_shipments_to_netsuite", []) == []  # nothing shipped: no mail
    lines = ["113-2: shipment D2, AMZN_US TBA2", "113-1: shipment D1, UPS 1Z9"]
    assert send_shipments_summary(_context(), "amazon_fba_shipments_to_netsuite", lines) == ["email"]
    assert smtp_server.received.wait(10)
    message = smtp_server.messages[0]
    assert message["Subject"] == "[Amazon-NetSuite] amazon_fba_shipments_to_netsuite: 2 shipment(s) with tracking"
    body = _body(message)
    assert body.index("113-1: shipment D1, UPS 1Z9") < body.index("113-2: shipment D2, AMZN_US TBA2")
