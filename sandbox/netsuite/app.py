"""The NetSuite emulator's ASGI app: SuiteTalk SOAP on POST ``/services/NetSuitePort_<version>`` and the
JSON admin API of ARCHITECTURE.md section 6 under ``/_sandbox/``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from sandbox.netsuite.rules import RecordError
from sandbox.netsuite.schema import RECORD_TYPES, from_json, load_schema
from sandbox.netsuite.seed import seed_data
from sandbox.netsuite.service import FAULTS, Credentials, InjectedFault, NetSuiteService
from sandbox.netsuite.store import Store

log = logging.getLogger(__name__)

#: record types that ``POST /_sandbox/records/{type}`` updates when the internalId exists (close/reopen a period)
UPDATABLE_BY_INTERNAL_ID = frozenset({"accountingPeriod"})


class SeedRequest(BaseModel):
    seed: int = 0
    items: int = Field(0, ge=0, le=100_000, description="extra generated inventory items")
    customers: int = Field(0, ge=0, le=100_000, description="extra generated customers")


class FaultRequest(BaseModel):
    operation: str = Field("*", description="SuiteTalk operation, or * for any")
    status: int | None = Field(None, ge=400, le=599, description="answer with this HTTP status (no SOAP body)")
    fault: str | None = Field(None, description=f"SOAP fault: one of {', '.join(FAULTS)}")
    code: str | None = None
    message: str | None = None
    times: int = Field(1, ge=1)
    after: bool = Field(
        False, description="run the operation first, then answer the failure: a write that succeeded but whose response was lost"
    )


class ConfigRequest(BaseModel):
    concurrency_limit: int | None = Field(None, ge=1, description="concurrent requests before WS_REQUEST_BLOCKED")
    latency_ms: float | None = Field(None, ge=0, le=60_000, description="time each request holds its slot")


def create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int | None = 0, credentials: Credentials) -> FastAPI:
    schema = load_schema()
    store = Store(Path(state_dir))
    service = NetSuiteService(store, schema, credentials)
    if seed is not None and store.is_empty():
        seed_data(service, seed)

    app = FastAPI(title="NetSuite SuiteTalk SOAP sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")
    app.state.service = service

    async def soap(request: Request) -> Response:
        payload = await request.body()
        status, body, content_type = await run_in_threadpool(service.handle, payload)
        return Response(content=body, status_code=status, media_type=content_type)

    app.add_api_route("/services/{port}", soap, methods=["POST"], include_in_schema=False)
    app.add_api_route("/", soap, methods=["POST"], include_in_schema=False)

    @app.post("/_sandbox/reset")
    def reset() -> dict[str, str]:
        service.reset()
        return {"status": "empty"}

    @app.post("/_sandbox/seed")
    def seed_endpoint(body: SeedRequest | None = None) -> dict[str, Any]:
        body = body or SeedRequest()
        try:
            counts = seed_data(service, body.seed, items=body.items, customers=body.customers)
        except RecordError as exc:
            raise HTTPException(409, f"{exc.code}: {exc.message} (reset first: POST /_sandbox/reset)") from None
        return {"seed": body.seed, "records": counts}

    @app.get("/_sandbox/calls")
    def calls() -> dict[str, Any]:
        return {"operations": store.calls()}

    @app.post("/_sandbox/faults")
    def faults(body: FaultRequest) -> dict[str, Any]:
        if (body.status is None) == (body.fault is None):
            raise HTTPException(422, "give exactly one of status or fault")
        if body.fault is not None and body.fault not in FAULTS:
            raise HTTPException(422, f"unknown fault {body.fault!r}; known: {', '.join(FAULTS)}")
        service.inject(InjectedFault(**body.model_dump()))
        return {"injected": body.model_dump()}

    @app.get("/_sandbox/config")
    def get_config() -> dict[str, Any]:
        return {"concurrency_limit": service.concurrency_limit, "latency_ms": service.latency_seconds * 1000}

    @app.post("/_sandbox/config")
    def set_config(body: ConfigRequest) -> dict[str, Any]:
        if body.concurrency_limit is not None:
            service.concurrency_limit = body.concurrency_limit
        if body.latency_ms is not None:
            service.latency_seconds = body.latency_ms / 1000
        return get_config()

    def _record_type(record_type: str) -> str:
        if record_type not in RECORD_TYPES:
            raise HTTPException(404, f"record type {record_type!r} is not emulated; known: {', '.join(RECORD_TYPES)}")
        return record_type

    @app.get("/_sandbox/records/{record_type}")
    def list_records(record_type: str) -> list[dict[str, Any]]:
        return store.all(_record_type(record_type))

    @app.post("/_sandbox/records/{record_type}")
    def add_records(record_type: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add records; for ``accountingPeriod`` a record whose internalId exists is updated instead
        (``[{"internalId": "17", "closed": false}]`` reopens May 2026, ``"closed": true`` closes it)."""
        record_type = _record_type(record_type)
        record_class = schema.record_class(record_type)
        stored, errors = [], []
        for index, record in enumerate(records):
            data = {k: v for k, v in record.items() if k != "internalId"}
            try:
                from_json(schema, record_class, data)
                with store.transaction():
                    explicit = int(record["internalId"]) if record.get("internalId") else None
                    existing = (
                        store.get(record_type, internal_id=explicit)
                        if explicit is not None and record_type in UPDATABLE_BY_INTERNAL_ID
                        else None
                    )
                    if existing is not None:
                        stored.append(service.update(record_type, existing, data, {}))
                    else:
                        stored.append(service.create(record_type, data, internal_id=explicit))
            except (RecordError, ValueError, TypeError) as exc:
                code = getattr(exc, "code", "INVALID_FLD")
                errors.append({"index": index, "externalId": record.get("externalId"), "code": code, "message": str(exc)})
        if errors:
            raise HTTPException(400, {"errors": errors, "stored": stored})
        return stored

    return app
