"""The NetSuite backend of a DAG test: ``netsuite_default`` on SOAP or REST, and what the NetSuite
sandbox counted per operation (``GET /_sandbox/calls``) to tell which backend did the work.

A test module's main scenario takes ``netsuite_api`` (tests/dags/conftest.py, SOAP by default) and is
parametrized over :data:`BACKENDS`; its world builds the environment with :func:`connection_env`.
"""

from __future__ import annotations

import httpx
import pytest

#: the main scenario of each DAG module runs on both backends
BACKENDS = pytest.mark.parametrize("netsuite_api", ["soap", "rest"])
#: the operations the sandbox counts for SuiteTalk REST (record API, SuiteQL, OAuth 2.0 token, async jobs);
#: every other counted operation is a SOAP one (upsertList, getList, search, initializeList, ...)
REST_OPERATIONS = frozenset({"restAdd", "restUpsert", "restUpdate", "restTransform", "restCreateForm", "restGet",
                             "suiteql", "token", "asyncJob"})


def connection_env(servers, netsuite_api: str) -> dict[str, str]:
    """The sandboxes' ``AIRFLOW_CONN_*`` with ``netsuite_default`` on ``netsuite_api``; on REST, the bearer
    tokens this process cached for an earlier sandbox are dropped (a reset sandbox no longer knows them)."""
    if netsuite_api == "rest":
        from amazon_netsuite.netsuite import rest

        rest._TOKENS.clear()
    return servers.env(netsuite_api=netsuite_api)


def netsuite_calls(servers) -> dict[str, dict[str, int]]:  # noqa: F811
    return httpx.get(f"{servers.urls['netsuite']}/_sandbox/calls", timeout=30).json()["operations"]


def assert_only_through(servers, netsuite_api: str, *written: str) -> dict[str, dict[str, int]]:  # noqa: F811
    """NetSuite was called through ``netsuite_api`` only (since the sandbox's reset) and, on REST, each of
    the ``written`` REST operations was called; answers the counts."""
    calls = netsuite_calls(servers)
    if netsuite_api == "rest":
        assert set(calls) <= REST_OPERATIONS, f"SOAP calls on the REST backend: {sorted(set(calls) - REST_OPERATIONS)}"
        assert calls.get("token", {}).get("calls", 0) >= 1, calls
        missing = [op for op in written if not calls.get(op, {}).get("calls")]
        assert not missing, f"no {missing} call: {calls}"
    else:
        assert not set(calls) & REST_OPERATIONS, f"REST calls on the SOAP backend: {sorted(set(calls) & REST_OPERATIONS)}"
    return calls


#: the operations that write records, on either backend
WRITE_OPERATIONS = frozenset({"restAdd", "restUpsert", "restUpdate", "restTransform",
                              "add", "addList", "upsert", "upsertList", "update", "updateList"})


def writes(servers) -> int:  # noqa: F811
    """How many write calls NetSuite answered since the sandbox's reset (either backend)."""
    return sum(count.get("calls", 0) for op, count in netsuite_calls(servers).items() if op in WRITE_OPERATIONS)
