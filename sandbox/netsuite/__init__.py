"""NetSuite SuiteTalk SOAP emulator (docs/architecture.md section 6).

The real ``netsuitesdk``/zeep client talks to it over HTTP with the 2023_2 WSDL: ``get``, ``getList``,
``search``, ``searchMoreWithId``, ``add``, ``addList``, ``update``, ``updateList``, ``upsert``,
``upsertList``, ``getItemAvailability`` on Customer, SalesOrder, JournalEntry, InventoryItem,
OtherChargeSaleItem, SalesTaxItem, Account, Subsidiary, Location, Currency and AccountingPeriod, with
token-based authentication (HMAC-SHA256), NetSuite's limits, request cost and faults, and its business
rules (externalIds unique per record group, unique customer names, tax computed from tax codes,
subsidiary restrictions, journal entries balance and post only into open periods). State lives in
SQLite under the state directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.netsuite.service import Credentials

#: Sandbox-only TBA keys (they unlock nothing but this emulator).
ACCOUNT_ID = "1234567_SB1"
SANDBOX_CREDENTIALS = Credentials(
    account=ACCOUNT_ID,
    consumer_key="sandbox0consumer0key0000000000000000000000000000000000000000000000",
    consumer_secret="sandbox0consumer0secret00000000000000000000000000000000000000000",
    token_id="sandbox0token0id00000000000000000000000000000000000000000000000000",
    token_secret="sandbox0token0secret000000000000000000000000000000000000000000000",
)


def create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int | None = 0) -> Any:
    """The ASGI app. NetSuite governs concurrency, not rate; ``rate_scale`` divides the time a save
    takes (per request, record and line: ``POST /_sandbox/config``), so ``--rate-scale 100`` runs the
    same work a hundred times faster."""
    from sandbox.netsuite.app import create_app as _create_app

    return _create_app(state_dir=state_dir, rate_scale=rate_scale, seed=seed, credentials=SANDBOX_CREDENTIALS)


def airflow_connection(*, base_url: str, api: str = "soap") -> dict[str, Any]:
    """The ``netsuite_default`` connection (JSON form) pointing NetSuiteHook at this emulator: SOAP with
    TBA (default) or, with ``api="rest"``, REST + SuiteQL with OAuth 2.0 client credentials (the client ID
    and the private key of the sandbox's test certificate)."""
    from sandbox.netsuite.schema import VERSION, wsdl_path

    if api == "rest":
        from sandbox.netsuite.rest import CERTIFICATE_ID, CLIENT_ID, private_key_pem

        return {
            "conn_type": "generic",
            "description": "NetSuite SuiteTalk REST sandbox, OAuth 2.0 M2M (python -m sandbox serve)",
            "login": CLIENT_ID,
            "password": private_key_pem(),
            "extra": {
                "api": "rest",
                "account_id": ACCOUNT_ID,
                "certificate_id": CERTIFICATE_ID,
                "rest_url": base_url.rstrip("/"),
            },
        }
    if api != "soap":
        raise ValueError(f"api is 'soap' or 'rest', not {api!r}")

    return {
        "conn_type": "generic",
        "description": "NetSuite SuiteTalk SOAP sandbox (python -m sandbox serve)",
        "login": SANDBOX_CREDENTIALS.consumer_key,
        "password": SANDBOX_CREDENTIALS.consumer_secret,
        "extra": {
            "account_id": ACCOUNT_ID,
            "token_id": SANDBOX_CREDENTIALS.token_id,
            "token_secret": SANDBOX_CREDENTIALS.token_secret,
            "wsdl_version": VERSION,
            "wsdl_url": str(wsdl_path()),
            "datacenter_url": base_url.rstrip("/"),
        },
    }
