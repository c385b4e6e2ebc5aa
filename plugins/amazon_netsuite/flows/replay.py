"""Flow ``sync_replay_failed_records``: select dead-lettered records, replay each through its own flow.

The selection and the outcome carry ledger keys, reasons, attempts and error text — never payloads
— so they are safe for XCom and task logs. Each record is replayed by the replayer its flow
registered (``amazon_netsuite.ledger.replay``), which writes the outcome to the ledger itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from amazon_netsuite.ledger import STATUS_FAILED, Ledger, LedgerRecord
from amazon_netsuite.ledger.replay import registered, replay_records

log = logging.getLogger(__name__)


def _entry(record: LedgerRecord, *, replayable: bool, why: str) -> dict[str, Any]:
    return {
        "key": record.key,
        "dag_id": record.dag_id,
        "record_type": record.record_type,
        "status": record.status,
        "attempts": record.attempts,
        "reason": record.reason,
        "last_error": " ".join((record.last_error or "").split())[:500],
        "replayable": replayable,
        "why": why,
    }


def select_records(
    params: Mapping[str, Any], *, ledger: Ledger | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The records the params select, each with whether it will be replayed and why (or why not)."""
    ledger = ledger or Ledger.from_connection()
    keys = [k for k in (params.get("keys") or []) if k]
    selection: list[dict[str, Any]] = []
    if keys:
        found = ledger.get_many(keys)
        for key in dict.fromkeys(keys):
            record = found.get(key)
            if record is None:
                selection.append({"key": key, "status": "unknown", "replayable": False,
                                  "why": "no ledger record with this key (keys look like dag_id:record_type:source_key)"})
            elif record.status != STATUS_FAILED:
                selection.append(_entry(record, replayable=False,
                                        why=f"status is {record.status}: nothing to replay, left as it is"))
            else:
                selection.append(_entry(record, replayable=True, why=f"failed ({record.reason})"))
    else:
        max_age = params.get("max_age_days")
        updated_after = None
        if max_age:
            updated_after = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=int(max_age))
        records = ledger.failed(
            dag_id=params.get("dag_id") or None,
            record_type=params.get("record_type") or None,
            error_contains=params.get("error_contains") or None,
            updated_after=updated_after,
        )
        selection = [_entry(r, replayable=True, why=f"failed ({r.reason})") for r in records]
    known = registered()
    for entry in selection:
        if entry["replayable"] and (entry["dag_id"], entry["record_type"]) not in known:
            entry["why"] += "; no replayer is registered for this flow yet: it will fail again with that reason"
    log.info("Selected %s record(s), %s to replay", len(selection), sum(1 for e in selection if e["replayable"]))
    return selection


def replay_selection(
    selection: Sequence[Mapping[str, Any]], *, run_id: str, dry_run: bool = False, ledger: Ledger | None = None
) -> dict[str, Any]:
    """Replay the replayable records of a selection; returns counts and each record's outcome."""
    counts: Counter = Counter()
    outcomes: list[dict[str, Any]] = []
    replayable = [e["key"] for e in selection if e.get("replayable")]
    for entry in selection:
        if not entry.get("replayable"):
            counts["left_as_is"] += 1
            outcomes.append({"key": entry["key"], "outcome": "left as is", "why": entry.get("why")})
    if dry_run:
        for entry in selection:
            if entry.get("replayable"):
                log.info("Would replay %s (attempts so far %s, %s): %s", entry["key"], entry.get("attempts"),
                         entry.get("reason"), entry.get("last_error"))
                outcomes.append({"key": entry["key"], "outcome": "would replay", "why": entry.get("why")})
        counts["would_replay"] += len(replayable)
        return {"counts": dict(counts), "records": outcomes}
    if not replayable:
        log.info("Nothing to replay")
        return {"counts": dict(counts), "records": outcomes}

    ledger = ledger or Ledger.from_connection()
    records = ledger.get_many(replayable)
    statuses = replay_records([records[k] for k in replayable if k in records], ledger=ledger, run_id=run_id)
    after = ledger.get_many(replayable)
    for key in replayable:
        record = after.get(key)
        if record is not None and record.status == STATUS_FAILED and record.run_id != run_id:
            # the flow's replayer wrote its outcome elsewhere (e.g. under the settlement id of a
            # `report-<id>` download failure) and left this one failed: it is still failing, and this
            # run's summary and alert must say so, not end green
            after[key] = ledger.record_failed(
                dag_id=record.dag_id, record_type=record.record_type, source_key=record.source_key,
                reason=record.reason or "replay_error", run_id=run_id,
                error=f"still failing after replay (the replay did not resolve it): {record.last_error or ''}"[:4000],
            )
    for key in replayable:
        record = after.get(key)
        status = statuses.get(key) or (record.status if record else "unknown")
        if status == "synced":
            counts["replayed_synced"] += 1
            outcomes.append({"key": key, "outcome": "synced", "internal_id": record.internal_id if record else None})
        elif status == "failed":
            counts["still_failing"] += 1
            outcomes.append({"key": key, "outcome": "failed again", "attempts": record.attempts if record else None,
                             "why": " ".join((record.last_error or "").split())[:500] if record else None})
        else:
            counts[f"closed_{status}"] += 1
            outcomes.append({"key": key, "outcome": status, "why": record.reason if record else None})
    log.info("Replay outcome: %s", dict(counts))
    return {"counts": dict(counts), "records": outcomes}
