"""
### Amazon settlement reports → balanced NetSuite journal entries

Daily, lists **every** settlement report (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`) Amazon still
keeps (90 days; they cannot be requested, only listed) and posts what the ledger has not posted: a
run after downtime misses nothing, and already-posted settlements are skipped, so no catch-up is
needed (`catchup=False`). Each settlement becomes one journal entry `AMZ-JE-{settlementId}` (parts
`-1`, `-2`... when split at month ends or at 1,000 lines) in the subsidiary of the marketplace its
FILE names (never the report's marketplaceIds: Amazon lists every marketplace of the region on each
report). Per settlement, two tasks: **fetch** (pool `amazon_sp_api`) downloads the document once and
archives it (S3 when `AMAZON_NETSUITE_ARCHIVE_S3_URI` is set, else `$AIRFLOW_HOME/archive`); **post**
(pool `netsuite_api`) posts from the archive, so a NetSuite outage retries post alone and never
downloads from Amazon again.

Every amount goes through `include/mappings/settlement_gl.csv` (docs/accounting.md): order rows clear
Amazon clearing, refunds wait in refunds pending until the returns flow books the credit memo, fees
book to their accounts (tax on fees to input tax), a positive total is the deposit to the bank, a
negative total goes to *Amazon balance owed* (no money leaves the bank); amounts no rule matches go
to suspense and are listed in the summary. Checked before posting: every part balances, the bank
line = total-amount when positive (else the carried-balance line), settlement-in-transit nets to
zero, per-account sums = the file.

**Params** (Trigger DAG w/ config): `window_start`/`window_end` (report creation dates; default: the
last 90 days), `settlement_ids` (post just these, from the last 90 days), `mode` (`summary`: one line
per account and segment; `detail`: one line per order/fee), `posting_date` (post everything on this
date, e.g. when a period is closed), `marketplace` (the marketplace id of a fee-only settlement whose
file names none), `import_file` (a file downloaded from Seller Central, older than 90 days:
`s3://bucket/key` or a file in the import folder `AMAZON_NETSUITE_IMPORT_DIR`), `dry_run`.

**When it fails**: a malformed file, an unmapped marketplace or amounts in suspense are archived,
dead-lettered and alerted ONCE (later daily runs leave them alone until replayed); NetSuite down or
refusing the credentials dead-letters the settlement (`netsuite_unavailable` / `auth_failed`) and
fails the task so Airflow retries; a closed period says so and suggests `posting_date`. Inspect with
`python -m amazon_netsuite.ledger failed --dag amazon_settlements_to_netsuite`; after fixing the cause:
`airflow dags trigger sync_replay_failed_records --conf '{"dag_id": "amazon_settlements_to_netsuite"}'`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import dag, get_current_context, task, task_group

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
    """The settlement reports to post: listed from Amazon (on each SP-API region's connection), or the
    imported file."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.flows.settlements import find_settlement_reports, listing_window
    from amazon_netsuite.mappings import load_mappings

    context = get_current_context()
    params = context["params"]
    if params.get("import_file"):
        return [{"import_file": params["import_file"]}]
    window = listing_window(context)  # None: every report Amazon still keeps (90 days)
    hooks = hooks_for_targets(load_mappings().sp_api_targets())
    return find_settlement_reports(hooks, window=window, settlement_ids=params.get("settlement_ids") or [])


@task(pool=AMAZON_POOL, map_index_template="{{ report_label }}")
def fetch(source: dict[str, Any]) -> dict[str, Any]:
    """Download one settlement document from Amazon (or read the imported file) and archive it: the
    NetSuite side posts from the archive, so its retries never download again."""
    from airflow.sdk.exceptions import AirflowFailException

    from amazon_netsuite.archive import ImportRefused
    from amazon_netsuite.flows.settlements import fetch_settlement
    from amazon_netsuite.ledger import Ledger

    context = get_current_context()
    context["report_label"] = f"report {source.get('report_id') or source.get('import_file')}"
    try:
        return fetch_settlement(source, ledger=Ledger.from_connection(), run_id=context["run_id"],
                                dry_run=bool(context["params"].get("dry_run")))
    except ImportRefused as exc:
        raise AirflowFailException(str(exc)) from None  # the trigger's input: retrying cannot help


# One settlement at a time per run: two versions of a settlement (a re-issued report) are applied
# oldest first, and an older one arriving after a newer one is left alone (superseded). Each mapped
# task is labelled by its settlement id once the document is read (by the report id before).
@task(pool=NETSUITE_POOL, max_active_tis_per_dagrun=1, map_index_template="{{ settlement_label }}")
def post(source: dict[str, Any]) -> dict[str, Any]:
    """Parse, map, check and post one archived settlement."""
    from amazon_netsuite.flows.settlements import post_settlement, read_fetched
    from amazon_netsuite.ledger import Ledger

    context = get_current_context()
    params = context["params"]
    context["settlement_label"] = f"report {source.get('report_id') or source.get('import_file')}"

    def label(settlement_id: str) -> None:
        context["settlement_label"] = f"settlement {settlement_id}"

    return post_settlement(
        source,
        ledger=Ledger.from_connection(),
        run_id=context["run_id"],
        read=read_fetched,
        on_settlement=label,
        mode=params.get("mode") or "summary",
        posting_date=dt.date.fromisoformat(params["posting_date"]) if params.get("posting_date") else None,
        dry_run=bool(params.get("dry_run")),
        settlement_ids=params.get("settlement_ids") or [],
        marketplace=params.get("marketplace") or None,
        # the daily listing leaves alone what failed for a reason a re-run cannot fix (it alerted once);
        # a run for named settlements or an import retries them
        retry_failed=bool(params.get("settlement_ids") or params.get("import_file")),
    )


@task_group
def settlement(source: dict[str, Any]) -> Any:
    """One settlement: fetched on the Amazon side, posted on the NetSuite side."""
    return post(fetch(source))


@task(trigger_rule="none_failed")
def summary(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Tell finance what was posted (deposit or balance carried, fees, reserve, suspense, periods,
    totals per currency); fail once on failures; say so when the window is older than Amazon keeps."""
    from amazon_netsuite.flows.settlements import finance_summary
    from amazon_netsuite.notifiers import finish_run

    context = get_current_context()
    # one read of the mapped results: iterating would probe one past the end (an "XCom not found" error line)
    from amazon_netsuite.dags_common import mapped_results

    results = mapped_results(outcomes)  # one settlement listed: Airflow hands the single result
    counts, details = finance_summary(results, params=context["params"])
    return finish_run(context, extra_counts=counts, details=details)


@dag(
    dag_id=DAG_ID,
    start_date=START_DATE,
    schedule=data_interval_schedule("0 6 * * *"),
    catchup=False,  # each run lists every settlement Amazon still keeps: nothing to catch up
    max_active_runs=1,
    default_args=default_args(),
    tags=["amazon", "netsuite", "settlements", "finance"],
    params=sync_params("window_start", "window_end", "settlement_ids", "mode", "posting_date", "marketplace",
                       "import_file", "dry_run"),
    on_failure_callback=SyncAlertNotifier(),
    doc_md=__doc__,
)
def amazon_settlements_to_netsuite():
    summary(settlement.expand(source=find()))


amazon_settlements_to_netsuite()
