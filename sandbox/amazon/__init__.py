"""SP-API emulator (FastAPI): LWA, Orders v2026-01-01, Reports 2021-06-30, Tokens 2021-03-01.

See ``sandbox/__init__.py`` for the emulator contract and ARCHITECTURE.md section 6 for the admin API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.amazon.app import (
    LWA_CLIENT_ID,
    LWA_CLIENT_SECRET,
    REFRESH_TOKEN,
    SELLER_ID,
    AmazonSandbox,
    build_app,
)
from sandbox.amazon.seed import MARKETPLACES

__all__ = ["airflow_connection", "create_app"]


def create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int | None = 0) -> Any:
    """The emulator's ASGI app; seeds deterministic orders when ``seed`` is set and the state is empty."""
    return build_app(AmazonSandbox(state_dir=Path(state_dir), rate_scale=rate_scale, seed=seed))


def airflow_connection(*, base_url: str) -> dict:
    """Connection ``amazon_sp_api_default`` (JSON form) pointing the hook at the emulator on ``base_url``."""
    base_url = base_url.rstrip("/")
    return {
        "conn_type": "amazon_sp_api",
        "login": LWA_CLIENT_ID,
        "password": LWA_CLIENT_SECRET,
        "extra": {
            "refresh_token": REFRESH_TOKEN,
            "seller_id": SELLER_ID,
            "region": "na",
            "marketplace_ids": list(MARKETPLACES),
            "endpoint": base_url,
            "lwa_endpoint": f"{base_url}/auth/o2/token",
        },
    }
