"""The orders world: both emulators (one set per test module), their admin APIs, the hooks per SP-API
region, and a ledger. Shared by the orders flow tests and the fault matrix."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import httpx
import pytest

from amazon_netsuite.flows.orders import extract_orders_by_target, sync_orders
from amazon_netsuite.ledger import Ledger
from amazon_netsuite.mappings import load_mappings
from sandbox.runner import start_servers

SYNCED = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
MARKETPLACES = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
NA, EU = {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"}, {"A1F83G8C2ARO7P", "A1PA6795UKMFR9"}
FAST_RETRY = {"max_attempts": 10, "backoff_initial": 0.01, "backoff_max": 0.2}


class World:
    """Both emulators, their admin APIs, and the hooks pointed at them."""

    def __init__(self, servers, ledger_url: str):
        self.amazon_admin = httpx.Client(base_url=servers.urls["amazon"], timeout=60)
        self.netsuite_admin = httpx.Client(base_url=servers.urls["netsuite"], timeout=60)
        self.env = servers.env()
        self.ledger = Ledger(ledger_url)
        self.mappings = load_mappings()

    def reset(self, *, orders: int, unmapped_sku: bool = False) -> None:
        for admin in (self.amazon_admin, self.netsuite_admin):
            admin.post("/_sandbox/reset").raise_for_status()
            admin.post("/_sandbox/seed", json={"seed": 0, "orders": orders, "unmapped_sku": unmapped_sku}).raise_for_status()

    def hooks(self, **amazon_kwargs):
        """One SP-API hook per mapped region (na: US, CA; eu: UK, DE), and the NetSuite hook."""
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.netsuite.hook import NetSuiteHook

        amazon = hooks_for_targets(self.mappings.sp_api_targets(), **{"backoff_base": 0.01, "backoff_max": 0.2, **amazon_kwargs})
        return amazon, NetSuiteHook(**FAST_RETRY)

    def run(self, run_id: str, *, amazon_kwargs: dict | None = None, **kwargs) -> Counter:
        counts, failures = self.run_regions(run_id, amazon_kwargs=amazon_kwargs, **kwargs)
        assert failures == [], [f.describe() for f in failures]
        return counts

    def run_regions(self, run_id: str, *, amazon_kwargs: dict | None = None, **kwargs):
        """What the DAG's sync task does: every region's orders, then NetSuite (failed regions returned)."""
        amazon, netsuite = self.hooks(**(amazon_kwargs or {}))
        now = dt.datetime.now(dt.UTC)
        window = (now - dt.timedelta(days=20), now - dt.timedelta(minutes=2))
        orders, failures = extract_orders_by_target(amazon, window=window)
        result = sync_orders(orders, mappings=self.mappings, netsuite=netsuite, ledger=self.ledger,
                             run_id=run_id, **kwargs)
        self.last_result = result
        return Counter(result.counts), failures

    def amazon_orders(self) -> list[dict]:
        return self.amazon_admin.get("/_sandbox/orders").json()

    def records(self, record_type: str) -> list[dict]:
        return self.netsuite_admin.get(f"/_sandbox/records/{record_type}").json()

    def calls(self, admin: httpx.Client, operation: str) -> int:
        return admin.get("/_sandbox/calls").json()["operations"].get(operation, {}).get("calls", 0)


@pytest.fixture(scope="module")
def servers(reference_dir, tmp_path_factory):
    with start_servers(state_dir=tmp_path_factory.mktemp("flow-sandbox"), rate_scale=500) as running:
        yield running


def backend_world(servers, tmp_path, monkeypatch, api: str = "soap") -> World:
    """The flows' world with ``netsuite_default`` on one NetSuite backend (``soap`` or ``rest``): its connections in
    the environment, REST bearer tokens cached for an earlier sandbox dropped."""
    from amazon_netsuite.netsuite import rest

    w = World(servers, f"sqlite:///{tmp_path / 'ledger.db'}")
    w.env = servers.env(netsuite_api=api)
    for name, value in w.env.items():
        monkeypatch.setenv(name, value)
    rest._TOKENS.clear()
    return w


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    return backend_world(servers, tmp_path, monkeypatch)


def _sales_orders_by_external_id(world: World) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for record in world.records("salesOrder"):
        found.setdefault(record.get("externalId"), []).append(record)
    return found
