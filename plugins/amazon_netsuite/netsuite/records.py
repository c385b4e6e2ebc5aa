"""Record builders: plain-data inputs -> the hook's record dicts (ARCHITECTURE.md section 3).

Every record the product creates carries a deterministic externalId so that re-running a window,
replaying or receiving an event twice upserts the same record. Money is ``Decimal`` end to end.
Builders never log (their inputs carry buyer PII).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

EXTERNAL_ID_MAX_LENGTH = 255  # NetSuite rejects longer externalIds

#: ISO 3166-1 alpha-2 -> NetSuite ``Country`` enumeration (platform.commonTypes.xsd).
COUNTRIES: dict[str, str] = {
    "US": "_unitedStates", "CA": "_canada", "MX": "_mexico", "BR": "_brazil",
    "GB": "_unitedKingdom", "UK": "_unitedKingdom", "IE": "_ireland", "DE": "_germany", "FR": "_france",
    "IT": "_italy", "ES": "_spain", "NL": "_netherlands", "BE": "_belgium", "LU": "_luxembourg",
    "AT": "_austria", "CH": "_switzerland", "SE": "_sweden", "NO": "_norway", "DK": "_denmark",
    "FI": "_finland", "PL": "_poland", "CZ": "_czechia", "PT": "_portugal", "GR": "_greece",
    "HU": "_hungary", "RO": "_romania", "TR": "_turkiye", "AE": "_unitedArabEmirates",
    "SA": "_saudiArabia", "EG": "_egypt", "IN": "_india", "JP": "_japan", "AU": "_australia",
    "NZ": "_newZealand", "SG": "_singapore", "ZA": "_southAfrica", "CN": "_china", "HK": "_hongKong",
    "PR": "_puertoRico",
}


def _check_external_id(value: str) -> str:
    if len(value) > EXTERNAL_ID_MAX_LENGTH:
        raise ValueError(f"externalId {value[:40]!r}... is longer than {EXTERNAL_ID_MAX_LENGTH} characters")
    return value


def sales_order_external_id(amazon_order_id: str) -> str:
    """``AMZ-SO-{amazonOrderId}`` (ARCHITECTURE.md section 3)."""
    if not amazon_order_id:
        raise ValueError("an Amazon order id is needed for the sales order externalId")
    return _check_external_id(f"AMZ-SO-{amazon_order_id}")


def customer_external_id(marketplace_id: str, buyer_key: str) -> str:
    """``AMZ-CU-{marketplaceId}-{sha256(buyer_key)[:20]}``: one customer per buyer and marketplace.

    ``buyer_key`` is what identifies the buyer on Amazon (the buyer's anonymised email, else the
    order id); it is hashed so no PII ends up in an id that appears in logs and the ledger.
    """
    if not marketplace_id or not buyer_key:
        raise ValueError("a marketplace id and a buyer key are needed for the customer externalId")
    digest = hashlib.sha256(buyer_key.strip().lower().encode()).hexdigest()[:20]
    return _check_external_id(f"AMZ-CU-{marketplace_id}-{digest}")


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


def country_code(iso2: str) -> str:
    try:
        return COUNTRIES[iso2.upper()]
    except KeyError:
        raise ValueError(
            f"country {iso2!r} has no NetSuite Country value in amazon_netsuite.netsuite.records.COUNTRIES"
        ) from None


@dataclass(frozen=True)
class Address:
    """A postal address (Amazon's shipping address fields)."""

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

    def to_record(self) -> dict[str, Any]:
        fields = {
            "country": country_code(self.country),
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
        return {key: value for key, value in fields.items() if value}


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
) -> dict[str, Any]:
    """A ``customer`` record with a single default shipping + billing address.

    Upserting it replaces the customer's address book with this one address; to keep the addresses
    already on file, replace ``addressbookList`` with :func:`merge_addressbook` of the stored one.
    ``custom_field_values`` (``{"custentity_x": "..."}``) becomes ``customFieldList``.

    A person needs a last name (NetSuite requires firstName/lastName for individuals); without one,
    the buyer becomes a company named ``company_name`` (or the address addressee).
    """
    person = is_person if is_person is not None else bool(last_name)
    record: dict[str, Any] = {
        "externalId": _check_external_id(external_id),
        "isPerson": person,
        "subsidiary": ref(subsidiary_id),
    }
    if person:
        if not last_name:
            raise ValueError(f"customer {external_id!r}: a person needs a last name")
        record["firstName"] = (first_name or "-")[:32]
        record["lastName"] = last_name[:32]
    else:
        name = company_name or (address.addressee if address else None)
        if not name:
            raise ValueError(f"customer {external_id!r}: a company needs company_name or an addressee")
        record["companyName"] = name[:83]
    if currency_id is not None:
        record["currency"] = ref(currency_id)
    if category_id is not None:
        record["category"] = ref(category_id)
    if email:
        record["email"] = email
    if phone:
        record["phone"] = phone
    if address is not None:
        record["addressbookList"] = [
            {
                "defaultShipping": True,
                "defaultBilling": True,
                "isResidential": person,
                "label": "Amazon",
                "addressbookAddress": address.to_record(),
            }
        ]
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return record


@dataclass(frozen=True)
class SalesOrderLine:
    """One order line. ``line`` keys it for later upserts (NetSuite numbers new lines 1, 2, ...)."""

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
    NetSuite computes ``subTotal``, ``taxTotal`` and ``total`` itself, so they are never sent; tax comes
    from each line's ``taxCode`` (and ``shippingTaxCode``/``handlingTaxCode`` for shipping and handling).
    """
    if not lines:
        raise ValueError(f"sales order {external_id!r} has no lines")
    record: dict[str, Any] = {
        "externalId": _check_external_id(external_id),
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
    if ship_address is not None:
        record["shippingAddress"] = ship_address.to_record()
    if other_ref_num:
        record["otherRefNum"] = other_ref_num
    if memo:
        record["memo"] = memo
    if custom_field_values:
        record["customFieldList"] = custom_fields(custom_field_values)
    return record


# ----------------------------------------------------------------------------------------------
# journal entries
# ----------------------------------------------------------------------------------------------
#: NetSuite's limit of lines for a journal entry written synchronously (add/upsert/update)
MAX_JOURNAL_LINES = 1000


def journal_entry_external_id(settlement_id: str | int, part: int | None = None) -> str:
    """``AMZ-JE-{settlementId}``, or ``AMZ-JE-{settlementId}-{n}`` for part ``n`` of a settlement that
    needs several entries (ARCHITECTURE.md section 3: more than 1,000 lines, or one per currency)."""
    if settlement_id is None or str(settlement_id).strip() == "":
        raise ValueError("a settlement id is needed for the journal entry externalId")
    if part is None:
        return _check_external_id(f"AMZ-JE-{settlement_id}")
    if isinstance(part, bool) or not isinstance(part, int) or part < 1:
        raise ValueError(f"journal entry part must be a positive int, got {part!r}")
    return _check_external_id(f"AMZ-JE-{settlement_id}-{part}")


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
    record: dict[str, Any] = {
        "externalId": _check_external_id(external_id),
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
    return record
