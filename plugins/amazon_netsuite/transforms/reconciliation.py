"""Reconciliation checks (pure, no I/O): do Amazon and NetSuite agree?

- :func:`compare_orders`: Amazon orders (``searchOrders`` pages, reduced by :func:`order_facts` to ids,
  status, total and dates: no PII) against the NetSuite sales orders ``AMZ-SO-{orderId}``: missing, extra,
  total or currency mismatch, cancelled at Amazon but open in NetSuite, shipped but not billed after N days.
- :func:`clearing_status`: for one posted settlement, the Amazon clearing account nets to zero in the
  transaction currency over the settlement's journal lines (``AMZ-JE-{settlementId}[-n]``) and the billing
  documents of the orders it settled; the base-currency remainder (exchange rates of the billing dates vs
  the deposit date) is reported, and orders the settlement cleared but NetSuite never billed are listed.
- :func:`fba_findings`: Amazon's fulfillable FBA units against the NetSuite FBA location, per SKU (the
  differences of the inventory flow's own comparison, ``flows.inventory.fba_compare``).
- :func:`compare_published`: the merchant-fulfilled quantity Amazon shows per marketplace and SKU (the All
  Listings Report, :func:`parse_merchant_listings`) against what the inventory formula gives from NetSuite's
  availability now and what the inventory flow last published (its pushed state): above the formula is an
  overselling risk, other than published a drift made outside the project, below the formula a stale offer.

Every difference is a :class:`Finding`; a run with findings fails (never silently green). Money is
``Decimal`` to the cent, compared per currency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.netsuite.records import sales_order_external_id

if TYPE_CHECKING:
    from amazon_netsuite.transforms.inventory import FbaDifference, RegionPlan

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

CHECK_ORDERS = "orders"
CHECK_CLEARING = "clearing"
CHECK_INVENTORY = "inventory"
CHECKS = (CHECK_ORDERS, CHECK_CLEARING, CHECK_INVENTORY)

#: Amazon statuses whose order must be a sales order in NetSuite (transforms/orders.py syncs them)
SYNCED_STATUSES = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"})
#: NetSuite sales order statuses that are still open (something left to fulfill or bill)
OPEN_ORDER_STATUSES = frozenset({"_pendingApproval", "_pendingFulfillment", "_partiallyFulfilled",
                                 "_pendingBillingPartFulfilled", "_pendingBilling"})
BILLED_ORDER_STATUSES = frozenset({"_fullyBilled", "_closed"})
#: transaction type enum values of billing documents and refunds in a GL search
BILLING_TYPES = frozenset({"_cashSale", "_invoice"})


@dataclass(frozen=True)
class Finding:
    """One difference, as the ledger, the CSV and the page show it (ids and amounts only, no PII)."""

    check: str  # orders | clearing | inventory
    kind: str  # missing_sales_order, extra_sales_order, total_mismatch, currency_mismatch, cancelled_open,
    #            shipped_not_billed, clearing_not_zero, fx_remainder, settled_not_billed, fba_mismatch,
    #            inventory_unreadable, mfn_oversell_risk, mfn_drift, mfn_stale
    key: str  # the Amazon order id, settlement id or seller SKU it is about
    message: str
    marketplace_id: str | None = None
    currency: str | None = None
    amazon_value: str | None = None
    netsuite_value: str | None = None
    difference: str | None = None
    netsuite_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def money(value: Any) -> Decimal:
    """A NetSuite double or an Amazon amount string as a Decimal to the cent (floats through ``repr``)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value)).quantize(CENT)


def _instant(value: Any) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def order_facts(order: Mapping[str, Any]) -> dict[str, Any]:
    """What reconciliation keeps of an Amazon order (Orders API v2026-01-01): ids, status, total and
    dates. No buyer or address field is kept, so the facts may be staged, logged and written to CSV."""
    proceeds = (order.get("proceeds") or {}).get("grandTotal") or {}
    shipped = [p.get("shipTime") for p in order.get("packages") or [] if p.get("shipTime")]
    return {
        "order_id": str(order["orderId"]),
        "marketplace_id": (order.get("salesChannel") or {}).get("marketplaceId"),
        "status": (order.get("fulfillment") or {}).get("fulfillmentStatus") or "",
        "total": str(proceeds["amount"]) if proceeds.get("amount") is not None else None,
        "currency": proceeds.get("currencyCode"),
        "created": order.get("createdTime"),
        "updated": order.get("lastUpdatedTime"),
        "shipped": max(shipped) if shipped else None,
    }


def custom_field(record: Mapping[str, Any], script_id: str) -> Any:
    for entry in record.get("customFieldList") or []:
        if entry.get("scriptId") == script_id:
            return entry.get("value")
    return None


def order_id_of(sales_order: Mapping[str, Any]) -> str | None:
    """The Amazon order id of a sales order the product wrote (``AMZ-SO-{orderId}``), else None."""
    external_id = str(sales_order.get("externalId") or "")
    prefix = sales_order_external_id("x")[:-1]
    return external_id[len(prefix):] if external_id.upper().startswith(prefix.upper()) else None


def compare_orders(
    amazon: Sequence[Mapping[str, Any]],
    sales_orders: Mapping[str, Mapping[str, Any]],
    *,
    window: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    bill_after: dt.timedelta = dt.timedelta(days=3),
    grace: dt.timedelta = dt.timedelta(hours=1),
    recent_sales_orders: Iterable[Mapping[str, Any]] = (),
    currencies: Mapping[str, str] | None = None,
    failed_reasons: Mapping[str, str] | None = None,
) -> tuple[list[Finding], dict[str, int]]:
    """Findings for the orders created in ``window``, and counts of what was compared.

    ``amazon``: :func:`order_facts` of every order updated since the window's start (the orders flow's
    own read); ``sales_orders``: the NetSuite sales orders of those orders by Amazon order id (body fields:
    ``total``, ``orderStatus``, ``internalId``); ``recent_sales_orders``: the ``AMZ-SO-`` sales orders
    NetSuite changed since the window's start, to find ones Amazon does not know (``extra``).
    ``currencies``: marketplace id -> ISO currency; ``failed_reasons``: order id -> the ledger's reason for
    an order that was dead-lettered (named in the finding). Orders Amazon changed within ``grace`` of
    ``now`` are counted ``recent`` and not judged yet (the 15-minute orders flow may not have run).
    """
    start, end = window
    failed_reasons = failed_reasons or {}
    findings: list[Finding] = []
    counts = {"amazon_orders": 0, "compared": 0, "recent": 0, "not_synced_by_design": 0}
    known = {fact["order_id"] for fact in amazon}
    for fact in amazon:
        created = _instant(fact.get("created"))
        if created is None or not start <= created < end:
            continue
        counts["amazon_orders"] += 1
        order_id, status = fact["order_id"], fact["status"]
        updated = _instant(fact.get("updated"))
        if updated is not None and updated > now - grace:
            counts["recent"] += 1
            continue
        so = sales_orders.get(order_id)
        marketplace = fact.get("marketplace_id")
        currency = fact.get("currency") or (currencies or {}).get(marketplace or "")
        base = {"marketplace_id": marketplace, "currency": currency}
        if status in SYNCED_STATUSES:
            counts["compared"] += 1
            if so is None:
                why = f" (dead-lettered: {failed_reasons[order_id]}; fix and replay)" if order_id in failed_reasons else ""
                findings.append(Finding(CHECK_ORDERS, "missing_sales_order", order_id,
                                        f"Amazon order {order_id} ({status}) has no sales order "
                                        f"{sales_order_external_id(order_id)} in NetSuite{why}",
                                        amazon_value=fact.get("total"), **base))
                continue
            amazon_total, netsuite_total = money(fact.get("total")), money(so.get("total"))
            if amazon_total != netsuite_total:
                findings.append(Finding(CHECK_ORDERS, "total_mismatch", order_id,
                                        f"sales order {so.get('externalId')} totals {netsuite_total} {currency or ''} but "
                                        f"Amazon's grandTotal is {amazon_total} {currency or ''}".replace("  ", " "),
                                        amazon_value=str(amazon_total), netsuite_value=str(netsuite_total),
                                        difference=str(netsuite_total - amazon_total),
                                        netsuite_id=str(so.get("internalId") or ""), **base))
            shipped = _instant(fact.get("shipped"))
            if (status == "SHIPPED" and shipped is not None and shipped < now - bill_after
                    and so.get("orderStatus") in OPEN_ORDER_STATUSES):
                days = (now - shipped).days
                findings.append(Finding(CHECK_ORDERS, "shipped_not_billed", order_id,
                                        f"Amazon shipped order {order_id} {days} day(s) ago but sales order "
                                        f"{so.get('externalId')} is still {so.get('orderStatus')} (not fulfilled/billed)",
                                        amazon_value=status, netsuite_value=str(so.get("orderStatus")),
                                        netsuite_id=str(so.get("internalId") or ""), **base))
        elif status == "CANCELLED":
            counts["compared"] += 1
            if so is not None and so.get("orderStatus") not in ("_closed", "_cancelled"):
                findings.append(Finding(CHECK_ORDERS, "cancelled_open", order_id,
                                        f"Amazon cancelled order {order_id} but sales order {so.get('externalId')} is "
                                        f"{so.get('orderStatus')} in NetSuite (its lines should be closed)",
                                        amazon_value=status, netsuite_value=str(so.get("orderStatus")),
                                        netsuite_id=str(so.get("internalId") or ""), **base))
        else:
            counts["not_synced_by_design"] += 1  # PENDING, UNFULFILLABLE: the orders flow does not write them
    for so in recent_sales_orders:
        order_id = order_id_of(so)
        if order_id is None or order_id in known:
            continue
        tran = _instant(so.get("tranDate"))
        if tran is not None and not start.date() <= tran.date() <= end.date():
            continue
        findings.append(Finding(CHECK_ORDERS, "extra_sales_order", order_id,
                                f"sales order {so.get('externalId')} has no Amazon order {order_id} in the "
                                "marketplaces this region reads",
                                netsuite_value=str(money(so.get("total"))), netsuite_id=str(so.get("internalId") or ""),
                                marketplace_id=custom_field(so, "custbody_amazon_marketplace_id")))
    return findings, counts


# ------------------------------------------------------------------------------------------ clearing


@dataclass
class SettledPeriod:
    """A posted settlement as the clearing check needs it (from its file and marketplaces.csv)."""

    settlement_id: str
    marketplace_id: str
    currency: str
    currency_id: str | None
    subsidiary_id: str | None
    clearing_account_id: str
    start: str
    end: str
    deposit_date: str
    total: str
    order_ids: list[str] = field(default_factory=list)  # orders with Order rows (what it cleared)


@dataclass
class ClearingResult:
    settlement_id: str
    marketplace_id: str
    currency: str
    clearing_account_id: str
    journal_amount: Decimal
    billed_amount: Decimal
    net: Decimal  # transaction currency: zero when the settlement cleared exactly what was billed
    base_net: Decimal  # base currency: the FX remainder (after any AMZ-JE-FX entry)
    fx_posted: Decimal
    orders: int
    unbilled: list[str]
    journals: list[str]

    @property
    def balanced(self) -> bool:
        return self.net == ZERO and self.base_net == ZERO and not self.unbilled

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update({k: str(v) for k, v in out.items() if isinstance(v, Decimal)})
        out["balanced"] = self.balanced
        return out


def journal_belongs(external_id: str | None, settlement_id: str) -> bool:
    """``AMZ-JE-{sid}`` and its parts / adjusting entries ``AMZ-JE-{sid}-...`` (not another settlement's)."""
    text = (external_id or "").upper()
    own = f"AMZ-JE-{settlement_id}".upper()
    return text == own or text.startswith(own + "-")


def fx_external_id(settlement_id: str) -> str:
    """``AMZ-JE-FX-{settlementId}``: the realized FX gain/loss entry of a settlement's clearing remainder."""
    return f"AMZ-JE-FX-{settlement_id}"


def clearing_status(
    period: SettledPeriod,
    lines: Iterable[Any],
    *,
    order_of_sales_order: Mapping[str, str],
    failed_reasons: Mapping[str, str] | None = None,
) -> tuple[ClearingResult, list[Finding]]:
    """Does the clearing account net to zero for ``period``?

    ``lines``: :class:`~amazon_netsuite.netsuite.results.GlLine` on the marketplace's clearing account;
    ``order_of_sales_order``: sales order internalId -> Amazon order id, for the settlement's orders. The
    settlement's own journal lines plus the billing documents created from its orders' sales orders must
    sum to zero in the settlement currency; the base-currency sum (with the ``AMZ-JE-FX-`` entry, if
    posted) is the FX remainder. Orders with Order rows and no billing document are ``settled_not_billed``.
    """
    failed_reasons = failed_reasons or {}
    wanted = set(period.order_ids)
    journal = billed = base = fx_posted = ZERO
    journals: set[str] = set()
    billed_orders: set[str] = set()
    fx_id = fx_external_id(period.settlement_id).upper()
    for line in lines:
        if str(line.account_id) != str(period.clearing_account_id):
            continue
        in_currency = period.currency_id is None or line.currency_id is None or str(line.currency_id) == str(period.currency_id)
        if journal_belongs(line.external_id, period.settlement_id):
            journals.add(line.external_id)
            journal += line.amount if in_currency else ZERO
            base += line.base_amount
        elif (line.external_id or "").upper() == fx_id:
            fx_posted += line.base_amount
            base += line.base_amount
        elif line.record_type in BILLING_TYPES and line.created_from_id and str(line.created_from_id) in order_of_sales_order:
            order_id = order_of_sales_order[str(line.created_from_id)]
            if order_id not in wanted:
                continue
            billed_orders.add(order_id)
            billed += line.amount if in_currency else ZERO
            base += line.base_amount
    net = (journal + billed).quantize(CENT)
    base_net = base.quantize(CENT)
    unbilled = sorted(wanted - billed_orders)
    result = ClearingResult(period.settlement_id, period.marketplace_id, period.currency, str(period.clearing_account_id),
                            journal.quantize(CENT), billed.quantize(CENT), net, base_net, fx_posted.quantize(CENT),
                            len(wanted), unbilled, sorted(journals))
    findings: list[Finding] = []
    common = {"marketplace_id": period.marketplace_id, "currency": period.currency}
    if not journals:
        findings.append(Finding(CHECK_CLEARING, "clearing_not_zero", period.settlement_id,
                                f"settlement {period.settlement_id} has no journal line on clearing account "
                                f"{period.clearing_account_id} (AMZ-JE-{period.settlement_id} not posted or not on clearing)",
                                amazon_value=period.total, **common))
    elif net != ZERO:
        findings.append(Finding(CHECK_CLEARING, "clearing_not_zero", period.settlement_id,
                                f"clearing account {period.clearing_account_id} does not net to zero for settlement "
                                f"{period.settlement_id}: the settlement cleared {-journal} {period.currency}, its orders' "
                                f"billing documents put {billed} {period.currency} in; off by {net} {period.currency}",
                                amazon_value=str(-journal), netsuite_value=str(billed), difference=str(net), **common))
    for order_id in unbilled:
        why = f" (dead-lettered: {failed_reasons[order_id]}; fix and replay)" if order_id in failed_reasons else ""
        findings.append(Finding(CHECK_CLEARING, "settled_not_billed", order_id,
                                f"settlement {period.settlement_id} cleared order {order_id} but NetSuite has no billing "
                                f"document for it{why}", **common))
    if net == ZERO and base_net != ZERO:
        findings.append(Finding(CHECK_CLEARING, "fx_remainder", period.settlement_id,
                                f"settlement {period.settlement_id} nets to zero in {period.currency} but leaves "
                                f"{base_net} in the base currency on clearing account {period.clearing_account_id} "
                                f"(exchange rates of the billing dates vs the deposit date): post it as realized FX "
                                f"({fx_external_id(period.settlement_id)}, param post_fx_remainder)",
                                difference=str(base_net), **common))
    return result, findings


def fx_journal(period: SettledPeriod, remainder: Decimal, *, fx_account_id: str, base_currency_id: str,
               tran_date: dt.date) -> dict[str, Any]:
    """The ``AMZ-JE-FX-{settlementId}`` journal entry moving a base-currency ``remainder`` out of clearing to
    the realized FX gain/loss account (in the subsidiary's base currency, exchange rate 1)."""
    from amazon_netsuite.netsuite.records import JournalLine, build_journal_entry

    if remainder == ZERO:
        raise ValueError(f"settlement {period.settlement_id}: no FX remainder to post")
    return build_journal_entry(
        external_id=fx_external_id(period.settlement_id), subsidiary_id=period.subsidiary_id or "",
        currency_id=base_currency_id, tran_date=tran_date,
        lines=[JournalLine.for_amount(period.clearing_account_id, -remainder,
                                      memo=f"Realized FX on Amazon settlement {period.settlement_id}"),
               JournalLine.for_amount(fx_account_id, remainder,
                                      memo=f"Realized FX on Amazon settlement {period.settlement_id}")],
        memo=f"Amazon settlement {period.settlement_id}: clearing FX remainder",
    )


def counts_by_check(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for finding in findings:
        kinds = out.setdefault(finding.check, {})
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    return out


# ------------------------------------------------------------------------------------------ inventory


def _units(value: Decimal | int) -> str:
    """A quantity as people write it: ``70``, not NetSuite's double ``70.0``; fractions kept."""
    value = Decimal(value)
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


def fba_findings(differences: Iterable[FbaDifference]) -> list[Finding]:
    """One ``fba_mismatch`` per (marketplace, AFN SKU) whose Amazon fulfillable units (in item units:
    ``units_per_sku`` x Amazon's count) plus the units of its orders not in NetSuite yet differ from NetSuite's
    available quantity at the marketplace's FBA location. ``difference`` is NetSuite minus that, as for order
    totals."""
    findings = []
    for diff in differences:
        held = (f" + {diff.unsynced} unit(s) of orders not in NetSuite yet (failed or pending in the ledger) = "
                f"{_units(diff.expected)}") if diff.unsynced else ""
        findings.append(Finding(
            CHECK_INVENTORY, "fba_mismatch", diff.seller_sku,
            f"FBA {diff.seller_sku} in {diff.marketplace_id}: Amazon counts {diff.amazon} fulfillable unit(s){held}, the "
            f"NetSuite FBA location has {_units(diff.netsuite)} of item {diff.item_id} available; look first for an "
            "Amazon-fulfilled order, FBA shipment, return or removal that did not sync (the ledger's dead-lettered "
            "records; sync_replay_failed_records). Only once those are ruled out, post the day's FBA adjustment "
            "(netsuite_inventory_to_amazon, param fba_adjustment)",
            marketplace_id=diff.marketplace_id, amazon_value=_units(diff.amazon), netsuite_value=_units(diff.netsuite),
            difference=_units(-diff.delta), netsuite_id=diff.item_id))
    return findings


#: the All Listings Report (tab-separated; one row per listing of the requested marketplace, any status)
MERCHANT_LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
#: the columns the MFN check reads; a report without them is malformed (never read as "Amazon lists nothing")
MERCHANT_LISTINGS_COLUMNS = ("seller-sku", "quantity", "fulfillment-channel")
#: Amazon's fulfillment channel of a merchant-fulfilled offer (FBA rows say AMAZON_NA, AMAZON_EU...)
MFN_CHANNEL = "DEFAULT"


class ListingsReportError(ValueError):
    """The merchant listings report is not Amazon's shape (missing columns, a quantity that is not a count)."""


#: Localized headers of the All Listings Report -> Amazon's English names, for the columns read. Amazon sends
#: the report in the marketplace's language unless asked otherwise: Japan's has Japanese headers (出品者SKU,
#: 数量, フルフィルメント・チャンネル), and EU sellers with a localized Seller Central see e.g. ``Versender``.
#: A header not known here leaves its column missing: the report is then unreadable (a finding), never empty.
MERCHANT_LISTINGS_HEADER_ALIASES = {
    "出品者SKU": "seller-sku", "数量": "quantity", "フルフィルメント・チャンネル": "fulfillment-channel",
    "Versender": "fulfillment-channel", "canal-traitement": "fulfillment-channel",
    "Canale di gestione": "fulfillment-channel", "Canal de gestión logística": "fulfillment-channel",
    "配送渠道": "fulfillment-channel",
}


def parse_merchant_listings(text: str) -> dict[str, int]:
    """Seller SKU -> the merchant-fulfilled quantity Amazon shows, from a ``GET_MERCHANT_LISTINGS_ALL_DATA``
    document (tab-separated, header row). Only rows whose ``fulfillment-channel`` is ``DEFAULT`` (FBA rows carry
    ``AMAZON_NA``... and no quantity); an empty MFN quantity reads as 0 (nothing offered). Columns are found by
    name (Amazon adds and reorders columns; localized headers through ``MERCHANT_LISTINGS_HEADER_ALIASES``).
    Never read as "nothing listed" when it is not Amazon's shape: an empty document, one without
    ``seller-sku``, ``quantity`` or ``fulfillment-channel``, or a row whose fields do not match the header (a tab
    or line break inside a description) raises :class:`ListingsReportError`."""
    import csv
    import io

    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ListingsReportError("the merchant listings report is an empty document (not even its header row)")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [MERCHANT_LISTINGS_HEADER_ALIASES.get(h.strip(), h.strip()) for h in reader.fieldnames or []]
    missing = [c for c in MERCHANT_LISTINGS_COLUMNS if c not in header]
    if missing:
        raise ListingsReportError(f"the merchant listings report has no {', '.join(missing)} column(s) "
                                  f"(header: {', '.join(header[:8])}...): not Amazon's All Listings Report shape")
    reader.fieldnames = header
    out: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ListingsReportError(f"line {number} has {len(row.get(None) or []) + sum(v is not None for k, v in row.items() if k)} "
                                      f"field(s), the header {len(header)}: a row split or joined, so SKUs would be misread")
        sku = (row.get("seller-sku") or "").strip()
        if not sku or (row.get("fulfillment-channel") or "").strip().upper() != MFN_CHANNEL:
            continue
        raw = (row.get("quantity") or "").strip()
        try:
            quantity = int(raw) if raw else 0
        except ValueError:
            raise ListingsReportError(f"line {number} ({sku}): quantity {raw!r} is not a count") from None
        if quantity < 0:
            raise ListingsReportError(f"line {number} ({sku}): quantity {raw!r} is negative")
        out[sku] = quantity
    return out


def compare_published(
    plan: RegionPlan, pushed: Mapping[str, int], *, recent_skus: Iterable[str] = (),
    listed: Mapping[str, Mapping[str, int]] | None = None,
) -> tuple[list[Finding], dict[str, int]]:
    """Findings for the region's merchant-fulfilled SKUs, and counts of what was compared.

    ``plan``: :func:`amazon_netsuite.transforms.inventory.plan_region` over NetSuite's availability read now
    (the formula the inventory flow publishes); ``pushed``: seller SKU -> the quantity Amazon last accepted
    (the inventory flow's pushed state); ``listed``: marketplace id -> seller SKU -> the merchant-fulfilled
    quantity Amazon shows now (:func:`parse_merchant_listings` of each marketplace's All Listings Report), None
    when it could not be read.

    With ``listed``, per marketplace and SKU: Amazon showing more than the formula gives is
    ``mfn_oversell_risk``; otherwise showing other than last published is ``mfn_drift`` (changed at Amazon
    outside the project: Seller Central, another tool, a feed accepted whose change did not stick); otherwise
    showing less than the formula is ``mfn_stale``. A SKU in no report read (not listed merchant-fulfilled,
    or its marketplace's report not read) is counted ``mfn_not_listed`` and judged on its pushed state. Without ``listed``, the pushed state stands in
    for Amazon's quantity (higher: ``mfn_oversell_risk``, lower: ``mfn_stale``). SKUs never published are
    judged only where Amazon shows more than the formula (counted ``mfn_not_published``), and ``recent_skus``
    (stock or unsynced orders changed too recently for the 15-minute flow to have sent it) are counted, not
    judged."""
    recent = set(recent_skus)
    findings: list[Finding] = []
    counts = {"mfn_skus": len(plan.quantities), "mfn_compared": 0, "mfn_not_published": 0, "mfn_recent": 0}
    if listed is not None:
        counts["mfn_not_listed"] = 0
    for sku, quantity in sorted(plan.quantities.items()):
        published = int(pushed[sku]) if sku in pushed else None
        if published is None:
            counts["mfn_not_published"] += 1
        if sku in recent:
            counts["mfn_recent"] += int(published is not None)
            continue
        now = int(quantity.quantity)
        why = "" if quantity.why == "computed" else f" ({quantity.why.replace('_', ' ')})"
        if listed is None:
            if published is None:
                continue
            counts["mfn_compared"] += 1
            findings.extend(_mfn_finding(sku, plan.region, None, shown=None, published=published, now=now, why=why))
            continue
        compared = False
        shown_in = [m for m in sorted(listed) if listed[m].get(sku) is not None]
        for marketplace_id in shown_in:
            shown = listed[marketplace_id][sku]
            if published is None and shown <= now:
                continue  # never published: only an offer above the formula is a risk
            compared = True
            findings.extend(_mfn_finding(sku, plan.region, marketplace_id, shown=int(shown), published=published,
                                         now=now, why=why))
        if not shown_in:
            # not in any report read (deleted or converted to FBA at Amazon, or its marketplace's report cancelled):
            # what was last published stands in, never "nothing to judge"
            counts["mfn_not_listed"] += 1
            if published is not None:
                compared = True
                findings.extend(_mfn_finding(sku, plan.region, None, shown=None, published=published, now=now, why=why))
        counts["mfn_compared"] += int(compared)
    return findings, counts


def _mfn_finding(sku: str, region: str, marketplace_id: str | None, *, shown: int | None, published: int | None,
                 now: int, why: str) -> list[Finding]:
    """At most one finding for one SKU (in one marketplace): see :func:`compare_published`."""
    where = f"{region}, {marketplace_id}" if marketplace_id else region
    last = "never published by the inventory flow" if published is None else f"last published {published}"
    fix = "netsuite_inventory_to_amazon sends {q} on its next run; if it does not, read its last runs and dead-lettered SKUs"
    if shown is None:  # Amazon's listing not read: the pushed state stands in
        assert published is not None
        common = {"amazon_value": str(published), "netsuite_value": str(now), "difference": str(now - published)}
        if published > now:
            return [Finding(CHECK_INVENTORY, "mfn_oversell_risk", sku,
                            f"{published} of {sku} ({where}) was last published to Amazon (its listing was not read) but "
                            f"NetSuite's availability gives {now}{why}: overselling risk. " + fix.format(q=now), **common)]
        if published < now:
            return [Finding(CHECK_INVENTORY, "mfn_stale", sku,
                            f"{published} of {sku} ({where}) was last published to Amazon (its listing was not read) but "
                            f"NetSuite's availability gives {now}{why}: the offer is stale (sales lost). " + fix.format(q=now),
                            **common)]
        return []
    common = {"marketplace_id": marketplace_id, "amazon_value": str(shown), "netsuite_value": str(now),
              "difference": str(now - shown)}
    drifted = published is not None and shown != published
    if shown > now:
        action = (("Amazon's quantity was changed outside the project (Seller Central, another tool, or a feed whose "
                   "change did not stick): set it back at Amazon now and find who changed it; "
                   "netsuite_inventory_to_amazon sends a SKU again only when the formula moves from what it last "
                   "published") if drifted else fix.format(q=now))
        return [Finding(CHECK_INVENTORY, "mfn_oversell_risk", sku,
                        f"Amazon shows {shown} of {sku} ({where}; {last}) but NetSuite's availability gives {now}{why}: "
                        f"overselling risk. {action}", **common)]
    if drifted:
        return [Finding(CHECK_INVENTORY, "mfn_drift", sku,
                        f"Amazon shows {shown} of {sku} ({where}) but the inventory flow last published {published} "
                        f"(NetSuite's availability gives {now}{why}): Amazon's quantity was changed outside the project "
                        "(Seller Central, another tool, or a feed Amazon accepted whose change did not stick). Find "
                        "who changed it and set it back at Amazon: netsuite_inventory_to_amazon sends a SKU again only "
                        "when the formula moves from what it last published", **common)]
    if shown < now:
        return [Finding(CHECK_INVENTORY, "mfn_stale", sku,
                        f"Amazon shows {shown} of {sku} ({where}; {last}) but NetSuite's availability gives {now}{why}: "
                        "the offer is stale (sales lost). " + fix.format(q=now), **common)]
    return []
