"""SuiteTalk REST web services on the NetSuite emulator: the record API, SuiteQL and the OAuth 2.0
token endpoint, over the SAME store and business rules as SOAP (a record written by one is read by the
other). docs/netsuite-quirks.md, "REST backend", lists the behaviours and their sources.

- ``POST /services/rest/record/v1/{type}`` (add), ``PUT .../{type}/eid:{externalId}`` (upsert),
  ``PATCH .../{type}/{id}`` or ``eid:`` (update: keyed sublist lines updated by key, others appended;
  ``?replace=item`` replaces), ``GET .../{type}/{id}`` (``expandSubResources=true`` inlines sublists).
  Writes answer 204 with the record's URL in ``Location``; errors answer NetSuite's REST error JSON
  (``o:errorDetails`` with ``detail`` and ``o:errorCode``; for business rules the code of the SOAP rule).
- ``POST /services/rest/record/v1/{source}/{id}/!transform/{type}``: every pair SOAP ``initialize`` supports
  (sales order -> item fulfillment, cash sale, invoice, return authorization; return authorization -> item
  receipt, credit memo, cash refund), pre-filled and saved by the same code as SOAP ``initialize`` + ``add``;
  with ``Accept: ...; type=create-form`` the pre-filled record, not saved.
- ``POST /services/rest/query/v1/suiteql?limit=&offset=`` (``{"q": "SELECT ..."}``): the subset of SuiteQL
  the hook issues (``SELECT`` columns, ``TO_CHAR``, ``BUILTIN.DF``, ``LOWER`` / ``FROM`` one table /
  ``WHERE`` comparisons, ``IN``, ``LIKE`` joined by ``AND`` / ``ORDER BY``); anything else is refused
  like NetSuite refuses an invalid query. ``limit`` is at most 1,000.
- ``Prefer: respond-async`` on a record write: 202 with the job in ``Location``; ``GET
  /services/rest/async/v1/job/{id}``, ``.../task``, ``.../task/{id}`` and ``.../task/{id}/result`` (the
  response the synchronous request would have given). Jobs run ``rest_async_processors`` at a time.
- ``POST /services/rest/auth/oauth2/v1/token``: client credentials with a JWT assertion, verified against
  the test certificate the sandbox generates (:func:`certificate_pem`); tokens live 60 minutes. REST
  calls take ``Authorization: Bearer`` or TBA (OAuth 1.0a, HMAC-SHA256, realm = account).
- Governance: REST requests share the account's concurrency limit with SOAP; over it they get 429
  ``CONCURRENCY_LIMIT_EXCEEDED``. Faults injected with ``POST /_sandbox/faults`` on the operations
  ``restAdd``, ``restUpsert``, ``restUpdate``, ``restGet``, ``suiteql``, ``asyncJob`` and ``token``
  (``status`` only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from sandbox.netsuite.rules import RecordError
from sandbox.netsuite.schema import RECORD_TYPES
from sandbox.netsuite.service import NetSuiteService
from sandbox.netsuite.store import Store

log = logging.getLogger(__name__)

#: sandbox-only OAuth 2.0 client credentials: client ID of the integration record and the certificate ID
#: NetSuite shows when the certificate is mapped (Setup > Integration > OAuth 2.0 Client Credentials Setup)
CLIENT_ID = "sandbox0client0id000000000000000000000000000000000000000000000000"
CERTIFICATE_ID = "sandbox0certificate0id0000000000000000000000000"
#: a fixed P-256 scalar: the test key pair is derived, not stored (it unlocks nothing but this emulator)
_KEY_SCALAR = int.from_bytes(b"amazon-netsuite sandbox M2M key!", "big")
TOKEN_LIFETIME_SECONDS = 3600
JWT_ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
MAX_LIMIT = 1000
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles "
    "> User Management > View Login Audit Trail."
)
DATE_FIELDS = frozenset({"tranDate", "startDate", "endDate", "dueDate", "shipDate"})
NUMBER_FIELDS = frozenset({"rate"})
SUBLISTS = {"addressBook": "addressbookList", "locations": "locationsList"}
FIELD_NAMES = {"addressBookAddress": "addressbookAddress"}
ORDER_STATUS = {"A": "_pendingApproval", "B": "_pendingFulfillment", "C": "_cancelled", "D": "_partiallyFulfilled",
                "E": "_pendingBillingPartFulfilled", "F": "_pendingBilling", "G": "_fullyBilled", "H": "_closed"}
#: a return authorization's orderStatus select (saved-search status letters RtnAuth:A..H)
RETURN_STATUS = {"A": "_pendingApproval", "B": "_pendingReceipt", "C": "_cancelled", "D": "_partiallyReceived",
                 "E": "_pendingRefundPartReceived", "F": "_pendingRefund", "G": "_refunded", "H": "_closed"}
#: record types whose orderStatus is not the sales order's
TYPED_ORDER_STATUS = {"returnAuthorization": RETURN_STATUS}
_CUSTOM = re.compile(r"^cust(body|entity|col|item|event|record)_")
TRANSACTION_TYPES = {
    "salesOrder": "SalesOrd", "cashSale": "CashSale", "invoice": "CustInvc", "itemFulfillment": "ItemShip",
    "returnAuthorization": "RtnAuth", "creditMemo": "CustCred", "cashRefund": "CashRfnd", "journalEntry": "Journal",
    "inventoryAdjustment": "InvAdjst", "transferOrder": "TrnfrOrd", "itemReceipt": "ItemRcpt",
}
ITEM_TYPES = {"inventoryItem": "InvtPart", "otherChargeSaleItem": "OthCharge"}
#: ItemFulfillment.shipStatus (SOAP) -> SuiteQL transaction.shipstatus
SHIP_STATUS = {"_picked": "A", "_packed": "B", "_shipped": "C"}
#: link types the sandbox's previoustransactionlinelink holds (filtering on any other is refused)
EMULATED_LINK_TYPES = frozenset({"ShipRcpt"})
#: transactions created from another (record type -> source types), one previoustransactionlinelink row per
#: line naming its source line (``orderLine``), with the link type where it is known (None otherwise: such
#: rows are found by ``nexttype``, the record's SuiteQL type, never by ``linktype``)
LINKED_TYPES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "itemFulfillment": (("salesOrder", "transferOrder"), "ShipRcpt"),
    "itemReceipt": (("returnAuthorization",), "ShipRcpt"),
    "cashSale": (("salesOrder",), None), "invoice": (("salesOrder",), None),
    "returnAuthorization": (("salesOrder",), None),
    "creditMemo": (("returnAuthorization",), None), "cashRefund": (("returnAuthorization",), None),
}


def _countries() -> tuple[dict[str, str], dict[str, str]]:
    from amazon_netsuite.netsuite.countries import COUNTRIES

    return COUNTRIES, {v: k for k, v in COUNTRIES.items() if k != "UK"}


# ----------------------------------------------------------------------------------------------
# the test certificate
# ----------------------------------------------------------------------------------------------
def private_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.derive_private_key(_KEY_SCALAR, ec.SECP256R1())


def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def certificate_pem() -> str:
    """The self-signed X.509 certificate an administrator would upload (public part of the key pair)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "amazon-netsuite sandbox integration")])
    start = datetime(2025, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=730 * 2))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# ----------------------------------------------------------------------------------------------
# JSON <-> store shape
# ----------------------------------------------------------------------------------------------
class RestError(Exception):
    def __init__(self, status: int, code: str, detail: str, *, path: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path


def error_response(status: int, code: str, detail: str, *, path: str | None = None) -> Response:
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
              500: "Internal Server Error", 503: "Service Unavailable"}
    detail_entry = {"detail": detail, "o:errorCode": code}
    if path:
        detail_entry["o:errorPath"] = path
    body = {"type": f"https://www.rfc-editor.org/rfc/rfc9110.html#name-{status}", "title": titles.get(status, "Error"),
            "status": status, "o:errorDetails": [detail_entry]}
    return Response(json.dumps(body), status_code=status, media_type="application/vnd.oracle.resource+json; type=error")


def _store_value(key: str, value: Any, path: str) -> Any:
    countries, _ = _countries()
    if key == "doc":  # an apply line's document is a reference in REST ("doc": {"id": "104"}), a long in SOAP
        if not (isinstance(value, dict) and set(value) <= {"id", "refName", "links"} and str(value.get("id", "")).isdigit()):
            raise RestError(400, "INVALID_VALUE", f"Invalid value {value!r} for field doc: give a reference, {{\"id\": ...}}.",
                            path=path)
        return int(value["id"])
    if isinstance(value, dict):
        if "items" in value and set(value) <= {"items", "links"}:
            return [_store_value(key, item, path) for item in value["items"]]
        if set(value) <= {"id", "refName", "links"} and "id" in value:
            if key == "country":
                enum = countries.get(str(value["id"]).upper())
                if enum is None:
                    raise RestError(400, "INVALID_VALUE", f"Invalid value {value['id']!r} for field country.", path=path)
                return enum
            if key == "orderStatus":
                if str(value["id"]) not in ORDER_STATUS:
                    raise RestError(400, "INVALID_VALUE", f"Invalid value {value['id']!r} for field orderStatus.", path=path)
                return ORDER_STATUS[str(value["id"])]
            return {"internalId": str(value["id"])}
        if "externalId" in value and set(value) <= {"externalId", "refName"}:
            raise RestError(400, "INVALID_VALUE", f"Invalid reference for field {key}: give the record's id.", path=path)
        return to_store(value, path)
    if isinstance(value, list):
        return [_store_value(key, item, path) for item in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    if key in DATE_FIELDS and isinstance(value, str):
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            day = datetime.fromisoformat(value)
        except ValueError:
            raise RestError(400, "INVALID_VALUE", f"Invalid date value {value!r} for field {key} (use YYYY-MM-DD).",
                            path=path) from None
        return day.replace(hour=12, tzinfo=UTC).isoformat()
    return value


def to_store(body: dict[str, Any], path: str = "", record_type: str | None = None) -> dict[str, Any]:
    """REST JSON -> the store's record shape (the SOAP record as JSON); ``record_type`` reads a top-level
    ``orderStatus`` with that type's select (a return authorization's is not the sales order's)."""
    out: dict[str, Any] = {}
    custom = []
    nulls = []
    for key, value in body.items():
        where = f"{path}.{key}" if path else key
        if value is None and not path and key not in ("id", "links", "refName"):
            nulls.append(FIELD_NAMES.get(key, key))  # a body field sent as null is cleared (on update)
            continue
        if key in ("id", "links", "refName") or value is None:
            continue
        if key == "orderStatus" and record_type in TYPED_ORDER_STATUS:
            letter = str(value.get("id")) if isinstance(value, dict) else None
            if letter not in TYPED_ORDER_STATUS[record_type]:
                raise RestError(400, "INVALID_VALUE", f"Invalid value {value!r} for field orderStatus.", path=where)
            out[key] = TYPED_ORDER_STATUS[record_type][letter]
            continue
        if _CUSTOM.match(key):
            custom.append({"scriptId": key, "value": _store_value(key, value, where)})
            continue
        if isinstance(value, dict) and "items" in value and set(value) <= {"items", "links"}:
            if not isinstance(value["items"], list):
                raise RestError(400, "INVALID_CONTENT", f"Sublist {key} needs an items array.", path=where)
            out[SUBLISTS.get(key, f"{key}List")] = [to_store(line, where) if isinstance(line, dict) else line
                                                    for line in value["items"]]
            continue
        out[FIELD_NAMES.get(key, key)] = _store_value(key, value, where)
    if custom:
        out["customFieldList"] = custom
    if nulls:
        out["__null__"] = nulls
    return out


def _rest_value(key: str, value: Any) -> Any:
    _, iso_of = _countries()
    if key == "doc" and isinstance(value, int | str) and not isinstance(value, bool):
        return {"id": str(value)}
    if isinstance(value, dict):
        if value.get("internalId") is not None and set(value) <= {"internalId", "externalId", "name", "type"}:
            ref = {"id": str(value["internalId"])}
            if value.get("name"):
                ref["refName"] = value["name"]
            return ref
        return to_rest(value, expand=True)
    if isinstance(value, list):
        return {"items": [_rest_value(key, item) for item in value]}
    if key == "country" and isinstance(value, str) and value in iso_of:
        return {"id": iso_of[value], "refName": iso_of[value]}
    if key == "orderStatus" and isinstance(value, str):
        back = {v: k for k, v in ORDER_STATUS.items()}
        return {"id": back.get(value, value)}
    if key in DATE_FIELDS and isinstance(value, str) and "T" in value:
        return value[:10]
    if key in NUMBER_FIELDS and isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return Decimal(value)  # SOAP types rate as a string (it may hold a percentage); REST as a number
    return value


def to_rest(record: dict[str, Any], *, expand: bool, record_type: str | None = None) -> dict[str, Any]:
    """The store's record -> REST JSON; without ``expand`` sublists are left out (links only)."""
    out: dict[str, Any] = {"links": []}
    for key, value in record.items():
        if key == "internalId":
            out["id"] = str(value)
        elif key == "orderStatus" and record_type in TYPED_ORDER_STATUS and isinstance(value, str):
            back = {name: letter for letter, name in TYPED_ORDER_STATUS[record_type].items()}
            out[key] = {"id": back.get(value, value)}
        elif key == "customFieldList":
            for entry in value or []:
                if entry.get("scriptId"):
                    out[entry["scriptId"]] = _rest_value(entry["scriptId"], entry.get("value"))
        elif isinstance(value, list) and key.endswith("List") and key != "subsidiaryList":
            if expand:
                back = {v: k for k, v in SUBLISTS.items()}
                out[back.get(key, key[: -len("List")])] = {
                    "links": [], "items": [to_rest(line, expand=True) if isinstance(line, dict) else line for line in value]
                }
        else:
            out[{v: k for k, v in FIELD_NAMES.items()}.get(key, key)] = _rest_value(key, value)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # JSON numbers; the client reads them back with parse_float=Decimal
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=_json_default), status_code=status, media_type="application/json")


# ----------------------------------------------------------------------------------------------
# SuiteQL (the subset the hook issues)
# ----------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|<>|!=|[=<>(),*])"
                    r"|(?P<id>[A-Za-z_][A-Za-z0-9_.]*))")
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "IN", "LIKE", "AS", "ORDER", "BY", "ASC", "DESC", "NOT", "INNER", "JOIN", "ON"}
FUNCTIONS = {"TO_CHAR", "TO_TIMESTAMP", "TO_DATE", "LOWER", "UPPER", "BUILTIN.DF"}


class SuiteQLError(Exception):
    pass


def _tokens(sql: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    sql = sql.strip()
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if match is None or match.end() == pos:
            raise SuiteQLError(f"Unexpected character at position {pos}.")
        pos = match.end()
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "id" and text.upper() in _KEYWORDS:
            out.append(("kw", text.upper()))
        elif kind == "str":
            out.append(("str", text[1:-1].replace("''", "'")))
        else:
            out.append((kind, text))
    return out


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = _tokens(sql)
        self.pos = 0

    def peek(self, value: str | None = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        return value is None or self.tokens[self.pos][1].upper() == value

    def take(self, value: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens) or (value is not None and self.tokens[self.pos][1].upper() != value):
            got = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of query"
            raise SuiteQLError(f"Expected {value or 'a token'} but found {got!r}.")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expr(self) -> tuple:
        kind, text = self.take()
        if kind == "str":
            return ("lit", text)
        if kind == "num":
            return ("lit", Decimal(text))
        if kind != "id":
            raise SuiteQLError(f"Unexpected {text!r}.")
        if self.peek("("):
            name = text.upper()
            if name not in FUNCTIONS:
                raise SuiteQLError(f"Unknown function {text}.")
            self.take("(")
            args = [self.expr()]
            while self.peek(","):
                self.take(",")
                args.append(self.expr())
            self.take(")")
            return ("fn", name, args)
        return ("col", text.lower())

    def parse(self) -> dict[str, Any]:
        self.take("SELECT")
        columns = []
        while True:
            expr = self.expr()
            alias = None
            if self.peek("AS"):
                self.take("AS")
                alias = self.take()[1].lower()
            elif expr[0] == "col":
                alias = expr[1]
            else:
                raise SuiteQLError("Give an alias (AS name) to every computed column.")
            columns.append((alias, expr))
            if not self.peek(","):
                break
            self.take(",")
        self.take("FROM")
        kind, table = self.take()
        if kind != "id":
            raise SuiteQLError("Expected a table after FROM.")
        alias = self.alias()
        joins = []
        while self.peek("INNER") or self.peek("JOIN"):
            if self.peek("INNER"):
                self.take("INNER")
            self.take("JOIN")
            kind, joined = self.take()
            if kind != "id":
                raise SuiteQLError("Expected a table after JOIN.")
            joined_alias = self.alias()
            if joined_alias is None or alias is None:
                raise SuiteQLError("The sandbox joins aliased tables only (FROM a AS x INNER JOIN b AS y ON ...).")
            self.take("ON")
            keys = []
            while True:
                left, _, right = self.expr(), self.take("="), self.expr()
                if left[0] != "col" or right[0] != "col":
                    raise SuiteQLError("The sandbox joins ON column = column conditions only.")
                keys.append((left[1], right[1]))
                if not self.peek("AND"):
                    break
                self.take("AND")
            joins.append((joined.lower(), joined_alias, keys))
        conditions = []
        if self.peek("WHERE"):
            self.take("WHERE")
            while True:
                left = self.expr()
                if self.peek("IN"):
                    self.take("IN")
                    self.take("(")
                    values = [self.expr()]
                    while self.peek(","):
                        self.take(",")
                        values.append(self.expr())
                    self.take(")")
                    conditions.append(("in", left, values))
                elif self.peek("LIKE"):
                    self.take("LIKE")
                    conditions.append(("like", left, self.expr()))
                else:
                    kind, op = self.take()
                    if op not in ("=", "<=", ">=", "<", ">", "<>", "!="):
                        raise SuiteQLError(f"Unsupported operator {op!r}.")
                    conditions.append((op, left, self.expr()))
                if not self.peek("AND"):
                    break
                self.take("AND")
        order = []
        if self.peek("ORDER"):
            self.take("ORDER")
            self.take("BY")
            while True:
                order.append(self.expr())
                if self.peek("ASC") or self.peek("DESC"):
                    self.take()
                if not self.peek(","):
                    break
                self.take(",")
        if self.pos != len(self.tokens):
            raise SuiteQLError(f"Unexpected {self.tokens[self.pos][1]!r}.")
        return {"columns": columns, "table": table.lower(), "alias": alias, "joins": joins, "where": conditions,
                "order": order}

    def alias(self) -> str | None:
        if self.peek("AS"):
            self.take("AS")
            return self.take()[1].lower()
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "id":
            return self.take()[1].lower()
        return None


def _fmt(value: Any, fmt: str) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    python = {"YYYY-MM-DD": "%Y-%m-%d", "YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S"}.get(fmt)
    if python is None:
        raise SuiteQLError(f"Unsupported format {fmt!r} (the sandbox knows YYYY-MM-DD and YYYY-MM-DD HH24:MI:SS).")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)  # the sandbox account's time zone is UTC
    return moment.strftime(python)


def _stamp(text: str, fmt: str) -> str:
    python = {"YYYY-MM-DD": "%Y-%m-%d", "YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S"}.get(fmt)
    if python is None:
        raise SuiteQLError(f"Unsupported format {fmt!r}.")
    return datetime.strptime(text, python).replace(tzinfo=UTC).isoformat()


def _flag(value: Any) -> str:
    return "T" if value else "F"


def _ref_id(value: Any) -> str | None:
    return str(value["internalId"]) if isinstance(value, dict) and value.get("internalId") else None


_CUSTOM_COLUMN = re.compile(r"^cust(body|entity|col|item|event|record)_[a-z0-9_]+$")


def _custom_columns(record: dict[str, Any]) -> dict[str, Any]:
    """A record's custom fields as SuiteQL columns (script id in lower case): check boxes ``'T'``/``'F'``,
    selects their option's internal id, the rest as stored."""
    out: dict[str, Any] = {}
    for entry in record.get("customFieldList") or []:
        script_id = str(entry.get("scriptId") or "").lower()
        if not script_id:
            continue
        value = entry.get("value")
        if isinstance(value, bool):
            value = _flag(value)
        elif isinstance(value, dict):
            value = _ref_id(value)
        elif isinstance(value, list):
            value = ", ".join(str(_ref_id(v) or v) for v in value)
        out[script_id] = value
    return out


#: SuiteQL ``transaction.status`` of a sales order (the letters of ``SalesOrd:A`` ... ``SalesOrd:H``) and of a
#: return authorization (``RtnAuth:A`` ... ``H``)
SALES_ORDER_STATUS = {v: k for k, v in ORDER_STATUS.items()}
RETURN_STATUS_LETTER = {v: k for k, v in RETURN_STATUS.items()}


def _status_letter(record_type: str, record: dict[str, Any]) -> str | None:
    """``transaction.status`` of the types whose status the sandbox keeps (None on the others)."""
    if record_type == "salesOrder":
        return SALES_ORDER_STATUS.get(record.get("orderStatus"))
    if record_type == "returnAuthorization":
        return RETURN_STATUS_LETTER.get(record.get("orderStatus"))
    if record_type == "itemFulfillment":
        return SHIP_STATUS.get(record.get("shipStatus"))
    return None


def table_rows(store: Store, table: str) -> list[dict[str, Any]]:
    """SuiteQL rows of a table (lower-case columns, T/F booleans, ids as text), with ``_df`` display names."""
    rows: list[dict[str, Any]] = []
    if table == "customer":
        for record, stamp in store.all_with_modified("customer"):
            rows.append({
                "id": record["internalId"], "externalid": record.get("externalId"), "entityid": record.get("entityId"),
                "companyname": record.get("companyName"), "firstname": record.get("firstName"),
                "lastname": record.get("lastName"), "email": record.get("email"), "isperson": _flag(record.get("isPerson")),
                "isinactive": _flag(record.get("isInactive")), "subsidiary": _ref_id(record.get("subsidiary")),
                "lastmodifieddate": stamp,
            })
    elif table == "transaction":
        for record_type, code in TRANSACTION_TYPES.items():
            if record_type not in RECORD_TYPES:
                continue
            for record, stamp in store.all_with_modified(record_type):
                rows.append({
                    "id": record["internalId"], "externalid": record.get("externalId"), "type": code,
                    "tranid": record.get("tranId"), "trandate": record.get("tranDate"),
                    "entity": _ref_id(record.get("entity")), "currency": _ref_id(record.get("currency")),
                    "memo": record.get("memo"), "lastmodifieddate": stamp,
                    "shipstatus": SHIP_STATUS.get(record.get("shipStatus")) if record_type == "itemFulfillment" else None,
                    "exchangerate": Decimal(str(record.get("exchangeRate") or 1)),
                    # an invoice's open amount in the transaction currency (SOAP amountRemaining)
                    "foreignamountunpaid": Decimal(str(record["amountRemaining"]))
                    if record_type == "invoice" and record.get("amountRemaining") is not None else None,
                    "status": _status_letter(record_type, record),
                    "foreigntotal": Decimal(str(record["total"])) if record.get("total") is not None else None,
                    **_custom_columns(record),
                })
    elif table == "previoustransactionlinelink":
        # one row per line of a transaction created from another, naming the source line (LINKED_TYPES);
        # run_suiteql refuses a query that filters on a link type the sandbox does not emulate
        for record_type, (sources, link_type) in LINKED_TYPES.items():
            for record, _ in store.all_with_modified(record_type):
                source = _ref_id(record.get("createdFrom"))
                if source is None:
                    continue
                source_type = next((TRANSACTION_TYPES[t] for t in sources if store.get(t, internal_id=source) is not None), None)
                for number, line in enumerate(record.get("itemList") or [], start=1):
                    if line.get("orderLine") is None:
                        continue  # a line added on the document (a charge) links to no source line
                    rows.append({
                        "previousdoc": source, "previousline": str(line["orderLine"]), "previoustype": source_type,
                        "nextdoc": record["internalId"], "nextline": str(line.get("line") or number),
                        "nexttype": TRANSACTION_TYPES[record_type], "linktype": link_type,
                    })
    elif table in ("transactionaccountingline", "transactionline"):
        # the GL impact of every posting record (sandbox/netsuite/gl.py), one accounting line per GL line with
        # the transaction line it belongs to; transactionline holds only those lines, so it is answered only
        # joined to transactionaccountingline (run_suiteql refuses it alone)
        from sandbox.netsuite import gl

        counters: dict[str, int] = {}
        for _record_type, record, (account, subsidiary, _currency, amount) in gl.posting_lines(store):
            ident = str(record["internalId"])
            counters[ident] = counters.get(ident, 0) + 1
            rate = Decimal(str(record.get("exchangeRate") or 1))
            base = (amount * rate).quantize(Decimal("0.01"))
            if table == "transactionaccountingline":
                rows.append({
                    "transaction": ident, "transactionline": str(counters[ident]), "account": account,
                    "accountingbook": "1", "amount": base, "netamount": base, "debit": base if base > 0 else None,
                    "credit": -base if base < 0 else None, "exchangerate": rate, "posting": "T",
                })
            else:
                rows.append({
                    "transaction": ident, "id": str(counters[ident]), "subsidiary": subsidiary, "foreignamount": amount,
                    "createdfrom": _ref_id(record.get("createdFrom")), "mainline": "F",
                })
    elif table == "item":
        for record_type, code in ITEM_TYPES.items():
            for record, stamp in store.all_with_modified(record_type):
                rows.append({
                    "id": record["internalId"], "externalid": record.get("externalId"), "itemtype": code,
                    "itemid": record.get("itemId"), "displayname": record.get("displayName"),
                    "isinactive": _flag(record.get("isInactive")), "lastmodifieddate": stamp,
                    "salesdescription": record.get("salesDescription"), "upccode": record.get("upcCode"),
                    **_custom_columns(record),
                })
    elif table == "accountingperiod":
        for record, _ in store.all_with_modified("accountingPeriod"):
            rows.append({
                "id": record["internalId"], "periodname": record.get("periodName"), "startdate": record.get("startDate"),
                "enddate": record.get("endDate"), "closed": _flag(record.get("closed")),
                "alllocked": _flag(record.get("allLocked")), "isquarter": _flag(record.get("isQuarter")),
                "isyear": _flag(record.get("isYear")), "fiscalcalendar": _ref_id(record.get("fiscalCalendar")),
            })
    elif table in ("account", "subsidiary", "location", "currency"):
        for record, _ in store.all_with_modified(table):
            rows.append({
                "id": record["internalId"], "externalid": record.get("externalId"), "name": record.get("name"),
                "acctnumber": record.get("acctNumber"), "acctname": record.get("acctName"),
                "currency": _ref_id(record.get("currency")), "fiscalcalendar": _ref_id(record.get("fiscalCalendar")),
                "symbol": record.get("symbol"), "isinactive": _flag(record.get("isInactive")),
            })
    elif table == "inventoryitemlocations":
        for record, _ in store.all_with_modified("inventoryItem"):
            changes = store.quantity_changes(int(record["internalId"]))
            for row in record.get("locationsList") or []:
                location = _ref_id(row.get("locationId"))
                rows.append({
                    "item": record["internalId"], "location": location,
                    "_df_location": (row.get("locationId") or {}).get("name") or row.get("location"),
                    "quantityonhand": row.get("quantityOnHand"), "quantityavailable": row.get("quantityAvailable"),
                    "quantitycommitted": row.get("quantityCommitted"), "quantityonorder": row.get("quantityOnOrder"),
                    "quantitybackordered": row.get("quantityBackOrdered"),
                    "lastquantityavailablechange": changes.get(int(location)) if location else None,
                })
    else:
        raise SuiteQLError(f"Record '{table}' was not found.")
    return rows


def _joined(store: Store, query: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inner joins on column equality; the joined rows' columns are qualified by alias (``t.trandate``)."""
    if query["table"] != "transactionaccountingline":
        raise SuiteQLError("The sandbox joins from transactionaccountingline only.")
    out = [{f"{query['alias']}.{k}": v for k, v in row.items()} for row in rows]
    for table, alias, keys in query["joins"]:
        if table not in ("transaction", "transactionline"):
            raise SuiteQLError(f"The sandbox does not join {table}.")
        right_rows = table_rows(store, table)
        pairs = []
        for left, right in keys:  # (column of the joined table, column of the rows so far), either side
            if left.startswith(f"{alias}.") and not right.startswith(f"{alias}."):
                pairs.append((left, right))
            elif right.startswith(f"{alias}.") and not left.startswith(f"{alias}."):
                pairs.append((right, left))
            else:
                raise SuiteQLError(f"Join condition {left} = {right} does not name {alias} on one side.")
        index: dict[tuple, list[dict[str, Any]]] = {}
        for row in right_rows:
            key = tuple(str(row.get(col.split(".", 1)[1])) for col, _ in pairs)
            index.setdefault(key, []).append({f"{alias}.{k}": v for k, v in row.items()})
        joined = []
        for row in out:
            if any(other not in row for _, other in pairs):
                raise SuiteQLError(f"Field {', '.join(o for _, o in pairs if o not in row)} was not found.")
            key = tuple(str(row.get(other)) for _, other in pairs)
            joined.extend({**row, **match} for match in index.get(key, []))
        out = joined
    return out


def run_suiteql(store: Store, sql: str) -> list[dict[str, Any]]:
    query = _Parser(sql).parse()
    if query["table"] == "previoustransactionlinelink":
        link_types = [cond for cond in query["where"] if cond[1] == ("col", "linktype")]
        by_type = any(cond[1] == ("col", "nexttype") for cond in query["where"])
        if (not link_types and not by_type) or not all(
            cond[0] == "=" and cond[2][0] == "lit" and cond[2][1] in EMULATED_LINK_TYPES for cond in link_types
        ):
            raise SuiteQLError("The sandbox's PreviousTransactionLineLink holds the links of documents created from "
                               "another; filter on nexttype, or on linktype = 'ShipRcpt' (the only link type emulated).")
    if query["table"] == "transactionline":
        raise SuiteQLError("The sandbox answers transactionline only joined to transactionaccountingline.")
    rows = table_rows(store, query["table"])
    if query["joins"]:
        rows = _joined(store, query, rows)
    known = set().union(*(row.keys() for row in rows)) if rows else None

    def value(expr: tuple, row: dict[str, Any]) -> Any:
        if expr[0] == "lit":
            return expr[1]
        if expr[0] == "col":
            # a custom field column is null on a record that holds no value (the emulator does not model
            # which custom fields the account defines: every cust..._ script id exists)
            if known is not None and expr[1] not in known and not _CUSTOM_COLUMN.match(expr[1].rsplit(".", 1)[-1]):
                raise SuiteQLError(f"Field '{expr[1]}' for record '{query['table']}' was not found.")
            return row.get(expr[1])
        _, name, args = expr
        if name == "LOWER":
            inner = value(args[0], row)
            return inner.lower() if isinstance(inner, str) else inner
        if name == "UPPER":
            inner = value(args[0], row)
            return inner.upper() if isinstance(inner, str) else inner
        if name == "TO_CHAR":
            return _fmt(value(args[0], row), str(value(args[1], row)))
        if name in ("TO_TIMESTAMP", "TO_DATE"):
            return _stamp(str(value(args[0], row)), str(value(args[1], row)))
        if name == "BUILTIN.DF":
            column = args[0][1] if args[0][0] == "col" else None
            return row.get(f"_df_{column}") if column else None
        raise SuiteQLError(f"Unknown function {name}.")

    def compare(op: str, left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        if isinstance(right, Decimal) or isinstance(left, Decimal):
            left, right = Decimal(str(left)), Decimal(str(right))
        elif op in ("<=", ">=", "<", ">"):  # timestamps compare as instants
            left = datetime.fromisoformat(str(left))
            right = datetime.fromisoformat(str(right))
        else:
            left, right = str(left), str(right)
        return {"=": left == right, "<>": left != right, "!=": left != right, "<=": left <= right,
                ">=": left >= right, "<": left < right, ">": left > right}[op]

    def like(text: Any, pattern: str) -> bool:
        if text is None:
            return False
        regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, str(text), flags=re.DOTALL) is not None

    out = []
    for row in rows:
        ok = True
        for cond in query["where"]:
            left = value(cond[1], row)
            if cond[0] == "in":
                ok = any(compare("=", left, value(v, row)) for v in cond[2])
            elif cond[0] == "like":
                ok = like(left, str(value(cond[2], row)))
            else:
                ok = compare(cond[0], left, value(cond[2], row))
            if not ok:
                break
        if ok:
            out.append(row)
    for expr in reversed(query["order"]):
        def sort_key(row: dict[str, Any], expr=expr) -> Any:
            item = value(expr, row)
            try:
                return (0, Decimal(str(item)), "")
            except Exception:  # noqa: BLE001 - text sorts after numbers
                return (1, Decimal(0), str(item or ""))
        out.sort(key=sort_key)
    result = []
    for row in out:
        item = {"links": []}
        for alias, expr in query["columns"]:
            item[alias] = value(expr, row)
        result.append(item)
    return result


# ----------------------------------------------------------------------------------------------
# routes
# ----------------------------------------------------------------------------------------------
class RestState:
    def __init__(self) -> None:
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()
        self.public_key = private_key().public_key()
        #: asynchronous jobs: id -> {"completed", "progress", "status", "headers", "body", started/ended}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_ids = iter(range(1, 10**9))
        self.running = 0


def _verify_tba(service: NetSuiteService, request: Request, header: str) -> bool:
    from oauthlib.oauth1.rfc5849 import signature
    from oauthlib.oauth1.rfc5849.utils import escape, parse_authorization_header

    creds = service.credentials
    try:
        params = dict(parse_authorization_header(header))
    except Exception:  # noqa: BLE001 - malformed header
        return False
    if params.get("oauth_signature_method") != "HMAC-SHA256":
        return False
    if params.get("realm") != creds.account or params.get("oauth_consumer_key") != creds.consumer_key \
            or params.get("oauth_token") != creds.token_id:
        return False
    try:
        if abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 300:
            return False
    except ValueError:
        return False
    query = list(request.query_params.multi_items())
    collected = [(k, v) for k, v in params.items() if k not in ("realm", "oauth_signature")] + query
    normalized = signature.normalize_parameters(collected)
    uri = signature.base_string_uri(str(request.url).split("?", 1)[0])
    base = signature.signature_base_string(request.method.upper(), uri, normalized)
    key = f"{escape(creds.consumer_secret)}&{escape(creds.token_secret)}".encode()
    expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    if not secrets.compare_digest(expected, unquote(params.get("oauth_signature", ""))):
        return False
    nonce = f"{params.get('oauth_token')}:{params.get('oauth_nonce')}"
    with service._gate:  # a nonce is used once, as for SOAP's token passport
        if nonce in service._nonce_set:
            return False
        if len(service._nonces) == service._nonces.maxlen:
            service._nonce_set.discard(service._nonces[0])
        service._nonces.append(nonce)
        service._nonce_set.add(nonce)
    return True


ASYNC_OPERATIONS = frozenset({"restAdd", "restUpsert", "restUpdate", "restTransform"})


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_rest_routes(app: FastAPI, service: NetSuiteService, store: Store) -> None:
    state = RestState()

    def authenticated(request: Request) -> bool:
        header = request.headers.get("authorization") or ""
        if header.startswith("Bearer "):
            with state.lock:
                expiry = state.tokens.get(header[len("Bearer "):])
            return expiry is not None and expiry > time.time()
        if header.startswith("OAuth "):
            return _verify_tba(service, request, header)
        return False

    def governed(operation: str, request: Request, work: Callable[[], Response]) -> Response:
        if not service._acquire():
            store.count_call(operation, throttled=True)
            return error_response(429, "CONCURRENCY_LIMIT_EXCEEDED",
                                  "Concurrent request limit exceeded. Request blocked.")
        try:
            service.sleep(service.config.latency_ms / 1000)
            store.count_call(operation)
            if not authenticated(request):
                log.warning("NetSuite sandbox: REST %s refused: no valid bearer token or TBA signature", operation)
                return error_response(401, "INVALID_LOGIN", INVALID_LOGIN)
            injected = service._take_fault(operation)
            if injected is not None and not injected.after:
                return _injected(injected)
            if "respond-async" in (request.headers.get("prefer") or "") and operation in ASYNC_OPERATIONS:
                return submit(request, work)
            try:
                answer = work()
            except RestError as exc:
                answer = error_response(exc.status, exc.code, exc.detail, path=exc.path)
            except RecordError as exc:
                answer = error_response(400, exc.code, f"Error while accessing a resource. {exc.message}")
            if injected is not None:
                return _injected(injected)
            return answer
        finally:
            service._release()

    def submit(request: Request, work: Callable[[], Response]) -> Response:
        """``Prefer: respond-async``: queue the work on the async processors, answer 202 with the job."""
        with state.lock:
            job_id = str(next(state.job_ids))
            state.jobs[job_id] = {"completed": False, "progress": "pending", "start": now_stamp()}

        def run() -> None:
            while True:  # wait for a free async processor (config rest_async_processors)
                with state.lock:
                    if state.running < service.config.rest_async_processors:
                        state.running += 1
                        break
                time.sleep(0.002)
            try:
                try:
                    answer = work()
                except RestError as exc:
                    answer = error_response(exc.status, exc.code, exc.detail, path=exc.path)
                except RecordError as exc:
                    answer = error_response(400, exc.code, f"Error while accessing a resource. {exc.message}")
                except Exception as exc:  # noqa: BLE001 - a job fails, the server goes on
                    answer = error_response(500, "UNEXPECTED_ERROR", f"{type(exc).__name__}")
            finally:
                with state.lock:
                    state.running -= 1
            with state.lock:
                state.jobs[job_id].update(
                    completed=True, progress="succeeded" if answer.status_code < 400 else "failed", end=now_stamp(),
                    status=answer.status_code, headers=dict(answer.headers), body=answer.body,
                )

        threading.Thread(target=run, name=f"rest-async-{job_id}", daemon=True).start()
        return Response(status_code=202, headers={"Preference-Applied": "respond-async",
                                                  "Location": f"{base_of(request)}/services/rest/async/v1/job/{job_id}"},
                        media_type="application/json")

    def _injected(injected) -> Response:
        status = injected.status or 500
        if status == 429:
            return error_response(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.")
        if status >= 500:
            return Response("<html><body>Service Unavailable</body></html>", status_code=status, media_type="text/html")
        return error_response(status, injected.code or "USER_ERROR", injected.message or "Injected error.")

    def record_type_of(record_type: str) -> str:
        if record_type not in RECORD_TYPES:
            raise RestError(404, "NONEXISTENT_ID", f"Record type '{record_type}' does not exist.")
        return record_type

    def find(record_type: str, key: str) -> dict[str, Any] | None:
        key = unquote(key)
        if key.startswith("eid:"):
            return store.get(record_type, external_id=key[4:])
        if not key.isdigit():
            raise RestError(400, "INVALID_ID", f"Invalid record id {key!r}.")
        return store.get(record_type, internal_id=key)

    def record_cost(data: dict[str, Any]) -> float:
        lines = sum(len(v) for k, v in data.items() if isinstance(v, list) and k.endswith("List")
                    and k not in ("customFieldList", "subsidiaryList"))
        return (service.config.latency_per_record_ms + service.config.latency_per_line_ms * lines) / 1000

    def body_of(raw: bytes) -> dict[str, Any]:
        if len(raw) > service.config.max_request_bytes:
            raise RestError(413, "REQUEST_TOO_LARGE", "The request is larger than the limit.")
        try:
            body = json.loads(raw or b"{}", parse_float=Decimal)
        except ValueError:
            raise RestError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise RestError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        return body

    def location(request: Request, record_type: str, record: dict[str, Any]) -> Response:
        base = base_of(request)
        return Response(status_code=204, headers={"Location": f"{base}/services/rest/record/v1/{record_type}/{record['internalId']}"})

    def flags_for(request: Request, data: dict[str, Any]) -> dict[str, bool]:
        replaced = {SUBLISTS.get(s.strip(), f"{s.strip()}List") for s in request.query_params.get("replace", "").split(",") if s.strip()}
        return {key: key in replaced for key, value in data.items() if isinstance(value, list) and key.endswith("List")}

    async def add(record_type: str, request: Request) -> Response:
        raw = await request.body()

        def work() -> Response:
            kind = record_type_of(record_type)
            data = to_store(body_of(raw), record_type=kind)
            data.pop("__null__", None)  # nothing to clear on a new record
            store.add_records_count("restAdd", 1)
            with store.transaction():
                record = service.create(kind, data)
            service.sleep(record_cost(data))
            return location(request, kind, record)

        return await run_in_threadpool(governed, "restAdd", request, work)

    async def write(record_type: str, key: str, request: Request) -> Response:
        raw = await request.body()
        upsert = request.method == "PUT"

        def work() -> Response:
            kind = record_type_of(record_type)
            ident = unquote(key)
            if upsert and not ident.startswith("eid:"):
                raise RestError(400, "INVALID_ID", "Upsert (PUT) needs an external id in the URL: .../eid:{externalId}.")
            data = to_store(body_of(raw), record_type=kind)
            store.add_records_count("restUpsert" if upsert else "restUpdate", 1)
            with store.transaction():
                existing = find(kind, ident)
                if existing is None:
                    if not upsert:
                        raise RestError(404, "NONEXISTENT_ID", f"The record instance does not exist. Provide a valid record instance ID ({ident}).")
                    data = {k: v for k, v in data.items() if k not in ("internalId", "__null__")}
                    data["externalId"] = ident[4:]
                    record = service.create(kind, data)
                else:
                    if upsert:
                        data.pop("externalId", None)
                    record = service.update(kind, existing, data, flags_for(request, data))
            service.sleep(record_cost(data))
            return location(request, kind, record)

        return await run_in_threadpool(governed, "restUpsert" if upsert else "restUpdate", request, work)

    async def transform(record_type: str, key: str, target: str, request: Request) -> Response:
        """``POST /record/v1/{type}/{id}/!transform/{target}``: the target record pre-filled from the source
        (SOAP ``initialize``, the same code), the body's fields and lines laid over it, then saved in the same
        request with the rules of SOAP ``add`` (quantities capped, stock moves, GL). Lines of the body are
        matched to the pre-filled lines by ``orderLine``; with ``?replace=item`` only the body's lines are
        kept, otherwise the pre-filled lines the body does not name stay (as NetSuite does). With
        ``Accept: application/vnd.oracle.resource+json; type=create-form`` the pre-filled record is answered
        (200) and nothing is saved: REST's SOAP ``initialize``."""
        raw = await request.body()
        create_form = "type=create-form" in (request.headers.get("accept") or "").replace(" ", "")

        def work() -> Response:
            kind = record_type_of(record_type)
            goal = record_type_of(target)
            ident = unquote(key)
            if not ident.isdigit():
                raise RestError(400, "INVALID_ID", f"Invalid record id {ident!r}: a transform names the source by its id.")
            data = to_store(body_of(raw), record_type=goal)
            data.pop("__null__", None)
            if "createdFrom" in data:
                raise RestError(400, "INVALID_CONTENT", "createdFrom is set by the transform (the source in the URL).",
                                path="createdFrom")
            store.add_records_count("restCreateForm" if create_form else "restTransform", 1)
            with store.transaction():
                prefilled = service.initialize_record(goal, kind, ident, None)
                replaced = {SUBLISTS.get(s.strip(), f"{s.strip()}List")
                            for s in request.query_params.get("replace", "").split(",") if s.strip()}
                record = {**prefilled, **{k: v for k, v in data.items() if k != "itemList"}}
                if "itemList" in data:
                    by_line = {int(line["orderLine"]): line for line in prefilled.get("itemList") or []}
                    given = []
                    for line in data["itemList"]:
                        base = by_line.pop(int(line["orderLine"]), {}) if line.get("orderLine") is not None else {}
                        given.append({**base, **line})
                    kept = [] if "itemList" in replaced else list(by_line.values())
                    record["itemList"] = kept + given
                if create_form:  # the pre-filled form, not saved (SOAP initialize)
                    expand = request.query_params.get("expandSubResources", "false").lower() == "true"
                    return json_response(to_rest(record, expand=expand, record_type=goal))
                created = service.create(goal, record)
            service.sleep(record_cost(record))
            return location(request, goal, created)

        return await run_in_threadpool(governed, "restCreateForm" if create_form else "restTransform", request, work)

    async def read(record_type: str, key: str, request: Request) -> Response:
        def work() -> Response:
            kind = record_type_of(record_type)
            record = find(kind, key)
            if record is None:
                raise RestError(404, "NONEXISTENT_ID", f"The record instance does not exist. Provide a valid record instance ID ({unquote(key)}).")
            store.add_records_count("restGet", 1)
            expand = request.query_params.get("expandSubResources", "false").lower() == "true"
            return json_response(to_rest(record, expand=expand, record_type=kind))

        return await run_in_threadpool(governed, "restGet", request, work)

    async def suiteql(request: Request) -> Response:
        raw = await request.body()

        def work() -> Response:
            body = body_of(raw)
            try:
                limit = int(request.query_params.get("limit", "1000"))
                offset = int(request.query_params.get("offset", "0"))
            except ValueError:
                raise RestError(400, "INVALID_PARAMETER", "limit and offset are integers.") from None
            if not 1 <= limit <= MAX_LIMIT:
                raise RestError(400, "INVALID_PARAMETER", f"Invalid value for limit: {limit}. Use 1 to {MAX_LIMIT}.")
            if offset < 0:
                raise RestError(400, "INVALID_PARAMETER", f"Invalid value for offset: {offset}.")
            sql = body.get("q")
            if not isinstance(sql, str) or not sql.strip():
                raise RestError(400, "INVALID_PARAMETER", "The request body needs the query in q.")
            try:
                rows = run_suiteql(store, sql)
            except SuiteQLError as exc:
                raise RestError(400, "INVALID_PARAMETER",
                                f"Invalid search query. Detailed unprocessed description follows. {exc}") from None
            page = rows[offset : offset + limit]
            store.add_records_count("suiteql", len(page))
            return json_response({"links": [], "count": len(page), "hasMore": offset + len(page) < len(rows),
                                  "items": page, "offset": offset, "totalResults": len(rows)})

        return await run_in_threadpool(governed, "suiteql", request, work)

    async def token(request: Request) -> Response:
        import jwt

        form = await request.form()
        store.count_call("token")
        injected = service._take_fault("token")
        if injected is not None:
            return _injected(injected)

        def refuse(error: str, why: str) -> Response:
            log.warning("NetSuite sandbox: token request refused (%s)", why)
            return Response(json.dumps({"error": error}), status_code=400, media_type="application/json")

        if form.get("grant_type") != "client_credentials":
            return refuse("unsupported_grant_type", "grant_type")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return refuse("invalid_request", "client_assertion_type")
        assertion = str(form.get("client_assertion") or "")
        audience = str(request.url).split("?", 1)[0]
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != CERTIFICATE_ID:
                return refuse("invalid_client", "unknown certificate id (kid)")
            claims = jwt.decode(assertion, state.public_key, algorithms=JWT_ALGORITHMS, audience=audience,
                                options={"require": ["iss", "aud", "iat", "exp", "scope"]})
        except jwt.PyJWTError as exc:
            return refuse("invalid_grant", f"{type(exc).__name__}")
        if claims.get("iss") != CLIENT_ID:
            return refuse("invalid_client", "unknown client id (iss)")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            return refuse("invalid_request", "exp more than 60 minutes after iat")
        scope = claims["scope"]
        scopes = scope if isinstance(scope, list) else [s.strip() for s in str(scope).split(",")]
        if "rest_webservices" not in scopes:
            return refuse("invalid_scope", "scope lacks rest_webservices")
        access = secrets.token_urlsafe(32)
        with state.lock:
            now = time.time()
            state.tokens = {k: v for k, v in state.tokens.items() if v > now}
            state.tokens[access] = now + TOKEN_LIFETIME_SECONDS
        return json_response({"access_token": access, "expires_in": str(TOKEN_LIFETIME_SECONDS), "token_type": "Bearer"})

    def job_of(job_id: str) -> dict[str, Any]:
        with state.lock:
            job = state.jobs.get(job_id)
            job = dict(job) if job is not None else None
        if job is None:
            raise RestError(404, "NONEXISTENT_ID", f"The job {job_id} does not exist.")
        return job

    async def job_status(job_id: str, request: Request) -> Response:
        def work() -> Response:
            job = job_of(job_id)
            base = f"{base_of(request)}/services/rest/async/v1/job/{job_id}"
            return json_response({"links": [{"rel": "self", "href": base}], "completed": job["completed"], "id": job_id,
                                  "progress": job["progress"], "task": {"links": [{"rel": "self", "href": f"{base}/task"}]}})

        return await run_in_threadpool(governed, "asyncJob", request, work)

    async def job_tasks(job_id: str, request: Request) -> Response:
        def work() -> Response:
            job_of(job_id)
            href = f"{base_of(request)}/services/rest/async/v1/job/{job_id}/task/1"
            return json_response({"links": [], "count": 1, "hasMore": False, "offset": 0, "totalResults": 1,
                                  "items": [{"links": [{"rel": "self", "href": href}], "id": "1"}]})

        return await run_in_threadpool(governed, "asyncJob", request, work)

    async def job_task(job_id: str, task_id: str, request: Request) -> Response:
        def work() -> Response:
            job = job_of(job_id)
            if task_id != "1":
                raise RestError(404, "NONEXISTENT_ID", f"The task {task_id} does not exist.")
            href = f"{base_of(request)}/services/rest/async/v1/job/{job_id}/task/1"
            return json_response({"links": [{"rel": "related", "href": f"{href}/result"}, {"rel": "self", "href": href}],
                                  "completed": job["completed"], "id": "1", "progress": job["progress"],
                                  "startTime": job["start"], "endTime": job.get("end")})

        return await run_in_threadpool(governed, "asyncJob", request, work)

    async def job_result(job_id: str, task_id: str, request: Request) -> Response:
        def work() -> Response:
            job = job_of(job_id)
            if task_id != "1" or not job["completed"]:
                raise RestError(404, "NONEXISTENT_ID", f"The result of task {task_id} is not available yet.")
            headers = {k: v for k, v in job["headers"].items() if k.lower() in ("location", "content-type")}
            return Response(content=job["body"], status_code=job["status"], headers=headers)

        return await run_in_threadpool(governed, "asyncJob", request, work)

    app.add_api_route("/services/rest/async/v1/job/{job_id}", job_status, methods=["GET"], include_in_schema=False)
    app.add_api_route("/services/rest/async/v1/job/{job_id}/task", job_tasks, methods=["GET"], include_in_schema=False)
    app.add_api_route("/services/rest/async/v1/job/{job_id}/task/{task_id}", job_task, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/services/rest/async/v1/job/{job_id}/task/{task_id}/result", job_result, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/services/rest/auth/oauth2/v1/token", token, methods=["POST"], include_in_schema=False)
    app.add_api_route("/services/rest/query/v1/suiteql", suiteql, methods=["POST"], include_in_schema=False)
    app.add_api_route("/services/rest/record/v1/{record_type}", add, methods=["POST"], include_in_schema=False)
    app.add_api_route("/services/rest/record/v1/{record_type}/{key}", write, methods=["PUT", "PATCH"], include_in_schema=False)
    app.add_api_route("/services/rest/record/v1/{record_type}/{key}", read, methods=["GET"], include_in_schema=False)
    app.add_api_route("/services/rest/record/v1/{record_type}/{key}/!transform/{target}", transform, methods=["POST"],
                      include_in_schema=False)

    @app.post("/_sandbox/rest/expire_tokens")
    def expire_tokens() -> dict[str, int]:
        """Expire every bearer token (tests of the token cache's renewal)."""
        with state.lock:
            count = len(state.tokens)
            state.tokens.clear()
        return {"expired": count}
