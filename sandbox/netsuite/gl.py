"""General-ledger impact of the records the sandbox posts: what ``GET /_sandbox/gl`` sums.

Each posting record type registers a function giving its GL lines ``(account id, subsidiary id,
currency id, signed amount)`` (debit positive, credit negative), as NetSuite's "GL impact" of the
record would show them. Journal entries post their lines; flows that add posting records (cash sales,
invoices, credit memos, cash refunds, item fulfillments at cost...) register theirs with
:func:`register`, so the balance of an account (Amazon clearing, say) comes from every record that
touched it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.netsuite.store import Store

GlLine = tuple[str, str, str | None, Decimal]
POSTING_RULES: dict[str, Callable[[dict[str, Any], Store], Iterable[GlLine]]] = {}


def register(record_type: str) -> Callable:
    def wrap(fn: Callable[[dict[str, Any], Store], Iterable[GlLine]]):
        POSTING_RULES[record_type] = fn
        return fn

    return wrap


def _ref(value: Any) -> str | None:
    return str(value["internalId"]) if isinstance(value, dict) and value.get("internalId") else None


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


@register("journalEntry")
def _journal(record: dict[str, Any], store: Store) -> Iterable[GlLine]:
    subsidiary, currency = _ref(record.get("subsidiary")), _ref(record.get("currency"))
    for line in record.get("lineList") or []:
        amount = dec(line.get("debit")) - dec(line.get("credit"))
        yield _ref(line.get("account")), subsidiary, currency, amount


def balance(store: Store, account_id: str, subsidiary_id: str | None = None) -> dict[str, Any]:
    """Debits minus credits on ``account_id`` (in one subsidiary, or all), from every posting record."""
    total = Decimal(0)
    lines = 0
    currencies: set[str] = set()
    for record_type, rule in POSTING_RULES.items():
        for record in store.all(record_type):
            for account, subsidiary, currency, amount in rule(record, store):
                if account != str(account_id) or (subsidiary_id is not None and subsidiary != str(subsidiary_id)):
                    continue
                total += amount
                lines += 1
                if currency:
                    currencies.add(currency)
    return {"account": str(account_id), "subsidiary": subsidiary_id, "balance": str(total.quantize(Decimal("0.01"))),
            "currency": sorted(currencies)[0] if len(currencies) == 1 else sorted(currencies) or None, "lines": lines}


#: what the sandbox's shipping and handling items post to (NetSuite: the shipping item's income account)
SHIPPING_INCOME_ACCOUNT = "4020"


def _sale_lines(record: dict[str, Any], store: Store) -> Iterable[GlLine]:
    """A cash sale or invoice: the total is debited to its ``account`` (the deposit / A/R account), each
    line's amount credited to its item's income account, each line's tax to its tax code's tax account,
    shipping and handling to shipping income and their tax to their tax code's account."""
    subsidiary, currency = _ref(record.get("subsidiary")), _ref(record.get("currency"))
    yield _ref(record.get("account")), subsidiary, currency, dec(record.get("total"))
    line_tax = Decimal(0)
    for line in record.get("itemList") or []:
        item_id = _ref(line.get("item"))
        item = store.get("inventoryItem", internal_id=item_id) or store.get("otherChargeSaleItem", internal_id=item_id) or {}
        yield _ref(item.get("incomeAccount")), subsidiary, currency, -dec(line.get("amount"))
        if line.get("tax1Amt"):
            code = store.get("salesTaxItem", internal_id=_ref(line.get("taxCode"))) or {}
            line_tax += dec(line["tax1Amt"])
            yield _ref(code.get("taxAccount")), subsidiary, currency, -dec(line["tax1Amt"])
    for cost in ("shippingCost", "handlingCost"):
        if record.get(cost):
            yield SHIPPING_INCOME_ACCOUNT, subsidiary, currency, -dec(record[cost])
    header_tax = dec(record.get("taxTotal")) - line_tax
    if header_tax:
        code_ref = record.get("shippingTaxCode") or record.get("handlingTaxCode") or record.get("taxItem")
        code = store.get("salesTaxItem", internal_id=_ref(code_ref)) or {}
        yield _ref(code.get("taxAccount")), subsidiary, currency, -header_tax


register("cashSale")(_sale_lines)
register("invoice")(_sale_lines)


def posting_lines(store: Store) -> Iterable[tuple[str, dict[str, Any], GlLine]]:
    """Every GL line of every posting record: ``(record type, record, line)``, as a transaction search with
    ``posting`` true lists them (one row per line that hits an account). Amounts are in the transaction
    currency; the record's ``exchangeRate`` (1 when absent: the subsidiary's own currency) converts them."""
    for record_type, rule in POSTING_RULES.items():
        for record in store.all(record_type):
            for line in rule(record, store):
                yield record_type, record, line
