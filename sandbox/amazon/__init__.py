"""SP-API emulator (FastAPI): LWA, Orders v2026-01-01, Reports 2021-06-30, Tokens 2021-03-01.

See ``sandbox/__init__.py`` for the emulator contract and docs/architecture.md section 6 for the admin API.
Each SP-API region is served under its own prefix of the one port (``{base}/na``, ``{base}/eu``,
``{base}/fe``), so the project needs one Airflow connection per region, as against Amazon.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.amazon.app import (
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    REFRESH_TOKENS,
    SELLER_ID,
    AmazonSandbox,
    build_app,
)
from sandbox.amazon.regions import REGIONS, marketplaces_of

__all__ = ["airflow_connections", "create_app"]


def create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int | None = 0) -> Any:
    """The emulator's ASGI app; seeds deterministic orders when ``seed`` is set and the state is empty."""
    return build_app(AmazonSandbox(state_dir=Path(state_dir), rate_scale=rate_scale, seed=seed))


def airflow_connections(*, base_url: str) -> dict[str, dict]:
    """Connections ``amazon_sp_api_na``, ``_eu``, ``_fe`` (JSON form), each pointing the hook at its
    region of the emulator on ``base_url`` with that region's refresh token and marketplaces."""
    base_url = base_url.rstrip("/")
    return {
        f"amazon_sp_api_{region}": {
            "conn_type": "amazon_sp_api",
            "login": LWA_CLIENT_ID,
            "password": LWA_CLIENT_SECRET,
            "extra": {
                "refresh_token": REFRESH_TOKENS[region],
                "seller_id": SELLER_ID,
                "region": region,
                "marketplace_ids": marketplaces_of(region),
                "endpoint": f"{base_url}/{region}",
                "lwa_endpoint": f"{base_url}/auth/o2/token",
            },
        }
        for region in REGIONS
    }
