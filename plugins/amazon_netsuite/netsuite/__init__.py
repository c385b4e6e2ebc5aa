"""NetSuite side: :class:`NetSuiteHook` (record-level API, SOAP backend on netsuitesdk), builders, errors."""

from __future__ import annotations

from amazon_netsuite.netsuite.errors import (
    NetSuiteAuthBatchError,
    NetSuiteAuthError,
    NetSuiteBatchError,
    NetSuiteError,
    NetSuiteMalformedResponseError,
    NetSuiteRequestError,
    NetSuiteRequestTooLargeError,
    NetSuiteRetryableError,
    NetSuiteThrottledError,
    NetSuiteUnavailableError,
)
from amazon_netsuite.netsuite.hook import NETSUITE_POOL, NetSuiteHook
from amazon_netsuite.netsuite.results import (
    DUPLICATE_NAME_CODES,
    NOT_PROCESSED_CODES,
    PERIOD_CLOSED_CODES,
    UNBALANCED_CODES,
    ItemAvailability,
    RecordResult,
)

__all__ = [
    "DUPLICATE_NAME_CODES",
    "NETSUITE_POOL",
    "NOT_PROCESSED_CODES",
    "PERIOD_CLOSED_CODES",
    "UNBALANCED_CODES",
    "ItemAvailability",
    "NetSuiteAuthBatchError",
    "NetSuiteAuthError",
    "NetSuiteBatchError",
    "NetSuiteError",
    "NetSuiteHook",
    "NetSuiteMalformedResponseError",
    "NetSuiteRequestError",
    "NetSuiteRequestTooLargeError",
    "NetSuiteRetryableError",
    "NetSuiteThrottledError",
    "NetSuiteUnavailableError",
    "RecordResult",
]
