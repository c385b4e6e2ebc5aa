"""The docker-compose shape (CeleryExecutor over PostgreSQL and Redis) as plain processes, without Docker.

Used by tests/deployment/test_celery_deployment.py and bench/celery_workers.py. Each component runs in
its own process group (``start_new_session``) so stopping one stops everything it forked (Celery pool
processes, task supervisors, the tasks themselves), and killing a worker's group is what a crashed
machine looks like to the scheduler.

PostgreSQL: a throw-away database ``an_deploy_<random>`` on ``AMAZON_NETSUITE_TEST_POSTGRES_ADMIN_URL``
(default ``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``, trust auth), dropped at the end.
Redis: ``AMAZON_NETSUITE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379``) with a database number
of the caller's (13, 14, 15: one per test module, so parallel test workers never share a broker),
flushed before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
ADMIN_URL = os.environ.get("AMAZON_NETSUITE_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("AMAZON_NETSUITE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
FERNET_KEY = "x3Jc7ZyJcjmtBNs1HNdbnrLLN1Qsz1lT8ABgqbj3fzs="
PASSWORD = "deploy-test"  # noqa: S105 - a throw-away local user of the simple auth manager


class Unavailable(RuntimeError):
    """PostgreSQL or Redis does not answer: the caller skips (or fails in CI)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """``postgresql+psycopg2://.../an_deploy_xxx``, created empty and dropped afterwards."""
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        raise Unavailable(f"PostgreSQL not reachable at {ADMIN_URL}: {type(exc).__name__}: {str(exc)[:200]}") from exc
    name = f"an_deploy_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def dedicated_redis(db: int) -> Iterator[str]:
    import redis

    url = f"{REDIS_URL.rstrip('/')}/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        raise Unavailable(f"Redis not reachable at {url}: {type(exc).__name__}: {exc}") from exc
    client.flushdb()
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            client.flushdb()
        client.close()


@dataclass
class Cluster:
    home: Path
    env: dict[str, str]
    api_url: str
    sandbox: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)  # running (a killed one leaves)
    started: dict[str, subprocess.Popen] = field(default_factory=dict)  # everything ever started
    token: str = ""

    # -- processes ----------------------------------------------------------------------------------
    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.home / f"{name}.log").open("ab")
        process = subprocess.Popen(args, env={**self.env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=ROOT, start_new_session=True)
        log.close()
        self.processes[name] = self.started[name] = process
        return process

    def start_worker(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        return self.start(name, [AIRFLOW, "celery", "worker", "--concurrency", str(concurrency),
                                 "--celery-hostname", f"{name}@%h", "--pid", str(self.home / f"{name}.pid")],
                          {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})

    def kill(self, name: str) -> None:
        """What a lost machine looks like: SIGKILL the worker and everything under it, no clean-up.

        Airflow 3.3's task supervisor puts each task process in a process group of its own, so the
        worker's group alone would leave the tasks running as orphans: they are killed too."""
        process = self.processes.pop(name)
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, grace: float = 15) -> None:
        """SIGTERM every component's process group at once, SIGKILL what is left after ``grace`` seconds
        (and the task processes, which Airflow puts in process groups of their own)."""
        processes = list(self.processes.values())
        self.processes.clear()
        below = set().union(*(descendants(p.pid) for p in processes)) if processes else set()
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def logs(self, tail: int = 1500) -> str:
        return "\n".join(f"--- {p.stem}\n{self.log(p.stem, tail)}" for p in sorted(self.home.glob("*.log")))

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"component(s) exited: {dead}\n{self.logs()}")

    # -- REST API (Airflow 3: a JWT from the auth manager's /auth/token, then Bearer) ----------------
    def login(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                answer = httpx.post(f"{self.api_url}/auth/token", json={"username": "admin", "password": PASSWORD},
                                    timeout=10)
                if answer.status_code == 201:
                    self.token = answer.json()["access_token"]
                    return
                raise AssertionError(f"login refused: {answer.status_code} {answer.text}")
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"api-server not up in {timeout}s\n{self.log('api-server')}") from None
                time.sleep(0.5)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.api_url}/api/v2{path}", headers={"Authorization": f"Bearer {self.token}"},
                             timeout=30, **kwargs)

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for dag_id in dag_ids:
            while self.api("GET", f"/dags/{dag_id}").status_code != 200:
                self.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{dag_id} not parsed in {timeout}s\n{self.log('dag-processor')}")
                time.sleep(1)
            answer = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
            assert answer.status_code == 200, answer.text

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        answer = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        assert answer.status_code == 200, answer.text
        return answer.json()["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        assert answer.status_code == 200, answer.text
        return answer.json()["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 150) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in ("success", "failed"):
                return run
            self.check_alive()
            if time.monotonic() > deadline:
                states = [(t["task_id"], t["map_index"], t["state"], t["try_number"])
                          for t in self.task_instances(dag_id, run_id)]
                raise TimeoutError(f"{dag_id} {run_id} still {run['state']} after {timeout}s: {states}\n{self.logs()}")
            time.sleep(1)

    def worker_running(self, dag_id: str, run_id: str, task_id: str) -> tuple[str, dict[str, Any]] | None:
        """The worker (by process group) running an instance of ``task_id`` now, if any."""
        for ti in self.task_instances(dag_id, run_id):
            if ti["task_id"] != task_id or ti["state"] != "running" or not ti.get("pid"):
                continue
            for name, process in self.processes.items():
                if name.startswith("worker") and ti["pid"] in descendants(process.pid):
                    return name, ti
        return None


@contextlib.contextmanager
def celery_cluster(tmp_path: Path, *, redis_db: int, workers: int = 2, worker_concurrency: int = 2,
                   rate_scale: float = 100, extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """Metadata DB migrated on PostgreSQL, pools created, sandbox, api-server, scheduler, dag-processor,
    triggerer and ``workers`` Celery workers running; everything stopped and dropped on exit."""
    from amazon_netsuite.dags_common import POOLS
    from sandbox.runner import connection_env

    with throwaway_database() as db_url, dedicated_redis(redis_db) as redis_url:
        home = tmp_path / "airflow-home"
        home.mkdir()
        (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
        api_port, ports = free_port(), {"amazon": free_port(), "netsuite": free_port()}
        api_url = f"http://127.0.0.1:{api_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AMAZON_NETSUITE_TEST"))}
        env.update({
            "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__FERNET_KEY": FERNET_KEY,
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CELERY__BROKER_URL": redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db_url.replace("+psycopg2", ""),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # runs only when triggered (the test triggers through the REST API): no scheduled run joins in
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # a lost worker is noticed in seconds instead of five minutes
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "12",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AMAZON_NETSUITE_TASK_RETRIES": "2",
            "AMAZON_NETSUITE_RETRY_DELAY_SECONDS": "1",
            "AMAZON_NETSUITE_ARCHIVE_DIR": str(tmp_path / "archive"),
            "AMAZON_NETSUITE_STAGING_URI": f"file://{tmp_path / 'staging'}",
            "AIRFLOW_CONN_SYNC_LEDGER_DEFAULT": json.dumps({"conn_type": "postgres", "extra": {"sqlalchemy_url": db_url}}),
        })
        env.update(connection_env(host="127.0.0.1", ports=ports))
        env.update(extra_env or {})
        cluster = Cluster(home=home, env=env, api_url=api_url,
                          sandbox={n: f"http://127.0.0.1:{p}" for n, p in ports.items()})
        try:
            migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300,
                                     check=False)
            assert migrate.returncode == 0, (migrate.stdout + migrate.stderr)[-3000:]
            (home / "pools.json").write_text(json.dumps(
                {name: {"slots": slots, "description": desc, "include_deferred": False}
                 for name, (slots, desc) in POOLS.items()}))
            pools = subprocess.run([AIRFLOW, "pools", "import", str(home / "pools.json")], env=env,
                                   capture_output=True, text=True, timeout=120, check=False)
            assert pools.returncode == 0, (pools.stdout + pools.stderr)[-3000:]
            cluster.start("sandbox", [sys.executable, "-m", "sandbox", "serve", "--amazon-port", str(ports["amazon"]),
                                      "--netsuite-port", str(ports["netsuite"]), "--state-dir", str(tmp_path / "sandbox"),
                                      "--rate-scale", str(rate_scale)])
            cluster.start("api-server", [AIRFLOW, "api-server", "--port", str(api_port), "--host", "127.0.0.1"])
            cluster.start("scheduler", [AIRFLOW, "scheduler"])
            cluster.start("dag-processor", [AIRFLOW, "dag-processor"])
            cluster.start("triggerer", [AIRFLOW, "triggerer"])
            for number in range(1, workers + 1):
                cluster.start_worker(f"worker{number}")
            deadline = time.monotonic() + 60
            while "ready" not in cluster.log("sandbox"):
                cluster.check_alive()
                assert time.monotonic() < deadline, cluster.log("sandbox")
                time.sleep(0.2)
            cluster.login()
            yield cluster
        finally:
            cluster.stop()
