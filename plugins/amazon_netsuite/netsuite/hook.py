"""NetSuiteHook: the one place that talks to NetSuite (docs/architecture.md sections 3 and 5).

The hook exposes record-level operations (upsert/add records, get, search, item availability) on
plain record dicts, so the SOAP backend can be replaced by a REST + OAuth 2.0 one (Oracle removes
SOAP in 2028.2) without touching the flows. It owns the connection, batching (writes: at most 100
records, ``max_lines_per_request`` sublist lines and ``max_request_bytes`` per request; 1000 per
``getList``, 10,000 items per ``getItemAvailability``) and governance: whole-call failures
(``ExceededConcurrentRequestLimitFault``, ``ExceededRequestLimitFault``, HTTP 5xx, timeouts, malformed
answers) retry with exponential backoff; authentication failures raise :class:`NetSuiteAuthError` at
once; record-level failures come back as :class:`RecordResult` and never raise away the records that
succeeded. Across workers, concurrency is bounded by the Airflow pool ``netsuite_api``.

Record dicts follow the SOAP record: fields named as in the schema, RecordRefs as
``{"internalId", "externalId", "name"}``, sublists as lists under their schema names, and custom fields
as ``"customFieldList": [{"scriptId": "custbody_amazon_order_id", "value": "113-..."}]`` (a ``str``
value is sent as ``StringCustomFieldRef``; ``bool``/``int``/``Decimal``/``date``/ref dict/list of ref
dicts as the Boolean/Long/Double/Date/Select/MultiSelect refs; ``"type"`` names one explicitly). Reads
return custom fields in the same shape.

Retries and idempotency: ``upsert_records`` is keyed by externalId, so a retry after an ambiguous
failure (timeout, 5xx, ``UnexpectedErrorFault``: NetSuite may have written the batch) is harmless.
``add_records`` is not: it retries such failures only when every record of the chunk has an externalId,
and then reports a ``DUP_RCRD`` answer as the record already written (with its internalId); a chunk
holding a record without externalId is not retried after an ambiguous failure (it raises
:class:`NetSuiteBatchError` rather than risk a duplicate). Throttling faults are rejected before any
work and are always retried.

Connection ``netsuite_default`` (``conn_type`` ``generic``)::

    login     TBA consumer key (integration record)
    password  TBA consumer secret
    extra     {"account_id": "1234567_SB1", "token_id": "...", "token_secret": "...",
               "wsdl_version": "2025_2",          # optional, default the newest SOAP endpoint
               "wsdl_url": "...",                 # optional: the WSDL URL or a local path
               "datacenter_url": "https://1234567-sb1.suitetalk.api.netsuite.com",  # optional
               "page_size": 1000, "timeout": 300, "max_attempts": 8,    # optional
               "max_lines_per_request": 5000,     # optional: sublist lines per write request
               "max_request_bytes": 10485760,     # optional: estimated envelope size per write request
               "customer_auto_numbering": false}  # optional: the account numbers customers itself

REST backend (``extra.api = "rest"``, :mod:`amazon_netsuite.netsuite.rest`): the same record-level
methods over SuiteTalk REST (record API, one request per record, ``concurrency`` in flight) and SuiteQL,
with OAuth 2.0 client credentials (M2M)::

    login     client ID of the integration record
    password  private key (PEM) of the certificate mapped in OAuth 2.0 Client Credentials Setup
    extra     {"api": "rest", "account_id": "1234567_SB1", "certificate_id": "...",
               "account_timezone": "America/Los_Angeles",   # the role's time zone (SuiteQL datetimes)
               "rest_url": "https://1234567-sb1.suitetalk.api.netsuite.com",  # optional
               "concurrency": 4, "page_size": 1000, "timeout": 300, "max_attempts": 8,  # optional
               "jwt_algorithm": "PS256", "scope": "rest_webservices"}               # optional

or TBA (``"auth": "tba"``: login/password = consumer key/secret, extra ``token_id``/``token_secret``).

.. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_4387769867.html
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from airflow.sdk import BaseHook
from tenacity import (
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

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
)
from amazon_netsuite.netsuite.rest import RestBackend, RestSettings, default_base_url
from amazon_netsuite.netsuite.results import GlLine, ItemAvailability, RecordResult
from amazon_netsuite.netsuite.soap import STRING_OPERATORS, SearchPage, SoapBackend, SoapSettings

log = logging.getLogger(__name__)

#: Airflow pool that bounds concurrent NetSuite calls across workers; size it to the account's
#: concurrency limit minus what other integrations use.
NETSUITE_POOL = "netsuite_api"
DEFAULT_WSDL_VERSION = "2025_2"
MAX_WRITE_BATCH = 100
MAX_GET_LIST = 1000
MAX_AVAILABILITY_ITEMS = 10_000
MAX_SEARCH_EXTERNAL_IDS = 500
#: sublist lines per write request. NetSuite takes 5,000 lines per transaction (1,000 per journal) and
#: answers a list request only within 15 minutes; saves cost time per line (docs/netsuite-quirks.md,
#: "Request cost"), so 100 journals of 1,000 lines (~100,000 lines) must never travel in one request.
DEFAULT_MAX_LINES_PER_REQUEST = 5000
#: estimated envelope bytes per write request; NetSuite's hard limit is 100 MB
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
#: rounds of re-sending records a list write did not reach before NetSuite's time limit
MAX_RESEND_ROUNDS = 4
#: a long batched write logs how far it is at most this often
PROGRESS_EVERY_SECONDS = 30.0
#: sublist keys that are not lines NetSuite saves
_NOT_LINES = frozenset({"customFieldList", "nullFieldList", "subsidiaryList"})


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def record_lines(record: Mapping[str, Any]) -> int:
    """Sublist lines of a record dict (item lines, journal lines, address book entries...)."""
    return sum(
        len(value)
        for key, value in record.items()
        if isinstance(value, list) and key.endswith("List") and key not in _NOT_LINES
    )


_REF_KEYS = frozenset({"internalId", "externalId", "name", "type"})


def _estimate(value: Any, key: str) -> int:
    tag = 2 * len(key) + 16  # <ns3:key>...</ns3:key>
    if isinstance(value, Mapping):
        if value and set(value) <= _REF_KEYS:  # a RecordRef: attributes on one element
            return tag + 24 + sum(len(str(k)) + len(str(v).encode()) + 4 for k, v in value.items())
        return tag + 80 + sum(_estimate(item, str(name)) for name, item in value.items())  # + namespace declarations
    if isinstance(value, list | tuple):
        return tag + 40 + sum(_estimate(item, key) for item in value)
    return tag + len(str(value).encode())


def estimate_bytes(record: Mapping[str, Any]) -> int:
    """An estimate of the XML a record dict becomes in the envelope, on the high side (measured against
    zeep's rendering: customers x1.0..1.5, sales orders x1.5, journal entries x2.4)."""
    return int(1.25 * (200 + _estimate(record, "record")))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class NetSuiteHook(BaseHook):
    """Record-level access to NetSuite through SuiteTalk SOAP with token-based authentication, or SuiteTalk
    REST + SuiteQL with OAuth 2.0 (connection extra ``api``: ``soap`` default, ``rest``).

    :param netsuite_conn_id: the Airflow connection (see the module docstring for its fields).
    :param max_attempts: attempts per call for throttling faults and 5xx (overrides the connection).
    :param backoff_initial: first backoff in seconds (doubles each attempt, with jitter).
    :param backoff_max: longest single backoff in seconds.
    """

    conn_name_attr = "netsuite_conn_id"
    default_conn_name = "netsuite_default"
    conn_type = "generic"
    hook_name = "NetSuite (SuiteTalk)"

    def __init__(
        self,
        netsuite_conn_id: str = default_conn_name,
        *,
        max_attempts: int | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        super().__init__()
        self.netsuite_conn_id = netsuite_conn_id
        self._max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._backend: SoapBackend | RestBackend | None = None
        self._extra_cache: dict[str, Any] | None = None
        self.calls: dict[str, int] = {}

    # ------------------------------------------------------------------ connection
    def get_settings(self) -> SoapSettings:
        conn = self.get_connection(self.netsuite_conn_id)
        extra = conn.extra_dejson
        account = extra.get("account_id") or extra.get("account")
        missing = [
            name
            for name, value in (
                ("extra.account_id", account),
                ("login (consumer key)", conn.login),
                ("password (consumer secret)", conn.password),
                ("extra.token_id", extra.get("token_id")),
                ("extra.token_secret", extra.get("token_secret")),
            )
            if not value
        ]
        if missing:
            raise NetSuiteAuthError(
                f"connection {self.netsuite_conn_id!r} lacks {', '.join(missing)}; "
                "set them in the Airflow connection (see NetSuiteHook's docstring)",
                operation="connect",
                code="MISSING_CREDENTIALS",
            )
        return SoapSettings(
            account=str(account).upper().replace("-", "_"),
            consumer_key=conn.login,
            consumer_secret=conn.password,
            token_id=extra["token_id"],
            token_secret=extra["token_secret"],
            wsdl_version=str(extra.get("wsdl_version") or DEFAULT_WSDL_VERSION),
            wsdl_url=extra.get("wsdl_url") or None,
            datacenter_url=extra.get("datacenter_url") or None,
            page_size=int(extra.get("page_size", 1000)),
            timeout=float(extra.get("timeout", 300)),
        )

    @property
    def api(self) -> str:
        """``soap`` (default) or ``rest``: connection extra ``api``."""
        api = str(self._extra().get("api") or "soap").strip().lower()
        if api not in ("soap", "rest"):
            raise NetSuiteAuthError(f"connection {self.netsuite_conn_id!r}: extra.api is {api!r}; use 'soap' or 'rest'",
                                    operation="connect", code="INVALID_API")
        return api

    def get_rest_settings(self) -> RestSettings:
        """Settings of the REST backend (``extra.api = "rest"``): OAuth 2.0 client credentials (login = client
        ID, password = the certificate's private key PEM, extra ``certificate_id``) or, with ``extra.auth =
        "tba"``, TBA (login/password = consumer key/secret, extra ``token_id``/``token_secret``)."""
        conn = self.get_connection(self.netsuite_conn_id)
        extra = conn.extra_dejson
        account = str(extra.get("account_id") or extra.get("account") or "").upper().replace("-", "_")
        auth = str(extra.get("auth") or "oauth2").strip().lower()
        if str(extra.get("rest_write_mode") or "sync") not in ("sync", "async"):
            raise NetSuiteAuthError("extra.rest_write_mode is 'sync' or 'async'", operation="connect", code="INVALID_MODE")
        if auth not in ("oauth2", "tba"):
            raise NetSuiteAuthError(f"extra.auth is {auth!r}; use 'oauth2' or 'tba'", operation="connect", code="INVALID_AUTH")
        needed = [("extra.account_id", account), ("login (client ID / consumer key)", conn.login),
                  ("password (private key / consumer secret)", conn.password)]
        if auth == "oauth2":
            needed.append(("extra.certificate_id", extra.get("certificate_id")))
        else:
            needed += [("extra.token_id", extra.get("token_id")), ("extra.token_secret", extra.get("token_secret"))]
        missing = [name for name, value in needed if not value]
        if missing:
            raise NetSuiteAuthError(
                f"connection {self.netsuite_conn_id!r} lacks {', '.join(missing)}; set them in the Airflow connection "
                "(see the README's NetSuite setup checklist, REST)", operation="connect", code="MISSING_CREDENTIALS")
        common = dict(
            account=account,
            base_url=str(extra.get("rest_url") or extra.get("datacenter_url") or default_base_url(account)).rstrip("/"),
            auth=auth, page_size=int(extra.get("page_size", 1000)), timeout=float(extra.get("timeout", 300)),
            concurrency=max(1, int(extra.get("concurrency", 4))), timezone=str(extra.get("account_timezone") or "UTC"),
            write_mode=str(extra.get("rest_write_mode") or "sync"),
            async_poll_interval=float(extra.get("async_poll_interval", 1.0)),
        )
        if auth == "oauth2":
            return RestSettings(**common, client_id=conn.login, private_key=conn.password,
                                certificate_id=str(extra["certificate_id"]), algorithm=extra.get("jwt_algorithm") or None,
                                scope=str(extra.get("scope") or "rest_webservices"))
        return RestSettings(**common, consumer_key=conn.login, consumer_secret=conn.password,
                            token_id=extra["token_id"], token_secret=extra["token_secret"])

    @property
    def backend(self) -> SoapBackend | RestBackend:
        if self._backend is None:
            if self.api == "rest":
                self._backend = RestBackend(self.get_rest_settings(), throttle_retry=self._throttle_retry)
            else:
                self._backend = SoapBackend(self.get_settings())
        return self._backend

    def _throttle_retry(self, operation: str, thunk: Callable[[], Any]) -> Any:
        """One REST request under the backoff, retried only when NetSuite refused it for concurrency
        (rejected before any work): the other requests of a concurrent batch are not sent again."""
        return self._call_retrying(f"rest:{operation}", retry_if_exception_type(NetSuiteThrottledError), thunk)

    def _extra(self) -> dict[str, Any]:
        if self._extra_cache is None:
            self._extra_cache = dict(self.get_connection(self.netsuite_conn_id).extra_dejson)
        return self._extra_cache

    @property
    def max_attempts(self) -> int:
        if self._max_attempts is None:
            self._max_attempts = int(self._extra().get("max_attempts", 8))
        return max(1, self._max_attempts)

    @property
    def max_lines_per_request(self) -> int:
        """Sublist lines per write request (connection extra ``max_lines_per_request``, default 5,000)."""
        return max(1, int(self._extra().get("max_lines_per_request", DEFAULT_MAX_LINES_PER_REQUEST)))

    @property
    def max_request_bytes(self) -> int:
        """Estimated envelope bytes per write request (extra ``max_request_bytes``, default 10 MB)."""
        return max(1024, int(self._extra().get("max_request_bytes", DEFAULT_MAX_REQUEST_BYTES)))

    @property
    def customer_auto_numbering(self) -> bool:
        """Whether the account numbers customers itself (Setup > Company > Auto-Generated Numbers), from
        the connection extra ``customer_auto_numbering``. Pass it to ``records.build_customer(...,
        auto_numbering=...)``: without auto-numbering every customer needs a unique name."""
        return _flag(self._extra().get("customer_auto_numbering", False))

    def get_conn(self) -> SoapBackend | RestBackend:
        """The backend (``SoapBackend`` or ``RestBackend``); flows use the record-level methods instead."""
        return self.backend

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_record("subsidiary", internal_id="1")
        except NetSuiteError as exc:
            return False, str(exc)
        return True, "Connection successfully tested"

    # ------------------------------------------------------------------ governance
    def _call(self, operation: str, func, *args: Any, **kwargs: Any) -> Any:
        """Run one remote call, retrying throttling faults and 5xx with exponential backoff + jitter."""
        return self._call_retrying(
            operation, retry_if_exception_type(NetSuiteRetryableError), lambda: func(*args, **kwargs)
        )

    def _call_retrying(self, operation: str, retry: Any, thunk: Callable[[], Any]) -> Any:
        """Run ``thunk`` under the hook's backoff, retrying what the tenacity predicate ``retry`` accepts."""

        def before_sleep(state) -> None:
            exc = state.outcome.exception()
            log.warning(
                "NetSuite %s attempt %s failed (%s); retrying in %.1fs",
                operation,
                state.attempt_number,
                exc,
                state.next_action.sleep if state.next_action else 0.0,
            )

        retrying = Retrying(
            retry=retry,
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(
                multiplier=self.backoff_initial, max=self.backoff_max, jitter=self.backoff_initial
            ),
            before_sleep=before_sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.calls[operation] = self.calls.get(operation, 0) + 1
                return thunk()
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ writes
    def upsert_records(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """Create or update records by externalId (``upsertList``, at most 100 per call).

        Returns one :class:`RecordResult` per record, in order; a record NetSuite refused carries its
        error and does not stop the others. Transactions are sent with ``replaceAll="false"`` on their
        sublists, so re-upserting an order that was fulfilled or billed never replaces its lines.

        .. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3490539.html
        """
        missing = [i for i, record in enumerate(records) if not record.get("externalId")]
        if missing:
            raise ValueError(
                f"upsert needs an externalId on every {record_type}; records at positions {missing[:10]} "
                "have none (build them with amazon_netsuite.netsuite.records)"
            )
        return self._write("upsertList", record_type, records)

    def add_records(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """Create records (``addList``, at most 100 per call); an existing externalId fails that record.

        ``add`` is not idempotent: prefer :meth:`upsert_records`. After an ambiguous whole-call failure
        (timeout, 5xx, ``UnexpectedErrorFault``) a chunk is retried only if all its records have an
        externalId, and a ``DUP_RCRD`` on that retry is reported as written (the internalId is looked
        up); otherwise :class:`NetSuiteBatchError` is raised without re-sending (no duplicates).
        """
        return self._write("addList", record_type, records)

    def update_records(self, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """Update records by internalId or externalId (``updateList``, at most 100 per call)."""
        return self._write("updateList", record_type, records)

    def plan_requests(self, records: Sequence[Mapping[str, Any]]) -> list[Sequence[Mapping[str, Any]]]:
        """Consecutive chunks of ``records``, each within 100 records, :attr:`max_lines_per_request`
        lines and :attr:`max_request_bytes` estimated bytes (a record larger than a budget goes alone)."""
        max_lines, max_bytes = self.max_lines_per_request, self.max_request_bytes
        chunks: list[list[Mapping[str, Any]]] = []
        current: list[Mapping[str, Any]] = []
        lines = size = 0
        for record in records:
            record_size = estimate_bytes(record)
            record_line_count = record_lines(record)
            if current and (
                len(current) >= MAX_WRITE_BATCH or lines + record_line_count > max_lines or size + record_size > max_bytes
            ):
                chunks.append(current)
                current, lines, size = [], 0, 0
            current.append(record)
            lines += record_line_count
            size += record_size
        if current:
            chunks.append(current)
        return chunks

    def _write(self, operation: str, record_type: str, records: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        results: list[RecordResult] = []
        records = list(records)
        chunks = self.plan_requests(records)
        last_progress = time.monotonic()
        for chunk in chunks:
            if results and time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
                last_progress = time.monotonic()
                log.info("NetSuite %s %s: %s of %s records answered so far", operation, record_type, len(results),
                         len(records))
            try:
                chunk_results = self._send_chunk(operation, record_type, chunk)
            except NetSuiteError as exc:
                pending = [record.get("externalId") for record in records[len(results) :]]
                if operation == "upsertList":
                    advice = "re-run the task: upserts are keyed by externalId"
                elif operation == "addList":
                    advice = (
                        "NetSuite may have written part of the first pending chunk before failing: look the "
                        "records up (or upsert them) before adding them again"
                    )
                else:
                    advice = "re-run the task: updates set the same values again"
                error_class = NetSuiteAuthBatchError if isinstance(exc, NetSuiteAuthError) else NetSuiteBatchError
                if isinstance(exc, NetSuiteAuthError):
                    advice = "fix the netsuite_default connection or the role first; retrying does not help"
                error = error_class(
                    f"{exc} -- {len(results)} {record_type} records were answered, {len(pending)} were not "
                    f"(first pending externalIds: {pending[:5]}); {advice}",
                    operation=operation,
                    code=exc.code,
                    completed=results,
                    pending_external_ids=pending,
                )
                error._cause_reason = exc.reason
                raise error from exc
            results.extend(chunk_results)
        failed = [r for r in results if not r.ok]
        log.info(
            "NetSuite %s %s: %s records (%s lines) in %s requests, %s written, %s failed",
            operation,
            record_type,
            len(results),
            sum(record_lines(r) for r in records),
            len(chunks),
            len(results) - len(failed),
            len(failed),
        )
        for result in failed[:10]:
            log.warning("NetSuite %s %s", operation, result.describe())
        return results

    def _send_chunk(
        self, operation: str, record_type: str, chunk: Sequence[Mapping[str, Any]], depth: int = 0
    ) -> list[RecordResult]:
        """One request for ``chunk``; in halves when NetSuite says it is too large (refused before any
        work), and records NetSuite did not reach before its time limit (``RecordResult.not_processed``)
        are sent again in smaller requests. Returns one result per record, in order."""
        try:
            if operation == "addList":
                results = self._add_chunk(record_type, chunk)
            else:
                results = self._call(operation, self.backend.write_list, operation, record_type, chunk)
        except NetSuiteRequestTooLargeError:
            if len(chunk) == 1 or depth >= 12:
                raise
            half = len(chunk) // 2
            log.warning("NetSuite %s %s: request too large for %s records; sending halves", operation, record_type, len(chunk))
            return [
                *self._send_chunk(operation, record_type, chunk[:half], depth + 1),
                *self._send_chunk(operation, record_type, chunk[half:], depth + 1),
            ]
        except NetSuiteRequestError as exc:
            # NetSuite refused the whole request because of what one record holds (a character XML
            # forbids, a value the WSDL refuses): nothing was written. Halve until the record is alone,
            # so it fails by itself, with its externalId, and the rest of the batch is written.
            if len(chunk) == 1:
                record = chunk[0]
                return [RecordResult(record_type=record_type, external_id=record.get("externalId"),
                                     error_code=exc.code or "REQUEST_REFUSED",
                                     error_message=f"NetSuite refused the request holding only this record: {exc.message}")]
            half = len(chunk) // 2
            log.warning("NetSuite %s %s: the request for %s records was refused (%s); sending halves to isolate "
                        "the record NetSuite refuses", operation, record_type, len(chunk), exc.code)
            return [
                *self._send_chunk(operation, record_type, chunk[:half], depth + 1),
                *self._send_chunk(operation, record_type, chunk[half:], depth + 1),
            ]
        unreached = [index for index, result in enumerate(results) if result.not_processed]
        if not unreached or depth >= MAX_RESEND_ROUNDS:
            return results
        log.warning(
            "NetSuite %s %s: %s of %s records were not reached before NetSuite's time limit; sending them again",
            operation, record_type, len(unreached), len(chunk),
        )
        again = [chunk[index] for index in unreached]
        half = max(1, len(again) // 2)
        answered: list[RecordResult] = []
        for part in (again[:half], again[half:]):
            if part:
                answered.extend(self._send_chunk(operation, record_type, part, depth + 1))
        merged = list(results)
        for index, result in zip(unreached, answered, strict=True):
            merged[index] = result
        return merged

    def _add_chunk(self, record_type: str, chunk: Sequence[Mapping[str, Any]]) -> list[RecordResult]:
        """``addList`` of one chunk without ever adding a record twice (see :meth:`add_records`)."""
        keyed = all(record.get("externalId") for record in chunk)
        ambiguous = False

        def retryable(exc: BaseException) -> bool:
            nonlocal ambiguous
            if isinstance(exc, NetSuiteThrottledError):
                return True  # rejected before any work
            if isinstance(exc, NetSuiteRetryableError) and keyed:
                ambiguous = True  # may have been written: the retry will tell by DUP_RCRD
                return True
            return False

        results = self._call_retrying(
            "addList",
            retry_if_exception(retryable),
            lambda: self.backend.write_list("addList", record_type, chunk),
        )
        if not ambiguous:
            return results
        duplicates = [r.external_id for r in results if r.error_code == "DUP_RCRD" and r.external_id]
        if not duplicates:
            return results
        found = self.get_records(record_type, duplicates, by="externalId")
        log.info(
            "NetSuite addList %s: %s records answered DUP_RCRD after an ambiguous failure; reported as written",
            record_type,
            sum(1 for e in duplicates if e in found),
        )
        return [
            RecordResult(record_type, r.external_id, internal_id=str(found[r.external_id]["internalId"]))
            if r.error_code == "DUP_RCRD" and r.external_id in found
            else r
            for r in results
        ]

    # ------------------------------------------------------------------ reads
    def get_record(
        self, record_type: str, *, internal_id: str | None = None, external_id: str | None = None
    ) -> dict[str, Any] | None:
        """One record by internalId or externalId (``get``); None when it does not exist."""
        if (internal_id is None) == (external_id is None):
            raise ValueError("get_record needs exactly one of internal_id or external_id")
        return self._call(
            "get", self.backend.get, record_type, internal_id=internal_id, external_id=external_id
        )

    def get_records(
        self, record_type: str, ids: Sequence[str], *, by: str = "internalId"
    ) -> dict[str, dict[str, Any]]:
        """Many records by internalId or externalId (``getList``, at most 1000 per call).

        Returns ``{id: record}`` for the records found; ids NetSuite does not know are absent.
        """
        if by not in ("internalId", "externalId"):
            raise ValueError("by must be 'internalId' or 'externalId'")
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(str(i) for i in ids))
        for chunk in _chunks(unique, MAX_GET_LIST):
            for ident, record, code, message in self._call(
                "getList", self.backend.get_list, record_type, chunk, by=by
            ):
                if record is not None:
                    found[ident] = record
                elif code not in {"RCRD_DSNT_EXIST", "RCRD_NOT_FOUND"}:
                    raise NetSuiteRequestError(
                        f"{record_type} {by} {ident!r}: {message}", operation="getList", code=code
                    )
        return found

    def initialize_records(
        self, record_type: str, source_type: str, ids: Sequence[str], *, by: str = "internalId"
    ) -> dict[str, dict[str, Any] | RecordResult]:
        """What NetSuite pre-fills when ``record_type`` is created from each ``source_type`` record
        (``initializeList``, at most 100 per call; nothing is saved): e.g. ``("itemFulfillment",
        "salesOrder", [so_id])`` gives the lines left to fulfill with their ``orderLine``, location and
        ``quantityRemaining``; ``"cashSale"``/``"invoice"`` give what was fulfilled and not billed.

        Returns ``{id: record}``, or ``{id: RecordResult}`` carrying NetSuite's error for that id
        (``INVALID_INITIALIZE_REF``: nothing left to fulfill or bill, or the order is closed). Throttling
        and 5xx are retried (initialize writes nothing, so a retry is always safe).

        .. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3508536.html
        """
        if by not in ("internalId", "externalId"):
            raise ValueError("by must be 'internalId' or 'externalId'")
        out: dict[str, dict[str, Any] | RecordResult] = {}
        unique = list(dict.fromkeys(str(i) for i in ids))
        for chunk in _chunks(unique, MAX_WRITE_BATCH):
            for ident, record, code, message in self._call(
                "initializeList", self.backend.initialize_list, record_type, source_type, list(chunk), by=by
            ):
                out[ident] = record if record is not None else RecordResult(
                    record_type, None, error_code=code, error_message=message
                )
        return out

    def _search_all(self, record_type: str, criteria: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        page: SearchPage = self._call("search", self.backend.search, record_type, criteria)
        yield from page.records
        total_pages = page.total_pages
        for index in range(2, total_pages + 1):
            if page.search_id is None:
                break
            page = self._call("searchMoreWithId", self.backend.search_more, page.search_id, index)
            yield from page.records

    def _with_custom_fields(self, criteria: dict[str, Any], custom_fields: Sequence[str]) -> dict[str, Any]:
        """SOAP searches return every custom field with the body; SuiteQL (REST) returns the columns it
        selects, so the custom fields a caller reads are named (and selected on REST only)."""
        if custom_fields and self.api == "rest":
            criteria["custom_fields"] = list(dict.fromkeys(custom_fields))
        return criteria

    def search_by_external_ids(
        self, record_type: str, external_ids: Sequence[str], *, custom_fields: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Records whose externalId is any of ``external_ids`` (basic search, body fields, paged; REST: one
        SuiteQL query per 500 ids). ``custom_fields``: the custom fields (script ids) the caller reads."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(external_ids))
        for chunk in _chunks(unique, MAX_SEARCH_EXTERNAL_IDS):
            out.extend(self._search_all(record_type, self._with_custom_fields({"external_ids": list(chunk)}, custom_fields)))
        return out

    def body_fields_by_internal_ids(
        self, record_type: str, internal_ids: Sequence[str], *, custom_fields: Sequence[str] = ()
    ) -> dict[str, dict[str, Any]]:
        """``{internalId: record}`` of the records that exist, body fields at least (a search's shape): SOAP
        ``getList`` (1,000 a call; it returns the sublists too), REST one SuiteQL query per 1,000 ids
        (``id IN (...)``) instead of one record GET each. ``custom_fields``: the custom fields read (REST)."""
        unique = list(dict.fromkeys(str(i) for i in internal_ids))
        if self.api != "rest":
            return self.get_records(record_type, unique)
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(unique, MAX_GET_LIST):
            for record in self._search_all(record_type, self._with_custom_fields({"internal_ids": list(chunk)}, custom_fields)):
                found[str(record["internalId"])] = record
        return found

    def search_created_from(self, record_type: str, internal_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Transactions of ``record_type`` created from any of these transactions (``TransactionSearchBasic``
        ``createdFrom`` anyOf, body fields, paged): e.g. the return authorizations of a sales order."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(str(i) for i in internal_ids))
        for chunk in _chunks(unique, MAX_SEARCH_EXTERNAL_IDS):
            out.extend(self._search_all(record_type, {"created_from": list(chunk)}))
        return out

    def search_customers_by_email(self, email: str) -> list[dict[str, Any]]:
        """Customers whose email is ``email`` (``CustomerSearchBasic`` ``email`` operator ``is``; NetSuite
        compares case-insensitively). Body fields only (no address book: use :meth:`get_records`).

        The email is PII: it is sent to NetSuite and never logged.
        """
        email = (email or "").strip()
        if not email:
            raise ValueError("search_customers_by_email needs a non-empty email")
        return list(self._search_all("customer", {"email": email}))

    def search_customers_by_emails(self, emails: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Customers per e-mail (lower case -> customers whose e-mail is it, ignoring case), body fields.

        REST: one SuiteQL query per 1,000 e-mails (``LOWER(email) IN (...)``). SOAP's basic search takes
        one e-mail per search, so there it is one search per e-mail. E-mails are PII: counts are logged.
        """
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        out: dict[str, list[dict[str, Any]]] = {e: [] for e in wanted}
        if self.api == "rest":
            for chunk in _chunks(wanted, MAX_GET_LIST):
                for record in self._search_all("customer", {"emails": list(chunk)}):
                    key = str(record.get("email") or "").lower()
                    if key in out:
                        out[key].append(record)
        else:
            for email in wanted:
                out[email] = list(self._search_all("customer", {"email": email}))
        log.info("NetSuite customer e-mail look-up: %s e-mails, %s found", len(wanted), sum(1 for v in out.values() if v))
        return out

    def iter_customers_by_email(
        self, *, operator: str = "contains", value: str, modified_after: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every customer whose e-mail matches ``value`` with ``operator`` (``is``, ``contains``,
        ``startsWith``, ``endsWith``; NetSuite compares ignoring case), page by page (the connection's
        ``page_size``, 1,000 by default): ``search`` then ``searchMoreWithId``. For bulk adoption, e.g.
        ``iter_customers_by_email(operator="contains", value="@marketplace.amazon.")`` lists the Amazon
        buyers other integrations created, to index them by e-mail once instead of one search per buyer.

        ``modified_after`` narrows it to customers created or changed since then (``lastModifiedDate``
        ``onOrAfter``), so a regular check for customers made elsewhere reads almost nothing.

        Body fields only (no address book). The pattern and the e-mails are PII-adjacent: only counts
        are logged.
        """
        if operator not in STRING_OPERATORS:
            raise ValueError(f"operator must be one of {', '.join(STRING_OPERATORS)}, not {operator!r}")
        value = (value or "").strip()
        if not value:
            raise ValueError("iter_customers_by_email needs a non-empty value")
        count = 0
        criteria: dict[str, Any] = {"email": value, "email_operator": operator}
        if modified_after is not None:
            criteria["modified_after"] = modified_after
        for record in self._search_all("customer", criteria):
            count += 1
            yield record
        log.info("NetSuite customer e-mail search (%s): %s customers", operator, count)

    def search_modified_since(
        self, record_type: str, since: datetime, until: datetime | None = None, *, custom_fields: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Records modified in ``[since, until]`` (``search`` then ``searchMoreWithId`` page by page).

        Searches return body fields only; fetch sublists with :meth:`get_records`. ``custom_fields``: the
        custom fields (script ids) the caller reads; SOAP returns all of them anyway, REST's SuiteQL only
        those named (each must exist in the account, or NetSuite refuses the query).
        """
        criteria: dict[str, Any] = {"modified_after": since}
        if until is not None:
            criteria["modified_before"] = until
        return self._search_all(record_type, self._with_custom_fields(criteria, custom_fields))

    def get_accounting_periods(self) -> list[dict[str, Any]]:
        """Every accounting period (``AccountingPeriodSearchBasic`` without filters, paged): ``periodName``,
        ``startDate``, ``endDate``, ``closed``, ``allLocked``, ``isQuarter``, ``isYear``, ...

        .. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_N3430405.html
        """
        return list(self._search_all("accountingPeriod", {}))

    def get_accounting_period(
        self, day: date | datetime, subsidiary_id: str | int | None = None
    ) -> dict[str, Any] | None:
        """The month period (not a quarter or year) whose start..end dates hold ``day``, or None.

        With ``subsidiary_id`` the period comes from that subsidiary's fiscal calendar (OneWorld
        subsidiaries may have their own calendars, each with its own periods and closes: Nov 2026 can
        be closed for the UK subsidiary and open for the US one). Without it, the default calendar's
        period (periods without ``fiscalCalendar``) is preferred.

        Check ``period["closed"]`` before posting: NetSuite refuses postings into a closed period
        (``RecordResult.period_closed``). A subsidiary's own lock in the period close checklist is not
        readable through SOAP: only the posting tells (``TRAN_PERIOD_CLOSED``).
        """
        wanted = day.date() if isinstance(day, datetime) else day
        calendar: str | None = None
        if subsidiary_id is not None:
            subsidiary = self.get_record("subsidiary", internal_id=str(subsidiary_id))
            if subsidiary is None:
                raise NetSuiteRequestError(
                    f"subsidiary {subsidiary_id} does not exist; check subsidiary_id in include/mappings/marketplaces.csv",
                    operation="get",
                    code="RCRD_DSNT_EXIST",
                )
            calendar = (subsidiary.get("fiscalCalendar") or {}).get("internalId")
        candidates = []
        for period in self.get_accounting_periods():
            if period.get("isQuarter") or period.get("isYear"):
                continue
            start, end = period.get("startDate"), period.get("endDate")
            if start is None or end is None or not _day(start) <= wanted <= _day(end):
                continue
            own = (period.get("fiscalCalendar") or {}).get("internalId")
            if subsidiary_id is not None and (str(own) if own else None) != (str(calendar) if calendar else None):
                continue
            candidates.append((own is not None, int(period.get("internalId") or 0), period))
        return min(candidates, key=lambda c: c[:2])[2] if candidates else None

    def gl_lines(
        self, account_ids: Sequence[str], *, subsidiary_ids: Sequence[str] | None = None,
        date_from: date | None = None, date_to: date | None = None,
    ) -> list[GlLine]:
        """Every posting line on ``account_ids`` (a ``TransactionSearchAdvanced``: ``account anyOf``,
        ``posting is true``, optional ``subsidiary`` and ``tranDate`` range; columns ids, type, date,
        currency, exchange rate, debit/credit in base currency, ``fxAmount`` in the transaction currency,
        ``createdFrom``), page after page with ``searchMoreWithId``. A page that announces rows and carries
        none is malformed and retried, never read as an end. Amounts are ``Decimal`` to the cent.

        This is the production read of an account's activity (e.g. Amazon clearing for reconciliation).

        .. seealso:: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_3891485192.html
        """
        if not account_ids:
            return []
        first: SearchPage = self._call(
            "search", lambda: self.backend.search_gl(list(dict.fromkeys(str(a) for a in account_ids)),
                                                     subsidiary_ids=subsidiary_ids, date_from=date_from, date_to=date_to))
        pages = [first]
        for index in range(2, first.total_pages + 1):
            if first.search_id is None:
                break
            pages.append(self._call("searchMoreWithId", self.backend.search_more, first.search_id, index))
        lines = [_gl_line(row) for page in pages for row in page.rows]
        if len(lines) != first.total_records:
            raise NetSuiteMalformedResponseError(
                f"GL search announced {first.total_records} rows and returned {len(lines)}", operation="search",
                code="MALFORMED_RESPONSE")
        log.info("NetSuite GL search on account(s) %s: %s lines in %s page(s)", ",".join(map(str, account_ids)),
                 len(lines), len(pages))
        return lines

    def item_availability(
        self, item_ids: Sequence[str], *, since: datetime | None = None
    ) -> list[ItemAvailability]:
        """Per-location quantities of items (``getItemAvailability``, at most 10,000 items per call).

        With ``since``, NetSuite returns only rows whose available quantity changed since then.
        """
        if not item_ids:
            return []
        rows: list[ItemAvailability] = []
        unique = list(dict.fromkeys(str(i) for i in item_ids))
        for chunk in _chunks(unique, MAX_AVAILABILITY_ITEMS):
            rows.extend(self._call("getItemAvailability", self.backend.item_availability, chunk, since))
        return rows


def _money(value: Any) -> Decimal:
    if value is None:
        return Decimal("0.00")
    # SOAP columns are floats (repr keeps their digits); SuiteQL rows are read as Decimal already
    return (value if isinstance(value, Decimal) else Decimal(repr(value))).quantize(Decimal("0.01"))


def _gl_line(row: Mapping[str, Any]) -> GlLine:
    """A search row ({column: value}) as a :class:`GlLine`; the transaction-currency amount takes the sign
    of the base-currency debit/credit (``fxAmount``'s sign follows the account's normal balance in saved
    searches, the debit/credit columns do not)."""
    base = _money(row.get("debitAmount")) - _money(row.get("creditAmount"))
    fx = abs(_money(row.get("fxAmount")))
    amount = -fx if base < 0 or (base == 0 and _money(row.get("fxAmount")) < 0) else fx
    tran_date = row.get("tranDate")
    return GlLine(
        internal_id=str(row.get("internalId") or ""), external_id=row.get("externalId"),
        record_type=str(row.get("type") or ""), tran_date=tran_date.date().isoformat() if isinstance(tran_date, datetime)
        else (tran_date.isoformat() if isinstance(tran_date, date) else tran_date),
        account_id=str(row.get("account") or ""), subsidiary_id=row.get("subsidiary"), currency_id=row.get("currency"),
        exchange_rate=(row["exchangeRate"] if isinstance(row["exchangeRate"], Decimal) else Decimal(repr(row["exchangeRate"])))
        if row.get("exchangeRate") is not None else Decimal(1),
        amount=amount, base_amount=base, created_from_id=row.get("createdFrom"),
    )
