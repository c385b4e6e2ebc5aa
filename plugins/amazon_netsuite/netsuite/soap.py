"""SuiteTalk SOAP backend of the NetSuite hook, on ``netsuitesdk`` (zeep).

``netsuitesdk`` gives the WSDL loading, the token passport and the generic ``request(name, ...)``; it
lacks ``upsertList``, ``getList``, ``getItemAvailability``, sales orders and more, so this module reaches
them through ``request`` with zeep types looked up by their qualified names (never by patching the
library). Records travel through the hook as plain dicts in the shape of the SOAP record (fields named
as in the schema, RecordRefs as ``{"internalId", "externalId", "name"}``, sublists as lists under their
schema names), which a REST backend can map as well.

.. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_N3412777.html
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import requests
import zeep.exceptions
from lxml import etree
from netsuitesdk.internal.client import NetSuiteClient
from netsuitesdk.internal.exceptions import NetSuiteLoginError, NetSuiteRateLimitError
from zeep.helpers import serialize_object
from zeep.xsd import ComplexType

from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthError,
    NetSuiteError,
    NetSuiteMalformedResponseError,
    NetSuiteRequestError,
    NetSuiteRequestTooLargeError,
    NetSuiteThrottledError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.results import ItemAvailability, RecordResult

log = logging.getLogger(__name__)

#: record type (SuiteTalk ``RecordType`` value) -> (schema module, schema group, complex type name).
#: Flow issues add the types they write here; the emulator implements the ones the tests use.
RECORD_TYPES: dict[str, tuple[str, str, str]] = {
    "customer": ("relationships", "lists", "Customer"),
    "inventoryItem": ("accounting", "lists", "InventoryItem"),
    "account": ("accounting", "lists", "Account"),
    "subsidiary": ("accounting", "lists", "Subsidiary"),
    "location": ("accounting", "lists", "Location"),
    "currency": ("accounting", "lists", "Currency"),
    "accountingPeriod": ("accounting", "lists", "AccountingPeriod"),
    "salesTaxItem": ("accounting", "lists", "SalesTaxItem"),
    "otherChargeSaleItem": ("accounting", "lists", "OtherChargeSaleItem"),
    "salesOrder": ("sales", "transactions", "SalesOrder"),
    "cashSale": ("sales", "transactions", "CashSale"),
    "invoice": ("sales", "transactions", "Invoice"),
    "itemFulfillment": ("sales", "transactions", "ItemFulfillment"),
    "returnAuthorization": ("customers", "transactions", "ReturnAuthorization"),
    "creditMemo": ("customers", "transactions", "CreditMemo"),
    "cashRefund": ("customers", "transactions", "CashRefund"),
    "journalEntry": ("general", "transactions", "JournalEntry"),
    "inventoryAdjustment": ("inventory", "transactions", "InventoryAdjustment"),
    "transferOrder": ("inventory", "transactions", "TransferOrder"),
    "itemReceipt": ("purchases", "transactions", "ItemReceipt"),
}

#: record type -> (basic search type in platform.common, value of its ``type`` enum filter or None).
SEARCH_TYPES: dict[str, tuple[str, str | None]] = {
    "customer": ("CustomerSearchBasic", None),
    "inventoryItem": ("ItemSearchBasic", "_inventoryItem"),
    "account": ("AccountSearchBasic", None),
    "location": ("LocationSearchBasic", None),
    "subsidiary": ("SubsidiarySearchBasic", None),
    "accountingPeriod": ("AccountingPeriodSearchBasic", None),
    "salesTaxItem": ("SalesTaxItemSearchBasic", None),
    "otherChargeSaleItem": ("ItemSearchBasic", "_otherCharge"),
    "salesOrder": ("TransactionSearchBasic", "_salesOrder"),
    "cashSale": ("TransactionSearchBasic", "_cashSale"),
    "invoice": ("TransactionSearchBasic", "_invoice"),
    "itemFulfillment": ("TransactionSearchBasic", "_itemFulfillment"),
    "returnAuthorization": ("TransactionSearchBasic", "_returnAuthorization"),
    "creditMemo": ("TransactionSearchBasic", "_creditMemo"),
    "cashRefund": ("TransactionSearchBasic", "_cashRefund"),
    "journalEntry": ("TransactionSearchBasic", "_journal"),
    "inventoryAdjustment": ("TransactionSearchBasic", "_inventoryAdjustment"),
    "transferOrder": ("TransactionSearchBasic", "_transferOrder"),
    "itemReceipt": ("TransactionSearchBasic", "_itemReceipt"),
}
#: operators of ``SearchStringField`` the hook uses on text fields (NetSuite compares ignoring case)
STRING_OPERATORS = ("is", "contains", "startsWith", "endsWith")

_THROTTLE_FAULTS = {"exceededConcurrentRequestLimitFault", "exceededRequestLimitFault"}
_THROTTLE_CODES = {"WS_REQUEST_BLOCKED", "WS_CONCUR_SESSION_DISALLWD", "EXCEEDED_MAX_CONCUR_RQST"}
_AUTH_FAULTS = {"invalidCredentialsFault", "invalidSessionFault", "invalidAccountFault", "insufficientPermissionFault"}
_AUTH_CODES = {
    "INVALID_LOGIN_ATTEMPT", "INVALID_LOGIN", "INVALID_LOGIN_CREDENTIALS", "INVALID_LOGIN_IP", "LOGIN_DISABLED",
    "WS_LOG_IN_REQD", "INVALID_ACCT", "INVALID_ROLE", "ROLE_REQUIRED", "INSUFFICIENT_PERMISSION",
    "WS_PERMISSION_REQD", "WS_FEATURE_REQD", "SESSION_TIMED_OUT",
}
_SIZE_FAULTS = {"exceededRequestSizeFault"}
_NOT_FOUND_CODES = {"RCRD_DSNT_EXIST", "RCRD_NOT_FOUND"}
#: what XML 1.0 cannot carry: lxml refuses to serialise it, which would fail the whole request
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def record_type_of(record_type: str) -> tuple[str, str, str]:
    try:
        return RECORD_TYPES[record_type]
    except KeyError:
        raise ValueError(
            f"record type {record_type!r} is not mapped in amazon_netsuite.netsuite.soap.RECORD_TYPES; "
            f"known: {', '.join(sorted(RECORD_TYPES))}"
        ) from None


#: what a list read answers per id: (id, record or None, error code, message)
ReadResult = tuple[str, dict[str, Any] | None, str | None, str | None]


@dataclass(frozen=True)
class SearchPage:
    records: list[dict[str, Any]]
    total_records: int
    total_pages: int
    page_index: int
    search_id: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)  # an advanced search's rows: {column: value}


#: the TransactionSearchRowBasic columns a GL search asks for (NetSuite returns only the columns asked)
GL_COLUMNS = ("internalId", "externalId", "type", "tranDate", "account", "subsidiary", "currency", "exchangeRate",
              "debitAmount", "creditAmount", "fxAmount", "createdFrom")


_GL_COLUMN_TYPES = {
    "internalId": "SearchColumnSelectField", "externalId": "SearchColumnSelectField", "type": "SearchColumnEnumSelectField",
    "tranDate": "SearchColumnDateField", "account": "SearchColumnSelectField", "subsidiary": "SearchColumnSelectField",
    "currency": "SearchColumnSelectField", "exchangeRate": "SearchColumnDoubleField", "debitAmount": "SearchColumnDoubleField",
    "creditAmount": "SearchColumnDoubleField", "fxAmount": "SearchColumnDoubleField", "createdFrom": "SearchColumnSelectField",
}


def _row_values(row: Any) -> dict[str, Any]:
    """A ``TransactionSearchRow`` as ``{column: value}``: each column's first ``searchValue`` (a RecordRef
    becomes its internalId, or its externalId for the ``externalId`` column)."""
    basic = getattr(row, "basic", None)
    out: dict[str, Any] = {}
    if basic is None:
        return out
    for name in GL_COLUMNS:
        values = getattr(basic, name, None)
        if not values:
            continue
        value = values[0].searchValue
        if hasattr(value, "internalId") or hasattr(value, "externalId"):
            value = value.externalId if name == "externalId" else value.internalId
        out[name] = value
    return out


# ----------------------------------------------------------------------------------------------
# dict <-> zeep conversion, driven by the WSDL's own types
# ----------------------------------------------------------------------------------------------
def _as_datetime(value: Any) -> Any:
    """Date-only values become noon UTC, so an account time zone (UTC-12..+14) never shifts the day."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(12, 0), tzinfo=UTC)
    return value


def _list_wrapper_item(xsd_type: ComplexType) -> tuple[str, Any] | None:
    """``SalesOrderItemList`` -> ("item", SalesOrderItem): the one unbounded element of a sublist type."""
    elements = xsd_type.elements
    if len(elements) == 1 and elements[0][1].max_occurs == "unbounded":
        return elements[0][0], elements[0][1].type
    return None


#: concrete ``CustomFieldRef`` subtypes a ``customFieldList`` entry may name with ``"type"``
CUSTOM_FIELD_TYPES = (
    "StringCustomFieldRef",
    "BooleanCustomFieldRef",
    "LongCustomFieldRef",
    "DoubleCustomFieldRef",
    "DateCustomFieldRef",
    "SelectCustomFieldRef",
    "MultiSelectCustomFieldRef",
)


def custom_field_type_name(value: Any) -> str:
    """The ``CustomFieldRef`` subtype for a Python value (str -> ``StringCustomFieldRef``, ...).

    Floats are refused like money elsewhere: give a ``Decimal`` for a decimal/currency custom field.
    """
    if isinstance(value, bool):
        return "BooleanCustomFieldRef"
    if isinstance(value, int):
        return "LongCustomFieldRef"
    if isinstance(value, Decimal):
        return "DoubleCustomFieldRef"
    if isinstance(value, date):  # datetime is a date too
        return "DateCustomFieldRef"
    if isinstance(value, str):
        return "StringCustomFieldRef"
    if isinstance(value, Mapping):
        return "SelectCustomFieldRef"
    if isinstance(value, list | tuple):
        return "MultiSelectCustomFieldRef"
    raise TypeError(
        f"custom field value of type {type(value).__name__} is not supported (use str, bool, int, Decimal, "
        "date/datetime, a ref dict or a list of ref dicts)"
    )


def _custom_fields(
    data: Any, custom_field_type: Callable[[str], Any] | None
) -> list[Any]:
    """``[{"scriptId": "custbody_x", "value": "..."}]`` -> concrete ``CustomFieldRef`` values.

    ``CustomFieldRef`` is abstract: NetSuite (and zeep) need the concrete ``xsi:type``, chosen from the
    value (see :func:`custom_field_type_name`) or named by an optional ``"type"`` key.
    """
    if custom_field_type is None:
        raise ValueError("customFieldList needs the WSDL's CustomFieldRef types (build it through SoapBackend)")
    if isinstance(data, Mapping):  # explicit form {"customField": [...]}
        data = data.get("customField") or []
    out = []
    for entry in data:
        if not isinstance(entry, Mapping) or not (entry.get("scriptId") or entry.get("internalId")):
            raise ValueError("customFieldList entries need a scriptId (or internalId) and a value")
        value = entry.get("value")
        type_name = entry.get("type") or custom_field_type_name(value)
        if type_name not in CUSTOM_FIELD_TYPES:
            raise ValueError(f"custom field type {type_name!r} is not one of {', '.join(CUSTOM_FIELD_TYPES)}")
        field_type = custom_field_type(type_name)
        if type_name == "DateCustomFieldRef":
            value = _as_datetime(value)
        elif type_name == "SelectCustomFieldRef":
            value = custom_field_type("ListOrRecordRef")(**dict(value))
        elif type_name == "MultiSelectCustomFieldRef":
            value = [custom_field_type("ListOrRecordRef")(**dict(v)) for v in value]
        elif type_name == "StringCustomFieldRef":
            value = str(value)
        out.append(field_type(internalId=entry.get("internalId"), scriptId=entry.get("scriptId"), value=value))
    return out


def to_soap(
    xsd_type: ComplexType,
    data: Mapping[str, Any],
    *,
    replace_all: bool | None = None,
    custom_field_type: Callable[[str], Any] | None = None,
) -> Any:
    """Build a zeep value of ``xsd_type`` from a record dict (nested dicts and lists follow the schema).

    ``replace_all`` sets ``replaceAll`` on every sublist that has it, unless the dict gives the sublist
    in its explicit form ``{"replaceAll": bool, "<item>": [...]}``. ``customFieldList`` is a list of
    ``{"scriptId", "value"}`` dicts; ``custom_field_type(name)`` returns the WSDL's type of that name
    (``StringCustomFieldRef``, ...) so each entry is sent with its concrete ``xsi:type``.
    """
    elements = dict(xsd_type.elements)
    attributes = dict(xsd_type.attributes)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in attributes:
            kwargs[key] = value if isinstance(value, bool) else str(value)
            continue
        element = elements.get(key)
        if element is None:
            raise ValueError(f"{xsd_type.name} has no field {key!r} in this WSDL version")
        child_type = element.type
        if not isinstance(child_type, ComplexType):
            kwargs[key] = _as_datetime(value)
            continue
        if child_type.name == "CustomFieldList":
            kwargs[key] = child_type(customField=_custom_fields(value, custom_field_type))
            continue
        if child_type.name == "NullField":
            # ``"nullFieldList": ["custitem_x", "memo"]``: clear these fields on update (custom fields by scriptId)
            kwargs[key] = child_type(name=[str(name) for name in value])
            continue
        wrapper = _list_wrapper_item(child_type)
        if isinstance(value, list) and element.max_occurs != "unbounded" and wrapper is not None:
            item_name, item_type = wrapper
            items = [
                to_soap(item_type, item, replace_all=replace_all, custom_field_type=custom_field_type)
                for item in value
            ]
            list_kwargs: dict[str, Any] = {item_name: items}
            if replace_all is not None and "replaceAll" in dict(child_type.attributes):
                list_kwargs["replaceAll"] = replace_all
            kwargs[key] = child_type(**list_kwargs)
        elif isinstance(value, list):
            kwargs[key] = [
                to_soap(child_type, item, replace_all=replace_all, custom_field_type=custom_field_type)
                for item in value
            ]
        elif isinstance(value, Mapping):
            kwargs[key] = to_soap(child_type, value, replace_all=replace_all, custom_field_type=custom_field_type)
        else:
            kwargs[key] = value
    return xsd_type(**kwargs)


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("_") or key == "nullFieldList":
                continue
            item = _normalize(item)
            if item is None or item == [] or item == {}:
                continue
            out[key] = item
        lists = [key for key in out if key != "replaceAll"]
        if len(lists) == 1 and isinstance(out[lists[0]], list):
            return out[lists[0]]
        return out
    if isinstance(value, list):
        return [_normalize(item) for item in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def from_soap(value: Any) -> dict[str, Any]:
    """A zeep record -> the hook's record dict (money and quantities as ``Decimal``)."""
    return _normalize(serialize_object(value, dict))


# ----------------------------------------------------------------------------------------------
# the client
# ----------------------------------------------------------------------------------------------
_CLIENTS: dict[str, NetSuiteClient] = {}
_WIRE_LOG = logging.getLogger(f"{__name__}.wire")
#: HTTP status of the last response on this thread: zeep turns an error page (HTML that parses as
#: XML) into "Unknown fault occured" and drops the status, which tells a 401 from a 503
_HTTP = threading.local()


def _record_status(transport: Any) -> None:
    """Wrap ``transport.post`` so the status of each response is kept per thread (clients are shared)."""
    original = transport.post

    def post(address: str, message: Any, headers: Any) -> Any:
        response = original(address, message, headers)
        _HTTP.status = getattr(response, "status_code", None)
        return response

    transport.post = post
_WIRE_LOG.setLevel(logging.INFO)
_CLIENTS_LOCK = threading.Lock()


def _escape_template(value: str) -> str:
    return value.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class SoapSettings:
    account: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    token_id: str = field(repr=False)
    token_secret: str = field(repr=False)
    wsdl_version: str
    wsdl_url: str | None = None
    datacenter_url: str | None = None
    page_size: int = 1000
    timeout: float = 300.0

    def fingerprint(self) -> str:
        parts = [
            self.account,
            self.consumer_key,
            self.consumer_secret,
            self.token_id,
            self.token_secret,
            self.wsdl_version,
            self.wsdl_url or "",
            self.datacenter_url or "",
            str(self.page_size),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def build_client(settings: SoapSettings) -> NetSuiteClient:
    """One netsuitesdk client per distinct connection and process: the WSDL is parsed once."""
    key = settings.fingerprint()
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None:
            return client
        attrs: dict[str, str] = {}
        if settings.wsdl_url:
            attrs["WSDL_URL_TEMPLATE"] = _escape_template(settings.wsdl_url)
        if settings.datacenter_url:
            attrs["DATACENTER_URL_TEMPLATE"] = (
                _escape_template(settings.datacenter_url.rstrip("/")) + "/services/{netsuite_port_version}"
            )
        client_cls = type("AmazonNetSuiteClient", (NetSuiteClient,), attrs)
        log.info(
            "Loading NetSuite WSDL %s for account %s (endpoint %s)",
            settings.wsdl_url or "from the account",
            settings.account,
            settings.wsdl_version,
        )
        client = client_cls(
            account=settings.account,
            caching=False,
            wsdl_version=settings.wsdl_version,
            page_size=settings.page_size,
            search_body_fields_only=True,
        )
        client._client.transport.operation_timeout = settings.timeout
        # zeep's transport logs every envelope at DEBUG: buyer names, addresses, emails and the token
        # passport. Give it a logger that never emits DEBUG, whatever the task's log level.
        client._client.transport.logger = _WIRE_LOG
        _record_status(client._client.transport)
        client.connect_tba(
            consumer_key=settings.consumer_key,
            consumer_secret=settings.consumer_secret,
            token_key=settings.token_id,
            token_secret=settings.token_secret,
        )
        _CLIENTS[key] = client
        return client


def _fault_parts(fault: zeep.exceptions.Fault) -> tuple[str | None, str | None, str]:
    """(fault element name, NetSuite code, message) of a SOAP fault."""
    name = code = None
    message = fault.message or ""
    detail = fault.detail
    if detail is not None and not isinstance(detail, str | bytes):
        for child in detail:
            if not isinstance(child.tag, str) or not child.tag.startswith("{urn:faults_"):
                continue
            name = child.tag.rsplit("}", 1)[1]
            for part in child:
                local = part.tag.rsplit("}", 1)[-1] if isinstance(part.tag, str) else ""
                if local == "code":
                    code = part.text
                elif local == "message" and part.text:
                    message = part.text
            break
    return name, code, message


def _from_http_status(status: int, operation: str, what: str) -> NetSuiteError:
    text = f"HTTP {status} from the SuiteTalk endpoint{what}"
    if status in (401, 403):
        return NetSuiteAuthError(
            f"{text}: the account refused the request. Check the netsuite_default connection (account id, "
            "data center URL, consumer key/secret, token id/secret) and the role's permissions.",
            operation=operation,
            code=f"HTTP_{status}",
        )
    if status == 413:
        return NetSuiteRequestTooLargeError(text, operation=operation, code="HTTP_413")
    if status >= 500 or status == 429 or status == 0:
        return NetSuiteUnavailableError(text, operation=operation, code=f"HTTP_{status}" if status else "HTTP_ERROR")
    return NetSuiteRequestError(text, operation=operation, code=f"HTTP_{status}")


def translate_error(exc: BaseException, operation: str, *, http_status: int | None = None) -> NetSuiteError:
    """Map what zeep/netsuitesdk/requests raise onto the hook's error classes (``http_status``: the
    status of the response, when the exception lost it)."""
    if isinstance(exc, NetSuiteError):
        return exc
    original = exc
    if isinstance(exc, NetSuiteRateLimitError | NetSuiteLoginError) and isinstance(
        exc.__context__, zeep.exceptions.Fault
    ):
        original = exc.__context__
    if isinstance(original, zeep.exceptions.Fault):
        if original.code is None and not isinstance(original.detail, etree._Element):
            # zeep's "Unknown fault occured": the server answered an error page, not a SOAP fault
            return _from_http_status(http_status or 0, operation, " (an error page instead of SOAP)")
        name, code, message = _fault_parts(original)
        if name in _THROTTLE_FAULTS or code in _THROTTLE_CODES:
            return NetSuiteThrottledError(message, operation=operation, code=code or name)
        if name in _AUTH_FAULTS or code in _AUTH_CODES or (code or "").startswith("INVALID_LOGIN"):
            return NetSuiteAuthError(
                f"{message} Check the netsuite_default connection (account id, consumer key/secret, "
                "token id/secret) and the role's access-token permissions.",
                operation=operation,
                code=code or name,
            )
        if name in _SIZE_FAULTS:
            return NetSuiteRequestTooLargeError(message, operation=operation, code=code or name)
        if name == "unexpectedErrorFault" or code == "UNEXPECTED_ERROR":
            return NetSuiteUnavailableError(message, operation=operation, code=code)
        return NetSuiteRequestError(message, operation=operation, code=code or name)
    if isinstance(exc, NetSuiteRateLimitError):
        return NetSuiteThrottledError(exc.message, operation=operation, code="WS_REQUEST_BLOCKED")
    if isinstance(exc, NetSuiteLoginError):
        return NetSuiteAuthError(
            f"{exc.message} Check the netsuite_default connection and the role's access-token permissions.",
            operation=operation,
            code=exc.code or "INVALID_LOGIN",
        )
    if isinstance(exc, zeep.exceptions.TransportError):
        status = exc.status_code or http_status or 0
        if status == 200:  # a 200 whose body is not XML: NetSuite answered, but garbage
            return NetSuiteMalformedResponseError(
                "the SuiteTalk endpoint answered HTTP 200 with a body that is not XML", operation=operation, code="MALFORMED_RESPONSE"
            )
        return _from_http_status(status, operation, "")
    if isinstance(exc, zeep.exceptions.XMLParseError):  # the answer does not match the WSDL (e.g. no status)
        return NetSuiteMalformedResponseError(
            f"the answer does not match the WSDL: {exc}", operation=operation, code="MALFORMED_RESPONSE"
        )
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
        return NetSuiteUnavailableError(
            f"{type(exc).__name__} talking to the SuiteTalk endpoint", operation=operation, code=None
        )
    if isinstance(exc, zeep.exceptions.ValidationError):
        return NetSuiteRequestError(
            f"the request does not match the WSDL: {exc}", operation=operation, code="WSDL_VALIDATION"
        )
    return NetSuiteRequestError(f"{type(exc).__name__}: {exc}", operation=operation, code=None)


def _first_invalid_text(value: Any, path: str = "") -> str | None:
    """The path of the first text in a record dict that XML 1.0 cannot carry, or None."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _first_invalid_text(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _first_invalid_text(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, str) and _XML_INVALID.search(value):
        return path or "value"
    return None


def _status_error(status: Any) -> tuple[str | None, str | None]:
    details = getattr(status, "statusDetail", None) or []
    for detail in details:
        if (getattr(detail, "type", None) or "ERROR") == "ERROR":
            return detail.code, detail.message
    if details:
        return details[0].code, details[0].message
    return "UNEXPECTED_ERROR", "NetSuite answered isSuccess=false without a status detail"


class SoapBackend:
    """Record-level operations over SuiteTalk SOAP. One instance per hook; clients are shared."""

    def __init__(self, settings: SoapSettings) -> None:
        self.settings = settings
        self._client: NetSuiteClient | None = None
        version = settings.wsdl_version
        self._ns_core = f"urn:core_{version}.platform.webservices.netsuite.com"
        self._ns_messages = f"urn:messages_{version}.platform.webservices.netsuite.com"
        self._ns_common = f"urn:common_{version}.platform.webservices.netsuite.com"

    @property
    def client(self) -> NetSuiteClient:
        if self._client is None:
            try:
                self._client = build_client(self.settings)
            except (OSError, requests.exceptions.RequestException, zeep.exceptions.Error) as exc:
                raise NetSuiteUnavailableError(
                    f"could not load the WSDL ({type(exc).__name__}: {exc}); check wsdl_url/wsdl_version "
                    "of the netsuite_default connection",
                    operation="loadWsdl",
                ) from exc
        return self._client

    def type(self, namespace: str, name: str) -> Any:
        return self.client._client.get_type(f"{{{namespace}}}{name}")

    def record_class(self, record_type: str) -> Any:
        module, group, name = record_type_of(record_type)
        return self.type(f"urn:{module}_{self.settings.wsdl_version}.{group}.webservices.netsuite.com", name)

    def is_transaction(self, record_type: str) -> bool:
        return record_type_of(record_type)[1] == "transactions"

    def record_ref(self, record_type: str, *, internal_id: str | None = None, external_id: str | None = None):
        return self.type(self._ns_core, "RecordRef")(
            type=record_type, internalId=internal_id, externalId=external_id
        )

    def call(self, operation: str, **kwargs: Any) -> Any:
        _HTTP.status = None
        try:
            response = self.client.request(operation, **kwargs)
        except Exception as exc:
            raise translate_error(exc, operation, http_status=getattr(_HTTP, "status", None)) from exc
        return response.body

    # ------------------------------------------------------------------ writes
    def build_record(self, record_type: str, data: Mapping[str, Any]) -> Any:
        """The zeep record for ``data``; ``ValueError`` for anything NetSuite could not take, among them
        characters XML 1.0 cannot carry (a NUL would make lxml fail the whole envelope, and NetSuite
        refuses such an envelope as a whole: one bad record must fail alone)."""
        bad = _first_invalid_text(data)
        if bad is not None:
            raise ValueError(
                f"{record_type} {data.get('externalId')!r}: field {bad} holds a control character XML cannot carry "
                "(build records with amazon_netsuite.netsuite.records, which removes them)"
            )
        replace_all = False if self.is_transaction(record_type) else None
        try:
            return to_soap(
                self.record_class(record_type),
                data,
                replace_all=replace_all,
                custom_field_type=lambda name: self.type(self._ns_core, name),
            )
        except (ValueError, TypeError, AttributeError, zeep.exceptions.Error) as exc:
            raise ValueError(
                f"{record_type} {data.get('externalId')!r} cannot be built for SuiteTalk {self.settings.wsdl_version}: {exc}"
            ) from exc

    def write_list(
        self, operation: str, record_type: str, records: Sequence[Mapping[str, Any]]
    ) -> list[RecordResult]:
        """``addList`` / ``upsertList`` / ``updateList`` of at most 100 records: one result per record.

        A record that cannot be built for this WSDL (unknown field, unsupported value) fails on its own
        with code ``INVALID_RECORD`` and is not sent; the others are.
        """
        built: list[tuple[int, Any]] = []
        invalid: dict[int, RecordResult] = {}
        for index, record in enumerate(records):
            try:
                built.append((index, self.build_record(record_type, record)))
            except ValueError as exc:
                invalid[index] = RecordResult(
                    record_type=record_type,
                    external_id=record.get("externalId"),
                    error_code="INVALID_RECORD",
                    error_message=str(exc),
                )
        if not built:
            return [invalid[index] for index in range(len(records))]
        sent = [records[index] for index, _ in built]
        answered = iter(self._send_list(operation, record_type, sent, [value for _, value in built]))
        return [invalid[index] if index in invalid else next(answered) for index in range(len(records))]

    def _send_list(
        self, operation: str, record_type: str, records: Sequence[Mapping[str, Any]], soap_records: list[Any]
    ) -> list[RecordResult]:
        body = self.call(operation, record=soap_records)
        response_list = getattr(body, "writeResponseList", None)
        if response_list is None:
            raise NetSuiteMalformedResponseError(
                f"{operation} answered without a writeResponseList", operation=operation, code="MALFORMED_RESPONSE"
            )
        responses = list(response_list.writeResponse or [])
        if any(response.status is None for response in responses):
            raise NetSuiteMalformedResponseError(
                f"{operation} answered a writeResponse without a status", operation=operation, code="MALFORMED_RESPONSE"
            )
        if response_list.status is not None and not response_list.status.isSuccess and not responses:
            code, message = _status_error(response_list.status)
            raise NetSuiteRequestError(message or "", operation=operation, code=code)
        if len(responses) != len(records):
            raise NetSuiteRequestError(
                f"answered {len(responses)} write responses for {len(records)} records",
                operation=operation,
                code="UNEXPECTED_ERROR",
            )
        results = []
        for record, response in zip(records, responses, strict=True):
            external_id = record.get("externalId")
            if response.status.isSuccess:
                ref = response.baseRef
                results.append(
                    RecordResult(
                        record_type=record_type,
                        external_id=(ref.externalId if ref is not None and ref.externalId else external_id),
                        internal_id=ref.internalId if ref is not None else None,
                    )
                )
            else:
                code, message = _status_error(response.status)
                results.append(
                    RecordResult(
                        record_type=record_type,
                        external_id=external_id,
                        error_code=code,
                        error_message=message,
                    )
                )
        return results

    # ------------------------------------------------------------------ reads
    def get_list(self, record_type: str, ids: Sequence[str], *, by: str) -> list[ReadResult]:
        """``getList`` of at most 1000 refs: (id, record or None, error code, message) per id."""
        refs = [
            self.record_ref(record_type, **({"internal_id": i} if by == "internalId" else {"external_id": i}))
            for i in ids
        ]
        return self._read_list("getList", self.call("getList", baseRef=refs), ids)

    def initialize_list(self, record_type: str, source_type: str, ids: Sequence[str], *, by: str) -> list[ReadResult]:
        """``initializeList``: the ``record_type`` NetSuite pre-fills from each ``source_type`` record
        (not saved): (id, record or None, error code, message) per id, in order."""
        core = lambda name: self.type(self._ns_core, name)  # noqa: E731
        initialize = [
            core("InitializeRecord")(
                type=record_type,
                reference=core("InitializeRef")(
                    type=source_type, **({"internalId": i} if by == "internalId" else {"externalId": i})
                ),
            )
            for i in ids
        ]
        return self._read_list("initializeList", self.call("initializeList", initializeRecord=initialize), ids)

    @staticmethod
    def _read_list(operation: str, body: Any, ids: Sequence[str]) -> list[ReadResult]:
        """The ``readResponseList`` of a ``getList``/``initializeList`` of ``ids``: (id, record or None,
        error code, message) per id, in order. An answer without the list, with a response lacking its
        status, or with not exactly one response per id is malformed (retryable): pairing ids with fewer
        responses would drop records, which a caller then takes for "not in NetSuite" and creates again."""
        response_list = getattr(body, "readResponseList", None)
        if response_list is None:
            raise NetSuiteMalformedResponseError(
                f"{operation} answered without a readResponseList", operation=operation, code="MALFORMED_RESPONSE"
            )
        responses = list(response_list.readResponse or [])
        if not responses and response_list.status is not None and not response_list.status.isSuccess:
            code, message = _status_error(response_list.status)
            raise NetSuiteRequestError(message or "", operation=operation, code=code)
        if len(responses) != len(ids) or any(response.status is None for response in responses):
            raise NetSuiteMalformedResponseError(
                f"{operation} answered {len(responses)} responses for {len(ids)} records",
                operation=operation, code="MALFORMED_RESPONSE",
            )
        out: list[ReadResult] = []
        for ident, response in zip(ids, responses, strict=True):
            if response.status.isSuccess and response.record is not None:
                out.append((ident, from_soap(response.record), None, None))
            else:
                code, message = _status_error(response.status)
                out.append((ident, None, code, message))
        return out

    def get(self, record_type: str, *, internal_id: str | None, external_id: str | None) -> dict | None:
        ref = self.record_ref(record_type, internal_id=internal_id, external_id=external_id)
        body = self.call("get", baseRef=ref)
        response = body.readResponse
        if response.status.isSuccess and response.record is not None:
            return from_soap(response.record)
        code, message = _status_error(response.status)
        if code in _NOT_FOUND_CODES:
            return None
        raise NetSuiteRequestError(
            f"{record_type} {external_id or internal_id!r}: {message}", operation="get", code=code
        )

    def _search_record(self, record_type: str, criteria: Mapping[str, Any]) -> Any:
        try:
            search_name, type_filter = SEARCH_TYPES[record_type]
        except KeyError:
            raise ValueError(f"record type {record_type!r} has no basic search mapped in SEARCH_TYPES") from None
        basic = self.type(self._ns_common, search_name)
        fields: dict[str, Any] = {}
        if type_filter is not None:
            fields["type"] = self.type(self._ns_core, "SearchEnumMultiSelectField")(
                operator="anyOf", searchValue=[type_filter]
            )
        if "external_ids" in criteria:
            fields["externalId"] = self.type(self._ns_core, "SearchMultiSelectField")(
                operator="anyOf",
                searchValue=[self.record_ref(record_type, external_id=e) for e in criteria["external_ids"]],
            )
        if "created_from" in criteria:
            fields["createdFrom"] = self.type(self._ns_core, "SearchMultiSelectField")(
                operator="anyOf",
                searchValue=[self.type(self._ns_core, "RecordRef")(internalId=str(i)) for i in criteria["created_from"]],
            )
        if "modified_after" in criteria:
            date_field = self.type(self._ns_core, "SearchDateField")
            after, before = criteria["modified_after"], criteria.get("modified_before")
            if before is None:
                fields["lastModifiedDate"] = date_field(operator="onOrAfter", searchValue=_as_datetime(after))
            else:
                fields["lastModifiedDate"] = date_field(
                    operator="within", searchValue=_as_datetime(after), searchValue2=_as_datetime(before)
                )
        if "email" in criteria:
            operator = criteria.get("email_operator", "is")
            if operator not in STRING_OPERATORS:
                raise ValueError(f"email operator {operator!r} is not one of {', '.join(STRING_OPERATORS)}")
            fields["email"] = self.type(self._ns_core, "SearchStringField")(operator=operator, searchValue=criteria["email"])
        return basic(**fields)

    def _page(self, operation: str, body: Any, expected_index: int) -> SearchPage:
        """One search page, checked: a page that announces results but carries none, a page index other
        than the one asked or out of range, or a missing status is a malformed answer
        (:class:`NetSuiteMalformedResponseError`, retried by the hook), never an empty page."""
        result = getattr(body, "searchResult", None)
        if result is None or result.status is None:
            raise NetSuiteMalformedResponseError(
                f"page {expected_index} of the search came back without a status", operation=operation, code="MALFORMED_RESPONSE"
            )
        if not result.status.isSuccess:
            code, message = _status_error(result.status)
            raise NetSuiteRequestError(message or "", operation=operation, code=code)
        total_records = result.totalRecords or 0
        total_pages = result.totalPages or 0
        page_index = result.pageIndex or 1
        records = []
        if result.recordList is not None and result.recordList.record:
            records = [from_soap(record) for record in result.recordList.record]
        rows = []
        if getattr(result, "searchRowList", None) is not None and result.searchRowList.searchRow:
            rows = [_row_values(row) for row in result.searchRowList.searchRow]
        problem = None
        if total_records > 0 and not records and not rows:
            problem = f"announces {total_records} records but page {page_index} carries no record list"
        elif total_records > 0 and not 1 <= page_index <= max(total_pages, 1):
            problem = f"page index {page_index} is outside 1..{total_pages}"
        elif total_records > 0 and page_index != expected_index:
            problem = f"answered page {page_index} for page {expected_index}"
        if problem is not None:
            raise NetSuiteMalformedResponseError(
                f"malformed search answer: {problem}", operation=operation, code="MALFORMED_RESPONSE"
            )
        return SearchPage(
            records=records,
            total_records=total_records,
            total_pages=total_pages,
            page_index=page_index,
            search_id=result.searchId,
            rows=rows,
        )

    def search(self, record_type: str, criteria: Mapping[str, Any]) -> SearchPage:
        return self._page("search", self.call("search", searchRecord=self._search_record(record_type, criteria)), 1)

    def search_gl(
        self, account_ids: Iterable[str], *, subsidiary_ids: Iterable[str] | None = None,
        date_from: date | None = None, date_to: date | None = None,
    ) -> SearchPage:
        """First page of a ``TransactionSearchAdvanced`` over posting lines on ``account_ids``: criteria
        ``account anyOf``, ``posting is true`` (and ``subsidiary``, ``tranDate``), columns :data:`GL_COLUMNS`."""
        ns_sales = f"urn:sales_{self.settings.wsdl_version}.transactions.webservices.netsuite.com"
        core = lambda name: self.type(self._ns_core, name)  # noqa: E731
        criteria: dict[str, Any] = {
            "account": core("SearchMultiSelectField")(
                operator="anyOf", searchValue=[core("RecordRef")(internalId=str(a)) for a in account_ids]),
            "posting": core("SearchBooleanField")(searchValue=True),
        }
        if subsidiary_ids:
            criteria["subsidiary"] = core("SearchMultiSelectField")(
                operator="anyOf", searchValue=[core("RecordRef")(internalId=str(s)) for s in subsidiary_ids])
        if date_from is not None and date_to is not None:
            criteria["tranDate"] = core("SearchDateField")(
                operator="within", searchValue=_as_datetime(date_from), searchValue2=_as_datetime(date_to))
        elif date_from is not None:
            criteria["tranDate"] = core("SearchDateField")(operator="onOrAfter", searchValue=_as_datetime(date_from))
        elif date_to is not None:
            criteria["tranDate"] = core("SearchDateField")(operator="onOrBefore", searchValue=_as_datetime(date_to))
        columns = {name: [core(_GL_COLUMN_TYPES[name])()] for name in GL_COLUMNS}
        search = self.type(ns_sales, "TransactionSearchAdvanced")(
            criteria=self.type(ns_sales, "TransactionSearch")(basic=self.type(self._ns_common, "TransactionSearchBasic")(**criteria)),
            columns=self.type(ns_sales, "TransactionSearchRow")(
                basic=self.type(self._ns_common, "TransactionSearchRowBasic")(**columns)),
        )
        return self._page("search", self.call("search", searchRecord=search), 1)

    def search_more(self, search_id: str, page_index: int) -> SearchPage:
        return self._page(
            "searchMoreWithId", self.call("searchMoreWithId", searchId=search_id, pageIndex=page_index), page_index
        )

    def item_availability(self, item_ids: Iterable[str], since: datetime | None) -> list[ItemAvailability]:
        refs = [self.record_ref("inventoryItem", internal_id=i) for i in item_ids]
        ref_list = self.type(self._ns_core, "RecordRefList")(recordRef=refs)
        flt = self.type(self._ns_core, "ItemAvailabilityFilter")(
            item=ref_list, lastQtyAvailableChange=_as_datetime(since) if since else None
        )
        body = self.call("getItemAvailability", itemAvailabilityFilter=flt)
        result = body.getItemAvailabilityResult
        if not result.status.isSuccess:
            code, message = _status_error(result.status)
            if code in {"NO_RECORDS_FOUND", "RCRD_DSNT_EXIST"}:
                return []
            raise NetSuiteRequestError(message or "", operation="getItemAvailability", code=code)
        rows = []
        entries = result.itemAvailabilityList.itemAvailability if result.itemAvailabilityList else None
        for row in entries or []:
            rows.append(
                ItemAvailability(
                    item_id=row.item.internalId,
                    location_id=row.locationId.internalId if row.locationId is not None else None,
                    location_name=row.locationId.name if row.locationId is not None else None,
                    quantity_on_hand=_dec(row.quantityOnHand),
                    quantity_available=_dec(row.quantityAvailable),
                    quantity_committed=_dec(row.quantityCommitted),
                    quantity_on_order=_dec(row.quantityOnOrder),
                    quantity_back_ordered=_dec(row.quantityBackOrdered),
                    last_qty_available_change=row.lastQtyAvailableChange,
                )
            )
        return rows


def _dec(value: float | None) -> Decimal:
    return Decimal(repr(value)) if value is not None else Decimal(0)
