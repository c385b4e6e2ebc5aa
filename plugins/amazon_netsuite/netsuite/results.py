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
