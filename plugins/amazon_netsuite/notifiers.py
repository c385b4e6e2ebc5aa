"""Run summaries, the failure alert, and the success summary (Airflow SMTP / Slack notifiers).

Every flow ends with a summary task that calls :func:`finish_run`: it reads what the run did from
the sync ledger, purges expired payloads, and — when records failed — raises
``AirflowFailException`` (no retries: the records are already dead-lettered), so the run fails once
and the DAG's ``on_failure_callback`` (:class:`SyncAlertNotifier`) sends one alert carrying the
counts, the reasons, the first record keys and the replay instruction. Alerts carry ids and counts,
never buyer data or secrets.

Channels are chosen by configuration (``airflow.cfg`` section ``[amazon_netsuite]`` or the
environment variables ``AIRFLOW__AMAZON_NETSUITE__<KEY>``), read when an alert is sent:

=========================== =====================================================================
``alert_email``             comma-separated recipients of failure alerts (SMTP)
``summary_email``           comma-separated recipients of success summaries (finance, service)
``email_from``              sender address (else the SMTP connection's ``from_email``)
``smtp_conn_id``            SMTP connection (default ``smtp_default``)
``alert_slack_conn_id``     Slack incoming-webhook connection for failure alerts
``summary_slack_conn_id``   Slack incoming-webhook connection for success summaries
=========================== =====================================================================

With no channel configured the alert is still written to the task log.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

    from amazon_netsuite.ledger import Ledger, RunSummary

log = logging.getLogger(__name__)

CONFIG_SECTION = "amazon_netsuite"
REPLAY_DAG_ID = "sync_replay_failed_records"
FIRST_KEYS = 10


def setting(key: str, default: str = "") -> str:
    """A setting of the ``[amazon_netsuite]`` section (or ``AIRFLOW__AMAZON_NETSUITE__<KEY>``), read now."""
    from airflow.sdk.configuration import conf

    value = conf.get(CONFIG_SECTION, key, fallback=default)
    return (value or "").strip()


def _recipients(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def replay_command(summary: RunSummary) -> str:
    conf: dict[str, Any] = {} if summary.dag_id == REPLAY_DAG_ID else {"dag_id": summary.dag_id}
    if 0 < summary.failed <= FIRST_KEYS:
        conf = {"keys": summary.failed_keys}
    return f"airflow dags trigger {REPLAY_DAG_ID} --conf '{json.dumps(conf)}'"


def format_summary(summary: RunSummary, *, extra_counts: Mapping[str, int] | None = None,
                   details: Sequence[str] = ()) -> str:
    """Plain-text summary for logs, e-mail and Slack: ids, counts and errors only."""
    counts = {**summary.counts, **(extra_counts or {})}
    lines = [f"{summary.dag_id} run {summary.run_id}"]
    lines.extend(details)
    lines.append("Records: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    if summary.failed:
        lines.append("Failed by reason: " + ", ".join(f"{k} {v}" for k, v in summary.failures_by_reason.items()))
        lines.append(f"First failed records ({min(summary.failed, FIRST_KEYS)} of {summary.failed}):")
        for key, error in summary.first_errors[:FIRST_KEYS]:
            lines.append(f"  - {key}: {' '.join(error.split())[:300]}")
        scope = "" if summary.dag_id == REPLAY_DAG_ID else f" --dag {summary.dag_id}"
        lines.append(f"Inspect: python -m amazon_netsuite.ledger failed{scope}")
        lines.append("After fixing the cause, replay: " + replay_command(summary))
    return "\n".join(lines)


def _html(text: str) -> str:
    return "<pre style=\"font-family: monospace\">" + html.escape(text) + "</pre>"


def _send(
    context: Context,
    *,
    subject: str,
    text: str,
    email_key: str,
    slack_key: str,
) -> list[str]:
    """Send through every configured channel; returns the channels used. One channel failing
    does not stop the others (the error is logged and re-raised after trying all)."""
    sent: list[str] = []
    errors: list[BaseException] = []
    recipients = _recipients(setting(email_key))
    if recipients:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        try:
            SmtpNotifier(
                to=recipients,
                from_email=setting("email_from") or None,
                subject=subject,
                html_content=_html(text),
                smtp_conn_id=setting("smtp_conn_id", "smtp_default"),
            ).notify(context)
            sent.append("email")
        except Exception as exc:  # noqa: BLE001
            log.exception("Could not send the e-mail (%s)", subject)
            errors.append(exc)
    slack_conn = setting(slack_key)
    if slack_conn:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        try:
            SlackWebhookNotifier(slack_webhook_conn_id=slack_conn, text=f"*{subject}*\n```{text}```").notify(context)
            sent.append("slack")
        except Exception as exc:  # noqa: BLE001
            log.exception("Could not post to Slack (%s)", subject)
            errors.append(exc)
    if not sent and not errors:
        log.warning("No alert channel configured ([%s] %s / %s): %s", CONFIG_SECTION, email_key, slack_key, subject)
    if errors:
        raise errors[0]
    return sent


def _ledger() -> Ledger:
    from amazon_netsuite.ledger import Ledger

    return Ledger.from_connection()


def _run_ids(context: Context) -> tuple[str, str]:
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(context.get("dag"), "dag_id", "unknown_dag")
    run_id = getattr(dag_run, "run_id", None) or str(context.get("run_id", "unknown_run"))
    return dag_id, run_id


def ledger_run_id(context: Context) -> str:
    """The run id a DAG run writes to the ledger with. The replay DAG writes records under their own
    flow's dag_id, so its run id is prefixed to keep them apart from any flow run's."""
    dag_id, run_id = _run_ids(context)
    return f"{REPLAY_DAG_ID}/{run_id}" if dag_id == REPLAY_DAG_ID else run_id


def run_summary_for(ledger: Ledger, context: Context) -> RunSummary:
    dag_id, _ = _run_ids(context)
    scope = None if dag_id == REPLAY_DAG_ID else dag_id
    return ledger.run_summary(scope, ledger_run_id(context), label=dag_id)


class SyncAlertNotifier(BaseNotifier):
    """Failure alert for a sync DAG run (``on_failure_callback``): one message per failed run.

    Reads the run's record-level summary from the ledger; when the ledger cannot be read the alert
    still goes out, saying so, with the failing task and its error.
    """

    template_fields = ()

    def __init__(self, *, ledger_factory=None, **kwargs):
        super().__init__(**kwargs)
        self._ledger_factory = ledger_factory or _ledger

    def render_template_fields(self, context: Context, jinja_env=None) -> None:
        """Nothing to render (no template fields), so no Jinja environment is asked of the DAG.

        ``BaseNotifier`` asks ``context["dag"].get_template_env()``, which the SerializedDAG that
        ``airflow dags test`` puts in the context does not have: the alert itself crashed there.
        """
        if self.template_fields:  # pragma: no cover - a subclass adding template fields
            super().render_template_fields(context, jinja_env)

    def build(self, context: Context) -> tuple[str, str]:
        from amazon_netsuite.ledger import RunSummary

        dag_id, run_id = _run_ids(context)
        try:
            summary = run_summary_for(self._ledger_factory(), context)
        except Exception as exc:  # noqa: BLE001 - the alert must go out anyway
            log.exception("Could not read the sync ledger for the alert")
            summary = RunSummary(dag_id=dag_id, run_id=run_id)
            ledger_note = f"(sync ledger unreadable: {type(exc).__name__})"
        else:
            ledger_note = ""
        text = format_summary(summary)
        ti = context.get("ti") or context.get("task_instance")
        exception = context.get("exception")
        if ti is not None and getattr(ti, "task_id", None):
            text += f"\nFailed task: {ti.task_id}"
        if exception is not None:
            text += f"\nError: {' '.join(str(exception).split())[:500]}"
        reason = context.get("reason")
        if reason:
            text += f"\nReason: {reason}"
        if ledger_note:
            text += "\n" + ledger_note
        if summary.failed:
            subject = f"[Amazon-NetSuite] {dag_id}: {summary.failed} record(s) failed"
        else:
            subject = f"[Amazon-NetSuite] {dag_id}: run failed"
        return subject, text

    def notify(self, context: Context) -> None:
        subject, text = self.build(context)
        log.error("%s\n%s", subject, text)
        _send(context, subject=subject, text=text, email_key="alert_email", slack_key="alert_slack_conn_id")


def send_success_summary(context: Context, summary: RunSummary, *, extra_counts: Mapping[str, int] | None = None,
                         details: Sequence[str] = ()):
    """Success summary to finance / customer service, when ``summary_email``/``summary_slack_conn_id`` is set."""
    if not (setting("summary_email") or setting("summary_slack_conn_id")):
        return []
    counts = {**summary.counts, **(extra_counts or {})}
    total = sum(counts.values())
    subject = f"[Amazon-NetSuite] {summary.dag_id}: {total} record(s) processed"
    return _send(
        context,
        subject=subject,
        text=format_summary(summary, extra_counts=extra_counts, details=details),
        email_key="summary_email",
        slack_key="summary_slack_conn_id",
    )


def send_shipments_summary(context: Context, dag_id: str, lines: Sequence[str]) -> list[str]:
    """Customer service's summary of a run's shipments (order id, shipment, carrier, tracking; never buyer
    data), when ``shipments_summary_email`` / ``shipments_summary_slack_conn_id`` is set in
    ``[amazon_netsuite]``."""
    if not lines or not (setting("shipments_summary_email") or setting("shipments_summary_slack_conn_id")):
        return []
    text = "\n".join([f"{len(lines)} shipment(s) fulfilled in NetSuite, by Amazon order:", *sorted(lines)])
    return _send(context, subject=f"[Amazon-NetSuite] {dag_id}: {len(lines)} shipment(s) with tracking",
                 text=text, email_key="shipments_summary_email", slack_key="shipments_summary_slack_conn_id")


def finish_run(
    context: Context,
    *,
    ledger: Ledger | None = None,
    extra_counts: Mapping[str, int] | None = None,
    notify_success: bool = True,
    details: Sequence[str] = (),
) -> dict[str, Any]:
    """The last task of every sync run: log the summary, purge expired payloads, fail on failures.

    Returns the summary (ids and counts only) for XCom. Raises ``AirflowFailException`` when any
    record of this run is dead-lettered, so the run fails without retrying the whole sync.
    """
    from airflow.sdk.exceptions import AirflowFailException

    ledger = ledger or _ledger()
    summary = run_summary_for(ledger, context)
    ledger.purge_expired_payloads()
    text = format_summary(summary, extra_counts=extra_counts, details=details)
    result = {**summary.as_dict(), "extra_counts": dict(extra_counts or {}), "details": list(details)}
    if summary.failed:
        if details:
            # what was done still goes to finance (e.g. settlements posted with lines in suspense)
            try:
                send_success_summary(context, summary, extra_counts=extra_counts, details=details)
            except Exception:  # noqa: BLE001 - the failure below is what matters now
                log.exception("Could not send the summary")
        raise AirflowFailException(
            f"{summary.failed} record(s) failed and were dead-lettered; the rest were written.\n{text}"
        )
    log.info("%s", text)
    if notify_success:
        try:
            send_success_summary(context, summary, extra_counts=extra_counts, details=details)
        except Exception:  # noqa: BLE001 - a summary e-mail never fails a successful sync
            log.exception("Could not send the success summary")
    return result
