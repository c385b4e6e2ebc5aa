"""Shared by ``make demo`` and ``make up``: Airflow home, Fernet key, metadata DB, pools, sandbox."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]

from amazon_netsuite.dags_common import POOLS  # noqa: E402

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")


def airflow_home() -> Path:
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / "airflow_home")))
    home.mkdir(parents=True, exist_ok=True)
    return home


def prepare_environment() -> Path:
    """AIRFLOW_HOME, folders, and a Fernet key kept in AIRFLOW_HOME (the ledger encrypts with it)."""
    home = airflow_home()
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(PROJECT_ROOT / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    paths = [str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)]
    existing = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + ([existing] if existing else []))
    if not os.environ.get("AIRFLOW__CORE__FERNET_KEY") and not os.environ.get("AIRFLOW__CORE__FERNET_KEY_CMD"):
        key_file = home / "fernet.key"
        if not key_file.exists():
            from cryptography.fernet import Fernet

            key_file.write_text(Fernet.generate_key().decode() + "\n")
            key_file.chmod(0o600)
        os.environ["AIRFLOW__CORE__FERNET_KEY_CMD"] = f"cat {key_file}"
    return home


def run_quiet(args: list[str], log_file: Path, what: str, env: dict | None = None, timeout: int = 600) -> None:
    with log_file.open("a") as log:
        done = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}); see {log_file}")


def migrate_and_create_pools(home: Path) -> list[str]:
    """Migrate the metadata DB (SQLite by default) and create the API pools every DAG needs."""
    log_file = home / "setup.log"
    run_quiet([AIRFLOW, "db", "migrate"], log_file, "airflow db migrate")
    pools_file = home / "pools.json"
    pools_file.write_text(
        json.dumps(
            {name: {"slots": slots, "description": desc, "include_deferred": False}
             for name, (slots, desc) in POOLS.items()},
            indent=2,
        )
    )
    run_quiet([AIRFLOW, "pools", "import", str(pools_file)], log_file, "airflow pools import")
    return [f"{name} ({slots} slots)" for name, (slots, _) in POOLS.items()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def available_emulators() -> list[str]:
    from sandbox.runner import available_emulators as found

    return found()


@contextlib.contextmanager
def sandbox(state_dir: Path, ports: dict[str, int], log_file: Path, *, seed: int = 0) -> Iterator[dict[str, str]]:
    """Run ``python -m sandbox serve`` in the background; yields the AIRFLOW_CONN_* variables."""
    from sandbox.runner import connection_env

    args = [
        sys.executable, "-m", "sandbox", "serve",
        "--amazon-port", str(ports["amazon"]), "--netsuite-port", str(ports["netsuite"]),
        "--state-dir", str(state_dir), "--seed", str(seed),
    ]
    log = log_file.open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 60
        while "ready" not in log_file.read_text():
            if process.poll() is not None:
                raise SystemExit(f"the sandbox exited with {process.returncode}; see {log_file}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the sandbox did not start within 60 s; see {log_file}")
            time.sleep(0.2)
        yield connection_env(host="127.0.0.1", ports=ports)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
