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
