"""Backend-neutral results of the hook's record-level operations (SOAP today, REST later)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

#: status codes NetSuite answers for a posting into a closed (or fully locked) accounting period
PERIOD_CLOSED_CODES = frozenset({"TRAN_PERIOD_CLOSED", "TRAN_PRD_CLOSED", "CLOSED_TRAN_PRD"})
#: status codes for a journal entry whose debits and credits differ
UNBALANCED_CODES = frozenset({"JE_AMOUNTS_MUST_BALANCE", "TRANS_LINES_UNBALNCD"})
#: a customer (entity) name already in use: NetSuite answers UNIQUE_CUST_ID_REQD for customers; the
#: other codes of the enumeration are kept so a flow never misses the case
DUPLICATE_NAME_CODES = frozenset({"UNIQUE_CUST_ID_REQD", "DUP_ENTITY", "DUP_ENTITY_NAME", "UNIQUE_ENTITY_NAME_REQD"})
#: a list write stopped at NetSuite's time limit before this record: it was not saved, send it again
NOT_PROCESSED_CODES = frozenset({"EXCEEDED_MAX_TIME"})
#: a line without the tax code its subsidiary requires
TAX_CODE_MISSING_CODES = frozenset({"TAX_CODE_REQD"})
_FIELD_TOO_LONG = re.compile(r"contained more than the maximum number")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str | None) -> str:
    """NetSuite echoes invalid field values in its messages; emails (buyer PII) become ``<email>``."""
    return _EMAIL.sub("<email>", text or "")


@dataclass(frozen=True)
class RecordResult:
    """The outcome of writing one record: its internalId, or NetSuite's error for that record only."""

    record_type: str
    external_id: str | None
    internal_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None and self.internal_id is not None

    @property
    def period_closed(self) -> bool:
        """NetSuite refused the record because its accounting period is closed (reopen it or re-date)."""
        return self.error_code in PERIOD_CLOSED_CODES

    @property
    def unbalanced(self) -> bool:
        """NetSuite refused a journal entry whose debits and credits differ."""
        return self.error_code in UNBALANCED_CODES

    @property
    def duplicate_name(self) -> bool:
        """NetSuite refused a customer whose name (entityId) another customer has (no auto-numbering)."""
        return self.error_code in DUPLICATE_NAME_CODES

    @property
    def not_processed(self) -> bool:
        """NetSuite never reached this record (the list write hit its time limit): safe to send again."""
        return self.error_code in NOT_PROCESSED_CODES

    @property
    def field_too_long(self) -> bool:
        """NetSuite refused a text field longer than its limit ("The field X contained more than ...")."""
        return self.error_code == "EXCEEDED_MAX_FIELD_LENGTH" or bool(_FIELD_TOO_LONG.search(self.error_message or ""))

    @property
    def tax_code_missing(self) -> bool:
        """A taxable line without the tax code its (per-line tax) subsidiary requires."""
        return self.error_code in TAX_CODE_MISSING_CODES or (self.error_message or "").endswith("for: Tax Code")

    def describe(self) -> str:
        """One line for logs and dead-letter reasons (ids and NetSuite's wording only, no PII)."""
        if self.ok:
            return f"{self.record_type} {self.external_id or ''} -> internalId {self.internal_id}".strip()
        return f"{self.record_type} {self.external_id!r} failed: [{self.error_code}] {redact(self.error_message)}"


@dataclass(frozen=True)
class ItemAvailability:
    """Quantities of one item at one location, as ``getItemAvailability`` reports them."""

    item_id: str
    location_id: str | None
    location_name: str | None
    quantity_on_hand: Decimal
    quantity_available: Decimal
    quantity_committed: Decimal
    quantity_on_order: Decimal
    quantity_back_ordered: Decimal
    last_qty_available_change: datetime | None


@dataclass(frozen=True)
class GlLine:
    """One posting line on an account, as a transaction search lists it (``NetSuiteHook.gl_lines``).

    ``amount`` is in the transaction's currency (``currency_id``), debit positive; ``base_amount`` is the
    same line in the subsidiary's base currency (debit minus credit, at the transaction's exchange rate).
    """

    internal_id: str
    external_id: str | None
    record_type: str  # NetSuite's transaction type enum value, e.g. _cashSale, _journal
    tran_date: str | None  # ISO date
    account_id: str
    subsidiary_id: str | None
    currency_id: str | None
    exchange_rate: Decimal
    amount: Decimal
    base_amount: Decimal
    created_from_id: str | None = None
