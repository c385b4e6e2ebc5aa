"""Flow ``amazon_settlements_to_netsuite``: settlement V2 reports -> balanced journal entries.

find (every settlement report Amazon still keeps — 90 days — on each daily run, or an explicit
window; they can only be listed, never requested) -> download -> archive (S3 or a local folder,
keyed by settlement id) -> parse + map + build (transforms.settlements, pure) -> post (upsert by
``AMZ-JE-{settlementId}[-{n}]``) -> ledger.

Idempotent and auditable: a settlement already posted with the same content is skipped (listing the
same 90 days every day writes nothing twice); a settlement whose file changed after posting gets an
adjusting entry ``AMZ-JE-{settlementId}-ADJ{n}`` that moves the posted lines to the new ones — a posted
entry is never rewritten. A malformed file is archived, dead-lettered and alerted once, never
half-posted; a settlement that failed for a reason a re-run cannot fix (unmapped marketplace, bad
file, amounts in suspense, closed period) is left alone by the daily listing until it is replayed.
When NetSuite is down, refuses the credentials or loses the response on every retry, the settlement
is dead-lettered (``netsuite_unavailable`` / ``auth_failed``) with what was posted, and the task still
fails so Airflow retries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.ledger import STATUS_FAILED, STATUS_SYNCED

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger, LedgerRecord
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "amazon_settlements_to_netsuite"
RECORD_TYPE = "journalEntry"
REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
RETENTION = dt.timedelta(days=89)  # Amazon keeps reports 90 days
#: failures the next run may cure by itself (NetSuite back, credentials fixed): retried by the daily
#: listing. Any other failure (bad file, unmapped marketplace, suspense, closed period) is left alone
#: until it is replayed, so it alerts once.
TRANSIENT_REASONS = frozenset({"netsuite_unavailable", "auth_failed", "netsuite_error", "archive_error",
                               "download_error", "replay_error"})
IMPORT_HELP = ("download the settlement from Seller Central (Reports > Payments > All Statements > Download Flat "
               "File V2) and import it: airflow dags trigger amazon_settlements_to_netsuite --conf "
               "'{\"import_file\": \"s3://bucket/key\"}' (or a file in the workers' import folder)")


class SettlementPostingError(RuntimeError):
    """NetSuite failed as a whole (down, credentials refused, response lost on every retry) while a
    settlement was being posted. The settlement is already in the ledger as failed, with what was
    posted; the task fails so Airflow retries it."""


def listing_window(context: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
    """The report-creation window a run lists: the ``window_start``/``window_end`` params when given, a
    backfill run's data interval, else None: every settlement Amazon still keeps (90 days), so a daily
    run never misses one after downtime and needs no catch-up."""
    from amazon_netsuite.dags_common import _parse_instant

    params = context.get("params") or {}
    if params.get("settlement_ids"):
        return None
    now = dt.datetime.now(dt.UTC)
    if params.get("window_start") or params.get("window_end"):
        start = _parse_instant(params["window_start"], "window_start") if params.get("window_start") else now - RETENTION
        end = _parse_instant(params["window_end"], "window_end") if params.get("window_end") else now
        return start, min(end, now)
    dag_run = context.get("dag_run")
    run_type = str(getattr(getattr(dag_run, "run_type", None), "value", getattr(dag_run, "run_type", "")) or "")
    if run_type == "backfill" and context.get("data_interval_start") and context.get("data_interval_end"):
        return (_parse_instant(context["data_interval_start"], "data_interval_start"),
                min(_parse_instant(context["data_interval_end"], "data_interval_end"), now))
    return None


def find_settlement_reports(
    amazon: SellingPartnerHook | Sequence[SellingPartnerHook], *, window: tuple[dt.datetime, dt.datetime] | None,
    settlement_ids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Settlement reports Amazon created in the window (all of the last 90 days without one, or for
    ``settlement_ids``: the id is inside the document, so those are filtered after download), listed on
    every SP-API connection (one per region). Each source names its connection (``sp_api_conn_id``) and
    region: the document is only served by its region.

    A report's ``marketplaceIds`` say nothing about the settlement (Amazon lists every marketplace of
    the region on each); the settlement's marketplace comes from the file.
    """
    now = dt.datetime.now(dt.UTC)
    if settlement_ids or window is None:
        start, end = now - RETENTION, now
    else:
        start, end = window
        if start < now - RETENTION:
            log.warning("Amazon keeps reports 90 days: settlements created before %s cannot be listed; import "
                        "older files downloaded from Seller Central with the import_file param", now - RETENTION)
            start = now - RETENTION
        if end <= start:
            return []
    hooks = list(amazon) if isinstance(amazon, Sequence) else [amazon]
    found = [
        {
            "report_id": r.get("reportId"),
            "document_id": r.get("reportDocumentId"),
            "marketplace_ids": r.get("marketplaceIds") or [],
            "created_time": r.get("createdTime"),
            "region": hook.region,
            "sp_api_conn_id": hook.sp_api_conn_id,
        }
        for hook in hooks
        for r in hook.list_reports([REPORT_TYPE], processing_statuses=["DONE"], created_since=start, created_until=end)
        if r.get("reportDocumentId")
    ]
    # oldest first: when a settlement was re-issued, its newest version is applied last
    found.sort(key=_version)
    log.info("Found %s settlement report(s) created %s..%s", len(found), start.isoformat(), end.isoformat())
    return found


def _version(source: Mapping[str, Any]) -> tuple[str, int]:
    """Order of the reports of one settlement: creation time, then report id."""
    report_id = str(source.get("report_id") or "")
    return (str(source.get("created_time") or ""), int(report_id) if report_id.isdigit() else 0)


def read_settlement_document(source: Mapping[str, Any]) -> str:
    """The text of a settlement: an imported file (s3:// or under the import folder) or Amazon's document."""
    if source.get("import_file"):
        from amazon_netsuite.archive import decode_text_file, read_import

        return decode_text_file(read_import(source["import_file"]))
    from amazon_netsuite.amazon.hook import SellingPartnerHook, conn_id_for_marketplaces
    from amazon_netsuite.mappings import load_mappings

    # the document is served by its region only; older ledger entries carry the marketplaces alone
    conn_id = source.get("sp_api_conn_id") or conn_id_for_marketplaces(source.get("marketplace_ids") or [], load_mappings())
    return SellingPartnerHook(conn_id).download_report_document(source["document_id"], report_type=REPORT_TYPE)


def quick_settlement_id(text: str) -> str | None:
    """The settlement id from the first data row, before parsing (to key the archive)."""
    from amazon_netsuite.transforms.settlements import quick_settlement_id as quick

    return quick(text.lstrip("\ufeff"))


def _closed_period(message: str) -> bool:
    text = message.lower()
    return "period" in text and ("closed" in text or "locked" in text)


def _report_key(source: Mapping[str, Any]) -> str | None:
    if source.get("report_id"):
        return f"report-{source['report_id']}"
    return None


def _replay_fields(source: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in source.items()
            if k in ("report_id", "document_id", "marketplace_ids", "created_time", "import_file", "region",
                     "sp_api_conn_id")}


def _read(source: Mapping[str, Any], *, read: Callable[[Mapping[str, Any]], str], ledger: Ledger, run_id: str,
          dry_run: bool) -> str:
    """The document's text; one that cannot be read is dead-lettered as ``report-{reportId}``
    (replayable while Amazon keeps it) and the error re-raised so Airflow retries. An import refused
    for where it is raises ``ImportRefused`` untouched (the trigger's input: retrying cannot help)."""
    from amazon_netsuite.archive import ImportRefused

    try:
        return read(source)
    except ImportRefused:
        raise
    except Exception as exc:
        if not dry_run:
            ledger.record_failed(
                dag_id=DAG_ID, record_type=RECORD_TYPE,
                source_key=_report_key(source) or f"report-{source.get('import_file')}",
                error=f"could not read the settlement document of report {source.get('report_id') or '-'} "
                      f"({type(exc).__name__}: {exc}); the run retries it, replay takes it while Amazon keeps it "
                      "(90 days)",
                reason="download_error", run_id=run_id, replay=_replay_fields(source),
            )
        raise


def fetch_settlement(
    source: Mapping[str, Any],
    *,
    ledger: Ledger,
    run_id: str,
    read: Callable[[Mapping[str, Any]], str] = read_settlement_document,
    dry_run: bool = False,
) -> dict[str, Any]:
    """The DAG's Amazon side for one listed report (or imported file): read the document once and
    archive it; returns the source with its ``archive_uri``, which the NetSuite side posts from. A
    NetSuite outage then retries only the posting and never downloads from Amazon again.

    A document that cannot be read is dead-lettered as ``report-{reportId}`` and the error re-raised so
    Airflow retries (see :func:`post_settlement`)."""
    from amazon_netsuite.archive import archive_document

    text = _read(source, read=read, ledger=ledger, run_id=run_id, dry_run=dry_run)
    key = quick_settlement_id(text) or str(source.get("report_id") or source.get("import_file") or "unknown")
    uri = archive_document("settlements", key, text.encode("utf-8", "surrogatepass"))
    return {**source, "archive_uri": uri}


def read_fetched(source: Mapping[str, Any]) -> str:
    """The text :func:`fetch_settlement` archived (what the DAG's NetSuite side posts)."""
    from amazon_netsuite.archive import read_archived

    return read_archived(source["archive_uri"]).decode("utf-8", "surrogatepass")


def post_settlement(
    source: Mapping[str, Any],
    *,
    ledger: Ledger,
    run_id: str,
    mappings: Mappings | None = None,
    netsuite: NetSuiteHook | None = None,
    read: Callable[[Mapping[str, Any]], str] = read_settlement_document,
    on_settlement: Callable[[str], None] | None = None,
    dry_run: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """One listed report (or imported file): read it, then :func:`process_settlement`.

    A document that cannot be read is dead-lettered as ``report-{reportId}`` (replayable while Amazon
    keeps it) and the error re-raised so Airflow retries; the entry is resolved when the settlement
    is read later. An ``import_file`` outside S3 and the import folder is refused before anything is read.
    """
    text = _read(source, read=read, ledger=ledger, run_id=run_id, dry_run=dry_run)
    if mappings is None:
        from amazon_netsuite.mappings import load_mappings

        mappings = load_mappings()
    if netsuite is None:
        from amazon_netsuite.netsuite.hook import NetSuiteHook

        netsuite = NetSuiteHook()
    return process_settlement(text, source=source, mappings=mappings, netsuite=netsuite, ledger=ledger, run_id=run_id,
                              dry_run=dry_run, on_settlement=on_settlement, **options)


def process_settlement(  # noqa: C901 - one settlement's decisions, in order, in one place
    text: str,
    *,
    source: Mapping[str, Any],
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    run_id: str,
    mode: str = "summary",
    posting_date: dt.date | None = None,
    dry_run: bool = False,
    settlement_ids: Sequence[str] = (),
    marketplace: str | None = None,
    retry_failed: bool = True,
    on_settlement: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One settlement document, end to end. Returns its outcome (ids and money only).

    ``retry_failed`` False (the daily listing) leaves alone a settlement that already failed for a
    reason a re-run cannot fix, with the same document: it alerted once; replay takes it.
    """
    from amazon_netsuite.archive import ImportRefused, archive_document
    from amazon_netsuite.transforms.settlements import (
        SettlementFileError,
        build_journal,
        journal_records,
        journal_summary,
        layout_problem,
        parse_settlement,
    )

    guessed = quick_settlement_id(text) or str(source.get("report_id") or source.get("import_file") or "unknown")
    if on_settlement is not None:
        on_settlement(guessed)
    if settlement_ids and guessed not in settlement_ids:
        return {"settlement_id": guessed, "outcome": "not_selected"}
    if source.get("import_file"):
        problem = layout_problem(text)
        if problem is not None:
            raise ImportRefused(f"import_file {source['import_file']!r} refused: {problem[1]}. Nothing was archived "
                                "or posted.")
    document_hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if not dry_run:
        _resolve_report(ledger, source, guessed, run_id)

    key = f"{DAG_ID}:{RECORD_TYPE}:{guessed}"
    earlier = ledger.get(key)
    if (not retry_failed and earlier is not None and earlier.status == STATUS_FAILED
            and (earlier.reason or "") not in TRANSIENT_REASONS
            and (earlier.replay or {}).get("document_hash") == document_hash):
        log.info("Settlement %s failed before (%s) with this same document: left alone (replay takes it)", guessed,
                 earlier.reason)
        return {"settlement_id": guessed, "outcome": "left_alone", "reason": earlier.reason,
                "since": earlier.updated_at.isoformat() if earlier.updated_at else None}
    if (earlier is not None and earlier.status == STATUS_SYNCED
            and (earlier.replay or {}).get("document_hash") == document_hash):
        return {"settlement_id": guessed, "outcome": "already_posted", "internal_ids": earlier.internal_id or "",
                **((earlier.replay or {}).get("summary") or {})}

    replay: dict[str, Any] = {
        **_replay_fields(source),
        "marketplace_ids": list(source.get("marketplace_ids") or []),
        "mode": mode,
        "posting_date": posting_date.isoformat() if posting_date else None,
        "marketplace": marketplace,
        "document_hash": document_hash,
    }

    def fail(settlement_id: str, reason: str, error: str, posted_now: dict[str, Any] | None = None) -> dict[str, Any]:
        log.error("Settlement %s not posted (%s): %s", settlement_id, reason, error)
        if not dry_run:
            # keep what was posted (earlier runs, or parts of this one), so the next run completes or
            # adjusts it instead of posting it again
            before = ledger.get(f"{DAG_ID}:{RECORD_TYPE}:{settlement_id}")
            posted = {k: v for k, v in ((before.replay or {}) if before else {}).items()
                      if k in ("line_sums", "internal_ids", "external_ids", "adjustments", "created_time",
                               "posted_parts", "complete", "summary")}
            posted.update(posted_now or {})
            ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=settlement_id, error=error,
                                 reason=reason, run_id=run_id, replay={**replay, **posted},
                                 external_id=f"AMZ-JE-{settlement_id}",
                                 internal_id=",".join(posted.get("internal_ids") or [])[:64] or None)
        return {"settlement_id": settlement_id, "outcome": "failed", "reason": reason, "error": error,
                "archive_uri": replay.get("archive_uri")}

    try:
        replay["archive_uri"] = source.get("archive_uri") or archive_document(
            "settlements", guessed, text.encode("utf-8", "surrogatepass"))
    except Exception as exc:
        fail(guessed, "archive_error", f"settlement {guessed} could not be archived, so it was not posted "
             f"({type(exc).__name__}: {exc}); the task fails and Airflow retries it")
        raise SettlementPostingError(f"settlement {guessed}: archive failed: {exc}") from exc
    archive_uri = replay["archive_uri"]
    try:
        parsed = parse_settlement(text)
        sid = parsed.header.settlement_id
        plan = build_journal(parsed, mappings, mode=mode, posting_date=posting_date, marketplace_id=marketplace,
                             region=source.get("region"),
                             listed_marketplace_ids=list(source.get("marketplace_ids") or []))
    except SettlementFileError as exc:
        return fail(exc.settlement_id or guessed, exc.reason, f"{exc} (archived at {archive_uri})")
    except Exception as exc:  # a bug must not lose the settlement: dead-letter it, with the archive
        log.exception("Settlement %s: unexpected error", guessed)
        return fail(guessed, "unexpected_error", f"settlement {guessed}: unexpected {type(exc).__name__}: {exc} "
                    f"(archived at {archive_uri}); report it, then replay")
    summary = journal_summary(plan)
    outcome = {**summary, "archive_uri": archive_uri,
               "period": f"{parsed.header.start:%Y-%m-%d}..{parsed.header.end:%Y-%m-%d}"}
    replay["summary"] = {k: summary[k] for k in ("marketplace_id", "currency", "total", "journal_entries")}
    if not plan.parts:
        if not dry_run:
            ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=sid, reason="nothing_to_post",
                                  run_id=run_id, detail=f"settlement {sid}: every account nets to zero")
        return {**outcome, "outcome": "nothing_to_post"}

    previous = earlier if sid == guessed else ledger.get(f"{DAG_ID}:{RECORD_TYPE}:{sid}")
    prior = (previous.replay or {}) if previous is not None else {}
    if previous is not None and previous.status == STATUS_SYNCED and previous.content_hash == parsed.content_hash:
        return {**outcome, "outcome": "already_posted", "internal_ids": ",".join(prior.get("internal_ids") or [])}
    # Posted = its journal (or some of its parts) exists in NetSuite, whatever the ledger status: a
    # settlement posted with amounts in suspense stays "failed" until a rule maps them.
    posted_before = bool(prior.get("internal_ids")) and prior.get("line_sums") is not None
    if posted_before and source.get("created_time") and prior.get("created_time") \
            and _version(source) < _version(prior):
        log.warning("Settlement %s: report %s is older than the version already posted (report %s); left alone",
                    sid, source.get("report_id"), prior.get("report_id"))
        return {**outcome, "outcome": "superseded", "internal_ids": ",".join(prior.get("internal_ids") or [])}
    target = plan.line_sums()
    hashes = plan.part_hashes()
    adjust_from = None
    only = None
    adjustments = int(prior.get("adjustments") or 0)
    posted_parts: dict[str, str] = dict(prior.get("posted_parts") or {})
    complete = bool(prior.get("complete", True))
    if posted_before:
        posted_sums = {k: int(v) for k, v in prior["line_sums"].items()}
        if not complete and posted_parts and all(hashes.get(ext) == h for ext, h in posted_parts.items()):
            only = set(hashes) - set(posted_parts)  # finish what a failure stopped: the same parts, by externalId
            log.info("Settlement %s: %s of %s parts were posted before; posting the rest", sid, len(posted_parts),
                     len(hashes))
        elif posted_sums == target:
            outcome.update(outcome="already_posted", internal_ids=",".join(prior["internal_ids"]))
            if not dry_run and (previous.content_hash != parsed.content_hash or previous.status != STATUS_SYNCED):
                _record_posted(ledger, plan, sid, run_id, parsed.content_hash, {**replay, **{
                    k: v for k, v in prior.items() if k in ("line_sums", "internal_ids", "external_ids",
                                                             "posted_parts", "adjustments", "created_time")},
                    "complete": True})
            return outcome
        else:
            adjust_from = posted_sums
            adjustments += 1
            log.warning("Settlement %s: the posted journal differs from the file and today's GL table (%s); posting "
                        "adjusting entry %s", sid, "file changed" if previous.content_hash != parsed.content_hash
                        else "mapping changed", adjustments)
    records = journal_records(plan, adjust_from=adjust_from, adjustment_number=adjustments or 1, only=only)
    if dry_run:
        return {**outcome, "outcome": "would_adjust" if adjust_from is not None else "would_post",
                "records": [r["externalId"] for r in records]}
    earlier_ids = list(prior.get("internal_ids") or []) if posted_before else []

    def posted_state(results) -> dict[str, Any] | None:
        """What of this attempt is in NetSuite: the parts (not an adjusting entry) that were written."""
        if adjust_from is not None:
            return None
        ok = {r.external_id: r.internal_id for r in results if r.ok}
        if not ok:
            return None
        parts_now = {**posted_parts, **{ext: hashes[ext] for ext in ok if ext in hashes}}
        sums: dict[str, int] = {}
        for ext, part in zip(plan.external_ids(), plan.parts, strict=True):
            if ext in parts_now:
                for spec in part:
                    sums[spec.key] = sums.get(spec.key, 0) + spec.amount_minor
        return {"line_sums": {k: v for k, v in sums.items() if v}, "adjustments": adjustments,
                "posted_parts": parts_now, "complete": set(parts_now) >= set(hashes),
                "internal_ids": [*earlier_ids, *ok.values()], "external_ids": sorted(parts_now),
                "created_time": source.get("created_time")}

    from amazon_netsuite.netsuite.errors import NetSuiteAuthError, NetSuiteError, NetSuiteRetryableError

    try:
        results = netsuite.upsert_records(RECORD_TYPE, records)
    except NetSuiteError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, NetSuiteError) else exc
        reason = ("auth_failed" if isinstance(cause, NetSuiteAuthError) else
                  "netsuite_unavailable" if isinstance(cause, NetSuiteRetryableError) else "netsuite_error")
        fail(sid, reason, f"NetSuite failed while posting settlement {sid} ({exc}); nothing is lost: what was "
             "posted is kept, and the task retry, the next run or a replay posts the rest by externalId",
             posted_state(getattr(exc, "completed", []) or []))
        raise SettlementPostingError(f"settlement {sid}: {exc}") from exc
    failed = [r for r in results if not r.ok]
    if failed:
        message = "; ".join(r.describe() for r in failed)
        posted_now = posted_state(results)
        if any(getattr(r, "period_closed", False) or _closed_period(r.error_message or "") for r in failed):
            dates = sorted({p.tran_date.isoformat() for p in plan.parts})
            return fail(sid, "closed_period",
                        f"NetSuite refused to post settlement {sid} on {', '.join(dates)}: the accounting period is "
                        f"closed ({message}). Re-run with posting_date set to a date in an open period, e.g. "
                        "airflow dags trigger amazon_settlements_to_netsuite --conf "
                        f"'{{\"settlement_ids\": [\"{sid}\"], \"posting_date\": \"YYYY-MM-DD\"}}'",
                        posted_now)
        return fail(sid, "netsuite_error", message, posted_now)
    internal_ids = [*earlier_ids, *(r.internal_id for r in results if r.internal_id)]
    parts_done = posted_parts if adjust_from is not None else {**posted_parts, **{
        ext: hashes[ext] for ext in (only if only is not None else hashes)}}
    _record_posted(ledger, plan, sid, run_id, parsed.content_hash, {
        **replay, "line_sums": target, "adjustments": adjustments if posted_before else 0,
        "external_ids": sorted({*(prior.get("external_ids") or []), *plan.external_ids()}),
        "internal_ids": internal_ids, "posted_parts": parts_done, "complete": True,
        "created_time": source.get("created_time")})
    return {**outcome, "outcome": "adjusted" if adjust_from is not None else "posted",
            "internal_ids": ",".join(internal_ids), "posted_records": [r["externalId"] for r in records]}


def _resolve_report(ledger: Ledger, source: Mapping[str, Any], settlement_id: str, run_id: str) -> None:
    """A report whose download failed earlier (``report-{id}`` dead-lettered) was read now: resolved."""
    key = _report_key(source)
    if key is None:
        return
    record = ledger.get(f"{DAG_ID}:{RECORD_TYPE}:{key}")
    if record is not None and record.status == STATUS_FAILED:
        ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=key,
                             external_id=f"AMZ-JE-{settlement_id}", internal_id=None, run_id=run_id,
                             replay={**_replay_fields(source), "settlement_id": settlement_id})


def _record_posted(ledger: Ledger, plan, sid: str, run_id: str, content_hash: str, replay: dict[str, Any]) -> None:
    """Posted: synced, or — with amounts in suspense — kept failed so finance adds a rule and replays."""
    internal_id = ",".join(replay["internal_ids"])[:64]
    if plan.unmapped:
        listing = "; ".join(f"{u['transaction_type']} / {u['amount_type']} / {u['amount_description']} "
                            f"({u['marketplace_name'] or 'no marketplace'}): {u['amount']}" for u in plan.unmapped)
        ledger.record_failed(
            dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=sid, reason="unmapped_gl", run_id=run_id,
            error=f"settlement {sid} posted with {len(plan.unmapped)} amount type(s) in suspense: {listing}. Add "
                  "rules to include/mappings/settlement_gl.csv, then replay: the adjusting entry moves them out of "
                  "suspense",
            replay=replay, external_id=plan.external_ids()[0], internal_id=internal_id,
        )
        return
    ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=sid, external_id=plan.external_ids()[0],
                         internal_id=internal_id, run_id=run_id, content_hash=content_hash, replay=replay)


# ------------------------------------------------------------------------------------------ summary


def _amount(value: str | None) -> Decimal:
    return Decimal(value or "0")


def finance_summary(outcomes: Sequence[Mapping[str, Any]], *, params: Mapping[str, Any] | None = None,
                    now: dt.datetime | None = None) -> tuple[dict[str, int], list[str]]:
    """(counts, lines) for finance: per settlement its deposit or carried balance, fees by group, reserve
    moves, suspense, the periods posted and suggestions; marketplace names; totals per currency."""
    params = params or {}
    now = now or dt.datetime.now(dt.UTC)
    outcomes = [o for o in outcomes if o]
    counts = Counter(o.get("outcome", "unknown") for o in outcomes)
    details: list[str] = []
    totals: dict[str, dict[str, list]] = {}
    for o in outcomes:
        kind = o.get("outcome")
        sid = o.get("settlement_id")
        if kind == "left_alone":
            details.append(f"Settlement {sid}: failed before ({o.get('reason')}) with this same file; left alone, not "
                           "alerted again. Fix the cause, then replay: airflow dags trigger sync_replay_failed_records "
                           f"--conf '{{\"keys\": [\"{DAG_ID}:{RECORD_TYPE}:{sid}\"]}}'")
            continue
        if kind not in ("posted", "adjusted", "would_post", "would_adjust"):
            continue
        name = o.get("marketplace_name") or o.get("marketplace_id") or ""
        currency = o.get("currency") or ""
        details.append(f"Settlement {sid} {name} {currency} {o.get('period', '')}: {kind}, journal "
                       f"{', '.join(o.get('posted_records') or o.get('records') or o.get('journal_entries') or [])}"
                       f" (internal ids {o.get('internal_ids') or '-'})")
        if o.get("deposit"):
            details.append(f"  deposit {o['deposit']} {currency} to the bank (account {o.get('deposit_account_id')})")
            totals.setdefault(currency, {}).setdefault("deposits", []).append(_amount(o["deposit"]))
        elif o.get("balance_carried"):
            details.append(f"  balance carried {o['balance_carried']} {currency} to Amazon balance owed (account "
                           f"{o.get('deposit_account_id')}): no bank movement; Amazon takes it from the next "
                           "settlement or charges the card")
            totals.setdefault(currency, {}).setdefault("carried", []).append(_amount(o["balance_carried"]))
        if o.get("fee_groups"):
            details.append("  fees: " + "; ".join(f"{k} {v}" for k, v in o["fee_groups"].items()))
        if o.get("reserve"):
            details.append("  reserve: " + ", ".join(f"{k} {v}" for k, v in o["reserve"].items()))
        if o.get("balance_moves"):
            details.append("  balance owed moves: " + ", ".join(f"{k} {v}" for k, v in o["balance_moves"].items()))
        if o.get("periods"):
            details.append("  posted in: " + "; ".join(
                f"{p['period']} on {p['tran_date']} ({', '.join(p['journal_entries'])})" for p in o["periods"]))
        for u in o.get("unmapped") or []:
            details.append(f"  to suspense: {u['transaction_type']} / {u['amount_type']} / {u['amount_description']} "
                           f"({u['marketplace_name'] or 'no marketplace'}): {u['amount']} in {u['rows']} row(s)"
                           f"{' (' + u['note'] + ')' if u.get('note') else ''}: add a rule to settlement_gl.csv and "
                           "replay")
        if o.get("ignored_zero_rows"):
            details.append(f"  ignored: {o['ignored_zero_rows']} zero-amount row(s) with no rule")
        for s in o.get("inventory_suggestions") or []:
            quantity = s.get("quantity")
            change = f"by {quantity:+d} unit(s)" if isinstance(quantity, int) else "(quantity not in the file: see " \
                "the FBA reimbursements report)"
            details.append(f"  suggested, not posted: inventory adjustment of SKU {s.get('sku') or '-'} (item "
                           f"{s.get('item_id') or 'not mapped'}) {change} at FBA location {s.get('location_id')} "
                           f"({s.get('reason')}, reimbursed {s.get('amount')} {currency})")
    if totals:
        parts = []
        for currency, sums in sorted(totals.items()):
            pieces = [f"{label} {sum(values, Decimal(0))} ({len(values)})" for label, values in sorted(sums.items())]
            parts.append(f"{currency}: " + ", ".join(pieces))
        details.append("Totals per currency: " + "; ".join(parts))
    details.extend(_retention_notes(params, now, listed=len(outcomes)))
    return {k: v for k, v in counts.items() if k != "failed"}, details


def _retention_notes(params: Mapping[str, Any], now: dt.datetime, *, listed: int) -> list[str]:
    from amazon_netsuite.dags_common import _parse_instant

    if params.get("import_file") or params.get("settlement_ids"):
        return []
    oldest = now - RETENTION
    start = _parse_instant(params["window_start"], "window_start") if params.get("window_start") else None
    end = _parse_instant(params["window_end"], "window_end") if params.get("window_end") else None
    if end is not None and end <= oldest:
        return [f"Nothing could be listed: Amazon keeps settlement reports 90 days and the window "
                f"{start.isoformat() if start else '...'}..{end.isoformat()} ended before {oldest:%Y-%m-%d}. To post "
                f"older settlements, {IMPORT_HELP}."]
    if start is not None and start < oldest:
        return [f"Amazon keeps settlement reports 90 days: settlements created before {oldest:%Y-%m-%d} could not be "
                f"listed ({listed} listed from {oldest:%Y-%m-%d}). To post older ones, {IMPORT_HELP}."]
    return []


# ------------------------------------------------------------------------------------------ replay


def replay(records: Sequence[LedgerRecord], *, ledger: Ledger, run_id: str) -> None:
    """Re-run failed settlements (and reports whose download failed) from their archived document, or
    Amazon's while it keeps it, with today's mapping tables. One record failing again never touches
    the others; a NetSuite outage is already recorded on the settlement and not overwritten."""
    from amazon_netsuite.archive import decode_text_file, read_archived
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    mappings = load_mappings()
    netsuite = NetSuiteHook()
    for record in records:
        info = record.replay or {}
        try:
            posting = info.get("posting_date")
            options = {"mode": info.get("mode") or "summary",
                       "posting_date": dt.date.fromisoformat(posting) if posting else None,
                       "marketplace": info.get("marketplace")}
            if info.get("archive_uri"):
                text = decode_text_file(read_archived(info["archive_uri"]))
                process_settlement(text, source=info, mappings=mappings, netsuite=netsuite, ledger=ledger,
                                   run_id=run_id, **options)
            elif info.get("document_id") or info.get("import_file"):
                post_settlement(info, ledger=ledger, run_id=run_id, mappings=mappings, netsuite=netsuite, **options)
            else:
                raise ValueError("no archived document and no report document id to replay from; re-run the DAG "
                                 "for its window or import the file")
        except SettlementPostingError:
            log.exception("Replay of %s: NetSuite failed (recorded on the settlement)", record.key)
        except Exception as exc:  # noqa: BLE001 - recorded on this record only
            log.exception("Replay of %s failed", record.key)
            if info.get("document_id") and not info.get("archive_uri"):
                current = ledger.get(record.key)
                if current is not None and current.status == STATUS_FAILED and current.run_id == run_id:
                    continue  # the download failure was recorded again by post_settlement
            ledger.record_failed(dag_id=record.dag_id, record_type=record.record_type, source_key=record.source_key,
                                 error=f"replay failed: {type(exc).__name__}: {exc}", reason="replay_error",
                                 run_id=run_id)
