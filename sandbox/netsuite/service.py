"""SuiteTalk operations of the emulator: TBA check, governance, fault injection, dispatch."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from zeep.helpers import serialize_object

from sandbox.netsuite.rules import RecordError, Rules
from sandbox.netsuite.schema import (
    NS_COMMON,
    NS_SALES,
    RECORD_TYPES,
    Schema,
    fault_envelope,
    from_json,
    record_type_of,
    to_json,
)
from sandbox.netsuite.store import Store, external_key, now_iso

log = logging.getLogger(__name__)

MAX_WRITE_LIST = 100
MAX_GET_LIST = 1000
MAX_AVAILABILITY_ITEMS = 10_000
DEFAULT_PAGE_SIZE = 1000
SEARCH_TTL_SECONDS = 15 * 60
TIMESTAMP_TOLERANCE_SECONDS = 300

#: fault -> (code, message) exactly as NetSuite words them
FAULTS: dict[str, tuple[str, str]] = {
    "ExceededConcurrentRequestLimitFault": (
        "WS_REQUEST_BLOCKED",
        "SuiteTalk concurrent request limit exceeded. Request blocked.",
    ),
    "ExceededRequestLimitFault": ("WS_CONCUR_SESSION_DISALLWD", "Only one request may be made against a session at a time"),
    "ExceededUsageLimitFault": ("USER_ERROR", "The request exceeded the usage limit of your account."),
    "UnexpectedErrorFault": ("UNEXPECTED_ERROR", "An unexpected error occurred."),
    "InvalidCredentialsFault": ("INVALID_LOGIN_ATTEMPT", "Invalid login attempt."),
    "InvalidSessionFault": ("WS_LOG_IN_REQD", "A valid tokenPassport is required for this request."),
    "ExceededRecordCountFault": ("MAX_RCRDS_EXCEEDED", "The number of records in the request exceeds the limit."),
    # FaultCodeType has no size code; the code is StatusDetailCodeType's, the wording the sandbox's
    "ExceededRequestSizeFault": ("EXCEEDED_RQST_SIZE_LIMIT", "The request size exceeds the limit of 100 MB."),
    "InsufficientPermissionFault": ("INSUFFICIENT_PERMISSION", "Permission Violation: you need the role permission for this operation."),
    "InvalidAccountFault": ("INVALID_ACCT", "Invalid account number."),
}
#: answers NetSuite should never send that the fault injector can produce (``{"malformed": ...}``), each
#: with the operations it applies to: inconsistent search pages, and list reads answering fewer or more
#: ``readResponse`` than the refs asked
_SEARCHES = ("search", "searchMoreWithId")
_LIST_READS = ("getList", "initializeList")
MALFORMED = {
    "no_status": _SEARCHES,
    "no_record_list": _SEARCHES,
    "page_index": _SEARCHES,
    "missing_response": _LIST_READS,
    "extra_response": _LIST_READS,
}
#: code of the records a list write never reached before NetSuite's 15-minute cut-off (sandbox wording)
NOT_PROCESSED = "EXCEEDED_MAX_TIME"
#: NetSuite answers a list request this long before the HTTP connection's time limit ("Handling of
#: Lengthy Requests": the response is sent 10 seconds before the 15-minute timeout)
RESPONSE_MARGIN_SECONDS = 10.0

#: basic search type -> record type (TransactionSearchBasic / ItemSearchBasic go by their ``type`` filter)
SEARCHES = {
    "CustomerSearchBasic": "customer",
    "AccountSearchBasic": "account",
    "LocationSearchBasic": "location",
    "SubsidiarySearchBasic": "subsidiary",
    "ItemSearchBasic": "inventoryItem",
    "AccountingPeriodSearchBasic": "accountingPeriod",
    "SalesTaxItemSearchBasic": "salesTaxItem",
}
TRANSACTION_TYPES = {
    "_salesOrder": "salesOrder", "_journal": "journalEntry", "_itemFulfillment": "itemFulfillment",
    "_cashSale": "cashSale", "_invoice": "invoice", "_returnAuthorization": "returnAuthorization",
    "_creditMemo": "creditMemo", "_cashRefund": "cashRefund", "_itemReceipt": "itemReceipt",
}
ITEM_TYPES = {"_inventoryItem": "inventoryItem", "_otherCharge": "otherChargeSaleItem"}
EMAIL_OPERATORS = ("is", "contains", "startsWith", "endsWith")


@dataclass
class SandboxConfig:
    """What an account administrator (and the test harness) sets: ``GET/POST /_sandbox/config``.

    Latencies are NetSuite's time; the emulator sleeps them divided by ``--rate-scale``. Defaults are
    ordinary-conditions estimates (docs/netsuite-quirks.md, "Request cost"): the test fixtures set them
    to 0 except in the tests about latency.
    """

    concurrency_limit: int = 5
    latency_ms: float = 0.0  # per request
    latency_per_record_ms: float = 200.0  # per record written
    latency_per_line_ms: float = 15.0  # per sublist line written
    max_request_bytes: int = 100 * 1024 * 1024  # "The maximum allowed size for a SOAP request is 100MB"
    request_timeout_s: float = 900.0  # "the maximum duration for a single HTTP connection is 15 minutes"
    customer_auto_numbering: bool = False  # Setup > Company > Auto-Generated Numbers: customers
    tax_override: bool = False  # Accounting Preferences: allow tax overrides (client tax1Amt kept)
    tax_modes: dict[str, str] = field(default_factory=dict)  # subsidiary id -> "per_line" (default) | "header"
    #: per-subsidiary period locks (the period close checklist of one subsidiary): period id -> subsidiary ids
    period_locks: dict[str, list[str]] = field(default_factory=dict)
    #: REST async processors (jobs of ``Prefer: respond-async`` run this many at a time; SuiteCloud Plus adds)
    rest_async_processors: int = 1

    def tax_mode(self, subsidiary_id: str | None) -> str:
        return self.tax_modes.get(str(subsidiary_id), "per_line")

    def locked_for(self, period_id: str, subsidiary_id: str | None) -> bool:
        return str(subsidiary_id) in {str(s) for s in self.period_locks.get(str(period_id), [])}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SoapFault(Exception):
    def __init__(self, fault: str, code: str | None = None, message: str | None = None, *, faultcode: str | None = None):
        default_code, default_message = FAULTS.get(fault, ("UNEXPECTED_ERROR", "An unexpected error occurred."))
        self.fault = fault
        self.code = code or default_code
        self.message = message or default_message
        self.faultcode = faultcode or "soapenv:Server.userException"
        super().__init__(self.message)


@dataclass(frozen=True)
class Credentials:
    """The TBA keys the emulator accepts (sandbox-only values, see ``airflow_connection``)."""

    account: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


@dataclass
class InjectedFault:
    operation: str
    times: int
    status: int | None = None
    fault: str | None = None
    code: str | None = None
    message: str | None = None
    after: bool = False  # run the operation, then answer the failure (the response is "lost")
    malformed: str | None = None  # a search page or list read answered inconsistently (see MALFORMED)


@dataclass
class _Search:
    record_type: str
    ids: list[int]
    page_size: int
    body_fields_only: bool
    created: float = field(default_factory=time.monotonic)
    rows: list[Any] | None = None  # an advanced search's result rows (searchRowList), instead of records


#: TransactionSearchBasic criteria an advanced GL search may use (the sandbox refuses others, never ignores them)
GL_SEARCH_FILTERS = ("account", "posting", "tranDate", "subsidiary", "type")
#: TransactionSearchRowBasic columns the sandbox fills (one value each); others are refused
GL_SEARCH_COLUMNS = ("internalId", "externalId", "type", "tranDate", "account", "subsidiary", "currency",
                     "exchangeRate", "debitAmount", "creditAmount", "amount", "fxAmount", "createdFrom", "memo")


class NetSuiteService:
    def __init__(
        self,
        store: Store,
        schema: Schema,
        credentials: Credentials,
        *,
        concurrency_limit: int = 5,
        rate_scale: float = 1.0,
        config: SandboxConfig | None = None,
    ):
        self.store = store
        self.schema = schema
        self.config = config or SandboxConfig(concurrency_limit=concurrency_limit)
        self.rules = Rules(store, schema, self.config)
        self.credentials = credentials
        self.rate_scale = rate_scale if rate_scale and rate_scale > 0 else 1.0
        self._in_flight = 0
        self._gate = threading.Lock()
        self._faults: list[InjectedFault] = []
        self._searches: OrderedDict[str, _Search] = OrderedDict()
        self._nonces: deque[str] = deque(maxlen=50_000)
        self._nonce_set: set[str] = set()
        self._doc_ids = itertools.count(1)

    @property
    def concurrency_limit(self) -> int:
        return self.config.concurrency_limit

    @concurrency_limit.setter
    def concurrency_limit(self, value: int) -> None:
        self.config.concurrency_limit = value

    def sleep(self, netsuite_seconds: float) -> None:
        """Spend ``netsuite_seconds`` of NetSuite's time, scaled by ``--rate-scale``."""
        if netsuite_seconds > 0:
            time.sleep(netsuite_seconds / self.rate_scale)

    # ------------------------------------------------------------------ admin
    def reset(self) -> None:
        self.store.reset()
        with self._gate:
            self._faults.clear()
            self._searches.clear()

    def inject(self, fault: InjectedFault) -> None:
        with self._gate:
            self._faults.append(fault)

    def clear_faults(self) -> int:
        with self._gate:
            count = len(self._faults)
            self._faults.clear()
        return count

    def _take_fault(self, operation: str) -> InjectedFault | None:
        with self._gate:
            for fault in self._faults:
                if fault.operation in (operation, "*") and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ------------------------------------------------------------------ HTTP entry point
    def handle(self, payload: bytes) -> tuple[int, bytes, str]:
        """One SOAP POST -> (HTTP status, body, content type)."""
        if len(payload) > self.config.max_request_bytes:
            self.store.count_call("oversized")
            limit_mb = self.config.max_request_bytes / (1024 * 1024)
            return 500, fault_envelope(
                "ExceededRequestSizeFault",
                FAULTS["ExceededRequestSizeFault"][0],
                f"The request size ({len(payload):,} bytes) exceeds the limit of {limit_mb:g} MB. "
                "Send fewer records or lines per request.",
            ), "text/xml"
        try:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
            envelope = etree.fromstring(payload, parser=parser)
        except etree.XMLSyntaxError:
            # NetSuite parses the envelope with an XML 1.0 (SAX) parser: a NUL or another control
            # character anywhere fails the WHOLE request, with a fault that has no detail element
            return 500, fault_envelope(
                None, None, _sax_message(payload), faultcode="soapenv:Server.userException"
            ), "text/xml"
        try:
            operation, body, header = self.schema.parse_request(envelope)
        except LookupError as exc:
            return 500, fault_envelope(
                "UnexpectedErrorFault", "UNEXPECTED_ERROR", f"The sandbox does not emulate operation {exc}."
            ), "text/xml"
        except Exception as exc:  # a request that does not match the WSDL
            return 500, fault_envelope(
                "UnexpectedErrorFault", "USER_ERROR", f"Invalid request: {type(exc).__name__}", faultcode="soapenv:Client"
            ), "text/xml"

        if not self._acquire():
            self.store.count_call(operation, throttled=True)
            log.info("NetSuite sandbox: %s rejected, %s requests in flight", operation, self.concurrency_limit)
            return 500, fault_envelope("ExceededConcurrentRequestLimitFault", *FAULTS["ExceededConcurrentRequestLimitFault"]), "text/xml"
        try:
            self.sleep(self.config.latency_ms / 1000)
            self.store.count_call(operation)
            self._authenticate(header)
            injected = self._take_fault(operation)
            if injected is not None and not injected.after and injected.malformed is None:
                return self._injected(injected)
            response = getattr(self, f"_op_{operation}", None)
            if response is None:
                raise SoapFault("UnexpectedErrorFault", "UNEXPECTED_ERROR", f"The sandbox does not emulate operation {operation}.")
            result = response(body, header)
            if injected is not None and injected.malformed is None:  # the work is done; the caller never hears of it
                return self._injected(injected)
            ns_id = f"WEBSERVICES_{self.credentials.account}_{next(self._doc_ids)}"
            answer = self.schema.serialize_response(operation, result, ns_id)
            if injected is not None:
                answer = _malform(answer, injected.malformed)
            return 200, answer, "text/xml; charset=utf-8"
        except SoapFault as fault:
            return 500, fault_envelope(fault.fault, fault.code, fault.message, faultcode=fault.faultcode), "text/xml"
        finally:
            self._release()

    @staticmethod
    def _injected(injected: InjectedFault) -> tuple[int, bytes, str]:
        if injected.status is not None:
            return injected.status, b"<html><body>Service Unavailable</body></html>", "text/html"
        raise SoapFault(injected.fault or "UnexpectedErrorFault", injected.code, injected.message)

    def _acquire(self) -> bool:
        with self._gate:
            if self._in_flight >= self.concurrency_limit:
                return False
            self._in_flight += 1
            return True

    def _release(self) -> None:
        with self._gate:
            self._in_flight -= 1

    # ------------------------------------------------------------------ TBA
    def _authenticate(self, header: Any) -> None:
        passport = getattr(header, "tokenPassport", None) if header is not None else None
        if passport is None:
            raise SoapFault("InvalidSessionFault")
        creds = self.credentials
        signature = passport.signature
        algorithm = getattr(signature, "algorithm", None) or "HMAC-SHA256"
        # NetSuite takes HMAC-SHA256 only (HMAC-SHA1 TBA signatures are refused like a wrong key)
        digest = {"HMAC-SHA256": hashlib.sha256}.get(algorithm)
        base = "&".join(
            [passport.account or "", passport.consumerKey or "", passport.token or "", passport.nonce or "", str(passport.timestamp)]
        )
        key = f"{creds.consumer_secret}&{creds.token_secret}".encode()
        expected = base64.b64encode(hmac.new(key, base.encode(), digest).digest()).decode() if digest else ""
        given = getattr(signature, "_value_1", None) or ""
        fresh = abs(time.time() - int(passport.timestamp or 0)) <= TIMESTAMP_TOLERANCE_SECONDS
        valid = (
            digest is not None
            and hmac.compare_digest(passport.account or "", creds.account)
            and hmac.compare_digest(passport.consumerKey or "", creds.consumer_key)
            and hmac.compare_digest(passport.token or "", creds.token_id)
            and hmac.compare_digest(given, expected)
            and fresh
        )
        nonce = f"{passport.token}:{passport.nonce}"
        with self._gate:
            replay = nonce in self._nonce_set
            if valid and not replay:
                if len(self._nonces) == self._nonces.maxlen:
                    self._nonce_set.discard(self._nonces[0])
                self._nonces.append(nonce)
                self._nonce_set.add(nonce)
        if not valid or replay:
            # NetSuite says no more than this; the Login Audit Trail has the reason. So does this log,
            # without any key, token or signature.
            reason = (
                "replayed nonce" if replay
                else f"signature algorithm {algorithm} is not accepted" if digest is None
                else "stale timestamp" if not fresh
                else "signature or keys"
            )
            log.warning("NetSuite sandbox: rejected tokenPassport for account %s (%s)", passport.account, reason)
            raise SoapFault("InvalidCredentialsFault")

    # ------------------------------------------------------------------ helpers
    def _status(self, ok: bool, code: str | None = None, message: str | None = None) -> Any:
        status = self.schema.core("Status")
        if ok:
            return status(isSuccess=True)
        detail = self.schema.core("StatusDetail")(code=code, message=message, type="ERROR")
        return status(isSuccess=False, statusDetail=[detail])

    def _ref(self, record_type: str, record: dict[str, Any]) -> Any:
        return self.schema.core("RecordRef")(
            internalId=record["internalId"], externalId=record.get("externalId"), type=record_type
        )

    def to_soap(self, record_type: str, record: dict[str, Any], *, body_fields_only: bool = False) -> Any:
        if body_fields_only:  # sublists go; custom body fields and multi-select refs stay
            record = {
                k: v
                for k, v in record.items()
                if not (k.endswith("List") and isinstance(v, list) and k not in ("subsidiaryList", "customFieldList"))
            }
        return from_json(self.schema, self.schema.record_class(record_type), record)

    # ------------------------------------------------------------------ writes
    def create(self, record_type: str, data: dict[str, Any], *, internal_id: int | None = None) -> dict[str, Any]:
        """Add a record (SOAP ``add``/``addList``/``upsert`` of a new externalId, or the admin API).

        externalIds are unique per record group (all transactions, all entities, all items), ignoring
        case: the externalId of a sales order cannot be taken by a journal entry, nor "amz-so-1" by
        another record once "AMZ-SO-1" exists."""
        if data.get("externalId") and self.store.owner(record_type, data["externalId"]) is not None:
            raise RecordError("DUP_RCRD", "This record already exists")
        record = dict(data)
        if internal_id is not None:
            if self.store.get(record_type, internal_id=internal_id):
                raise RecordError("DUP_RCRD", "This record already exists")
            self.store.bump_sequence(record_type, internal_id)
            record["internalId"] = str(internal_id)
        else:
            record["internalId"] = str(self.store.next_id(record_type))
        record = self.rules.apply(record_type, record, None)
        self._check_schema(record_type, record)
        self.store.put(record_type, record, now_iso())
        return record

    def _check_schema(self, record_type: str, record: dict[str, Any]) -> None:
        try:
            self.to_soap(record_type, record)
        except (ValueError, TypeError) as exc:
            raise RecordError("INVALID_FLD", str(exc)) from None

    def update(self, record_type: str, existing: dict[str, Any], data: dict[str, Any], flags: dict[str, bool]) -> dict[str, Any]:
        incoming = data.get("externalId")
        if incoming and existing.get("externalId") and external_key(incoming) == external_key(existing["externalId"]):
            data = {k: v for k, v in data.items() if k != "externalId"}  # the stored spelling stays
        elif incoming and self.store.owner(record_type, incoming) is not None:
            raise RecordError("DUP_RCRD", "This record already exists")
        nulls = data.pop("__null__", None) or []
        merged = self.rules.merge(existing, data, flags)
        for name in nulls:  # nullFieldList: custom fields by scriptId, body fields by name
            if name.startswith("cust"):
                merged["customFieldList"] = [f for f in merged.get("customFieldList") or []
                                             if (f.get("scriptId") or f.get("internalId")) != name]
            else:
                merged.pop(name, None)
        if "customFieldList" in merged and not merged["customFieldList"]:
            merged.pop("customFieldList")
        record = self.rules.apply(record_type, merged, existing)
        self._check_schema(record_type, record)
        self.store.put(record_type, record, now_iso())
        return record

    def _write_one(self, mode: str, value: Any) -> Any:
        record_type = record_type_of(value)
        write_response = self.schema.messages("WriteResponse")
        try:
            if record_type not in RECORD_TYPES:
                raise RecordError("INVALID_RCRD_TYPE", f"The sandbox does not emulate record type {record_type}.")
            data, flags = to_json(value)
            nulls = [str(n) for n in (getattr(getattr(value, "nullFieldList", None), "name", None) or [])]
            if nulls and mode != "add":
                data["__null__"] = nulls
            with self.store.transaction():
                external_id = data.get("externalId")
                if mode == "add":
                    record = self.create(record_type, data)
                elif mode == "update":
                    existing = (
                        self.store.get(record_type, internal_id=data["internalId"])
                        if data.get("internalId")
                        else self.store.get(record_type, external_id=external_id)
                        if external_id
                        else None
                    )
                    if existing is None:
                        raise RecordError("RCRD_DSNT_EXIST", "That record does not exist.")
                    record = self.update(record_type, existing, data, flags)
                else:  # upsert
                    if not external_id:
                        raise RecordError("USER_ERROR", "You must specify an externalId for an upsert operation.")
                    existing = self.store.get(record_type, external_id=external_id)
                    if existing is None:
                        # a record of ANOTHER type may own the externalId in the group: create refuses
                        # it (DUP_RCRD) and that record is left untouched
                        record = self.create(record_type, {k: v for k, v in data.items() if k not in ("internalId", "__null__")})
                    else:
                        record = self.update(record_type, existing, data, flags)
            return write_response(status=self._status(True), baseRef=self._ref(record_type, record))
        except RecordError as exc:
            return write_response(status=self._status(False, exc.code, exc.message))

    def _record_cost(self, value: Any) -> float:
        """NetSuite seconds to save one record: per record plus per sublist line."""
        per_record, per_line = self.config.latency_per_record_ms, self.config.latency_per_line_ms
        if not per_record and not per_line:
            return 0.0
        lines = 0
        for name, item in (getattr(value, "__values__", None) or {}).items():
            if name.endswith("List") and name != "customFieldList" and hasattr(item, "__values__"):
                lines += sum(len(rows) for rows in item.__values__.values() if isinstance(rows, list))
        return (per_record + per_line * lines) / 1000

    def _write_list(self, operation: str, mode: str, body: Any) -> dict[str, Any]:
        records = list(body.record or []) if hasattr(body, "record") else list(body or [])
        if len(records) > MAX_WRITE_LIST:
            raise SoapFault(
                "ExceededRecordCountFault",
                "MAX_RCRDS_EXCEEDED",
                f"The maximum number of records for the {operation} operation is {MAX_WRITE_LIST}. "
                f"Your request contained {len(records)} records.",
            )
        self.store.add_records_count(operation, len(records))
        budget = self.config.request_timeout_s - RESPONSE_MARGIN_SECONDS
        spent = 0.0
        responses = []
        for record in records:
            cost = self._record_cost(record)
            if responses and spent + cost > budget:
                # "Handling of Lengthy Requests": the list operation stops after the record in progress
                # and NetSuite answers before the connection times out; the rest was never processed
                responses.append(self.schema.messages("WriteResponse")(status=self._status(
                    False, NOT_PROCESSED,
                    f"The request reached the {self.config.request_timeout_s / 60:g}-minute time limit before "
                    "this record was processed; it was not saved. Send it again in a smaller request.",
                )))
                continue
            spent += cost
            responses.append(self._write_one(mode, record))
        self.sleep(spent)
        response_list = self.schema.messages("WriteResponseList")(
            status=self._status(True), writeResponse=responses
        )
        return {"writeResponseList": response_list}

    @staticmethod
    def _single(body: Any) -> Any:
        return body.record if hasattr(body, "record") else body

    def _single_write(self, mode: str, body: Any) -> dict[str, Any]:
        self.store.add_records_count(mode, 1)
        record = self._single(body)
        response = self._write_one(mode, record)
        self.sleep(self._record_cost(record))
        return {"writeResponse": response}

    def _op_add(self, body, header):
        return self._single_write("add", body)

    def _op_update(self, body, header):
        return self._single_write("update", body)

    def _op_upsert(self, body, header):
        return self._single_write("upsert", body)

    def _op_addList(self, body, header):  # noqa: N802 - SuiteTalk operation names
        return self._write_list("addList", "add", body)

    def _op_updateList(self, body, header):  # noqa: N802
        return self._write_list("updateList", "update", body)

    def _op_upsertList(self, body, header):  # noqa: N802
        return self._write_list("upsertList", "upsert", body)

    # ------------------------------------------------------------------ reads
    def _read(self, ref: Any) -> Any:
        read_response = self.schema.messages("ReadResponse")
        record_type = getattr(ref, "type", None)
        if record_type not in RECORD_TYPES:
            return read_response(status=self._status(False, "INVALID_RCRD_TYPE", f"The sandbox does not emulate record type {record_type}."))
        record = self.store.get(
            record_type,
            internal_id=ref.internalId if ref.internalId else None,
            external_id=None if ref.internalId else ref.externalId,
        )
        if record is None:
            return read_response(status=self._status(False, "RCRD_DSNT_EXIST", "That record does not exist."))
        return read_response(status=self._status(True), record=self.to_soap(record_type, record))

    def _op_get(self, body, header):
        ref = body.baseRef if hasattr(body, "baseRef") else body
        response = self._read(ref)
        self.store.add_records_count("get", 1 if response.status.isSuccess else 0)
        return {"readResponse": response}

    def _op_getList(self, body, header):  # noqa: N802
        refs = list(body.baseRef or []) if hasattr(body, "baseRef") else list(body or [])
        if len(refs) > MAX_GET_LIST:
            raise SoapFault(
                "ExceededRecordCountFault",
                "MAX_RCRDS_EXCEEDED",
                f"The maximum number of records for the getList operation is {MAX_GET_LIST}.",
            )
        responses = [self._read(ref) for ref in refs]
        self.store.add_records_count("getList", sum(1 for r in responses if r.status.isSuccess))
        return {"readResponseList": self.schema.messages("ReadResponseList")(status=self._status(True), readResponse=responses)}

    # ------------------------------------------------------------------ search
    def _search_result(self, *, ok=True, code=None, message=None, **fields) -> dict[str, Any]:
        result = self.schema.core("SearchResult")(status=self._status(ok, code, message), **fields)
        return {"searchResult": result}

    def _page(self, search_id: str, search: _Search, page_index: int) -> dict[str, Any]:
        total = len(search.ids)
        total_pages = math.ceil(total / search.page_size) if total else 0
        if total and not 1 <= page_index <= total_pages:
            return self._search_result(
                ok=False, code="INVALID_SEARCH_PAGE_INDEX", message=f"Invalid page index {page_index}; the search has {total_pages} pages."
            )
        start = (page_index - 1) * search.page_size
        if search.rows is not None:
            return self._row_page(search_id, search, page_index, start)
        records = []
        for internal_id in search.ids[start : start + search.page_size]:
            record = self.store.get(search.record_type, internal_id=internal_id)
            if record is not None:
                records.append(self.to_soap(search.record_type, record, body_fields_only=search.body_fields_only))
        self.store.add_records_count("search" if page_index == 1 else "searchMoreWithId", len(records))
        record_list = self.schema.core("RecordList")(record=records) if records else None
        return self._search_result(
            totalRecords=total,
            pageSize=search.page_size,
            totalPages=total_pages,
            pageIndex=page_index,
            searchId=search_id,
            recordList=record_list,
        )

    def _criteria(self, record_type: str, criteria: dict[str, Any]) -> dict[str, Any]:
        def utc(value: datetime) -> str:
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
            return value.astimezone(UTC).isoformat(timespec="milliseconds")

        query: dict[str, Any] = {}
        for name, value in criteria.items():
            if value is None or name == "type":
                continue
            operator = value.get("operator")
            if name in ("externalId", "internalId"):
                if operator != "anyOf":
                    raise RecordError("INVALID_SEARCH_OPERATOR", f"The sandbox supports only anyOf on {name}.")
                refs = value.get("searchValue") or []
                if name == "externalId":
                    query["external_ids"] = [r.get("externalId") or r.get("internalId") for r in refs]
                else:
                    query["internal_ids"] = [int(r.get("internalId")) for r in refs]
            elif name == "createdFrom" and record_type in TRANSACTION_TYPES.values():
                if operator != "anyOf":
                    raise RecordError("INVALID_SEARCH_OPERATOR", "The sandbox supports only anyOf on createdFrom.")
                query["created_from"] = [str(r.get("internalId")) for r in value.get("searchValue") or []]
            elif name == "externalIdString":
                if operator != "is":
                    raise RecordError("INVALID_SEARCH_OPERATOR", "The sandbox supports only 'is' on externalIdString.")
                query["external_ids"] = [value.get("searchValue")]
            elif name == "email" and record_type == "customer":
                if operator not in EMAIL_OPERATORS:
                    raise RecordError(
                        "INVALID_SEARCH_OPERATOR", f"The sandbox supports {', '.join(EMAIL_OPERATORS)} on email, not {operator}."
                    )
                if not (value.get("searchValue") or "").strip():
                    raise RecordError("INVALID_SEARCH_VALUE", "email needs a searchValue.")
                query["email"] = (operator, value["searchValue"])
            elif name == "lastModifiedDate":
                first, second = value.get("searchValue"), value.get("searchValue2")
                if first is None:
                    raise RecordError("INVALID_SEARCH_VALUE", "lastModifiedDate needs a searchValue.")
                if operator in ("after", "onOrAfter", "notBefore"):
                    query.update(modified_from=utc(first), from_inclusive=operator != "after")
                elif operator in ("before", "onOrBefore", "notAfter"):
                    query.update(modified_to=utc(first), to_inclusive=operator != "before")
                elif operator == "within":
                    if second is None:
                        raise RecordError("INVALID_SEARCH_VALUE", "within needs searchValue and searchValue2.")
                    query.update(modified_from=utc(first), modified_to=utc(second))
                else:
                    raise RecordError("INVALID_SEARCH_OPERATOR", f"The sandbox does not support {operator} on lastModifiedDate.")
            else:
                raise RecordError("INVALID_SEARCH_FIELD_OBJ", f"The sandbox does not support the search field {name}.")
        return query

    def _row_page(self, search_id: str, search: _Search, page_index: int, start: int) -> dict[str, Any]:
        rows = (search.rows or [])[start : start + search.page_size]
        total = len(search.rows or [])
        self.store.add_records_count("search" if page_index == 1 else "searchMoreWithId", len(rows))
        row_list = self.schema.core("SearchRowList")(searchRow=rows) if rows else None
        return self._search_result(
            totalRecords=total, pageSize=search.page_size, totalPages=math.ceil(total / search.page_size) if total else 0,
            pageIndex=page_index, searchId=search_id, searchRowList=row_list,
        )

    def _gl_rows(self, criteria: dict[str, Any], columns: list[str]) -> list[Any]:
        """Rows of a ``TransactionSearchAdvanced`` over GL lines: one per line of a posting record that
        hits an account (what a saved transaction search with ``posting`` true and an ``account`` filter
        lists). ``debitAmount``/``creditAmount``/``amount`` are in the base currency (line x the record's
        ``exchangeRate``), ``fxAmount`` in the transaction currency, signed like ``amount`` (debit
        positive). Only the requested columns are returned, as NetSuite does."""
        from decimal import Decimal

        from sandbox.netsuite import gl

        accounts: set[str] | None = None
        subsidiaries: set[str] | None = None
        types: set[str] | None = None
        posting: bool | None = None
        date_from = date_to = None
        for name, value in criteria.items():
            if value is None:
                continue
            if name not in GL_SEARCH_FILTERS:
                raise RecordError("INVALID_SEARCH_FIELD_OBJ", f"The sandbox does not support the search field {name} "
                                  "in a transaction advanced search.")
            operator = value.get("operator")
            if name in ("account", "subsidiary"):
                if operator != "anyOf":
                    raise RecordError("INVALID_SEARCH_OPERATOR", f"The sandbox supports only anyOf on {name}.")
                chosen = {str(r.get("internalId")) for r in value.get("searchValue") or []}
                if name == "account":
                    accounts = chosen
                else:
                    subsidiaries = chosen
            elif name == "type":
                if operator != "anyOf":
                    raise RecordError("INVALID_SEARCH_OPERATOR", "The sandbox supports only anyOf on type.")
                types = {TRANSACTION_TYPES.get(t) or t for t in value.get("searchValue") or []}
            elif name == "posting":
                posting = bool(value.get("searchValue"))
            elif name == "tranDate":
                first, second = value.get("searchValue"), value.get("searchValue2")
                if first is None:
                    raise RecordError("INVALID_SEARCH_VALUE", "tranDate needs a searchValue.")
                day = lambda v: (v.date() if isinstance(v, datetime) else v).isoformat()  # noqa: E731
                if operator in ("onOrAfter", "notBefore"):
                    date_from = day(first)
                elif operator in ("onOrBefore", "notAfter"):
                    date_to = day(first)
                elif operator == "within" and second is not None:
                    date_from, date_to = day(first), day(second)
                else:
                    raise RecordError("INVALID_SEARCH_OPERATOR", f"The sandbox does not support {operator} on tranDate.")
        unknown = [c for c in columns if c not in GL_SEARCH_COLUMNS]
        if unknown:
            raise RecordError("INVALID_SEARCH_FIELD_OBJ", f"The sandbox does not return the column(s) {', '.join(unknown)}.")
        if not columns:
            raise RecordError("INVALID_SEARCH", "An advanced search needs at least one column.")
        if posting is False:
            return []  # every record the sandbox lists here posts
        type_enum = {v: k for k, v in TRANSACTION_TYPES.items()}
        core, common = self.schema.core, lambda n: self.schema.type(NS_COMMON, n)
        ref = lambda internal_id: core("RecordRef")(internalId=str(internal_id)) if internal_id else None  # noqa: E731
        found = []
        for record_type, record, (account, subsidiary, currency, amount) in gl.posting_lines(self.store):
            if accounts is not None and account not in accounts:
                continue
            if subsidiaries is not None and subsidiary not in subsidiaries:
                continue
            if types is not None and record_type not in types:
                continue
            tran_date = str(record.get("tranDate") or "")[:10]
            if (date_from and tran_date < date_from) or (date_to and tran_date > date_to):
                continue
            rate = Decimal(str(record.get("exchangeRate") or 1))
            base = (amount * rate).quantize(Decimal("0.01"))
            values = {
                "internalId": ("SearchColumnSelectField", ref(record.get("internalId"))),
                "externalId": ("SearchColumnSelectField", core("RecordRef")(externalId=record.get("externalId"))
                               if record.get("externalId") else None),
                "type": ("SearchColumnEnumSelectField", type_enum.get(record_type, record_type)),
                "tranDate": ("SearchColumnDateField", datetime.fromisoformat(tran_date) if tran_date else None),
                "account": ("SearchColumnSelectField", ref(account)),
                "subsidiary": ("SearchColumnSelectField", ref(subsidiary)),
                "currency": ("SearchColumnSelectField", ref(currency)),
                "exchangeRate": ("SearchColumnDoubleField", float(rate)),
                "debitAmount": ("SearchColumnDoubleField", float(base) if base > 0 else None),
                "creditAmount": ("SearchColumnDoubleField", float(-base) if base < 0 else None),
                "amount": ("SearchColumnDoubleField", float(base)),
                "fxAmount": ("SearchColumnDoubleField", float(amount)),
                "createdFrom": ("SearchColumnSelectField", ref((record.get("createdFrom") or {}).get("internalId"))),
                "memo": ("SearchColumnStringField", record.get("memo")),
            }
            basic = {}
            for column in columns:
                kind, value = values[column]
                if value is not None:
                    basic[column] = [core(kind)(searchValue=value)]
            found.append((tran_date, int(record.get("internalId") or 0), common("TransactionSearchRowBasic")(**basic)))
        found.sort(key=lambda row: row[:2])
        row_type = self.schema.type(NS_SALES, "TransactionSearchRow")
        return [row_type(basic=basic) for _, _, basic in found]

    def _advanced_search(self, search_record, header) -> dict[str, Any]:
        """``TransactionSearchAdvanced`` with search columns (the GL read of reconciliation)."""
        prefs = getattr(header, "searchPreferences", None) if header is not None else None
        page_size = (prefs.pageSize if prefs is not None and prefs.pageSize else None) or DEFAULT_PAGE_SIZE
        if not 5 <= page_size <= 1000:
            return self._search_result(ok=False, code="INVALID_SEARCH_PAGE_SIZE", message="The page size must be between 5 and 1000.")
        if prefs is not None and prefs.returnSearchColumns is False:
            return self._search_result(ok=False, code="INVALID_SEARCH",
                                       message="The sandbox emulates advanced searches with returnSearchColumns only.")
        if getattr(search_record, "savedSearchId", None) or getattr(search_record, "savedSearchScriptId", None):
            return self._search_result(ok=False, code="INVALID_SEARCH", message="The sandbox has no saved searches.")
        criteria_basic = getattr(getattr(search_record, "criteria", None), "basic", None)
        columns_basic = getattr(getattr(search_record, "columns", None), "basic", None)
        criteria = serialize_object(criteria_basic, dict) if criteria_basic is not None else {}
        wanted = serialize_object(columns_basic, dict) if columns_basic is not None else {}
        columns = [name for name, value in wanted.items() if value]
        try:
            rows = self._gl_rows(criteria, columns)
        except RecordError as exc:
            return self._search_result(ok=False, code=exc.code, message=exc.message)
        search_id = f"WEBSERVICES_{self.credentials.account}_{uuid.uuid4().hex}"
        search = _Search(record_type="transaction", ids=[], page_size=page_size, body_fields_only=True, rows=rows)
        with self._gate:
            self._searches[search_id] = search
            while len(self._searches) > 500:
                self._searches.popitem(last=False)
        return self._page(search_id, search, 1)

    def _op_search(self, body, header):
        search_record = body.searchRecord if hasattr(body, "searchRecord") else body
        type_name = getattr(getattr(search_record, "_xsd_type", None), "name", "")
        if type_name == "TransactionSearchAdvanced":
            return self._advanced_search(search_record, header)
        if type_name.endswith("Search") and getattr(search_record, "basic", None) is not None:
            search_record = search_record.basic
            type_name = search_record._xsd_type.name
        criteria = serialize_object(search_record, dict)
        record_type = SEARCHES.get(type_name)
        type_filter = (criteria.get("type") or {}).get("searchValue") or []
        if type_name == "TransactionSearchBasic":
            types = {TRANSACTION_TYPES.get(t) for t in type_filter}
            record_type = types.pop() if len(types) == 1 else None
        elif type_name == "ItemSearchBasic" and type_filter:
            types = {ITEM_TYPES.get(t) for t in type_filter}
            record_type = types.pop() if len(types) == 1 else None
        if record_type is None:
            return self._search_result(
                ok=False, code="INVALID_SEARCH", message=f"The sandbox does not emulate this search ({type_name} {type_filter})."
            )
        prefs = getattr(header, "searchPreferences", None) if header is not None else None
        page_size = (prefs.pageSize if prefs is not None and prefs.pageSize else None) or DEFAULT_PAGE_SIZE
        body_only = True if prefs is None or prefs.bodyFieldsOnly is None else bool(prefs.bodyFieldsOnly)
        if not 5 <= page_size <= 1000:
            return self._search_result(
                ok=False, code="INVALID_SEARCH_PAGE_SIZE", message="The page size must be between 5 and 1000."
            )
        try:
            query = self._criteria(record_type, criteria)
        except RecordError as exc:
            return self._search_result(ok=False, code=exc.code, message=exc.message)
        ids = self.store.select_ids(record_type, **query)
        search_id = f"WEBSERVICES_{self.credentials.account}_{uuid.uuid4().hex}"
        search = _Search(record_type=record_type, ids=ids, page_size=page_size, body_fields_only=body_only)
        with self._gate:
            self._searches[search_id] = search
            while len(self._searches) > 500:
                self._searches.popitem(last=False)
        return self._page(search_id, search, 1)

    def _op_searchMoreWithId(self, body, header):  # noqa: N802
        with self._gate:
            search = self._searches.get(body.searchId)
        if search is None or time.monotonic() - search.created > SEARCH_TTL_SECONDS:
            return self._search_result(
                ok=False, code="INVALID_SEARCH_MORE", message="The search has expired or the searchId is invalid; run the search again."
            )
        return self._page(body.searchId, search, int(body.pageIndex or 1))

    # ------------------------------------------------------------------ initialize (transform a sales order)
    #: target record type -> initialize reference types the emulator supports (NetSuite has more)
    INITIALIZE = {"itemFulfillment": ("salesOrder",), "cashSale": ("salesOrder",), "invoice": ("salesOrder",),
                  "returnAuthorization": ("salesOrder",), "itemReceipt": ("returnAuthorization",),
                  "creditMemo": ("returnAuthorization",), "cashRefund": ("returnAuthorization",)}

    def initialize_record(self, target: str, reference_type: str | None, internal_id: str | None,
                          external_id: str | None) -> dict[str, Any]:
        """The record NetSuite pre-fills from a sales order (not saved): an item fulfillment of what is
        left to fulfill, or a cash sale / invoice of what was fulfilled and not billed yet (shipping and
        handling on the first bill). Nothing left: INVALID_INITIALIZE_REF, as NetSuite answers."""
        if target not in self.INITIALIZE or reference_type not in self.INITIALIZE[target]:
            raise RecordError("INVALID_INITIALIZE_REF", f"The sandbox does not initialize {target} from {reference_type}.")
        kind = target.lower()
        if reference_type == "returnAuthorization" or target == "returnAuthorization":
            return self.initialize_from_return(target, reference_type, internal_id, external_id)
        order = self.store.get("salesOrder", internal_id=internal_id or None, external_id=None if internal_id else external_id)
        if order is None:
            raise RecordError("INVALID_INITIALIZE_REF", f"You can not initialize {kind}: invalid reference {internal_id or external_id}.")
        self.rules.source_order({"createdFrom": {"internalId": order["internalId"]}}, kind)
        header_location = order.get("location")
        lines = []
        for line in order.get("itemList") or []:
            if line.get("isClosed"):
                continue
            inventory = self.rules._is_inventory(line)
            quantity, fulfilled, billed = (float(line.get(k) or 0) for k in ("quantity", "quantityFulfilled", "quantityBilled"))
            location = line.get("location") or header_location
            if target == "itemFulfillment":
                left = quantity - fulfilled
                if not inventory or left <= 0:
                    continue
                out = {"item": line["item"], "orderLine": int(line["line"]), "quantity": left, "quantityRemaining": left,
                       "itemReceive": True}
            else:
                left = (fulfilled if inventory else quantity) - billed
                if left <= 0:
                    continue
                rate = float(line.get("rate") or 0)
                amount = float(line.get("amount") or 0) if left == quantity else round(rate * left, 2)
                out = {"item": line["item"], "orderLine": int(line["line"]), "quantity": left, "rate": rate, "amount": amount}
                for name in ("taxCode", "description"):
                    if line.get(name):
                        out[name] = line[name]
            if location:
                out["location"] = location
            lines.append(out)
        if not lines:
            raise RecordError("INVALID_INITIALIZE_REF", f"You can not initialize {kind}: invalid reference {order['internalId']}.")
        record: dict[str, Any] = {
            "entity": order["entity"], "createdFrom": {"internalId": order["internalId"], "name": order.get("tranId")},
            "tranDate": now_iso(), "itemList": lines,
        }
        if target == "itemFulfillment":
            record["shipStatus"] = "_shipped"
            return record
        record.update({k: order[k] for k in ("subsidiary", "currency", "department", "class", "location") if order.get(k)})
        first_bill = not any(float(line.get("quantityBilled") or 0) for line in order.get("itemList") or [])
        if first_bill:
            record.update({k: order[k] for k in ("shippingCost", "shippingTaxCode", "handlingCost", "handlingTaxCode") if order.get(k)})
        return record

    def initialize_from_return(self, target: str, reference_type: str, internal_id: str | None,
                               external_id: str | None) -> dict[str, Any]:
        """A return authorization pre-filled from a sales order (the billed units not returned yet, at the
        order line's rate, tax code and location), or an item receipt / credit memo / cash refund from a
        return authorization (what is left to receive / to credit). Nothing left: INVALID_INITIALIZE_REF."""
        kind = target.lower()
        source = self.store.get(reference_type, internal_id=internal_id or None, external_id=None if internal_id else external_id)
        if source is None:
            raise RecordError("INVALID_INITIALIZE_REF", f"You can not initialize {kind}: invalid reference {internal_id or external_id}.")
        probe = {"createdFrom": {"internalId": source["internalId"]}}
        lines = []
        if target == "returnAuthorization":
            if source.get("orderStatus") in ("_cancelled", "_pendingApproval"):
                raise RecordError("INVALID_INITIALIZE_REF", f"You can not initialize {kind}: invalid reference {source['internalId']}.")
            elsewhere = self.rules.returned_elsewhere(source["internalId"])
            for line in source.get("itemList") or []:
                left = float(line.get("quantityBilled") or 0) - float(elsewhere.get(int(line["line"]), 0))
                if line.get("isClosed") or left <= 0:
                    continue
                quantity = float(line.get("quantity") or 0)
                amount = float(line.get("amount") or 0) if left == quantity else round(float(line.get("rate") or 0) * left, 2)
                out = {"item": line["item"], "orderLine": int(line["line"]), "quantity": left,
                       "rate": float(line.get("rate") or 0), "amount": amount}
                for name in ("taxCode", "location", "description"):
                    if line.get(name):
                        out[name] = line[name]
                lines.append(out)
        else:
            self.rules.source_return(probe, kind)
            for line in source.get("itemList") or []:
                if line.get("isClosed"):
                    continue
                done = "quantityReceived" if target == "itemReceipt" else "quantityBilled"
                left = float(line.get("quantity") or 0) - float(line.get(done) or 0)
                if left <= 0 or (target == "itemReceipt" and not self.rules._is_inventory(line)):
                    continue
                out = {"item": line["item"], "orderLine": int(line["line"]), "quantity": left}
                if target == "itemReceipt":
                    out.update({"quantityRemaining": left, "itemReceive": True, "restock": True})
                else:
                    quantity = float(line.get("quantity") or 0)
                    out["amount"] = float(line.get("amount") or 0) if left == quantity else round(float(line.get("rate") or 0) * left, 2)
                    if line.get("taxCode"):
                        out["taxCode"] = line["taxCode"]
                if line.get("location"):
                    out["location"] = line["location"]
                lines.append(out)
        if not lines:
            raise RecordError("INVALID_INITIALIZE_REF", f"You can not initialize {kind}: invalid reference {source['internalId']}.")
        record: dict[str, Any] = {"entity": source["entity"], "createdFrom": {"internalId": source["internalId"], "name": source.get("tranId")},
                                  "tranDate": now_iso(), "itemList": lines}
        if target != "itemReceipt":
            record.update({k: source[k] for k in ("subsidiary", "currency", "department", "class", "location") if source.get(k)})
        return record

    def _initialize_one(self, initialize: Any) -> Any:
        read_response = self.schema.messages("ReadResponse")
        target = getattr(initialize, "type", None)
        ref = getattr(initialize, "reference", None)
        try:
            record = self.initialize_record(
                target, getattr(ref, "type", None), getattr(ref, "internalId", None), getattr(ref, "externalId", None)
            )
            return read_response(status=self._status(True), record=self.to_soap(target, record))
        except RecordError as exc:
            return read_response(status=self._status(False, exc.code, exc.message))

    def _op_initialize(self, body, header):
        initialize = body.initializeRecord if hasattr(body, "initializeRecord") else body
        response = self._initialize_one(initialize)
        self.store.add_records_count("initialize", 1 if response.status.isSuccess else 0)
        return {"readResponse": response}

    def _op_initializeList(self, body, header):  # noqa: N802
        records = list(body.initializeRecord or []) if hasattr(body, "initializeRecord") else list(body or [])
        if len(records) > MAX_WRITE_LIST:
            raise SoapFault(
                "ExceededRecordCountFault", "MAX_RCRDS_EXCEEDED",
                f"The maximum number of records for the initializeList operation is {MAX_WRITE_LIST}.",
            )
        responses = [self._initialize_one(record) for record in records]
        self.store.add_records_count("initializeList", sum(1 for r in responses if r.status.isSuccess))
        return {"readResponseList": self.schema.messages("ReadResponseList")(status=self._status(True), readResponse=responses)}

    # ------------------------------------------------------------------ availability
    def _op_getItemAvailability(self, body, header):  # noqa: N802
        flt = body.itemAvailabilityFilter if hasattr(body, "itemAvailabilityFilter") else body
        refs = list(flt.item.recordRef or []) if flt is not None and flt.item is not None else []
        if len(refs) > MAX_AVAILABILITY_ITEMS:
            raise SoapFault(
                "ExceededRecordCountFault",
                "MAX_RCRDS_EXCEEDED",
                f"The maximum number of items for getItemAvailability is {MAX_AVAILABILITY_ITEMS}.",
            )
        since = flt.lastQtyAvailableChange if flt is not None else None
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        core = self.schema.core
        rows = []
        for ref in refs:
            item = self.store.get(
                "inventoryItem", internal_id=ref.internalId if ref.internalId else None,
                external_id=None if ref.internalId else ref.externalId,
            )
            if item is None:
                continue
            changes = self.store.quantity_changes(int(item["internalId"]))
            for row in item.get("locationsList", []):
                location_id = row["locationId"]["internalId"]
                changed = changes.get(int(location_id)) or item.get("lastModifiedDate") or now_iso()
                changed_at = datetime.fromisoformat(changed)
                if since is not None and changed_at <= since:
                    continue
                rows.append(
                    core("ItemAvailability")(
                        item=core("RecordRef")(internalId=item["internalId"], name=item.get("itemId")),
                        lastQtyAvailableChange=changed_at,
                        locationId=core("RecordRef")(internalId=location_id, name=row.get("location")),
                        quantityOnHand=row.get("quantityOnHand", 0.0),
                        quantityOnOrder=row.get("quantityOnOrder", 0.0),
                        quantityCommitted=row.get("quantityCommitted", 0.0),
                        quantityBackOrdered=row.get("quantityBackOrdered", 0.0),
                        quantityAvailable=row.get("quantityAvailable", 0.0),
                    )
                )
        self.store.add_records_count("getItemAvailability", len(rows))
        result = core("GetItemAvailabilityResult")(
            status=self._status(True),
            itemAvailabilityList=core("ItemAvailabilityList")(itemAvailability=rows) if rows else None,
        )
        return {"getItemAvailabilityResult": result}


_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")


def _xml_char_ok(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _sax_message(payload: bytes) -> str:
    """The faultstring NetSuite's Java SAX parser gives for an unparsable envelope (observed:
    "org.xml.sax.SAXParseException; lineNumber: 2; columnNumber: 300; An invalid XML character
    (Unicode: 0x3) was found in the element content of the document.")."""
    text = payload.decode("utf-8", errors="replace")
    for index, char in enumerate(text):
        if not _xml_char_ok(ord(char)):
            line = text.count("\n", 0, index) + 1
            column = index - (text.rfind("\n", 0, index) + 1) + 1
            return (
                f"org.xml.sax.SAXParseException; lineNumber: {line}; columnNumber: {column}; An invalid XML character "
                f"(Unicode: {ord(char):#x}) was found in the element content of the document."
            )
    for match in _CHAR_REF.finditer(payload):
        ref = match.group(1).decode()
        code = int(ref[1:], 16) if ref.startswith("x") else int(ref)
        if not _xml_char_ok(code):
            line = payload.count(b"\n", 0, match.start()) + 1
            column = match.start() - (payload.rfind(b"\n", 0, match.start()) + 1) + len(match.group(0))
            return (
                f"org.xml.sax.SAXParseException; lineNumber: {line}; columnNumber: {column}; Character reference "
                f'"&#{ref}" is an invalid XML character.'
            )
    return "org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 1; Content is not allowed in prolog."


def _malform(answer: bytes, how: str | None) -> bytes:
    """A search page or list read NetSuite should never send, for the hook's defensive checks (fault injection)."""
    if how is None:
        return answer
    root = etree.fromstring(answer)
    if how in ("missing_response", "extra_response"):
        response_list = root.find(".//{*}readResponseList")
        responses = response_list.findall("{*}readResponse") if response_list is not None else []
        if responses and how == "missing_response":
            response_list.remove(responses[-1])
        elif responses:
            response_list.append(copy.deepcopy(responses[-1]))
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")
    result = root.find(".//{*}searchResult")
    if result is None:
        return answer
    if how == "no_status":
        for node in result.findall("{*}status"):
            result.remove(node)
    elif how == "no_record_list":  # (an advanced search's searchRowList likewise)
        for node in [*result.findall("{*}recordList"), *result.findall("{*}searchRowList")]:
            result.remove(node)
        total = result.find("{*}totalRecords")
        if total is None or int(total.text or 0) == 0:
            for name, value in (("totalRecords", "3"), ("totalPages", "1")):
                node = result.find(f"{{*}}{name}")
                if node is not None:
                    node.text = value
    elif how == "page_index":
        node = result.find("{*}pageIndex")
        pages = result.find("{*}totalPages")
        if node is not None:
            node.text = str(int(pages.text or 0) + 5 if pages is not None else 99)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
