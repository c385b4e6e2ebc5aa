"""The "Amazon ⇄ NetSuite" page: ledger status, replay, settlements and reconciliation, in the Airflow UI.

A FastAPI app that Airflow 3.3's api-server mounts at :data:`URL_PREFIX` (``AirflowPlugin.fastapi_apps``)
and an external view that puts the page in Airflow's navigation (``AirflowPlugin.external_views``). Every
route sits behind Airflow's own auth (the JWT of the UI's cookie or an ``Authorization: Bearer`` header,
checked by the configured auth manager): anonymous requests get 401, and a user without the permission
403. Reading needs read access to DAG runs; **Replay** needs permission to trigger
``sync_replay_failed_records``, and triggers it through Airflow's public REST API with the caller's own
credentials (so the run is theirs and the auth manager decides, not this page).

The ledger holds ids, reasons and errors, never buyer PII; the page shows nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

URL_PREFIX = "/amazon-netsuite"
REPLAY_DAG_ID = "sync_replay_failed_records"
SETTLEMENTS_DAG_ID = "amazon_settlements_to_netsuite"
MAX_REPLAY_KEYS = 500

can_read = Depends(requires_access_dag("GET", DagAccessEntity.RUN))
can_replay = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=REPLAY_DAG_ID))

app = FastAPI(title="Amazon ⇄ NetSuite", description="Sync ledger, replay, settlements and reconciliation")


def _ledger():
    from amazon_netsuite.ledger import Ledger

    return Ledger.from_connection()


def _record(record, now: dt.datetime) -> dict[str, Any]:
    age = (now - record.updated_at).total_seconds() / 3600 if record.updated_at else None
    return {
        "key": record.key, "dag_id": record.dag_id, "record_type": record.record_type, "source_key": record.source_key,
        "external_id": record.external_id, "internal_id": record.internal_id, "status": record.status,
        "attempts": record.attempts, "reason": record.reason, "error": record.last_error,
        "updated_at": record.updated_at.isoformat() if record.updated_at else None,
        "age_hours": round(age, 1) if age is not None else None, "run_id": record.run_id,
    }


@app.get("/api/records", dependencies=[can_read])
def records(status: str = "failed,pending", dag_id: str | None = None, reason: str | None = None,
            limit: int = 500) -> dict[str, Any]:
    """Records of ``status`` (failed and pending first, then newest first; at most ``limit``), with counts by
    flow, status and reason over every record the filter matches (a SQL GROUP BY, not the records listed)."""
    statuses = [s for s in status.split(",") if s]
    ledger = _ledger()
    found = ledger.records(statuses=statuses, dag_id=dag_id, reason=reason or None, limit=max(1, min(limit, 5000)),
                           unsynced_first=True)
    groups = ledger.record_counts(statuses=statuses, dag_id=dag_id, reason=reason or None)
    now = dt.datetime.now(dt.UTC)
    return {"records": [_record(r, now) for r in found], "total": sum(n for *_, n in groups),
            "groups": [{"dag_id": d, "status": s, "reason": why, "count": n} for d, s, why, n in groups]}


@app.get("/api/records/{key:path}", dependencies=[can_read])
def record(key: str) -> dict[str, Any]:
    """One record: error, ids, attempts, what replay needs (ids only)."""
    found = _ledger().get(key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no ledger record {key}")
    return {**_record(found, dt.datetime.now(dt.UTC)), "replay": found.replay}


class ReplayBody(BaseModel):
    keys: list[str] = Field(min_length=1, max_length=MAX_REPLAY_KEYS)
    dry_run: bool = False


def _credentials(request: Request) -> dict[str, Any]:
    """The caller's own credentials, passed on to Airflow's REST API (header first, else the UI cookie)."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    if request.headers.get("authorization"):
        return {"headers": {"Authorization": request.headers["authorization"]}}
    token = request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


@app.post("/api/replay", dependencies=[can_replay])
def replay(body: ReplayBody, request: Request) -> dict[str, Any]:
    """Trigger ``sync_replay_failed_records`` with the selected keys (Airflow's ``POST /api/v2/dags/{dag_id}/dagRuns``)."""
    import httpx

    known = _ledger().get_many(body.keys)
    unknown = sorted(set(body.keys) - set(known))
    if unknown:
        raise HTTPException(status_code=404, detail=f"not in the ledger: {', '.join(unknown[:10])}")
    root = f"{request.url.scheme}://{request.url.netloc}"
    answer = httpx.post(f"{root}/api/v2/dags/{REPLAY_DAG_ID}/dagRuns", timeout=30, **_credentials(request),
                        json={"logical_date": None, "conf": {"keys": body.keys, "dry_run": body.dry_run},
                              "note": f"Replay of {len(body.keys)} record(s) from the Amazon ⇄ NetSuite page"})
    if answer.status_code >= 400:
        raise HTTPException(status_code=answer.status_code, detail=f"Airflow refused the trigger: {answer.text[:500]}")
    run = answer.json()
    return {"dag_id": REPLAY_DAG_ID, "dag_run_id": run["dag_run_id"], "state": run.get("state"),
            "url": f"/dags/{REPLAY_DAG_ID}/runs/{run['dag_run_id']}", "keys": body.keys}


@app.get("/api/settlements", dependencies=[can_read])
def settlements(limit: int = 200) -> dict[str, Any]:
    """Each settlement the settlements flow handled: period, marketplace, total, journal entries, suspense
    lines and the last reconciliation of its clearing account."""
    ledger = _ledger()
    clearing: dict[str, dict[str, Any]] = {}
    for run in reversed(ledger.reconciliation_runs(limit=1000)):  # oldest first: the latest result wins
        if run["check_name"] == "clearing":
            for result in run.get("detail") or []:
                clearing[str(result["settlement_id"])] = {**result, "checked_at": run["finished_at"], "run_id": run["run_id"]}
    out = []
    for r in ledger.records(dag_id=SETTLEMENTS_DAG_ID, record_type="journalEntry", limit=max(1, min(limit, 2000))):
        if r.source_key.startswith("report-"):
            continue
        replay = r.replay or {}
        check = clearing.get(r.source_key)
        out.append({
            "settlement_id": r.source_key, "status": r.status, "reason": r.reason, "error": r.last_error,
            "marketplace_ids": replay.get("marketplace_ids"), "journal_entries": replay.get("external_ids") or
            ([r.external_id] if r.external_id else []), "internal_ids": replay.get("internal_ids"),
            "line_sums": replay.get("line_sums"), "created_time": replay.get("created_time"),
            "suspense": r.reason == "unmapped_gl", "updated_at": r.updated_at.isoformat() if r.updated_at else None,
            "reconciliation": check and {k: check.get(k) for k in (
                "balanced", "net", "base_net", "currency", "journal_amount", "billed_amount", "orders", "unbilled",
                "checked_at", "run_id")},
        })
    return {"settlements": out}


@app.get("/api/reconciliation", dependencies=[can_read])
def reconciliation() -> dict[str, Any]:
    """The last result of each check per region, with its findings."""
    ledger = _ledger()
    latest = ledger.reconciliation_runs(latest=True)
    for run in latest:
        run["findings_list"] = ledger.reconciliation_findings(run_id=run["run_id"], scope=run["scope"], check=run["check_name"])
    return {"checks": latest}


@app.get("/", response_class=HTMLResponse, dependencies=[can_read])
def page() -> str:
    from importlib.resources import files

    return files("amazon_netsuite.ui").joinpath("page.html").read_text(encoding="utf-8")
