"""Sync ledger: per-record status of every flow, dead letters, replay, pushed-state snapshots."""

from amazon_netsuite.ledger.models import (
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SKIPPED,
    STATUS_SYNCED,
    STATUSES,
)
from amazon_netsuite.ledger.store import (
    LEDGER_CONN_ID,
    Ledger,
    LedgerError,
    LedgerRecord,
    RunSummary,
    content_hash,
    ledger_key,
)

__all__ = [
    "LEDGER_CONN_ID",
    "STATUSES",
    "STATUS_FAILED",
    "STATUS_PENDING",
    "STATUS_SKIPPED",
    "STATUS_SYNCED",
    "Ledger",
    "LedgerError",
    "LedgerRecord",
    "RunSummary",
    "content_hash",
    "ledger_key",
]
