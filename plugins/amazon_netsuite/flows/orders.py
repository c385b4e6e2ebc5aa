"""Flow ``amazon_orders_to_netsuite``: Amazon orders -> NetSuite customers + sales orders.

extract (SellingPartnerHook.iter_orders / get_order, one hook per SP-API connection: each region is
served and authorized separately) -> plan (transforms.orders, pure) -> customers
(match by externalId, then by e-mail; enrich the address book; create) -> sales orders (upsertList
by ``AMZ-SO-{orderId}``) -> ledger. The replay DAG re-runs failed orders through :func:`replay`.

Per-record failures (unknown SKU, missing mapping, totals that don't reconcile, NetSuite refusing a
record) are dead-lettered with the reason and never stop the batch. Whole-call failures (429
storms, 5xx, concurrency faults) are retried in the hooks and then by Airflow; because every write
is an upsert by externalId and the ledger is written after NetSuite answers, a retry never creates a
second record. Logs carry order ids and counts, never buyer data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.ledger.store import ledger_key
from amazon_netsuite.netsuite.records import customer_external_id, merge_addressbook
from amazon_netsuite.transforms.orders import Bounds, OrderPlan, OrderTransformError, plan_order

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger, LedgerRecord
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "amazon_orders_to_netsuite"
RECORD_TYPE = "salesOrder"
CUSTOMER = "customer"


@dataclass
class SyncResult:
    """Counts of one sync (ids and numbers only: safe for XCom and logs)."""

    counts: Counter = field(default_factory=Counter)
    failed_orders: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "failed_orders": self.failed_orders[:50]}


# ------------------------------------------------------------------------------------------ extract


@dataclass
class ExtractFailure:
    """One SP-API connection whose orders could not be read (ids and the error only: XCom-safe)."""

    conn_id: str
    region: str
    marketplace_ids: list[str]
    error: str

    def describe(self) -> str:
        return f"{self.conn_id} (region {self.region}: {', '.join(self.marketplace_ids)}): {self.error}"


def extract_orders(
    amazon: SellingPartnerHook,
    *,
    marketplace_ids: Sequence[str] | None = None,
    window: tuple[datetime, datetime] | None = None,
    order_ids: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Orders of one connection updated in the window (searchOrders, 100 a page; default: the hook's
    marketplaces), or exactly ``order_ids`` (getOrder).

    The same order can appear twice when Amazon updates it while the window is paged: the last
    version read wins.
    """
    if order_ids:
        orders, _missing = fetch_orders_by_id(amazon, order_ids)
    else:
        if window is None:
            raise ValueError("extract_orders needs a window or order_ids")
        start, end = window
        orders = list(
            amazon.iter_orders(
                last_updated_after=start, last_updated_before=end,
                marketplace_ids=list(marketplace_ids) if marketplace_ids else None,
            )
        )
    latest: dict[str, dict[str, Any]] = {}
    for order in orders:
        latest[order["orderId"]] = order
    log.info("Read %s order(s) from Amazon (%s distinct)", len(orders), len(latest))
    return list(latest.values())


def extract_orders_by_target(
    hooks: Sequence[SellingPartnerHook], *, window: tuple[datetime, datetime]
) -> tuple[list[dict[str, Any]], list[ExtractFailure]]:
    """The window's orders from every SP-API connection (one per region; see ``hooks_for_targets``).

    A connection that fails (5xx or throttling past the hook's retries, a refused authorization)
    does not stop the others: its orders are left out whole and it is returned as an
    :class:`ExtractFailure`, for the caller to write the rest and then fail loudly.
    """
    from amazon_netsuite.amazon.errors import SellingPartnerError

    orders: list[dict[str, Any]] = []
    failures: list[ExtractFailure] = []
    for hook in hooks:
        try:
            orders.extend(extract_orders(hook, window=window))
        except SellingPartnerError as exc:
            failure = ExtractFailure(hook.sp_api_conn_id, hook.region, hook.marketplace_ids, f"{type(exc).__name__}: {exc}")
            log.error("Orders of %s not read: %s", hook.sp_api_conn_id, failure.describe())
            failures.append(failure)
    return orders, failures


def failed_extracts_message(failures: Sequence[ExtractFailure], result: SyncResult) -> str:
    """What on-call reads when a region could not be read while the others were written."""
    written = {k: v for k, v in result.counts.items() if not k.startswith("failed:")}
    return (f"Amazon orders of {len(failures)} SP-API connection(s) could not be read; the other regions' orders were "
            f"processed ({written}). " + "; ".join(f.describe() for f in failures) +
            ". The task retry reads the window again (orders already written are skipped as unchanged); if it keeps "
            "failing, check the connection named above.")


def fetch_orders_by_id(
    amazon: SellingPartnerHook | Sequence[SellingPartnerHook],
    order_ids: Sequence[str],
    *,
    marketplace_of: Mapping[str, str] | None = None,
) -> tuple[list[dict], list[str]]:
    """getOrder for each id, on the connection of its marketplace (``marketplace_of``: order id ->
    marketplace id, e.g. from the ledger), else on each connection in turn (an order of another
    region is unknown there: 404). Ids no connection knows are returned apart, not raised."""
    from amazon_netsuite.amazon.errors import SellingPartnerApiError

    hooks = list(amazon) if isinstance(amazon, Sequence) else [amazon]
    marketplace_of = marketplace_of or {}
    orders, missing = [], []
    for order_id in dict.fromkeys(order_ids):
        marketplace = marketplace_of.get(order_id)
        owners = [h for h in hooks if marketplace in h.marketplace_ids] if marketplace else []
        found = None
        for hook in owners or hooks:
            try:
                found = hook.get_order(order_id)
                break
            except SellingPartnerApiError as exc:
                if exc.status != 404:
                    raise
        if found is None:
            missing.append(order_id)
        else:
            orders.append(found)
    return orders, missing


# ------------------------------------------------------------------------------------------ DAG tasks


def extract_region(
    amazon: SellingPartnerHook,
    *,
    run_id: str,
    window: tuple[datetime, datetime] | None = None,
    order_ids: Sequence[str] = (),
    advance_to: datetime | None = None,
) -> dict[str, Any]:
    """The extract task of one SP-API connection: read its orders (the window, or ``order_ids``),
    stage them encrypted, and return what the load task needs: the staged path, counts and ids only.

    ``advance_to`` is the window end the high-water mark moves to once the load succeeds (None when
    the window must not move it: an explicit re-sync of an old period)."""
    missing: list[str] = []
    if order_ids:
        orders, missing = fetch_orders_by_id(amazon, order_ids)
    else:
        orders = extract_orders(amazon, window=window)
    return _staged(amazon, orders, missing, run_id=run_id, window=window, advance_to=advance_to)


def extract_notified(amazon: SellingPartnerHook, *, run_id: str, order_ids: Sequence[str]) -> dict[str, Any]:
    """The extract task of a run the ORDER_CHANGE notifications triggered: the orders they name in this
    region, each read as it is now (getOrder: Orders v2026-01-01 has no search by order ids, and
    searchOrders cannot see an order updated in the last two minutes), staged like any extract. No
    window, so the region's synced point does not move: the polling runs keep their own. An empty list
    stages nothing to write."""
    orders, missing = fetch_orders_by_id(amazon, order_ids) if order_ids else ([], [])
    return _staged(amazon, orders, missing, run_id=run_id, notified_order_ids=list(order_ids))


def _staged(
    amazon: SellingPartnerHook,
    orders: list[dict[str, Any]],
    missing: list[str],
    *,
    run_id: str,
    window: tuple[datetime, datetime] | None = None,
    advance_to: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Stage an extract task's ``orders`` encrypted and say what the load task needs: the staged path,
    the region, counts and ids only (``extra`` adds what one kind of extract alone reports)."""
    from amazon_netsuite import staging

    uri = staging.stage(orders, dag_id=DAG_ID, run_id=run_id, name=amazon.sp_api_conn_id)
    return {
        "conn_id": amazon.sp_api_conn_id,
        "region": amazon.region,
        "marketplace_ids": list(amazon.marketplace_ids),
        "uri": uri,
        "orders": len(orders),
        "missing_order_ids": missing,
        **extra,
        "window": [window[0].isoformat(), window[1].isoformat()] if window else None,
        "advance_to": advance_to.isoformat() if advance_to else None,
    }


def load_region(
    extracted: Mapping[str, Any],
    *,
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    run_id: str,
    dry_run: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """The load task of one SP-API connection: the staged orders to NetSuite, then the region's
    high-water mark moves to the window's end. A NetSuite outage raises here: the staged file stays, so
    Airflow's retry of this task writes them without reading Amazon again."""
    from amazon_netsuite import staging

    orders = staging.load(extracted["uri"])
    result = sync_orders(orders, mappings=mappings, netsuite=netsuite, ledger=ledger, run_id=run_id,
                         dry_run=dry_run, force=force)
    if extracted.get("advance_to") and not dry_run:
        mark = ledger.advance_watermark(DAG_ID, extracted["conn_id"], datetime.fromisoformat(extracted["advance_to"]),
                                        run_id=run_id)
        log.info("%s: orders synced up to %s", extracted["conn_id"], mark.isoformat() if mark else "-")
    staging.discard(extracted["uri"])
    return {**result.as_dict(), "conn_id": extracted["conn_id"], "region": extracted.get("region"),
            "orders_read": extracted.get("orders", 0), "missing_order_ids": list(extracted.get("missing_order_ids") or [])}


def record_not_found(loaded: Sequence[Mapping[str, Any]], *, ledger: Ledger, run_id: str, dry_run: bool = False,
                     any_region: bool = False) -> list[str]:
    """``order_ids`` no region's connection knows (getOrder 404 everywhere): dead-lettered ``not_found``.
    ``any_region``: ids each asked of one region only (a notification names its marketplace), so a 404
    there is enough."""
    sets = [set(item.get("missing_order_ids") or []) for item in loaded]
    if any_region:
        missing = sorted(set.union(*sets)) if sets else []
    else:
        missing = sorted(set.intersection(*sets)) if sets else []
    for order_id in missing:
        if not dry_run:
            ledger.record_failed(
                dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=order_id, reason="not_found",
                error=f"Amazon order {order_id} was not found (getOrder: 404 on every region's connection); check the id",
                run_id=run_id, replay={"order_id": order_id},
            )
    return missing


# ------------------------------------------------------------------------------------------ sync


def order_bounds() -> Bounds:
    """The plausibility bounds of ``[amazon_netsuite]`` (``max_quantity_per_item``, ``max_order_total``)."""
    from amazon_netsuite.notifiers import setting

    defaults = Bounds()
    try:
        return Bounds(
            max_quantity_per_item=int(setting("max_quantity_per_item", str(defaults.max_quantity_per_item))),
            max_order_total=Decimal(setting("max_order_total", str(defaults.max_order_total))),
        )
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(f"[amazon_netsuite] max_quantity_per_item / max_order_total must be numbers: {exc}") from None


def _fail(ledger: Ledger, run_id: str, order_id: str, *, reason: str, error: str,
          replay: Mapping[str, str], dry_run: bool, result: SyncResult) -> None:
    result.counts["failed"] += 1
    result.counts[f"failed:{reason}"] += 1
    result.failed_orders.append(order_id)
    log.warning("Order %s not synced (%s): %s", order_id, reason, error)
    if not dry_run:
        ledger.record_failed(
            dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=order_id, error=error, reason=reason,
            run_id=run_id, replay=dict(replay), external_id=f"AMZ-SO-{order_id}",
        )


def sync_orders(
    orders: Iterable[Mapping[str, Any]],
    *,
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    run_id: str,
    dry_run: bool = False,
    force: bool = False,
    bounds: Bounds | None = None,
) -> SyncResult:
    """Plan, match customers, upsert sales orders, and record every outcome in the ledger.

    ``force`` re-writes orders whose content hash is unchanged (replay, explicit ``order_ids``).
    ``dry_run`` computes everything and writes nothing (neither NetSuite nor the ledger).
    ``bounds``: what a plausible order is (default: ``[amazon_netsuite]`` settings, see :func:`order_bounds`).
    """
    result = SyncResult()
    plans: list[OrderPlan] = []
    bounds = bounds or order_bounds()
    auto_numbering = bool(getattr(netsuite, "customer_auto_numbering", False))
    for order in orders:
        order_id = str((order.get("orderId") if isinstance(order, Mapping) else None) or "?")
        marketplace_id = ((order.get("salesChannel") or {}).get("marketplaceId") or "") if isinstance(order, Mapping) else ""
        try:
            plan = plan_order(order, mappings, bounds=bounds, auto_numbering=auto_numbering)
        except OrderTransformError as exc:
            _fail(ledger, run_id, order_id, reason=exc.reason, error=str(exc),
                  replay={"order_id": order_id, "marketplace_id": marketplace_id}, dry_run=dry_run, result=result)
            continue
        except Exception as exc:  # noqa: BLE001 - one order's surprise never stops the batch
            log.exception("Order %s: unexpected error while planning it", order_id)
            _fail(ledger, run_id, order_id, reason="transform_error",
                  error=f"Amazon order {order_id} could not be transformed ({type(exc).__name__}: {exc}); this is a "
                        "bug or an Amazon answer the transform does not know: report it with the order id",
                  replay={"order_id": order_id, "marketplace_id": marketplace_id}, dry_run=dry_run, result=result)
            continue
        plans.append(plan)
        if plan.customer is not None and plan.customer.fallback:
            result.counts["customer_fallback"] += 1
        if plan.tax_booked_as_line:
            result.counts["tax_booked_as_line"] += 1

    upserts = [p for p in plans if p.action == "upsert"]
    closes = [p for p in plans if p.action == "close"]
    for plan in plans:
        if plan.action == "wait":
            result.counts["waiting_at_amazon"] += 1
        elif plan.action == "skip":
            result.counts["skipped"] += 1
            if not dry_run:
                ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=plan.order_id,
                                      reason=plan.reason or "skipped", detail=plan.detail, run_id=run_id,
                                      external_id=plan.external_id)

    if not force and upserts:
        unchanged = ledger.unchanged(DAG_ID, RECORD_TYPE, {p.order_id: p.content_hash for p in upserts})
        if unchanged:
            result.counts["unchanged"] += len(unchanged)
            upserts = [p for p in upserts if p.order_id not in unchanged]

    if dry_run:
        result.counts["would_upsert"] += len(upserts)
        result.counts["would_close"] += len(closes)
        result.counts["would_create_or_enrich_customers"] += len(
            {p.customer.external_id for p in upserts if p.customer and not p.customer.is_generic}
        )
        log.info("Dry run: %s", dict(result.counts))
        return result

    entity_overrides: dict[str, str] = {}
    if upserts:
        from amazon_netsuite.netsuite.errors import NetSuiteError

        try:
            if any(p.customer and not p.customer.is_generic for p in upserts):
                adopted = adopt_customers(netsuite=netsuite, ledger=ledger, mappings=mappings)
                result.counts["customers_adopted"] += adopted.get("customers_adopted", 0)
            upserts, entity_overrides = _sync_customers(upserts, netsuite=netsuite, ledger=ledger, run_id=run_id,
                                                        result=result)
        except NetSuiteError as exc:
            for plan in upserts:  # nothing of these orders was written: dead-letter them, then retry the task
                _fail(ledger, run_id, plan.order_id, reason=exc.reason,
                      error=f"customers could not be written: {exc}", replay=plan.replay, dry_run=False,
                      result=result)
            raise
    if upserts:
        _upsert_sales_orders(upserts, netsuite=netsuite, ledger=ledger, run_id=run_id, result=result,
                             entity_overrides=entity_overrides)
    if closes:
        from amazon_netsuite.netsuite.errors import NetSuiteError

        try:
            _close_sales_orders(closes, netsuite=netsuite, ledger=ledger, run_id=run_id, result=result)
        except NetSuiteError as exc:
            # the lines may still be open in NetSuite: the ledger must not keep saying "synced"
            done = ledger.get_many(ledger_key(DAG_ID, RECORD_TYPE, p.order_id) for p in closes)
            for plan in closes:
                record = done.get(ledger_key(DAG_ID, RECORD_TYPE, plan.order_id))
                if record is not None and record.run_id == run_id and record.status == "skipped":
                    continue  # closed (or found closed) by this run before the failure
                _fail(ledger, run_id, plan.order_id, reason=exc.reason,
                      error=f"cancelled at Amazon, but its sales order lines could not be closed: {exc}",
                      replay=plan.replay, dry_run=False, result=result)
            raise
    log.info("Orders sync: %s", dict(result.counts))
    return result


# ------------------------------------------------------------------------------------------ customers


def _merged_address_book(book: list[dict[str, Any]], group: list[OrderPlan], *, residential: bool) -> list[dict]:
    """``book`` plus every distinct shipping address of the buyer's orders in this batch (oldest
    first, so the newest is the default shipping address); addresses already there are not added."""
    for plan in group:
        if plan.customer and plan.customer.address is not None:
            book = merge_addressbook(book, plan.customer.address, default_shipping=True, is_residential=residential)
    return book


def _sync_customers(plans: list[OrderPlan], *, netsuite: NetSuiteHook, ledger: Ledger, run_id: str,
                    result: SyncResult) -> tuple[list[OrderPlan], dict[str, str]]:
    """Match, enrich or create the buyers' customers; returns the plans whose customer is ready.

    One customer per buyer and marketplace, even when a batch holds several of their orders: plans
    are grouped by the customer's externalId and the customer is written once, with the newest
    address. Matching costs a few calls per batch, never one per buyer: the ledger's customer index
    (filled by every write and by :func:`adopt_customers`) is verified with one ``getList`` by
    internalId (a customer deleted in NetSuite is forgotten and recreated, never referenced); buyers not
    in the index are looked up with one ``getList`` by externalId; the rest are created.
    """
    by_customer: dict[str, list[OrderPlan]] = {}
    for plan in plans:
        if plan.customer and not plan.customer.is_generic:
            by_customer.setdefault(plan.customer.external_id, []).append(plan)
    if not by_customer:
        return plans, {}

    existing: dict[str, dict[str, Any]] = {}
    indexed = ledger.customers(by_customer)
    if indexed:
        records = netsuite.get_records(CUSTOMER, list(indexed.values()), by="internalId")
        gone = [key for key, internal_id in indexed.items() if internal_id not in records]
        if gone:
            log.warning("%s indexed customer(s) no longer exist in NetSuite: they are created again", len(gone))
            result.counts["customers_recreated"] += len(gone)
            ledger.forget_customers(gone)
        existing.update({key: records[iid] for key, iid in indexed.items() if iid in records})
    misses = [key for key in by_customer if key not in existing]
    if misses:
        found = netsuite.get_records(CUSTOMER, misses, by="externalId")
        if found:
            ledger.index_customers({k: str(r["internalId"]) for k, r in found.items()}, source="found",
                                   marketplace_ids={k: by_customer[k][0].marketplace_id for k in found})
        existing.update(found)
    writes: dict[str, dict[str, Any]] = {}
    entity_overrides: dict[str, str] = {}
    for external_id, group in by_customer.items():
        customer = group[0].customer
        record = existing.get(external_id)
        if record is None:
            new = dict(customer.record)
            book = list(new.get("addressbookList") or [])
            new["addressbookList"] = _merged_address_book(book, group[1:], residential=bool(new.get("isPerson")))
            writes[external_id] = new
            continue
        book = list(record.get("addressbookList") or [])
        merged = _merged_address_book(book, group, residential=bool(record.get("isPerson", True)))
        update: dict[str, Any] | None = None
        if len(merged) != len(book):
            update = {"internalId": record["internalId"], "externalId": external_id, "addressbookList": merged}
        if not record.get("externalId"):
            # claim an adopted customer (made by hand, no externalId) so it is ours by externalId too
            update = update or {"internalId": record["internalId"], "externalId": external_id}
        elif record.get("externalId") != external_id:
            # another integration's customer: use it by internalId, never take over its externalId
            entity_overrides[external_id] = str(record["internalId"])
            if update is not None:
                update.pop("externalId", None)
        if update is not None:
            writes[external_id] = update
        else:
            result.counts["customers_unchanged"] += 1

    failed_customers: dict[str, str] = {}
    creates = {k: v for k, v in writes.items() if "internalId" not in v}
    updates = {k: v for k, v in writes.items() if "internalId" in v}
    if creates:
        created: dict[str, str] = {}
        for res in netsuite.upsert_records(CUSTOMER, list(creates.values())):
            if res.ok:
                result.counts["customers_created"] += 1
                created[res.external_id] = str(res.internal_id)
            else:
                failed_customers[res.external_id] = res.describe()
        ledger.index_customers(created, source="created",
                               marketplace_ids={k: by_customer[k][0].marketplace_id for k in created if k in by_customer})
    if updates:
        for external_id, res in zip(updates, netsuite.update_records(CUSTOMER, list(updates.values())), strict=True):
            if res.ok:
                result.counts["customers_enriched"] += 1
            else:
                failed_customers[external_id] = res.describe()

    # Sales orders reference their customer by externalId: it exists now (found, claimed or created).
    ready: list[OrderPlan] = []
    for plan in plans:
        customer_id = plan.customer.external_id if plan.customer else None
        if customer_id in failed_customers:
            _fail(ledger, run_id, plan.order_id, reason="customer_error",
                  error=f"customer {customer_id} could not be written: {failed_customers[customer_id]}",
                  replay=plan.replay, dry_run=False, result=result)
            continue
        ready.append(plan)
    return ready, entity_overrides


# ------------------------------------------------------------------------------------------ sales orders


def _upsert_sales_orders(plans: list[OrderPlan], *, netsuite: NetSuiteHook, ledger: Ledger, run_id: str,
                         result: SyncResult, entity_overrides: Mapping[str, str] | None = None) -> None:
    from amazon_netsuite.netsuite.errors import NetSuiteBatchError

    records = []
    for plan in plans:
        record = plan.record
        override = (entity_overrides or {}).get(plan.customer.external_id if plan.customer else "")
        if override:
            record = {**record, "entity": {"internalId": override}}
        records.append(record)
    try:
        results = netsuite.upsert_records(RECORD_TYPE, records)
    except NetSuiteBatchError as exc:
        # NetSuite stayed unavailable past the hook's retries: record what it answered, dead-letter
        # the rest for replay, then fail the task so Airflow retries the window too.
        reason = exc.reason
        answered = {r.external_id: r for r in exc.completed}
        for plan in plans:
            res = answered.get(plan.external_id)
            if res is not None and res.ok:
                ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=plan.order_id,
                                     external_id=plan.external_id, internal_id=res.internal_id, run_id=run_id,
                                     content_hash=plan.content_hash, replay=plan.replay)
            else:
                _fail(ledger, run_id, plan.order_id, reason="netsuite_error" if res is not None else reason,
                      error=res.describe() if res is not None else f"not written: {exc}",
                      replay=plan.replay, dry_run=False, result=result)
        raise
    for plan, res in zip(plans, results, strict=True):
        if res.ok:
            result.counts["synced"] += 1
            ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=plan.order_id,
                                 external_id=plan.external_id, internal_id=res.internal_id, run_id=run_id,
                                 content_hash=plan.content_hash, replay=plan.replay)
        else:
            _fail(ledger, run_id, plan.order_id, reason="netsuite_error", error=res.describe(),
                  replay=plan.replay, dry_run=False, result=result)


def _close_sales_orders(plans: list[OrderPlan], *, netsuite: NetSuiteHook, ledger: Ledger, run_id: str,
                        result: SyncResult) -> None:
    """SOAP has no cancel: close the lines of sales orders that exist; create nothing."""
    existing = netsuite.get_records(RECORD_TYPE, [p.external_id for p in plans], by="externalId")
    to_close: list[OrderPlan] = []
    for plan in plans:
        order = existing.get(plan.external_id)
        if order is None:
            result.counts["cancelled_before_sync"] += 1
            ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=plan.order_id,
                                  reason="cancelled", detail="cancelled at Amazon before it was synced",
                                  run_id=run_id, external_id=plan.external_id)
            continue
        open_lines = [line for line in order.get("itemList") or [] if not line.get("isClosed")]
        if not open_lines:
            result.counts["already_closed"] += 1
            ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=plan.order_id,
                                  reason="cancelled", detail="cancelled at Amazon; sales order lines closed",
                                  run_id=run_id, external_id=plan.external_id)
            continue
        to_close.append(plan)
    if not to_close:
        return
    records = []
    for plan in to_close:
        lines = existing[plan.external_id].get("itemList") or []
        records.append({"externalId": plan.external_id,
                        "itemList": [{"line": line["line"], "isClosed": True} for line in lines]})
    for plan, res in zip(to_close, netsuite.upsert_records(RECORD_TYPE, records), strict=True):
        if res.ok:
            result.counts["closed"] += 1
            ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=plan.order_id,
                                  reason="cancelled", detail=f"cancelled at Amazon; lines of {res.internal_id} closed",
                                  run_id=run_id, external_id=plan.external_id)
        else:
            _fail(ledger, run_id, plan.order_id, reason="netsuite_error", error=res.describe(),
                  replay=plan.replay, dry_run=False, result=result)


# ------------------------------------------------------------------------------------------ adoption

#: Amazon's anonymised buyer e-mails end in @marketplace.amazon.<domain>
RELAY_EMAIL_MARKER = "@marketplace.amazon."


ADOPTION_SCOPE = "netsuite_customers"
ADOPTION_DAG_ID = "customer_adoption"
#: NetSuite's lastModifiedDate search is by the minute and clocks differ: re-read a little
ADOPTION_OVERLAP = dt.timedelta(minutes=10)


def adopt_customers(*, netsuite: NetSuiteHook, ledger: Ledger, mappings: Mappings, full: bool = False,
                    now: dt.datetime | None = None) -> dict[str, int]:
    """Index the customers that NetSuite holds for Amazon buyers but the flow did not create (made by
    hand, by an earlier connector, by a CSV import), so orders use them instead of duplicating them.

    One paged search (1,000 a page) through customers whose e-mail is an Amazon relay address, instead of
    one search per new buyer; after the first (full) pass only customers modified since the last one are
    read (a high-water mark in the ledger), so every sync run checks for customers made elsewhere for the
    price of one search. A customer is indexed for each ``per_buyer`` marketplace of its subsidiary; an
    entry the flow made itself is kept. ``full`` re-reads every relay customer (orders DAG param
    ``adopt_customers``).
    """
    started = now or dt.datetime.now(dt.UTC)
    since = None if full else ledger.watermark(ADOPTION_DAG_ID, ADOPTION_SCOPE)
    per_subsidiary: dict[str, list[str]] = {}
    for marketplace in mappings.marketplaces.values():
        if marketplace.customer_mode == "per_buyer":
            per_subsidiary.setdefault(marketplace.subsidiary_id, []).append(marketplace.marketplace_id)
    counts: Counter = Counter()
    if not per_subsidiary:
        return {}
    batch: dict[str, str] = {}
    batch_marketplaces: dict[str, str] = {}
    records = netsuite.iter_customers_by_email(
        operator="contains", value=RELAY_EMAIL_MARKER,
        modified_after=since - ADOPTION_OVERLAP if since is not None else None,
    )
    for record in records:
        counts["customers_seen"] += 1
        email = str(record.get("email") or "").strip()
        subsidiary = str((record.get("subsidiary") or {}).get("internalId") or "")
        if record.get("isInactive") or RELAY_EMAIL_MARKER not in email.lower():
            counts["customers_ignored"] += 1
            continue
        for marketplace_id in per_subsidiary.get(subsidiary, []):
            key = customer_external_id(marketplace_id, email)
            batch[key] = str(record["internalId"])
            batch_marketplaces[key] = marketplace_id
    known = ledger.customers(batch)
    new = {k: v for k, v in batch.items() if k not in known}
    counts["customers_adopted"] = ledger.index_customers(new, source="adopted", marketplace_ids=batch_marketplaces)
    ledger.advance_watermark(ADOPTION_DAG_ID, ADOPTION_SCOPE, started, run_id=None)
    if counts["customers_adopted"]:
        log.info("Customer adoption (%s): %s", "full" if since is None else f"since {since.isoformat()}", dict(counts))
    return dict(counts)


# ------------------------------------------------------------------------------------------ replay


def replay(records: Sequence[LedgerRecord], *, ledger: Ledger, run_id: str) -> None:
    """Re-read each failed order from Amazon (getOrder on its marketplace's connection) and run it
    through :func:`sync_orders`."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    mappings = load_mappings()
    amazon = hooks_for_targets(mappings.sp_api_targets())
    order_ids = [(r.replay or {}).get("order_id") or r.source_key for r in records]
    marketplace_of = {(r.replay or {}).get("order_id") or r.source_key: (r.replay or {}).get("marketplace_id")
                      for r in records if (r.replay or {}).get("marketplace_id")}
    orders, missing = fetch_orders_by_id(amazon, order_ids, marketplace_of=marketplace_of)
    for order_id in missing:
        ledger.record_skipped(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=order_id, reason="source_deleted",
                              detail="Amazon no longer knows this order (getOrder: 404)", run_id=run_id)
    sync_orders(orders, mappings=mappings, netsuite=NetSuiteHook(), ledger=ledger, run_id=run_id, force=True)
