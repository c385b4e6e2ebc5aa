"""Flow ``netsuite_shipments_to_amazon``: warehouse (MFN) fulfillments in NetSuite -> Amazon
shipment confirmations (Orders API v0 ``confirmShipment``), then billing.

find (NetSuite, pool ``netsuite_api``): item fulfillments modified since the flow's high-water mark,
one paged body-fields search (1,000 a page), then ``getList`` of their sales orders and of the
fulfillments themselves (1,000 a call): a few calls per thousand fulfillments, never one per order.
Only shipped fulfillments of ``AMZ-SO-`` sales orders of merchant-fulfilled orders are kept (not our
FBA flow's ``AMZ-IF-`` fulfillments, not other channels' orders); they are staged encrypted per SP-API
connection (the sales order's marketplace picks it).

confirm (Amazon, pool ``amazon_sp_api``, one mapped task per connection): ``getOrder`` (v2026-01-01)
gives each order's ``orderItemId``\\ s, ``transforms.shipments`` plans the packages, and each package is
one ``confirmShipment``. The ledger records the confirmation as ``AMZ-SHIP-{fulfillmentInternalId}``
(record type ``shipmentConfirmation``) with the hash of what was sent: an unchanged fulfillment is never
sent twice, a corrected one (new tracking number) is sent again with the same ``packageReferenceId``\\ s,
which Amazon treats as an edit. Amazon refusing a package (400/404: order cancelled by the buyer,
unknown item, quantity already shipped) dead-letters that fulfillment with Amazon's message; the others
go on. 429 storms and 5xx are retried in the hook, then by Airflow: fulfillments already confirmed are
in the ledger and skipped, a half-confirmed one re-sends its packages (edits, never a second shipment).

bill (NetSuite, pool ``netsuite_api``, one mapped task per connection): the fulfillments Amazon took
are billed through the shared billing step (``flows/billing.py``, the FBA flow's: one cash sale or
invoice per shipment into the marketplace's Amazon clearing account, its share of the order's grand
total to the cent). Their shipment key is ``IF-{fulfillmentInternalId}``, so the documents are
``AMZ-CS-IF-{id}`` / ``AMZ-INV-IF-{id}``: FBA's are keyed by Amazon's shipment-id, which never starts
with ``IF-``, so the two flows can never take each other's externalId. A fulfillment Amazon refused
(cancelled order) is not billed.

The ledger keeps the two sides apart: ``shipmentConfirmation`` (Amazon) and ``cashSale``/``invoice``
(NetSuite) records of the same fulfillment id, so retrying one side never repeats the other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.transforms.shipments import (
    CONFIRMATION_PREFIX,
    SHIPPED,
    ShipmentPlan,
    ShipmentTransformError,
    amazon_order_id,
    confirmation_key,
    custom_value,
    describe_refusal,
    plan_shipment,
    skip_reason,
)

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "netsuite_shipments_to_amazon"
CONFIRMATION = "shipmentConfirmation"
#: the high-water mark's scope: NetSuite's lastModifiedDate of the fulfillments
WATERMARK_SCOPE = "netsuite_item_fulfillments"
#: NetSuite's lastModifiedDate search is by the minute and clocks differ: re-read a little
OVERLAP = dt.timedelta(minutes=10)
#: NetSuite has no lastUpdatedBefore rule: a window may end now
NETSUITE_LAG = dt.timedelta(0)
#: a refusal of the package, not of the call (the rest of the batch goes on)
REFUSAL_STATUSES = (400, 404)


def jsonable(value: Any) -> Any:
    """A NetSuite record as JSON (Decimal as its exact string, dates in ISO 8601) for staging."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# ------------------------------------------------------------------------------------------ find (NetSuite)


def find_fulfillments(
    netsuite: NetSuiteHook, *, since: datetime | None = None, until: datetime | None = None,
    fulfillment_ids: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], Counter]:
    """The shipped fulfillments of our MFN sales orders, each as ``{"fulfillment", "sales_order"}`` (full
    records). ``fulfillment_ids`` reads exactly those (replay) instead of the window."""
    counts: Counter = Counter()
    if fulfillment_ids:
        bodies = list(netsuite.get_records("itemFulfillment", list(fulfillment_ids), by="internalId").values())
    else:
        if since is None:
            raise ValueError("find_fulfillments needs a window (since) or fulfillment_ids")
        bodies = list(netsuite.search_modified_since("itemFulfillment", since, until))
    counts["fulfillments_seen"] = len(bodies)
    shipped = [b for b in bodies if b.get("shipStatus") == SHIPPED]
    counts["not_shipped"] = len(bodies) - len(shipped)
    order_ids = list(dict.fromkeys(str((b.get("createdFrom") or {}).get("internalId") or "") for b in shipped))
    order_ids = [i for i in order_ids if i]
    sales_orders = netsuite.get_records("salesOrder", order_ids, by="internalId") if order_ids else {}
    ours: list[dict[str, Any]] = []
    for body in shipped:
        sales_order = sales_orders.get(str((body.get("createdFrom") or {}).get("internalId") or ""))
        reason = skip_reason(body, sales_order)
        if reason is not None:
            counts[reason] += 1
            continue
        ours.append({"body": body, "sales_order": sales_order})
    full = netsuite.get_records("itemFulfillment", [str(o["body"]["internalId"]) for o in ours], by="internalId") if ours else {}
    found = []
    for entry in ours:
        record = full.get(str(entry["body"]["internalId"]))
        if record is None:  # deleted between the search and the read
            counts["deleted_meanwhile"] += 1
            continue
        found.append({"fulfillment": record, "sales_order": entry["sales_order"]})
    counts["fulfillments_found"] = len(found)
    log.info("NetSuite item fulfillments: %s", dict(counts))
    return found, counts


def find_and_stage(
    netsuite: NetSuiteHook, *, mappings: Mappings, ledger: Ledger, run_id: str,
    window: tuple[datetime, datetime] | None = None, fulfillment_ids: Sequence[str] = (),
    advance_to: datetime | None = None, dry_run: bool = False,
) -> list[dict[str, Any]]:
    """The find task: stage the fulfillments per SP-API connection; returns one entry per connection of
    the mapped marketplaces (a connection without fulfillments gets an empty file, so every run maps the
    same tasks). A fulfillment of an unmapped marketplace is dead-lettered here."""
    from amazon_netsuite import staging
    from amazon_netsuite.mappings import MappingLookupError

    since, until = window if window else (None, None)
    found, counts = find_fulfillments(netsuite, since=since, until=until, fulfillment_ids=fulfillment_ids)
    by_conn: dict[str, list[dict[str, Any]]] = {t.conn_id: [] for t in mappings.sp_api_targets()}
    for entry in found:
        fulfillment_id = str(entry["fulfillment"]["internalId"])
        marketplace_id = custom_value(entry["sales_order"], "custbody_amazon_marketplace_id") or ""
        try:
            conn_id = mappings.marketplace(marketplace_id).sp_api_connection
        except MappingLookupError as exc:
            counts["failed"] += 1
            if not dry_run:
                ledger.record_failed(dag_id=DAG_ID, record_type=CONFIRMATION, source_key=fulfillment_id, reason=exc.reason,
                                     error=f"item fulfillment {fulfillment_id}: {exc}", run_id=run_id,
                                     replay={"fulfillment_id": fulfillment_id}, external_id=confirmation_key(fulfillment_id))
            continue
        by_conn.setdefault(conn_id, []).append(jsonable(entry))
    targets = {t.conn_id: t for t in mappings.sp_api_targets()}
    out = []
    for conn_id, entries in by_conn.items():
        target = targets.get(conn_id)
        out.append({
            "conn_id": conn_id, "region": target.region if target else None,
            "marketplace_ids": list(target.marketplace_ids) if target else [],
            "uri": staging.stage(entries, dag_id=DAG_ID, run_id=run_id, name=f"find-{conn_id}"),
            "fulfillments": len(entries),
            # the NetSuite-side counts once (the summary adds up the connections)
            "counts": {k: v for k, v in counts.items() if k != "failed"} if not out else {},
            "advance_to": advance_to.isoformat() if advance_to else None,
        })
    return out


# ------------------------------------------------------------------------------------------ confirm (Amazon)


def _fail(ledger: Ledger, run_id: str, fulfillment_id: str, *, reason: str, error: str, replay: Mapping[str, str],
          counts: Counter, failed: list[str], dry_run: bool) -> None:
    counts["failed"] += 1
    counts[f"failed:{reason}"] += 1
    failed.append(fulfillment_id)
    log.warning("Item fulfillment %s not confirmed to Amazon (%s): %s", fulfillment_id, reason, error)
    if not dry_run:
        ledger.record_failed(dag_id=DAG_ID, record_type=CONFIRMATION, source_key=fulfillment_id, reason=reason,
                             error=error, run_id=run_id, replay=dict(replay), external_id=confirmation_key(fulfillment_id))


#: getOrder's burst (v2026-01-01 usage plan 0.5/s, burst 30): more orders than this are read with searchOrders
GET_ORDER_BURST = 30


def _order_day(sales_order: Mapping[str, Any]) -> datetime | None:
    """The sales order's date (the orders flow dates it on the Amazon order's creation day)."""
    value = sales_order.get("tranDate")
    try:
        day = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return day if day.tzinfo else day.replace(tzinfo=dt.UTC)


def _orders(amazon: SellingPartnerHook, entries: Sequence[Mapping[str, Any]]) -> tuple[dict[str, dict], list[str]]:
    r"""Each staged fulfillment's Amazon order (with its items' ``orderItemId``\ s); unknown ids apart.

    Few orders: ``getOrder`` each (0.5/s after a burst of 30). More: one ``searchOrders`` of the merchant-
    fulfilled orders updated since the oldest one was created (100 a page, 20 pages at once), then
    ``getOrder`` for any it did not return (bench/mfn_confirm_cost.py: 1,000 orders are ~32 minutes of
    getOrder but a few pages of searchOrders)."""
    from amazon_netsuite.amazon.errors import SellingPartnerApiError

    wanted = {amazon_order_id(e["sales_order"]) or "": e["sales_order"] for e in entries}
    wanted.pop("", None)
    orders: dict[str, dict] = {}
    days = [d for d in (_order_day(so) for so in wanted.values()) if d is not None]
    if len(wanted) > GET_ORDER_BURST and days:
        for order in amazon.iter_orders(last_updated_after=min(days) - dt.timedelta(days=1), fulfilled_by=["MERCHANT"],
                                        included_data=("FULFILLMENT",)):
            if order["orderId"] in wanted:
                orders[order["orderId"]] = order
        log.info("searchOrders found %s of %s orders; the rest are read one by one", len(orders), len(wanted))
    missing = []
    for order_id in wanted:
        if order_id in orders:
            continue
        try:
            orders[order_id] = amazon.get_order(order_id, included_data=("FULFILLMENT",))
        except SellingPartnerApiError as exc:
            if exc.status != 404:
                raise
            missing.append(order_id)
    return orders, missing


def confirm_shipments(
    entries: Sequence[Mapping[str, Any]], *, amazon: SellingPartnerHook, mappings: Mappings, ledger: Ledger,
    run_id: str, dry_run: bool = False, force: bool = False,
) -> dict[str, Any]:
    """Plan and confirm each staged fulfillment; returns counts, the failed ids and the fulfillments that
    are confirmed (this run or before) with what billing needs (ids and lines only)."""
    from amazon_netsuite.amazon.errors import SellingPartnerApiError

    counts: Counter = Counter()
    failed: list[str] = []
    orders, missing = _orders(amazon, entries)
    plans: list[ShipmentPlan] = []
    for entry in entries:
        fulfillment, sales_order = entry["fulfillment"], entry["sales_order"]
        fulfillment_id = str(fulfillment["internalId"])
        order_id = amazon_order_id(sales_order) or ""
        replay = {"fulfillment_id": fulfillment_id, "order_id": order_id}
        if order_id in missing:
            _fail(ledger, run_id, fulfillment_id, reason="order_not_found", replay=replay, counts=counts, failed=failed,
                  error=f"item fulfillment {fulfillment_id}: Amazon order {order_id} was not found (getOrder: 404) on "
                        f"{amazon.sp_api_conn_id}; check the sales order's Amazon order id", dry_run=dry_run)
            continue
        try:
            plans.append(plan_shipment(fulfillment, sales_order, orders[order_id], mappings))
        except ShipmentTransformError as exc:
            _fail(ledger, run_id, fulfillment_id, reason=exc.reason, error=str(exc), replay=replay, counts=counts,
                  failed=failed, dry_run=dry_run)

    confirmed: list[ShipmentPlan] = []
    todo = plans
    if not force and plans:
        unchanged = ledger.unchanged(DAG_ID, CONFIRMATION, {p.fulfillment_id: p.content_hash for p in plans})
        counts["unchanged"] += len(unchanged)
        confirmed.extend(p for p in plans if p.fulfillment_id in unchanged)
        todo = [p for p in plans if p.fulfillment_id not in unchanged]
    if dry_run:
        counts["would_confirm"] += len(todo)
        counts["would_confirm_packages"] += sum(len(p.packages) for p in todo)
        return {"counts": dict(counts), "failed": failed, "confirmed": []}
    for plan in todo:
        refused = None
        for index, package in enumerate(plan.packages, start=1):
            try:
                amazon.confirm_shipment(plan.order_id, marketplace_id=plan.marketplace_id, package_detail=package.package_detail)
            except SellingPartnerApiError as exc:
                if exc.status not in REFUSAL_STATUSES:
                    raise  # throttled past the hook's retries, 5xx, auth: the task retry resumes
                refused = (index, package, exc)
                break
            counts["packages_confirmed"] += 1
        if refused is not None:
            index, package, exc = refused
            _fail(ledger, run_id, plan.fulfillment_id, reason="amazon_rejected", replay=plan.replay, counts=counts,
                  failed=failed, dry_run=False,
                  error=f"item fulfillment {plan.fulfillment_id} (Amazon order {plan.order_id}): Amazon refused package "
                        f"{index} of {len(plan.packages)} (packageReferenceId {package.reference_id}, tracking "
                        f"{package.tracking_number}): HTTP {exc.status} {describe_refusal(exc.errors)}. If the buyer "
                        "cancelled the order, the warehouse shipped a cancelled order: recall it or contact the buyer")
            continue
        if plan.merged_tracking:
            counts["boxes_not_confirmed"] += len(plan.merged_tracking)
            log.warning("Item fulfillment %s: %s more box(es) than units; tracking %s not sent to Amazon",
                        plan.fulfillment_id, len(plan.merged_tracking), ", ".join(plan.merged_tracking))
        ledger.record_synced(dag_id=DAG_ID, record_type=CONFIRMATION, source_key=plan.fulfillment_id,
                             external_id=plan.external_id, internal_id=None, run_id=run_id,
                             content_hash=plan.content_hash, replay=plan.replay)
        counts["synced"] += 1
        confirmed.append(plan)
    return {"counts": dict(counts), "failed": failed, "confirmed": [billing_entry(p) for p in confirmed]}


def billing_entry(plan: ShipmentPlan) -> dict[str, Any]:
    """What the billing step needs of a confirmed fulfillment (ids and quantities only)."""
    return {
        "fulfillment_id": plan.fulfillment_id, "sales_order_id": plan.sales_order_id, "order_id": plan.order_id,
        "marketplace_id": plan.marketplace_id,
        "lines": {str(line.order_line): str(line.quantity) for line in plan.lines},
        "ship_date": plan.packages[0].package_detail["shipDate"] if plan.packages else None,
    }


def confirm_region(
    staged: Mapping[str, Any], *, amazon: SellingPartnerHook, mappings: Mappings, ledger: Ledger, run_id: str,
    dry_run: bool = False, force: bool = False,
) -> dict[str, Any]:
    """The confirm task of one SP-API connection: the staged fulfillments to Amazon. The confirmed ones
    are staged again for the billing task (the found file is discarded)."""
    from amazon_netsuite import staging

    entries = staging.load(staged["uri"])
    result = confirm_shipments(entries, amazon=amazon, mappings=mappings, ledger=ledger, run_id=run_id,
                               dry_run=dry_run, force=force)
    billing_uri = staging.stage(result["confirmed"], dag_id=DAG_ID, run_id=run_id, name=f"bill-{staged['conn_id']}")
    staging.discard(staged["uri"])
    return {"conn_id": staged["conn_id"], "region": staged.get("region"), "fulfillments": staged.get("fulfillments", 0),
            "counts": dict(Counter(staged.get("counts") or {}) + Counter(result["counts"])),
            "failed": result["failed"][:50], "billing_uri": billing_uri,
            "confirmed": len(result["confirmed"]), "advance_to": staged.get("advance_to")}


# ------------------------------------------------------------------------------------------ bill (NetSuite)

#: the billing documents' shipment key (``AMZ-CS-IF-{id}``): never an Amazon FBA shipment-id
SHIPMENT_KEY_PREFIX = "IF-"


def shipment_key(fulfillment_id: str | int) -> str:
    return f"{SHIPMENT_KEY_PREFIX}{fulfillment_id}"


def bill_confirmed(
    entries: Sequence[Mapping[str, Any]], *, netsuite: NetSuiteHook, mappings: Mappings, ledger: Ledger, run_id: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Bill the confirmed fulfillments not billed yet (the shared step of ``flows/billing.py``); record each
    outcome in the ledger under the billing document's record type."""
    from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments
    from amazon_netsuite.ledger import ledger_key
    from amazon_netsuite.netsuite.records import BILLING_RECORD_TYPES

    counts: Counter = Counter()
    todo: list[tuple[Mapping[str, Any], str]] = []
    for entry in entries:
        marketplace = mappings.marketplaces.get(entry["marketplace_id"])
        record_type = BILLING_RECORD_TYPES.get(marketplace.billing_document) if marketplace else None
        todo.append((entry, record_type or "cashSale"))
    keys = {ledger_key(DAG_ID, record_type, entry["fulfillment_id"]): entry for entry, record_type in todo}
    billed = {k for k, r in ledger.get_many(keys).items() if r.status == "synced"}
    todo = [(e, t) for e, t in todo if ledger_key(DAG_ID, t, e["fulfillment_id"]) not in billed]
    counts["already_billed"] += len(entries) - len(todo)
    if not todo:
        return {"counts": dict(counts)}
    sales_orders = netsuite.get_records("salesOrder", list(dict.fromkeys(e["sales_order_id"] for e, _ in todo)),
                                        by="internalId")
    shipments: list[ShipmentToBill] = []
    kept: list[tuple[Mapping[str, Any], str]] = []
    for entry, record_type in todo:
        order = sales_orders.get(str(entry["sales_order_id"]))
        replay = {"fulfillment_id": entry["fulfillment_id"], "order_id": entry["order_id"]}
        if order is None:
            counts["failed"] += 1
            if not dry_run:
                ledger.record_failed(dag_id=DAG_ID, record_type=record_type, source_key=entry["fulfillment_id"],
                                     reason="source_deleted", run_id=run_id, replay=replay,
                                     error=f"item fulfillment {entry['fulfillment_id']}: its sales order "
                                           f"{entry['sales_order_id']} no longer exists in NetSuite; nothing billed")
            continue
        ship_date = datetime.fromisoformat(str(entry["ship_date"]).replace("Z", "+00:00")) if entry.get("ship_date") \
            else datetime.now(dt.UTC)
        shipments.append(ShipmentToBill(
            shipment_id=shipment_key(entry["fulfillment_id"]), amazon_order_id=entry["order_id"],
            marketplace_id=entry["marketplace_id"], sales_order=order,
            shipped={int(line): Decimal(quantity) for line, quantity in entry["lines"].items()}, ship_date=ship_date,
        ))
        kept.append((entry, record_type))
    outcomes = bill_shipments(shipments, netsuite=netsuite, mappings=mappings, dry_run=dry_run)
    for (entry, record_type), outcome in zip(kept, outcomes, strict=True):
        fulfillment_id = entry["fulfillment_id"]
        replay = {"fulfillment_id": fulfillment_id, "order_id": entry["order_id"]}
        record_type = outcome.record_type or record_type
        counts[f"billing_{outcome.status}"] += 1
        if dry_run:
            continue
        if outcome.status in ("billed", "exists"):
            ledger.record_synced(dag_id=DAG_ID, record_type=record_type, source_key=fulfillment_id,
                                 external_id=outcome.external_id, internal_id=outcome.internal_id, run_id=run_id,
                                 replay=replay)
        else:
            # a deferred shipment (an earlier one of the order failed) is dead-lettered too: the window moves on,
            # so only the replay, which takes both in order, would ever bill it
            counts["failed"] += 1
            ledger.record_failed(dag_id=DAG_ID, record_type=record_type, source_key=fulfillment_id,
                                 reason=outcome.reason or "billing_error", run_id=run_id, replay=replay,
                                 external_id=outcome.external_id,
                                 error=f"item fulfillment {fulfillment_id} (Amazon order {entry['order_id']}) confirmed "
                                       f"to Amazon but not billed: {outcome.message or outcome.reason}")
    return {"counts": dict(counts)}


def bill_region(
    confirmed: Mapping[str, Any], *, netsuite: NetSuiteHook, mappings: Mappings, ledger: Ledger, run_id: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """The bill task of one SP-API connection: its confirmed fulfillments to billing documents."""
    from amazon_netsuite import staging

    entries = staging.load(confirmed["billing_uri"])
    result = bill_confirmed(entries, netsuite=netsuite, mappings=mappings, ledger=ledger, run_id=run_id,
                            dry_run=dry_run)
    staging.discard(confirmed["billing_uri"])
    counts = Counter(confirmed.get("counts") or {})
    counts.update(result["counts"])
    return {**{k: v for k, v in confirmed.items() if k != "billing_uri"}, "counts": dict(counts)}


def replay(records: Sequence[Any], *, ledger: Ledger, run_id: str) -> None:
    """Re-read each failed fulfillment from NetSuite (``getList`` by internalId), confirm it again on its
    marketplace's connection and bill it if it is not yet (``sync_replay_failed_records``: failed
    confirmations and failed billing documents of this flow both come here)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    mappings = load_mappings()
    wanted = [str((r.replay or {}).get("fulfillment_id") or r.source_key) for r in records]
    found, _counts = find_fulfillments(NetSuiteHook(), fulfillment_ids=wanted)
    seen = {str(e["fulfillment"]["internalId"]) for e in found}
    for fulfillment_id in wanted:
        if fulfillment_id not in seen:
            ledger.record_skipped(dag_id=DAG_ID, record_type=CONFIRMATION, source_key=fulfillment_id,
                                  reason="source_deleted", run_id=run_id, external_id=confirmation_key(fulfillment_id),
                                  detail="NetSuite no longer holds this fulfillment as a shipped fulfillment of an "
                                         "Amazon MFN order (deleted, unshipped or re-linked)")
    by_conn: dict[str, list[dict[str, Any]]] = {}
    for entry in found:
        marketplace_id = custom_value(entry["sales_order"], "custbody_amazon_marketplace_id") or ""
        by_conn.setdefault(mappings.marketplace(marketplace_id).sp_api_connection, []).append(entry)
    netsuite = NetSuiteHook()
    for conn_id, entries in by_conn.items():
        # a failed confirmation is sent again; one Amazon already took (unchanged) only goes on to billing
        result = confirm_shipments(entries, amazon=SellingPartnerHook(conn_id), mappings=mappings, ledger=ledger,
                                   run_id=run_id)
        bill_confirmed(result["confirmed"], netsuite=netsuite, mappings=mappings, ledger=ledger, run_id=run_id)


__all__ = [
    "CONFIRMATION", "CONFIRMATION_PREFIX", "DAG_ID", "NETSUITE_LAG", "OVERLAP", "WATERMARK_SCOPE", "confirm_region",
    "bill_confirmed", "bill_region", "confirm_shipments", "find_and_stage", "find_fulfillments", "replay",
    "shipment_key",
]
