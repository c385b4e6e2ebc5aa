"""Flow ``amazon_returns_to_netsuite``: Amazon refunds and returned units -> NetSuite returns documents.

extract (per SP-API region): the Finances API refund events of a rolling look-back
(``SellingPartnerHook.iter_refund_events``; Amazon omits the last 48 hours and releases some events late,
so every run reads the last ``lookback_days`` again) and the rows of the FBA customer returns report
(``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA``, requested by the deferrable report operator), staged
encrypted. load (NetSuite), per refund adjustment (:mod:`amazon_netsuite.transforms.returns`):

1. the sales order ``AMZ-SO-{orderId}``; what NetSuite lets us return is initialized from it
   (``initialize`` returnAuthorization <- salesOrder: the billed units not returned yet);
2. a return authorization ``AMZ-RA-{orderId}-{key}`` created from it for the refunded units;
3. its credit memo ``AMZ-CM-...`` (invoice marketplaces, applied to the order's open invoices, its billing
   documents ``AMZ-INV-...`` found by ``createdFrom``) or cash refund ``AMZ-CR-...`` (cash_sale
   marketplaces), initialized from the return authorization, for exactly what Amazon refunded;
4. the ledger: synced; an order not in NetSuite or not billed yet is **pending** and tried again by the
   next runs (the look-back keeps reading the event) until it is older than ``max_wait_days``, then
   dead-lettered with the reason.

Returned units (report rows): the order's return authorizations (``createdFrom`` search), an item
receipt ``AMZ-IR-{orderId}-{licensePlate}`` initialized from the one with units of that item left to
receive, at the location ``return_dispositions.csv`` names for the disposition (``restock`` false for a
write-off: received, not back on hand). Seller-fulfilled returns come from the MFN returns report
(``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE``): a row is received once its ``Return delivery date`` is set,
keyed by Amazon's RMA id, with the disposition ``MFN_RETURNED`` (the report gives no condition). A return
whose refund is not booked yet waits the same way.

Idempotent: the ledger skips refunds and returns already synced without a NetSuite call; NetSuite is
searched by externalId before anything is written, documents are added (never upserted) and a
``DUP_RCRD`` answer counts as written. A partly written refund (return authorization without its
refund document) is completed by the next run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.ledger.store import ledger_key
from amazon_netsuite.mappings import MappingLookupError
from amazon_netsuite.netsuite.records import (
    BillingLine,
    ReceiptLine,
    build_item_receipt,
    build_refund_document,
    build_return_authorization,
    document_external_id,
    sales_order_external_id,
)
from amazon_netsuite.transforms.returns import (
    Refund,
    RefundError,
    RefundPlan,
    RefundSettings,
    ReturnedUnits,
    parse_refund_event,
    plan_refund,
    receipt_location,
)

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "amazon_returns_to_netsuite"
FBA_RETURNS_REPORT = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
DEFAULT_LOOKBACK_DAYS = 7
DEFAULT_MAX_WAIT_DAYS = 5
RETURN_RECORD_TYPE = "itemReceipt"
WAITING_REASONS = {"order_not_in_netsuite", "not_billed", "refund_not_booked"}


# ------------------------------------------------------------------------------------------ extract
def extract_refunds(amazon: SellingPartnerHook, *, run_id: str, lookback_days: int = DEFAULT_LOOKBACK_DAYS,
                    now: datetime | None = None) -> dict[str, Any]:
    """Read the region's refund events of the last ``lookback_days`` and stage them encrypted."""
    from amazon_netsuite import staging

    if lookback_days < 3:
        raise ValueError("lookback_days must be at least 3: Amazon omits the last 48 hours of financial events")
    now = now or datetime.now(UTC)
    start = now - timedelta(days=lookback_days)
    events = list(amazon.iter_refund_events(posted_after=start))
    uri = staging.stage(events, dag_id=DAG_ID, run_id=run_id, name=f"refunds-{amazon.sp_api_conn_id}")
    return {"conn_id": amazon.sp_api_conn_id, "region": amazon.region, "uri": uri, "events": len(events),
            "window": [start.isoformat(), now.isoformat()]}


def stage_returns_report(amazon: SellingPartnerHook, report: Mapping[str, Any] | None, *, run_id: str,
                         report_type: str = FBA_RETURNS_REPORT) -> tuple[str | None, int]:
    """Download the returns report the operator produced (None: no document, Amazon had no data) and stage
    its parsed rows: the FBA customer returns report, or the MFN returns report (only the returns delivered
    to the seller; the count of those still in transit is returned too). Returns (staged path, in transit)."""
    from amazon_netsuite import staging

    if not report or not report.get("reportDocumentId"):
        return None, 0
    parsed, in_transit = read_returns_report(amazon, report, report_type=report_type)
    rows = [_row_dict(row) for row in parsed]
    return staging.stage(rows, dag_id=DAG_ID, run_id=run_id, name=f"returns-{amazon.sp_api_conn_id}-{report_type}"), in_transit


def read_returns_report(amazon: SellingPartnerHook, report: Mapping[str, Any] | None, *,
                        report_type: str = FBA_RETURNS_REPORT) -> tuple[list[ReturnedUnits], int]:
    """The returned units of a returns report (none when Amazon produced no document), and for the MFN
    report the count of returns still in transit (not received yet, left out)."""
    from amazon_netsuite.transforms.returns import parse_fba_returns_report, parse_mfn_returns_report

    if not report or not report.get("reportDocumentId"):
        return [], 0
    text = amazon.download_report_document(report["reportDocumentId"], report_type=report_type)
    if report_type == MFN_RETURNS_REPORT:
        return parse_mfn_returns_report(text)
    return parse_fba_returns_report(text), 0


def _row_dict(row: ReturnedUnits) -> dict[str, Any]:
    return {**row.__dict__, "return_date": row.return_date.isoformat()}


def returns_report_requests(mappings: Mappings, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per marketplace (the reports' rows do not name it): the FBA customer returns report where the
    marketplace has an FBA location and AFN SKUs, and the MFN returns report where it has MFN SKUs."""
    channels: dict[str, set] = {"AFN": set(), "MFN": set()}
    for sku in mappings.sku_items:
        channels.setdefault(sku.fulfillment_channel, set()).add(sku.marketplace_id)
    out = []
    for marketplace in mappings.marketplaces.values():
        for channel, report_type in (("AFN", FBA_RETURNS_REPORT), ("MFN", MFN_RETURNS_REPORT)):
            sold = None in channels[channel] or marketplace.marketplace_id in channels[channel]
            if not sold or (channel == "AFN" and not marketplace.fba_location_id):
                continue
            out.append({"sp_api_conn_id": marketplace.sp_api_connection, "marketplace_ids": [marketplace.marketplace_id],
                        "report_type": report_type, "data_start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "data_end_time": end.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return out


# ------------------------------------------------------------------------------------------ load
@dataclass
class _Pending:
    refund: Refund
    record_type: str
    source_key: str
    marketplace: Any


def _age_reason(ledger: Ledger, *, record_type: str, source_key: str, reason: str, message: str, posted: datetime,
                run_id: str, now: datetime, max_wait: timedelta, external_id: str | None, counts: Counter,
                dry_run: bool) -> None:
    """Wait (pending) while the source is younger than ``max_wait``, then dead-letter with the reason."""
    if dry_run:
        counts[f"would_wait:{reason}"] += 1
        return
    if now - posted > max_wait:
        ledger.record_failed(dag_id=DAG_ID, record_type=record_type, source_key=source_key, run_id=run_id,
                             reason=reason, external_id=external_id,
                             error=f"{message}; waited more than {max_wait.days} days (max_wait_days)")
        counts["failed"] += 1
        counts[f"failed:{reason}"] += 1
    else:
        ledger.record_pending(dag_id=DAG_ID, record_type=record_type, source_key=source_key, run_id=run_id,
                              external_id=external_id)
        counts["pending"] += 1
        counts[f"pending:{reason}"] += 1


def _fail(ledger: Ledger, counts: Counter, *, record_type: str, source_key: str, reason: str, message: str,
          run_id: str, external_id: str | None = None, dry_run: bool = False) -> None:
    counts["failed"] += 1
    counts[f"failed:{reason}"] += 1
    if not dry_run:
        ledger.record_failed(dag_id=DAG_ID, record_type=record_type, source_key=source_key, run_id=run_id, reason=reason,
                             error=message, external_id=external_id)


def _sku_items(mappings: Mappings, skus: Sequence[str], marketplace_id: str) -> dict[str, tuple[str, int]]:
    """SKU -> (NetSuite item id, units per SKU) for this marketplace (its own row, else the every-marketplace row)."""
    out = {}
    for sku in skus:
        row = mappings.find_sku(sku, marketplace_id)
        if row is not None:
            out[sku] = (str(row.netsuite_item_id), int(row.units_per_sku))
    return out


def load_refunds(
    events: Sequence[Mapping[str, Any]],
    *,
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    run_id: str,
    max_wait_days: int = DEFAULT_MAX_WAIT_DAYS,
    dry_run: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Each refund event to its return authorization and credit memo / cash refund (module docstring)."""
    now = now or datetime.now(UTC)
    max_wait = timedelta(days=max_wait_days)
    counts: Counter = Counter()
    money: Counter = Counter()
    todo: dict[str, _Pending] = {}
    for event in events:
        try:
            refund = parse_refund_event(event)
        except RefundError as exc:
            key = f"{event.get('AmazonOrderId') or '?'}:{event.get('PostedDate') or '?'}"
            _fail(ledger, counts, record_type="refund", source_key=key, reason=exc.reason, message=exc.message,
                  run_id=run_id, dry_run=dry_run)
            continue
        try:
            marketplace = mappings.marketplace_by_name(refund.marketplace_name)
        except MappingLookupError as exc:
            _fail(ledger, counts, record_type="refund", source_key=f"{refund.amazon_order_id}:{refund.key}",
                  reason="unmapped_marketplace", message=str(exc), run_id=run_id, dry_run=dry_run)
            continue
        record_type = "cashRefund" if marketplace.billing_document == "cash_sale" else "creditMemo"
        source_key = f"{refund.amazon_order_id}:{refund.key}"
        if source_key in todo:
            counts["duplicate_event"] += 1  # the same adjustment twice in one read (overlapping pages)
            continue
        todo[source_key] = _Pending(refund, record_type, source_key, marketplace)
    counts["read"] = len(events)

    # already synced (an earlier run's look-back): no NetSuite call at all
    synced = ledger.get_many(ledger_key(DAG_ID, p.record_type, k) for k, p in todo.items())
    for key in [k for k, p in todo.items() if (r := synced.get(ledger_key(DAG_ID, p.record_type, k))) and r.status == "synced"]:
        del todo[key]
        counts["already_synced"] += 1
    if not todo:
        return {"counts": dict(counts), "refunded": {}}

    # documents NetSuite has already (a run that wrote them but not the ledger)
    doc_ids = {p.source_key: document_external_id(p.record_type, p.refund.amazon_order_id, p.refund.key) for p in todo.values()}
    ra_ids = {p.source_key: document_external_id("returnAuthorization", p.refund.amazon_order_id, p.refund.key) for p in todo.values()}
    existing: dict[str, dict[str, Any]] = {}
    for record_type in {p.record_type for p in todo.values()}:
        wanted = [doc_ids[p.source_key] for p in todo.values() if p.record_type == record_type]
        for found in netsuite.search_by_external_ids(record_type, wanted):
            existing[str(found.get("externalId")).lower()] = found
    for key in list(todo):
        found = existing.get(doc_ids[key].lower())
        if found is not None:
            pending = todo.pop(key)
            counts["exists"] += 1
            if not dry_run:
                ledger.record_synced(dag_id=DAG_ID, record_type=pending.record_type, source_key=key,
                                     external_id=doc_ids[key], internal_id=str(found["internalId"]), run_id=run_id)
    if not todo:
        return {"counts": dict(counts), "refunded": {}}

    # sales orders as NetSuite holds them (quantityBilled, tax rates)
    so_ids = sorted({sales_order_external_id(p.refund.amazon_order_id) for p in todo.values()})
    orders = netsuite.get_records("salesOrder", so_ids, by="externalId")
    plans: dict[str, RefundPlan] = {}
    for key, pending in list(todo.items()):
        order = orders.get(sales_order_external_id(pending.refund.amazon_order_id))
        if order is None:
            _age_reason(ledger, record_type=pending.record_type, source_key=key, reason="order_not_in_netsuite",
                        message=f"sales order {sales_order_external_id(pending.refund.amazon_order_id)} is not in NetSuite",
                        posted=pending.refund.posted, run_id=run_id, now=now, max_wait=max_wait,
                        external_id=doc_ids[key], counts=counts, dry_run=dry_run)
            del todo[key]
            continue
        try:
            sku_items = _sku_items(mappings, [i.seller_sku for i in pending.refund.items], pending.marketplace.marketplace_id)
            plans[key] = plan_refund(pending.refund, order, settings=RefundSettings.of(pending.marketplace), sku_items=sku_items)
        except RefundError as exc:
            del todo[key]
            if exc.reason == "not_billed":
                _age_reason(ledger, record_type=pending.record_type, source_key=key, reason="not_billed", message=exc.message,
                            posted=pending.refund.posted, run_id=run_id, now=now, max_wait=max_wait,
                            external_id=doc_ids[key], counts=counts, dry_run=dry_run)
            else:
                _fail(ledger, counts, record_type=pending.record_type, source_key=key, reason=exc.reason,
                      message=exc.message, run_id=run_id, external_id=doc_ids[key], dry_run=dry_run)
    if dry_run:
        counts["would_refund"] += len(plans)
        return {"counts": dict(counts), "refunded": {}}

    # 1. return authorizations (found, else created from the sales order)
    ras: dict[str, str] = {}
    for found in netsuite.search_by_external_ids("returnAuthorization", [ra_ids[k] for k in plans]):
        for key in plans:
            if ra_ids[key].lower() == str(found.get("externalId")).lower():
                ras[key] = str(found["internalId"])
    to_create = [k for k in plans if k not in ras]
    if to_create:
        templates = netsuite.initialize_records(
            "returnAuthorization", "salesOrder", sorted({str(orders[sales_order_external_id(plans[k].refund.amazon_order_id)]["internalId"]) for k in to_create}))
        records, keys = [], []
        for key in to_create:
            plan = plans[key]
            order = orders[sales_order_external_id(plan.refund.amazon_order_id)]
            template = templates.get(str(order["internalId"]))
            returnable = {int(line["orderLine"]): Decimal(str(line["quantity"])) for line in (template or {}).get("itemList") or []} \
                if isinstance(template, dict) else {}
            short = {n: q for n, q in plan.returned_units.items() if returnable.get(n, Decimal(0)) < q}
            if short:
                _fail(ledger, counts, record_type=todo[key].record_type, source_key=key, reason="already_returned",
                      message=f"NetSuite has fewer billed units left to return on order lines {sorted(short)} "
                              f"than refund {plan.refund.key} returns", run_id=run_id, external_id=plan.refund_external_id)
                continue
            lines = [BillingLine(item_id=line["item"], quantity=line["quantity"], amount=line["amount"],
                                 order_line=line["orderLine"], tax_code_id=line.get("taxCode"),
                                 description=line.get("description"))
                     for line in plan.lines if line.get("orderLine") is not None]
            records.append(build_return_authorization(
                external_id=plan.return_authorization_id, sales_order_id=order["internalId"], lines=lines,
                tran_date=plan.refund.posted, memo=f"Amazon refund {plan.refund.key} of order {plan.refund.amazon_order_id}"))
            keys.append(key)
        if records:
            for key, result in zip(keys, netsuite.add_records("returnAuthorization", records), strict=True):
                if result.ok:
                    ras[key] = str(result.internal_id)
                    counts["return_authorizations"] += 1
                elif result.error_code == "DUP_RCRD":
                    found = netsuite.search_by_external_ids("returnAuthorization", [ra_ids[key]])
                    if found:
                        ras[key] = str(found[0]["internalId"])
                if key not in ras:
                    _fail(ledger, counts, record_type=todo[key].record_type, source_key=key,
                          reason=result.error_code or "netsuite_error", message=result.error_message or "",
                          run_id=run_id, external_id=ra_ids[key])

    # 2. the refund documents, initialized from their return authorizations; a credit memo is applied to
    #    the order's open invoices (its billing documents), oldest first
    ready = [k for k in plans if k in ras]
    refunded: Counter = Counter()
    open_invoices: dict[str, list[list[Any]]] = {}
    credit_orders = sorted({str(orders[sales_order_external_id(plans[k].refund.amazon_order_id)]["internalId"])
                            for k in ready if plans[k].refund_record_type == "creditMemo"})
    if credit_orders:
        for invoice in sorted(netsuite.search_created_from("invoice", credit_orders), key=lambda r: int(r["internalId"])):
            remaining = Decimal(str(invoice.get("amountRemaining") or 0))
            if remaining > 0:
                open_invoices.setdefault(str((invoice.get("createdFrom") or {}).get("internalId")), []).append(
                    [str(invoice["internalId"]), remaining])
    if ready:
        templates = netsuite.initialize_records(plans[ready[0]].refund_record_type, "returnAuthorization", [ras[k] for k in ready]) \
            if len({plans[k].refund_record_type for k in ready}) == 1 else {}
        by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for key in ready:
            plan = plans[key]
            template = templates.get(ras[key]) if templates else netsuite.initialize_records(
                plan.refund_record_type, "returnAuthorization", [ras[key]]).get(ras[key])
            if not isinstance(template, dict):
                _fail(ledger, counts, record_type=plan.refund_record_type, source_key=key, reason="already_refunded",
                      message=f"return authorization {ra_ids[key]} has nothing left to credit: "
                              f"{getattr(template, 'error_message', '')}", run_id=run_id, external_id=plan.refund_external_id)
                continue
            ra_lines = [int(line["orderLine"]) for line in template.get("itemList") or []]
            item_lines = [line for line in plan.lines if line.get("orderLine") is not None]
            if len(ra_lines) < len(item_lines):
                _fail(ledger, counts, record_type=plan.refund_record_type, source_key=key, reason="already_refunded",
                      message=f"return authorization {ra_ids[key]} has {len(ra_lines)} lines left to credit, "
                              f"the refund {len(item_lines)}", run_id=run_id, external_id=plan.refund_external_id)
                continue
            lines, position = [], 0
            for line in plan.lines:
                order_line = None
                if line.get("orderLine") is not None:
                    order_line, position = ra_lines[position], position + 1
                lines.append(BillingLine(item_id=line["item"], quantity=line["quantity"], amount=line["amount"],
                                         order_line=order_line, tax_code_id=line.get("taxCode"),
                                         description=line.get("description")))
            settings = RefundSettings.of(todo[key].marketplace)
            apply_to: list[tuple[str, Decimal]] = []
            if plan.refund_record_type == "creditMemo":
                left = plan.total
                for invoice in open_invoices.get(str(orders[sales_order_external_id(plan.refund.amazon_order_id)]["internalId"]), []):
                    amount = min(left, invoice[1])
                    if amount > 0:
                        apply_to.append((invoice[0], amount))
                        invoice[1] -= amount
                        left -= amount
            record = build_refund_document(
                record_type=plan.refund_record_type, external_id=plan.refund_external_id, return_authorization_id=ras[key],
                account_id=settings.refund_account_id, tran_date=plan.refund.posted, lines=lines,
                shipping_cost=plan.shipping_cost or None, shipping_tax_code_id=plan.shipping_tax_code_id,
                handling_cost=plan.handling_cost or None, handling_tax_code_id=plan.handling_tax_code_id,
                memo=f"Amazon refund {plan.refund.key} of order {plan.refund.amazon_order_id}", apply_to=apply_to)
            by_type.setdefault(plan.refund_record_type, []).append((key, record))
        for record_type, batch in by_type.items():
            results = netsuite.add_records(record_type, [record for _, record in batch])
            for (key, _record), result in zip(batch, results, strict=True):
                plan = plans[key]
                if result.ok or result.error_code == "DUP_RCRD":
                    internal_id = result.internal_id
                    if not result.ok:
                        found = netsuite.search_by_external_ids(record_type, [plan.refund_external_id])
                        internal_id = str(found[0]["internalId"]) if found else None
                    ledger.record_synced(dag_id=DAG_ID, record_type=record_type, source_key=key,
                                         external_id=plan.refund_external_id, internal_id=internal_id, run_id=run_id)
                    counts["synced"] += 1
                    counts[record_type] += 1
                    refunded[f"{plan.refund.currency}"] += plan.total
                else:
                    _fail(ledger, counts, record_type=record_type, source_key=key,
                          reason=result.error_code or "netsuite_error", message=result.error_message or "",
                          run_id=run_id, external_id=plan.refund_external_id)
    money.update(refunded)
    log.info("Refunds: %s", dict(counts))
    return {"counts": dict(counts), "refunded": {currency: str(total) for currency, total in money.items()}}


def load_returns(
    rows: Sequence[Mapping[str, Any]],
    *,
    marketplace_id: str,
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    dispositions: Mapping[str, str],
    run_id: str,
    max_wait_days: int = DEFAULT_MAX_WAIT_DAYS,
    dry_run: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Each returned-units row to an item receipt of the order's return authorization (module docstring)."""
    now = now or datetime.now(UTC)
    max_wait = timedelta(days=max_wait_days)
    marketplace = mappings.marketplace(marketplace_id)
    counts: Counter = Counter()
    restocked: Counter = Counter()
    returns = [ReturnedUnits(**{**row, "return_date": datetime.fromisoformat(row["return_date"])}) for row in rows]
    todo = {f"{r.amazon_order_id}:{r.key}": r for r in returns}
    counts["read"] = len(returns)
    synced = ledger.get_many(ledger_key(DAG_ID, RETURN_RECORD_TYPE, k) for k in todo)
    for key in [k for k in todo if (r := synced.get(ledger_key(DAG_ID, RETURN_RECORD_TYPE, k))) and r.status == "synced"]:
        del todo[key]
        counts["already_synced"] += 1
    if not todo:
        return {"counts": dict(counts), "restocked": {}}
    receipt_ids = {k: document_external_id("itemReceipt", r.amazon_order_id, r.key) for k, r in todo.items()}
    for found in netsuite.search_by_external_ids("itemReceipt", list(receipt_ids.values())):
        for key, external_id in list(receipt_ids.items()):
            if key in todo and external_id.lower() == str(found.get("externalId")).lower():
                del todo[key]
                counts["exists"] += 1
                if not dry_run:
                    ledger.record_synced(dag_id=DAG_ID, record_type=RETURN_RECORD_TYPE, source_key=key,
                                         external_id=external_id, internal_id=str(found["internalId"]), run_id=run_id)
    if not todo:
        return {"counts": dict(counts), "restocked": {}}
    orders = netsuite.get_records("salesOrder", sorted({sales_order_external_id(r.amazon_order_id) for r in todo.values()}),
                                  by="externalId")
    by_order = {str(o["internalId"]): ext for ext, o in orders.items()}
    authorizations: dict[str, list[dict[str, Any]]] = {}
    for ra in netsuite.search_created_from("returnAuthorization", list(by_order)) if by_order else []:
        authorizations.setdefault(by_order.get(str((ra.get("createdFrom") or {}).get("internalId")), ""), []).append(ra)
    sku_items = _sku_items(mappings, [r.seller_sku for r in todo.values()], marketplace_id)
    for key, returned in todo.items():
        external_id = receipt_ids[key]
        try:
            action, location = receipt_location(returned, dispositions, fba_location_id=marketplace.fba_location_id,
                                                 return_location_id=marketplace.return_location_id)
        except RefundError as exc:
            _fail(ledger, counts, record_type=RETURN_RECORD_TYPE, source_key=key, reason=exc.reason, message=exc.message,
                  run_id=run_id, external_id=external_id, dry_run=dry_run)
            continue
        if returned.seller_sku not in sku_items:
            _fail(ledger, counts, record_type=RETURN_RECORD_TYPE, source_key=key, reason="unmapped_sku",
                  message=f"SKU {returned.seller_sku} is not in sku_items.csv", run_id=run_id, external_id=external_id,
                  dry_run=dry_run)
            continue
        item_id, units_per_sku = sku_items[returned.seller_sku]
        units = Decimal(returned.quantity * units_per_sku)
        so_external = sales_order_external_id(returned.amazon_order_id)
        candidates = sorted(authorizations.get(so_external, []), key=lambda r: int(r["internalId"]))
        chosen = None
        for ra in candidates:
            template = netsuite.initialize_records("itemReceipt", "returnAuthorization", [str(ra["internalId"])]).get(str(ra["internalId"]))
            if not isinstance(template, dict):
                continue  # nothing left to receive on it
            line = next((x for x in template.get("itemList") or []
                         if str((x.get("item") or {}).get("internalId")) == item_id and Decimal(str(x["quantity"])) >= units), None)
            if line is not None:
                chosen = (ra, int(line["orderLine"]))
                break
        if chosen is None:
            _age_reason(ledger, record_type=RETURN_RECORD_TYPE, source_key=key, reason="refund_not_booked",
                        message=f"no return authorization of {so_external} has {units} unit(s) of {returned.seller_sku} "
                                "left to receive (its refund is not booked yet)",
                        posted=returned.return_date, run_id=run_id, now=now, max_wait=max_wait, external_id=external_id,
                        counts=counts, dry_run=dry_run)
            continue
        if dry_run:
            counts[f"would_receive:{action}"] += 1
            continue
        ra, ra_line = chosen
        record = build_item_receipt(
            external_id=external_id, return_authorization_id=ra["internalId"],
            lines=[ReceiptLine(ra_line, units, location or marketplace.return_location_id or marketplace.location_id,
                               restock=action != "write_off")],
            tran_date=returned.return_date,
            memo=f"Amazon return {returned.key} ({returned.disposition}, {returned.reason or 'no reason'})")
        result = netsuite.add_records("itemReceipt", [record])[0]
        if result.ok or result.error_code == "DUP_RCRD":
            ledger.record_synced(dag_id=DAG_ID, record_type=RETURN_RECORD_TYPE, source_key=key, external_id=external_id,
                                 internal_id=result.internal_id, run_id=run_id)
            counts["synced"] += 1
            counts[f"received:{action}"] += 1
            restocked[action] += int(units)
        else:
            _fail(ledger, counts, record_type=RETURN_RECORD_TYPE, source_key=key, reason=result.error_code or "netsuite_error",
                  message=result.error_message or "", run_id=run_id, external_id=external_id)
    log.info("Returns: %s", dict(counts))
    return {"counts": dict(counts), "restocked": dict(restocked)}


def finance_summary(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per region for the run's notifier: refunds booked (per currency) and units received."""
    lines = []
    for result in results:
        refunded = ", ".join(f"{total} {currency}" for currency, total in sorted((result.get("refunded") or {}).items())) or "none"
        restocked = ", ".join(f"{units} {action}" for action, units in sorted((result.get("restocked") or {}).items())) or "none"
        lines.append(f"{result.get('conn_id')}: refunds booked {refunded}; units received {restocked}")
    return lines


# ------------------------------------------------------------------------------------------ replay
REPLAY_RECORD_TYPES = ("cashRefund", "creditMemo", "returnAuthorization", RETURN_RECORD_TYPE)


def _replay_start(records: Sequence[Any], now: datetime) -> datetime:
    """Where a replay reads from: the event or return was read by a run at most ``DEFAULT_LOOKBACK_DAYS`` after it
    was posted, and that run wrote the ledger record; a day of margin (the look-back param can be longer: the
    runs' default is what is read back)."""
    oldest = min(r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC) for r in records)
    return min(now - timedelta(days=DEFAULT_LOOKBACK_DAYS), oldest - timedelta(days=DEFAULT_LOOKBACK_DAYS + 1))


def replay(records: Sequence[Any], *, ledger: Ledger, run_id: str, now: datetime | None = None) -> None:
    """``sync_replay_failed_records``: re-read the dead-lettered refunds and returns from Amazon and run them
    through :func:`load_refunds` / :func:`load_returns` again (the ledger keeps only their keys).

    Refunds (``cashRefund``, ``creditMemo``, ``returnAuthorization``, key ``{orderId}:{adjustment key}``): the
    refund events of every mapped region since the oldest record's first run minus the look-back, keeping the
    named adjustments. Returns (``itemReceipt``, key ``{orderId}:{license plate or RMA id}``): the returns reports
    of the orders' marketplaces (the sales orders name them) over the same span, keeping the named rows.
    Documents already written are found by externalId, never written twice; a record whose event or row Amazon
    no longer returns is closed as skipped (``source_deleted``)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.dags_common import report_poll_seconds
    from amazon_netsuite.mappings import load_mappings, mappings_dir
    from amazon_netsuite.netsuite.hook import NetSuiteHook
    from amazon_netsuite.transforms.returns import load_dispositions

    now = now or datetime.now(UTC)
    mappings, netsuite = load_mappings(), NetSuiteHook()
    refunds = {r.source_key: r for r in records if r.record_type != RETURN_RECORD_TYPE}
    returns = {r.source_key: r for r in records if r.record_type == RETURN_RECORD_TYPE}

    if refunds:
        events, found = [], set()
        for target in mappings.sp_api_targets():
            amazon = SellingPartnerHook(target.conn_id, marketplace_ids=list(target.marketplace_ids))
            for event in amazon.iter_refund_events(posted_after=_replay_start(list(refunds.values()), now)):
                try:
                    refund = parse_refund_event(event)
                except RefundError:
                    continue  # not one of these (a malformed event is its own ledger record, "refund")
                key = f"{refund.amazon_order_id}:{refund.key}"
                if key in refunds and key not in found:
                    found.add(key)
                    events.append(event)
        if events:
            load_refunds(events, mappings=mappings, netsuite=netsuite, ledger=ledger, run_id=run_id, now=now)
        for key, record in refunds.items():
            if key not in found:
                ledger.record_skipped(dag_id=DAG_ID, record_type=record.record_type, source_key=key, reason="source_deleted",
                                      run_id=run_id, external_id=record.external_id,
                                      detail="Amazon no longer returns this refund adjustment (listFinancialEvents)")
            elif record.record_type == "returnAuthorization":
                # load_refunds keeps its outcome under the refund document; the authorization follows it
                order_id, _, adjustment = key.partition(":")
                external_id = document_external_id("returnAuthorization", order_id, adjustment)
                written = netsuite.search_by_external_ids("returnAuthorization", [external_id])
                if written:
                    ledger.record_synced(dag_id=DAG_ID, record_type="returnAuthorization", source_key=key,
                                         external_id=external_id, internal_id=str(written[0]["internalId"]), run_id=run_id)

    if returns:
        start = _replay_start(list(returns.values()), now)
        order_ids = sorted({key.partition(":")[0] for key in returns})
        orders = netsuite.get_records("salesOrder", [sales_order_external_id(o) for o in order_ids], by="externalId")
        marketplaces = set()
        for order in orders.values():
            fields = {f.get("scriptId"): f.get("value") for f in order.get("customFieldList") or []}
            marketplaces.add(fields.get("custbody_amazon_marketplace_id"))
        for key, record in returns.items():
            if sales_order_external_id(key.partition(":")[0]) not in orders:
                ledger.record_failed(dag_id=DAG_ID, record_type=RETURN_RECORD_TYPE, source_key=key, run_id=run_id,
                                     reason="order_not_in_netsuite", external_id=record.external_id,
                                     error=f"{sales_order_external_id(key.partition(':')[0])} is not in NetSuite")
        dispositions = load_dispositions(mappings_dir() / "return_dispositions.csv")
        found = set()
        for request in returns_report_requests(mappings, start=start, end=now - timedelta(minutes=2)):
            marketplace_id = request["marketplace_ids"][0]
            if marketplace_id not in marketplaces:
                continue
            amazon = SellingPartnerHook(request["sp_api_conn_id"], marketplace_ids=[marketplace_id])
            report_id = amazon.create_report(request["report_type"], marketplace_ids=[marketplace_id],
                                             data_start_time=request["data_start_time"], data_end_time=request["data_end_time"])
            report = amazon.wait_for_report(report_id, poll_interval=report_poll_seconds())
            parsed, _in_transit = read_returns_report(amazon, report, report_type=request["report_type"])
            rows = []
            for row in parsed:
                key = f"{row.amazon_order_id}:{row.key}"
                if key in returns and key not in found:
                    found.add(key)
                    rows.append(_row_dict(row))
            if rows:
                load_returns(rows, marketplace_id=marketplace_id, mappings=mappings, netsuite=netsuite, ledger=ledger,
                             dispositions=dispositions, run_id=run_id, now=now)
        for key, record in returns.items():
            if key not in found and sales_order_external_id(key.partition(":")[0]) in orders:
                ledger.record_skipped(dag_id=DAG_ID, record_type=RETURN_RECORD_TYPE, source_key=key, reason="source_deleted",
                                      run_id=run_id, external_id=record.external_id,
                                      detail="Amazon's returns reports no longer hold this returned package")


__all__ = ["DAG_ID", "REPLAY_RECORD_TYPES", "extract_refunds", "finance_summary", "load_refunds", "load_returns", "read_returns_report",
           "replay", "returns_report_requests", "stage_returns_report"]
