"""The settlements flow on the REST backend (``extra.api = "rest"``): the posting scenarios of
tests/integration/flows/test_settlements_flow.py collected again with a REST connection (journal entries
by upsert on ``eid:``, accounting periods through SuiteQL, a closed period refused per record)."""

from __future__ import annotations

import pytest

from tests.integration.flows.test_settlements_flow import (  # noqa: F401 - collected here on the REST backend
    World,
    servers,
    test_given_closed_period_then_fails_clearly_and_posting_date_posts_it,
    test_given_posted_settlements_when_listed_again_then_nothing_written,
    test_given_us_de_and_negative_settlements_when_posted_then_balanced_deposit_or_carried_balance,
)


@pytest.fixture
def world(servers, tmp_path, monkeypatch):  # noqa: F811 - the REST twin of the module's world
    from amazon_netsuite.netsuite import rest

    for name, value in servers.env(netsuite_api="rest").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_IMPORT_DIR", str(tmp_path / "imports"))
    (tmp_path / "imports").mkdir()
    rest._TOKENS.clear()
    return World(servers, tmp_path)


def test_the_world_is_on_rest(world):
    amazon, netsuite = world.hooks()[:2]
    assert netsuite.api == "rest"
