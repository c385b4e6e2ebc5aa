"""Every command the README shows runs as written, from the project root, the way a person pastes it.

The commands are read from the README itself (shell lines of ```bash blocks, and inline `./bin/...`
spans without placeholders), so the README cannot drift from what works. They run after what the
README says comes first: the virtualenv (this one), an Airflow home with its DB migrated and the DAGs
registered (what `make demo` / `make up` do), a sync ledger and the demo's ledger, and the sandbox on
its documented ports (8701/8702, as `make up` runs it). `make` lines are checked to be real targets;
they are run by CI (`make test`) and by their own tests, not here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PLACEHOLDER = re.compile(r"\bKEY\b|\.\.\.|<[a-z_]+>|\[[A-Z_]+\]")
LONG_RUNNING = ("./bin/sandbox serve",)  # started below and checked to answer instead


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    for span in re.findall(r"`(\./bin/[^`]+)`", text):
        if not PLACEHOLDER.search(span) and span.strip() != "./bin/" and span not in commands:
            commands.append(span)
    return commands


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def shell(tmp_path_factory, reference_dir):
    """What a user has after `make demo` / `make up`: an Airflow home, the DAGs registered, ledgers, and
    the sandbox answering on its documented ports."""
    for port in (8701, 8702):
        if not _port_free(port):
            pytest.fail(f"port {port} is in use: the README's sandbox commands need it (is `make up` running?)")
    home = tmp_path_factory.mktemp("readme-airflow-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__", "PYTHONPATH"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__FERNET_KEY=os.environ["AIRFLOW__CORE__FERNET_KEY"],
               AMAZON_NETSUITE_REFERENCE_DIR=str(reference_dir), PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    venv = ROOT / ".venv"
    if not (venv / "bin" / "python").exists():  # the wrappers need the project's virtualenv: this one
        pytest.skip(f"no virtualenv at {venv}: run `make test`, which creates it")

    def run(command: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S602
                              timeout=timeout, check=False, executable="/bin/bash")

    for setup in ("./bin/airflow db migrate", "./bin/airflow dags reserialize"):
        done = run(setup, timeout=600)
        assert done.returncode == 0, f"{setup}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    sys.path.insert(0, str(ROOT / "plugins"))
    from amazon_netsuite.ledger import Ledger

    for path in (home / "sync_ledger.db", home / "demo" / "sync_ledger.db"):
        ledger = Ledger(f"sqlite:///{path}")
        ledger.record_failed(dag_id="amazon_orders_to_netsuite", record_type="salesOrder",
                             source_key="113-5836120-0001234", run_id="readme", reason="unknown_sku",
                             error="seller SKU 'ACME-MUG-12OZ' has no row in include/mappings/sku_items.csv")
    sandbox = subprocess.Popen(["./bin/sandbox", "serve", "--state-dir", str(home / "sandbox-state")], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _port_free(8701) or _port_free(8702):
            assert sandbox.poll() is None, sandbox.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "the sandbox did not start within 120 s"
            time.sleep(0.5)
        yield run
    finally:
        os.killpg(sandbox.pid, 15)
        sandbox.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def test_given_the_readme_then_it_shows_the_setup_commands_first():
    commands = readme_commands()
    assert commands[:2] == ["make demo   # fresh machine, Python 3.11: set up, start the sandbox, run every DAG "
                            "once on SQLite, print a summary",
                            "make test   # ruff (with Airflow's AIR rules) + the whole pytest suite"]


@pytest.mark.parametrize("command", readme_commands())
def test_given_a_readme_command_when_pasted_at_the_project_root_then_it_works(shell, command):
    if command.startswith("make "):
        target = command.split()[1]
        assert re.search(rf"^{re.escape(target)}:", (ROOT / "Makefile").read_text(), re.M), f"no make target {target}"
        return
    if command.startswith(LONG_RUNNING):
        return  # the fixture runs it and checks it answers
    done = shell(command)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"`{command}` exited {done.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    if command.startswith("curl"):
        assert "Internal Server Error" not in output and "Not Found" not in output, output[-1000:]
        if "-d '" in command:
            json.loads(done.stdout.strip())
