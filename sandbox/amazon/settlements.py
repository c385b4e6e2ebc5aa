"""Settlement reports (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``) consistent with the seeded orders.

Amazon generates settlement reports on its own schedule (here: every 14 days per marketplace); they
can be listed and downloaded, never requested. The emulator publishes them at seed time with
``createdTime`` = the deposit date, only for settlements whose deposit date is in the past.

Format (tab-separated, header line of :data:`COLUMNS`): the first data row is the summary row with
only settlement-id, settlement-start-date, settlement-end-date, deposit-date, total-amount and
currency; every other row is a transaction row whose summary columns are empty except settlement-id.
US/CA/UK write dot decimals (``-3.60``) and ``2026-11-15 07:48:10 UTC`` / ``2026-11-02``; DE writes
decimal commas (``-3,60``, ``1234,56``, no thousands separator) and ``15.11.2026 07:48:10 UTC`` /
``02.11.2026`` and the document is served as ``Cp1252``.

Conventions (docs/amazon-quirks.md, "Settlement reports"):
- positive = money to the seller; fees negative; a refund's ItemPrice rows negative, its
  Promotion/ItemWithheldTax rows positive (reversed), the referral fee refunded (Commission positive)
  minus a RefundCommission (negative); Previous Reserve Amount Balance positive, Current Reserve
  Amount negative; ``total-amount`` = the exact sum of every transaction row (may be negative);
- an order settles when it ships (``posted-date-time`` = the package's ``shipTime``), one group of
  rows per shipped item, amounts taken from the item's ``proceeds.breakdowns``:
  US/CA (tax-exclusive): ItemPrice Principal = ITEM, Shipping = SHIPPING, GiftWrap = GIFT_WRAP,
  ShippingTax / GiftWrapTax = the TAX detailed breakdown of SHIPPING / GIFT_WRAP, Tax = the item's TAX
  subtotal minus those two (so the tax rows add up to the TAX subtotal exactly), Promotion Principal =
  DISCOUNT; marketplace-facilitator items add ItemWithheldTax MarketplaceFacilitatorTax-Principal /
  -Shipping / -Other (gift wrap) negating the tax rows;
  UK/DE (VAT-inclusive): Principal, Shipping, GiftWrap and Promotion are the VAT-inclusive subtotals
  and there are no Tax rows (the VAT is inside them; a Tax row on top would count it twice);
  so ItemPrice + Promotion rows of an order = its ``proceeds.grandTotal`` (per shipped item: the
  item's ``proceedsTotal``) in every marketplace;
- fees: ItemFees Commission = -15 % of (ITEM + SHIPPING + GIFT_WRAP + DISCOUNT, tax-exclusive in
  US/CA, VAT-inclusive in UK/DE), at least 0.30; FBAPerUnitFulfillmentFee per unit for AFN items.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from sandbox.amazon.seed import CATALOG, MARKETPLACES

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)
SUMMARY_COLUMNS = COLUMNS[:6]
PERIOD = timedelta(days=14)
DEPOSIT_LAG = timedelta(days=2)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
COMMISSION_RATE = Decimal("0.15")
MIN_COMMISSION = Decimal("0.30")
FBA_FEE = {"USD": Decimal("3.22"), "CAD": Decimal("4.60"), "GBP": Decimal("2.70"), "EUR": Decimal("3.05")}
SUBSCRIPTION_FEE = {"USD": Decimal("-39.99"), "CAD": Decimal("-29.99"), "GBP": Decimal("-25.00"), "EUR": Decimal("-39.00")}
REFUND_RATE = 0.1
#: Settlements whose rows use decimal commas and German dates; their documents are served as Cp1252.
DECIMAL_COMMA_MARKETPLACES = frozenset({"A1PA6795UKMFR9"})
DateStyle = Literal["iso", "de"]


# ------------------------------------------------------------------------------------------ rendering


def format_amount(value: Decimal | str | int, *, decimal_comma: bool = False) -> str:
    """``Decimal('-3.6')`` -> ``-3.60`` (``-3,60`` with ``decimal_comma``); strings pass unchanged."""
    if isinstance(value, str):
        return value
    text = format(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), "f")
    return text.replace(".", ",") if decimal_comma else text


def format_datetime(value: datetime | str, date_style: DateStyle = "iso") -> str:
    """``2026-11-15 07:48:10 UTC`` (iso) or ``15.11.2026 07:48:10 UTC`` (de)."""
    if isinstance(value, str):
        return value
    value = value.astimezone(UTC) if value.tzinfo else value
    return value.strftime("%d.%m.%Y %H:%M:%S UTC" if date_style == "de" else "%Y-%m-%d %H:%M:%S UTC")


def format_date(value: date | datetime | str, date_style: DateStyle = "iso") -> str:
    """``2026-11-02`` (iso) or ``02.11.2026`` (de)."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime) and value.tzinfo:
        value = value.astimezone(UTC)
    return value.strftime("%d.%m.%Y" if date_style == "de" else "%Y-%m-%d")


def render_v2(
    summary: dict,
    rows: Iterable[dict],
    *,
    decimal_comma: bool = False,
    date_style: DateStyle = "iso",
    line_ending: str = "\n",
) -> str:
    """A V2 flat file: header line, summary row, one line per transaction row (tab-separated).

    ``summary``: settlement-id, settlement-start-date, settlement-end-date, deposit-date (datetime or
    pre-formatted str), currency, and optionally total-amount (Decimal or str); without it the total is
    the exact sum of the rows' amounts. ``rows``: dicts keyed by column name (missing = empty);
    ``amount`` is a Decimal (formatted with two decimals, comma if ``decimal_comma``) or a str written
    as is; ``posted-date`` may be a datetime, which also fills ``posted-date-time`` unless given;
    other values are written with ``str`` (None = empty). settlement-id is filled on every row.
    Strings are never reformatted, so a test can inject malformed values.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    settlement_id = str(summary["settlement-id"])
    total = summary.get("total-amount")
    if total is None:
        total = sum((r["amount"] if isinstance(r["amount"], Decimal) else Decimal(str(r["amount"]).replace(",", "."))
                     for r in rows), ZERO)
    head = [
        settlement_id,
        format_datetime(summary["settlement-start-date"], date_style),
        format_datetime(summary["settlement-end-date"], date_style),
        format_datetime(summary["deposit-date"], date_style),
        format_amount(total, decimal_comma=decimal_comma),
        str(summary["currency"]),
    ]
    out = ["\t".join(COLUMNS), "\t".join(head + [""] * (len(COLUMNS) - len(head)))]
    blank = ("", "", "", "", "")
    dates: dict[datetime, tuple[str, str]] = {}
    rest = COLUMNS[6:]
    for row in rows:
        values = [settlement_id, *blank]
        posted = row.get("posted-date")
        posted_time = row.get("posted-date-time")
        if isinstance(posted, datetime):
            formatted = dates.get(posted)
            if formatted is None:
                formatted = dates[posted] = (format_date(posted, date_style), format_datetime(posted, date_style))
            posted = formatted[0]
            if posted_time is None:
                posted_time = formatted[1]
        elif isinstance(posted, date):
            posted = format_date(posted, date_style)
        if isinstance(posted_time, datetime):
            posted_time = format_datetime(posted_time, date_style)
        for column in rest:
            if column == "amount":
                values.append(format_amount(row["amount"], decimal_comma=decimal_comma))
            elif column == "posted-date":
                values.append(posted or "")
            elif column == "posted-date-time":
                values.append(posted_time or "")
            else:
                value = row.get(column)
                values.append("" if value is None else str(value))
        out.append("\t".join(values))
    return line_ending.join(out) + line_ending


# ------------------------------------------------------------------------------------------ generation


@dataclass(frozen=True)
class SettlementFile:
    settlement_id: str
    marketplace_id: str
    currency: str
    start: datetime
    end: datetime
    deposit: datetime
    total: Decimal
    rows: int  # transaction rows (the summary row excluded)
    text: str
    charset: str  # as the document declares it (Java name, like Amazon)

    @property
    def encoded(self) -> bytes:
        return self.text.encode("cp1252" if self.charset == "Cp1252" else "utf-8")


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(node: dict | None) -> Decimal:
    return Decimal(node["amount"]) if node else ZERO


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _digits(*parts: object, length: int) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return str(int(digest, 16) % 10**length).zfill(length)


def settlement_id_for(seed: int, marketplace_id: str, period: int) -> str:
    """Deterministic 11-digit settlement id (``period`` 0 = the latest closed settlement)."""
    return "2" + _digits("settlement", seed, marketplace_id, period, length=10)


def item_amounts(order: dict, item: dict) -> list[tuple[str, str, Decimal]]:
    """The (amount-type, amount-description, amount) rows of one shipped item, before fees."""
    marketplace = MARKETPLACES[order["salesChannel"]["marketplaceId"]]
    breakdowns = {b["type"]: b for b in item["proceeds"]["breakdowns"]}
    part = {kind: _money(breakdowns[kind]["subtotal"]) if kind in breakdowns else None
            for kind in ("ITEM", "SHIPPING", "GIFT_WRAP", "DISCOUNT", "TAX")}
    rows: list[tuple[str, str, Decimal]] = [("ItemPrice", "Principal", part["ITEM"] or ZERO)]
    if marketplace.vat_inclusive:
        if part["SHIPPING"] is not None:
            rows.append(("ItemPrice", "Shipping", part["SHIPPING"]))
        if part["GIFT_WRAP"] is not None:
            rows.append(("ItemPrice", "GiftWrap", part["GIFT_WRAP"]))
    else:
        detailed = {d["subtype"]: _money(d["value"]) for d in breakdowns["TAX"].get("detailedBreakdowns", [])}
        shipping_tax = detailed.get("SHIPPING", ZERO) if part["SHIPPING"] is not None else None
        gift_tax = detailed.get("GIFT_WRAP", ZERO) if part["GIFT_WRAP"] is not None else None
        tax = (part["TAX"] or ZERO) - (shipping_tax or ZERO) - (gift_tax or ZERO)
        rows.append(("ItemPrice", "Tax", tax))
        if part["SHIPPING"] is not None:
            rows += [("ItemPrice", "Shipping", part["SHIPPING"]), ("ItemPrice", "ShippingTax", shipping_tax)]
        if part["GIFT_WRAP"] is not None:
            rows += [("ItemPrice", "GiftWrap", part["GIFT_WRAP"]), ("ItemPrice", "GiftWrapTax", gift_tax)]
        facilitator = any(c.get("model") == "MARKETPLACE_FACILITATOR" for c in (item.get("tax") or {}).get("taxCollections", []))
        if facilitator:
            for description, value in (("Principal", tax), ("Shipping", shipping_tax), ("Other", gift_tax)):
                if value:
                    rows.append(("ItemWithheldTax", f"MarketplaceFacilitatorTax-{description}", -value))
    if part["DISCOUNT"] is not None:
        rows.append(("Promotion", "Principal", part["DISCOUNT"]))
    return rows


def commission(order: dict, item: dict) -> Decimal:
    """The referral fee of an item (negative): 15 % of its tax-exclusive (US/CA) or gross (UK/DE) price."""
    base = sum((_money(b["subtotal"]) for b in item["proceeds"]["breakdowns"] if b["type"] != "TAX"), ZERO)
    return -max(MIN_COMMISSION, _q(base * COMMISSION_RATE))


def _shipped_items(order: dict) -> tuple[datetime, list[dict]] | None:
    status = order["fulfillment"]["fulfillmentStatus"]
    if status not in ("SHIPPED", "PARTIALLY_SHIPPED") or not order.get("packages"):
        return None
    items = [i for i in order["orderItems"] if i["fulfillment"]["quantityFulfilled"] and i.get("proceeds")]
    return (_parse_iso(order["packages"][0]["shipTime"]), items) if items else None


def _order_rows(order: dict, seed: int, start: datetime, end: datetime) -> list[dict]:
    shipped = _shipped_items(order)
    if shipped is None:
        return []
    ship_time, items = shipped
    marketplace = MARKETPLACES[order["salesChannel"]["marketplaceId"]]
    afn = order["fulfillment"]["fulfilledBy"] == "AMAZON"
    order_id = order["orderId"]
    rng = random.Random(f"settlement-rows|{seed}|{order_id}")
    common = {"order-id": order_id, "marketplace-name": marketplace.name, "fulfillment-id": "AFN" if afn else "MFN"}
    rows: list[dict] = []
    if start <= ship_time < end:
        shipment = {**common, "transaction-type": "Order", "shipment-id": _shipment_id(order_id),
                    "posted-date": ship_time}
        for item in items:
            line = {**shipment, "order-item-code": item["orderItemId"], "sku": item["product"]["sellerSku"],
                    "quantity-purchased": str(item["quantityOrdered"])}
            promotion = ((item.get("promotion") or {}).get("breakdowns") or [{}])[0].get("promotionId", "")
            for amount_type, description, amount in item_amounts(order, item):
                rows.append({**line, "amount-type": amount_type, "amount-description": description, "amount": amount,
                             "promotion-id": promotion if amount_type == "Promotion" else ""})
            rows.append({**line, "amount-type": "ItemFees", "amount-description": "Commission", "amount": commission(order, item)})
            if afn:
                rows.append({**line, "amount-type": "ItemFees", "amount-description": "FBAPerUnitFulfillmentFee",
                             "amount": -FBA_FEE[marketplace.currency] * item["quantityOrdered"]})
    # A full refund of the first item of some shipped orders, a few days after shipping.
    if order["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and rng.random() < REFUND_RATE:
        refunded = rng.randint(1, 5) * 86400 + rng.randint(0, 86399)
        posted = ship_time + timedelta(seconds=refunded)
        if start <= posted < end:
            item = items[0]
            line = {**common, "transaction-type": "Refund", "adjustment-id": _digits("adjustment", order_id, length=11),
                    "posted-date": posted, "order-item-code": item["orderItemId"],
                    "merchant-adjustment-item-id": "", "sku": item["product"]["sellerSku"],
                    "quantity-purchased": str(item["quantityOrdered"])}
            promotion = ((item.get("promotion") or {}).get("breakdowns") or [{}])[0].get("promotionId", "")
            for amount_type, description, amount in item_amounts(order, item):
                rows.append({**line, "amount-type": amount_type, "amount-description": description, "amount": -amount,
                             "promotion-id": promotion if amount_type == "Promotion" else ""})
            fee = commission(order, item)
            rows.append({**line, "amount-type": "ItemFees", "amount-description": "Commission", "amount": -fee})
            rows.append({**line, "amount-type": "ItemFees", "amount-description": "RefundCommission",
                         "amount": -min(Decimal("5.00"), _q(-fee * Decimal("0.20")))})
    return rows


def _shipment_id(order_id: str) -> str:
    alphabet = "BCDFGHJKLMNPQRSTVWXZbcdfghjklmnpqrstvwxz0123456789"
    number = int(hashlib.sha256(f"shipment|{order_id}".encode()).hexdigest(), 16)
    chars = []
    for _ in range(9):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "D" + "".join(chars)


def _account_rows(rng: random.Random, marketplace_id: str, start: datetime, end: datetime, reserves: tuple[Decimal, Decimal]) -> list[dict]:
    """Account-level rows of one settlement: reserve, subscription, storage, advertising, reimbursement."""
    marketplace = MARKETPLACES[marketplace_id]
    currency = marketplace.currency
    previous, current = reserves

    def at(days: float) -> datetime:
        return (start + timedelta(days=days)).replace(microsecond=0)

    other = {"transaction-type": "other-transaction", "amount-type": "other-transaction"}
    rows = [
        {**other, "amount-description": "Previous Reserve Amount Balance", "amount": previous, "posted-date": start},
        {**other, "amount-description": "Subscription Fee", "amount": SUBSCRIPTION_FEE[currency], "posted-date": at(1.3)},
        {**other, "amount-description": "Storage Fee", "amount": -_q(Decimal(rng.randint(400, 2500)) / 100),
         "posted-date": at(6.8)},
        {"transaction-type": "ServiceFee", "amount-type": "Cost of Advertising", "amount-description": "TransactionTotalAmount",
         "amount": -_q(Decimal(rng.randint(1500, 9000)) / 100), "posted-date": at(9.4)},
    ]
    afn = [s for s in CATALOG if s.channel == "AFN" and currency in s.prices and (s.marketplaces is None or marketplace_id in s.marketplaces)]
    if afn and rng.random() < 0.7:
        sku = rng.choice(afn)
        rows.append({"transaction-type": "other-transaction", "amount-type": "FBA Inventory Reimbursement",
                     "amount-description": "WAREHOUSE_DAMAGE", "amount": sku.prices[currency],
                     "marketplace-name": marketplace.name, "posted-date": at(11.2), "sku": sku.sku, "quantity-purchased": "1",
                     "merchant-adjustment-item-id": "", "adjustment-id": _digits("reimbursement", marketplace_id, start, length=10)})
    rows.append({**other, "amount-description": "Current Reserve Amount", "amount": -current, "posted-date": end - timedelta(seconds=1)})
    return rows


def _reserve(seed: int, marketplace_id: str, period: int) -> Decimal:
    rng = random.Random(f"reserve|{seed}|{marketplace_id}|{period}")
    return _q(Decimal(rng.randint(5000, 40000)) / 100)


def generate_settlement(
    marketplace_id: str,
    orders: Sequence[dict],
    *,
    seed: int = 0,
    period: int = 0,
    start: datetime,
    end: datetime,
    deposit: datetime,
) -> SettlementFile:
    """One settlement of ``marketplace_id`` over [start, end): rows of the orders that shipped (and the
    refunds posted) in it, plus the account-level rows; ``period`` (0 = latest) keys the id and the
    reserve chain (this settlement's Previous Reserve = the Current Reserve of ``period + 1``)."""
    marketplace = MARKETPLACES[marketplace_id]
    rng = random.Random(f"settlement|{seed}|{marketplace_id}|{period}")
    rows = []
    for order in orders:
        if order["salesChannel"]["marketplaceId"] == marketplace_id:
            rows += _order_rows(order, seed, start, end)
    reserves = (_reserve(seed, marketplace_id, period + 1), _reserve(seed, marketplace_id, period))
    rows += _account_rows(rng, marketplace_id, start, end, reserves)
    rows.sort(key=lambda r: r["posted-date"])  # stable: an order's rows stay together, in order
    total = sum((r["amount"] for r in rows), ZERO)
    decimal_comma = marketplace_id in DECIMAL_COMMA_MARKETPLACES
    settlement_id = settlement_id_for(seed, marketplace_id, period)
    summary = {"settlement-id": settlement_id, "settlement-start-date": start, "settlement-end-date": end,
               "deposit-date": deposit, "total-amount": total, "currency": marketplace.currency}
    text = render_v2(summary, rows, decimal_comma=decimal_comma, date_style="de" if decimal_comma else "iso")
    return SettlementFile(settlement_id, marketplace_id, marketplace.currency, start, end, deposit, total, len(rows), text,
                          "Cp1252" if decimal_comma else "UTF-8")


def settlement_periods(seed: int, marketplace_id: str, *, now: datetime, history: int = 1) -> list[tuple[int, datetime, datetime, datetime]]:
    """(period, start, end, deposit) of the closed settlements, newest first.

    The latest settlement ends 2 to 3 days before ``now`` (at a time of day fixed per seed and
    marketplace) and its deposit date is 2 days after its end, so it is in the past; ``history`` older
    14-day periods follow. Orders that shipped after the latest end are in the open settlement, which
    Amazon has not published yet.
    """
    rng = random.Random(f"close|{seed}|{marketplace_id}")
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    close = midnight - timedelta(days=3) + timedelta(seconds=rng.randint(0, 86399))
    periods = []
    for period in range(history + 1):
        end = close - PERIOD * period
        periods.append((period, end - PERIOD, end, end + DEPOSIT_LAG))
    return [p for p in periods if p[3] <= now]


def settlement_files(orders: Sequence[dict], seed: int = 0, *, now: datetime | None = None, history: int = 1,
                     extras: bool = True, unmapped: bool = True) -> list[SettlementFile]:
    """Every closed settlement of every marketplace for the seeded ``orders`` (newest first per marketplace),
    and (``extras``) the settlements of :func:`extra_settlement_files` (``unmapped``: with those of
    marketplaces the shipped tables do not map)."""
    now = now or datetime.now(UTC)
    files = []
    for marketplace_id in MARKETPLACES:
        for period, start, end, deposit in settlement_periods(seed, marketplace_id, now=now, history=history):
            files.append(generate_settlement(marketplace_id, orders, seed=seed, period=period, start=start, end=end, deposit=deposit))
    if extras:
        files.extend(f for f in extra_settlement_files(seed, now=now) if unmapped or not _unmapped(f))
    return files


def _unmapped(file: SettlementFile) -> bool:
    """The Amazon.com.mx settlement and the EUR one naming Amazon.fr/.it: dead-lettered by the shipped tables."""
    return file.marketplace_id == MX or (file.currency == "EUR" and "Amazon.fr" in file.text)


# ------------------------------------------------------------------------------------------ extras

MX = "A1AM78C64UM0Y8"  # Amazon.com.mx: a marketplace of the NA region the shipped marketplaces.csv does not map
CA = "A2EUQ1WTGCTBG2"
DE = "A1PA6795UKMFR9"
#: The real Amazon.ca chain this one follows: each negative total is carried into the next settlement
#: (``Payable to Amazon``) and only the positive one is deposited.
CA_CHAIN_TOTALS = (Decimal("-321.69"), Decimal("-62.31"), Decimal("1016.08"))
CA_CHAIN_PERIODS = (4, 3, 2)  # older than the two settlements with orders: no seeded order shipped then


def _file(marketplace_id: str, currency: str, settlement_id: str, start: datetime, end: datetime, deposit: datetime,
          rows: list[dict], *, total: Decimal | None = None, decimal_comma: bool = False) -> SettlementFile:
    rows = sorted(rows, key=lambda r: r["posted-date"])
    computed = sum((r["amount"] for r in rows), ZERO)
    if total is not None and computed != total:  # pragma: no cover - a construction error in this module
        raise AssertionError(f"settlement {settlement_id}: rows sum to {computed}, not {total}")
    summary = {"settlement-id": settlement_id, "settlement-start-date": start, "settlement-end-date": end,
               "deposit-date": deposit, "total-amount": computed, "currency": currency}
    text = render_v2(summary, rows, decimal_comma=decimal_comma, date_style="de" if decimal_comma else "iso")
    return SettlementFile(settlement_id, marketplace_id, currency, start, end, deposit, computed, len(rows), text,
                          "Cp1252" if decimal_comma else "UTF-8")


def _period(seed: int, marketplace_id: str, period: int, now: datetime) -> tuple[datetime, datetime, datetime]:
    found = {p: (start, end, deposit) for p, start, end, deposit in
             settlement_periods(seed, marketplace_id, now=now, history=max(period, 1))}
    return found[period]


def extra_settlement_files(seed: int = 0, *, now: datetime | None = None) -> list[SettlementFile]:
    """Settlements that test what real files do, none with a seeded order (they are older, or of
    marketplaces without seeded orders):

    - Amazon.com.mx (MXN), a marketplace marketplaces.csv does not map: Amazon lists every settlement
      report of the region, so the flow sees it and must dead-letter it once (``unmapped_marketplace``);
    - an Amazon.ca chain like a real one: a fee-only settlement with no marketplace-name (-321.69,
      resolved by its currency), then -62.31 and +1,016.08, each negative total carried into the next by a
      ``Payable to Amazon`` row, reserves held and released along the way;
    - a EUR settlement whose rows name Amazon.de, Amazon.fr and Amazon.it (Pan-European FBA
      reimbursements): the shipped tables map only Amazon.de, so it is refused, never posted to Amazon.de.
    """
    now = now or datetime.now(UTC)
    rng = random.Random(f"extras|{seed}")
    other = {"transaction-type": "other-transaction", "amount-type": "other-transaction"}
    files: list[SettlementFile] = []

    # Amazon.com.mx, the latest settlement
    start, end, deposit = _period(seed, MX, 0, now)
    at = lambda days, s=start: (s + timedelta(days=days)).replace(microsecond=0)  # noqa: E731
    files.append(_file(MX, "MXN", settlement_id_for(seed, MX, 0), start, end, deposit, [
        {**other, "amount-description": "Subscription Fee", "amount": Decimal("-600.00"), "posted-date": at(1.2)},
        {"transaction-type": "other-transaction", "amount-type": "FBA Inventory Reimbursement",
         "amount-description": "WAREHOUSE_DAMAGE", "amount": Decimal("349.00"), "marketplace-name": "Amazon.com.mx",
         "posted-date": at(5.5), "sku": "ACME-MUG-11OZ-FBA", "quantity-purchased": "1",
         "adjustment-id": _digits("reimbursement", MX, start, length=10)},
        {**other, "amount-description": "Storage Fee", "amount": -_q(Decimal(rng.randint(2000, 9000)) / 100),
         "posted-date": at(7.1)},
    ]))

    # Amazon.ca: the negative chain (oldest first), reserves continuing into the regular settlements
    first_held = Decimal("1400.00")
    second_held = Decimal("1100.00")
    reimbursed_last = Decimal("450.00")
    chain: list[tuple[int, list[dict]]] = []
    for index, period in enumerate(CA_CHAIN_PERIODS):
        start, end, deposit = _period(seed, CA, period, now)
        at = lambda days, s=start: (s + timedelta(days=days)).replace(microsecond=0)  # noqa: E731
        released = (Decimal("1300.00"), first_held, second_held)[index]
        held = (first_held, second_held, _reserve(seed, CA, period))[index]
        rows = [
            {**other, "amount-description": "Previous Reserve Amount Balance", "amount": released, "posted-date": start},
            {**other, "amount-description": "Subscription Fee", "amount": SUBSCRIPTION_FEE["CAD"], "posted-date": at(1.3)},
            {**other, "amount-description": "Current Reserve Amount", "amount": -held,
             "posted-date": end - timedelta(seconds=1)},
        ]
        if index == 0:  # fee-only, no marketplace-name anywhere (real Amazon.ca files have them)
            rows.append({"transaction-type": "ServiceFee", "amount-type": "Cost of Advertising",
                         "amount-description": "TransactionTotalAmount", "amount": Decimal("-87.45"), "posted-date": at(9.4)})
        else:
            rows.append({**other, "amount-description": "Payable to Amazon", "amount": CA_CHAIN_TOTALS[index - 1],
                         "posted-date": start})
            reimbursed = Decimal("24.99") if index == 1 else reimbursed_last
            rows.append({"transaction-type": "other-transaction", "amount-type": "FBA Inventory Reimbursement",
                         "amount-description": "WAREHOUSE_LOST", "amount": reimbursed, "marketplace-name": "Amazon.ca",
                         "posted-date": at(11.2), "sku": "ACME-TEE-BLK-M",
                         "quantity-purchased": "1" if index == 1 else "18",
                         "adjustment-id": _digits("reimbursement", CA, start, length=10)})
        storage = sum((r["amount"] for r in rows), ZERO) - CA_CHAIN_TOTALS[index]
        rows.append({**other, "amount-description": "Storage Fee", "amount": -storage, "posted-date": at(6.8)})
        chain.append((period, rows))
        files.append(_file(CA, "CAD", settlement_id_for(seed, CA, period), start, end, deposit, rows,
                           total=CA_CHAIN_TOTALS[index]))

    # EUR: rows of Amazon.de, Amazon.fr and Amazon.it in one settlement (Pan-European FBA)
    start, end, deposit = _period(seed, DE, 2, now)
    at = lambda days, s=start: (s + timedelta(days=days)).replace(microsecond=0)  # noqa: E731
    reimbursement = {"transaction-type": "other-transaction", "amount-type": "FBA Inventory Reimbursement",
                     "amount-description": "WAREHOUSE_DAMAGE", "sku": "ACME-TEE-BLK-M", "quantity-purchased": "1"}
    files.append(_file(DE, "EUR", settlement_id_for(seed, DE, 2), start, end, deposit, [
        {**other, "amount-description": "Previous Reserve Amount Balance", "amount": _reserve(seed, DE, 3),
         "posted-date": start},
        {**other, "amount-description": "Subscription Fee", "amount": SUBSCRIPTION_FEE["EUR"], "posted-date": at(1.3)},
        {**reimbursement, "amount": Decimal("17.99"), "marketplace-name": "Amazon.de", "posted-date": at(4.2)},
        {**reimbursement, "amount": Decimal("17.99"), "marketplace-name": "Amazon.fr", "posted-date": at(5.6)},
        {**reimbursement, "amount": Decimal("35.98"), "marketplace-name": "Amazon.it", "posted-date": at(8.1),
         "quantity-purchased": "2"},
        {**other, "amount-description": "Storage Fee", "amount": -_q(Decimal(rng.randint(400, 2500)) / 100),
         "posted-date": at(6.8)},
        {**other, "amount-description": "Current Reserve Amount", "amount": -_reserve(seed, DE, 2),
         "posted-date": end - timedelta(seconds=1)},
    ], decimal_comma=True))
    return files
