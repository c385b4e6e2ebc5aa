"""The conventions every DAG of the product follows (issue 2, docs/architecture.md sections 2-3).

``violations(dag, source)`` returns what a DAG breaks, as sentences an engineer can act on. The
policy tests run it over every file in dags/ and over the samples, so it is proven to catch what it
claims to catch.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from airflow.sdk import CronDataIntervalTimetable, DeltaDataIntervalTimetable

from amazon_netsuite.dags_common import AMAZON_POOL, CATCHUP_DAG_IDS, MANUAL_DAG_IDS, NETSUITE_POOL, POOLS

# Imported inside tasks, never when a DAG file is parsed (they cost seconds of parse time).
HEAVY_MODULES = ("pandas", "sp_api", "netsuitesdk", "zeep", "boto3", "moto")
AMAZON_MARKERS = ("SellingPartnerHook", "amazon_netsuite.amazon")
NETSUITE_MARKERS = ("NetSuiteHook", "amazon_netsuite.netsuite")


def _dag_call_keywords(source: str) -> set[str]:
    """Keywords given to @dag(...) / DAG(...) calls in a DAG file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ("dag", "DAG"):
                found.update(k.arg for k in node.keywords if k.arg)
    return found


def _callable_source(task) -> str:
    func = getattr(task, "python_callable", None)
    if func is None:
        return ""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""


def violations(dag, source: str) -> list[str]:
    problems: list[str] = []
    keywords = _dag_call_keywords(source)
    if not dag.tags:
        problems.append("no tags: tag the DAG (e.g. amazon, netsuite, the record type)")
    if not (dag.doc_md or "").strip():
        problems.append("no doc_md: set doc_md=__doc__ and write the module docstring for on-call")
    if "max_active_runs" not in keywords:
        problems.append("max_active_runs is not set on the DAG")
    if not dag.on_failure_callback:
        problems.append("no on_failure_callback: use SyncAlertNotifier() so a failed run alerts once")
    if dag.dag_id in MANUAL_DAG_IDS:
        if dag.timetable.__class__.__name__ != "NullTimetable":
            problems.append("manual DAG must have schedule=None")
        if dag.is_paused_upon_creation is not False:
            problems.append("manual DAG must set is_paused_upon_creation=False: a trigger of a paused DAG sits "
                            "queued forever")
    else:
        timetable = dag.timetable
        if type(timetable).__name__ == "AssetOrTimeSchedule":  # timetable OR assets: the timetable part counts
            timetable = timetable.timetable
        if not isinstance(timetable, CronDataIntervalTimetable | DeltaDataIntervalTimetable):
            problems.append(
                f"timetable {type(timetable).__name__} has no data interval: use "
                "data_interval_schedule(...) (CronDataIntervalTimetable / DeltaDataIntervalTimetable)"
            )
        if dag.catchup and dag.dag_id not in CATCHUP_DAG_IDS:
            problems.append("catchup must be False: scheduled runs read from the flow's high-water mark (one run "
                            "covers any downtime); catch-up of small intervals turns one trigger into thousands of runs")
        if dag.dag_id in CATCHUP_DAG_IDS and not dag.catchup:
            problems.append("catchup must be True for this DAG (dags_common.CATCHUP_DAG_IDS): each run proves one day")
    for name, param in dag.params.items():
        schema = getattr(param, "schema", None) or {}
        kinds = schema.get("type")
        if not isinstance(kinds, list) or "null" not in kinds:
            problems.append(f"param {name}: type {kinds!r} excludes null, so the Trigger form marks it required; "
                            "use sync_params() (types like [\"null\", \"string\"])")
        if "e.g." not in (getattr(param, "description", None) or schema.get("description") or ""):
            problems.append(f"param {name}: its description needs an example (\"e.g. ...\") for the Trigger form")
    for task in dag.tasks:
        where = f"task {task.task_id}"
        if (task.owner or "airflow") == "airflow":
            problems.append(f"{where}: owner is Airflow's default; use default_args() from dags_common")
        if (task.retries or 0) < 2:
            problems.append(f"{where}: retries={task.retries}; at least 2")
        if not task.retry_exponential_backoff:
            problems.append(f"{where}: retry_exponential_backoff is off")
        if task.pool not in POOLS and task.pool != "default_pool":
            problems.append(f"{where}: pool {task.pool!r} is not one the entry points create ({', '.join(POOLS)})")
        code = _callable_source(task)
        calls_amazon = any(m in code for m in AMAZON_MARKERS)
        calls_netsuite = any(m in code for m in NETSUITE_MARKERS)
        if calls_amazon and not calls_netsuite and task.pool != AMAZON_POOL:
            problems.append(f"{where}: calls Amazon but runs in pool {task.pool!r}; use pool={AMAZON_POOL!r}")
        if calls_netsuite and not calls_amazon and task.pool != NETSUITE_POOL:
            problems.append(f"{where}: calls NetSuite but runs in pool {task.pool!r}; use pool={NETSUITE_POOL!r}")
        if calls_amazon and calls_netsuite and task.pool not in (AMAZON_POOL, NETSUITE_POOL):
            problems.append(f"{where}: calls Amazon and NetSuite outside both API pools; split the task")
    return problems


def dag_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
