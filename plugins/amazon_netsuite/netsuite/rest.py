"""SuiteTalk REST backend of the NetSuite hook: the record API and SuiteQL, OAuth 2.0 M2M or TBA.

The hook's record-level operations map onto REST web services (docs/netsuite-quirks.md, "REST backend"):

- ``upsertList`` -> one ``PUT /services/rest/record/v1/{type}/eid:{externalId}`` per record (REST has no
  list write), ``addList`` -> ``POST /record/v1/{type}``, ``updateList`` -> ``PATCH /record/v1/{type}/{id}``
  (or ``eid:``). The records of a chunk travel as concurrent requests, at most ``concurrency`` at a time
  (connection extra, default 4; the ``netsuite_api`` pool bounds the workers); a request NetSuite refuses
  for concurrency (HTTP 429, ``CONCURRENCY_LIMIT_EXCEEDED``) was rejected before any work and is retried
  with backoff. A PATCH/PUT updates keyed sublist lines (``item`` by ``line``) and appends the others,
  which is SOAP's ``replaceAll="false"``.
- ``addList`` of a record with a ``createdFrom`` (item fulfillment, cash sale, invoice, return authorization
  from a sales order; item receipt, credit memo, cash refund from a return authorization:
  ``TRANSFORM_SOURCES``) -> ``POST /record/v1/{source}/{id}/!transform/{type}?replace=item`` (REST creates from a source only by
  transform, saved in the same request), after one SuiteQL query per batch: externalIds that exist answer
  ``DUP_RCRD`` and are not sent. ``initializeList`` -> the same URL with ``Accept: ...; type=create-form``
  (the pre-filled record, not saved).
- ``getList`` -> one SuiteQL query (``externalid IN (...)``) finds which records exist, then one
  ``GET /record/v1/{type}/{id}?expandSubResources=true`` per existing record (sublists included).
- ``search`` / ``searchMoreWithId`` -> SuiteQL (``POST /services/rest/query/v1/suiteql``, ``limit``/
  ``offset`` pages of at most 1,000 rows, ordered by id), body fields only, as SOAP searches return; a
  ``created_from`` search first reads ``PreviousTransactionLineLink`` by the record's type and sources.
- References given by externalId only (``{"externalId": "AMZ-CS-..."}``) are resolved to internal ids
  with one SuiteQL query per batch and referenced table: the record API is documented with ``{"id"}``
  references.

Record dicts keep the hook's (SOAP) shape; this module converts them to REST JSON and back: sublists
``itemList: [...]`` <-> ``item: {"items": [...]}``, references ``{"internalId"}`` <-> ``{"id"}``,
``customFieldList`` <-> top-level ``custbody_...`` fields, the ``Country`` enumeration (``_unitedStates``)
<-> ``{"id": "US"}``, money as JSON numbers written from ``Decimal`` and read back as ``Decimal``.

Authentication: OAuth 2.0 client credentials (machine to machine): a JWT signed with the private key of
the certificate uploaded for the integration (PyJWT; header ``kid`` = the certificate ID, claims ``iss`` =
client ID, ``scope``, ``aud`` = token endpoint, ``iat``/``exp``), exchanged at
``/services/rest/auth/oauth2/v1/token`` for a bearer token that is cached until shortly before it expires.
Fallback: TBA (OAuth 1.0a, HMAC-SHA256, ``realm`` = account) through requests-oauthlib.

.. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from amazon_netsuite.netsuite.countries import COUNTRIES
from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthError,
    NetSuiteError,
    NetSuiteMalformedResponseError,
    NetSuiteRequestError,
    NetSuiteRequestTooLargeError,
    NetSuiteThrottledError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.results import ItemAvailability, RecordResult, redact
from amazon_netsuite.netsuite.soap import STRING_OPERATORS, SearchPage

log = logging.getLogger(__name__)

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
#: SuiteQL answers at most 1,000 rows per page
MAX_SUITEQL_PAGE = 1000
#: values per ``IN (...)`` list of one SuiteQL query
MAX_IN_VALUES = 1000
#: a token is renewed this many seconds before NetSuite says it expires
TOKEN_MARGIN_SECONDS = 60
#: lifetime asked for the JWT assertion (NetSuite: exp must be less than 60 minutes after iat)
ASSERTION_LIFETIME_SECONDS = 300
THROTTLE_CODES = frozenset({"CONCURRENCY_LIMIT_EXCEEDED", "REQUEST_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"})
NOT_FOUND_CODES = frozenset({"NONEXISTENT_ID", "RCRD_DSNT_EXIST", "RCRD_NOT_FOUND"})

#: record type -> the record type it is created from by ``!transform`` when the hook adds it with a
#: ``createdFrom`` (SOAP: ``initialize`` + ``add``; REST has no initialize, the transform saves at once).
#: One source per target: the flows create item receipts, credit memos and cash refunds only from return
#: authorizations (flows/returns.py), never from a purchase order, transfer order or invoice.
TRANSFORM_SOURCES: dict[str, str] = {
    "itemFulfillment": "salesOrder", "cashSale": "salesOrder", "invoice": "salesOrder",
    "returnAuthorization": "salesOrder",
    "itemReceipt": "returnAuthorization", "creditMemo": "returnAuthorization", "cashRefund": "returnAuthorization",
}
#: media type of the create-form operation: the transform's pre-filled record, not saved (SOAP initialize)
CREATE_FORM = "application/vnd.oracle.resource+json; type=create-form"
#: body fields a sales-order transform carries over from the order when the request leaves them out: sent
#: as 0 when the hook's record has none, so the document holds what the record says (SOAP ``add`` does)
TRANSFORM_ZERO_FIELDS: dict[str, tuple[str, ...]] = {
    "cashSale": ("shippingCost", "handlingCost"), "invoice": ("shippingCost", "handlingCost"),
}
#: hook record type -> (SuiteQL table, value of its ``type`` column or None)
SUITEQL_TABLES: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", None),
    "salesOrder": ("transaction", "SalesOrd"),
    "cashSale": ("transaction", "CashSale"),
    "invoice": ("transaction", "CustInvc"),
    "itemFulfillment": ("transaction", "ItemShip"),
    "returnAuthorization": ("transaction", "RtnAuth"),
    "creditMemo": ("transaction", "CustCred"),
    "cashRefund": ("transaction", "CashRfnd"),
    "journalEntry": ("transaction", "Journal"),
    "inventoryAdjustment": ("transaction", "InvAdjst"),
    "transferOrder": ("transaction", "TrnfrOrd"),
    "itemReceipt": ("transaction", "ItemRcpt"),
    "inventoryItem": ("item", "InvtPart"),
    "otherChargeSaleItem": ("item", "OthCharge"),
    "account": ("account", None),
    "subsidiary": ("subsidiary", None),
    "location": ("location", None),
    "currency": ("currency", None),
    "accountingPeriod": ("accountingperiod", None),
}
#: the column holding a table's record type: ``transaction.type`` (SalesOrd...), ``item.itemtype`` (InvtPart...)
TYPE_COLUMNS = {"transaction": "type", "item": "itemtype"}
_TEXT, _BOOL, _REF, _DATE, _STAMP, _SHIP, _MONEY = "text", "bool", "ref", "date", "timestamp", "shipstatus", "money"
_ORDER = "orderstatus"
#: SuiteQL ``transaction.shipstatus`` (item fulfillments) -> the SOAP ``ItemFulfillmentShipStatus`` value
#: (saved-search status values ``ItemShip:A/B/C``: docs/netsuite-quirks.md, REST backend)
SHIP_STATUS = {"A": "_picked", "B": "_packed", "C": "_shipped"}
#: record type -> SuiteQL link type whose ``previousdoc`` is the record's ``createdFrom`` (SuiteQL has no
#: createdFrom column on ``transaction``: ``PreviousTransactionLineLink`` links a line to its source line)
CREATED_FROM_LINKS = {"itemFulfillment": "ShipRcpt"}
#: SuiteQL table -> column -> (hook field, kind): the body fields a search returns
SUITEQL_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "customer": {
        "id": ("internalId", _TEXT), "externalid": ("externalId", _TEXT), "entityid": ("entityId", _TEXT),
        "companyname": ("companyName", _TEXT), "firstname": ("firstName", _TEXT), "lastname": ("lastName", _TEXT),
        "email": ("email", _TEXT), "isperson": ("isPerson", _BOOL), "isinactive": ("isInactive", _BOOL),
        "subsidiary": ("subsidiary", _REF), "lastmodifieddate": ("lastModifiedDate", _STAMP),
    },
    "transaction": {
        "id": ("internalId", _TEXT), "externalid": ("externalId", _TEXT), "tranid": ("tranId", _TEXT),
        "trandate": ("tranDate", _DATE), "entity": ("entity", _REF), "currency": ("currency", _REF),
        "memo": ("memo", _TEXT), "lastmodifieddate": ("lastModifiedDate", _STAMP),
        "shipstatus": ("shipStatus", _SHIP),
        # an invoice's open amount in the transaction currency: SOAP's amountRemaining (null on other types)
        "foreignamountunpaid": ("amountRemaining", _MONEY),
        # the total in the transaction currency (SOAP's total) and the status letter (sales orders and return
        # authorizations: their orderStatus; the letters mean something else on every other type)
        "foreigntotal": ("total", _MONEY), "status": ("orderStatus", _ORDER),
    },
    "item": {
        "id": ("internalId", _TEXT), "externalid": ("externalId", _TEXT), "itemid": ("itemId", _TEXT),
        "displayname": ("displayName", _TEXT), "isinactive": ("isInactive", _BOOL),
        "salesdescription": ("salesDescription", _TEXT), "upccode": ("upcCode", _TEXT),
        "lastmodifieddate": ("lastModifiedDate", _STAMP),
    },
    "accountingperiod": {
        "id": ("internalId", _TEXT), "periodname": ("periodName", _TEXT), "startdate": ("startDate", _DATE),
        "enddate": ("endDate", _DATE), "closed": ("closed", _BOOL), "alllocked": ("allLocked", _BOOL),
        "isquarter": ("isQuarter", _BOOL), "isyear": ("isYear", _BOOL), "fiscalcalendar": ("fiscalCalendar", _REF),
    },
    "account": {
        "id": ("internalId", _TEXT), "externalid": ("externalId", _TEXT), "acctnumber": ("acctNumber", _TEXT),
        "acctname": ("acctName", _TEXT), "isinactive": ("isInactive", _BOOL),
    },
    "subsidiary": {
        "id": ("internalId", _TEXT), "externalid": ("externalId", _TEXT), "name": ("name", _TEXT),
        "currency": ("currency", _REF), "fiscalcalendar": ("fiscalCalendar", _REF), "isinactive": ("isInactive", _BOOL),
    },
    "location": {
        "id": ("internalId", _TEXT), "externalid": ("externalId", _TEXT), "name": ("name", _TEXT),
        "isinactive": ("isInactive", _BOOL),
    },
    "currency": {"id": ("internalId", _TEXT), "name": ("name", _TEXT), "symbol": ("symbol", _TEXT)},
}
#: reference field -> the SuiteQL table its externalId is looked up in
REFERENCE_TABLES = {
    "entity": "customer", "customer": "customer", "item": "item", "account": "account", "location": "location",
    "subsidiary": "subsidiary", "createdFrom": "transaction", "currency": "currency",
}
#: SOAP sublist name <-> REST sublist name (the others drop the ``List`` suffix: itemList -> item)
SUBLISTS = {"addressbookList": "addressBook", "locationsList": "locations"}
#: SOAP field names that REST spells differently
FIELD_NAMES = {"addressbookAddress": "addressBookAddress"}
#: SOAP enumeration fields whose REST form is a select ``{"id": ...}``
ORDER_STATUS = {"_pendingApproval": "A", "_pendingFulfillment": "B", "_cancelled": "C", "_partiallyFulfilled": "D",
                "_pendingBillingPartFulfilled": "E", "_pendingBilling": "F", "_fullyBilled": "G", "_closed": "H"}
#: a return authorization's ``orderStatus`` (``ReturnAuthorizationOrderStatus``) <-> its REST select id: the
#: letters of the saved-search status values ``RtnAuth:A``..``H``, as ORDER_STATUS is for ``SalesOrd:``
RETURN_STATUS = {"_pendingApproval": "A", "_pendingReceipt": "B", "_cancelled": "C", "_partiallyReceived": "D",
                 "_pendingRefundPartReceived": "E", "_pendingRefund": "F", "_refunded": "G", "_closed": "H"}
#: record types whose ``orderStatus`` is not the sales order's enumeration
TYPED_ORDER_STATUS = {"returnAuthorization": RETURN_STATUS}
#: SuiteQL ``transaction.status`` letter (``SalesOrd:B``, ``RtnAuth:B``...) -> the SOAP ``orderStatus``, for the
#: record types whose searches read it
_ORDER_STATUS_OF = {record_type: {letter: status for status, letter in statuses.items()}
                    for record_type, statuses in (("salesOrder", ORDER_STATUS), ("returnAuthorization", RETURN_STATUS))}
_ISO_OF = {value: iso for iso, value in COUNTRIES.items() if iso != "UK"}
_CUSTOM = re.compile(r"^cust(body|entity|col|item|event|record)_")
_SUBLIST_NAMES_BACK = {rest: soap for soap, rest in SUBLISTS.items()}
_FIELD_NAMES_BACK = {rest: soap for soap, rest in FIELD_NAMES.items()}
_REF_KEYS = frozenset({"internalId", "externalId", "name", "type"})
#: REST date fields (``YYYY-MM-DD``) and datetime fields (ISO 8601) read back as ``date`` / ``datetime``
DATE_FIELDS = frozenset({"tranDate", "startDate", "endDate", "dueDate", "shipDate"})
DATETIME_FIELDS = frozenset({"dateCreated", "createdDate", "lastModifiedDate"})
#: SuiteQL ``transaction.type`` -> the SOAP ``RecordType`` enumeration value a GL search row's ``type`` holds
SOAP_TRANSACTION_TYPES = {
    "SalesOrd": "_salesOrder", "CashSale": "_cashSale", "CustInvc": "_invoice", "ItemShip": "_itemFulfillment",
    "RtnAuth": "_returnAuthorization", "CustCred": "_creditMemo", "CashRfnd": "_cashRefund", "Journal": "_journal",
    "InvAdjst": "_inventoryAdjustment", "TrnfrOrd": "_transferOrder", "ItemRcpt": "_itemReceipt",
}
#: the GL read (SOAP: TransactionSearchAdvanced over posting lines): one row per posting accounting line,
#: with its transaction's header and its transaction line (subsidiary, transaction-currency amount)
GL_SELECT = (
    "SELECT tal.transaction AS id, t.externalid AS externalid, t.type AS type, "
    "TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, tal.account AS account, tl.subsidiary AS subsidiary, "
    "t.currency AS currency, t.exchangerate AS exchangerate, tal.debit AS debit, tal.credit AS credit, "
    "tl.foreignamount AS foreignamount, tl.createdfrom AS createdfrom "
    "FROM transactionaccountingline AS tal "
    "INNER JOIN transaction AS t ON t.id = tal.transaction "
    "INNER JOIN transactionline AS tl ON tl.transaction = tal.transaction AND tl.id = tal.transactionline"
)
AVAILABILITY_SELECT = (
    "SELECT item, location, BUILTIN.DF(location) AS locationname, quantityonhand, quantityavailable, "
    "quantitycommitted, quantityonorder, quantitybackordered, "
    "TO_CHAR(lastquantityavailablechange, 'YYYY-MM-DD HH24:MI:SS') AS lastquantityavailablechange "
    "FROM inventoryitemlocations"
)


# ----------------------------------------------------------------------------------------------
# settings and authentication
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestSettings:
    account: str
    base_url: str
    auth: str = "oauth2"  # "oauth2" (client credentials, M2M) or "tba"
    client_id: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    certificate_id: str = ""
    algorithm: str | None = None
    scope: str = "rest_webservices"
    consumer_key: str = field(default="", repr=False)
    consumer_secret: str = field(default="", repr=False)
    token_id: str = field(default="", repr=False)
    token_secret: str = field(default="", repr=False)
    page_size: int = 1000
    timeout: float = 300.0
    concurrency: int = 4
    timezone: str = "UTC"
    #: "sync" (default: one request per record, ``concurrency`` in flight) or "async" (``Prefer:
    #: respond-async`` then job polling: kept to measure it, see bench/orders_sync.py --rest-write-mode)
    write_mode: str = "sync"
    async_poll_interval: float = 1.0

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH


def default_base_url(account: str) -> str:
    """``1234567_SB1`` -> ``https://1234567-sb1.suitetalk.api.netsuite.com`` (the account's REST domain)."""
    return f"https://{account.lower().replace('_', '-')}.suitetalk.api.netsuite.com"


#: bearer tokens per (token URL, client ID, certificate ID): (token, monotonic expiry)
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


def _auth_error(message: str, operation: str, code: str) -> NetSuiteAuthError:
    return NetSuiteAuthError(
        f"{message} Check the netsuite_default connection (account id, client ID in login, the certificate's "
        "private key in password, extra.certificate_id) and the integration record's client-credentials mapping.",
        operation=operation,
        code=code,
    )


class ClientCredentials(requests.auth.AuthBase):
    """OAuth 2.0 client credentials with a JWT assertion (RFC 7523), the token cached until it expires."""

    def __init__(self, settings: RestSettings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session
        self.key = (settings.token_url, settings.client_id, settings.certificate_id)
        self.tokens_fetched = 0

    def _algorithm(self) -> str:
        if self.settings.algorithm:
            return self.settings.algorithm
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(self.settings.private_key.encode(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return {256: "ES256", 384: "ES384", 521: "ES512"}.get(key.curve.key_size, "ES256")
        return "PS256"  # RSA: NetSuite takes RSA-PSS only (PS256/384/512), not RS256

    def assertion(self) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": self.settings.client_id,
            "scope": [s.strip() for s in self.settings.scope.split(",") if s.strip()],
            "aud": self.settings.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(
                claims, self.settings.private_key, algorithm=self._algorithm(),
                headers={"kid": self.settings.certificate_id, "typ": "JWT"},
            )
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise _auth_error(f"the private key cannot sign the JWT assertion ({type(exc).__name__}).", "token",
                              "INVALID_PRIVATE_KEY") from None

    def token(self, *, force: bool = False) -> str:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self.key)
            if cached is not None and not force and cached[1] > time.monotonic():
                return cached[0]
            data = {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self.assertion(),
            }
            try:
                response = self.session.post(self.settings.token_url, data=data, timeout=self.settings.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise NetSuiteUnavailableError(f"{type(exc).__name__} at the token endpoint", operation="token") from None
            if response.status_code >= 500 or response.status_code == 429:
                raise NetSuiteUnavailableError(f"HTTP {response.status_code} from the token endpoint", operation="token",
                                               code=f"HTTP_{response.status_code}")
            try:
                body = response.json()
            except ValueError:
                body = {}
            if response.status_code != 200 or not body.get("access_token"):
                error = body.get("error") or f"HTTP_{response.status_code}"
                raise _auth_error(f"the token endpoint refused the client credentials ({error}).", "token", str(error))
            lifetime = float(body.get("expires_in") or 3600)
            self.tokens_fetched += 1
            _TOKENS[self.key] = (body["access_token"], time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS))
            return body["access_token"]

    def forget(self) -> None:
        with _TOKENS_LOCK:
            _TOKENS.pop(self.key, None)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def tba_auth(settings: RestSettings) -> requests.auth.AuthBase:
    """TBA for REST: OAuth 1.0a signed with HMAC-SHA256, ``realm`` = the account id (requests-oauthlib)."""
    from requests_oauthlib import OAuth1

    return OAuth1(
        settings.consumer_key, client_secret=settings.consumer_secret,
        resource_owner_key=settings.token_id, resource_owner_secret=settings.token_secret,
        signature_method="HMAC-SHA256", realm=settings.account,
    )


# ----------------------------------------------------------------------------------------------
# record dict <-> REST JSON
# ----------------------------------------------------------------------------------------------
_NUMBER = "\x00num:"
_NUMBER_JSON = re.compile(r'"\\u0000num:(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"')


def _is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= _REF_KEYS


def _rest_value(key: str, value: Any) -> Any:
    if key == "doc" and isinstance(value, int | str) and not isinstance(value, bool):
        return {"id": str(value)}  # an apply line's document: a long in SOAP, a reference in REST
    if _is_ref(value):
        if value.get("internalId"):
            return {"id": str(value["internalId"])}
        return {"externalId": value["externalId"]}  # resolved to an id before sending (see resolve_refs)
    if isinstance(value, Mapping):
        return to_rest(value)
    if isinstance(value, list):
        return [_rest_value(key, item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        raise TypeError(f"field {key!r} holds a float: give a Decimal")
    if isinstance(value, Decimal | int):
        return f"{_NUMBER}{value}" if isinstance(value, Decimal) else value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if key == "country" and isinstance(value, str) and value.startswith("_"):
        if value not in _ISO_OF:
            raise ValueError(f"country {value!r} is not a NetSuite Country value")
        return {"id": _ISO_OF[value]}
    if key == "orderStatus" and isinstance(value, str) and value.startswith("_"):
        if value not in ORDER_STATUS:
            raise ValueError(f"orderStatus {value!r} has no REST id")
        return {"id": ORDER_STATUS[value]}
    return value


def _instant(value: Any) -> datetime | None:
    """A ``datetime`` (pandas' Timestamp is one), or an ISO 8601 timestamp string with a time part
    (``2026-11-20T05:30:00Z``, what SOAP takes for a dateTime), else None (a date, a plain day string)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", value.strip()):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def local_dates(record: Mapping[str, Any], timezone: str) -> Mapping[str, Any]:
    """The record with its body date fields (``tranDate``...) given as a timestamp (a ``datetime``, or an
    ISO 8601 string with a time) turned into the date it is in the account's time zone: a REST date field
    takes ``YYYY-MM-DD`` only, where SOAP takes a dateTime and NetSuite keeps its date in the account's
    zone. A naive timestamp is UTC."""
    moved = {key: moment for key, value in record.items()
             if key in DATE_FIELDS and (moment := _instant(value)) is not None}
    if not moved:
        return record
    zone = ZoneInfo(timezone)
    return {**record, **{key: (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone).date()
                         for key, value in moved.items()}}


def _sublist_lines(key: str, value: Mapping[str, Any]) -> list[Any]:
    """A sublist in SOAP's list-object shape (``{"replaceAll": False, "apply": [...]}``, the credit memo's
    ``applyList``) -> its lines. ``replaceAll`` false is REST's default (lines merged by key); true would
    need the ``replace`` query parameter, which only transforms send (for ``item``)."""
    if value.get("replaceAll"):
        raise ValueError(f"{key} with replaceAll true cannot be sent to REST: give its lines as a list")
    lines = [v for k, v in value.items() if k != "replaceAll"]
    if len(lines) != 1 or not isinstance(lines[0], list):
        raise ValueError(f"{key} needs exactly one list of lines besides replaceAll")
    return lines[0]


def to_rest(record: Mapping[str, Any]) -> dict[str, Any]:
    """A hook record dict -> REST JSON (``internalId`` dropped: it goes in the URL)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is None or key == "internalId":
            continue
        if key == "nullFieldList":  # REST clears a body field sent as null (custom fields by script id)
            names = value.get("name") if isinstance(value, Mapping) else value
            for name in [names] if isinstance(names, str) else names or []:
                out[FIELD_NAMES.get(str(name), str(name))] = None
            continue
        if key == "customFieldList":
            entries = value.get("customField") if isinstance(value, Mapping) else value
            for entry in entries or []:
                script_id = entry.get("scriptId")
                if not script_id:
                    raise ValueError("REST custom fields need a scriptId (an internalId alone cannot be sent)")
                custom = entry.get("value")
                if isinstance(custom, list | tuple):
                    out[script_id] = {"items": [_rest_value(script_id, item) for item in custom]}
                else:
                    out[script_id] = _rest_value(script_id, custom)
            continue
        if isinstance(value, Mapping) and key.endswith("List") and "replaceAll" in value:
            value = _sublist_lines(key, value)
        if isinstance(value, list) and key.endswith("List") and key != "subsidiaryList":
            name = SUBLISTS.get(key, key[: -len("List")])
            out[name] = {"items": [to_rest(line) if isinstance(line, Mapping) else line for line in value]}
            continue
        out[FIELD_NAMES.get(key, key)] = _rest_value(key, value)
    return out


def dumps(body: Any) -> str:
    """JSON with ``Decimal`` written as the exact number it holds (never through float)."""
    return _NUMBER_JSON.sub(r"\1", json.dumps(body, ensure_ascii=False))


def _hook_value(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        if "items" in value and set(value) <= {"items", "links", "totalResults", "count", "hasMore", "offset"}:
            return [_hook_value(key, item) for item in value["items"]]
        if "id" in value and set(value) <= {"id", "refName", "links", "externalId"}:
            if key == "country":
                return COUNTRIES.get(str(value["id"]).upper(), value["id"])
            if key == "orderStatus":
                back = {v: k for k, v in ORDER_STATUS.items()}
                return back.get(str(value["id"]), value["id"])
            if key == "doc":
                return int(value["id"])  # SOAP's shape of an apply line's document
            ref = {"internalId": str(value["id"])}
            if value.get("refName"):
                ref["name"] = value["refName"]
            return ref
        return from_rest(value)
    if isinstance(value, list):
        return [_hook_value(key, item) for item in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and key in DATE_FIELDS and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    if isinstance(value, str) and key in DATETIME_FIELDS:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def typed_status(record_type: str, record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record with its ``orderStatus`` as the REST select of its own record type (a return
    authorization's ``_pendingReceipt`` is ``{"id": "B"}``; :data:`ORDER_STATUS` is the sales order's)."""
    table = TYPED_ORDER_STATUS.get(record_type)
    status = record.get("orderStatus")
    if table is None or not isinstance(status, str):
        return record
    if status not in table:
        raise ValueError(f"{record_type} orderStatus {status!r} has no REST id")
    return {**record, "orderStatus": {"id": table[status]}}


def from_rest(body: Mapping[str, Any], record_type: str | None = None) -> dict[str, Any]:
    """REST JSON (read with ``parse_float=Decimal``) -> the hook's record dict (``record_type`` reads its
    ``orderStatus`` with that type's enumeration)."""
    out: dict[str, Any] = {}
    custom: list[dict[str, Any]] = []
    for key, value in body.items():
        if key == "links" or value is None:
            continue
        if key == "orderStatus" and record_type in TYPED_ORDER_STATUS and isinstance(value, Mapping):
            back = {letter: name for name, letter in TYPED_ORDER_STATUS[record_type].items()}
            out[key] = back.get(str(value.get("id")), value.get("id"))
            continue
        if key == "id":
            out["internalId"] = str(value)
            continue
        if _CUSTOM.match(key):
            custom.append({"scriptId": key, "value": _hook_value(key, value)})
            continue
        if isinstance(value, Mapping) and "items" in value and not key.startswith("cust"):
            name = _SUBLIST_NAMES_BACK.get(key, f"{key}List")
            out[name] = [from_rest(line) if isinstance(line, Mapping) else line for line in value["items"]]
            continue
        out[_FIELD_NAMES_BACK.get(key, key)] = _hook_value(key, value)
    if custom:
        out["customFieldList"] = custom
    return out


_CUSTOM_COLUMN = re.compile(r"cust(body|entity|col|item|event|record)_[a-z0-9_]+")


def _suiteql_custom(value: Any) -> Any:
    """A custom field column as SuiteQL answers it -> the hook's value: a check box is ``'T'``/``'F'``
    (read as bool), numbers stay ``Decimal`` (JSON read with ``parse_float=Decimal``), the rest text. A
    select column holds the option's internal id (SuiteQL has no name without ``BUILTIN.DF``)."""
    if value in ("T", "F"):
        return value == "T"
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    return str(value)


def sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------
def error_details(response: requests.Response) -> tuple[str | None, str]:
    """(o:errorCode, detail) of NetSuite's REST error body, or (None, "HTTP <status>")."""
    try:
        body = response.json()
    except ValueError:
        return None, f"HTTP {response.status_code} (no JSON error body)"
    details = body.get("o:errorDetails") if isinstance(body, Mapping) else None
    if details and isinstance(details, list) and isinstance(details[0], Mapping):
        return details[0].get("o:errorCode"), str(details[0].get("detail") or body.get("title") or "")
    return None, str(body.get("title") or f"HTTP {response.status_code}") if isinstance(body, Mapping) else ""


def whole_call_error(response: requests.Response, operation: str) -> NetSuiteError | None:
    """The hook error for a response that fails the call itself (auth, governance, 5xx), else None."""
    status = response.status_code
    if status < 400:
        return None
    code, detail = error_details(response)
    if status in (401, 403) and code not in NOT_FOUND_CODES:
        return _auth_error(f"HTTP {status}: {detail}", operation, code or f"HTTP_{status}")
    if status == 429 or code in THROTTLE_CODES:
        return NetSuiteThrottledError(detail, operation=operation, code=code or "HTTP_429")
    if status == 413:
        return NetSuiteRequestTooLargeError(detail, operation=operation, code=code or "HTTP_413")
    if status >= 500:
        return NetSuiteUnavailableError(detail, operation=operation, code=code or f"HTTP_{status}")
    return None


# ----------------------------------------------------------------------------------------------
# the backend
# ----------------------------------------------------------------------------------------------
#: marks a stored search as the GL read (paged by :meth:`RestBackend._gl_page`)
GL_TABLE = "transactionaccountingline"


@dataclass
class _Query:
    sql: str
    table: str
    email: tuple[str, str] | None = None  # (operator, value) checked exactly on each row
    link_type: str | None = None  # createdFrom read from PreviousTransactionLineLink with this link type
    record_type: str | None = None
    custom_fields: tuple[str, ...] = ()  # custom field columns selected, read back into customFieldList


class RestBackend:
    """Record-level operations over SuiteTalk REST + SuiteQL; same interface as ``SoapBackend``.

    :param throttle_retry: runs a thunk under the hook's backoff for :class:`NetSuiteThrottledError`
        (each request of a concurrent batch retries alone; the others are not sent again).
    """

    def __init__(
        self, settings: RestSettings, *, throttle_retry: Callable[[str, Callable[[], Any]], Any] | None = None
    ) -> None:
        self.settings = settings
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(4, settings.concurrency))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        if settings.auth == "tba":
            self.auth: requests.auth.AuthBase = tba_auth(settings)
        else:
            self.auth = ClientCredentials(settings, self.session)
        self._throttle_retry = throttle_retry or (lambda operation, thunk: thunk())
        self._searches: dict[str, _Query] = {}
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()

    # ------------------------------------------------------------------ HTTP
    def _request(self, operation: str, method: str, path: str, *, body: Any = None,
                 params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        """One HTTP request; raises the hook error for whole-call failures, returns any other response."""
        def send() -> requests.Response:
            with self._count_lock:
                self.requests[operation] = self.requests.get(operation, 0) + 1
            all_headers = {"Accept": "application/json", **(headers or {})}
            data = None
            if body is not None:
                all_headers.setdefault("Content-Type", "application/json")
                data = dumps(body).encode()
            try:
                return self.session.request(method, self.settings.base_url + path, data=data, params=params,
                                            headers=all_headers, auth=self.auth, timeout=self.settings.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise NetSuiteUnavailableError(f"{type(exc).__name__} talking to the REST endpoint",
                                               operation=operation) from None

        def once() -> requests.Response:
            response = send()
            if response.status_code == 401 and isinstance(self.auth, ClientCredentials):
                self.auth.forget()  # revoked or expired early: one fresh token, then it is an auth error
                response = send()
            error = whole_call_error(response, operation)
            if error is not None:
                raise error
            return response

        return self._throttle_retry(operation, once)

    @staticmethod
    def _json(response: requests.Response, operation: str) -> Any:
        try:
            return json.loads(response.content or b"null", parse_float=Decimal)
        except ValueError:
            raise NetSuiteMalformedResponseError(
                f"HTTP {response.status_code} with a body that is not JSON", operation=operation, code="MALFORMED_RESPONSE"
            ) from None

    def _parallel(self, func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if len(items) <= 1 or self.settings.concurrency <= 1:
            return [func(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(items))) as pool:
            return list(pool.map(func, items))

    # ------------------------------------------------------------------ SuiteQL
    def suiteql_page(self, sql: str, *, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
        limit = min(MAX_SUITEQL_PAGE, limit or self.settings.page_size)
        response = self._request("suiteql", "POST", SUITEQL_PATH, body={"q": sql},
                                 params={"limit": limit, "offset": offset}, headers={"Prefer": "transient"})
        body = self._json(response, "suiteql")
        if response.status_code != 200:
            code, detail = error_details(response)
            raise NetSuiteRequestError(f"SuiteQL refused: {redact(detail)}", operation="suiteql",
                                       code=code or f"HTTP_{response.status_code}")
        if not isinstance(body, Mapping) or not isinstance(body.get("items"), list) or "totalResults" not in body:
            raise NetSuiteMalformedResponseError("SuiteQL answered without items/totalResults", operation="suiteql",
                                                 code="MALFORMED_RESPONSE")
        if body["totalResults"] > offset and not body["items"]:
            raise NetSuiteMalformedResponseError(
                f"SuiteQL announces {body['totalResults']} rows but the page at offset {offset} is empty",
                operation="suiteql", code="MALFORMED_RESPONSE")
        return body

    def suiteql_all(self, sql: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.suiteql_page(sql, offset=offset, limit=MAX_SUITEQL_PAGE)
            rows.extend(page["items"])
            offset += len(page["items"])
            if not page.get("hasMore") or not page["items"]:
                return rows

    def _ids_by_external_id(self, table: str, type_value: str | None, external_ids: Sequence[str]) -> dict[str, str]:
        """externalId (as given, matched ignoring case like NetSuite) -> internal id, one query per 1,000."""
        found: dict[str, str] = {}
        wanted = {e.casefold(): e for e in external_ids}
        unique = list(wanted.values())
        for start in range(0, len(unique), MAX_IN_VALUES):
            chunk = unique[start : start + MAX_IN_VALUES]
            where = f"externalid IN ({', '.join(sql_literal(e) for e in chunk)})"
            if type_value:
                where += f" AND {TYPE_COLUMNS.get(table, 'type')} = {sql_literal(type_value)}"
            for row in self.suiteql_all(f"SELECT id, externalid FROM {table} WHERE {where} ORDER BY id"):  # noqa: S608 - sql_literal
                key = str(row.get("externalid") or "").casefold()
                if key in wanted:
                    found[wanted[key]] = str(row["id"])
        return found

    # ------------------------------------------------------------------ writes
    def resolve_refs(self, bodies: list[dict[str, Any] | None]) -> dict[int, str]:
        """Replace ``{"externalId"}`` references by ``{"id"}`` in place (one query per referenced table);
        returns {index: message} for the records holding a reference NetSuite does not know."""
        wanted: dict[str, set[str]] = {}
        for body in bodies:
            for key, value in (body or {}).items():
                if isinstance(value, dict) and set(value) == {"externalId"}:
                    table = REFERENCE_TABLES.get(key)
                    if table is None:
                        raise ValueError(f"reference field {key!r} by externalId has no lookup table in REFERENCE_TABLES")
                    wanted.setdefault(table, set()).add(value["externalId"])
        resolved = {table: self._ids_by_external_id(table, None, sorted(ids)) for table, ids in wanted.items()}
        folded = {table: {k.casefold(): v for k, v in ids.items()} for table, ids in resolved.items()}
        problems: dict[int, str] = {}
        for index, body in enumerate(bodies):
            for key, value in (body or {}).items():
                if isinstance(value, dict) and set(value) == {"externalId"}:
                    internal = folded[REFERENCE_TABLES[key]].get(value["externalId"].casefold())
                    if internal is None:
                        problems[index] = f"Invalid {key} reference key {value['externalId']!r}: no such record."
                    else:
                        body[key] = {"id": internal}
        return problems

    def write_list(self, operation: str, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """``addList`` / ``upsertList`` / ``updateList`` semantics, one REST request per record, concurrent."""
        if record_type not in SUITEQL_TABLES:
            raise ValueError(f"record type {record_type!r} is not mapped for REST (SUITEQL_TABLES)")
        bodies: list[dict[str, Any] | None] = []
        results: dict[int, RecordResult] = {}
        for index, record in enumerate(records):
            try:
                bodies.append(to_rest(local_dates(typed_status(record_type, record), self.settings.timezone)))
            except (ValueError, TypeError) as exc:
                bodies.append(None)
                results[index] = RecordResult(record_type, record.get("externalId"), error_code="INVALID_RECORD",
                                              error_message=f"{record_type} {record.get('externalId')!r} cannot be sent to REST: {exc}")
        for index, message in self.resolve_refs(bodies).items():
            results[index] = RecordResult(record_type, records[index].get("externalId"),
                                          error_code="INVALID_KEY_OR_REF", error_message=message)
        todo = [i for i in range(len(records)) if i not in results]
        if operation == "addList" and record_type in TRANSFORM_SOURCES:
            results.update(self._existing_documents(record_type, records, todo))
            todo = [i for i in todo if i not in results]
        answered = self._parallel(lambda i: self._write_one(operation, record_type, records[i], bodies[i]), todo)
        results.update(zip(todo, answered, strict=True))
        return [results[i] for i in range(len(records))]

    def _existing_documents(self, record_type: str, records: Sequence[Mapping[str, Any]],
                            indexes: Sequence[int]) -> dict[int, RecordResult]:
        """A transform cannot be keyed by externalId (no ``eid:`` PUT creates from a source), so before
        transforming, one SuiteQL query finds the externalIds that exist: those records answer
        ``DUP_RCRD`` (what SOAP ``add`` answers) and nothing is sent. A concurrent writer between the query
        and the POST is still refused by NetSuite's unique externalId."""
        table, type_value = SUITEQL_TABLES[record_type]
        keyed = {i: str(records[i]["externalId"]) for i in indexes if records[i].get("externalId")}
        if not keyed:
            return {}
        found = self._ids_by_external_id(table, type_value, list(dict.fromkeys(keyed.values())))
        folded = {k.casefold(): v for k, v in found.items()}
        out = {}
        for index, external_id in keyed.items():
            internal = folded.get(external_id.casefold())
            if internal is not None:
                out[index] = RecordResult(record_type, external_id, error_code="DUP_RCRD",
                                          error_message=f"A {record_type} with externalId {external_id!r} exists "
                                                        f"(internal id {internal}): not transformed again.")
        return out

    def transform_request(self, record_type: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(path, body) of the ``!transform`` that creates ``record_type`` from its ``createdFrom``, or None
        when the record is not created from a source. The lines replace the pre-filled ones
        (``?replace=item``): the document holds the lines the record names, no more."""
        source = TRANSFORM_SOURCES.get(record_type)
        created_from = body.get("createdFrom")
        if source is None or not isinstance(created_from, Mapping) or not created_from.get("id"):
            return None
        body = {k: v for k, v in body.items() if k != "createdFrom"}
        for name in TRANSFORM_ZERO_FIELDS.get(record_type, ()):
            body.setdefault(name, 0)
        path = f"{RECORD_PATH}/{source}/{quote(str(created_from['id']), safe='')}/!transform/{record_type}"
        if "item" in body:
            path += "?replace=item"
        return path, body

    def _write_one(self, operation: str, record_type: str, record: Mapping[str, Any], body: dict[str, Any]) -> RecordResult:
        external_id = record.get("externalId")
        base = f"{RECORD_PATH}/{record_type}"
        transform = self.transform_request(record_type, body) if operation == "addList" else None
        if transform is not None:
            method, (path, body), known = "POST", transform, None
        elif operation == "upsertList":
            body = {k: v for k, v in body.items() if k != "externalId"}
            method, path, known = "PUT", f"{base}/eid:{quote(str(external_id), safe='')}", None
        elif operation == "addList":
            method, path, known = "POST", base, None
        elif operation == "updateList":
            if record.get("internalId"):
                known = str(record["internalId"])
                method, path = "PATCH", f"{base}/{quote(known, safe='')}"
            elif external_id:
                body = {k: v for k, v in body.items() if k != "externalId"}
                method, path, known = "PATCH", f"{base}/eid:{quote(str(external_id), safe='')}", None
            else:
                return RecordResult(record_type, None, error_code="INVALID_RECORD",
                                    error_message="an update needs an internalId or an externalId")
        else:
            raise ValueError(f"unknown write operation {operation!r}")
        operation_name = "transform" if transform is not None else operation
        if self.settings.write_mode == "async":
            response = self._write_async(operation_name, method, path, body)
        else:
            response = self._request(operation_name, method, path, body=body)
        if response.status_code in (200, 201, 204):
            location = response.headers.get("Location") or ""
            internal_id = location.rstrip("/").rsplit("/", 1)[-1] if location else known
            if not internal_id or not internal_id.isdigit():
                raise NetSuiteMalformedResponseError(
                    f"{method} {record_type} answered {response.status_code} without a record Location",
                    operation=operation, code="MALFORMED_RESPONSE")
            return RecordResult(record_type, external_id, internal_id=internal_id)
        code, detail = error_details(response)
        return RecordResult(record_type, external_id, error_code=code or f"HTTP_{response.status_code}", error_message=detail)

    def _write_async(self, operation: str, method: str, path: str, body: dict[str, Any]) -> requests.Response:
        """The asynchronous pattern: submit with ``Prefer: respond-async`` (202, the job in ``Location``),
        poll the job until it is completed, list its task, fetch the task's result: the response the
        synchronous request would have given."""
        submitted = self._request(operation, method, path, body=body, headers={"Prefer": "respond-async"})
        job = submitted.headers.get("Location") or ""
        if submitted.status_code != 202 or "/async/v1/job/" not in job:
            return submitted  # NetSuite answered synchronously (or refused the record)
        job_path = job[job.index("/services/rest/async/") :]
        wait = self.settings.async_poll_interval
        while True:
            status = self._json(self._request("asyncJob", "GET", job_path), "asyncJob")
            if not isinstance(status, Mapping) or "completed" not in status:
                raise NetSuiteMalformedResponseError("async job status without completed", operation=operation,
                                                     code="MALFORMED_RESPONSE")
            if status["completed"]:
                break
            time.sleep(wait)
            wait = min(wait * 2, 30.0)
        tasks = self._json(self._request("asyncJob", "GET", f"{job_path}/task"), "asyncJob")
        items = tasks.get("items") if isinstance(tasks, Mapping) else None
        if not items:
            raise NetSuiteMalformedResponseError("completed async job without a task", operation=operation,
                                                 code="MALFORMED_RESPONSE")
        href = next((link["href"] for link in items[0].get("links", []) if link.get("rel") == "self"), None)
        task_path = href[href.index("/services/rest/async/") :] if href else f"{job_path}/task/{items[0].get('id')}"
        return self._request(operation, "GET", f"{task_path}/result")

    def initialize_list(
        self, record_type: str, source_type: str, ids: Sequence[str], *, by: str
    ) -> list[tuple[str, dict[str, Any] | None, str | None, str | None]]:
        """SOAP ``initialize`` on REST: the transform's create-form (``POST {source}/{id}/!transform/{type}``
        with ``Accept: application/vnd.oracle.resource+json; type=create-form``): the pre-filled record,
        not saved, sublists expanded. One request per source record, concurrent; ids given by externalId
        are resolved with one SuiteQL query first. (id, record or None, error code, message) per id."""
        if by == "externalId":
            table, type_value = SUITEQL_TABLES[source_type]
            internal = self._ids_by_external_id(table, type_value, list(ids))
            keys = {ident: internal.get(ident) for ident in ids}
        else:
            keys = {ident: str(ident) for ident in ids}

        def form(ident: str) -> tuple[str, dict[str, Any] | None, str | None, str | None]:
            key = keys[ident]
            if not key:
                return ident, None, "INVALID_INITIALIZE_REF", f"No {source_type} with externalId {ident!r}."
            response = self._request(
                "createForm", "POST", f"{RECORD_PATH}/{source_type}/{quote(key, safe='')}/!transform/{record_type}",
                body={}, params={"expandSubResources": "true"},
                headers={"Accept": CREATE_FORM, "Content-Type": CREATE_FORM},
            )
            if response.status_code == 200:
                body = self._json(response, "createForm")
                if not isinstance(body, Mapping):
                    raise NetSuiteMalformedResponseError(f"create-form {record_type} answered no record",
                                                         operation="initializeList", code="MALFORMED_RESPONSE")
                return ident, from_rest(body, record_type), None, None
            code, detail = error_details(response)
            return ident, None, code or f"HTTP_{response.status_code}", detail

        return self._parallel(form, list(ids))

    # ------------------------------------------------------------------ reads
    def _get_by_path(self, record_type: str, key: str) -> tuple[dict[str, Any] | None, str | None, str | None]:
        response = self._request("get", "GET", f"{RECORD_PATH}/{record_type}/{key}",
                                 params={"expandSubResources": "true"})
        if response.status_code == 200:
            body = self._json(response, "get")
            if not isinstance(body, Mapping) or "id" not in body:
                raise NetSuiteMalformedResponseError(f"GET {record_type} answered a record without id", operation="get",
                                                     code="MALFORMED_RESPONSE")
            return from_rest(body, record_type), None, None
        code, detail = error_details(response)
        if response.status_code == 404 or code in NOT_FOUND_CODES:
            return None, "RCRD_DSNT_EXIST", detail
        return None, code or f"HTTP_{response.status_code}", detail

    def get(self, record_type: str, *, internal_id: str | None, external_id: str | None) -> dict | None:
        key = quote(str(internal_id), safe="") if internal_id else f"eid:{quote(str(external_id), safe='')}"
        record, code, message = self._get_by_path(record_type, key)
        if record is None and code != "RCRD_DSNT_EXIST":
            raise NetSuiteRequestError(f"{record_type} {external_id or internal_id!r}: {redact(message)}", operation="get",
                                   code=code)
        return record

    def get_list(self, record_type: str, ids: Sequence[str], *, by: str) -> list[tuple[str, dict | None, str | None, str | None]]:
        if by == "externalId":
            table, type_value = SUITEQL_TABLES[record_type]
            internal = self._ids_by_external_id(table, type_value, list(ids))
            keys = {ident: internal.get(ident) for ident in ids}
        else:
            keys = {ident: str(ident) for ident in ids}
        existing = [ident for ident in ids if keys[ident]]
        fetched = dict(zip(existing, self._parallel(lambda i: self._get_by_path(record_type, quote(keys[i], safe="")), existing),
                           strict=True))
        out = []
        for ident in ids:
            if ident in fetched:
                record, code, message = fetched[ident]
                out.append((ident, record, code, message))
            else:
                out.append((ident, None, "RCRD_DSNT_EXIST", "That record does not exist."))
        return out

    # ------------------------------------------------------------------ search (SuiteQL)
    def _stamp(self, value: datetime | date) -> str:
        moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time(), tzinfo=UTC)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        local = moment.astimezone(ZoneInfo(self.settings.timezone))
        return f"TO_TIMESTAMP({sql_literal(local.strftime('%Y-%m-%d %H:%M:%S'))}, 'YYYY-MM-DD HH24:MI:SS')"

    def build_query(self, record_type: str, criteria: Mapping[str, Any]) -> _Query:
        try:
            table, type_value = SUITEQL_TABLES[record_type]
        except KeyError:
            raise ValueError(f"record type {record_type!r} has no SuiteQL table in SUITEQL_TABLES") from None
        columns = []
        for column, (_, kind) in SUITEQL_COLUMNS[table].items():
            if kind == _ORDER and record_type not in _ORDER_STATUS_OF:
                continue  # transaction.status letters mean something else on every other type
            if kind == _DATE:
                columns.append(f"TO_CHAR({column}, 'YYYY-MM-DD') AS {column}")
            elif kind == _STAMP:
                columns.append(f"TO_CHAR({column}, 'YYYY-MM-DD HH24:MI:SS') AS {column}")
            else:
                columns.append(column)
        custom = list(dict.fromkeys(str(c).lower() for c in criteria.get("custom_fields") or ()))
        bad = [c for c in custom if not _CUSTOM_COLUMN.fullmatch(c)]
        if bad:
            raise ValueError(f"custom_fields must be custom field script ids (custbody_..., custitem_...), not {bad}")
        columns += custom
        where: list[str] = []
        if type_value:
            where.append(f"{TYPE_COLUMNS.get(table, 'type')} = {sql_literal(type_value)}")
        if "external_ids" in criteria:
            ids = list(criteria["external_ids"])
            if not ids or len(ids) > MAX_IN_VALUES:
                raise ValueError(f"external_ids needs 1..{MAX_IN_VALUES} values")
            where.append(f"externalid IN ({', '.join(sql_literal(e) for e in ids)})")
        if "internal_ids" in criteria:
            ids = [str(i) for i in criteria["internal_ids"]]
            if not ids or len(ids) > MAX_IN_VALUES or not all(i.isdigit() for i in ids):
                raise ValueError(f"internal_ids needs 1..{MAX_IN_VALUES} numeric ids")
            where.append(f"id IN ({', '.join(sql_literal(i) for i in ids)})")
        if "modified_after" in criteria:
            where.append(f"lastmodifieddate >= {self._stamp(criteria['modified_after'])}")
        if criteria.get("modified_before") is not None:
            where.append(f"lastmodifieddate <= {self._stamp(criteria['modified_before'])}")
        if "emails" in criteria:  # several exact e-mails in one query (ignoring case, like SOAP's "is")
            emails = sorted({str(e).strip().lower() for e in criteria["emails"] if str(e).strip()})
            if not emails or len(emails) > MAX_IN_VALUES:
                raise ValueError(f"emails needs 1..{MAX_IN_VALUES} values")
            where.append(f"LOWER(email) IN ({', '.join(sql_literal(e) for e in emails)})")
        email = None
        if "email" in criteria:
            operator = criteria.get("email_operator", "is")
            if operator not in STRING_OPERATORS:
                raise ValueError(f"email operator {operator!r} is not one of {', '.join(STRING_OPERATORS)}")
            value = str(criteria["email"]).strip().lower()
            pattern = {"is": value, "contains": f"%{value}%", "startsWith": f"{value}%", "endsWith": f"%{value}"}[operator]
            where.append(f"LOWER(email) {'=' if operator == 'is' else 'LIKE'} {sql_literal(pattern)}")
            email = (operator, value)
        sql = f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 - values go through sql_literal
        if where:
            sql += " WHERE " + " AND ".join(where)
        return _Query(sql=sql + " ORDER BY id", table=table, email=email, link_type=CREATED_FROM_LINKS.get(record_type),
                      record_type=record_type, custom_fields=tuple(custom))

    def _row(self, table: str, row: Mapping[str, Any], query: _Query | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, (name, kind) in SUITEQL_COLUMNS[table].items():
            value = row.get(column)
            if value is None or value == "":
                continue
            if kind == _ORDER:
                statuses = _ORDER_STATUS_OF.get(query.record_type or "") if query is not None else None
                if statuses is None:
                    continue
                if str(value) not in statuses:
                    raise NetSuiteMalformedResponseError(f"unknown {query.record_type} status {value!r}", operation="search",
                                                         code="MALFORMED_RESPONSE")
                out[name] = statuses[str(value)]
            elif kind == _BOOL:
                out[name] = value in ("T", True, "true")
            elif kind == _REF:
                out[name] = {"internalId": str(value)}
            elif kind == _SHIP:
                if str(value) not in SHIP_STATUS:
                    raise NetSuiteMalformedResponseError(f"unknown shipstatus {value!r}", operation="search",
                                                         code="MALFORMED_RESPONSE")
                out[name] = SHIP_STATUS[str(value)]
            elif kind == _DATE:
                out[name] = date.fromisoformat(str(value)[:10])
            elif kind == _MONEY:
                out[name] = Decimal(str(value))
            elif kind == _STAMP:
                local = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(self.settings.timezone))
                out[name] = local.astimezone(UTC)
            else:
                out[name] = str(value)
        custom = [{"scriptId": column, "value": _suiteql_custom(row[column])}
                  for column in (query.custom_fields if query is not None else ())
                  if row.get(column) is not None and row.get(column) != ""]
        if custom:
            out["customFieldList"] = custom
        return out

    def _search_page(self, query: _Query, search_id: str, page_index: int) -> SearchPage:
        page_size = min(MAX_SUITEQL_PAGE, self.settings.page_size)
        body = self.suiteql_page(query.sql, offset=(page_index - 1) * page_size, limit=page_size)
        records = [self._row(query.table, row, query) for row in body["items"]]
        if query.email is not None:  # LIKE treats _ and % as wildcards: keep exact matches only
            operator, value = query.email
            check = {"is": str.__eq__, "contains": lambda e, v: v in e, "startsWith": str.startswith,
                     "endsWith": str.endswith}[operator]
            records = [r for r in records if check(str(r.get("email") or "").lower(), value)]
        if query.link_type is not None and records:
            self._add_created_from(records, query.link_type)
        total = int(body["totalResults"])
        return SearchPage(records=records, total_records=total, total_pages=math.ceil(total / page_size),
                          page_index=page_index, search_id=search_id)

    def _add_created_from(self, records: list[dict[str, Any]], link_type: str) -> None:
        """``createdFrom`` of a page of transactions: one SuiteQL query over ``PreviousTransactionLineLink``
        (``nextdoc`` = the record, ``previousdoc`` = its source; one row per linked line). A record linked
        to two sources is malformed for a field that holds one."""
        ids = [str(r["internalId"]) for r in records]
        sql = ("SELECT nextdoc, previousdoc FROM previoustransactionlinelink WHERE linktype = "  # noqa: S608
               f"{sql_literal(link_type)} AND nextdoc IN ({', '.join(sql_literal(i) for i in ids)}) ORDER BY nextdoc")
        sources: dict[str, set[str]] = {}
        for row in self.suiteql_all(sql):
            sources.setdefault(str(row["nextdoc"]), set()).add(str(row["previousdoc"]))
        for record in records:
            found = sources.get(str(record["internalId"]), set())
            if len(found) > 1:
                raise NetSuiteMalformedResponseError(
                    f"transaction {record['internalId']} links to {len(found)} sources ({link_type})", operation="search",
                    code="MALFORMED_RESPONSE")
            if found:
                record["createdFrom"] = {"internalId": found.pop()}

    def _created_from(self, record_type: str, source_ids: Sequence[str]) -> dict[str, str]:
        """SOAP's ``createdFrom anyOf`` on SuiteQL: {record id: source id} of the ``record_type``
        transactions created from ``source_ids``, from ``PreviousTransactionLineLink`` (``previousdoc`` the
        source, ``nexttype`` the record's type; one row per linked line). A record linked to two sources is
        malformed (a createdFrom holds one)."""
        table, type_value = SUITEQL_TABLES[record_type]
        ids = [str(i) for i in source_ids]
        if table != "transaction" or not type_value:
            raise ValueError(f"{record_type} is not a transaction: no created_from search")
        if not ids or len(ids) > MAX_IN_VALUES:
            raise ValueError(f"created_from needs 1..{MAX_IN_VALUES} values")
        sql = ("SELECT nextdoc, previousdoc FROM previoustransactionlinelink WHERE nexttype = "  # noqa: S608
               f"{sql_literal(type_value)} AND previousdoc IN ({', '.join(sql_literal(i) for i in ids)}) ORDER BY nextdoc")
        sources: dict[str, set[str]] = {}
        for row in self.suiteql_all(sql):
            sources.setdefault(str(row["nextdoc"]), set()).add(str(row["previousdoc"]))
        two = {doc: found for doc, found in sources.items() if len(found) > 1}
        if two:
            doc, found = next(iter(two.items()))
            raise NetSuiteMalformedResponseError(f"transaction {doc} links to {len(found)} sources", operation="search",
                                                 code="MALFORMED_RESPONSE")
        return {doc: found.pop() for doc, found in sources.items()}

    def _search_created_from(self, record_type: str, criteria: Mapping[str, Any]) -> SearchPage:
        """A ``created_from`` search: the links (:meth:`_created_from`), then the records' body fields by id,
        1,000 ids a query (an order may have more documents than that), each record with the ``createdFrom``
        its link names; answered as one page (the hook reads every page anyway)."""
        sources = self._created_from(record_type, list(criteria["created_from"]))
        ids = sorted(sources, key=lambda i: (len(i), i))
        others = {k: v for k, v in criteria.items() if k != "created_from"}
        records: list[dict[str, Any]] = []
        for start in range(0, len(ids), MAX_IN_VALUES):
            query = self.build_query(record_type, {**others, "internal_ids": ids[start : start + MAX_IN_VALUES]})
            for row in self.suiteql_all(query.sql):
                record = self._row(query.table, row, query)
                record["createdFrom"] = {"internalId": sources[str(record["internalId"])]}
                records.append(record)
        return SearchPage(records=records, total_records=len(records), total_pages=1 if records else 0, page_index=1,
                          search_id=None)

    def search(self, record_type: str, criteria: Mapping[str, Any]) -> SearchPage:
        if "created_from" in criteria:
            return self._search_created_from(record_type, criteria)
        query = self.build_query(record_type, criteria)
        search_id = uuid.uuid4().hex
        self._searches[search_id] = query
        if len(self._searches) > 100:
            self._searches.pop(next(iter(self._searches)))
        return self._search_page(query, search_id, 1)

    def search_more(self, search_id: str, page_index: int) -> SearchPage:
        query = self._searches.get(search_id)
        if query is None:
            raise NetSuiteRequestError(f"unknown search {search_id}", operation="searchMoreWithId", code="INVALID_SEARCH")
        if query.table == GL_TABLE:
            return self._gl_page(query, search_id, page_index)
        return self._search_page(query, search_id, page_index)

    def search_gl(
        self, account_ids: Iterable[str], *, subsidiary_ids: Iterable[str] | None = None,
        date_from: date | None = None, date_to: date | None = None,
    ) -> SearchPage:
        """SOAP ``search_gl`` on SuiteQL: posting lines of ``transactionaccountingline`` on ``account_ids``
        joined to their transaction (type, date, currency, exchange rate) and transaction line
        (subsidiary, ``foreignamount``, ``createdfrom``), ordered by date, transaction and line; rows in
        the SOAP row shape (:data:`amazon_netsuite.netsuite.soap.GL_COLUMNS`), amounts ``Decimal``. Pages of
        ``page_size`` rows, the next ones through :meth:`search_more`."""
        accounts = [str(a) for a in account_ids]
        if not accounts or len(accounts) > MAX_IN_VALUES:
            raise ValueError(f"account_ids needs 1..{MAX_IN_VALUES} values")
        where = ["tal.posting = 'T'", f"tal.account IN ({', '.join(sql_literal(a) for a in accounts)})"]
        subsidiaries = [str(s) for s in subsidiary_ids or ()]
        if subsidiaries:
            where.append(f"tl.subsidiary IN ({', '.join(sql_literal(s) for s in subsidiaries)})")
        if date_from is not None:
            where.append(f"t.trandate >= TO_DATE({sql_literal(date_from.isoformat())}, 'YYYY-MM-DD')")
        if date_to is not None:  # trandate is a day: before the next one
            where.append(f"t.trandate < TO_DATE({sql_literal((date_to + timedelta(days=1)).isoformat())}, 'YYYY-MM-DD')")
        sql = f"{GL_SELECT} WHERE {' AND '.join(where)} ORDER BY t.trandate, tal.transaction, tal.transactionline"
        query = _Query(sql=sql, table=GL_TABLE)
        search_id = uuid.uuid4().hex
        self._searches[search_id] = query
        if len(self._searches) > 100:
            self._searches.pop(next(iter(self._searches)))
        return self._gl_page(query, search_id, 1)

    def _gl_page(self, query: _Query, search_id: str, page_index: int) -> SearchPage:
        page_size = min(MAX_SUITEQL_PAGE, self.settings.page_size)
        body = self.suiteql_page(query.sql, offset=(page_index - 1) * page_size, limit=page_size)
        rows = []
        for item in body["items"]:
            kind = str(item.get("type") or "")
            if kind not in SOAP_TRANSACTION_TYPES or not item.get("id") or not item.get("account"):
                raise NetSuiteMalformedResponseError(f"GL row without id/account or of unknown type {kind!r}",
                                                     operation="search", code="MALFORMED_RESPONSE")
            row = {"internalId": str(item["id"]), "type": SOAP_TRANSACTION_TYPES[kind], "account": str(item["account"])}
            for column, name in (("externalid", "externalId"), ("trandate", "tranDate"), ("subsidiary", "subsidiary"),
                                 ("currency", "currency"), ("createdfrom", "createdFrom")):
                if item.get(column) not in (None, ""):
                    row[name] = str(item[column])
            for column, name in (("exchangerate", "exchangeRate"), ("debit", "debitAmount"), ("credit", "creditAmount"),
                                 ("foreignamount", "fxAmount")):
                if item.get(column) not in (None, ""):
                    row[name] = Decimal(str(item[column]))
            rows.append(row)
        total = int(body["totalResults"])
        return SearchPage(records=[], rows=rows, total_records=total, total_pages=math.ceil(total / page_size),
                          page_index=page_index, search_id=search_id)

    def item_availability(self, item_ids: Iterable[str], since: datetime | None) -> list[ItemAvailability]:
        """Per-location quantities from SuiteQL ``inventoryitemlocations`` (``since`` filters
        ``lastquantityavailablechange``)."""
        ids = [str(i) for i in item_ids]
        rows: list[ItemAvailability] = []
        for start in range(0, len(ids), MAX_IN_VALUES):
            chunk = ids[start : start + MAX_IN_VALUES]
            sql = AVAILABILITY_SELECT + " WHERE item IN (" + ", ".join(sql_literal(i) for i in chunk) + ")"
            if since is not None:
                sql += f" AND lastquantityavailablechange >= {self._stamp(since)}"
            for row in self.suiteql_all(sql + " ORDER BY item, location"):
                changed = row.get("lastquantityavailablechange")
                rows.append(ItemAvailability(
                    item_id=str(row["item"]), location_id=str(row["location"]) if row.get("location") else None,
                    location_name=row.get("locationname"),
                    quantity_on_hand=Decimal(str(row.get("quantityonhand") or 0)),
                    quantity_available=Decimal(str(row.get("quantityavailable") or 0)),
                    quantity_committed=Decimal(str(row.get("quantitycommitted") or 0)),
                    quantity_on_order=Decimal(str(row.get("quantityonorder") or 0)),
                    quantity_back_ordered=Decimal(str(row.get("quantitybackordered") or 0)),
                    last_qty_available_change=(
                        datetime.strptime(changed, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(self.settings.timezone)).astimezone(UTC)
                        if changed else None),
                ))
        return rows

