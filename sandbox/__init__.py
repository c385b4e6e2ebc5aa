"""Local emulators of Amazon SP-API and NetSuite SuiteTalk SOAP (docs/architecture.md section 6).

Each emulator lives in its own subpackage and exposes the same small contract, used by the CLI in
``sandbox.cli`` and by the test fixtures:

``create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int = 0) -> ASGI app``
    the HTTP server (FastAPI/Starlette), its state kept in SQLite files under ``state_dir``;
``airflow_connection(*, base_url: str) -> dict``
    the Airflow connection (JSON form, as accepted by ``AIRFLOW_CONN_*``) that points the
    project's hook at an emulator listening on ``base_url``; or, for an emulator that needs several,
``airflow_connections(*, base_url: str) -> dict[conn_id, dict]``
    one connection per id (the SP-API emulator: ``amazon_sp_api_na``, ``_eu``, ``_fe``, one per
    region, each exported as ``AIRFLOW_CONN_{CONN_ID}``).
"""
