"""What every DAG of the product shares: default args, pools, the contract params, windows.

Imported by DAG files at parse time, so it stays light: no pandas, SP-API, netsuitesdk or zeep,
no connections, Variables or network (the DAG policy tests enforce this for every file in dags/).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, DeltaDataIntervalTimetable, Param

OWNER = "amazon-netsuite"

AMAZON_POOL = "amazon_sp_api"
NETSUITE_POOL = "netsuite_api"
# Slots are the concurrency the accounts allow: SP-API throttles per operation (the hook's buckets
# pace each worker; the pool bounds how many workers share the quotas), NetSuite allows 5 to 15+
# concurrent requests per account shared by every integration. Tune with `airflow pools set`.
POOLS: dict[str, tuple[int, str]] = {
    AMAZON_POOL: (4, "Tasks calling Amazon SP-API (usage plans are per selling partner and operation)"),
    NETSUITE_POOL: (4, "Tasks calling NetSuite SuiteTalk (the account's concurrency limit, shared)"),
}

# DAGs that run only when triggered (no data interval of their own).
MANUAL_DAG_IDS = frozenset({"sync_replay_failed_records"})

# DAGs whose runs each own one day and must all run (catchup=True): reconciliation proves each day on its
# own (its reads are bounded by the day, not by a high-water mark), so a missed day is reconciled later.
CATCHUP_DAG_IDS = frozenset({"sync_reconciliation"})

# First data interval of the scheduled DAGs (catch-up starts here); a deployment sets its own.
START_DATE = dt.datetime.fromisoformat(os.environ.get("AMAZON_NETSUITE_START_DATE", "2026-11-01")).replace(
    tzinfo=dt.UTC
)

# Amazon refuses lastUpdatedBefore/createdBefore later than two minutes ago.
AMAZON_LAG = dt.timedelta(minutes=2)
DEFAULT_OVERLAP = dt.timedelta(minutes=5)


def default_args(**overrides: Any) -> dict[str, Any]:
    """Retries with exponential backoff for whole-call failures (429 storms, 5xx, timeouts).

    Record-level failures never retry the task: they are dead-lettered and the summary task fails
    the run with ``AirflowFailException``.
    """
    args: dict[str, Any] = {
        "owner": OWNER,
        # `make demo` sets AMAZON_NETSUITE_TASK_RETRIES=0 so a one-off run reports at once.
        "retries": int(os.environ.get("AMAZON_NETSUITE_TASK_RETRIES", "3")),
        # the deployment test (tests/deployment) shortens it to see a retry within its time budget
        "retry_delay": dt.timedelta(seconds=int(os.environ.get("AMAZON_NETSUITE_RETRY_DELAY_SECONDS", "60"))),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=20),
        "execution_timeout": dt.timedelta(hours=2),
    }
    args.update(overrides)
    return args


def data_interval_schedule(every: str | dt.timedelta, *, timezone: str = "UTC"):
    """A data-interval timetable: each run owns [start, end) so catch-up and backfill re-run windows.

    A plain cron string would become ``CronTriggerTimetable`` in Airflow 3, whose runs have an empty
    data interval; this is explicit on purpose (docs/architecture.md section 3).
    """
    if isinstance(every, dt.timedelta):
        return DeltaDataIntervalTimetable(every)
    return CronDataIntervalTimetable(every, timezone=timezone)


# Every param is optional: its JSON-schema type includes "null", which is what keeps the Trigger form
# from marking it required (Airflow's form marks a param required when its type excludes null).
_PARAM_SPECS: dict[str, dict[str, Any]] = {
    "window_start": {
        "default": None,
        "type": ["null", "string"],
        "format": "date-time",
        "title": "Window start (UTC, ISO 8601)",
        "description": "Re-sync a period instead of reading on from the last synced point, e.g. 2026-11-01T00:00:00Z.",
    },
    "window_end": {
        "default": None,
        "type": ["null", "string"],
        "format": "date-time",
        "title": "Window end (UTC, ISO 8601)",
        "description": "End of the period to re-sync, e.g. 2026-11-02T00:00:00Z; clamped to now minus 2 minutes "
                       "(Amazon's rule). Empty with a start: up to now.",
    },
    "order_ids": {
        "default": None,
        "type": ["null", "array"],
        "items": {"type": "string"},
        "title": "Amazon order ids",
        "description": "Only these orders, ignoring the window, e.g. [\"113-1234567-0000001\"] (orders, returns, "
                       "FBA shipments).",
    },
    "settlement_ids": {
        "default": None,
        "type": ["null", "array"],
        "items": {"type": "string"},
        "title": "Settlement ids",
        "description": "Only these settlements (from Amazon's last 90 days), ignoring the window, e.g. "
                       "[\"12345678901\"].",
    },
    "mode": {
        "default": "summary",
        "type": ["null", "string"],
        "enum": ["summary", "detail", None],
        "title": "Journal mode",
        "description": "summary (default): one line per account and segment; detail: one line per order or fee, "
                       "e.g. detail for an audit.",
    },
    "posting_date": {
        "default": None,
        "type": ["null", "string"],
        "format": "date",
        "title": "Posting date",
        "description": "Post the journal on this date instead of the deposit date (closed periods), e.g. 2026-11-01.",
    },
    "import_file": {
        "default": None,
        "type": ["null", "string"],
        "title": "Import a settlement file",
        "description": "A settlement file downloaded from Seller Central (older than Amazon's 90 days): a file name "
                       "under AMAZON_NETSUITE_IMPORT_DIR or s3://bucket/key, e.g. s3://acme-finance/settlements/"
                       "2026-05.txt. Posts that file instead of listing reports.",
    },
    "marketplace": {
        "default": None,
        "type": ["null", "string"],
        "title": "Marketplace (settlements)",
        "description": "Amazon marketplace id that owns a settlement whose file cannot say (fee-only, no "
                       "marketplace-name rows, a currency several mapped marketplaces share), e.g. A2EUQ1WTGCTBG2.",
    },
    "dry_run": {
        "default": False,
        "type": ["null", "boolean"],
        "title": "Dry run",
        "description": "Compute and report, write nothing, e.g. tick it before a first backfill.",
    },
    "keys": {
        "default": None,
        "type": ["null", "array"],
        "items": {"type": "string"},
        "title": "Ledger keys",
        "description": "Replay exactly these records, as alerts and `ledger failed` print them, e.g. "
                       "[\"amazon_orders_to_netsuite:salesOrder:113-1234567-0000001\"].",
    },
    "dag_id": {
        "default": None,
        "type": ["null", "string"],
        "title": "Flow (DAG id)",
        "description": "Replay the failed records of this DAG, e.g. amazon_orders_to_netsuite.",
    },
    "record_type": {
        "default": None,
        "type": ["null", "string"],
        "title": "Record type",
        "description": "Replay only failed records of this NetSuite record type, e.g. salesOrder.",
    },
    "max_age_days": {
        "default": 90,
        "type": ["null", "integer"],
        "minimum": 1,
        "title": "Only failures of the last N days",
        "description": "Replay only records that failed within this many days, e.g. 7 (empty: no limit).",
    },
    "error_contains": {
        "default": None,
        "type": ["null", "string"],
        "title": "Error contains",
        "description": "Replay only failed records whose last error contains this text, e.g. ACME-MUG-11OZ.",
    },
    "lookback_days": {
        "default": 7,
        "type": ["null", "integer"],
        "minimum": 3,
        "maximum": 180,
        "title": "Look-back (days)",
        "description": "Read Amazon's refunds and returns of the last N days again every run (Amazon omits the "
                       "last 48 hours and releases some events late; documents are idempotent), e.g. 30 after an outage.",
    },
    "max_wait_days": {
        "default": 5,
        "type": ["null", "integer"],
        "minimum": 1,
        "title": "Wait for the order (days)",
        "description": "A refund or return whose order is not in NetSuite or not billed yet waits (pending) this many "
                       "days, then is dead-lettered with the reason, e.g. 5. Keep it below the look-back.",
    },
    "fba_adjustment": {
        "default": False,
        "type": ["null", "boolean"],
        "title": "Post the FBA inventory adjustment",
        "description": "Inventory: after comparing Amazon's FBA counts with the NetSuite FBA locations, post one "
                       "inventory adjustment a day per subsidiary (AMZ-IA-{date}-{subsidiary}) that sets NetSuite to Amazon's counts, e.g. tick it "
                       "for the daily reconciliation run.",
    },
    "adopt_customers": {
        "default": False,
        "type": ["null", "boolean"],
        "title": "Adopt existing customers",
        "description": "Before syncing, index every NetSuite customer with an Amazon relay e-mail (one paged "
                       "search), e.g. tick it once when connecting an account that already holds Amazon buyers.",
    },
    "bill_after_days": {
        "default": 3,
        "type": ["null", "integer"],
        "minimum": 0,
        "title": "Shipped but not billed after N days",
        "description": "Reconciliation reports an order Amazon shipped this many days ago whose sales order is "
                       "still not fulfilled/billed, e.g. 3.",
    },
    "post_fx_remainder": {
        "default": False,
        "type": ["null", "boolean"],
        "title": "Post the FX remainder",
        "description": "Reconciliation posts a settlement's base-currency clearing remainder as realized FX "
                       "(AMZ-JE-FX-{settlementId}) to fx_account_id, e.g. tick it at month end.",
    },
    "fx_account_id": {
        "default": None,
        "type": ["null", "string"],
        "title": "Realized FX gain/loss account",
        "description": "NetSuite internal id of the realized FX gain/loss account post_fx_remainder posts to, e.g. 7100.",
    },
}

CONTRACT_PARAMS = tuple(_PARAM_SPECS)


def sync_params(*names: str) -> dict[str, Param]:
    """The trigger-form params of docs/architecture.md section 9 (names are a contract)."""
    unknown = [n for n in names if n not in _PARAM_SPECS]
    if unknown:
        raise ValueError(f"unknown sync params {unknown}; contract params are {', '.join(CONTRACT_PARAMS)}")
    result = {}
    for name in names:
        spec = dict(_PARAM_SPECS[name])
        default = spec.pop("default")
        result[name] = Param(default, **spec)
    return result


def _parse_instant(value: Any, name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        # Airflow hands out pendulum DateTimes; pendulum drops a stdlib tzinfo on arithmetic, so
        # normalise to a plain datetime first.
        parsed = dt.datetime.fromisoformat(value.isoformat())
    else:
        text = str(value).strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"param {name}={value!r} is not an ISO 8601 date-time (e.g. 2026-11-01T00:00:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def resolve_window(
    context: Mapping[str, Any],
    *,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    lag: dt.timedelta = AMAZON_LAG,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """The extraction window of a run: its data interval (or the window params), widened by
    ``overlap`` at the start and clamped to ``now - lag`` at the end (Amazon's lastUpdatedBefore rule)."""
    params = context.get("params") or {}
    start = params.get("window_start") or context.get("data_interval_start")
    end = params.get("window_end") or context.get("data_interval_end")
    if start is None or end is None:
        raise ValueError(
            "this run has no data interval; give window_start and window_end in the trigger form"
        )
    start = _parse_instant(start, "window_start") - overlap
    end = _parse_instant(end, "window_end")
    ceiling = (now or dt.datetime.now(dt.UTC)) - lag
    end = min(end, ceiling)
    if end <= start:
        raise ValueError(f"empty window: start {start.isoformat()} is not before end {end.isoformat()}")
    return start, end


def source_window(
    context: Mapping[str, Any],
    high_water: dt.datetime | None,
    *,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    lag: dt.timedelta = AMAZON_LAG,
    first_start: dt.datetime = START_DATE,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime, bool]:
    """``(start, end, advances)``: the window a run reads, and whether loading it may move the mark.

    - ``window_start``/``window_end`` params, or a backfill run's data interval: exactly that period
      (widened by ``overlap``). It advances the mark only when it starts at or before the mark (so it
      never jumps over a gap) and never before one exists.
    - otherwise (scheduled and plain manual runs): from the high-water mark (or ``first_start``, i.e.
      ``AMAZON_NETSUITE_START_DATE``, the first time) minus ``overlap`` to now minus ``lag``. A week of
      downtime is one run, paged; there is no catch-up of small intervals.
    """
    params = context.get("params") or {}
    ceiling = (now or dt.datetime.now(dt.UTC)) - lag
    dag_run = context.get("dag_run")
    run_type = str(getattr(dag_run, "run_type", "") or "").lower()
    explicit_start = params.get("window_start")
    explicit_end = params.get("window_end")
    if explicit_start is None and explicit_end is None and run_type.endswith("backfill"):
        explicit_start, explicit_end = context.get("data_interval_start"), context.get("data_interval_end")
    if explicit_start is not None or explicit_end is not None:
        if explicit_start is None:
            raise ValueError("window_end was given without window_start; give both (ISO 8601), or neither to "
                             "read on from the last synced point")
        start = _parse_instant(explicit_start, "window_start")
        end = min(_parse_instant(explicit_end, "window_end"), ceiling) if explicit_end is not None else ceiling
        advances = high_water is not None and start <= high_water
        start -= overlap
    else:
        start = (high_water or first_start) - overlap
        end = ceiling
        advances = True
    if end <= start:
        raise ValueError(f"empty window: start {start.isoformat()} is not before end {end.isoformat()}")
    return start, end, advances


# How often the triggerer asks Amazon whether a report or feed is processed, seconds (README,
# "Configuration"). Read when DAG files are parsed, so a bad value is an import error that names it.
REPORT_POLL_ENV = "AMAZON_NETSUITE_REPORT_POLL_SECONDS"
FEED_POLL_ENV = "AMAZON_NETSUITE_FEED_POLL_SECONDS"
DEFAULT_REPORT_POLL_SECONDS = 30.0
DEFAULT_FEED_POLL_SECONDS = 60.0


def _poll_seconds(name: str, default: float) -> float:
    """Environment variable ``name`` as a positive number of seconds; ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name}={raw!r} is not a positive number of seconds: set it to one (e.g. {default:g}) "
                         f"or unset it for the default ({default:g})")
    return seconds


def report_poll_seconds() -> float:
    """``AMAZON_NETSUITE_REPORT_POLL_SECONDS``: how often a requested SP-API report is checked (default 30)."""
    return _poll_seconds(REPORT_POLL_ENV, DEFAULT_REPORT_POLL_SECONDS)


def feed_poll_seconds() -> float:
    """``AMAZON_NETSUITE_FEED_POLL_SECONDS``: how often a submitted SP-API feed is checked (default 60)."""
    return _poll_seconds(FEED_POLL_ENV, DEFAULT_FEED_POLL_SECONDS)


# SP-API notifications (README "Near real time"): the SQS queue(s) Amazon publishes ORDER_CHANGE to,
# comma-separated (one per region, or one for all), and the AWS connection that reads them.
SQS_QUEUE_ENV = "AMAZON_NETSUITE_SQS_QUEUE_URL"
SQS_AWS_CONN_ENV = "AMAZON_NETSUITE_SQS_AWS_CONN_ID"
#: Seconds the watcher waits between two empty receives (it long-polls 20 s each: SQS's maximum).
SQS_POLL_ENV = "AMAZON_NETSUITE_SQS_POLL_SECONDS"
ORDER_CHANGE_ASSET_PREFIX = "amazon_sp_api_order_changes"  # amazon_netsuite.amazon.notifications.ASSET_PREFIX


def order_change_schedule(timetable: Any) -> Any:
    """``timetable`` OR the order-change assets: each SQS queue named in AMAZON_NETSUITE_SQS_QUEUE_URL
    is an asset whose watcher (``MessageQueueTrigger(scheme="sqs")``, run by the triggerer) turns
    received ORDER_CHANGE messages into asset events that trigger a run at once. Without a queue
    configured: just ``timetable`` (polling only). The trigger deletes the messages it receives (at
    most once), so the timetable's polling stays the safety net.

    The watcher is ``SqsQueueTrigger`` (amazon_netsuite/sqs_watch.py): it serializes to exactly what
    MessageQueueTrigger(scheme="sqs", ...) does, without importing boto3 at parse time."""
    urls = [u.strip() for u in os.environ.get(SQS_QUEUE_ENV, "").split(",") if u.strip()]
    if not urls:
        return timetable
    from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher

    from amazon_netsuite.sqs_watch import SqsQueueTrigger

    conn_id = os.environ.get(SQS_AWS_CONN_ENV, "aws_default")
    poll = int(os.environ.get(SQS_POLL_ENV, "5"))
    assets = []
    for url in urls:
        queue = url.rstrip("/").rsplit("/", 1)[-1]
        name = f"{ORDER_CHANGE_ASSET_PREFIX}__{queue}"
        trigger = SqsQueueTrigger(sqs_queue=url, aws_conn_id=conn_id, max_messages=10, wait_time_seconds=20,
                                  waiter_delay=poll)
        assets.append(Asset(name=name, watchers=[AssetWatcher(name=f"{name}_watcher", trigger=trigger)]))
    condition = assets[0]
    for asset in assets[1:]:
        condition = condition | asset
    return AssetOrTimeSchedule(timetable=timetable, assets=condition)
def mapped_results(value: Any) -> list[Any]:
    """The results of a mapped upstream task as a list, read once.

    Airflow hands a downstream task a lazy sequence of the mapped results (slice it once: iterating probes
    one past the end and logs an "XCom not found" error), but the single result itself when the upstream
    was mapped over exactly one element (e.g. one settlement listed, one region mapped).
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    return list(value[:])
