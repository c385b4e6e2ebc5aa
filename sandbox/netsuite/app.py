"""The NetSuite emulator's ASGI app: SuiteTalk SOAP on POST ``/services/NetSuitePort_<version>`` and the
JSON admin API of docs/architecture.md section 6 under ``/_sandbox/``."""

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
from sandbox.netsuite.service import FAULTS, MALFORMED, Credentials, InjectedFault, NetSuiteService
from sandbox.netsuite.store import Store

log = logging.getLogger(__name__)

#: record types that ``POST /_sandbox/records/{type}`` updates when the internalId exists (close/reopen a
#: period, put a subsidiary on another fiscal calendar, change a tax rate)
UPDATABLE_BY_INTERNAL_ID = frozenset({"accountingPeriod", "subsidiary", "salesTaxItem"})
#: the malformed answers the fault injector serves and on which operations, for its messages
_MALFORMED_KINDS = "; ".join(f"{how} on {' or '.join(operations)}" for how, operations in MALFORMED.items())


class SeedRequest(BaseModel):
    seed: int = 0
    items: int = Field(0, ge=0, le=100_000, description="extra generated inventory items")
    customers: int = Field(0, ge=0, le=100_000, description="extra generated customers")
    catalog: bool = Field(False, description="also the items flagged for Amazon (seed.CATALOG_ITEMS), as a fresh sandbox has")


class FaultRequest(BaseModel):
    operation: str = Field("*", description="SuiteTalk operation, or * for any")
    status: int | None = Field(None, ge=400, le=599, description="answer with this HTTP status (no SOAP body)")
    fault: str | None = Field(None, description=f"SOAP fault: one of {', '.join(FAULTS)}")
    malformed: str | None = Field(
        None, description=f"answer what NetSuite should never send: {_MALFORMED_KINDS}"
    )
    code: str | None = None
    message: str | None = None
    times: int = Field(1, ge=1)
    after: bool = Field(
        False, description="run the operation first, then answer the failure: a write that succeeded but whose response was lost"
    )


class ConfigRequest(BaseModel):
    """Every field optional: only the ones given change (see ``SandboxConfig``)."""

    concurrency_limit: int | None = Field(None, ge=1, description="concurrent requests before WS_REQUEST_BLOCKED")
    latency_ms: float | None = Field(None, ge=0, le=60_000, description="NetSuite time each request holds its slot")
    latency_per_record_ms: float | None = Field(None, ge=0, le=600_000, description="NetSuite time per record written")
    latency_per_line_ms: float | None = Field(None, ge=0, le=60_000, description="NetSuite time per sublist line written")
    max_request_bytes: int | None = Field(None, ge=1_000, description="larger envelopes get ExceededRequestSizeFault")
    request_timeout_s: float | None = Field(None, gt=10, description="list writes stop (records not processed) past this")
    customer_auto_numbering: bool | None = Field(None, description="NetSuite numbers customers; entityId sent is ignored")
    tax_override: bool | None = Field(None, description="keep a client-sent tax1Amt instead of computing it")
    tax_modes: dict[str, str] | None = Field(None, description='subsidiary id -> "per_line" | "header" (replaces the map)')
    rest_async_processors: int | None = Field(None, ge=1, le=100, description="REST async jobs run at a time")
    period_locks: dict[str, list[str]] | None = Field(
        None, description="period id -> subsidiary ids for which it is locked (replaces the map)"
    )


def create_app(*, state_dir: Path, rate_scale: float = 1.0, seed: int | None = 0, credentials: Credentials) -> FastAPI:
    schema = load_schema()
    store = Store(Path(state_dir))
    service = NetSuiteService(store, schema, credentials, rate_scale=rate_scale)
    if seed is not None and store.is_empty():
        seed_data(service, seed, catalog=True)

    app = FastAPI(title="NetSuite SuiteTalk SOAP sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")
    app.state.service = service

    async def soap(request: Request) -> Response:
        payload = await request.body()
        status, body, content_type = await run_in_threadpool(service.handle, payload)
        return Response(content=body, status_code=status, media_type=content_type)

    from sandbox.netsuite.rest import add_rest_routes

    add_rest_routes(app, service, store)  # REST + SuiteQL + OAuth 2.0 on the same store (before the SOAP catch-all)
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
            counts = seed_data(service, body.seed, items=body.items, customers=body.customers, catalog=body.catalog)
        except RecordError as exc:
            raise HTTPException(409, f"{exc.code}: {exc.message} (reset first: POST /_sandbox/reset)") from None
        return {"seed": body.seed, "records": counts}

    @app.get("/_sandbox/calls")
    def calls() -> dict[str, Any]:
        return {"operations": store.calls()}

    @app.post("/_sandbox/faults")
    def faults(body: FaultRequest) -> dict[str, Any]:
        if sum(x is not None for x in (body.status, body.fault, body.malformed)) != 1:
            raise HTTPException(422, "give exactly one of status, fault or malformed")
        if body.fault is not None and body.fault not in FAULTS:
            raise HTTPException(422, f"unknown fault {body.fault!r}; known: {', '.join(FAULTS)}")
        if body.malformed is not None and body.operation not in MALFORMED.get(body.malformed, ()):
            raise HTTPException(422, f"malformed is one of {_MALFORMED_KINDS}")
        service.inject(InjectedFault(**body.model_dump()))
        return {"injected": body.model_dump()}

    @app.delete("/_sandbox/faults")
    def clear_faults() -> dict[str, Any]:
        """Drop every fault not yet answered (a test that queued more than it used)."""
        return {"cleared": service.clear_faults()}

    @app.get("/_sandbox/config")
    def get_config() -> dict[str, Any]:
        return {**service.config.as_dict(), "rate_scale": service.rate_scale}

    @app.post("/_sandbox/config")
    def set_config(body: ConfigRequest) -> dict[str, Any]:
        for name, value in body.model_dump(exclude_none=True).items():
            if name == "tax_modes" and any(v not in ("per_line", "header") for v in value.values()):
                raise HTTPException(422, 'tax_modes values are "per_line" or "header"')
            setattr(service.config, name, value)
        return get_config()

    def _record_type(record_type: str) -> str:
        if record_type not in RECORD_TYPES:
            raise HTTPException(404, f"record type {record_type!r} is not emulated; known: {', '.join(RECORD_TYPES)}")
        return record_type

    @app.get("/_sandbox/gl")
    def gl(account: str, subsidiary: str | None = None) -> dict[str, Any]:
        """Debits minus credits posted on an account (every posting record type registered in gl.py)."""
        from sandbox.netsuite import gl as gl_rules

        return gl_rules.balance(store, account, subsidiary)

    @app.get("/_sandbox/stock")
    def stock(item: str, location: str | None = None) -> list[dict[str, Any]]:
        """On hand, committed and available per location of an item (moved by fulfillments, receipts, adjustments)."""
        from sandbox.netsuite import stock as stock_rules

        if store.get("inventoryItem", internal_id=item) is None:
            raise HTTPException(404, f"inventoryItem {item} does not exist")
        return stock_rules.levels(store, item, location)

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
            if record_type == "inventoryAdjustment" and not data.get("account"):
                # As a warehouse posts it from its own form: the company's adjustment account.
                from sandbox.netsuite.seed import INVENTORY_ADJUSTMENT_ACCOUNT

                data["account"] = {"internalId": str(INVENTORY_ADJUSTMENT_ACCOUNT)}
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
