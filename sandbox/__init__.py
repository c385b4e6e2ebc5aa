"""Local emulators of Amazon SP-API and NetSuite SuiteTalk SOAP (ARCHITECTURE.md section 6).

Each emulator lives in its own subpackage and exposes the same small contract, used by the CLI in
``sandbox.cli`` and by the test fixtures:

``create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int = 0) -> ASGI app``
    the HTTP server (FastAPI/Starlette), its state kept in SQLite files under ``state_dir``;
``airflow_connection(*, base_url: str) -> dict``
    the Airflow connection (JSON form, as accepted by ``AIRFLOW_CONN_*``) that points the
    project's hook at an emulator listening on ``base_url``.
"""
