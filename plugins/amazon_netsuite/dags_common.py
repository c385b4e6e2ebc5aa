"""What every DAG of the product shares: default args, pools, the contract params, windows.

Imported by DAG files at parse time, so it stays light: no pandas, SP-API, netsuitesdk or zeep,
no connections, Variables or network (the DAG policy tests enforce this for every file in dags/).
"""

from __future__ import annotations

import datetime as dt
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
        "retry_delay": dt.timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=20),
        "execution_timeout": dt.timedelta(hours=2),
    }
    args.update(overrides)
    return args


def data_interval_schedule(every: str | dt.timedelta, *, timezone: str = "UTC"):
    """A data-interval timetable: each run owns [start, end) so catch-up and backfill re-run windows.

    A plain cron string would become ``CronTriggerTimetable`` in Airflow 3, whose runs have an empty
    data interval; this is explicit on purpose (ARCHITECTURE.md section 3).
    """
    if isinstance(every, dt.timedelta):
        return DeltaDataIntervalTimetable(every)
    return CronDataIntervalTimetable(every, timezone=timezone)


_PARAM_SPECS: dict[str, dict[str, Any]] = {
    "window_start": {
        "default": None,
        "type": ["null", "string"],
        "format": "date-time",
        "title": "Window start (UTC, ISO 8601)",
        "description": "Overrides the data interval start for a manual run, e.g. 2026-11-01T00:00:00Z.",
    },
    "window_end": {
        "default": None,
        "type": ["null", "string"],
        "format": "date-time",
        "title": "Window end (UTC, ISO 8601)",
        "description": "Overrides the data interval end; clamped to now minus 2 minutes for Amazon.",
    },
    "order_ids": {
        "default": [],
        "type": "array",
        "items": {"type": "string"},
        "title": "Amazon order ids",
        "description": "Only these orders (orders, returns, FBA shipments), ignoring the window.",
    },
    "settlement_ids": {
        "default": [],
        "type": "array",
        "items": {"type": "string"},
        "title": "Settlement ids",
        "description": "Only these settlements, ignoring the window.",
    },
    "mode": {
        "default": "summary",
        "type": "string",
        "enum": ["summary", "detail"],
        "title": "Journal mode",
        "description": "summary: one line per account and segment; detail: one line per order or fee.",
    },
    "posting_date": {
        "default": None,
        "type": ["null", "string"],
        "format": "date",
        "title": "Posting date",
        "description": "Post the journal on this date instead of the deposit date (closed periods).",
    },
    "import_file": {
        "default": None,
        "type": ["null", "string"],
        "title": "Import a settlement file",
        "description": "A settlement file downloaded from Seller Central (older than Amazon's 90 days): a path "
                       "on the workers or s3://bucket/key. Posts that file instead of listing reports.",
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
        "type": "boolean",
        "title": "Dry run",
        "description": "Compute and report, write nothing.",
    },
    "keys": {
        "default": [],
        "type": "array",
        "items": {"type": "string"},
        "title": "Ledger keys",
        "description": "Replay exactly these records (dag_id:record_type:source_key).",
    },
    "dag_id": {
        "default": None,
        "type": ["null", "string"],
        "title": "Flow (DAG id)",
        "description": "Replay the failed records of this DAG.",
    },
    "record_type": {
        "default": None,
        "type": ["null", "string"],
        "title": "Record type",
        "description": "Replay only failed records of this NetSuite record type.",
    },
    "max_age_days": {
        "default": 90,
        "type": ["null", "integer"],
        "minimum": 1,
        "title": "Only failures of the last N days",
        "description": "Replay only records that failed within this many days (empty: no limit).",
    },
    "error_contains": {
        "default": None,
        "type": ["null", "string"],
        "title": "Error contains",
        "description": "Replay only failed records whose last error contains this text.",
    },
}

CONTRACT_PARAMS = tuple(_PARAM_SPECS)


def sync_params(*names: str) -> dict[str, Param]:
    """The trigger-form params of ARCHITECTURE.md section 9 (names are a contract)."""
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
