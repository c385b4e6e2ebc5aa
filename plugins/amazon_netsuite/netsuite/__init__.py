"""NetSuite side: :class:`NetSuiteHook` (record-level API, SOAP backend on netsuitesdk), builders, errors."""

from __future__ import annotations

from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthError,
    NetSuiteBatchError,
    NetSuiteError,
    NetSuiteRequestError,
    NetSuiteRetryableError,
    NetSuiteThrottledError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.hook import NETSUITE_POOL, NetSuiteHook
from amazon_netsuite.netsuite.results import (
    PERIOD_CLOSED_CODES,
    UNBALANCED_CODES,
    ItemAvailability,
    RecordResult,
)

__all__ = [
    "NETSUITE_POOL",
    "PERIOD_CLOSED_CODES",
    "UNBALANCED_CODES",
    "ItemAvailability",
    "NetSuiteAuthError",
    "NetSuiteBatchError",
    "NetSuiteError",
    "NetSuiteHook",
    "NetSuiteRequestError",
    "NetSuiteRetryableError",
    "NetSuiteThrottledError",
    "NetSuiteUnavailableError",
    "RecordResult",
]
