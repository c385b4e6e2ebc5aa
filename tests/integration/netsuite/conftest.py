"""The NetSuite emulator on a free loopback port (one per session, state reset for every test) and a
``netsuite_default`` connection pointing the real netsuitesdk client at it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from sandbox.runner import start_servers

FAST_RETRY = {"max_attempts": 8, "backoff_initial": 0.01, "backoff_max": 0.2}
#: the emulator's administrator settings for every test: NetSuite's defaults, but saves take no time
#: (only the tests about latency set it)
TEST_CONFIG = {
    "concurrency_limit": 5,
    "latency_ms": 0,
    "latency_per_record_ms": 0,
    "latency_per_line_ms": 0,
    "max_request_bytes": 100 * 1024 * 1024,
    "request_timeout_s": 900,
    "customer_auto_numbering": False,
    "tax_override": False,
    "tax_modes": {},
    "period_locks": {},
    "rest_async_processors": 1,
}


@pytest.fixture(scope="session")
def netsuite_server(reference_dir, tmp_path_factory) -> Iterator[str]:
    with start_servers(state_dir=tmp_path_factory.mktemp("sandbox"), only=("netsuite",)) as servers:
        yield servers.urls["netsuite"]


@pytest.fixture(scope="session")
def base_connection(netsuite_server) -> dict:
    from sandbox.netsuite import airflow_connection

    return airflow_connection(base_url=netsuite_server)


@pytest.fixture
def test_config() -> dict:
    """The administrator settings every test starts from (a copy: tests may change theirs)."""
    return json.loads(json.dumps(TEST_CONFIG))


@pytest.fixture
def admin(netsuite_server) -> Iterator[httpx.Client]:
    """The emulator's admin API, with a fresh seeded state and default limits for every test."""
    with httpx.Client(base_url=netsuite_server, timeout=30) as client:
        client.post("/_sandbox/reset").raise_for_status()
        client.post("/_sandbox/seed", json={"seed": 0}).raise_for_status()
        client.post("/_sandbox/config", json=TEST_CONFIG).raise_for_status()
        yield client


@pytest.fixture
def set_connection(monkeypatch, base_connection):
    def _set(**extra_overrides) -> dict:
        conn = json.loads(json.dumps(base_connection))
        for key, value in extra_overrides.items():
            if key in ("login", "password"):
                conn[key] = value
            else:
                conn["extra"][key] = value
        monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
        return conn

    return _set


@pytest.fixture
def hook(admin, set_connection):
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    set_connection()
    return NetSuiteHook(**FAST_RETRY)


@pytest.fixture
def sandbox_calls(admin):
    """``sandbox_calls("upsertList")`` -> {"calls", "throttled", "records"} counted by the emulator."""

    def _calls(operation: str) -> dict[str, int]:
        return admin.get("/_sandbox/calls").json()["operations"].get(
            operation, {"calls": 0, "throttled": 0, "records": 0}
        )

    return _calls
