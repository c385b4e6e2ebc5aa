"""The ``airflow`` command line for the DAG tests, without paying Python's and Airflow's start-up per call.

One warm process per test worker imports Airflow's CLI and the libraries the DAGs use, then forks a
child per command: the child takes the caller's environment as its own, sends its stdout/stderr to
files and runs ``airflow.__main__.main`` with the command's arguments, what the console script
``airflow`` runs. The warm process also builds the in-process Execution API app that ``dags test``
runs its tasks against, with its versioned routes (Airflow caches the app per process and builds it
the same way on a run's first task; each run starts its own event-loop thread for it).

Each command is still a process of its own: nothing a run caches outlives it (tokens, SOAP clients,
ledger engines, the DAG files' module-level settings); only imports are shared. The project's own
modules (plugins/, dags/) are never imported before the fork, so the settings they read from the
environment at import come from the command's environment.

``run(args, env)`` answers a ``subprocess.CompletedProcess`` like ``subprocess.run(capture_output=True,
text=True)`` did; a command over ``timeout`` is killed and raises ``subprocess.TimeoutExpired``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: imported once in the warm process; nothing of the project (its modules read the environment)
PRELOAD = (
    "airflow.cli.cli_parser",
    "airflow.cli.commands.dag_command",
    "airflow.cli.commands.db_command",
    "airflow.cli.commands.pool_command",
    "airflow.models.dagrun",
    "airflow.serialization.serialized_objects",
    "airflow.dag_processing.dagbag",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.api_fastapi.execution_api.app",
    "airflow.providers.common.sql.hooks.sql",
    "httpx",
    "requests",
    "sqlalchemy",
    "zeep",
    "sp_api.base",
    "boto3",
)


# -- the warm process ------------------------------------------------------------------------------
def _child(request: dict) -> None:
    """In the forked child: become ``airflow ARGS`` in the request's environment; never returns."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = ["airflow", *request["args"]]
        from airflow import settings

        # the request's metadata DB (the import configured the warm process's; it never connected)
        settings.dispose_orm()
        settings.configure_vars()
        settings.configure_orm()
        from airflow.__main__ import main

        try:
            main()
            code = 0
        except SystemExit as exit_:  # as the interpreter reports it
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
    except BaseException:  # noqa: B036 - a process's last word: the traceback, exit status 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:  # the interpreter's shutdown: Airflow closes its DB connections, logging flushes
            atexit._run_exitfuncs()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: S110 - the fd may be gone; the exit status still tells
                    pass
            os._exit(code)


def serve() -> None:
    """Read one JSON request a line from stdin; answer ``{"pid": ...}`` then ``{"returncode": ...}``."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:
                pass
        # the in-process Execution API app `dags test` runs its tasks against, as the first task of
        # every run would build it: the app (Airflow caches it per process), then the versioned routes
        # Cadwyn generates on the app's first request (seconds of CPU). Its event-loop thread is not
        # started here: each run starts its own.
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        app = in_process_api_server().app
        if not getattr(app, "_cadwyn_initialized", True):
            app._cadwyn_initialize()
    project = sorted(m for m in sys.modules if m.split(".")[0] in ("amazon_netsuite", "sandbox"))
    assert not project, f"the warm process imported project modules: {project[:5]}"
    assert threading.active_count() == 1, "a thread in the warm process: forking it is unsafe"
    answer = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stray output of the warm process stays off the protocol
    answer.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            answer.close()
            _child(request)
        answer.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        answer.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")


# -- the test side ---------------------------------------------------------------------------------
class AirflowCli:
    """A warm process started once, on first use; commands run one at a time (a lock)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="airflow-cli-"))
        self._count = 0
        self._buffer = b""

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])
        log = self._dir / "warm.log"
        with log.open("w") as stderr:
            process = subprocess.Popen([sys.executable, "-c", "from tests.dags.airflow_cli import serve; serve()"],
                                       cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=stderr)
        ready = self._read(process, 300)
        assert ready is not None and "ready" in ready, f"the warm airflow process did not start: {ready}\n{_text(log)[-3000:]}"
        return process

    def _read(self, process: subprocess.Popen, timeout: float) -> dict | None:
        """The next answer line of the warm process, or None after ``timeout`` seconds."""
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            readable, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                return None
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                return {"gone": process.wait()}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, args: list[str], env: dict[str, str], *, timeout: float = 600) -> subprocess.CompletedProcess:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._buffer = b""
                self._process = self._start()
            self._count += 1
            out, err = self._dir / f"{self._count}.out", self._dir / f"{self._count}.err"
            request = {"args": [str(a) for a in args], "env": {k: str(v) for k, v in env.items()},
                       "stdout": str(out), "stderr": str(err)}
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
            started = self._read(self._process, 60)
            assert started is not None and "pid" in started, f"the warm airflow process did not fork: {started}"
            done = self._read(self._process, timeout)
            if done is None:
                os.kill(started["pid"], signal.SIGKILL)
                self._read(self._process, 60)
                raise subprocess.TimeoutExpired(["airflow", *args], timeout, output=_text(out), stderr=_text(err))
            assert "returncode" in done, f"the warm airflow process ended: {done}"
            completed = subprocess.CompletedProcess(["airflow", *args], done["returncode"], _text(out), _text(err))
            out.unlink(missing_ok=True)
            err.unlink(missing_ok=True)
            return completed

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


_CLI = AirflowCli()
atexit.register(_CLI.close)


def airflow(args: list[str], env: dict[str, str], *, timeout: float = 600) -> subprocess.CompletedProcess:
    """``subprocess.run(["airflow", *args], env=env, capture_output=True, text=True, timeout=timeout)``."""
    return _CLI.run(args, env, timeout=timeout)


def base_env() -> dict[str, str]:
    """The test process's environment for an ``airflow`` command of the DAG tests."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])
    env["AMAZON_NETSUITE_TASK_RETRIES"] = "0"
    # the deferred waits on Amazon's reports and feeds check often: the sandbox finishes them at once
    env["AMAZON_NETSUITE_FEED_POLL_SECONDS"] = "0.05"
    env["AMAZON_NETSUITE_REPORT_POLL_SECONDS"] = "0.05"
    return env


def copy_airflow_db(template: Path, path: Path) -> None:
    """A consistent copy of a SQLite metadata DB (sqlite3's backup: whatever is still in its journal too)."""
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)


def airflow_db(env: dict[str, str]) -> Path:
    """The SQLite file of the metadata DB ``env`` names."""
    return Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))


def dags_test(env: dict[str, str], dag_id: str, conf: dict | None = None) -> subprocess.CompletedProcess:
    """``airflow dags test DAG_ID [--conf JSON]``; a successful run must log no error line."""
    args = ["dags", "test", dag_id]
    if conf:
        args += ["--conf", json.dumps(conf)]
    done = airflow(args, env)
    if done.returncode == 0:  # a successful run logs no error line (e.g. no "XCom not found" probes)
        errors = [line for line in (done.stdout + done.stderr).splitlines() if "[error" in line]
        assert errors == [], errors[:5]
    return done
