"""Ledger fixtures: every ledger test runs on SQLite and on PostgreSQL.

PostgreSQL is the CI machine's (127.0.0.1:5432, trust auth, database ``test``), overridable with
``AMAZON_NETSUITE_TEST_POSTGRES_URL``. Without it the PostgreSQL cases skip with the reason, unless
``AMAZON_NETSUITE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which turns its absence into a failure.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from amazon_netsuite.ledger import Ledger

POSTGRES_URL = os.environ.get(
    "AMAZON_NETSUITE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_schema_url():
    """A throw-away schema in the test database; its URL pins search_path to it."""
    engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}: {str(exc).strip()[:200]}"
        if os.environ.get("AMAZON_NETSUITE_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (AMAZON_NETSUITE_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    schema = f"an_test_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url = request.getfixturevalue("postgres_schema_url")
    # a clean slate per test inside the session schema
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS an_sync_records, an_pushed_state, an_watermarks, an_customer_index"))
    engine.dispose()
    return url


@pytest.fixture
def ledger(ledger_url) -> Ledger:
    return Ledger(ledger_url)
