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

    @property
    def reason(self) -> str:
        """The ledger reason a flow records for this failure: ``auth_failed`` (fix the connection or the
        role, retrying does not help), ``netsuite_unavailable`` (went away by itself or will: retry),
        ``netsuite_rejected`` (the request itself was refused: fix it)."""
        if isinstance(self, NetSuiteAuthError):
            return "auth_failed"
        if isinstance(self, NetSuiteRetryableError):
            return "netsuite_unavailable"
        if isinstance(self, NetSuiteRequestError):
            return "netsuite_rejected"
        return getattr(self, "_cause_reason", None) or "netsuite_unavailable"


class NetSuiteAuthError(NetSuiteError):
    """NetSuite refused who we are, not what we sent: never retried (flows record reason ``auth_failed``).

    Every authentication/authorisation failure maps here: ``InvalidCredentialsFault``
    (INVALID_LOGIN_ATTEMPT), ``InvalidSessionFault``, ``InvalidAccountFault``,
    ``InsufficientPermissionFault``, HTTP 401/403, netsuitesdk's login error and a connection without
    credentials. Check the ``netsuite_default`` connection: account id (``123456_SB1``, upper case),
    consumer key and secret of the integration record, token id and secret of the access token, and
    the role's "Log in using Access Tokens" and "SOAP Web Services" permissions.
    """


class NetSuiteRetryableError(NetSuiteError):
    """A whole-call failure that goes away by itself: the hook retries it with backoff."""


class NetSuiteThrottledError(NetSuiteRetryableError):
    """``ExceededConcurrentRequestLimitFault`` / ``ExceededRequestLimitFault``: the account is busy."""


class NetSuiteUnavailableError(NetSuiteRetryableError):
    """HTTP 5xx without a SOAP fault, a timeout or a dropped connection, or ``UnexpectedErrorFault``."""


class NetSuiteMalformedResponseError(NetSuiteRetryableError):
    """NetSuite answered something inconsistent (a search page with results announced but no record
    list, a page index out of range, no status): retried, then raised. Never read as an empty page."""


class NetSuiteRequestError(NetSuiteError):
    """NetSuite refused the whole call (bad request, limit): fix the request, not retried."""


class NetSuiteRequestTooLargeError(NetSuiteRequestError):
    """``ExceededRequestSizeFault``: the envelope is over NetSuite's size limit (100 MB). Refused before
    any work, so the hook sends the chunk again in halves."""


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
        self._cause_reason: str | None = None


class NetSuiteAuthBatchError(NetSuiteBatchError, NetSuiteAuthError):
    """A batched write stopped because NetSuite refused the credentials: both a :class:`NetSuiteBatchError`
    (``completed``/``pending_external_ids``) and a :class:`NetSuiteAuthError` (``reason`` ``auth_failed``)."""
