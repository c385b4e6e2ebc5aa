"""SellingPartnerHook: the one place the project talks to Amazon's Selling Partner API.

One hook per SP-API connection, and so per region: each regional endpoint serves only its own
marketplaces and each region is authorized separately (its own refresh token). Connections are
``amazon_sp_api_{region}`` (``na``, ``eu``, ``fe``) unless ``marketplaces.csv`` names another one;
:func:`hooks_for_targets` builds the hooks the mapped marketplaces need. A marketplace of another
region is refused before any call, naming the connection to use.

It builds python-amazon-sp-api clients (Orders v2026-01-01, Reports 2021-06-30, Tokens 2021-03-01).
Every call goes through ``_call``, which owns the per-operation token bucket, 429/5xx/network
retries, the one-time access-token refresh, the reading of Amazon's 403s and progress logging.

.. seealso:: https://developer-docs.amazon.com/sp-api/docs/orders-api-v2026-01-01-reference
.. seealso:: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference
.. seealso:: https://developer-docs.amazon.com/sp-api/docs/tokens-api-v2021-03-01-reference
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

from amazon_netsuite.amazon.documents import decode_document
from amazon_netsuite.amazon.errors import (
    MarketplaceRegionError,
    PaginationTokenExpiredError,
    ReportProcessingError,
    SellingPartnerApiError,
    SellingPartnerAuthError,
    SellingPartnerConfigError,
    SellingPartnerError,
    SellingPartnerThrottledError,
)
from amazon_netsuite.amazon.regions import (
    REGION_ENDPOINTS,
    default_conn_id,
    describe,
    env_var,
    region_from_conn_id,
    region_of,
    region_problem,
)
from amazon_netsuite.amazon.throttling import RATE_LIMITER

if TYPE_CHECKING:
    from amazon_netsuite.mappings import Mappings, SpApiTarget

T = TypeVar("T")
log = logging.getLogger(__name__)

LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"
#: Amazon rejects lastUpdatedBefore/createdBefore later than two minutes before the request.
ORDER_LAG = timedelta(minutes=2)
#: Reports are retained for 90 days; getReports cannot see further back.
REPORT_RETENTION = timedelta(days=90)
#: Everything the order flows need in one searchOrders call (no per-order follow-up calls).
DEFAULT_INCLUDED_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES", "TAX")
TERMINAL_REPORT_STATUSES = frozenset({"DONE", "FATAL", "CANCELLED"})
SETTLEMENT_REPORT_TYPES = frozenset({
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE",
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
    "GET_V2_SETTLEMENT_REPORT_DATA_XML",
})
#: Report types whose documents contain PII: downloading them needs a restricted data token.
#: (GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL is downloaded without one: its buyer and address columns
#: are then empty, and the FBA shipments flow needs none of them; docs/amazon-quirks.md)
RESTRICTED_REPORT_TYPES = frozenset({
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX",
    "GET_ORDER_REPORT_DATA_INVOICING",
    "GET_ORDER_REPORT_DATA_TAX",
    "GET_ORDER_REPORT_DATA_SHIPPING",
    "GET_EASYSHIP_DOCUMENTS",
    "GET_VAT_TRANSACTION_DATA",
    "SC_VAT_TAX_REPORT",
})
#: Amazon's details when a call names a marketplace the endpoint's region does not serve.
REGION_REFUSAL = "not valid for region"
#: getReports accepts at most 10 marketplaceIds (Reports API model, maxItems).
MAX_REPORT_MARKETPLACES = 10
#: Content type of JSON_LISTINGS_FEED documents (uploaded to the presigned URL with the same header).
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
#: Token-bucket waits at least this long are logged as they start (shorter ones would flood the log).
LOG_WAITS_OVER = 5.0


def _utc(value: datetime | str, name: str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()}); Amazon windows are in UTC")
    return value.astimezone(UTC)


def iso8601(value: datetime) -> str:
    """Amazon's ISO 8601 form: UTC with a Z suffix, whole seconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clamp_order_window(
    start: datetime | str, end: datetime | str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime] | None:
    """The (lastUpdatedAfter, lastUpdatedBefore) Amazon accepts for this window, or None if it is empty.

    The end is clamped to now minus 2 minutes: Amazon answers a later ``lastUpdatedBefore`` with a
    bare ``InvalidInput`` and orders updated in the last two minutes are not yet searchable anyway.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start_utc = _utc(start, "window start")
    limit = now - ORDER_LAG
    end_utc = limit if end is None else min(_utc(end, "window end"), limit)
    end_utc = end_utc.replace(microsecond=0)
    if start_utc >= end_utc:
        return None
    return start_utc, end_utc


@dataclass(frozen=True)
class SpApiConfig:
    """What an ``amazon_sp_api_{region}`` connection holds (login = LWA client id, password = LWA
    client secret; extra: refresh_token of the seller's authorization in that region, seller_id,
    region, marketplace_ids, optional endpoint / lwa_endpoint)."""

    conn_id: str
    client_id: str
    client_secret: str
    refresh_token: str
    seller_id: str
    region: str
    marketplace_ids: tuple[str, ...]
    endpoint: str
    lwa_endpoint: str
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_connection(cls, conn: Any, marketplace_ids: Sequence[str] | None = None) -> SpApiConfig:
        """The connection's settings; ``marketplace_ids`` (the mapped ones) replace extra.marketplace_ids.

        The region is extra.region, else the connection id's suffix (``amazon_sp_api_eu``). Every
        marketplace must belong to that region (Amazon refuses the whole call otherwise).
        """
        extra = conn.extra_dejson or {}
        conn_id = conn.conn_id
        region = str(extra.get("region") or region_from_conn_id(conn_id) or "").lower()
        if region not in REGION_ENDPOINTS:
            raise SellingPartnerConfigError(
                f"connection {conn_id}: extra.region must be one of na, eu, fe (got {region or 'nothing'!r}); "
                "set it in Admin > Connections to the region whose endpoint this authorization is for")
        marketplaces = list(marketplace_ids) if marketplace_ids else extra.get("marketplace_ids") or []
        if isinstance(marketplaces, str):
            marketplaces = [m.strip() for m in marketplaces.split(",") if m.strip()]
        missing = [name for name, value in (
            ("login (LWA client id)", conn.login), ("password (LWA client secret)", conn.password),
            ("extra.refresh_token", extra.get("refresh_token")), ("extra.marketplace_ids", marketplaces),
        ) if not value]
        if missing:
            raise SellingPartnerConfigError(
                f"connection {conn_id} is missing {', '.join(missing)}: set them in Admin > Connections")
        problem = region_problem(region, marketplaces, conn_id=conn_id)
        if problem:
            raise MarketplaceRegionError(f"{problem}. Fix extra.marketplace_ids of {conn_id} or the region column of "
                                         "include/mappings/marketplaces.csv", conn_id=conn_id, region=region,
                                         marketplace_ids=list(marketplaces))
        return cls(
            conn_id=conn_id,
            client_id=conn.login,
            client_secret=conn.password,
            refresh_token=extra["refresh_token"],
            seller_id=str(extra.get("seller_id") or ""),
            region=region,
            marketplace_ids=tuple(marketplaces),
            endpoint=str(extra.get("endpoint") or REGION_ENDPOINTS[region]).rstrip("/"),
            lwa_endpoint=str(extra.get("lwa_endpoint") or LWA_ENDPOINT),
            extra=dict(extra),
        )


_TOKENS: dict[tuple[str, str, str], tuple[float, dict]] = {}
_TOKENS_LOCK = threading.Lock()


def _lwa_client_class(token_url: str) -> type:
    """An AccessTokenClient posting to ``token_url``, caching tokens per (LWA endpoint, app, seller)."""
    from sp_api.auth import AccessTokenClient, AccessTokenResponse
    from sp_api.auth.exceptions import AuthorizationError

    class LwaTokenClient(AccessTokenClient):
        url: ClassVar[str] = token_url

        def _key(self) -> tuple[str, str, str]:
            return (self.url, self.cred.client_id, self.cred.refresh_token)

        def _request(self, url: str, data: Any, headers: Any) -> dict:
            # The library calls response.json() unguarded: a proxy's HTML 502 in front of LWA would
            # escape as a bare JSONDecodeError (never retried). Make it an AuthorizationError with the
            # real status, so 5xx/429 are retried like any LWA failure.
            response = self._transport.request("POST", url, data=data, headers=headers)
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise AuthorizationError("unreadable_response", _describe_unreadable(response), response.status_code)
            if response.status_code != 200:
                raise AuthorizationError(body.get("error"), body.get("error_description"), response.status_code)
            return body

        def get_grantless_auth(self, scope: str = "sellingpartnerapi::notifications") -> AccessTokenResponse:
            """A client_credentials token (grantless operations: Notifications destinations), from this
            LWA endpoint (the library would post to api.amazon.com whatever the connection says)."""
            key = (self.url, self.cred.client_id, f"grantless:{scope}")
            with _TOKENS_LOCK:
                cached = _TOKENS.get(key)
            if cached and cached[0] > time.monotonic():
                return AccessTokenResponse(**cached[1])
            data = self._request(self.url, self.grantless_data(scope), self.headers)
            lifetime = max(60, int(data.get("expires_in") or 3600) - 60)
            with _TOKENS_LOCK:
                _TOKENS[key] = (time.monotonic() + lifetime, data)
            return AccessTokenResponse(**data)

        def get_auth(self) -> AccessTokenResponse:
            with _TOKENS_LOCK:
                cached = _TOKENS.get(self._key())
            if cached and cached[0] > time.monotonic():
                return AccessTokenResponse(**cached[1])
            data = self._request(self.url, self.data, self.headers)
            lifetime = max(60, int(data.get("expires_in") or 3600) - 60)
            with _TOKENS_LOCK:
                _TOKENS[self._key()] = (time.monotonic() + lifetime, data)
            return AccessTokenResponse(**data)

    return LwaTokenClient


def _quiet_library_debug_log() -> None:
    """Keep python-amazon-sp-api's DEBUG records out of task logs.

    At DEBUG the library logs every request's headers (the access token) and every response body
    (buyer names, addresses, emails): a task log at DEBUG would leak PII (docs/architecture.md section 3).
    """
    library_log = logging.getLogger("sp_api")
    if library_log.getEffectiveLevel() < logging.INFO:
        library_log.setLevel(logging.INFO)


class UnreadableResponseError(Exception):
    """A 2xx SP-API response that is not the document Amazon's model describes: not JSON (a proxy
    page, a truncated body), or JSON whose required field is missing, null or of the wrong type
    (``{"orders": null}``).

    python-amazon-sp-api turns such a body into an empty ``ApiResponse`` and ``payload["orders"] or []``
    reads null as an empty page: for ``searchOrders`` that is "no orders, no next page", the rest of
    the window silently lost. ``_call`` retries it like a 5xx, then fails the call. The message never
    quotes the body: a truncated order page holds PII.
    """

    def __init__(self, status: int | None, description: str) -> None:
        self.status = status
        super().__init__(description)


_JSON_TYPES = {list: "a list", dict: "an object", str: "a string"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number"}.get(type(value)) or _JSON_TYPES.get(type(value), type(value).__name__)


def _expect(response: Any, key: str, kind: type, *, item_id: str | None = None) -> Any:
    """``response`` if ``payload[key]`` is what Amazon's model requires (a list of objects, each with
    its ``item_id`` string; an object; a string), else UnreadableResponseError: a null, missing or
    mistyped field is a malformed answer, never an empty page."""
    payload = getattr(response, "payload", None)
    if not isinstance(payload, dict) or key not in payload:
        raise UnreadableResponseError(200, f"2xx response without {key}, which Amazon's model requires")
    value = payload[key]
    if not isinstance(value, kind):
        raise UnreadableResponseError(200, f"2xx response whose {key} is {_json_type(value)} instead of "
                                           f"{_JSON_TYPES[kind]} (Amazon's model requires it): a malformed answer, "
                                           "not an empty one")
    if kind is list and not all(isinstance(item, dict) for item in value):
        raise UnreadableResponseError(200, f"2xx response whose {key} list holds items that are not objects")
    if item_id and not all(isinstance(item.get(item_id), str) and item[item_id] for item in value):
        raise UnreadableResponseError(200, f"2xx response whose {key} list holds items without {item_id}")
    return response


def _expect_refunds(response: Any) -> Any:
    """``listFinancialEvents``: ``FinancialEvents`` an object whose ``RefundEventList`` (when present) is a
    list of events, each with its ``AmazonOrderId``; a missing list is an empty one (Amazon omits empty
    lists), a mistyped one a malformed answer."""
    _expect(response, "FinancialEvents", dict)
    events = response.payload["FinancialEvents"]
    refunds = events.setdefault("RefundEventList", [])
    if not isinstance(refunds, list) or not all(isinstance(e, dict) and isinstance(e.get("AmazonOrderId"), str) for e in refunds):
        raise UnreadableResponseError(200, "2xx response whose RefundEventList is not a list of events with AmazonOrderId")
    return response

def _notification_payload(response: Any, kind: type, item_id: str) -> Any:
    """The ``payload`` of a Notifications API answer (a Destination/Subscription object, or a list of
    destinations), else UnreadableResponseError. The library hands an empty list over as ``{}``."""
    payload = getattr(response, "payload", None)
    if kind is list and payload == {} and not getattr(response, "errors", None):
        return []
    if kind is list and isinstance(payload, list) and all(isinstance(i, dict) and i.get(item_id) for i in payload):
        return payload
    if kind is dict and isinstance(payload, dict) and isinstance(payload.get(item_id), str) and payload[item_id]:
        return payload
    raise UnreadableResponseError(200, f"2xx Notifications API response without {item_id}, which Amazon's model requires")


def _describe_unreadable(response: Any) -> str:
    """A short, PII-free description of a non-JSON error body (a proxy or load balancer page)."""
    text = re.sub(r"<[^>]*>", " ", response.text[:2000] if response.content else "")
    text = " ".join(text.split())[:160]
    kind = response.headers.get("content-type") or "no content-type"
    return f"non-JSON {kind} body from {response.url.host}, probably a proxy or load balancer" + (f": {text}" if text else "")


def _raise_for_unparsed_response(response: Any, *, method: str, res_no_data: bool) -> None:
    """Raise what python-amazon-sp-api would swallow.

    The library only raises when the body is JSON with an ``errors`` list: a 5xx with an HTML body
    (a proxy's 502 page) or a JSON body without ``errors`` becomes an empty, successful-looking
    ``ApiResponse``, and statuses it does not know (502) become a generic exception with code 999.
    Here every status >= 400 raises the library's exception for that status (5xx as a server error,
    so it is retried) carrying the real status; a 2xx body that is not JSON raises
    ``UnreadableResponseError``.
    """
    from sp_api.base.exceptions import SellingApiException, SellingApiServerException, get_exception_for_code

    status = response.status_code
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        body = None
    if status >= 400:
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, list) or not errors:
            errors = [{"code": f"HTTP{status}", "message": f"HTTP {status} without an SP-API error body",
                       "details": _describe_unreadable(response)}]
        exc_cls = get_exception_for_code(status)
        if exc_cls is SellingApiException and status >= 500:
            exc_cls = SellingApiServerException
        exc = exc_cls(errors, headers=response.headers)
        exc.code = status
        raise exc
    if not isinstance(body, dict | list):
        if (method == "DELETE" or res_no_data) and not response.content.strip():
            return
        raise UnreadableResponseError(status, f"HTTP {status} with a body that is not a JSON document (content-type "
                                              f"{response.headers.get('content-type') or 'none'}, {len(response.content)} bytes)")


def _with_host_header(client_cls: type) -> type:
    """The library derives the Host header as ``endpoint[8:]``, which is wrong for http:// endpoints.

    The subclass also raises for responses the library would swallow (``_raise_for_unparsed_response``).
    """

    class EndpointClient(client_cls):
        @property
        def headers(self) -> dict:
            headers = super().headers
            headers["host"] = urlsplit(self.endpoint).netloc
            return headers

        def _check_response(self, res: Any, res_no_data: bool = False, bulk: bool = False, wrap_list: bool = False) -> Any:
            _raise_for_unparsed_response(res, method=self.method, res_no_data=res_no_data)
            return super()._check_response(res, res_no_data, bulk, wrap_list)

    EndpointClient.__name__ = client_cls.__name__
    return EndpointClient


class SellingPartnerHook(BaseHook):
    """Amazon Selling Partner API through python-amazon-sp-api, with throttling and retries.

    One hook serves one connection, so one region: build the hooks of the mapped marketplaces with
    :func:`hooks_for_targets`. Flows never rely on the default connection.

    :param sp_api_conn_id: the Airflow connection (LWA client id as login, client secret as password;
        extra: refresh_token, seller_id, region, marketplace_ids, optional endpoint/lwa_endpoint).
    :param marketplace_ids: the marketplaces this hook reads (default: the connection's
        extra.marketplace_ids); all of the connection's region.
    :param max_attempts: attempts for 5xx and network errors (bounded exponential backoff).
    :param max_throttle_retries: 429 QuotaExceeded retries before giving up to the Airflow task retry.
    :param backoff_base: first backoff in seconds; doubled per attempt up to ``backoff_max``.
    :param timeout: HTTP timeout (seconds) of each SP-API call.
    """

    conn_name_attr = "sp_api_conn_id"
    default_conn_name = "amazon_sp_api_na"
    conn_type = "amazon_sp_api"
    hook_name = "Amazon Selling Partner API"
    #: Paging progress is logged at most every ``progress_seconds`` or every ``progress_pages`` pages.
    progress_seconds: float = 30.0
    progress_pages: int = 25

    def __init__(
        self,
        sp_api_conn_id: str = default_conn_name,
        *,
        marketplace_ids: Sequence[str] | None = None,
        max_attempts: int | None = None,
        max_throttle_retries: int | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.sp_api_conn_id = sp_api_conn_id
        self._marketplace_ids = tuple(marketplace_ids) if marketplace_ids else None
        self._overrides = {"max_attempts": max_attempts, "max_throttle_retries": max_throttle_retries,
                           "backoff_base": backoff_base, "backoff_max": backoff_max, "timeout": timeout}
        self._sleep = sleep
        self._config: SpApiConfig | None = None
        self._clients: dict[type, Any] = {}

    @property
    def log(self) -> logging.Logger:  # type: ignore[override]
        """A standard logger, like the NetSuite hook's: the task log shows it, and so do tests (caplog)."""
        return log

    # -- configuration ---------------------------------------------------------------------------
    @property
    def config(self) -> SpApiConfig:
        if self._config is None:
            self._config = SpApiConfig.from_connection(self.get_connection(self.sp_api_conn_id), self._marketplace_ids)
        return self._config

    def _setting(self, name: str, default: float) -> float:
        value = self._overrides.get(name)
        if value is None:
            value = self.config.extra.get(name, default)
        return float(value)

    @property
    def max_attempts(self) -> int:
        return int(self._setting("max_attempts", 5))

    @property
    def max_throttle_retries(self) -> int:
        return int(self._setting("max_throttle_retries", 30))

    @property
    def backoff_base(self) -> float:
        return self._setting("backoff_base", 1.0)

    @property
    def backoff_max(self) -> float:
        return self._setting("backoff_max", 60.0)

    @property
    def timeout(self) -> float:
        return self._setting("timeout", 60.0)

    @property
    def marketplace_ids(self) -> list[str]:
        return list(self.config.marketplace_ids)

    @property
    def region(self) -> str:
        return self.config.region

    def _marketplaces_for_call(self, operation: str, marketplace_ids: Sequence[str] | None) -> list[str]:
        """``marketplace_ids`` (default: the hook's), refused before the call when one belongs to
        another region or to none (Amazon would refuse the whole call)."""
        ids = list(marketplace_ids or self.marketplace_ids)
        problem = region_problem(self.region, ids, conn_id=self.sp_api_conn_id)
        if problem:
            raise MarketplaceRegionError(f"{operation} not sent: {problem}", conn_id=self.sp_api_conn_id,
                                         region=self.region, marketplace_ids=ids)
        return ids

    def _region_refusal_hint(self, marketplace_ids: Sequence[str] | None) -> str:
        """What to do about Amazon's 403 "The marketplaces you provided are not valid for region."."""
        cfg = self.config
        ids = list(marketplace_ids or [])
        problem = region_problem(cfg.region, ids, conn_id=self.sp_api_conn_id) if ids else None
        if problem:
            return f"Amazon refused the whole call: {problem}"
        sent = ", ".join(describe(m) for m in ids) or "the connection's marketplaces"
        return (f"Amazon refused the whole call: the endpoint {cfg.endpoint} of connection {self.sp_api_conn_id} does not serve "
                f"{sent}, which are region {cfg.region} marketplaces: check that extra.endpoint is region {cfg.region}'s "
                f"({REGION_ENDPOINTS[cfg.region]}) and that extra.region and extra.marketplace_ids match it")

    def _forbidden_hint(self) -> str:
        cfg = self.config
        return (f"Check that connection {self.sp_api_conn_id} holds a refresh_token the seller authorized for region "
                f"{cfg.region} (each region is authorized separately: a token of another region is refused, and a "
                "grantless client_credentials token reaches no seller data) and that the app has the role this "
                "operation needs")

    @property
    def _scope(self) -> str:
        return f"{self.config.endpoint}|{self.config.seller_id or self.config.client_id}"

    # -- clients ---------------------------------------------------------------------------------
    def _build_client(self, client_cls: type, *, restricted_data_token: str | None = None) -> Any:
        from sp_api.base import Marketplaces

        _quiet_library_debug_log()
        cfg = self.config
        marketplace = next(
            (m for m in Marketplaces if m.marketplace_id == cfg.marketplace_ids[0] and m.endpoint == REGION_ENDPOINTS[cfg.region]),
            next(m for m in Marketplaces if m.endpoint == REGION_ENDPOINTS[cfg.region]),
        )
        client = _with_host_header(client_cls)(
            marketplace,
            refresh_token=cfg.refresh_token,
            credentials={"lwa_app_id": cfg.client_id, "lwa_client_secret": cfg.client_secret, "refresh_token": cfg.refresh_token},
            restricted_data_token=restricted_data_token,
            timeout=self.timeout,
            auth_token_client_class=_lwa_client_class(cfg.lwa_endpoint),
        )
        client.endpoint = cfg.endpoint
        return client

    def _client(self, client_cls: type) -> Any:
        if client_cls not in self._clients:
            self._clients[client_cls] = self._build_client(client_cls)
        return self._clients[client_cls]

    def get_conn(self) -> Any:
        """The Orders v2026-01-01 client (python-amazon-sp-api ``OrdersV20260101``)."""
        from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101

        return self._client(OrdersV20260101)

    def _reports(self, restricted_data_token: str | None = None) -> Any:
        from sp_api.api import Reports

        if restricted_data_token:
            return self._build_client(Reports, restricted_data_token=restricted_data_token)
        return self._client(Reports)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def invalidate_access_token(self) -> None:
        """Forget the cached LWA access token so the next call fetches a fresh one."""
        cfg = self.config
        with _TOKENS_LOCK:
            _TOKENS.pop((cfg.lwa_endpoint, cfg.client_id, cfg.refresh_token), None)

    # -- the one call path -------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security

    def _log_wait(self, operation: str, rate: float, seconds: float) -> None:
        if seconds >= LOG_WAITS_OVER:
            self.log.info("%s: throttled by the usage plan (%s requests/s), next call in %.0f s",
                          operation, f"{rate:g}", seconds)

    def _call(self, operation: str, fn: Callable[[], T], *, marketplace_ids: Sequence[str] | None = None) -> T:  # noqa: C901
        """Run one SP-API operation with rate limiting, retries and a single token refresh.

        ``marketplace_ids`` (the ones the call names) let a 403 "not valid for region" name them.
        """
        import httpx
        from sp_api.auth.exceptions import AuthorizationError
        from sp_api.base.exceptions import (
            SellingApiException,
            SellingApiForbiddenException,
            SellingApiGatewayTimeoutException,
            SellingApiRequestThrottledException,
            SellingApiServerException,
            SellingApiTemporarilyUnavailableException,
        )

        bucket = RATE_LIMITER.bucket(self._scope, operation)
        failures = throttles = 0
        refreshed = False
        while True:
            bucket.acquire(on_wait=lambda seconds: self._log_wait(operation, bucket.rate, seconds))
            try:
                response = fn()
            except SellingApiRequestThrottledException as exc:
                RATE_LIMITER.update_from_headers(self._scope, operation, exc.headers)
                throttles += 1
                if throttles > self.max_throttle_retries:
                    raise SellingPartnerThrottledError(
                        operation, 429, exc.error,
                        hint=f"Still throttled after {throttles} backoffs: lower the concurrency of the amazon_sp_api pool; the task retry resumes",
                    ) from exc
                bucket.drain()  # the next acquire waits 1/rate, as Amazon's bucket refills
                if throttles > 1:
                    self._sleep(self._backoff(throttles - 1))
                self.log.info("SP-API %s throttled (429 QuotaExceeded, #%s); backing off at %.4f requests/s",
                              operation, throttles, bucket.rate)
                continue
            except (SellingApiServerException, SellingApiTemporarilyUnavailableException,
                    SellingApiGatewayTimeoutException, httpx.TransportError, UnreadableResponseError) as exc:
                failures += 1
                status = getattr(exc, "code", None) if isinstance(exc, SellingApiException) else getattr(exc, "status", None)
                if failures >= self.max_attempts:
                    raise SellingPartnerApiError(
                        operation, status, getattr(exc, "error", None) or [{"code": type(exc).__name__, "message": str(exc)}],
                        hint=f"Gave up after {failures} attempts; Amazon or the network is failing, the task retry will try again",
                    ) from exc
                delay = self._backoff(failures)
                self.log.warning("SP-API %s failed (%s), attempt %s of %s; retrying in %.2fs",
                                 operation, status or type(exc).__name__, failures, self.max_attempts, delay)
                self._sleep(delay)
                continue
            except SellingApiForbiddenException as exc:
                if not refreshed and _is_access_token_error(exc.error):
                    refreshed = True
                    self.log.info("SP-API %s: access token rejected (%s); refreshing it once", operation, _first(exc.error, "details"))
                    self.invalidate_access_token()
                    continue
                if _is_region_refusal(exc.error):
                    raise SellingPartnerApiError(operation, 403, exc.error,
                                                 hint=self._region_refusal_hint(marketplace_ids)) from exc
                raise SellingPartnerApiError(operation, 403, exc.error, hint=self._forbidden_hint()) from exc
            except AuthorizationError as exc:
                if (exc.status_code and (exc.status_code >= 500 or exc.status_code == 429)) or exc.error_code == "unreadable_response":
                    failures += 1
                    if failures < self.max_attempts:
                        self._sleep(self._backoff(failures))
                        continue
                raise SellingPartnerAuthError(
                    f"LWA ({self.config.lwa_endpoint}) refused the token request for connection {self.sp_api_conn_id} "
                    f"during {operation}: HTTP {exc.status_code} {exc.error_code}: {exc.message}. "
                    "Check the LWA client id/secret and re-authorize the app to get a new refresh_token"
                ) from exc
            except SellingApiException as exc:
                raise SellingPartnerApiError(operation, getattr(exc, "code", None), exc.error) from exc
            RATE_LIMITER.update_from_headers(self._scope, operation, getattr(response, "headers", None))
            return response

    # -- Orders v2026-01-01 ------------------------------------------------------------------------
    def iter_orders(
        self,
        *,
        last_updated_after: datetime | str,
        last_updated_before: datetime | str | None = None,
        marketplace_ids: Sequence[str] | None = None,
        included_data: Sequence[str] = DEFAULT_INCLUDED_DATA,
        fulfillment_statuses: Sequence[str] | None = None,
        fulfilled_by: Sequence[str] | None = None,
        page_size: int = 100,
        by: str = "lastUpdated",
    ) -> Iterator[dict]:
        """Every order updated in the window, page after page (``searchOrders``, all pages).

        ``by="created"`` reads the orders *created* in the window instead (``createdAfter``/``createdBefore``:
        Amazon takes exactly one of ``createdAfter`` and ``lastUpdatedAfter``), e.g. for reconciling a day.

        The end is clamped to now minus 2 minutes. An expired pagination token (they live 24 h)
        restarts the search and skips the orders already yielded, so each order is yielded once.
        A page whose ``orders`` is null, missing or not a list is retried, then fails the call: it is
        never read as an empty page. Progress is logged every ``progress_seconds`` / ``progress_pages``.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/orders-api-v2026-01-01-reference#searchorders
        """
        window = clamp_order_window(last_updated_after, last_updated_before)
        marketplaces = self._marketplaces_for_call("searchOrders", marketplace_ids)
        if window is None:
            self.log.info("searchOrders: empty window after clamping to now - 2 minutes; nothing to read")
            return
        if by not in ("lastUpdated", "created"):
            raise ValueError(f"by must be 'lastUpdated' or 'created', not {by!r}")
        params: dict[str, Any] = {
            f"{by}After": iso8601(window[0]),
            f"{by}Before": iso8601(window[1]),
            "marketplaceIds": marketplaces,
            "maxResultsPerPage": page_size,
        }
        if included_data:
            params["includedData"] = list(included_data)
        if fulfillment_statuses:
            params["fulfillmentStatuses"] = list(fulfillment_statuses)
        if fulfilled_by:
            params["fulfilledBy"] = list(fulfilled_by)
        client = self.get_conn()
        seen: set[str] = set()
        token: str | None = None
        restarts = pages = 0
        progress = _Progress(self, "searchOrders", "orders")
        while True:
            query = dict(params, paginationToken=token) if token else dict(params)
            try:
                response = self._call("searchOrders", lambda q=query: _expect(client.search_orders(**q), "orders", list, item_id="orderId"),
                                      marketplace_ids=marketplaces)
            except SellingPartnerApiError as exc:
                if token and _is_pagination_token_error(exc) and restarts < 3:
                    restarts += 1
                    self.log.warning("searchOrders: pagination token rejected (%s) after %s orders; restarting the window "
                                     "and skipping orders already read", exc.details or exc.amazon_message, len(seen))
                    token = None
                    continue
                if token and _is_pagination_token_error(exc):
                    raise PaginationTokenExpiredError("searchOrders", exc.status, exc.errors,
                                                      hint="Pagination tokens expire after 24 hours; rerun the task") from exc
                raise
            pages += 1
            for order in response.payload["orders"]:
                if order["orderId"] in seen:
                    continue
                seen.add(order["orderId"])
                yield order
            token = response.next_token
            if not token:
                self.log.info("searchOrders %s..%s (%s, %s): %s orders in %s pages", params[f"{by}After"],
                              params[f"{by}Before"], self.sp_api_conn_id, ",".join(marketplaces), len(seen), pages)
                return
            progress.page(pages, len(seen))

    def search_orders(self, **kwargs: Any) -> list[dict]:
        """``iter_orders`` as a list (same keyword arguments)."""
        return list(self.iter_orders(**kwargs))

    def get_order(self, order_id: str, *, included_data: Sequence[str] = DEFAULT_INCLUDED_DATA) -> dict:
        """One order (``getOrder``), with the datasets in ``included_data``.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/orders-api-v2026-01-01-reference#getorder
        """
        client = self.get_conn()
        params = {"includedData": list(included_data)} if included_data else {}
        response = self._call("getOrder", lambda: _expect(client.get_order(order_id, **params), "order", dict))
        return response.payload["order"]

    # -- Finances v0 --------------------------------------------------------------------------------
    def iter_refund_events(
        self, *, posted_after: datetime | str, posted_before: datetime | str | None = None, page_size: int = 100
    ) -> Iterator[dict]:
        """Every refund event (``RefundEventList``, a ``ShipmentEvent`` per refund) posted in the window,
        page after page (``listFinancialEvents``, following ``NextToken``; Amazon can answer empty pages).

        The end is clamped to now minus 2 minutes (Amazon refuses later dates). Amazon omits the last
        48 hours and releases deferred events late: callers read a rolling look-back and stay idempotent.
        A page whose ``FinancialEvents`` or ``RefundEventList`` is missing or mistyped is retried, then
        fails the call: never read as empty.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/finances-api-reference#get-financesv0financialevents
        """
        from sp_api.api import FinancesV0

        window = clamp_order_window(posted_after, posted_before)
        if window is None:
            self.log.info("listFinancialEvents: empty window after clamping to now - 2 minutes; nothing to read")
            return
        params: dict[str, Any] = {"PostedAfter": iso8601(window[0]), "PostedBefore": iso8601(window[1]),
                                  "MaxResultsPerPage": page_size}
        client = self._client(FinancesV0)
        token: str | None = None
        pages = events = 0
        while True:
            # Amazon: "call the operation with this token and include the same arguments as the call that produced the token"
            query = dict(params, NextToken=token) if token else dict(params)
            response = self._call("listFinancialEvents",
                                  lambda q=query: _expect_refunds(client.list_financial_events(**q)))
            pages += 1
            for event in response.payload["FinancialEvents"]["RefundEventList"]:
                events += 1
                yield event
            token = response.payload.get("NextToken")
            if not token:
                self.log.info("listFinancialEvents %s..%s (%s): %s refund events in %s pages", params["PostedAfter"],
                              params["PostedBefore"], self.sp_api_conn_id, events, pages)
                return

    # -- Orders v0: shipment confirmation (merchant-fulfilled orders) ----------------------------------
    def _orders_v0(self) -> Any:
        from sp_api.api.orders.orders_v0 import OrdersV0

        return self._client(OrdersV0)

    def confirm_shipment(self, order_id: str, *, marketplace_id: str, package_detail: dict[str, Any]) -> None:
        """Confirm one package of a merchant-fulfilled order (Orders API v0 ``confirmShipment``; the
        v0 read operations retire in 2027 but this one has no successor and stays).

        ``package_detail`` is the model's ``PackageDetail`` (``packageReferenceId``, ``carrierCode``,
        ``trackingNumber``, ``shipDate``, ``orderItems`` ...). Sending the same ``packageReferenceId``
        again edits that package at Amazon (e.g. a corrected tracking number): a retry never ships
        twice. Amazon answers 204 without a body; a refusal (400 ``InvalidInput``: unknown order item,
        quantity already shipped, cancelled order; 404 unknown order) raises
        :class:`SellingPartnerApiError` with Amazon's message. 429 and 5xx are retried here like every call.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference#confirmshipment
        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/confirm-the-shipment-status
        """
        marketplaces = self._marketplaces_for_call("confirmShipment", [marketplace_id])
        client = self._orders_v0()
        body = {"marketplaceId": marketplaces[0], "packageDetail": dict(package_detail)}
        self._call("confirmShipment", lambda: client.confirm_shipment(order_id, **body), marketplace_ids=marketplaces)

    # -- Reports 2021-06-30 ------------------------------------------------------------------------
    def create_report(
        self,
        report_type: str,
        *,
        marketplace_ids: Sequence[str] | None = None,
        data_start_time: datetime | str | None = None,
        data_end_time: datetime | str | None = None,
        report_options: dict[str, str] | None = None,
    ) -> str:
        """Request a report (``createReport``); returns its reportId.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#createreport
        """
        if report_type in SETTLEMENT_REPORT_TYPES:
            raise SellingPartnerError(
                f"{report_type} cannot be requested: Amazon generates settlement reports on its own schedule. "
                "Use list_reports() to find them and download_report() to read them"
            )
        body: dict[str, Any] = {"reportType": report_type,
                                "marketplaceIds": self._marketplaces_for_call("createReport", marketplace_ids)}
        if data_start_time is not None:
            body["dataStartTime"] = iso8601(_utc(data_start_time, "data_start_time"))
        if data_end_time is not None:
            body["dataEndTime"] = iso8601(_utc(data_end_time, "data_end_time"))
        if report_options:
            body["reportOptions"] = dict(report_options)
        reports = self._reports()
        response = self._call("createReport", lambda: _expect(reports.create_report(**body), "reportId", str),
                              marketplace_ids=body["marketplaceIds"])
        report_id = response.payload["reportId"]
        self.log.info("createReport %s for %s: reportId %s", report_type, ",".join(body["marketplaceIds"]), report_id)
        return report_id

    def get_report(self, report_id: str) -> dict:
        """Report details (``getReport``): processingStatus and, when done, reportDocumentId."""
        reports = self._reports()
        return self._call("getReport", lambda: _expect(reports.get_report(report_id), "processingStatus", str)).payload

    def cancel_report(self, report_id: str) -> None:
        """Cancel a report still IN_QUEUE (``cancelReport``)."""
        reports = self._reports()
        self._call("cancelReport", lambda: reports.cancel_report(report_id))

    def list_reports(
        self,
        report_types: Sequence[str],
        *,
        processing_statuses: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        created_since: datetime | str | None = None,
        created_until: datetime | str | None = None,
        page_size: int = 100,
    ) -> list[dict]:
        """Every report of these types (``getReports``, all pages; the next pages send nextToken alone).

        Amazon keeps reports 90 days: an older ``created_since`` is clamped, with a warning. getReports
        takes at most 10 marketplaces: more are listed 10 at a time (reports merged by id). Settlement
        reports ignore the marketplace filter and list every marketplace of the region.
        """
        now = datetime.now(UTC)
        marketplaces = self._marketplaces_for_call("getReports", marketplace_ids)
        params: dict[str, Any] = {"reportTypes": list(report_types), "pageSize": page_size}
        if processing_statuses:
            params["processingStatuses"] = list(processing_statuses)
        if created_since is not None:
            since = _utc(created_since, "created_since")
            oldest = now - REPORT_RETENTION + timedelta(minutes=1)
            if since < oldest:
                self.log.warning("getReports: Amazon keeps reports for 90 days; created_since %s clamped to %s",
                                 iso8601(since), iso8601(oldest))
                since = oldest
            params["createdSince"] = iso8601(since)
        if created_until is not None:
            params["createdUntil"] = iso8601(_utc(created_until, "created_until"))
        reports_client = self._reports()
        found: dict[str, dict] = {}
        pages = 0
        progress = _Progress(self, "getReports", "reports")
        for start in range(0, len(marketplaces), MAX_REPORT_MARKETPLACES):
            chunk = marketplaces[start:start + MAX_REPORT_MARKETPLACES]
            query: dict[str, Any] = {**params, "marketplaceIds": chunk}
            while True:
                response = self._call(
                    "getReports",
                    lambda q=query: _expect(reports_client.get_reports(**q), "reports", list, item_id="reportId"),
                    marketplace_ids=chunk)
                pages += 1
                for report in response.payload["reports"]:
                    found.setdefault(report["reportId"], report)
                token = response.next_token
                if not token:
                    break
                progress.page(pages, len(found))
                query = {"nextToken": token}
        return list(found.values())

    def get_report_document(self, document_id: str, *, restricted: bool = False) -> dict:
        """Where to download a document (``getReportDocument``): url (valid 5 minutes), compressionAlgorithm."""
        token = self.create_restricted_data_token(
            [{"method": "GET", "path": f"/reports/2021-06-30/documents/{document_id}"}]
        ) if restricted else None
        reports = self._reports(restricted_data_token=token)
        return self._call("getReportDocument", lambda: _expect(reports.get_report_document(document_id), "url", str)).payload

    def download_report_document(self, document_id: str, *, report_type: str | None = None, restricted: bool | None = None) -> str:
        """The decoded text of a report document: gunzipped if needed, decoded with Amazon's charset.

        Restricted report types (PII) are fetched with a restricted data token. An expired
        presigned URL (they live 5 minutes) is renewed once.
        """
        import httpx

        if restricted is None:
            restricted = report_type in RESTRICTED_REPORT_TYPES
        for renewal in range(2):
            meta = self.get_report_document(document_id, restricted=restricted)
            url = meta["url"]

            def fetch(url: str = url) -> httpx.Response:
                response = httpx.get(url, timeout=self.timeout)
                if response.status_code >= 500:
                    raise httpx.HTTPStatusError(f"document download HTTP {response.status_code}", request=response.request,
                                                response=response)
                return response

            response = self._call("downloadReportDocument", lambda f=fetch: _retry_http_status(f))
            if response.status_code == 403 and renewal == 0:
                self.log.info("report document %s: presigned URL refused (%s); asking for a new one", document_id,
                              response.text[:200])
                continue
            if response.status_code != 200:
                raise SellingPartnerError(f"downloading report document {document_id} failed: HTTP {response.status_code}: "
                                          f"{response.text[:500]}")
            text = decode_document(response.content, compression=meta.get("compressionAlgorithm"),
                                   content_type=response.headers.get("content-type"), document_id=document_id)
            self.log.info("report document %s: %s bytes, %s characters", document_id, len(response.content), len(text))
            return text
        raise SellingPartnerError(f"report document {document_id}: the presigned URL was refused twice")  # pragma: no cover

    def download_report(self, report_id: str) -> str | None:
        """The document of a finished report, or None for a CANCELLED one (no document: see
        :meth:`log_no_document`); FATAL raises ReportProcessingError with Amazon's error document."""
        report = self.get_report(report_id)
        status = report["processingStatus"]
        if status == "DONE":
            if not report.get("reportDocumentId"):
                raise SellingPartnerError(f"report {report_id} is DONE without a reportDocumentId: Amazon's answer is "
                                          "incomplete; request the report again")
            return self.download_report_document(report["reportDocumentId"], report_type=report.get("reportType"))
        if status == "CANCELLED":
            self.log_no_document(report)
            return None
        if status == "FATAL":
            raise self.report_failure(report)
        raise SellingPartnerError(f"report {report_id} is still {status}: wait for DONE (ReportProcessingTrigger) first")

    def log_no_document(self, report: dict) -> None:
        """Log a CANCELLED report as "no document". Amazon: "There are two ways a report can be
        cancelled: an explicit cancellation request before the report starts processing, or an
        automatic cancellation if there is no data to return." Neither is a failure."""
        self.log.info("report %s (%s, %s) is CANCELLED: Amazon cancels a report when there is no data to return "
                      "(or when it was cancelled before processing); no document, nothing to read",
                      report.get("reportId"), report.get("reportType"), ",".join(report.get("marketplaceIds") or []))

    def report_failure(self, report: dict) -> ReportProcessingError:
        """The error for a FATAL report, carrying Amazon's error document when there is one."""
        error_document = None
        if report.get("reportDocumentId"):
            try:
                error_document = self.download_report_document(report["reportDocumentId"], restricted=False)
            except SellingPartnerError as exc:
                error_document = f"(error document unavailable: {exc})"
        return ReportProcessingError(report["reportId"], report.get("reportType"), report["processingStatus"], error_document)

    def wait_for_report(self, report_id: str, *, poll_interval: float = 30.0, timeout: float = 3600.0) -> dict:
        """Poll ``getReport`` until DONE or CANCELLED (returns the report; a CANCELLED one has no
        document: no data) or FATAL (raises). Holds the worker: prefer SellingPartnerReportOperator,
        which defers to ReportProcessingTrigger."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.get_report(report_id)
            if report["processingStatus"] == "DONE":
                return report
            if report["processingStatus"] == "CANCELLED":
                self.log_no_document(report)
                return report
            if report["processingStatus"] in TERMINAL_REPORT_STATUSES:
                raise self.report_failure(report)
            if time.monotonic() > deadline:
                raise SellingPartnerError(f"report {report_id} still {report['processingStatus']} after {timeout:.0f}s")
            self._sleep(poll_interval)

    # -- Feeds 2021-06-30 --------------------------------------------------------------------------
    def _feeds(self) -> Any:
        from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630

        return self._client(FeedsV20210630)

    def create_feed_document(self, content_type: str = FEED_CONTENT_TYPE) -> dict:
        """A feed document to upload to (``createFeedDocument``): ``feedDocumentId`` and a presigned ``url``.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/feeds-api-v2021-06-30-reference#createfeeddocument
        """
        feeds = self._feeds()
        return self._call("createFeedDocument", lambda: _expect(
            feeds._request("/feeds/2021-06-30/documents", data={"contentType": content_type, "method": "POST"},
                           add_marketplace=False), "url", str)).payload

    def upload_feed_document(self, url: str, content: bytes, content_type: str = FEED_CONTENT_TYPE) -> None:
        """PUT the document to the presigned URL of :meth:`create_feed_document` (5xx and network errors retried)."""
        import httpx

        def put() -> httpx.Response:
            response = httpx.put(url, content=content, headers={"Content-Type": content_type}, timeout=self.timeout)
            if response.status_code >= 500:
                raise httpx.HTTPStatusError(f"feed upload HTTP {response.status_code}", request=response.request, response=response)
            return response

        response = self._call("uploadFeedDocument", lambda: _retry_http_status(put))
        if response.status_code not in (200, 204):
            raise SellingPartnerError(f"uploading the feed document failed: HTTP {response.status_code}: {response.text[:500]}. "
                                      "The presigned URL lives 5 minutes: the task retry asks for a new document")

    def create_feed(self, feed_type: str, document_id: str, *, marketplace_ids: Sequence[str] | None = None,
                    feed_options: dict[str, str] | None = None) -> str:
        """Submit an uploaded document as a feed (``createFeed``); returns the feedId.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/feeds-api-v2021-06-30-reference#createfeed
        """
        marketplaces = self._marketplaces_for_call("createFeed", marketplace_ids)
        extra: dict[str, Any] = {"marketplaceIds": marketplaces}
        if feed_options:
            extra["feedOptions"] = dict(feed_options)
        feeds = self._feeds()
        response = self._call("createFeed", lambda: _expect(feeds.create_feed(feed_type, document_id, **extra), "feedId", str),
                              marketplace_ids=marketplaces)
        feed_id = response.payload["feedId"]
        self.log.info("createFeed %s for %s: feedId %s", feed_type, ",".join(marketplaces), feed_id)
        return feed_id

    def submit_feed(self, feed_type: str, content: bytes, *, marketplace_ids: Sequence[str] | None = None,
                    content_type: str = FEED_CONTENT_TYPE) -> str:
        """createFeedDocument + upload + createFeed; returns the feedId."""
        document = self.create_feed_document(content_type)
        self.upload_feed_document(document["url"], content, content_type)
        return self.create_feed(feed_type, document["feedDocumentId"], marketplace_ids=marketplace_ids)

    def get_feed(self, feed_id: str) -> dict:
        """Feed details (``getFeed``): processingStatus and, when done, resultFeedDocumentId."""
        feeds = self._feeds()
        return self._call("getFeed", lambda: _expect(feeds.get_feed(feed_id), "processingStatus", str)).payload

    def get_feed_document(self, document_id: str) -> dict:
        """Where to download a feed document (``getFeedDocument``): url (valid 5 minutes), compressionAlgorithm."""
        feeds = self._feeds()
        return self._call("getFeedDocument", lambda: _expect(
            feeds._request(f"/feeds/2021-06-30/documents/{document_id}", params={"method": "GET"}, add_marketplace=False),
            "url", str)).payload

    def download_feed_document(self, document_id: str) -> str:
        """The decoded text of a feed document (a processing report), gunzipped when Amazon compressed it."""
        import httpx

        for renewal in range(2):
            meta = self.get_feed_document(document_id)

            def fetch(url: str = meta["url"]) -> httpx.Response:
                response = httpx.get(url, timeout=self.timeout)
                if response.status_code >= 500:
                    raise httpx.HTTPStatusError(f"feed document download HTTP {response.status_code}", request=response.request,
                                                response=response)
                return response

            response = self._call("downloadFeedDocument", lambda f=fetch: _retry_http_status(f))
            if response.status_code == 403 and renewal == 0:
                continue
            if response.status_code != 200:
                raise SellingPartnerError(f"downloading feed document {document_id} failed: HTTP {response.status_code}: "
                                          f"{response.text[:500]}")
            return decode_document(response.content, compression=meta.get("compressionAlgorithm"),
                                   content_type=response.headers.get("content-type"), document_id=document_id)
        raise SellingPartnerError(f"feed document {document_id}: the presigned URL was refused twice")  # pragma: no cover

    def feed_processing_report(self, feed: dict) -> dict | None:
        """The processing report of a finished feed, parsed (JSON feeds), or None when Amazon wrote none.

        A report that is not JSON is an unreadable answer: raised, never read as "no issues"."""
        import json

        document_id = feed.get("resultFeedDocumentId")
        if not document_id:
            return None
        text = self.download_feed_document(document_id)
        try:
            report = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SellingPartnerError(f"the processing report of feed {feed.get('feedId')} is not JSON ({exc}); "
                                      "the task retry downloads it again") from exc
        if not isinstance(report, dict) or not isinstance(report.get("summary"), dict):
            raise SellingPartnerError(f"the processing report of feed {feed.get('feedId')} has no summary: "
                                      "not Amazon's processing-report shape; the task retry downloads it again")
        return report

    # -- Listings Items 2021-08-01 -------------------------------------------------------------------
    def _listings(self) -> Any:
        from sp_api.api.listings_items.listings_items_2021_08_01 import ListingsItemsV20210801

        return self._client(ListingsItemsV20210801)

    def get_listings_item(self, sku: str, *, marketplace_ids: Sequence[str] | None = None,
                          included_data: Sequence[str] = ("summaries", "fulfillmentAvailability")) -> dict | None:
        """One listing (``getListingsItem``), or None when the SKU has no listing (404).

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference#getlistingsitem
        """
        marketplaces = self._marketplaces_for_call("getListingsItem", marketplace_ids)
        listings = self._listings()
        try:
            return self._call("getListingsItem", lambda: _expect(listings.get_listings_item(
                self.config.seller_id, sku, marketplaceIds=",".join(marketplaces), includedData=",".join(included_data)),
                "sku", str), marketplace_ids=marketplaces).payload
        except SellingPartnerApiError as exc:
            if exc.status == 404:
                return None
            raise

    def patch_listings_item(self, sku: str, product_type: str, patches: Sequence[dict], *,
                            marketplace_ids: Sequence[str] | None = None, validation_preview: bool = False) -> dict:
        """Patch one listing (``patchListingsItem``); returns Amazon's submission (status ACCEPTED or INVALID, issues).

        ``validation_preview``: ``mode=VALIDATION_PREVIEW``, Amazon validates and stores nothing (status
        VALID or INVALID); that mode has its own usage plan, 1 request per second.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference#patchlistingsitem
        """
        operation = "patchListingsItemPreview" if validation_preview else "patchListingsItem"
        marketplaces = self._marketplaces_for_call("patchListingsItem", marketplace_ids)
        listings = self._listings()
        body = json_numbers({"productType": product_type, "patches": [dict(p) for p in patches]})
        params: dict[str, Any] = {"marketplaceIds": ",".join(marketplaces)}
        if validation_preview:
            params["mode"] = "VALIDATION_PREVIEW"
        return self._call(operation, lambda: _expect_submission(listings.patch_listings_item(
            self.config.seller_id, sku, body=body, **params)), marketplace_ids=marketplaces).payload

    def delete_listings_item(self, sku: str, *, marketplace_ids: Sequence[str] | None = None) -> dict:
        """Delete one listing from these marketplaces (``deleteListingsItem``); returns Amazon's submission
        (status ACCEPTED or INVALID, issues).

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference#deletelistingsitem
        """
        from sp_api.base import fill_query_params

        marketplaces = self._marketplaces_for_call("deleteListingsItem", marketplace_ids)
        listings = self._listings()
        # python-amazon-sp-api's delete_listings_item sends its keyword arguments as a body, which a DELETE
        # drops, and then adds the CLIENT's default marketplace as the query: marketplaceIds would be
        # ignored and the listing deleted from another marketplace. The query is built here instead.
        path = fill_query_params("/listings/2021-08-01/items/{}/{}", self.config.seller_id, sku)
        params = {"marketplaceIds": ",".join(marketplaces), "method": "DELETE"}
        return self._call("deleteListingsItem", lambda: _expect_submission(listings._request(
            path, params=dict(params), add_marketplace=False)), marketplace_ids=marketplaces).payload

    def put_listings_item(self, sku: str, product_type: str, attributes: Mapping[str, Any], *,
                          marketplace_ids: Sequence[str] | None = None, requirements: str = "LISTING",
                          validation_preview: bool = False) -> dict:
        """Create or fully replace one listing (``putListingsItem``); returns Amazon's submission
        ``{"sku", "status": ACCEPTED|INVALID|VALID, "submissionId", "issues"}``.

        An invalid listing is answered HTTP 200 with status INVALID and its issues (nothing is created):
        the caller reads ``status``, never only the HTTP code. ``validation_preview`` asks
        ``mode=VALIDATION_PREVIEW`` (status VALID or INVALID, nothing stored; 1 request per second).
        Money may be ``Decimal``: it is written as a JSON number with the same digits.

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference#putlistingsitem
        """
        operation = "putListingsItemPreview" if validation_preview else "putListingsItem"
        marketplaces = self._marketplaces_for_call("putListingsItem", marketplace_ids)
        listings = self._listings()
        body = json_numbers({"productType": product_type, "requirements": requirements, "attributes": dict(attributes)})
        params: dict[str, Any] = {"marketplaceIds": ",".join(marketplaces)}
        if validation_preview:
            params["mode"] = "VALIDATION_PREVIEW"
        return self._call(operation, lambda: _expect_submission(listings.put_listings_item(
            self.config.seller_id, sku, body=body, **params)), marketplace_ids=marketplaces).payload

    # -- FBA Inventory v1 ----------------------------------------------------------------------------
    def iter_inventory_summaries(self, marketplace_id: str, *, seller_skus: Sequence[str] | None = None) -> Iterator[dict]:
        """FBA inventory summaries of one marketplace (``getInventorySummaries``, details, every page).

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-reference#getinventorysummaries
        """
        from sp_api.api import Inventories

        self._marketplaces_for_call("getInventorySummaries", [marketplace_id])
        client = self._client(Inventories)
        query: dict[str, Any] = {"granularityType": "Marketplace", "granularityId": marketplace_id,
                                 "marketplaceIds": [marketplace_id], "details": "true"}
        if seller_skus:
            query["sellerSkus"] = list(seller_skus)
        pages = 0
        progress = _Progress(self, "getInventorySummaries", "summaries")
        seen = 0
        while True:
            response = self._call("getInventorySummaries", lambda q=dict(query): _expect_summaries(
                client.get_inventory_summary_marketplace(**q)), marketplace_ids=[marketplace_id])
            pages += 1
            summaries = response.payload["inventorySummaries"]
            seen += len(summaries)
            yield from summaries
            token = response.next_token
            if not token:
                return
            progress.page(pages, seen)
            query["nextToken"] = token

    # -- Tokens 2021-03-01 -------------------------------------------------------------------------
    def create_restricted_data_token(self, restricted_resources: Sequence[dict]) -> str:
        """A restricted data token for these resources (``createRestrictedDataToken``).

        .. seealso:: https://developer-docs.amazon.com/sp-api/docs/tokens-api-v2021-03-01-reference
        """
        from sp_api.api import Tokens

        tokens = self._client(Tokens)
        body = {"restrictedResources": [dict(r) for r in restricted_resources]}
        return self._call("createRestrictedDataToken",
                          lambda: _expect(tokens.create_restricted_data_token(**body), "restrictedDataToken", str)).payload[
            "restrictedDataToken"
        ]

    # -- Notifications API v1 (the setup CLI: amazon_netsuite.amazon.notifications) ------------------
    def _notifications(self) -> Any:
        from sp_api.api import Notifications

        return self._client(Notifications)

    def get_destinations(self) -> list[dict]:
        """``getDestinations`` (grantless): the app's destinations on this region's endpoint."""
        client = self._notifications()
        return self._call("getDestinations", lambda: _notification_payload(client.get_destinations(), list, "destinationId"))

    def create_destination(self, *, name: str, sqs_arn: str) -> dict:
        """``createDestination`` (grantless) for an SQS queue; returns the destination (``destinationId``)."""
        client = self._notifications()
        return self._call("createDestination", lambda: _notification_payload(client.create_destination(
            name=name, arn=sqs_arn), dict, "destinationId"))

    def get_subscription(self, notification_type: str) -> dict | None:
        """``getSubscription`` (seller authorization): the subscription, or None when there is none (404)."""
        client = self._notifications()
        try:
            return self._call("getSubscription", lambda: _notification_payload(client.get_subscription(notification_type),
                                                                                dict, "subscriptionId"))
        except SellingPartnerApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create_subscription(self, notification_type: str, *, destination_id: str, payload_version: str = "1.0") -> dict:
        """``createSubscription`` (seller authorization) of ``notification_type`` to a destination."""
        client = self._notifications()
        return self._call("createSubscription", lambda: _notification_payload(client.create_subscription(
            notification_type, destination_id=destination_id, payload_version=payload_version), dict, "subscriptionId"))

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: one cheap getReports call."""
        try:
            self.list_reports(["GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"], page_size=1,
                              created_since=datetime.now(UTC) - timedelta(days=1))
        except SellingPartnerError as exc:
            return False, str(exc)
        return True, "Connection to the Selling Partner API works"


def _expect_submission(response: Any) -> Any:
    """A listings submission answers ``{"sku", "status", "submissionId", "issues"}``: a status outside
    Amazon's enum or issues that are not a list is an unreadable answer (retried), never "accepted"."""
    payload = getattr(response, "payload", None)
    if not isinstance(payload, dict) or payload.get("status") not in ("ACCEPTED", "INVALID", "VALID") \
            or not isinstance(payload.get("issues", []), list):
        raise UnreadableResponseError(200, "the listings submission came back without a status "
                                      "(ACCEPTED, INVALID or VALID) and a list of issues")
    return response


def json_numbers(value: Any) -> Any:
    """Decimals as JSON numbers with the same digits (the client serialises with ``json``, which knows
    no Decimal; ``float(Decimal("19.99"))`` is written back as ``19.99``)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be written as a JSON number without changing it")
        return number
    if isinstance(value, Mapping):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers(v) for v in value]
    return value


def _expect_summaries(response: Any) -> Any:
    """getInventorySummaries answers ``{"payload": {"inventorySummaries": [...]}}``: anything else is unreadable."""
    payload = getattr(response, "payload", None)
    if not isinstance(payload, dict) or not isinstance(payload.get("inventorySummaries"), list):
        raise UnreadableResponseError(getattr(response, "status_code", None) if hasattr(response, "status_code") else None,
                                      "getInventorySummaries answered without payload.inventorySummaries")
    return response


def _retry_http_status(fetch: Callable[[], Any]) -> Any:
    """Let ``_call`` treat a 5xx from the document store like a network error."""
    import httpx

    try:
        return fetch()
    except httpx.HTTPStatusError as exc:
        raise httpx.TransportError(str(exc)) from exc


def _first(errors: list[dict] | None, key: str) -> str:
    return str((errors or [{}])[0].get(key) or "")


def _is_access_token_error(errors: list[dict] | None) -> bool:
    for error in errors or []:
        text = f"{error.get('message', '')} {error.get('details', '')}".lower()
        if error.get("code") == "Unauthorized" and "access token" in text:
            return True
    return False


def _is_region_refusal(errors: list[dict] | None) -> bool:
    """Amazon's 403 for a marketplace the endpoint's region does not serve."""
    return any(REGION_REFUSAL in str(e.get("details") or e.get("message") or "").lower() for e in errors or [])


def _is_pagination_token_error(exc: SellingPartnerApiError) -> bool:
    text = f"{exc.amazon_message or ''} {exc.details or ''}".lower()
    return exc.status == 400 and ("paginationtoken" in text or "pagination token" in text or "nexttoken" in text)


class _Progress:
    """Paging progress of one long read, logged at most every ``hook.progress_seconds`` or every
    ``hook.progress_pages`` pages: enough to see a 10,000-order backfill move, never a flood."""

    def __init__(self, hook: SellingPartnerHook, operation: str, unit: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.hook = hook
        self.operation = operation
        self.unit = unit
        self.clock = clock
        self.last_time = clock()
        self.last_pages = 0

    def page(self, pages: int, records: int) -> None:
        now = self.clock()
        if pages - self.last_pages < self.hook.progress_pages and now - self.last_time < self.hook.progress_seconds:
            return
        self.hook.log.info("%s: %s pages, %s %s so far (%s)", self.operation, f"{pages:,}", f"{records:,}", self.unit,
                           self.hook.sp_api_conn_id)
        self.last_time, self.last_pages = now, pages


# -- one hook per connection ------------------------------------------------------------------------


def _connection_howto(conn_id: str, region: str, marketplace_ids: Sequence[str]) -> str:
    return (f"add connection {conn_id} in Admin > Connections (type amazon_sp_api; login = LWA client id, password = "
            f"client secret; extra: refresh_token of the seller's authorization of the app in region {region}, "
            f"\"region\": \"{region}\", \"marketplace_ids\": {list(marketplace_ids)}) or as environment variable "
            f"{env_var(conn_id)}")


def hooks_for_targets(targets: Sequence[SpApiTarget], **hook_kwargs: Any) -> list[SellingPartnerHook]:
    """One hook per SP-API target of the mapping tables (``Mappings.sp_api_targets()``): a connection,
    its region and the mapped marketplaces it reads.

    Every connection is read up front: a missing or misconfigured one (for a region that has mapped
    marketplaces) raises one :class:`SellingPartnerConfigError` naming each connection to add or fix
    and how. A seller selling in one region configures only that region's connection.
    """
    from airflow.sdk.exceptions import AirflowNotFoundException

    hooks: list[SellingPartnerHook] = []
    problems: list[str] = []
    for target in targets:
        hook = SellingPartnerHook(target.conn_id, marketplace_ids=target.marketplace_ids, **hook_kwargs)
        try:
            config = hook.config
        except AirflowNotFoundException:
            named = ", ".join(describe(m) for m in target.marketplace_ids)
            problems.append(f"marketplaces.csv maps {named} (region {target.region}) to connection {target.conn_id}, "
                            f"which does not exist: {_connection_howto(target.conn_id, target.region, target.marketplace_ids)}")
            continue
        except SellingPartnerConfigError as exc:
            problems.append(str(exc))
            continue
        if config.region != target.region:
            problems.append(f"connection {target.conn_id} is for region {config.region} but marketplaces.csv uses it for "
                            f"region {target.region} marketplaces; use a connection of region {target.region}")
            continue
        hooks.append(hook)
    if problems:
        raise SellingPartnerConfigError(
            f"SP-API configuration ({len(problems)} problem(s)); each SP-API region needs its own connection, "
            "authorized in that region:\n" + "\n".join(f"  - {p}" for p in problems))
    return hooks


def conn_id_for_marketplaces(marketplace_ids: Sequence[str], mappings: Mappings | None = None) -> str:
    """The connection serving these marketplaces: the mapped row's (``sp_api_conn_id`` or
    ``amazon_sp_api_{region}``), else the default connection of the marketplace's region.

    For records that carry marketplace ids but no connection (a ledger entry, a report listing).
    """
    for mid in marketplace_ids:
        if mappings is not None and mid in mappings.marketplaces:
            return mappings.marketplaces[mid].sp_api_connection
        region = region_of(mid)
        if region:
            return default_conn_id(region)
    raise SellingPartnerConfigError(
        f"no SP-API region serves marketplaces {list(marketplace_ids)}: cannot tell which connection to use")
