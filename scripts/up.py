"""``make up``: ``airflow standalone`` against the sandbox, pools created, UI on http://localhost:8080.

The sandbox keeps its state in .sandbox-state/ between runs (delete it for fresh seed data); the
connections it prints with ``python -m sandbox env`` are passed to Airflow. Once the DAGs are
registered it says which ones are paused and how to unpause them. Ctrl-C or SIGTERM stops everything
it started: standalone runs in its own process group (scheduler, dag-processor, triggerer, api-server
and their workers), which is terminated as a whole, then the sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import airflow_setup  # noqa: E402

STOP_GRACE_SECONDS = 20


def stop_group(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group of ``process``, then SIGKILL what is still there after ``grace``."""
    if process.poll() is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its children may outlive it
        except ProcessLookupError:
            pass
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def expected_dag_files(dags_folder: Path) -> set[str]:
    """The DAG files Airflow should register: every .py in the DAGs folder (one DAG per file)."""
    return {p.name for p in dags_folder.glob("*.py") if not p.name.startswith("_")}


def report_paused(env: dict[str, str], stop: threading.Event, timeout: float = 300) -> None:
    """Wait until every DAG file is registered (the dag-processor parses them one by one, so an early
    ``dags list`` shows only some), then say which DAGs are paused and how to unpause them. At the
    deadline it reports what is registered and names the files that are not (an import error)."""
    expected = expected_dag_files(Path(env.get("AIRFLOW__CORE__DAGS_FOLDER") or airflow_setup.PROJECT_ROOT / "dags"))
    deadline = time.monotonic() + timeout
    dags: list[dict] = []
    while not stop.is_set():
        done = subprocess.run([airflow_setup.AIRFLOW, "dags", "list", "-o", "json"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        for line in reversed(done.stdout.splitlines() if done.returncode == 0 else []):
            if line.startswith("["):  # the JSON list; log lines may come before it on stdout
                try:
                    dags = json.loads(line)
                except json.JSONDecodeError:
                    pass
                break
        missing = expected - {Path(str(d.get("fileloc", ""))).name for d in dags}
        if dags and (not missing or time.monotonic() >= deadline):
            break
        if time.monotonic() >= deadline:
            return
        stop.wait(5)
    else:
        return
    paused = sorted(d["dag_id"] for d in dags if str(d.get("is_paused")).lower() == "true")
    active = sorted(d["dag_id"] for d in dags if str(d.get("is_paused")).lower() != "true")
    print(f"\nDAGs running on their schedule: {', '.join(active) or 'none'}", flush=True)
    if paused:
        print(f"DAGs paused (new DAGs start paused): {', '.join(paused)}", flush=True)
        print("Unpause one in the UI (toggle) or: ./bin/airflow dags unpause <dag_id>", flush=True)
    if missing:
        print(f"Not registered after {timeout:.0f} s (see ./bin/airflow dags list-import-errors): "
              f"{', '.join(sorted(missing))}", flush=True)


def main() -> int:
    home = airflow_setup.prepare_environment()
    pools = airflow_setup.migrate_and_create_pools(home)
    print(f"AIRFLOW_HOME={home}; pools: {', '.join(pools)}")
    env = dict(os.environ)
    # standalone starts its components as `airflow ...` subprocesses: the virtualenv's must come first
    env["PATH"] = os.pathsep.join([str(airflow_setup.BIN), env.get("PATH", "")])
    emulators = airflow_setup.available_emulators()
    state_dir = airflow_setup.PROJECT_ROOT / ".sandbox-state"
    ports = {"amazon": int(os.environ.get("SANDBOX_AMAZON_PORT", "8701")),
             "netsuite": int(os.environ.get("SANDBOX_NETSUITE_PORT", "8702"))}

    def standalone(conn_env: dict[str, str]) -> int:
        run_env = {**env, **conn_env}
        print("Starting airflow standalone: UI on http://localhost:8080 (login in "
              f"{home / 'simple_auth_manager_passwords.json.generated'}). Ctrl-C stops everything.", flush=True)
        process = subprocess.Popen([airflow_setup.AIRFLOW, "standalone"], env=run_env, start_new_session=True)
        stop = threading.Event()

        def on_signal(signum, _frame):
            stop.set()
            print(f"\nStopping Airflow ({signal.Signals(signum).name})...", flush=True)
            stop_group(process)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        threading.Thread(target=report_paused, args=(run_env, stop), daemon=True).start()
        try:
            code = process.wait()
        finally:
            stop.set()
            stop_group(process)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("Airflow stopped.", flush=True)
        return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code

    if not emulators:
        print("No sandbox emulator exists in this checkout; Airflow runs without one.")
        return standalone({})
    with airflow_setup.sandbox(state_dir, ports, home / "sandbox.log") as conn_env:
        print("Sandbox: " + ", ".join(f"{n} on http://127.0.0.1:{ports[n]}" for n in emulators))
        code = standalone(conn_env)
    print("Sandbox stopped.", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
