"""The 2023_2 WSDL as zeep sees it: parse requests, build responses and faults that match the schema.

Responses are built with zeep's own types from the WSDL, so they validate against the XSDs by
construction; faults are built by hand in NetSuite's shape (zeep does not serialise faults).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from zeep import Client
from zeep.helpers import serialize_object
from zeep.xsd import ComplexType

VERSION = "2023_2"
NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_CORE = f"urn:core_{VERSION}.platform.webservices.netsuite.com"
NS_MESSAGES = f"urn:messages_{VERSION}.platform.webservices.netsuite.com"
NS_COMMON = f"urn:common_{VERSION}.platform.webservices.netsuite.com"
NS_FAULTS = f"urn:faults_{VERSION}.platform.webservices.netsuite.com"
NS_SALES = f"urn:sales_{VERSION}.transactions.webservices.netsuite.com"
BINDING = f"{{urn:platform_{VERSION}.webservices.netsuite.com}}NetSuiteBinding"

#: record types the emulator implements -> (schema namespace, complex type)
RECORD_TYPES: dict[str, tuple[str, str]] = {
    "customer": (f"urn:relationships_{VERSION}.lists.webservices.netsuite.com", "Customer"),
    "salesOrder": (f"urn:sales_{VERSION}.transactions.webservices.netsuite.com", "SalesOrder"),
    "inventoryItem": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "InventoryItem"),
    "account": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "Account"),
    "subsidiary": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "Subsidiary"),
    "location": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "Location"),
    "currency": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "Currency"),
    "journalEntry": (f"urn:general_{VERSION}.transactions.webservices.netsuite.com", "JournalEntry"),
    "accountingPeriod": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "AccountingPeriod"),
    "salesTaxItem": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "SalesTaxItem"),
    "otherChargeSaleItem": (f"urn:accounting_{VERSION}.lists.webservices.netsuite.com", "OtherChargeSaleItem"),
    "inventoryAdjustment": (f"urn:inventory_{VERSION}.transactions.webservices.netsuite.com", "InventoryAdjustment"),
    "itemFulfillment": (f"urn:sales_{VERSION}.transactions.webservices.netsuite.com", "ItemFulfillment"),
    "cashSale": (f"urn:sales_{VERSION}.transactions.webservices.netsuite.com", "CashSale"),
    "invoice": (f"urn:sales_{VERSION}.transactions.webservices.netsuite.com", "Invoice"),
    "returnAuthorization": (f"urn:customers_{VERSION}.transactions.webservices.netsuite.com", "ReturnAuthorization"),
    "creditMemo": (f"urn:customers_{VERSION}.transactions.webservices.netsuite.com", "CreditMemo"),
    "cashRefund": (f"urn:customers_{VERSION}.transactions.webservices.netsuite.com", "CashRefund"),
    "itemReceipt": (f"urn:purchases_{VERSION}.transactions.webservices.netsuite.com", "ItemReceipt"),
}


def reference_dir() -> Path:
    """``$AMAZON_NETSUITE_REFERENCE_DIR`` (default ``../shared/reference`` next to the project)."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
    return Path(os.environ.get("AMAZON_NETSUITE_REFERENCE_DIR") or default)


def wsdl_path() -> Path:
    return reference_dir() / f"netsuite-wsdl-{VERSION}" / "netsuite.wsdl"


class Schema:
    """The parsed WSDL (loaded once per process and path)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(
                f"NetSuite {VERSION} WSDL not found at {path}; set AMAZON_NETSUITE_REFERENCE_DIR to the "
                "directory holding netsuite-wsdl-2023_2/"
            )
        self.path = path
        self.client = Client(str(path))
        self.binding = self.client.wsdl.bindings[BINDING]
        self._fields: dict[int, dict[str, Any]] = {}

    def type(self, namespace: str, name: str) -> Any:
        return self.client.get_type(f"{{{namespace}}}{name}")

    def core(self, name: str) -> Any:
        return self.type(NS_CORE, name)

    def messages(self, name: str) -> Any:
        return self.type(NS_MESSAGES, name)

    def record_class(self, record_type: str) -> Any:
        namespace, name = RECORD_TYPES[record_type]
        return self.type(namespace, name)

    def fields(self, xsd_type: ComplexType) -> dict[str, Any]:
        key = id(xsd_type)
        if key not in self._fields:
            self._fields[key] = dict(xsd_type.elements)
        return self._fields[key]

    def has_field(self, record_type: str, name: str) -> bool:
        return name in self.fields(self.record_class(record_type))

    # ------------------------------------------------------------------ requests
    def parse_request(self, envelope: etree._Element) -> tuple[str, Any, Any]:
        """(operation, body, header) of a SOAP request envelope."""
        body = envelope.find(f"{{{NS_SOAP}}}Body")
        if body is None or len(body) == 0:
            raise ValueError("the SOAP envelope has no Body element")
        operation = etree.QName(body[0]).localname
        try:
            op = self.binding.get(operation)
        except ValueError:
            raise LookupError(operation) from None
        result = op.input.deserialize(envelope)
        return operation, result.body, result.header

    def serialize_response(self, operation: str, body: Mapping[str, Any], ns_id: str) -> bytes:
        op = self.binding.get(operation)
        message = op.output.serialize(**body, _soapheaders={"documentInfo": {"nsId": ns_id}})
        return etree.tostring(message.content, xml_declaration=True, encoding="utf-8")


@functools.cache
def load_schema(path: str | None = None) -> Schema:
    return Schema(Path(path) if path else wsdl_path())


# ----------------------------------------------------------------------------------------------
# zeep <-> JSON (the admin API's record shape)
# ----------------------------------------------------------------------------------------------
def record_type_of(value: Any) -> str | None:
    name = getattr(getattr(value, "_xsd_type", None), "name", None)
    if not name:
        return None
    return name[0].lower() + name[1:]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("_") or key == "nullFieldList":
                continue
            item = _jsonable(item)
            if item is None or item == [] or item == {}:
                continue
            out[key] = item
        keys = [key for key in out if key != "replaceAll"]
        if len(keys) == 1 and isinstance(out[keys[0]], list) and keys[0] not in ("searchValue",):
            return out[keys[0]]
        return out
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def to_json(value: Any) -> tuple[dict[str, Any], dict[str, bool]]:
    """A zeep record -> (JSON record, {sublist: replaceAll}) with replaceAll defaulting to true."""
    raw = serialize_object(value, dict)
    flags = {}
    for key, item in raw.items():
        if isinstance(item, dict) and "replaceAll" in item:
            flags[key] = item["replaceAll"] if item["replaceAll"] is not None else True
    return _jsonable(raw), flags


def from_json(schema: Schema, xsd_type: ComplexType, data: Mapping[str, Any]) -> Any:
    """A JSON record -> a zeep value of ``xsd_type``; unknown fields raise ``ValueError``."""
    elements = schema.fields(xsd_type)
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
            raise ValueError(f"{xsd_type.name} has no field {key!r}")
        child = element.type
        if not isinstance(child, ComplexType):
            if getattr(child, "name", None) == "dateTime" and isinstance(value, str):
                value = datetime.fromisoformat(value)
            kwargs[key] = value
            continue
        if child.name == "CustomFieldList":
            kwargs[key] = child(customField=[_custom_field(schema, entry) for entry in value])
            continue
        inner = child.elements
        if isinstance(value, list) and element.max_occurs != "unbounded":
            if len(inner) != 1:
                raise ValueError(f"{xsd_type.name}.{key} is not a list")
            item_name, item_element = inner[0]
            kwargs[key] = child(**{item_name: [from_json(schema, item_element.type, v) for v in value]})
        elif isinstance(value, list):
            kwargs[key] = [from_json(schema, child, v) for v in value]
        elif isinstance(value, Mapping):
            kwargs[key] = from_json(schema, child, value)
        else:
            raise ValueError(f"{xsd_type.name}.{key} needs an object, got {type(value).__name__}")
    return xsd_type(**kwargs)


def custom_field_type(value: Any) -> str:
    """The concrete ``CustomFieldRef`` subtype of a JSON custom field value (JSON has no dates: an ISO
    date string comes back as a ``StringCustomFieldRef``)."""
    if isinstance(value, bool):
        return "BooleanCustomFieldRef"
    if isinstance(value, int):
        return "LongCustomFieldRef"
    if isinstance(value, float | Decimal):
        return "DoubleCustomFieldRef"
    if isinstance(value, datetime):
        return "DateCustomFieldRef"
    if isinstance(value, str):
        return "StringCustomFieldRef"
    if isinstance(value, Mapping):
        return "SelectCustomFieldRef"
    if isinstance(value, list):
        return "MultiSelectCustomFieldRef"
    raise ValueError(f"custom field value of type {type(value).__name__} is not supported")


def _custom_field(schema: Schema, entry: Any) -> Any:
    """``{"scriptId", "value"}`` -> the concrete ``CustomFieldRef`` (it is abstract in the schema)."""
    if not isinstance(entry, Mapping) or not (entry.get("scriptId") or entry.get("internalId")):
        raise ValueError("customFieldList entries need a scriptId (or internalId) and a value")
    value = entry.get("value")
    type_name = custom_field_type(value)
    if type_name == "SelectCustomFieldRef":
        value = schema.core("ListOrRecordRef")(**dict(value))
    elif type_name == "MultiSelectCustomFieldRef":
        value = [schema.core("ListOrRecordRef")(**dict(v)) for v in value]
    return schema.core(type_name)(internalId=entry.get("internalId"), scriptId=entry.get("scriptId"), value=value)


# ----------------------------------------------------------------------------------------------
# faults
# ----------------------------------------------------------------------------------------------
def fault_envelope(
    fault: str | None, code: str | None, message: str, *, faultcode: str = "soapenv:Server.userException"
) -> bytes:
    """A SOAP fault as NetSuite sends it: ``detail`` holds ``platformFaults:<fault>`` with code + message.

    ``fault=None`` gives a fault without ``detail``: what NetSuite answers when it cannot even parse the
    envelope (a SAXParseException)."""
    nsmap = {"soapenv": NS_SOAP}
    envelope = etree.Element(f"{{{NS_SOAP}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(envelope, f"{{{NS_SOAP}}}Body")
    node = etree.SubElement(body, f"{{{NS_SOAP}}}Fault")
    etree.SubElement(node, "faultcode").text = faultcode
    etree.SubElement(node, "faultstring").text = message
    if fault is None:
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    detail = etree.SubElement(node, "detail")
    element = fault[0].lower() + fault[1:]
    fault_node = etree.SubElement(detail, f"{{{NS_FAULTS}}}{element}", nsmap={"platformFaults": NS_FAULTS})
    etree.SubElement(fault_node, f"{{{NS_FAULTS}}}code").text = code
    etree.SubElement(fault_node, f"{{{NS_FAULTS}}}message").text = message
    host = etree.SubElement(detail, "{http://xml.apache.org/axis/}hostname", nsmap={"ns1": "http://xml.apache.org/axis/"})
    host.text = "sandbox.netsuite.local"
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
