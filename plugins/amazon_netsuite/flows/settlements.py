"""Flow ``amazon_settlements_to_netsuite``: settlement V2 reports -> balanced journal entries.

find (list reports created in the window; they can only be listed, never requested) -> download ->
archive (S3 or a local folder, keyed by settlement id) -> parse + map + build (transforms.settlements,
pure) -> post (upsert by ``AMZ-JE-{settlementId}[-{n}]``) -> ledger.

Idempotent and auditable: a settlement already posted with the same content is skipped (a backfill
over posted periods writes nothing); a settlement whose file changed after posting gets an adjusting
entry ``AMZ-JE-{settlementId}-ADJ{n}`` that moves the posted lines to the new ones — a posted entry
is never rewritten. A malformed file is archived, dead-lettered and alerted, never half-posted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from amazon_netsuite.ledger import STATUS_SYNCED

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


def find_settlement_reports(
    amazon: SellingPartnerHook | Sequence[SellingPartnerHook], *, window: tuple[dt.datetime, dt.datetime] | None,
    settlement_ids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Settlement reports Amazon created in the window (all of the last 90 days for ``settlement_ids``:
    the id is inside the document, so those are filtered after download), listed on every SP-API
    connection (one per region). Each source names its connection (``sp_api_conn_id``): the
    document is only served by its region. A settlement report lists every marketplace of its
    region, whatever it settles: the file says which."""
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
    """The text of a settlement: an imported file (a worker path or s3://...) or Amazon's document."""
    if source.get("import_file"):
        from amazon_netsuite.archive import decode_text_file, read_archived

        return decode_text_file(read_archived(source["import_file"]))
    from amazon_netsuite.amazon.hook import SellingPartnerHook, conn_id_for_marketplaces
    from amazon_netsuite.mappings import load_mappings

    # the document is served by its region only; older ledger entries carry the marketplaces alone
    conn_id = source.get("sp_api_conn_id") or conn_id_for_marketplaces(source.get("marketplace_ids") or [], load_mappings())
    return SellingPartnerHook(conn_id).download_report_document(source["document_id"], report_type=REPORT_TYPE)


def quick_settlement_id(text: str) -> str | None:
    """The settlement id from the first data row, before parsing (to key the archive)."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    header = [c.strip() for c in lines[0].split("\t")]
    cells = lines[1].split("\t")
    if "settlement-id" in header and header.index("settlement-id") < len(cells):
        return cells[header.index("settlement-id")].strip() or None
    return None


def _closed_period(message: str) -> bool:
    text = message.lower()
    return "period" in text and ("closed" in text or "locked" in text)


def process_settlement(
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
) -> dict[str, Any]:
    """One settlement document, end to end. Returns its outcome (ids and money only)."""
    from amazon_netsuite.archive import archive_document
    from amazon_netsuite.transforms.settlements import (
        SettlementFileError,
        build_journal,
        journal_records,
        journal_summary,
        parse_settlement,
    )

    guessed = quick_settlement_id(text) or str(source.get("report_id") or source.get("import_file") or "unknown")
    if settlement_ids and guessed not in settlement_ids:
        return {"settlement_id": guessed, "outcome": "not_selected"}
    archive_uri = source.get("archive_uri") or archive_document("settlements", guessed, text.encode("utf-8"))
    replay = {
        "archive_uri": archive_uri,
        "report_id": source.get("report_id"),
        "created_time": source.get("created_time"),
        "marketplace_ids": list(source.get("marketplace_ids") or []),
        "document_id": source.get("document_id"),
        "mode": mode,
        "posting_date": posting_date.isoformat() if posting_date else None,
    }

    def fail(settlement_id: str, reason: str, error: str, posted_now: dict[str, Any] | None = None) -> dict[str, Any]:
        log.error("Settlement %s not posted (%s): %s", settlement_id, reason, error)
        if not dry_run:
            # keep what was posted (earlier runs, or parts of this one), so the next run adjusts it
            # instead of posting it again
            earlier = ledger.get(f"{DAG_ID}:{RECORD_TYPE}:{settlement_id}")
            posted = {k: v for k, v in ((earlier.replay or {}) if earlier else {}).items()
                      if k in ("line_sums", "internal_ids", "external_ids", "adjustments", "created_time")}
            posted.update(posted_now or {})
            ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=settlement_id, error=error,
                                 reason=reason, run_id=run_id, replay={**replay, **posted},
                                 external_id=f"AMZ-JE-{settlement_id}",
                                 internal_id=",".join(posted.get("internal_ids") or [])[:64] or None)
        return {"settlement_id": settlement_id, "outcome": "failed", "reason": reason, "error": error,
                "archive_uri": archive_uri}

    try:
        parsed = parse_settlement(text)
    except SettlementFileError as exc:
        return fail(exc.settlement_id or guessed, exc.reason, f"{exc} (archived at {archive_uri})")
    sid = parsed.header.settlement_id
    # A settlement report lists every marketplace of its region: the one mapped marketplace among them
    # in the file's currency is the settlement's; if none or several, the file's marketplace names decide.
    listed = [m for m in source.get("marketplace_ids") or []
              if m in mappings.marketplaces and mappings.marketplaces[m].currency == parsed.header.currency]
    marketplace_id = listed[0] if len(listed) == 1 else None
    try:
        plan = build_journal(parsed, mappings, mode=mode, posting_date=posting_date, marketplace_id=marketplace_id)
    except SettlementFileError as exc:
        return fail(sid, exc.reason, f"{exc} (archived at {archive_uri})")
    outcome = {**journal_summary(plan), "archive_uri": archive_uri,
               "period": f"{parsed.header.start:%Y-%m-%d}..{parsed.header.end:%Y-%m-%d}", "currency": parsed.header.currency}

    previous = ledger.get(f"{DAG_ID}:{RECORD_TYPE}:{sid}")
    prior = (previous.replay or {}) if previous is not None else {}
    # Posted = its journal exists in NetSuite (whatever the ledger status: a settlement posted with
    # amounts in suspense stays "failed" until a rule maps them).
    posted_before = bool(prior.get("internal_ids")) and prior.get("line_sums") is not None
    if posted_before and source.get("created_time") and prior.get("created_time") \
            and _version(source) < _version(prior):
        log.warning("Settlement %s: report %s is older than the version already posted (report %s); left alone",
                    sid, source.get("report_id"), prior.get("report_id"))
        return {**outcome, "outcome": "superseded", "internal_ids": ",".join(prior.get("internal_ids") or [])}
    target = plan.line_sums()
    adjust_from = None
    adjustments = int(prior.get("adjustments") or 0)
    if posted_before:
        posted_sums = {k: int(v) for k, v in prior["line_sums"].items()}
        if posted_sums == target:
            outcome.update(outcome="already_posted", internal_ids=",".join(prior["internal_ids"]))
            if not dry_run and (previous.content_hash != parsed.content_hash or previous.status != STATUS_SYNCED):
                _record_posted(ledger, plan, sid, run_id, parsed.content_hash, replay | {
                    "line_sums": target, "adjustments": adjustments, "external_ids": prior.get("external_ids"),
                    "internal_ids": prior["internal_ids"]})
            return outcome
        adjust_from = posted_sums
        adjustments += 1
        log.warning("Settlement %s: the posted journal differs from the file and today's GL table (%s); posting "
                    "adjusting entry %s", sid, "file changed" if previous.content_hash != parsed.content_hash
                    else "mapping changed", adjustments)
    records = journal_records(plan, adjust_from=adjust_from, adjustment_number=adjustments or 1)
    if dry_run:
        return {**outcome, "outcome": "would_adjust" if posted_before else "would_post",
                "records": [r["externalId"] for r in records]}
    results = netsuite.upsert_records(RECORD_TYPE, records)
    failed = [r for r in results if not r.ok]
    if failed:
        message = "; ".join(r.describe() for r in failed)
        posted_now = None
        if not posted_before and any(r.ok for r in results):
            # some parts are in NetSuite: remember exactly those, so the next run adjusts the rest
            sums: dict[str, int] = {}
            for part, result in zip(plan.parts, results, strict=True):
                if result.ok:
                    for spec in part:
                        sums[spec.key] = sums.get(spec.key, 0) + spec.amount_minor
            posted_now = {"line_sums": {k: v for k, v in sums.items() if v}, "adjustments": 0,
                          "internal_ids": [r.internal_id for r in results if r.ok],
                          "external_ids": [r.external_id for r in results if r.ok],
                          "created_time": source.get("created_time")}
        if any(getattr(r, "period_closed", False) or _closed_period(r.error_message or "") for r in failed):
            return fail(sid, "closed_period",
                        f"NetSuite refused to post settlement {sid} on {plan.tran_date}: the accounting period is "
                        f"closed ({message}). Re-run with posting_date set to a date in an open period, e.g. "
                        "airflow dags trigger amazon_settlements_to_netsuite --conf "
                        f"'{{\"settlement_ids\": [\"{sid}\"], \"posting_date\": \"YYYY-MM-DD\"}}'",
                        posted_now)
        return fail(sid, "netsuite_error", message, posted_now)
    internal_ids = [*(prior.get("internal_ids") or [] if posted_before else []),
                    *(r.internal_id for r in results if r.internal_id)]
    _record_posted(ledger, plan, sid, run_id, parsed.content_hash, replay | {
        "line_sums": target, "adjustments": adjustments if posted_before else 0,
        "external_ids": plan.external_ids(), "internal_ids": internal_ids})
    return {**outcome, "outcome": "adjusted" if posted_before else "posted", "internal_ids": ",".join(internal_ids),
            "posted_records": [r["externalId"] for r in records]}


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


def replay(records: Sequence[LedgerRecord], *, ledger: Ledger, run_id: str) -> None:
    """Re-run failed settlements from their archived document (or Amazon's, while it keeps it) with
    today's mapping tables. One record failing again never touches the others."""
    from amazon_netsuite.archive import read_archived
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    mappings = load_mappings()
    netsuite = NetSuiteHook()
    for record in records:
        info = record.replay or {}
        try:
            if info.get("archive_uri"):
                text = read_archived(info["archive_uri"]).decode("utf-8")
            elif info.get("document_id") or info.get("import_file"):
                text = read_settlement_document(info)
            else:
                raise ValueError("no archived document and no report document id to replay from; re-run the DAG "
                                 "for its window or import the file")
            posting = info.get("posting_date")
            process_settlement(
                text, source=info, mappings=mappings, netsuite=netsuite, ledger=ledger, run_id=run_id,
                mode=info.get("mode") or "summary",
                posting_date=dt.date.fromisoformat(posting) if posting else None,
            )
        except Exception as exc:  # noqa: BLE001 - recorded on this record only
            log.exception("Replay of %s failed", record.key)
            ledger.record_failed(dag_id=record.dag_id, record_type=record.record_type, source_key=record.source_key,
                                 error=f"replay failed: {type(exc).__name__}: {exc}", reason="replay_error",
                                 run_id=run_id)
