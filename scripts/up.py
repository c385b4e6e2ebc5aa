"""``make up``: ``airflow standalone`` against the sandbox, pools created, UI on http://localhost:8080.

The sandbox keeps its state in .sandbox-state/ between runs (delete it for fresh seed data); the
connections it prints with ``python -m sandbox env`` are passed to Airflow. Stop with Ctrl-C.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import airflow_setup  # noqa: E402


def main() -> int:
    home = airflow_setup.prepare_environment()
    pools = airflow_setup.migrate_and_create_pools(home)
    print(f"AIRFLOW_HOME={home}; pools: {', '.join(pools)}")
    env = dict(os.environ)
    # standalone starts its components as `airflow ...` subprocesses: the virtualenv's must come first
    env["PATH"] = os.pathsep.join([str(airflow_setup.BIN), env.get("PATH", "")])
    emulators = airflow_setup.available_emulators()
    state_dir = airflow_setup.PROJECT_ROOT / ".sandbox-state"
    ports = {"amazon": 8701, "netsuite": 8702}

    def standalone(conn_env: dict[str, str]) -> int:
        print("Starting airflow standalone: UI on http://localhost:8080 (login printed below). Ctrl-C stops.")
        try:
            return subprocess.call([airflow_setup.AIRFLOW, "standalone"], env={**env, **conn_env})
        except KeyboardInterrupt:
            return 0

    if not emulators:
        print("No sandbox emulator exists in this checkout yet; Airflow runs without one.")
        return standalone({})
    with airflow_setup.sandbox(state_dir, ports, home / "sandbox.log") as conn_env:
        print("Sandbox: " + ", ".join(f"{n} on http://127.0.0.1:{ports[n]}" for n in emulators))
        return standalone(conn_env)


if __name__ == "__main__":
    raise SystemExit(main())
