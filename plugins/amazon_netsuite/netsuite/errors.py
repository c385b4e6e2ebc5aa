"""Errors raised by the NetSuite hook.

Every error names the operation, NetSuite's code and what the operator can do next; none of them
carries credentials, and record-level errors carry ids, never names, addresses or emails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amazon_netsuite.netsuite.results import RecordResult


class NetSuiteError(Exception):
    """Base class of every error the NetSuite hook raises."""

    def __init__(self, message: str, *, operation: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.code = code

    def __str__(self) -> str:
        prefix = f"NetSuite {self.operation}" if self.operation else "NetSuite"
        code = f" [{self.code}]" if self.code else ""
        return f"{prefix}{code}: {self.message}"


class NetSuiteAuthError(NetSuiteError):
    """Token-based authentication was refused (INVALID_LOGIN_ATTEMPT): never retried.

    Check the ``netsuite_default`` connection: account id (``123456_SB1``, upper case), consumer key and
    secret of the integration record, token id and secret of the access token, and the role's
    "Log in using Access Tokens" and "SOAP Web Services" permissions.
    """


class NetSuiteRetryableError(NetSuiteError):
    """A whole-call failure that goes away by itself: the hook retries it with backoff."""


class NetSuiteThrottledError(NetSuiteRetryableError):
    """``ExceededConcurrentRequestLimitFault`` / ``ExceededRequestLimitFault``: the account is busy."""


class NetSuiteUnavailableError(NetSuiteRetryableError):
    """HTTP 5xx without a SOAP fault, a timeout or a dropped connection, or ``UnexpectedErrorFault``."""


class NetSuiteRequestError(NetSuiteError):
    """NetSuite refused the whole call (bad request, permission, limit): fix the request, not retried."""


class NetSuiteBatchError(NetSuiteError):
    """A batched write stopped part-way because a whole call failed after every retry.

    ``completed`` holds the per-record results of the chunks that NetSuite did answer (successes and
    record-level failures, in request order); ``pending_external_ids`` the records never answered.
    Upserts are keyed by externalId, so re-running the task (or replaying) is safe. ``addList`` is not
    idempotent: the first pending chunk may have been written before the failure, so look its records up
    (or upsert them) instead of adding them again.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        code: str | None,
        completed: Sequence[RecordResult],
        pending_external_ids: Sequence[str | None],
    ) -> None:
        super().__init__(message, operation=operation, code=code)
        self.completed = list(completed)
        self.pending_external_ids = list(pending_external_ids)


def failure_reason(exc: BaseException) -> str:
    """The ledger reason for a whole-call failure: ``auth_failed`` (credentials, role: fix the
    connection), ``netsuite_unavailable`` (5xx, timeouts, throttling past the retries: it passes), else
    ``netsuite_error``. Looks through :class:`NetSuiteBatchError` to the failure that stopped the batch."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NetSuiteAuthError):
            return "auth_failed"
        if isinstance(seen, NetSuiteRetryableError):
            return "netsuite_unavailable"
        if isinstance(seen, NetSuiteRequestError):
            return "netsuite_error"
        seen = seen.__cause__
    return "netsuite_error"
