"""DAG file parse time (docs/architecture.md section 8): each file in dags/ and the whole folder.

Each figure is the median of several parses in a fresh interpreter (so module caches don't hide
import cost), as the dag-processor pays it. Prints figures; never asserts on them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
SAMPLE = ROOT / "tests" / "dags" / "samples" / "good" / "sample_good_sync.py"

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import airflow.sdk  # what every DAG file imports anyway
t1 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
t2 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"sdk_import": t1 - t0, "parse": t3 - t2, "dags": len(bag.dag_ids), "errors": len(bag.import_errors)}))
"""


def measure(path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]))
    runs = []
    for _ in range(REPEAT):
        done = subprocess.run([sys.executable, "-c", PROBE, str(path)], env=env, capture_output=True, text=True,
                              check=True, timeout=300)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "parse_ms": statistics.median(r["parse"] for r in runs) * 1000,
        "sdk_import_ms": statistics.median(r["sdk_import"] for r in runs) * 1000,
        "dags": runs[0]["dags"],
        "errors": runs[0]["errors"],
    }


def main() -> int:
    files = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
    print(f"DAG parse time, median of {REPEAT} fresh interpreters (airflow.sdk import excluded, shown apart)")
    if not files:
        print("dags/ holds no DAG yet; measuring the conventions sample instead (what a DAG file pays for")
        print("amazon_netsuite.dags_common + notifiers at parse time).")
        files = [SAMPLE]
    for path in files:
        m = measure(path)
        print(f"  {path.name:<40} {m['parse_ms']:8.1f} ms  ({m['dags']} DAG, {m['errors']} errors; "
              f"airflow.sdk import {m['sdk_import_ms']:.0f} ms)")
    if files != [SAMPLE]:
        folder = measure(ROOT / "dags")
        print(f"  {'whole dags/ folder':<40} {folder['parse_ms']:8.1f} ms  ({folder['dags']} DAGs, "
              f"{folder['parse_ms'] / len(files):.1f} ms per file)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
