"""
### Amazon settlement reports → balanced NetSuite journal entries

Daily, lists the settlement reports (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`) Amazon **created**
in the run's data interval — they cannot be requested, only listed, and Amazon keeps them 90 days —
and posts each settlement as one journal entry `AMZ-JE-{settlementId}` (parts `-1`, `-2`... of at
most 1,000 lines, each balanced, in detail mode). Each raw file is archived first (S3 when
`AMAZON_NETSUITE_ARCHIVE_S3_URI` is set, else `$AIRFLOW_HOME/archive`).

Every amount goes through `include/mappings/settlement_gl.csv` (most specific rule wins): order rows
clear the Amazon clearing account, fees and other charges book to their accounts, the deposit
(`total-amount`) goes to the bank; amounts no rule matches go to the suspense account and are listed
in the summary (docs/accounting.md). Checked before posting: debits = credits, bank line =
total-amount, per-account sums = the file.

**Params** (Trigger DAG w/ config): `window_start`/`window_end` (report creation dates), `settlement_ids`
(post just these, from the last 90 days), `mode` (`summary`: one line per account and segment;
`detail`: one line per order/fee), `posting_date` (post on this date instead of the deposit date, e.g.
when that period is closed), `import_file` (a file downloaded from Seller Central, older than 90
days: a worker path or `s3://bucket/key`), `dry_run`.

**Backfill** (finance): `airflow backfill create --dag-id amazon_settlements_to_netsuite --from-date 2026-09-01 --to-date 2026-10-01`.
Settlements already posted are skipped, so a backfill over posted periods writes nothing; a
settlement whose file changed after posting is corrected by an adjusting entry
`AMZ-JE-{settlementId}-ADJ{n}`, never by rewriting the posted one.

**When it fails**: a malformed file (missing columns, amounts that don't parse, rows that don't sum to
total-amount) is archived, dead-lettered and alerted, never half-posted; a posting into a closed
period says so and suggests `posting_date`. Inspect with
`python -m amazon_netsuite.ledger failed --dag amazon_settlements_to_netsuite`; after adding a GL
rule or fixing the cause: `airflow dags trigger sync_replay_failed_records --conf '{"dag_id": "amazon_settlements_to_netsuite"}'`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, get_current_context, task

from amazon_netsuite.dags_common import (
    AMAZON_POOL,
    NETSUITE_POOL,
    START_DATE,
    data_interval_schedule,
    default_args,
    sync_params,
)
from amazon_netsuite.notifiers import SyncAlertNotifier

DAG_ID = "amazon_settlements_to_netsuite"


@task(pool=AMAZON_POOL)
def find() -> list[dict[str, Any]]:
    """The settlement reports to post: listed from Amazon for the window (on each SP-API region's
    connection), or the imported file."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.dags_common import resolve_window
    from amazon_netsuite.flows.settlements import find_settlement_reports
    from amazon_netsuite.mappings import load_mappings

    context = get_current_context()
    params = context["params"]
    if params.get("import_file"):
        return [{"import_file": params["import_file"]}]
    window = None if params.get("settlement_ids") else resolve_window(context, overlap=dt.timedelta(0))
    hooks = hooks_for_targets(load_mappings().sp_api_targets())
    return find_settlement_reports(hooks, window=window, settlement_ids=params.get("settlement_ids") or [])


# One settlement at a time per run: two versions of a settlement (a re-issued report) must be applied
# oldest first, as find() orders them, never side by side.
@task(pool=NETSUITE_POOL, max_active_tis_per_dagrun=1,
      map_index_template="{{ task.op_kwargs['source'].get('report_id') or 'import' }}")
def post(source: dict[str, Any]) -> dict[str, Any]:
    """Download (or read), archive, parse, map, check and post one settlement."""
    from amazon_netsuite.flows.settlements import process_settlement, read_settlement_document
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    context = get_current_context()
    params = context["params"]
    ledger = Ledger.from_connection()
    try:
        text = read_settlement_document(source)
    except Exception as exc:
        # Not lost if the retries run out: dead-lettered by report, replayable while Amazon keeps it.
        if not params.get("dry_run"):
            ledger.record_failed(
                dag_id=DAG_ID, record_type="journalEntry",
                source_key=f"report-{source.get('report_id') or source.get('import_file')}",
                error=f"could not read the settlement document: {type(exc).__name__}: {exc}",
                reason="download_error", run_id=context["run_id"],
                replay={k: v for k, v in source.items()
                        if k in ("report_id", "document_id", "marketplace_ids", "created_time", "import_file")},
            )
        raise
    posting_date = dt.date.fromisoformat(params["posting_date"]) if params.get("posting_date") else None
    return process_settlement(
        text,
        source=source,
        mappings=load_mappings(),
        netsuite=NetSuiteHook(),
        ledger=ledger,
        run_id=context["run_id"],
        mode=params.get("mode") or "summary",
        posting_date=posting_date,
        dry_run=bool(params.get("dry_run")),
        settlement_ids=params.get("settlement_ids") or [],
    )


@task
def summary(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Tell finance what was posted (ids, periods, totals, suspense lines); fail once on failures."""
    from collections import Counter

    from amazon_netsuite.notifiers import finish_run

    counts = Counter(o.get("outcome", "unknown") for o in outcomes)
    details = []
    for o in outcomes:
        if o.get("outcome") in ("posted", "adjusted", "would_post", "would_adjust", "already_posted"):
            line = (f"Settlement {o['settlement_id']} {o.get('period', '')} {o.get('marketplace_id', '')}: "
                    f"total {o.get('total')} {o.get('currency', '')}, {o['outcome']}, journal "
                    f"{', '.join(o.get('journal_entries') or [])} (internal ids {o.get('internal_ids') or '-'})")
            details.append(line)
            for u in o.get("unmapped") or []:
                details.append(f"  to suspense: {u['transaction_type']} / {u['amount_type']} / "
                               f"{u['amount_description']} ({u['marketplace_name'] or 'no marketplace'}): "
                               f"{u['amount']} in {u['rows']} row(s): add a rule to settlement_gl.csv and replay")
    extra = {k: v for k, v in counts.items() if k not in ("failed",)}
    return finish_run(get_current_context(), extra_counts=extra, details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("0 6 * * *"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "settlements", "finance"],
    params=sync_params("window_start", "window_end", "settlement_ids", "mode", "posting_date", "import_file",
                       "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def amazon_settlements_to_netsuite():
    summary(post.expand(source=find()))


amazon_settlements_to_netsuite()
