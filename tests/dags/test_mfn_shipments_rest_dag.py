"""The netsuite_shipments_to_amazon DAG end to end on the REST backend (``extra.api = "rest"``): the
happy-path scenario of test_mfn_shipments_dag.py run again with ``netsuite_default`` on REST, so the
fulfillments are found through SuiteQL (``shipstatus`` + ``PreviousTransactionLineLink``, see
docs/netsuite-quirks.md, REST backend)."""

from __future__ import annotations

import pytest

from tests.dags import test_mfn_shipments_dag as soap_dag
from tests.dags.test_mfn_shipments_dag import World


class _RestServers:
    """The session's servers, whose connection environment names the REST backend."""

    def __init__(self, servers) -> None:  # noqa: F811
        self._servers = servers

    def env(self, **_: str) -> dict[str, str]:
        return self._servers.env(netsuite_api="rest")

    def __getattr__(self, name: str):
        return getattr(self._servers, name)


@pytest.fixture
def world(servers, airflow_env, tmp_path, monkeypatch):  # noqa: F811
    from amazon_netsuite.netsuite import rest

    rest._TOKENS.clear()
    w = World(_RestServers(servers), airflow_env, tmp_path, monkeypatch)
    assert '"api": "rest"' in w.env["AIRFLOW_CONN_NETSUITE_DEFAULT"].replace("'", '"')
    return w


class TestConfirmationsOnRest:
    test_given_warehouse_fulfillments_when_dag_runs_then_amazon_orders_ship_with_their_tracking_once = (
        soap_dag.TestConfirmations.test_given_warehouse_fulfillments_when_dag_runs_then_amazon_orders_ship_with_their_tracking_once)
