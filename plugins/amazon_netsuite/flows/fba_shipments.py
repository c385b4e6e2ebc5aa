"""Flow ``amazon_fba_shipments_to_netsuite``: FBA shipments -> item fulfillments + billing documents.

extract (the FBA Amazon Fulfilled Shipments Report, ``GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL``,
requested per SP-API region by ``SellingPartnerReportOperator`` and downloaded WITHOUT a restricted data
token: the flow reads no buyer field) -> parse (:func:`parse_report`, one row per shipment item, grouped
by shipment) -> stage (encrypted, ids and quantities only) -> load: per shipment, the sales order
``AMZ-SO-{orderId}`` is read; an item fulfillment ``AMZ-IF-{shipmentId}`` is created from it at the
marketplace's FBA location (units = quantity shipped x ``units_per_sku``; NetSuite takes them out of the
FBA location's on-hand), with the carrier and tracking number as its package; then the shared billing
step (:mod:`amazon_netsuite.flows.billing`) writes ``AMZ-CS-{shipmentId}`` / ``AMZ-INV-{shipmentId}``
into the marketplace's Amazon clearing account.

Ledger (record type ``itemFulfillment``, source key = the shipment id; one row per shipment):

- synced: fulfilled and billed (the replay field names both documents);
- pending: the sales order is not in NetSuite yet (``order_not_synced`` once older than
  ``AMAZON_NETSUITE_FBA_WAIT_DAYS``, default 3 days, counted from the first run that saw it), or an earlier
  shipment of the same order is not billed yet; pending shipments are retried by every later run, whatever
  its window (the ledger keeps the shipment's ids and quantities, no PII);
- failed (dead-lettered with a reason): ``order_cancelled`` (the sales order is closed/cancelled: nothing is
  fulfilled), ``order_not_synced``, ``unknown_sku``, ``unmapped_marketplace``, ``over_fulfilled`` (more units
  than the order has left), billing reasons (``unreconciled_total``...) or NetSuite's code.

Idempotent: a shipment already synced is skipped; fulfillments and billing documents are looked up by
externalId before writing and written with ``addList`` (``DUP_RCRD`` = already written). The same
shipment in two overlapping report windows is one fulfillment and one billing document.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments
from amazon_netsuite.ledger.store import ledger_key
from amazon_netsuite.netsuite.records import (
    FulfillmentLine,
    build_item_fulfillment,
    sales_order_external_id,
    shipment_fulfillment_external_id,
)

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "amazon_fba_shipments_to_netsuite"
REPORT_TYPE = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
RECORD_TYPE = "itemFulfillment"
#: Amazon: "You can request up to one month of data in a single report"
MAX_REPORT_DAYS = 30
DEFAULT_WAIT_DAYS = 3
#: the columns the flow reads; a report without them is malformed (never read as "no shipments")
REQUIRED_COLUMNS = ("amazon-order-id", "shipment-id", "shipment-item-id", "amazon-order-item-id", "sku",
                    "quantity-shipped", "shipment-date", "carrier", "tracking-number", "sales-channel")
#: sales channels of multi-channel (non-Amazon) orders: not Amazon orders, no sales order to fulfill
NON_AMAZON_CHANNELS = {"non-amazon"}


class ReportFormatError(ValueError):
    """The report document is not the FBA shipments flat file the flow expects."""


def wait_days() -> float:
    """How long a shipment waits for its sales order before ``order_not_synced`` (``AMAZON_NETSUITE_FBA_WAIT_DAYS``)."""
    return float(os.environ.get("AMAZON_NETSUITE_FBA_WAIT_DAYS") or DEFAULT_WAIT_DAYS)


# ------------------------------------------------------------------------------------------ parse


@dataclass
class ShipmentItem:
    shipment_item_id: str
    order_item_id: str
    sku: str
    quantity: int


@dataclass
class Shipment:
    """One Amazon shipment of an order (ids, quantities, carrier: no buyer data)."""

    shipment_id: str
    amazon_order_id: str
    marketplace_id: str
    ship_date: str
    carrier: str = ""
    tracking_numbers: list[str] = field(default_factory=list)
    estimated_arrival: str = ""
    items: list[ShipmentItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Shipment:
        return cls(**{**data, "items": [ShipmentItem(**i) for i in data.get("items") or []]})


@dataclass
class ParsedReport:
    shipments: list[Shipment]
    #: (shipment id or row label, reason, message) of rows that cannot be used
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def parse_report(text: str, mappings: Mappings) -> ParsedReport:
    """The report's rows grouped by shipment; the same shipment item twice (overlapping windows, a row
    repeated) counts once. Rows of a storefront ``marketplaces.csv`` does not map, or with a quantity that
    is not a positive whole number, are rejected with the reason; multi-channel rows are skipped."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ReportFormatError(
            f"{REPORT_TYPE} document has no column(s) {', '.join(missing)} (header: {', '.join(header[:8])}...)"
        )
    shipments: dict[str, Shipment] = {}
    seen_items: set[tuple[str, str]] = set()
    parsed = ParsedReport(shipments=[])
    for number, row in enumerate(reader, start=2):
        shipment_id = (row.get("shipment-id") or "").strip()
        order_id = (row.get("amazon-order-id") or "").strip()
        channel = (row.get("sales-channel") or "").strip()
        if not shipment_id or not order_id:
            parsed.rejected.append((f"row {number}", "malformed_row", "a row without amazon-order-id or shipment-id"))
            continue
        if channel.casefold() in NON_AMAZON_CHANNELS:
            parsed.skipped["multi_channel"] += 1
            continue
        try:
            marketplace = mappings.marketplace_by_name(channel)
        except Exception:  # noqa: BLE001 - MappingLookupError: the reason below says it
            parsed.rejected.append((shipment_id, "unmapped_marketplace",
                                    f"sales channel {channel!r} of order {order_id} is not in marketplaces.csv"))
            continue
        try:
            quantity = Decimal((row.get("quantity-shipped") or "").strip())
            if quantity <= 0 or quantity != quantity.to_integral_value():
                raise InvalidOperation
        except InvalidOperation:
            parsed.rejected.append((shipment_id, "malformed_row",
                                    f"order {order_id}: quantity-shipped {row.get('quantity-shipped')!r} is not a positive whole number"))
            continue
        item_key = (shipment_id, (row.get("shipment-item-id") or "").strip() or f"{row.get('amazon-order-item-id')}")
        if item_key in seen_items:
            continue
        seen_items.add(item_key)
        shipment = shipments.get(shipment_id)
        if shipment is None:
            shipment = shipments[shipment_id] = Shipment(
                shipment_id=shipment_id, amazon_order_id=order_id, marketplace_id=marketplace.marketplace_id,
                ship_date=(row.get("shipment-date") or "").strip(), carrier=(row.get("carrier") or "").strip(),
                estimated_arrival=(row.get("estimated-arrival-date") or "").strip(),
            )
        tracking = (row.get("tracking-number") or "").strip()
        if tracking and tracking not in shipment.tracking_numbers:
            shipment.tracking_numbers.append(tracking)
        shipment.items.append(ShipmentItem(shipment_item_id=item_key[1], order_item_id=(row.get("amazon-order-item-id") or "").strip(),
                                           sku=(row.get("sku") or "").strip(), quantity=int(quantity)))
    parsed.shipments = list(shipments.values())
    return parsed


# ------------------------------------------------------------------------------------------ extract


def report_window(context: Mapping[str, Any], high_water: dt.datetime | None) -> tuple[dt.datetime, dt.datetime, bool]:
    """The report's data window (:func:`dags_common.source_window`), at most 30 days long (Amazon's limit
    for this report): a longer gap is read in 30-day steps, one per run, the mark moving each time."""
    from amazon_netsuite.dags_common import source_window

    start, end, advances = source_window(context, high_water)
    if end - start > dt.timedelta(days=MAX_REPORT_DAYS):
        end = start + dt.timedelta(days=MAX_REPORT_DAYS)
        log.info("FBA shipments: window capped at %s days (%s .. %s); the next run reads on", MAX_REPORT_DAYS,
                 start.isoformat(), end.isoformat())
    return start, end, advances


def region_request(context: Mapping[str, Any], target: Mapping[str, Any], ledger: Ledger) -> dict[str, Any]:
    """What the report operator of one region requests: its connection, marketplaces and window (from the
    region's high-water mark, or the trigger's window params), and where the mark moves once loaded."""
    start, end, advances = report_window(context, ledger.watermark(DAG_ID, target["conn_id"]))
    return {"conn_id": target["conn_id"], "region": target.get("region"), "marketplace_ids": list(target["marketplace_ids"]),
            "start": start.isoformat(), "end": end.isoformat(), "window": [start.isoformat(), end.isoformat()],
            "advance_to": end.isoformat() if advances else None}


def extract_region(
    amazon: SellingPartnerHook,
    report: Mapping[str, Any],
    *,
    mappings: Mappings,
    run_id: str,
) -> dict[str, Any]:
    """The extract task: download the finished report (``report``: what the report operator returned),
    parse it and stage the shipments encrypted; returns the staged path, counts and rejected rows."""
    from amazon_netsuite import staging

    document_id = report.get("reportDocumentId")
    if document_id:
        text = amazon.download_report_document(document_id, report_type=REPORT_TYPE, restricted=False)
        parsed = parse_report(text, mappings)
    else:  # CANCELLED by Amazon: no shipment in the window
        parsed = ParsedReport(shipments=[])
    uri = staging.stage([s.as_dict() for s in parsed.shipments], dag_id=DAG_ID, run_id=run_id, name=amazon.sp_api_conn_id)
    return {
        "conn_id": amazon.sp_api_conn_id,
        "region": amazon.region,
        "marketplace_ids": list(amazon.marketplace_ids),
        "uri": uri,
        "report_id": report.get("reportId"),
        "shipments": len(parsed.shipments),
        "rejected": [list(r) for r in parsed.rejected],
        "skipped": dict(parsed.skipped),
        "window": report.get("window"),
        "advance_to": report.get("advance_to"),
    }


# ------------------------------------------------------------------------------------------ load


@dataclass
class LoadResult:
    counts: Counter = field(default_factory=Counter)
    #: customer-service lines: order id, shipment, carrier, tracking (no buyer data)
    shipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "shipped": self.shipped[:500]}


def _is_closed(order: Mapping[str, Any]) -> bool:
    if order.get("orderStatus") in ("_closed", "_cancelled") or order.get("status") in ("Closed", "Cancelled"):
        return True
    return all(line.get("isClosed") for line in order.get("itemList") or [])


def _when(value: str, default: dt.datetime) -> dt.datetime:
    """An ISO 8601 date-time of the report (``2026-11-20T10:23:45+00:00``), UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return default
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _fulfillment_lines(shipment: Shipment, order: Mapping[str, Any], mappings: Mappings, left: dict[int, Decimal]
                       ) -> dict[int, Decimal]:
    """Order line -> NetSuite units of this shipment (``left``: units each line has left, updated)."""
    out: dict[int, Decimal] = defaultdict(Decimal)
    for item in shipment.items:
        sku = mappings.find_sku(item.sku, shipment.marketplace_id)
        if sku is None:
            raise _Refused("unknown_sku", f"SKU {item.sku!r} of order {shipment.amazon_order_id} is not in sku_items.csv")
        units = Decimal(item.quantity * sku.units_per_sku)
        for line in order.get("itemList") or []:
            if units <= 0:
                break
            number = int(line["line"])
            if line.get("isClosed") or str((line.get("item") or {}).get("internalId")) != str(sku.netsuite_item_id):
                continue
            take = min(units, left.get(number, Decimal(0)))
            if take > 0:
                out[number] += take
                left[number] -= take
                units -= take
        if units > 0:
            raise _Refused("over_fulfilled", f"order {shipment.amazon_order_id}: SKU {item.sku} ships {units} unit(s) more "
                                             "than its sales order has left to fulfill")
    return dict(out)


class _Refused(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def load_shipments(
    shipments: Sequence[Shipment],
    *,
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    run_id: str,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    max_wait: dt.timedelta | None = None,
    marketplace_ids: Sequence[str] | None = None,
    force: bool = False,
) -> LoadResult:
    """Fulfill and bill ``shipments`` plus every shipment still pending in the ledger (of
    ``marketplace_ids``: the region's; all when None; see the module docstring). NetSuite outages (whole calls) raise: nothing is recorded for the shipments not written,
    and the task's retry starts again from the staged file."""
    now = now or dt.datetime.now(dt.UTC)
    max_wait = max_wait if max_wait is not None else dt.timedelta(days=wait_days())
    result = LoadResult()

    by_id: dict[str, Shipment] = {}
    first_seen: dict[str, dt.datetime] = {}
    for record in ledger.pending(dag_id=DAG_ID, record_type=RECORD_TYPE):
        if record.replay and record.replay.get("shipment") and (
                marketplace_ids is None or record.replay["shipment"].get("marketplace_id") in marketplace_ids):
            by_id[record.source_key] = Shipment.from_dict(record.replay["shipment"])
            first_seen[record.source_key] = record.created_at
    for shipment in shipments:
        by_id.setdefault(shipment.shipment_id, shipment)
    if not by_id:
        return result
    known = ledger.get_many(ledger_key(DAG_ID, RECORD_TYPE, sid) for sid in by_id)
    for sid in list(by_id):
        record = known.get(ledger_key(DAG_ID, RECORD_TYPE, sid))
        if record is not None and record.status in (("synced", "skipped") if force else ("synced", "failed", "skipped")):
            del by_id[sid]
            result.counts["unchanged" if record.status == "synced" else f"already_{record.status}"] += 1
        elif record is not None:
            first_seen.setdefault(sid, record.created_at)

    def fail(shipment: Shipment, reason: str, message: str) -> None:
        result.counts["failed"] += 1
        log.warning("FBA shipment %s of order %s: %s (%s)", shipment.shipment_id, shipment.amazon_order_id, message, reason)
        if not dry_run:
            ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=shipment.shipment_id, error=message,
                                 reason=reason, run_id=run_id, replay={"shipment": shipment.as_dict()},
                                 external_id=shipment_fulfillment_external_id(shipment.shipment_id))

    def wait(shipment: Shipment, why: str) -> None:
        result.counts[why] += 1
        if not dry_run:
            ledger.record_pending(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=shipment.shipment_id, run_id=run_id,
                                  replay={"shipment": shipment.as_dict(), "waiting_for": why},
                                  external_id=shipment_fulfillment_external_id(shipment.shipment_id))

    # the sales orders, in one read
    order_ids = {sales_order_external_id(s.amazon_order_id) for s in by_id.values()}
    orders = netsuite.get_records("salesOrder", sorted(order_ids), by="externalId")
    ready: list[Shipment] = []
    for shipment in by_id.values():
        order = orders.get(sales_order_external_id(shipment.amazon_order_id))
        if order is None:
            seen = first_seen.get(shipment.shipment_id, now)
            if now - seen >= max_wait:
                fail(shipment, "order_not_synced",
                     f"sales order {sales_order_external_id(shipment.amazon_order_id)} is still not in NetSuite "
                     f"{(now - seen).days} day(s) after the shipment was first seen; sync the order "
                     "(amazon_orders_to_netsuite with order_ids), then replay")
            else:
                wait(shipment, "waiting_for_order")
            continue
        if _is_closed(order):
            fail(shipment, "order_cancelled",
                 f"sales order {order.get('tranId') or order['internalId']} is closed/cancelled in NetSuite: "
                 "the shipment is not fulfilled; check the order at Amazon")
            continue
        ready.append(shipment)

    # fulfillments that exist already (a re-run, an overlapping window)
    wanted = {shipment_fulfillment_external_id(s.shipment_id): s for s in ready}
    existing = {f["externalId"].lower(): f for f in netsuite.search_by_external_ids(RECORD_TYPE, list(wanted))}
    left: dict[str, dict[int, Decimal]] = {}
    to_write: list[tuple[Shipment, dict[str, Any], dict[int, Decimal]]] = []
    to_bill: list[tuple[Shipment, dict[int, Decimal]]] = []
    for external_id, shipment in wanted.items():
        order = orders[sales_order_external_id(shipment.amazon_order_id)]
        marketplace = mappings.marketplaces.get(shipment.marketplace_id)
        key = str(order["internalId"])
        if key not in left:
            left[key] = {int(line["line"]): _dec(line.get("quantity")) - _dec(line.get("quantityFulfilled"))
                         for line in order.get("itemList") or [] if not line.get("isClosed")}
        try:
            if marketplace is None:
                raise _Refused("unmapped_marketplace", f"marketplace {shipment.marketplace_id} is not in marketplaces.csv")
            if external_id.lower() in existing:
                # fulfilled by an earlier run: what it shipped is already out of "left"
                lines = _fulfillment_lines(shipment, order, mappings, {n: Decimal(10**9) for n in left[key]})
                to_bill.append((shipment, lines))
                result.counts["fulfillment_exists"] += 1
                continue
            lines = _fulfillment_lines(shipment, order, mappings, left[key])
        except _Refused as refused:
            fail(shipment, refused.reason, refused.message)
            continue
        record = build_item_fulfillment(
            external_id=external_id, sales_order_id=order["internalId"],
            lines=[FulfillmentLine(number, units, marketplace.fba_location_id) for number, units in sorted(lines.items())],
            ship_date=_when(shipment.ship_date, now), tracking_numbers=shipment.tracking_numbers, carrier=shipment.carrier or None,
            memo=f"Amazon FBA shipment {shipment.shipment_id} of order {shipment.amazon_order_id}",
        )
        to_write.append((shipment, record, lines))

    if to_write and not dry_run:
        results = netsuite.add_records(RECORD_TYPE, [record for _, record, _ in to_write])
    else:
        results = [None] * len(to_write)
    for (shipment, _record, lines), written in zip(to_write, results, strict=True):
        if written is None or written.ok or written.error_code == "DUP_RCRD":
            result.counts["fulfilled"] += 1
            to_bill.append((shipment, lines))
        else:
            fail(shipment, written.error_code or "netsuite_error",
                 f"item fulfillment {shipment_fulfillment_external_id(shipment.shipment_id)}: {written.error_message}")

    if not to_bill:
        return result
    billing = [
        ShipmentToBill(shipment_id=s.shipment_id, amazon_order_id=s.amazon_order_id, marketplace_id=s.marketplace_id,
                       sales_order=orders[sales_order_external_id(s.amazon_order_id)], shipped=lines,
                       ship_date=_when(s.ship_date, now))
        for s, lines in to_bill
    ]
    outcomes = bill_shipments(billing, netsuite=netsuite, mappings=mappings, dry_run=dry_run)
    for (shipment, _lines), outcome in zip(to_bill, outcomes, strict=True):
        fulfillment_id = shipment_fulfillment_external_id(shipment.shipment_id)
        if outcome.status in ("billed", "exists"):
            result.counts["synced"] += 1
            if outcome.status == "billed":
                result.counts[f"billed_{outcome.record_type}"] += 1
            result.shipped.append(f"{shipment.amazon_order_id}: shipment {shipment.shipment_id}, "
                                  f"{shipment.carrier or 'carrier n/a'} {', '.join(shipment.tracking_numbers) or 'no tracking'}"
                                  + (f", arriving {shipment.estimated_arrival[:10]}" if shipment.estimated_arrival else ""))
            if not dry_run:
                ledger.record_synced(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=shipment.shipment_id,
                                     external_id=fulfillment_id, internal_id=None, run_id=run_id,
                                     replay={"shipment": shipment.as_dict(), "billing": outcome.external_id})
        elif outcome.status == "deferred":
            wait(shipment, "waiting_for_earlier_shipment")
        else:
            fail(shipment, outcome.reason or "netsuite_error",
                 f"fulfilled as {fulfillment_id}, but its billing document failed: {outcome.message}")
    return result


def load_region(
    extracted: Mapping[str, Any],
    *,
    mappings: Mappings,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    run_id: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """The load task of one region: its staged shipments (and every pending one) to NetSuite; rejected
    report rows dead-lettered; then the region's high-water mark moves to the window's end."""
    from amazon_netsuite import staging

    shipments = [Shipment.from_dict(s) for s in staging.load(extracted["uri"])]
    for source, reason, message in extracted.get("rejected") or []:
        if not dry_run:
            ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=f"{extracted['conn_id']}:{source}"
                                 if source.startswith("row ") else source, error=message, reason=reason, run_id=run_id,
                                 replay={"report_id": extracted.get("report_id")})
    result = load_shipments(shipments, mappings=mappings, netsuite=netsuite, ledger=ledger, run_id=run_id, dry_run=dry_run,
                            marketplace_ids=extracted.get("marketplace_ids"))
    result.counts["rejected_rows"] += len(extracted.get("rejected") or [])
    if extracted.get("advance_to") and not dry_run:
        ledger.advance_watermark(DAG_ID, extracted["conn_id"], dt.datetime.fromisoformat(extracted["advance_to"]), run_id=run_id)
    staging.discard(extracted["uri"])
    return {**result.as_dict(), "conn_id": extracted["conn_id"], "region": extracted.get("region"),
            "shipments_read": extracted.get("shipments", 0), "skipped": extracted.get("skipped") or {}}


def replay(records: Sequence[Any], *, ledger: Ledger, run_id: str) -> None:
    """Re-run dead-lettered shipments (from the ids and quantities the ledger keeps) through
    :func:`load_shipments`; documents written before the failure are found, never written twice. A
    rejected report row (no shipment kept) cannot be replayed: re-run its window instead."""
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    shipments = []
    for record in records:
        data = (record.replay or {}).get("shipment")
        if data:
            shipments.append(Shipment.from_dict(data))
        else:
            ledger.record_failed(dag_id=DAG_ID, record_type=RECORD_TYPE, source_key=record.source_key,
                                 error=f"{record.last_error} (a report row: re-run its window with window_start/window_end)",
                                 reason=record.reason or "malformed_row", run_id=run_id, replay=record.replay)
    if shipments:
        load_shipments(shipments, mappings=load_mappings(), netsuite=NetSuiteHook(), ledger=ledger, run_id=run_id,
                       force=True, marketplace_ids=[s.marketplace_id for s in shipments])
