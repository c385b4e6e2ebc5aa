"""sync_reconciliation: prove Amazon and NetSuite agree, per region and day (see the DAG's doc).

- :func:`extract_region` (Amazon side, pool ``amazon_sp_api``): the orders *created* in the window
  (``searchOrders`` with ``createdAfter``/``createdBefore``, 100 a page, no per-order calls) reduced to ids,
  statuses, totals and dates (no PII), the settlements the settlements flow posted in the window (their
  files read again from Amazon or the import, parsed for the orders they cleared), the FBA inventory
  summaries of the mapped AFN SKUs (the inventory flow's ``fba_amazon_counts``) and the AFN SKUs of
  Amazon-fulfilled orders changed within ``FBA_GRACE`` (:func:`recent_afn_orders`), and the merchant-fulfilled
  quantities Amazon shows (:func:`merchant_listings`). Staged, path by XCom.
- :func:`compare_region` (NetSuite side, pool ``netsuite_api``): the sales orders by externalId (one
  body-fields search per 500 ids: SOAP ``TransactionSearchBasic``, REST one SuiteQL query), the
  ``AMZ-SO-`` sales orders NetSuite changed since the window's start (for extras), the GL lines on the
  region's clearing accounts (``NetSuiteHook.gl_lines``: a paged transaction search by account, as
  production reads it), then :mod:`amazon_netsuite.transforms.reconciliation`. Inventory: the FBA locations
  (the inventory flow's ``fba_compare``) and every MFN SKU's quantity from NetSuite's availability read
  afresh (the inventory flow's ``read_stock`` as a dry run, so its snapshot is never touched, and its
  formula) against what Amazon shows (the All Listings Report ``GET_MERCHANT_LISTINGS_ALL_DATA`` of each
  marketplace with MFN SKUs, requested in the extract: :func:`merchant_listings`) and the quantity last
  published (the pushed state): above the formula an overselling risk, other than published a drift made
  outside the project. Every finding goes to the ledger
  (``an_reconciliation_findings``) and to one CSV per check in the archive.
- :func:`finish`: one summary; the run fails (alert through the DAG's notifier) when anything is off.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.amazon.errors import SellingPartnerError
from amazon_netsuite.transforms.reconciliation import (
    CHECK_CLEARING,
    CHECK_INVENTORY,
    CHECK_ORDERS,
    MERCHANT_LISTINGS_REPORT,
    ClearingResult,
    Finding,
    ListingsReportError,
    SettledPeriod,
    clearing_status,
    compare_orders,
    compare_published,
    counts_by_check,
    custom_field,
    fba_findings,
    fx_external_id,
    fx_journal,
    order_facts,
)

if TYPE_CHECKING:
    from amazon_netsuite.amazon.hook import SellingPartnerHook
    from amazon_netsuite.ledger import Ledger
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)

DAG_ID = "sync_reconciliation"
#: how far before a settlement's start its orders may have been billed (GL search range)
BILLING_LOOKBACK = dt.timedelta(days=60)
#: the sales order custom fields the checks read (a SuiteQL search returns only those it names)
SALES_ORDER_FIELDS = ("custbody_amazon_order_id", "custbody_amazon_marketplace_id")
#: MFN SKUs whose NetSuite stock moved this recently are not judged (netsuite_inventory_to_amazon runs every
#: 15 minutes, and Amazon applies a feed within minutes)
MFN_GRACE = dt.timedelta(hours=1)
#: AFN SKUs with an Amazon-fulfilled order this recent are not judged: Amazon's fulfillable count dropped when
#: the order was placed, NetSuite's FBA location only when the 15-minute orders flow syncs its sales order
FBA_GRACE = dt.timedelta(hours=1)
CSV_COLUMNS = ("check", "kind", "key", "marketplace_id", "currency", "amazon_value", "netsuite_value", "difference",
               "netsuite_id", "message")


def posted_settlements(ledger: Ledger, *, window: tuple[dt.datetime, dt.datetime], target: Mapping[str, Any],
                       settlement_ids: Sequence[str] | None = None) -> list[Any]:
    """Ledger records of the settlements the settlements flow posted in ``window`` (or exactly
    ``settlement_ids``) for this region: synced, or posted with lines in suspense (``unmapped_gl``)."""
    from amazon_netsuite.flows.settlements import DAG_ID as SETTLEMENTS_DAG
    from amazon_netsuite.flows.settlements import RECORD_TYPE

    if settlement_ids:
        records = ledger.records(dag_id=SETTLEMENTS_DAG, record_type=RECORD_TYPE, source_keys=list(settlement_ids), limit=None)
    else:
        records = [r for r in ledger.records(dag_id=SETTLEMENTS_DAG, record_type=RECORD_TYPE, updated_after=window[0], limit=None)
                   if r.updated_at < window[1]]
    out = []
    for record in records:
        if record.source_key.startswith("report-"):
            continue  # a download that failed: nothing posted (the settlements flow dead-lettered it)
        if record.status != "synced" and record.reason != "unmapped_gl":
            continue
        replay = record.replay or {}
        conn = replay.get("sp_api_conn_id")
        region = replay.get("region")
        markets = set(replay.get("marketplace_ids") or [])
        mine = (conn == target["conn_id"] or region == target.get("region")
                or (markets and markets <= set(target["marketplace_ids"])) or (not conn and not region and not markets))
        if mine:
            out.append(record)
    return out


def settled_period(text: str, *, mappings: Mappings, marketplace_id: str | None = None) -> SettledPeriod:
    """A settlement file as the clearing check needs it: its header, home marketplace and the orders its
    ``Order`` rows cleared."""
    from amazon_netsuite.transforms.settlements import home_marketplace, parse_settlement

    parsed = parse_settlement(text)
    market = home_marketplace(parsed, mappings, marketplace_id)
    rows = parsed.rows
    order_ids: list[str] = []
    if "order-id" in rows.columns and "transaction-type" in rows.columns:
        mask = (rows["transaction-type"].str.strip().str.casefold() == "order") & (rows["order-id"].str.strip() != "")
        order_ids = sorted(set(rows.loc[mask, "order-id"].str.strip()))
    header = parsed.header
    return SettledPeriod(
        settlement_id=header.settlement_id, marketplace_id=market.marketplace_id, currency=header.currency,
        currency_id=market.currency_id, subsidiary_id=market.subsidiary_id,
        clearing_account_id=str(market.amazon_clearing_account_id), start=header.start.date().isoformat(),
        end=header.end.date().isoformat(), deposit_date=header.deposit_date.date().isoformat(),
        total=str(header.total.quantize(Decimal("0.01"))),
        order_ids=order_ids,
    )


def extract_region(
    hook: SellingPartnerHook,
    target: Mapping[str, Any],
    *,
    window: tuple[dt.datetime, dt.datetime],
    ledger: Ledger,
    mappings: Mappings,
    run_id: str,
    settlement_ids: Sequence[str] | None = None,
    read: Callable[[Mapping[str, Any]], str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Amazon's side of one region, staged: order facts and settled periods (see the module doc)."""
    from amazon_netsuite import staging
    from amazon_netsuite.flows.inventory import fba_amazon_counts
    from amazon_netsuite.flows.settlements import read_settlement_document

    read = read or read_settlement_document
    orders = [order_facts(o) for o in hook.iter_orders(last_updated_after=window[0], last_updated_before=window[1],
                                                        marketplace_ids=target["marketplace_ids"], by="created")]
    periods: list[dict[str, Any]] = []
    unreadable: list[dict[str, str]] = []
    for record in posted_settlements(ledger, window=window, target=target, settlement_ids=settlement_ids):
        replay = record.replay or {}
        try:
            period = settled_period(read(replay), mappings=mappings, marketplace_id=replay.get("marketplace"))
        except Exception as exc:  # noqa: BLE001 - reported as a finding: a settlement never checked is not "fine"
            log.warning("Settlement %s could not be read again for reconciliation: %s", record.source_key, exc)
            unreadable.append({"settlement_id": record.source_key, "error": f"{type(exc).__name__}: {exc}"[:500]})
            continue
        periods.append(period.__dict__)
    # the FBA check's reads: a failure costs that check only (an inventory_unreadable finding), not the region's
    # orders and clearing checks
    fba_counts: dict[str, int] | None = None
    recent_afn: list[str] = []
    fba_error: str | None = None
    try:
        fba_counts = fba_amazon_counts(hook, mappings=mappings, marketplace_ids=target["marketplace_ids"])
        recent_afn = recent_afn_orders(hook, mappings=mappings, marketplace_ids=target["marketplace_ids"],
                                       since=(now or dt.datetime.now(dt.UTC)) - FBA_GRACE)
    except Exception as exc:  # noqa: BLE001 - reported as a finding: an FBA check never made is not "fine"
        log.warning("%s: Amazon's FBA inventory could not be read for reconciliation: %s", target["conn_id"], exc)
        fba_counts, recent_afn, fba_error = None, [], f"{type(exc).__name__}: {exc}"[:500]
    # the MFN check's read of Amazon's side: a failure costs that comparison only (the pushed state stands in)
    mfn_listed: dict[str, dict[str, int]] | None
    recent_mfn: list[str] = []
    mfn_read_at = now or dt.datetime.now(dt.UTC)  # Amazon's snapshot is not newer than its request
    mfn_listed, problems = merchant_listings(hook, mappings=mappings, marketplace_ids=target["marketplace_ids"])
    try:
        # after the reports: Amazon lowers a listing when an order is placed, also while the reports were prepared
        recent_mfn = recent_afn_orders(hook, mappings=mappings, marketplace_ids=target["marketplace_ids"],
                                       since=(now or dt.datetime.now(dt.UTC)) - MFN_GRACE, channel="MFN")
    except REPORT_READ_ERRORS as exc:
        # without the recent orders Amazon's quantities cannot be told from drift: the pushed state stands in
        mfn_listed = None
        problems.append(f"recent merchant-fulfilled orders (searchOrders): {type(exc).__name__}: {exc}"[:300])
    mfn_error = "; ".join(problems)[:1000] or None
    if mfn_error:
        log.warning("%s: Amazon's merchant-fulfilled side was not fully read for reconciliation: %s", target["conn_id"], mfn_error)
    staged = staging.stage({"orders": orders, "settlements": periods, "unreadable": unreadable, "fba_counts": fba_counts,
                            "recent_afn": recent_afn, "fba_error": fba_error, "mfn_listed": mfn_listed,
                            "recent_mfn": recent_mfn, "mfn_error": mfn_error, "mfn_read_at": mfn_read_at.isoformat()},
                           dag_id=DAG_ID, run_id=run_id, name=f"amazon-{target['conn_id']}")
    fba_skus = len(fba_counts) if fba_counts is not None else None
    mfn_rows = {m: len(rows) for m, rows in mfn_listed.items()} if mfn_listed is not None else None
    log.info("%s: %s order(s) created %s..%s, %s posted settlement(s) to check, %s FBA SKU count(s), MFN listings %s",
             target["conn_id"], len(orders), window[0].isoformat(), window[1].isoformat(), len(periods),
             fba_skus if fba_skus is not None else "no (unreadable)",
             mfn_rows if mfn_rows is not None else "unreadable")
    return {"conn_id": target["conn_id"], "region": target.get("region"), "marketplace_ids": list(target["marketplace_ids"]),
            "staged": staged, "window": [window[0].isoformat(), window[1].isoformat()],
            "orders_read": len(orders), "settlements": len(periods), "fba_skus": fba_skus, "mfn_listings": mfn_rows}


#: What reading Amazon's merchant-fulfilled side may fail with and become an inventory_unreadable finding (an
#: Amazon refusal, a report failed or malformed, the network); anything else is a defect and fails the task.
REPORT_READ_ERRORS = (SellingPartnerError, ListingsReportError, OSError)

#: How long the extract waits for the merchant listings reports of one region, all together.
LISTINGS_REPORT_TIMEOUT = dt.timedelta(minutes=20)


def merchant_listings(hook: SellingPartnerHook, *, mappings: Mappings, marketplace_ids: Sequence[str],
                      poll_interval: float | None = None) -> tuple[dict[str, dict[str, int]], list[str]]:
    """(marketplace id -> seller SKU -> the merchant-fulfilled quantity Amazon shows now, of the mapped MFN SKUs;
    the problems of the marketplaces not read): one ``GET_MERCHANT_LISTINGS_ALL_DATA`` report per marketplace
    that maps MFN SKUs (the report takes one marketplace; all requested before any is waited for), requested and
    polled with the hook's report code (``create_report``, ``wait_for_report``, ``download_report_document``) as
    the returns flow's replay does; no per-SKU calls. A marketplace whose report fails (FATAL, timed out, DONE
    without a document, not Amazon's shape) is a problem and left out, the others are still read; a CANCELLED
    one is left out without a problem (Amazon cancels when there is no listing, but also when the same report
    was asked too often): its SKUs are then judged on what was last published (see ``compare_published``)."""
    from amazon_netsuite.dags_common import report_poll_seconds
    from amazon_netsuite.transforms.reconciliation import MERCHANT_LISTINGS_REPORT, parse_merchant_listings

    poll = report_poll_seconds() if poll_interval is None else poll_interval
    mfn = {m: {row.seller_sku for row in mappings.skus_for_marketplace(m) if row.fulfillment_channel == "MFN"}
           for m in marketplace_ids}
    out: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    requested: dict[str, str] = {}
    # every marketplace's report requested first, so Amazon prepares them side by side; then each is waited for
    for marketplace_id in (m for m in marketplace_ids if mfn[m]):
        try:
            requested[marketplace_id] = hook.create_report(MERCHANT_LISTINGS_REPORT, marketplace_ids=[marketplace_id])
        except REPORT_READ_ERRORS as exc:
            problems.append(f"{marketplace_id}: {type(exc).__name__}: {exc}"[:300])
    # the extract holds an amazon_sp_api pool slot while it waits: a stuck report becomes a problem after
    # LISTINGS_REPORT_TIMEOUT for all of them, not after the hook's default hour each
    deadline = time.monotonic() + LISTINGS_REPORT_TIMEOUT.total_seconds()
    for marketplace_id, report_id in requested.items():
        try:
            report = hook.wait_for_report(report_id, poll_interval=poll, timeout=max(1.0, deadline - time.monotonic()))
            if report.get("processingStatus") == "CANCELLED":
                log.warning("merchant listings report %s of %s was CANCELLED (no listings, or asked too often): its SKUs "
                            "are judged on what was last published", report_id, marketplace_id)
                continue
            if not report.get("reportDocumentId"):
                raise ListingsReportError(f"report {report_id} is {report.get('processingStatus')} without a reportDocumentId")
            text = hook.download_report_document(report["reportDocumentId"], report_type=MERCHANT_LISTINGS_REPORT)
            out[marketplace_id] = {sku: q for sku, q in parse_merchant_listings(text).items() if sku in mfn[marketplace_id]}
        except REPORT_READ_ERRORS as exc:
            problems.append(f"{marketplace_id} (report {report_id}): {type(exc).__name__}: {exc}"[:300])
    return out, problems


def recent_afn_orders(hook: SellingPartnerHook, *, mappings: Mappings, marketplace_ids: Sequence[str],
                      since: dt.datetime, channel: str = "AFN") -> list[str]:
    """``{marketplace}|{sku}`` of the mapped AFN SKUs in Amazon-fulfilled orders Amazon changed since ``since``
    (one ``searchOrders`` with ``fulfilledBy=AMAZON``, items included): the FBA SKUs not judged yet. ``channel``
    ``MFN``: the mapped MFN SKUs of merchant-fulfilled orders (``fulfilledBy=MERCHANT``; Amazon lowers the
    listing's quantity when the order is placed, before the orders flow has read it). Empty when the region maps
    no SKU of the channel (no call)."""
    from amazon_netsuite.transforms.orders import merchant_units

    mapped = {(m, row.seller_sku) for m in marketplace_ids for row in mappings.skus_for_marketplace(m)
              if row.fulfillment_channel == channel}
    if not mapped:
        return []
    keys: set[str] = set()
    for order in hook.iter_orders(last_updated_after=since, marketplace_ids=sorted({m for m, _ in mapped}),
                                  fulfilled_by=["AMAZON" if channel == "AFN" else "MERCHANT"]):
        marketplace = (order.get("salesChannel") or {}).get("marketplaceId")
        keys.update(f"{marketplace}|{sku}" for sku in merchant_units(order) if (marketplace, sku) in mapped)
    return sorted(keys)


def _failed_reasons(ledger: Ledger) -> dict[str, str]:
    """Amazon order id -> reason, for every dead-lettered record that names an order (orders, billing...)."""
    out: dict[str, str] = {}
    for record in ledger.failed():
        replay = record.replay or {}
        shipment = replay.get("shipment") if isinstance(replay.get("shipment"), Mapping) else {}
        for candidate in (replay.get("amazon_order_id"), replay.get("order_id"), shipment.get("amazon_order_id"),
                          record.source_key):
            if candidate:
                out.setdefault(str(candidate), f"{record.dag_id} {record.reason}")
    return out


def _sales_orders(netsuite: NetSuiteHook, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Sales orders by externalId (case-folded, as NetSuite compares them), body fields only: what the checks
    read (total, orderStatus, tranDate, the marketplace). One search per 500 ids (SOAP
    ``TransactionSearchBasic``; REST one SuiteQL query), never a read per order."""
    if not external_ids:
        return {}
    found = netsuite.search_by_external_ids("salesOrder", list(external_ids), custom_fields=SALES_ORDER_FIELDS)
    return {str(so["externalId"]).casefold(): so for so in found if so.get("externalId")}


def _csv(findings: Sequence[Finding]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for finding in findings:
        writer.writerow(finding.as_dict())
    return buffer.getvalue().encode("utf-8")


def compare_region(
    extracted: Mapping[str, Any],
    *,
    netsuite: NetSuiteHook,
    ledger: Ledger,
    mappings: Mappings,
    run_id: str,
    now: dt.datetime | None = None,
    bill_after_days: int = 3,
    post_fx_remainder: bool = False,
    fx_account_id: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """NetSuite's side of one region and the comparisons; findings to the ledger and CSVs (see module doc)."""
    from amazon_netsuite import staging
    from amazon_netsuite.archive import archive_document
    from amazon_netsuite.netsuite.records import sales_order_external_id

    now = now or dt.datetime.now(dt.UTC)
    data = staging.load(extracted["staged"])
    window = (dt.datetime.fromisoformat(extracted["window"][0]), dt.datetime.fromisoformat(extracted["window"][1]))
    region_markets = set(extracted["marketplace_ids"])
    currencies = {m.marketplace_id: m.currency for m in mappings.marketplaces.values()}
    failed_reasons = _failed_reasons(ledger)

    # orders
    facts = data["orders"]
    by_external = _sales_orders(netsuite, [sales_order_external_id(f["order_id"]) for f in facts])
    sales_orders = {f["order_id"]: by_external[sales_order_external_id(f["order_id"]).casefold()]
                    for f in facts if sales_order_external_id(f["order_id"]).casefold() in by_external}
    recent = [so for so in netsuite.search_modified_since("salesOrder", window[0], custom_fields=SALES_ORDER_FIELDS)
              if custom_field(so, "custbody_amazon_marketplace_id") in region_markets]
    order_findings, order_counts = compare_orders(
        facts, sales_orders, window=window, now=now, bill_after=dt.timedelta(days=bill_after_days),
        recent_sales_orders=recent, currencies=currencies, failed_reasons=failed_reasons)

    # clearing
    periods = [SettledPeriod(**p) for p in data["settlements"]]
    clearing_findings: list[Finding] = [
        Finding(CHECK_CLEARING, "settlement_unreadable", u["settlement_id"],
                f"settlement {u['settlement_id']} was posted but its file could not be read again to check it: {u['error']}")
        for u in data.get("unreadable") or []]
    results: list[ClearingResult] = []
    if periods:
        earliest = min(dt.date.fromisoformat(p.start) for p in periods) - BILLING_LOOKBACK
        lines = netsuite.gl_lines(sorted({p.clearing_account_id for p in periods}), date_from=earliest)
        settled_orders = sorted({o for p in periods for o in p.order_ids})
        their_orders = _sales_orders(netsuite, [sales_order_external_id(o) for o in settled_orders])
        so_map = {str(so["internalId"]): oid for oid in settled_orders
                  if (so := their_orders.get(sales_order_external_id(oid).casefold())) is not None}
        for period in periods:
            result, found = clearing_status(period, lines, order_of_sales_order=so_map, failed_reasons=failed_reasons)
            if post_fx_remainder and not dry_run and any(f.kind == "fx_remainder" for f in found):
                posted = _post_fx(netsuite, period, result, fx_account_id)
                if posted is not None:
                    found = [f for f in found if f.kind != "fx_remainder"] + ([posted] if isinstance(posted, Finding) else [])
            results.append(result)
            clearing_findings.extend(found)

    # fba_counts None or absent: Amazon's FBA inventory was not read (not "Amazon holds nothing")
    inventory_findings, inventory_counts = compare_inventory(
        data.get("fba_counts"), region=extracted.get("region"), marketplace_ids=extracted["marketplace_ids"],
        netsuite=netsuite, ledger=ledger, mappings=mappings, now=now, recent_afn=data.get("recent_afn") or (),
        listed=data.get("mfn_listed"), recent_mfn=data.get("recent_mfn") or (),
        listed_at=dt.datetime.fromisoformat(data["mfn_read_at"]) if data.get("mfn_read_at") else None)
    if data.get("fba_error"):
        inventory_findings.insert(0, Finding(
            CHECK_INVENTORY, "inventory_unreadable", extracted["conn_id"],
            f"Amazon's FBA inventory ({extracted['conn_id']}) could not be read, so the FBA check was not made: "
            f"{data['fba_error']}. Re-run this day once getInventorySummaries answers"))
    if data.get("mfn_error"):
        inventory_findings.insert(0, Finding(
            CHECK_INVENTORY, "inventory_unreadable", f"{extracted['conn_id']}|{MERCHANT_LISTINGS_REPORT}",
            f"Amazon's merchant-fulfilled quantities ({extracted['conn_id']}) were not fully read: {data['mfn_error']}. "
            f"Where they were not read, the MFN check compared the quantities last published, not what Amazon shows. "
            f"Re-run this day once Amazon answers ({MERCHANT_LISTINGS_REPORT}, searchOrders)"))

    outcome: dict[str, Any] = {"conn_id": extracted["conn_id"], "checks": {}, "csv": {}}
    for check, findings, counts, detail in (
        (CHECK_ORDERS, order_findings, order_counts, None),
        (CHECK_CLEARING, clearing_findings, {"settlements": len(periods),
                                             "balanced": sum(1 for r in results if r.balanced)},
         [r.as_dict() for r in results]),
        (CHECK_INVENTORY, inventory_findings, inventory_counts, None),
    ):
        uri = archive_document("reconciliation", f"{run_id}-{extracted['conn_id']}-{check}", _csv(findings), suffix=".csv")
        if not dry_run:
            ledger.record_reconciliation(run_id=run_id, scope=extracted["conn_id"], check=check,
                                         findings=[f.as_dict() for f in findings], counts={**counts, "csv": uri},
                                         detail=detail, window=window)
        outcome["checks"][check] = {"findings": len(findings), "counts": counts,
                                    "by_kind": counts_by_check(findings).get(check, {}),
                                    "first": [f.message for f in findings[:5]]}
        outcome["csv"][check] = uri
    outcome["clearing"] = [{"settlement_id": r.settlement_id, "net": str(r.net), "base_net": str(r.base_net),
                            "currency": r.currency, "balanced": r.balanced} for r in results]
    staging.discard(extracted["staged"])
    return outcome


def compare_inventory(
    fba_counts: Mapping[str, int] | None,
    *,
    region: str | None,
    marketplace_ids: Sequence[str],
    netsuite: NetSuiteHook,
    ledger: Ledger,
    mappings: Mappings,
    now: dt.datetime,
    recent_afn: Sequence[str] = (),
    listed: Mapping[str, Mapping[str, int]] | None = None,
    recent_mfn: Sequence[str] = (),
    listed_at: dt.datetime | None = None,
) -> tuple[list[Finding], dict[str, int]]:
    """The inventory check of one region, with the inventory flow's own code: FBA (``fba_compare``: Amazon's
    counts against the FBA locations) and MFN (``read_stock`` afresh as a dry run + ``plan_region``: what the
    formula gives now, against what Amazon shows, ``listed``: the All Listings Report per marketplace, read in the
    extract, and the quantities last published: the pushed state; ``listed`` None: not read, the pushed state
    stands in). ``fba_counts`` None: Amazon's FBA inventory was not read; the FBA check is counted not checked
    (``fba_not_checked``), never compared against zero. FBA: NetSuite is expected to hold Amazon's count plus
    the units of unsynced AFN orders; SKUs in ``recent_afn`` (an AFN order Amazon changed within ``FBA_GRACE``)
    are counted ``fba_recent``, not judged. MFN: SKUs whose stock moved at their own locations, or whose items'
    unsynced order units changed, within ``MFN_GRACE``, and those of merchant-fulfilled orders Amazon changed
    within it (``recent_mfn``) are counted ``mfn_recent``, not judged, and so are, with ``listed`` (asked for at
    ``listed_at``), the SKUs published within ``MFN_GRACE`` before it: a feed Amazon accepted may not show in
    the report yet. Reads NetSuite only; writes nothing."""
    from amazon_netsuite.flows.inventory import fba_compare, pushed_scope, read_stock
    from amazon_netsuite.transforms import inventory as rules

    # FBA: NetSuite is expected to hold the units of Amazon-fulfilled orders not synced yet on top of Amazon's
    # count; SKUs with an order Amazon changed within the grace (recent_afn: the orders flow may not have read
    # it yet) are not judged
    if fba_counts is None:
        findings: list[Finding] = []
        counts: dict[str, int] = {"fba_skus": 0, "fba_mismatch": 0, "fba_not_checked": 1}
        fba_compared = 0
    else:
        differences, fba_compared = fba_compare(fba_counts, netsuite=netsuite, mappings=mappings,
                                                marketplace_ids=marketplace_ids,
                                                unsynced=ledger.unsynced_order_units(key="afn_units"))
        # Amazon's count is live, so only a ledger change that drops units from the allowance without NetSuite's
        # stock moving needs the grace: an order skipped just now (one synced takes them out of NetSuite too)
        recent_fba = set(recent_afn) | {f"{m}|{sku}" for m, sku in _order_units_changed(
            ledger, since=now - FBA_GRACE, key="afn_units", statuses=("skipped",))}
        judged = [d for d in differences if f"{d.marketplace_id}|{d.seller_sku}" not in recent_fba]
        findings = fba_findings(judged)
        counts = {"fba_skus": fba_compared, "fba_mismatch": len(judged), "fba_recent": len(differences) - len(judged)}
    targets = rules.region_targets(mappings, region) if region else []
    if targets:
        stock, states, read = read_stock(netsuite=netsuite, ledger=ledger, mappings=mappings, dry_run=True, afresh=True,
                                         region=region, now=now)
        pushed = ledger.pushed_quantities(pushed_scope(region))
        plan = rules.plan_region(targets, region=region, stock=stock, item_states=states,
                                 unsynced=ledger.unsynced_order_units(), pushed=pushed)
        # only the locations the SKU's quantity comes from: its item's FBA location (and other regions'
        # warehouses) move with every FBA order, which never changes the merchant-fulfilled quantity
        moved = {key for key, when in read.changed_at.items() if when > now - MFN_GRACE}
        # and the items whose unsynced order units changed (an order dead-lettered, skipped or replayed):
        # the formula moved without NetSuite's stock moving, and the flow has not published it yet
        held = rules.unsynced_item_units(_order_units_changed(ledger, since=now - MFN_GRACE), targets)
        # and the SKUs of merchant-fulfilled orders Amazon changed (it lowered the listing on the order, before
        # the orders flow read it)
        ordered = {key.partition("|")[2] for key in recent_mfn}
        if listed is not None:
            ordered |= ledger.pushed_since(pushed_scope(region), (listed_at or now) - MFN_GRACE)
        recent = [t.seller_sku for t in targets
                  if any((s.item_id, loc) in moved for s in t.sources for loc in s.location_ids)
                  or any(s.item_id in held for s in t.sources) or t.seller_sku in ordered]
        mfn, mfn_counts = compare_published(plan, pushed, recent_skus=recent, listed=listed)
        findings.extend(mfn)
        counts.update(mfn_counts)
    log.info("Inventory %s: %s FBA SKU(s) compared (%s differ, %s not judged yet), %s", region, fba_compared,
             counts["fba_mismatch"], counts.get("fba_recent", 0), {k: v for k, v in counts.items() if k.startswith("mfn_")})
    return findings, counts


def _order_units_changed(ledger: Ledger, *, since: dt.datetime, key: str = "units",
                         statuses: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
    """(marketplace id, seller SKU) -> units, of the orders flow's sales-order records (any status) the ledger
    changed since ``since``: the orders whose unsynced units (``Ledger.unsynced_order_units``; ``key``
    ``units`` merchant-fulfilled, ``afn_units`` Amazon-fulfilled) may have changed."""
    from amazon_netsuite.flows.orders import DAG_ID as ORDERS_DAG
    from amazon_netsuite.flows.orders import RECORD_TYPE as SALES_ORDER

    units: dict[tuple[str, str], int] = {}
    for record in ledger.records(dag_id=ORDERS_DAG, record_type=SALES_ORDER, updated_after=since, limit=None,
                                 statuses=statuses):
        replay = record.replay or {}
        marketplace = replay.get("marketplace_id")
        for sku, qty in (replay.get(key) or {}).items():
            if marketplace and isinstance(qty, int) and qty > 0:
                units[(marketplace, sku)] = units.get((marketplace, sku), 0) + qty
    return units


def _post_fx(netsuite: NetSuiteHook, period: SettledPeriod, result: ClearingResult, fx_account_id: str | None):
    """Post ``AMZ-JE-FX-{settlementId}`` for the base-currency remainder; returns True when posted, or a
    Finding saying why it could not be."""
    if not fx_account_id:
        return Finding(CHECK_CLEARING, "fx_remainder", period.settlement_id,
                       f"settlement {period.settlement_id} leaves {result.base_net} in the base currency; "
                       "post_fx_remainder needs fx_account_id (the realized FX gain/loss account)",
                       difference=str(result.base_net), marketplace_id=period.marketplace_id, currency=period.currency)
    subsidiary = netsuite.get_record("subsidiary", internal_id=str(period.subsidiary_id)) or {}
    base_currency = (subsidiary.get("currency") or {}).get("internalId")
    record = fx_journal(period, result.base_net, fx_account_id=fx_account_id, base_currency_id=str(base_currency),
                        tran_date=dt.date.fromisoformat(period.deposit_date))
    [written] = netsuite.upsert_records("journalEntry", [record])
    if not written.ok:
        return Finding(CHECK_CLEARING, "fx_remainder", period.settlement_id,
                       f"could not post {fx_external_id(period.settlement_id)}: {written.describe()}",
                       difference=str(result.base_net), marketplace_id=period.marketplace_id, currency=period.currency)
    log.info("Posted %s: %s moved from clearing %s to FX account %s", record["externalId"], result.base_net,
             period.clearing_account_id, fx_account_id)
    result.fx_posted, result.base_net = result.fx_posted - result.base_net, Decimal("0.00")
    return True


def finish(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One summary over the regions; raises ``AirflowFailException`` (alert once, no retry) when anything is
    off, with the counts by check and kind, the first findings and where the CSVs are."""
    from airflow.sdk.exceptions import AirflowFailException

    total = 0
    lines: list[str] = []
    for result in results:
        for check, info in result["checks"].items():
            total += info["findings"]
            kinds = ", ".join(f"{k}={v}" for k, v in sorted(info["by_kind"].items())) or "none"
            compared = ", ".join(f"{k}={v}" for k, v in info["counts"].items())
            lines.append(f"{result['conn_id']} {check}: {info['findings']} finding(s) ({kinds}); {compared}; "
                         f"CSV {result['csv'][check]}")
            lines.extend(f"    - {message}" for message in info["first"])
    text = "\n".join(lines)
    if total:
        raise AirflowFailException(
            f"Reconciliation found {total} difference(s) between Amazon and NetSuite.\n{text}\n"
            "Each one is in the ledger (the Amazon ⇄ NetSuite page in the Airflow UI, or the CSVs above); fix the "
            "cause (replay dead-lettered records: sync_replay_failed_records), then re-run this day.")
    log.info("Reconciliation: Amazon and NetSuite agree.\n%s", text)
    return {"findings": 0, "summary": lines}
