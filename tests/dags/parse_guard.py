"""Parse DAG files the way the dag-processor does, with the outside world switched off.

Run as a script: ``python parse_guard.py FILE...``; prints one JSON line per file with its import
errors, the DAG ids it defines, and the heavy modules its parsing imported. Any network connect,
Variable, or Connection lookup at parse time raises, so it shows up as an import error.
"""

from __future__ import annotations

import json
import socket
import sys


class ParseTimeAccess(RuntimeError):
    pass


def _forbid(what):
    def guard(*args, **kwargs):
        raise ParseTimeAccess(f"{what} at DAG parse time")

    return guard


def main(paths: list[str]) -> int:
    socket.socket.connect = _forbid("network connection")  # type: ignore[method-assign]
    socket.create_connection = _forbid("network connection")  # type: ignore[assignment]

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook, Variable

    Variable.get = staticmethod(_forbid("Variable.get"))  # type: ignore[method-assign]
    BaseHook.get_connection = classmethod(_forbid("connection lookup"))  # type: ignore[method-assign]

    from policy import HEAVY_MODULES

    for path in paths:
        before = set(sys.modules)
        bag = DagBag(dag_folder=path)
        heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(HEAVY_MODULES))
        print(json.dumps({
            "path": path,
            "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
            "dag_ids": sorted(bag.dag_ids),
            "heavy_modules": heavy,
        }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
