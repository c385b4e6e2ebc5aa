"""`make up`: standalone and the sandbox start, the paused DAGs are listed with how to unpause them, and
SIGTERM (what Ctrl-C or a service manager sends) stops everything it started: no scheduler, api-server,
triggerer, dag-processor or sandbox left running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_with(home: Path) -> list[str]:
    """Processes whose environment says AIRFLOW_HOME=home: everything `make up` started."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
                found.append(f"{proc.name}: {command}")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return found


@pytest.mark.slow
def test_given_make_up_running_when_sigterm_then_everything_it_started_stops(tmp_path, reference_dir):
    home = tmp_path / "airflow_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__API__PORT=str(_free_port()), AMAZON_NETSUITE_REFERENCE_DIR=str(reference_dir),
               SANDBOX_AMAZON_PORT=str(_free_port()), SANDBOX_NETSUITE_PORT=str(_free_port()),
               AIRFLOW__CORE__FERNET_KEY=os.environ["AIRFLOW__CORE__FERNET_KEY"], PYTHONUNBUFFERED="1")
    log = tmp_path / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen([sys.executable, "scripts/up.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while "DAGs paused" not in log.read_text() and "DAGs running on their schedule" not in log.read_text():
            assert up.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, "make up did not report its DAGs within 240 s:\n" + log.read_text()[-4000:]
            time.sleep(2)
        text = log.read_text()
        paused_line = next(line for line in text.splitlines() if line.startswith("DAGs paused (new DAGs start paused): "))
        assert "amazon_orders_to_netsuite" in paused_line.split(": ", 1)[1].split(", ")
        assert "./bin/airflow dags unpause <dag_id>" in text
        assert "sync_replay_failed_records" in text.split("DAGs running on their schedule:")[1].splitlines()[0]
        assert len(_processes_with(home)) >= 4  # up.py, the sandbox, standalone and its components

        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=90) == 0, log.read_text()[-4000:]
        deadline = time.monotonic() + 30
        while _processes_with(home) and time.monotonic() < deadline:
            time.sleep(1)
        assert _processes_with(home) == [], log.read_text()[-2000:]
        assert "Airflow stopped." in log.read_text() and "Sandbox stopped." in log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
        for line in _processes_with(home):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
