"""Record builders: plain-data inputs -> the hook's record dicts (docs/architecture.md section 3).

Every record the product creates carries a deterministic externalId so that re-running a window,
replaying or receiving an event twice upserts the same record. NetSuite keeps externalIds unique per
record GROUP (all transactions share one namespace) and ignoring case, so every document type has its
own prefix, all in :data:`DOCUMENT_PREFIXES`, with one id builder per type. Money is ``Decimal`` end to
end. Builders never log (their inputs carry buyer PII).

Every record a builder returns is fit for NetSuite: control characters stripped from every text
field (a NUL fails a whole SOAP envelope), fields cut to :data:`FIELD_LIMITS` where that is harmless
(:data:`TRUNCATED_FIELDS`), and :class:`FieldTooLongError` / :class:`UnknownCountryError` (both
``ValueError``, via :class:`RecordFieldError`) where it is not: transforms catch them and dead-letter
the record.

Custom fields travel as ``"customFieldList": [{"scriptId": "custbody_amazon_order_id", "value": "113-..."}]``
(build it with :func:`custom_fields`); the hook sends a ``str`` value as a ``StringCustomFieldRef``
(``bool``/``int``/``Decimal``/``date``/ref dict/list of refs as Boolean/Long/Double/Date/Select/MultiSelect)
and reads return the same shape. On update NetSuite sets the custom fields sent and keeps the others.

Address books: a customer's ``addressbookList`` is sent without ``replaceAll`` (NetSuite's default
true), so the list sent *is* the address book. To add a shipping address to an existing customer,
send the merged list from :func:`merge_addressbook` (existing entries keep their internalIds, an
address already on file is not added twice).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from amazon_netsuite.netsuite.countries import COUNTRIES, COUNTRY_ALIASES

__all__ = ["COUNTRIES"]  # re-exported: the table lives in amazon_netsuite.netsuite.countries

EXTERNAL_ID_MAX_LENGTH = 255  # NetSuite rejects longer externalIds


# ----------------------------------------------------------------------------------------------
# errors the transforms catch (and dead-letter the record) instead of crashing
# ----------------------------------------------------------------------------------------------
class RecordFieldError(ValueError):
    """A value NetSuite would refuse and the builder cannot fix harmlessly. Names the record and the
    field, never the value (it may be buyer PII). Transforms catch it and dead-letter that record."""

    def __init__(self, message: str, *, field: str, record: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.record = record


class FieldTooLongError(RecordFieldError):
    """A field longer than NetSuite's limit where truncating would change its meaning (e-mail, ids, ...)."""

    def __init__(self, *, field: str, limit: int, length: int, record: str | None = None) -> None:
        where = f"{record!r}: " if record else ""
        super().__init__(
            f"{where}{field} is {length} characters; NetSuite takes at most {limit}. Truncating it would change "
            "its meaning: correct it at the source (or in NetSuite) and replay the record",
            field=field,
            record=record,
        )
        self.limit = limit
        self.length = length


class UnknownCountryError(RecordFieldError):
    """A country code NetSuite's ``Country`` enumeration does not know."""


# ----------------------------------------------------------------------------------------------
# externalIds: every document prefix in one place (transactions share ONE externalId namespace in
# NetSuite, entities another, items a third: distinct prefixes keep documents of one Amazon order apart)
# ----------------------------------------------------------------------------------------------
#: NetSuite record type -> externalId prefix of the documents the product creates
DOCUMENT_PREFIXES: dict[str, str] = {
    "salesOrder": "AMZ-SO-",
    "cashSale": "AMZ-CS-",
    "invoice": "AMZ-INV-",
    "itemFulfillment": "AMZ-IF-",
    "returnAuthorization": "AMZ-RA-",
    "creditMemo": "AMZ-CM-",
    "cashRefund": "AMZ-CR-",
    "journalEntry": "AMZ-JE-",
    "inventoryAdjustment": "AMZ-IA-",
    "transferOrder": "AMZ-TO-",
    "itemReceipt": "AMZ-IR-",
    "customer": "AMZ-CU-",
}


def _check_external_id(value: str) -> str:
    if len(value) > EXTERNAL_ID_MAX_LENGTH:
        raise FieldTooLongError(field="externalId", limit=EXTERNAL_ID_MAX_LENGTH, length=len(value), record=value[:40] + "...")
    if _XML_INVALID.search(value) or _LINE_BREAKS.search(value):
        raise RecordFieldError(
            f"externalId {value[:40]!r} holds control characters; ids are never altered silently: fix the source key",
            field="externalId",
            record=None,
        )
    return value


def document_external_id(record_type: str, key: str | int, *parts: str | int) -> str:
    """``{prefix}{key}[-{part}...]`` for a document of ``record_type`` (prefix from :data:`DOCUMENT_PREFIXES`)."""
    try:
        prefix = DOCUMENT_PREFIXES[record_type]
    except KeyError:
        raise ValueError(
            f"no externalId prefix for record type {record_type!r}; add it to records.DOCUMENT_PREFIXES"
        ) from None
    if key is None or str(key).strip() == "":
        raise ValueError(f"a source key is needed for the {record_type} externalId")
    suffix = "".join(f"-{part}" for part in parts)
    return _check_external_id(f"{prefix}{key}{suffix}")


def document_type_of(external_id: str) -> str | None:
    """The record type whose prefix ``external_id`` carries (longest prefix wins), or None."""
    matches = [(len(p), t) for t, p in DOCUMENT_PREFIXES.items() if external_id.startswith(p)]
    return max(matches)[1] if matches else None


def sales_order_external_id(amazon_order_id: str) -> str:
    """``AMZ-SO-{amazonOrderId}`` (docs/architecture.md section 3)."""
    if not amazon_order_id:
        raise ValueError("an Amazon order id is needed for the sales order externalId")
    return document_external_id("salesOrder", amazon_order_id)


def cash_sale_external_id(amazon_order_id: str) -> str:
    """``AMZ-CS-{amazonOrderId}``: the order's cash sale (billing document of cash_sale marketplaces)."""
    return document_external_id("cashSale", amazon_order_id)


def invoice_external_id(amazon_order_id: str) -> str:
    """``AMZ-INV-{amazonOrderId}``: the order's invoice (billing document of invoice marketplaces)."""
    return document_external_id("invoice", amazon_order_id)


def item_fulfillment_external_id(amazon_order_id: str, shipment_id: str | int) -> str:
    """``AMZ-IF-{amazonOrderId}-{shipmentId}``: one fulfillment per Amazon shipment of the order."""
    return document_external_id("itemFulfillment", amazon_order_id, shipment_id)


def shipment_fulfillment_external_id(shipment_id: str | int) -> str:
    """``AMZ-IF-{shipmentId}``: the item fulfillment of one Amazon shipment (FBA: the report's shipment-id,
    unique across orders; MFN: the package the seller confirmed). Split shipments give one each."""
    return document_external_id("itemFulfillment", shipment_id)


#: marketplaces.csv ``billing_document`` -> NetSuite record type of the billing document
BILLING_RECORD_TYPES = {"cash_sale": "cashSale", "invoice": "invoice"}


def shipment_billing_external_id(billing_document: str, shipment_id: str | int) -> str:
    """``AMZ-CS-{shipmentId}`` (cash sale) or ``AMZ-INV-{shipmentId}`` (invoice): the billing document of
    one shipment (``billing_document`` is the marketplace's: ``cash_sale`` or ``invoice``)."""
    try:
        record_type = BILLING_RECORD_TYPES[billing_document]
    except KeyError:
        raise ValueError(f"billing_document must be one of {', '.join(BILLING_RECORD_TYPES)}, not {billing_document!r}") from None
    return document_external_id(record_type, shipment_id)


def return_authorization_external_id(amazon_order_id: str, return_id: str | int) -> str:
    """``AMZ-RA-{amazonOrderId}-{returnId}``."""
    return document_external_id("returnAuthorization", amazon_order_id, return_id)


def credit_memo_external_id(amazon_order_id: str, refund_id: str | int) -> str:
    """``AMZ-CM-{amazonOrderId}-{refundId}``: the credit memo of an invoiced order's refund."""
    return document_external_id("creditMemo", amazon_order_id, refund_id)


def cash_refund_external_id(amazon_order_id: str, refund_id: str | int) -> str:
    """``AMZ-CR-{amazonOrderId}-{refundId}``: the cash refund of a cash sale's refund."""
    return document_external_id("cashRefund", amazon_order_id, refund_id)


def inventory_adjustment_external_id(key: str | int, *parts: str | int) -> str:
    """``AMZ-IA-{key}[-{part}]``: e.g. an FBA inventory reconciliation (key = report or event id)."""
    return document_external_id("inventoryAdjustment", key, *parts)


def transfer_order_external_id(shipment_id: str | int) -> str:
    """``AMZ-TO-{shipmentId}``: stock moved from a warehouse to an FBA inbound shipment."""
    return document_external_id("transferOrder", shipment_id)


def customer_external_id(marketplace_id: str, buyer_key: str) -> str:
    """``AMZ-CU-{marketplaceId}-{sha256(buyer_key)[:20]}``: one customer per buyer and marketplace.

    ``buyer_key`` is what identifies the buyer on Amazon (the buyer's anonymised email, else the
    order id); it is hashed so no PII ends up in an id that appears in logs and the ledger.
    """
    if not marketplace_id or not buyer_key:
        raise ValueError("a marketplace id and a buyer key are needed for the customer externalId")
    digest = hashlib.sha256(buyer_key.strip().lower().encode()).hexdigest()[:20]
    return document_external_id("customer", f"{marketplace_id}-{digest}")


# ----------------------------------------------------------------------------------------------
# field limits and control characters: one table, applied to every record a builder returns
# ----------------------------------------------------------------------------------------------
#: NetSuite's maximum length (characters) of the text fields the builders fill. Sources in
#: docs/netsuite-quirks.md ("Field limits"); NetSuite answers a longer value with
#: "The field addr1 contained more than the maximum number ( 150 ) of characters allowed."
FIELD_LIMITS: dict[str, int] = {
    "externalId": EXTERNAL_ID_MAX_LENGTH,
    "entityId": 83,
    "companyName": 83,
    "firstName": 32,
    "middleName": 32,
    "lastName": 32,
    "email": 254,
    "phone": 32,
    "addrPhone": 32,
    "addressee": 83,
    "attention": 83,
    "addr1": 150,
    "addr2": 150,
    "addr3": 150,
    "city": 50,
    "state": 30,
    "zip": 36,
    "memo": 999,
    "otherRefNum": 45,
}
#: fields cut to the limit because a shorter value means the same (address lines, names on a label,
#: memos); every other field of FIELD_LIMITS raises FieldTooLongError instead
TRUNCATED_FIELDS = frozenset(
    {"addr1", "addr2", "addr3", "addressee", "attention", "memo", "firstName", "middleName", "lastName", "companyName"}
)
#: text fields that may hold several lines (tab and line breaks kept); in all others they become a space
MULTILINE_FIELDS = frozenset({"memo", "description", "comments", "value"})
#: never altered: ids are checked, not cleaned
_ID_FIELDS = frozenset({"internalId", "externalId", "scriptId", "line"})

#: what XML 1.0 cannot carry (NUL and the other C0 controls but tab/CR/LF, surrogates, U+FFFE/FFFF)
#: plus DEL and the C1 controls, which it can but NetSuite's pages and reports should not
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\r\n]+")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` without control characters: NUL, C0 (but tab/CR/LF in multi-line fields), DEL, C1,
    and what XML 1.0 cannot carry. In single-line fields tab/CR/LF become one space. A NUL anywhere in
    a SOAP envelope makes NetSuite refuse the whole request (a SAXParseException for every record of
    the batch), so no builder output ever holds one."""
    value = _XML_INVALID.sub("", value)
    if not multiline:
        value = _LINE_BREAKS.sub(" ", value).strip()
    return value


def fit_field(field: str, value: str, *, record: str | None = None) -> str:
    """``value`` cleaned and within ``FIELD_LIMITS[field]``: cut when the field is in
    :data:`TRUNCATED_FIELDS`, else :class:`FieldTooLongError`."""
    value = clean_text(value, multiline=field in MULTILINE_FIELDS)
    limit = FIELD_LIMITS.get(field)
    if limit is not None and len(value) > limit:
        if field not in TRUNCATED_FIELDS:
            raise FieldTooLongError(field=field, limit=limit, length=len(value), record=record)
        value = value[:limit].rstrip()
    return value


def _finish(value: Any, *, record: str | None, field: str | None = None) -> Any:
    """Clean every text field of a record dict (recursively) and apply :data:`FIELD_LIMITS`."""
    if isinstance(value, Mapping):
        return {key: _finish(item, record=record, field=key) for key, item in value.items()}
    if isinstance(value, list):
        return [_finish(item, record=record, field=field) for item in value]
    if isinstance(value, str):
        if field in _ID_FIELDS:
            return _check_external_id(value) if field == "externalId" else value
        return fit_field(field or "", value, record=record)
    return value


def ref(internal_id: str | int | None = None, *, external_id: str | None = None) -> dict[str, str]:
    """A RecordRef dict; ``ref(None)`` is an error so a missing mapping never becomes an empty ref."""
    if internal_id is None and external_id is None:
        raise ValueError("a reference needs an internalId or an externalId")
    out: dict[str, str] = {}
    if internal_id is not None:
        out["internalId"] = str(internal_id)
    if external_id is not None:
        out["externalId"] = external_id
    return out


def custom_fields(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"custbody_amazon_order_id": "113-..."}`` -> a ``customFieldList`` (None values are left out).

    Floats are refused like money: give a ``Decimal`` for a decimal or currency custom field.
    """
    out = []
    for script_id, value in values.items():
        if value is None:
            continue
        if isinstance(value, float):
            raise TypeError(f"custom field {script_id!r}: give a Decimal, not a float")
        out.append({"scriptId": script_id, "value": value})
    return out


def money(value: Decimal | int | str) -> Decimal:
    """Money as ``Decimal`` (floats are refused: they would carry binary rounding into NetSuite)."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, not float")
    return Decimal(value)


def country_code(iso2: str, *, record: str | None = None) -> str:
    """ISO 3166-1 alpha-2 (any case; ``UK`` for ``GB``) -> NetSuite ``Country`` value, or
    :class:`UnknownCountryError` (a ``ValueError``) for a code NetSuite's enumeration does not know."""
    code = (iso2 or "").strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    try:
        return COUNTRIES[code]
    except KeyError:
        where = f"{record!r}: " if record else ""
        raise UnknownCountryError(
            f"{where}country {iso2!r} is not an ISO 3166-1 alpha-2 code NetSuite knows "
            "(amazon_netsuite.netsuite.countries.COUNTRIES); correct the address at the source and replay",
            field="country",
            record=record,
        ) from None


@dataclass(frozen=True)
class Address:
    """A postal address (Amazon's shipping address fields).

    :meth:`to_record` cleans control characters, cuts address lines, addressee and attention to
    NetSuite's limits, and raises :class:`FieldTooLongError` for an overlong city, state, zip or phone
    and :class:`UnknownCountryError` for a country NetSuite does not know.
    """

    country: str  # ISO 3166-1 alpha-2
    addressee: str | None = None
    attention: str | None = None
    addr1: str | None = None
    addr2: str | None = None
    addr3: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone: str | None = None

    def to_record(self, *, record: str | None = None) -> dict[str, Any]:
        fields = {
            "country": country_code(self.country, record=record),
            "addressee": self.addressee,
            "attention": self.attention,
            "addr1": self.addr1,
            "addr2": self.addr2,
            "addr3": self.addr3,
            "city": self.city,
            "state": self.state,
            "zip": self.zip,
            "addrPhone": self.phone,
        }
        cleaned = _finish({key: value for key, value in fields.items() if value}, record=record)
        return {key: value for key, value in cleaned.items() if value}


#: the Address fields that make two address book entries the same address
_ADDRESS_IDENTITY = ("country", "addressee", "attention", "addr1", "addr2", "addr3", "city", "state", "zip")


def _address_identity(address: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(" ".join(str(address.get(name) or "").split()).casefold() for name in _ADDRESS_IDENTITY)


def merge_addressbook(
    existing: Sequence[Mapping[str, Any]] | None,
    address: Address,
    *,
    default_shipping: bool = True,
    default_billing: bool = False,
    is_residential: bool | None = None,
    label: str = "Amazon",
) -> list[dict[str, Any]]:
    """The ``addressbookList`` to send so that ``address`` is on the customer exactly once.

    ``existing`` is the customer's current ``addressbookList`` (from ``get_record``/``get_records``;
    search results carry no address book). Existing entries are kept with their internalIds; when the
    address is already there (same country, names, lines, city, state and zip, ignoring case and
    spacing) it is not added again, otherwise it is appended. ``default_shipping``/``default_billing``
    move the default flag to that entry (NetSuite keeps one default of each). Upsert the customer with
    the result: the list is sent with ``replaceAll`` true, so it replaces the address book as a whole.
    """
    new_address = address.to_record()
    wanted = _address_identity(new_address)
    entries: list[dict[str, Any]] = []
    target: dict[str, Any] | None = None
    for entry in existing or []:
        copied = dict(entry)
        stored = dict(copied.get("addressbookAddress") or {})
        if not stored.get("override"):
            stored.pop("addrText", None)  # NetSuite derives it from the fields
        copied["addressbookAddress"] = stored
        if target is None and _address_identity(stored) == wanted:
            target = copied
        entries.append(copied)
    if target is None:
        target = {"label": label, "addressbookAddress": new_address}
        if is_residential is not None:
            target["isResidential"] = is_residential
        entries.append(target)
    for flag, wanted_flag in (("defaultShipping", default_shipping), ("defaultBilling", default_billing)):
        if wanted_flag:
            for entry in entries:
                entry[flag] = entry is target
    return entries


def customer_entity_id(name: str, external_id: str) -> str:
    """A customer name (``entityId``) unique per buyer: ``name`` plus a short stable suffix from the
    externalId's hash, within NetSuite's 83 characters, e.g. ``John Smith (3FA2C1)``.

    Without auto-numbering NetSuite refuses a second customer with the same name ("A customer record
    with this ID already exists"), so two buyers called John Smith need two different entityIds; the
    suffix comes from the externalId, so re-upserting the same buyer keeps the same name.
    """
    suffix = hashlib.sha256(external_id.encode()).hexdigest()[:6].upper()
    tail = f" ({suffix})"
    base = clean_text(name)[: FIELD_LIMITS["entityId"] - len(tail)].rstrip()
    return f"{base}{tail}" if base else suffix


def build_customer(
    *,
    external_id: str,
    subsidiary_id: str | int,
    currency_id: str | int | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    company_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    address: Address | None = None,
    is_person: bool | None = None,
    category_id: str | int | None = None,
    custom_field_values: Mapping[str, Any] | None = None,
    auto_numbering: bool = False,
) -> dict[str, Any]:
    """A ``customer`` record with a single default shipping + billing address.

    Upserting it replaces the customer's address book with this one address; to keep the addresses
    already on file, replace ``addressbookList`` with :func:`merge_addressbook` of the stored one.
    ``custom_field_values`` (``{"custentity_x": "..."}``) becomes ``customFieldList``.

    A person needs a last name (NetSuite requires firstName/lastName for individuals); without one,
    the buyer becomes a company named ``company_name`` (or the address addressee).

    ``entityId`` (the customer's name in lists, unique per account) is the buyer's name plus a stable
    suffix from the externalId (:func:`customer_entity_id`), so namesakes never collide; with
    ``auto_numbering=True`` (the account numbers customers itself: ``NetSuiteHook.customer_auto_numbering``,
    from the connection extra ``customer_auto_numbering``) none is sent and NetSuite assigns it.

    Text is cleaned of control characters and cut to NetSuite's limits where that is harmless (names,
    address lines, addressee/attention); an overlong e-mail, phone, city, state or zip raises
    :class:`FieldTooLongError` and an unknown country :class:`UnknownCountryError` (both ``ValueError``).
    """
    external_id = _check_external_id(external_id)
    person = is_person if is_person is not None else bool(last_name)
    record: dict[str, Any] = {
        "externalId": external_id,
        "isPerson": person,
        "subsidiary": ref(subsidiary_id),
    }
    if person:
        last = clean_text(last_name or "")
        if not last:
            raise RecordFieldError(f"customer {external_id!r}: a person needs a last name", field="lastName", record=external_id)
        record["firstName"] = clean_text(first_name or "") or "-"
        record["lastName"] = last
        display = " ".join(p for p in (clean_text(first_name or ""), last) if p)
    else:
        name = clean_text(company_name or (address.addressee if address and address.addressee else "") or "")
        if not name:
            raise RecordFieldError(
                f"customer {external_id!r}: a company needs company_name or an addressee", field="companyName", record=external_id
            )
        record["companyName"] = name
        display = name
    if not auto_numbering:
        record["entityId"] = customer_entity_id(display, external_id)
    if currency_id is not None:
        record["currency"] = ref(currency_id)
    if category_id is not None:
        record["category"] = ref(category_id)
    if email:
        record["email"] = email.strip()
    if phone:
        record["phone"] = phone
    if address is not None:
        record["addressbookList"] = [
            {
                "defaultShipping": True,
                "defaultBilling": True,
                "isResidential": person,
                "label": "Amazon",
                "addressbookAddress": address.to_record(record=external_id),
            }
        ]
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return _finish(record, record=external_id)


@dataclass(frozen=True)
class SalesOrderLine:
    """One line of a sales transaction. ``line`` keys it for later upserts (NetSuite numbers new lines
    1, 2, ...).

    Tax (see docs/netsuite-quirks.md, "Tax"): in a per-line tax subsidiary give ``tax_code_id`` on every
    taxable line; NetSuite sets ``taxRate1`` from the code and computes ``tax1Amt`` itself
    (amount x rate, half-up to cents) and ignores a ``tax_amount`` sent unless the account allows tax
    overrides. A line whose item is not taxable (an other-charge item such as marketplace-facilitator
    tax) needs no code. In a US legacy header-tax subsidiary set ``is_taxable`` instead and give the
    order a ``tax_item_id``.
    """

    item_id: str | int
    quantity: Decimal
    rate: Decimal
    line: int | None = None
    amount: Decimal | None = None
    description: str | None = None
    tax_code_id: str | int | None = None
    tax_amount: Decimal | None = None
    location_id: str | int | None = None
    is_closed: bool | None = None
    is_taxable: bool | None = None

    def to_record(self, index: int) -> dict[str, Any]:
        quantity = Decimal(self.quantity)
        rate = money(self.rate)
        # NetSuite rounds line amounts half-up to cents (Decimal's default would round half-even)
        amount = (
            money(self.amount)
            if self.amount is not None
            else (quantity * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        )
        record: dict[str, Any] = {
            "line": self.line if self.line is not None else index + 1,
            "item": ref(self.item_id),
            "quantity": quantity,
            "rate": rate,
            "amount": amount,
        }
        if self.description:
            record["description"] = self.description
        if self.tax_code_id is not None:
            record["taxCode"] = ref(self.tax_code_id)
        if self.tax_amount is not None:
            record["tax1Amt"] = money(self.tax_amount)
        if self.is_taxable is not None:
            record["isTaxable"] = self.is_taxable
        if self.location_id is not None:
            record["location"] = ref(self.location_id)
        if self.is_closed is not None:
            record["isClosed"] = self.is_closed
        return record


def build_sales_order(
    *,
    external_id: str,
    customer: dict[str, str],
    subsidiary_id: str | int,
    currency_id: str | int,
    tran_date: date | datetime,
    lines: Sequence[SalesOrderLine],
    location_id: str | int | None = None,
    department_id: str | int | None = None,
    class_id: str | int | None = None,
    shipping_cost: Decimal | None = None,
    shipping_tax_code_id: str | int | None = None,
    handling_cost: Decimal | None = None,
    handling_tax_code_id: str | int | None = None,
    tax_item_id: str | int | None = None,
    ship_address: Address | None = None,
    other_ref_num: str | None = None,
    memo: str | None = None,
    order_status: str | None = "_pendingFulfillment",
    custom_field_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``salesOrder`` record. ``customer`` is a ref dict (``ref(id)`` or ``ref(external_id=...)``).

    ``custom_field_values`` (e.g. ``{"custbody_amazon_order_id": "113-..."}``) becomes
    ``customFieldList``; string values are sent as ``StringCustomFieldRef``.

    The hook upserts transactions with ``replaceAll="false"``: lines are matched by ``line``, so an
    order that was already fulfilled or billed keeps its lines; cancel a line with ``is_closed=True``.
    NetSuite computes ``subTotal``, ``taxTotal`` and ``total`` itself, so they are never sent:
    ``total`` = lines + their tax + shipping + handling + the tax of ``shipping_tax_code_id`` /
    ``handling_tax_code_id`` (per-line tax), or lines + round(taxable lines x the rate of
    ``tax_item_id``) in a US legacy header-tax subsidiary. Compare the stored total in reconciliation.

    Text fields are cleaned and fitted like :func:`build_customer`'s (memo cut at 999 characters; an
    overlong ``other_ref_num`` raises :class:`FieldTooLongError`).
    """
    if not lines:
        raise ValueError(f"sales order {external_id!r} has no lines")
    external_id = _check_external_id(external_id)
    record: dict[str, Any] = {
        "externalId": external_id,
        "entity": dict(customer),
        "subsidiary": ref(subsidiary_id),
        "currency": ref(currency_id),
        "tranDate": tran_date,
        "itemList": [line.to_record(index) for index, line in enumerate(lines)],
    }
    if order_status:
        record["orderStatus"] = order_status
    if location_id is not None:
        record["location"] = ref(location_id)
    if department_id is not None:
        record["department"] = ref(department_id)
    if class_id is not None:
        record["class"] = ref(class_id)
    if shipping_cost is not None:
        record["shippingCost"] = money(shipping_cost)
    if shipping_tax_code_id is not None:
        record["shippingTaxCode"] = ref(shipping_tax_code_id)
    if handling_cost is not None:
        record["handlingCost"] = money(handling_cost)
    if handling_tax_code_id is not None:
        record["handlingTaxCode"] = ref(handling_tax_code_id)
    if tax_item_id is not None:
        record["taxItem"] = ref(tax_item_id)
    if ship_address is not None:
        record["shippingAddress"] = ship_address.to_record(record=external_id)
    if other_ref_num:
        record["otherRefNum"] = other_ref_num
    if memo:
        record["memo"] = memo
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return _finish(record, record=external_id)


# ----------------------------------------------------------------------------------------------
# journal entries
# ----------------------------------------------------------------------------------------------
#: NetSuite's limit of lines for a journal entry written synchronously (add/upsert/update)
MAX_JOURNAL_LINES = 1000


def journal_entry_external_id(settlement_id: str | int, part: int | None = None) -> str:
    """``AMZ-JE-{settlementId}``, or ``AMZ-JE-{settlementId}-{n}`` for part ``n`` of a settlement that
    needs several entries (docs/architecture.md section 3: more than 1,000 lines, or one per currency)."""
    if settlement_id is None or str(settlement_id).strip() == "":
        raise ValueError("a settlement id is needed for the journal entry externalId")
    if part is None:
        return document_external_id("journalEntry", settlement_id)
    if isinstance(part, bool) or not isinstance(part, int) or part < 1:
        raise ValueError(f"journal entry part must be a positive int, got {part!r}")
    return document_external_id("journalEntry", settlement_id, part)


@dataclass(frozen=True)
class JournalLine:
    """One journal entry line: exactly one of ``debit`` / ``credit`` (a ``Decimal``; floats refused).

    ``entity_id`` is a customer (or vendor/employee) internalId; department, class and location are the
    segments of the line. Build a line from a signed amount with :meth:`for_amount`.
    """

    account_id: str | int
    debit: Decimal | None = None
    credit: Decimal | None = None
    memo: str | None = None
    department_id: str | int | None = None
    class_id: str | int | None = None
    location_id: str | int | None = None
    entity_id: str | int | None = None

    @classmethod
    def for_amount(cls, account_id: str | int, amount: Decimal | int | str, **kwargs: Any) -> JournalLine:
        """A positive amount debits ``account_id``, a negative one credits it (zero is a zero debit)."""
        value = money(amount)
        if value < 0:
            return cls(account_id, credit=-value, **kwargs)
        return cls(account_id, debit=value, **kwargs)

    def amounts(self, external_id: str, index: int) -> tuple[Decimal, Decimal]:
        """(debit, credit) as Decimals; refuses floats, both, or neither."""
        if (self.debit is None) == (self.credit is None):
            which = "both a debit and a credit" if self.debit is not None else "neither a debit nor a credit"
            raise ValueError(
                f"journal entry {external_id!r} line {index + 1} (account {self.account_id}) has {which}; "
                "give exactly one of them"
            )
        for name, value in (("debit", self.debit), ("credit", self.credit)):
            if isinstance(value, float):
                raise TypeError(
                    f"journal entry {external_id!r} line {index + 1} (account {self.account_id}): {name} must be a "
                    "Decimal, not a float"
                )
        debit = money(self.debit) if self.debit is not None else Decimal(0)
        credit = money(self.credit) if self.credit is not None else Decimal(0)
        return debit, credit

    def to_record(self, index: int) -> dict[str, Any]:
        record: dict[str, Any] = {"line": index + 1, "account": ref(self.account_id)}
        if self.debit is not None:
            record["debit"] = money(self.debit)
        if self.credit is not None:
            record["credit"] = money(self.credit)
        if self.memo:
            record["memo"] = self.memo
        if self.entity_id is not None:
            record["entity"] = ref(self.entity_id)
        if self.department_id is not None:
            record["department"] = ref(self.department_id)
        if self.class_id is not None:
            record["class"] = ref(self.class_id)
        if self.location_id is not None:
            record["location"] = ref(self.location_id)
        return record


def build_journal_entry(
    *,
    external_id: str,
    subsidiary_id: str | int,
    currency_id: str | int,
    tran_date: date | datetime,
    lines: Sequence[JournalLine],
    memo: str | None = None,
    posting_period_id: str | int | None = None,
    custom_field_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``journalEntry`` record in one currency (``currency_id``, e.g. the marketplace currency).

    Refuses (``ValueError``, naming the externalId) an entry without lines, with more than
    :data:`MAX_JOURNAL_LINES` lines (split it: ``journal_entry_external_id(settlement_id, part)``), a
    line with both or neither of debit/credit, and an unbalanced entry (the message gives both totals
    and the difference); a float amount raises ``TypeError``. Lines are numbered 1..n (``line``): the
    hook upserts transactions with ``replaceAll="false"``, so re-upserting the same entry updates its
    lines in place. Without ``posting_period_id`` NetSuite posts into the period of ``tran_date``.
    """
    if not lines:
        raise ValueError(f"journal entry {external_id!r} has no lines")
    if len(lines) > MAX_JOURNAL_LINES:
        raise ValueError(
            f"journal entry {external_id!r} has {len(lines)} lines; NetSuite takes at most {MAX_JOURNAL_LINES} "
            "per synchronous write: split it into parts (journal_entry_external_id(settlement_id, part))"
        )
    total_debit = total_credit = Decimal(0)
    for index, line in enumerate(lines):
        debit, credit = line.amounts(external_id, index)
        total_debit += debit
        total_credit += credit
    if total_debit != total_credit:
        raise ValueError(
            f"journal entry {external_id!r} does not balance: debits {total_debit} - credits {total_credit} "
            f"= {total_debit - total_credit}; check the GL mapping of its rows"
        )
    external_id = _check_external_id(external_id)
    record: dict[str, Any] = {
        "externalId": external_id,
        "subsidiary": ref(subsidiary_id),
        "currency": ref(currency_id),
        "tranDate": tran_date,
        "lineList": [line.to_record(index) for index, line in enumerate(lines)],
    }
    if posting_period_id is not None:
        record["postingPeriod"] = ref(posting_period_id)
    if memo:
        record["memo"] = memo
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return _finish(record, record=external_id)


# ----------------------------------------------------------------------------------------------
# item fulfillments and billing documents (created from a sales order)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FulfillmentLine:
    """One shipped line: the sales order line it fulfills (``order_line``), units and location."""

    order_line: int
    quantity: Decimal
    location_id: str | int | None = None


def build_item_fulfillment(
    *,
    external_id: str,
    sales_order_id: str | int,
    lines: Sequence[FulfillmentLine],
    ship_date: date | datetime,
    tracking_numbers: Sequence[str] = (),
    carrier: str | None = None,
    memo: str | None = None,
    custom_field_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``itemFulfillment`` created from sales order ``sales_order_id`` (status shipped), one package per
    tracking number (``packageDescr`` = carrier). Lines key on ``orderLine``; NetSuite takes the item from
    the order line and refuses more than is left to fulfill."""
    if not lines:
        raise ValueError(f"item fulfillment {external_id!r} has no lines")
    external_id = _check_external_id(external_id)
    items = []
    for line in lines:
        if Decimal(line.quantity) <= 0:
            raise ValueError(f"item fulfillment {external_id!r}: line {line.order_line} ships {line.quantity} units")
        item: dict[str, Any] = {"orderLine": int(line.order_line), "quantity": Decimal(line.quantity), "itemReceive": True}
        if line.location_id is not None:
            item["location"] = ref(line.location_id)
        items.append(item)
    record: dict[str, Any] = {
        "externalId": external_id,
        "createdFrom": ref(sales_order_id),
        "tranDate": ship_date,
        "shippedDate": ship_date,
        "shipStatus": "_shipped",
        "itemList": items,
    }
    packages = [
        {"packageTrackingNumber": fit_field("packageTrackingNumber", clean_text(number), record=external_id),
         "packageDescr": fit_field("packageDescr", clean_text(carrier), record=external_id) if carrier else None}
        for number in dict.fromkeys(n for n in tracking_numbers if n)
    ]
    if packages:
        record["packageList"] = [{k: v for k, v in p.items() if v is not None} for p in packages]
    if memo:
        record["memo"] = memo
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return _finish(record, record=external_id)


@dataclass(frozen=True)
class BillingLine:
    """One line of a billing document: a sales order line billed (``order_line``), or an added charge."""

    item_id: str | int
    quantity: Decimal
    amount: Decimal
    order_line: int | None = None
    tax_code_id: str | int | None = None
    location_id: str | int | None = None
    description: str | None = None

    def to_record(self) -> dict[str, Any]:
        quantity = Decimal(self.quantity)
        amount = money(self.amount)
        record: dict[str, Any] = {
            "item": ref(self.item_id),
            "quantity": quantity,
            "rate": (amount / quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if quantity else amount,
            "amount": amount,
        }
        if self.order_line is not None:
            record["orderLine"] = int(self.order_line)
        if self.tax_code_id is not None:
            record["taxCode"] = ref(self.tax_code_id)
        if self.location_id is not None:
            record["location"] = ref(self.location_id)
        if self.description:
            record["description"] = self.description
        return record


def build_billing_document(
    *,
    record_type: str,
    external_id: str,
    sales_order_id: str | int,
    account_id: str | int,
    tran_date: date | datetime,
    lines: Sequence[BillingLine],
    shipping_cost: Decimal | None = None,
    shipping_tax_code_id: str | int | None = None,
    handling_cost: Decimal | None = None,
    handling_tax_code_id: str | int | None = None,
    memo: str | None = None,
    custom_field_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``cashSale`` (``account`` = deposit account, ``undepFunds`` false) or ``invoice`` (``account`` =
    A/R account) billed from sales order ``sales_order_id``. NetSuite computes tax and totals from the
    lines' tax codes; never send them."""
    if record_type not in BILLING_RECORD_TYPES.values():
        raise ValueError(f"a billing document is a cashSale or an invoice, not {record_type!r}")
    record = document_head(
        record_type=record_type, external_id=external_id, created_from=sales_order_id, account_id=account_id,
        tran_date=tran_date, lines=lines, shipping_cost=shipping_cost, shipping_tax_code_id=shipping_tax_code_id,
        handling_cost=handling_cost, handling_tax_code_id=handling_tax_code_id,
    )
    if record_type == "cashSale":
        record["undepFunds"] = False
    if memo:
        record["memo"] = memo
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return _finish(record, record=record["externalId"])


def document_head(
    *,
    record_type: str,
    external_id: str,
    created_from: str | int,
    account_id: str | int,
    tran_date: date | datetime,
    lines: Sequence[BillingLine],
    shipping_cost: Decimal | None = None,
    shipping_tax_code_id: str | int | None = None,
    handling_cost: Decimal | None = None,
    handling_tax_code_id: str | int | None = None,
) -> dict[str, Any]:
    """The fields a billing document (:func:`build_billing_document`) and a refund document
    (:func:`build_refund_document`) share: ``externalId`` (checked), ``createdFrom`` (the sales order or
    return authorization), the posting ``account``, ``tranDate``, the lines, and the shipping and handling
    charges with their tax codes (left out when zero). NetSuite sets entity, subsidiary and currency from
    ``createdFrom`` and computes tax and totals; they are never sent. The caller adds its own fields and
    finishes the record (:func:`_finish`)."""
    if not lines:
        raise ValueError(f"{record_type} {external_id!r} has no lines")
    external_id = _check_external_id(external_id)
    record: dict[str, Any] = {
        "externalId": external_id,
        "createdFrom": ref(created_from),
        "account": ref(account_id),
        "tranDate": tran_date,
        "itemList": [line.to_record() for line in lines],
    }
    if shipping_cost:
        record["shippingCost"] = money(shipping_cost)
        if shipping_tax_code_id is not None:
            record["shippingTaxCode"] = ref(shipping_tax_code_id)
    if handling_cost:
        record["handlingCost"] = money(handling_cost)
        if handling_tax_code_id is not None:
            record["handlingTaxCode"] = ref(handling_tax_code_id)
    return record


# ----------------------------------------------------------------------------------------------
# returns: return authorization (from a sales order), credit memo / cash refund and item receipt (from it)
# ----------------------------------------------------------------------------------------------
#: billing document (marketplaces.csv ``billing_document``) -> the refund document that mirrors it
REFUND_RECORD_TYPES = {"cash_sale": "cashRefund", "invoice": "creditMemo"}


def build_return_authorization(
    *,
    external_id: str,
    sales_order_id: str | int,
    lines: Sequence[BillingLine],
    tran_date: date | datetime,
    memo: str | None = None,
) -> dict[str, Any]:
    """A ``returnAuthorization`` created from sales order ``sales_order_id``, approved (``_pendingReceipt``).
    Lines name the order line they return (``order_line``); NetSuite refuses more than was billed and not
    returned. NetSuite computes tax and totals from the lines' tax codes."""
    if not lines:
        raise ValueError(f"return authorization {external_id!r} has no lines")
    external_id = _check_external_id(external_id)
    record: dict[str, Any] = {
        "externalId": external_id,
        "createdFrom": ref(sales_order_id),
        "tranDate": tran_date,
        "orderStatus": "_pendingReceipt",
        "itemList": [line.to_record() for line in lines],
    }
    if memo:
        record["memo"] = fit_field("memo", clean_text(memo), record=external_id)
    return _finish(record, record=external_id)


def build_refund_document(
    *,
    record_type: str,
    external_id: str,
    return_authorization_id: str | int,
    account_id: str | int,
    tran_date: date | datetime,
    lines: Sequence[BillingLine],
    shipping_cost: Decimal | None = None,
    shipping_tax_code_id: str | int | None = None,
    handling_cost: Decimal | None = None,
    handling_tax_code_id: str | int | None = None,
    memo: str | None = None,
    apply_to: Sequence[tuple[str | int, Decimal]] = (),
) -> dict[str, Any]:
    """A ``cashRefund`` (``account``: the account the refund is paid from) or ``creditMemo`` (``account``:
    A/R) created from return authorization ``return_authorization_id``: its lines name the return
    authorization's line (``order_line``); other lines are added charges. NetSuite computes tax and totals.
    ``apply_to`` (credit memo): (invoice internalId, amount) pairs the credit is applied to (``applyList``)."""
    if record_type not in REFUND_RECORD_TYPES.values():
        raise ValueError(f"a refund document is a cashRefund or a creditMemo, not {record_type!r}")
    record = document_head(
        record_type=record_type, external_id=external_id, created_from=return_authorization_id, account_id=account_id,
        tran_date=tran_date, lines=lines, shipping_cost=shipping_cost, shipping_tax_code_id=shipping_tax_code_id,
        handling_cost=handling_cost, handling_tax_code_id=handling_tax_code_id,
    )
    external_id = record["externalId"]
    if memo:
        record["memo"] = fit_field("memo", clean_text(memo), record=external_id)
    if apply_to:
        if record_type != "creditMemo":
            raise ValueError("only a credit memo is applied to invoices")
        record["autoApply"] = False
        record["applyList"] = {"replaceAll": False, "apply": [
            {"doc": int(doc), "apply": True, "amount": money(amount)} for doc, amount in apply_to]}
    return _finish(record, record=external_id)


@dataclass(frozen=True)
class ReceiptLine:
    """Units received on one return authorization line, at a location; ``restock`` false receives them
    without putting them back on hand (written off)."""

    order_line: int
    quantity: Decimal
    location_id: str | int
    restock: bool = True


def build_item_receipt(
    *,
    external_id: str,
    return_authorization_id: str | int,
    lines: Sequence[ReceiptLine],
    tran_date: date | datetime,
    memo: str | None = None,
) -> dict[str, Any]:
    """An ``itemReceipt`` of return authorization ``return_authorization_id``: units back at each line's
    location; NetSuite refuses more than is left to receive."""
    if not lines:
        raise ValueError(f"item receipt {external_id!r} has no lines")
    external_id = _check_external_id(external_id)
    items = []
    for line in lines:
        if Decimal(line.quantity) <= 0:
            raise ValueError(f"item receipt {external_id!r}: line {line.order_line} receives {line.quantity} units")
        items.append({"orderLine": int(line.order_line), "quantity": Decimal(line.quantity), "itemReceive": True,
                      "location": ref(line.location_id), "restock": bool(line.restock)})
    record: dict[str, Any] = {"externalId": external_id, "createdFrom": ref(return_authorization_id),
                              "tranDate": tran_date, "itemList": items}
    if memo:
        record["memo"] = fit_field("memo", clean_text(memo), record=external_id)
    return _finish(record, record=external_id)
