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


def report_paused(env: dict[str, str], stop: threading.Event, timeout: float = 300) -> None:
    """Wait until the DAGs are registered, then say which are paused and how to unpause them."""
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        done = subprocess.run([airflow_setup.AIRFLOW, "dags", "list", "-o", "json"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        dags = []
        for line in reversed(done.stdout.splitlines() if done.returncode == 0 else []):
            if line.startswith("["):  # the JSON list; log lines may come before it on stdout
                try:
                    dags = json.loads(line)
                except json.JSONDecodeError:
                    dags = []
                break
        if dags:
            paused = sorted(d["dag_id"] for d in dags if str(d.get("is_paused")).lower() == "true")
            active = sorted(d["dag_id"] for d in dags if str(d.get("is_paused")).lower() != "true")
            print(f"\nDAGs running on their schedule: {', '.join(active) or 'none'}", flush=True)
            if paused:
                print(f"DAGs paused (new DAGs start paused): {', '.join(paused)}", flush=True)
                print("Unpause one in the UI (toggle) or: ./bin/airflow dags unpause <dag_id>", flush=True)
            return
        stop.wait(5)


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
