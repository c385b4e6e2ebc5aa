"""Amazon settlement report (V2 flat file) -> balanced NetSuite journal entries. Pure: no I/O.

Parsing (pandas): every column is read as text first, then typed; the summary row (totals, dates,
currency) is separated from the transaction rows; decimal commas and dot decimals, EU dates, BOM,
CRLF, trailing tabs and empty lines are handled. Money is aggregated as integer minor units and
turned into ``Decimal`` only for the journal, so 1,000,000 rows add up exactly. A file that is
malformed — missing columns, amounts that don't parse, rows that don't sum to ``total-amount`` — is
rejected with :class:`SettlementFileError` naming the settlement id, the row and the column.

Mapping: every (transaction-type, amount-type, amount-description, marketplace-name) goes through
``settlement_gl.csv`` (most specific rule wins); roles resolve to the accounts of the marketplace
that owns the settlement (one subsidiary per settlement); rows of other marketplaces keep their
marketplace in the department/class/location segments; combinations with no rule go to suspense.

Journal: positive amounts (money to the seller) are credits, negative ones debits, and the bank line
carries exactly ``total-amount`` (a debit for a deposit, a credit for a negative settlement). Before
anything is posted, :func:`build_journal` checks debits = credits, bank = total-amount, and each
account's sum against the file.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from amazon_netsuite.mappings import Mappings, Marketplace

COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)
REQUIRED = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
            "currency", "transaction-type", "marketplace-name", "amount-type", "amount-description", "amount")
MAX_JOURNAL_LINES = 1000
CENT = Decimal("0.01")
_AMOUNT = re.compile(r"^(-?)(\d+)(?:\.(\d{1,2}))?$")
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %Z", "%d.%m.%Y %H:%M:%S %Z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y",
)


class SettlementFileError(ValueError):
    """A settlement file that must not be posted; says which settlement, row and column."""

    def __init__(self, settlement_id: str | None, message: str, *, row: int | None = None, column: str | None = None,
                 reason: str = "malformed_file"):
        where = f"settlement {settlement_id or '(unknown id)'}"
        if row is not None:
            where += f", row {row}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")
        self.settlement_id = settlement_id
        self.row = row
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class SettlementHeader:
    settlement_id: str
    start: datetime
    end: datetime
    deposit_date: datetime
    total_minor: int
    currency: str

    @property
    def total(self) -> Decimal:
        return Decimal(self.total_minor) / 100


@dataclass
class ParsedSettlement:
    header: SettlementHeader
    rows: pd.DataFrame  # transaction rows, text columns plus amount_minor (int64) and line (file row number)
    content_hash: str  # of the normalized rows: a changed file gets a new hash, a re-encoded one does not
    decimal_comma: bool


def _parse_datetime(value: str, settlement_id: str | None, row: Any, column: str) -> datetime:
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - Amazon's settlement dates are UTC
        except ValueError:
            continue
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise SettlementFileError(settlement_id, f"{value!r} is not a date Amazon writes (e.g. 2026-11-15 07:48:10 UTC "
                              "or 15.11.2026 07:48:10 UTC)", row=row() if callable(row) else row, column=column)


class _LineNumbers:
    """Maps a row's position among the non-blank data lines to its file row number (header = 1)."""

    def __init__(self, text: str):
        self.text = text
        self._numbers: list[int] | None = None

    def of(self, position: Any) -> int:
        if self._numbers is None:
            self._numbers = [i + 1 for i, line in enumerate(self.text.splitlines()) if line.strip()][1:]
        position = int(position)
        return self._numbers[position] if position < len(self._numbers) else position + 2


def _to_minor(series: pd.Series, *, decimal_comma: bool, settlement_id: str | None, lines: pd.Series,
              column: str, line_numbers: _LineNumbers) -> pd.Series:
    """Text amounts -> int64 minor units (cents), exactly; the first bad value is reported."""
    import numpy as np
    import pandas as pd

    text = series.str.strip()
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    bad = ~text.str.fullmatch(_AMOUNT.pattern).fillna(False).astype(bool)
    if bad.any():
        first = bad.idxmax()
        raise SettlementFileError(
            settlement_id, f"amount {series.loc[first]!r} does not parse as money",
            row=line_numbers.of(lines.loc[first]), column=column,
        )
    # Exact integer cents without any float: drop the sign and the dot, read the digits as an
    # integer, and scale by the decimals that were written (0, 1 or 2).
    negative = text.str.startswith("-").to_numpy(dtype=bool)
    digits_text = text.str.lstrip("-")
    dot = digits_text.str.find(".").to_numpy(dtype=np.int64)
    length = digits_text.str.len().to_numpy(dtype=np.int64)
    decimals = np.where(dot >= 0, length - dot - 1, 0)
    digits = digits_text.str.replace(".", "", regex=False).astype("int64").to_numpy(dtype=np.int64)
    minor = digits * np.power(10, 2 - decimals)
    return pd.Series(np.where(negative, -minor, minor), index=series.index, dtype="int64")


def parse_settlement(text: str) -> ParsedSettlement:
    """Parse a V2 flat file (text already decoded with the charset Amazon declared)."""
    import pandas as pd

    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SettlementFileError(None, "the file is empty", row=1)
    try:
        with warnings.catch_warnings():
            # trailing tabs (common in Amazon's files) make rows one field longer than the header
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, na_filter=False,
                                skip_blank_lines=True, quoting=3, engine="c", index_col=False)
    except pd.errors.ParserError as exc:
        raise SettlementFileError(None, f"not a tab-separated settlement file: {exc}", row=1) from None
    frame = frame.fillna("")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[:, [c for c in frame.columns if c and not c.startswith("Unnamed:")]]
    guess_id = frame["settlement-id"].iloc[0].strip() if "settlement-id" in frame.columns and len(frame) else None
    for column in REQUIRED:
        if column not in frame.columns:
            raise SettlementFileError(guess_id, "required column is missing from the header", row=1, column=column)
    # Position of each row in the file; turned into a file row number (counting the blank lines
    # pandas skipped) only when a row has to be named in an error.
    frame["line"] = range(len(frame))
    frame["total-amount"] = frame["total-amount"].str.strip()
    lines = _LineNumbers(text)

    is_summary = frame["total-amount"] != ""
    if not is_summary.any():
        raise SettlementFileError(guess_id, "no summary row (the row with total-amount)", row=2, column="total-amount")
    if is_summary.sum() > 1:
        second = frame.loc[is_summary, "line"].iloc[1]
        raise SettlementFileError(guess_id, "more than one summary row with total-amount", row=lines.of(second),
                                  column="total-amount")
    summary = frame.loc[is_summary].iloc[0].map(lambda v: v.strip() if isinstance(v, str) else v)
    settlement_id = summary["settlement-id"] or guess_id
    if not settlement_id:
        raise SettlementFileError(None, "the summary row has no settlement-id", row=lines.of(summary["line"]),
                                  column="settlement-id")
    rows = frame.loc[~is_summary].copy()
    if rows.empty:
        raise SettlementFileError(settlement_id, "the file has a summary row but no transaction rows",
                                  row=lines.of(summary["line"]))
    other_ids = rows.loc[(rows["settlement-id"] != "") & (rows["settlement-id"] != settlement_id)]
    if not other_ids.empty:
        first = other_ids.iloc[0]
        raise SettlementFileError(settlement_id, f"row belongs to settlement {first['settlement-id']}",
                                  row=lines.of(first["line"]), column="settlement-id")
    for column in ("transaction-type", "amount-type", "amount"):
        empty = rows[column].str.len() == 0
        if empty.any():
            raise SettlementFileError(settlement_id, "is empty in a transaction row",
                                      row=lines.of(rows.loc[empty, "line"].iloc[0]), column=column)

    amounts = pd.concat([rows["amount"], pd.Series([summary["total-amount"]])], ignore_index=True)
    decimal_comma = bool(amounts.str.contains(r",\d{1,2}$", regex=True).any()
                         and not amounts.str.contains(r"\.\d{1,2}$", regex=True).any())
    rows["amount_minor"] = _to_minor(rows["amount"], decimal_comma=decimal_comma, settlement_id=settlement_id,
                                     lines=rows["line"], column="amount", line_numbers=lines)
    total = _to_minor(pd.Series([summary["total-amount"]]), decimal_comma=decimal_comma,
                      settlement_id=settlement_id, lines=pd.Series([summary["line"]]), column="total-amount",
                      line_numbers=lines)
    total_minor = int(total.iloc[0])
    currency = summary["currency"]
    if not re.fullmatch(r"[A-Z]{3}", currency or ""):
        raise SettlementFileError(settlement_id, f"currency {currency!r} is not an ISO code",
                                  row=lines.of(summary["line"]), column="currency")
    header = SettlementHeader(
        settlement_id=settlement_id,
        start=_parse_datetime(summary["settlement-start-date"], settlement_id, lambda: lines.of(summary["line"]), "settlement-start-date"),
        end=_parse_datetime(summary["settlement-end-date"], settlement_id, lambda: lines.of(summary["line"]), "settlement-end-date"),
        deposit_date=_parse_datetime(summary["deposit-date"], settlement_id, lambda: lines.of(summary["line"]), "deposit-date"),
        total_minor=total_minor,
        currency=currency,
    )
    row_sum = int(rows["amount_minor"].sum())
    if row_sum != total_minor:
        raise SettlementFileError(
            settlement_id,
            f"the transaction rows sum to {Decimal(row_sum) / 100} but total-amount is {Decimal(total_minor) / 100} "
            f"{currency}; the file is incomplete or altered",
            row=lines.of(summary["line"]), column="total-amount", reason="unbalanced_file",
        )
    keep = [c for c in COLUMNS if c in rows.columns] + ["amount_minor", "line"]
    rows = rows.loc[:, keep].reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(f"{header.settlement_id}|{header.total_minor}|{header.currency}|".encode())
    digest.update(pd.util.hash_pandas_object(
        rows[["transaction-type", "amount-type", "amount-description", "marketplace-name", "order-id", "amount_minor"]],
        index=False).values.tobytes())
    return ParsedSettlement(header=header, rows=rows, content_hash=digest.hexdigest(), decimal_comma=decimal_comma)


# ------------------------------------------------------------------------------------------ journal


@dataclass(frozen=True)
class JournalLineSpec:
    account_id: str
    amount_minor: int  # positive = credit (money to the seller), negative = debit
    memo: str
    department_id: str | None = None
    class_id: str | None = None
    location_id: str | None = None
    is_bank: bool = False

    @property
    def key(self) -> str:
        return "|".join([self.account_id, self.department_id or "", self.class_id or "", self.location_id or ""])


@dataclass
class JournalPlan:
    """One settlement's journal entries (parts of at most 1,000 lines, each balanced)."""

    settlement_id: str
    marketplace_id: str
    subsidiary_id: str
    currency_id: str
    tran_date: date
    memo: str
    total_minor: int
    parts: list[list[JournalLineSpec]]
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    account_sums: dict[str, int] = field(default_factory=dict)

    def external_ids(self) -> list[str]:
        if len(self.parts) == 1:
            return [f"AMZ-JE-{self.settlement_id}"]
        return [f"AMZ-JE-{self.settlement_id}-{n}" for n in range(1, len(self.parts) + 1)]

    def line_sums(self) -> dict[str, int]:
        """Per (account, segments) net amount in minor units, over every part (for adjustments)."""
        sums: dict[str, int] = {}
        for part in self.parts:
            for line in part:
                sums[line.key] = sums.get(line.key, 0) + line.amount_minor
        return {k: v for k, v in sums.items() if v}


def home_marketplace(parsed: ParsedSettlement, mappings: Mappings, marketplace_id: str | None = None) -> Marketplace:
    """The marketplace whose subsidiary owns the settlement: the report's, else by currency and rows."""
    from amazon_netsuite.mappings import MappingLookupError

    sid = parsed.header.settlement_id
    if marketplace_id:
        try:
            marketplace = mappings.marketplace(marketplace_id)
        except MappingLookupError as exc:
            raise SettlementFileError(sid, str(exc), reason=exc.reason) from None
    else:
        names = parsed.rows["marketplace-name"].value_counts()
        candidates = []
        for name in names.index:
            if not name:
                continue
            try:
                m = mappings.marketplace_by_name(name)
            except MappingLookupError:
                continue
            if m.currency == parsed.header.currency:
                candidates.append(m)
        if not candidates:
            raise SettlementFileError(
                sid, f"no marketplace in marketplaces.csv with currency {parsed.header.currency} matches the "
                "marketplace names in the file", reason="unknown_marketplace")
        marketplace = candidates[0]
    if marketplace.currency != parsed.header.currency:
        raise SettlementFileError(
            sid, f"the settlement is in {parsed.header.currency} but {marketplace.marketplace_name} is in "
            f"{marketplace.currency}", reason="currency_mismatch")
    if marketplace.currency_id is None:
        raise SettlementFileError(sid, f"marketplaces.csv has no currency_id for {marketplace.marketplace_name}",
                                  reason="missing_mapping")
    return marketplace


def _minor_to_decimal(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(CENT)


def build_journal(
    parsed: ParsedSettlement,
    mappings: Mappings,
    *,
    mode: str = "summary",
    posting_date: date | None = None,
    marketplace_id: str | None = None,
) -> JournalPlan:
    """Map every row through the GL table and build the balanced journal entries of a settlement."""
    if mode not in ("summary", "detail"):
        raise ValueError(f"mode must be summary or detail, not {mode!r}")
    header = parsed.header
    home = home_marketplace(parsed, mappings, marketplace_id)
    rows = parsed.rows

    # One GL resolution per distinct combination (a handful), not per row (a million).
    keys = ["transaction-type", "amount-type", "amount-description", "marketplace-name"]
    combos = rows[keys].drop_duplicates()
    resolved: dict[tuple[str, str, str, str], tuple[str, str, str | None, str | None, str | None, bool]] = {}
    unmapped: list[dict[str, Any]] = []
    for t_type, a_type, a_desc, m_name in combos.itertuples(index=False, name=None):
        row_market = home
        if m_name:
            try:
                row_market = mappings.marketplace_by_name(m_name)
            except Exception:  # noqa: BLE001 - a marketplace name we don't map keeps the home segments
                row_market = home
        rule_market = row_market if row_market.currency == home.currency else home
        mapping = mappings.gl_mapping(rule_market, t_type, a_type, a_desc)
        if mapping.rule is not None and mapping.rule.role:
            account = home.account_for_role(mapping.rule.role)  # roles: the posting subsidiary's accounts
        elif mapping.rule is None:
            account = home.suspense_account_id
        else:
            account = mapping.account_id
        # marketplace detail in the segments; a location only where it belongs to the posting subsidiary
        location = (row_market.location_id
                    if row_market is not home and row_market.subsidiary_id == home.subsidiary_id else None)
        resolved[(t_type, a_type, a_desc, m_name)] = (
            account, mapping.memo, row_market.department_id, row_market.class_id, location, mapping.unmapped,
        )
    frame = _assign_accounts(rows, keys, resolved)
    for key, value in resolved.items():
        if value[5]:
            mask = (
                (frame["transaction-type"] == key[0]) & (frame["amount-type"] == key[1])
                & (frame["amount-description"] == key[2]) & (frame["marketplace-name"] == key[3])
            )
            unmapped.append({
                "transaction_type": key[0], "amount_type": key[1], "amount_description": key[2],
                "marketplace_name": key[3], "rows": int(mask.sum()),
                "amount": str(_minor_to_decimal(int(frame.loc[mask, "amount_minor"].sum()))),
            })

    memo_base = (f"Amazon settlement {header.settlement_id} {header.start:%Y-%m-%d}..{header.end:%Y-%m-%d} "
                 f"({home.marketplace_name})")
    lines = _summary_lines(frame, resolved, keys) if mode == "summary" else _detail_lines(frame, resolved, keys)
    lines = [line for line in lines if line.amount_minor]
    account_sums: dict[str, int] = {}
    for line in lines:
        account_sums[line.account_id] = account_sums.get(line.account_id, 0) + line.amount_minor
    bank = home.settlement_bank_account_id
    parts: list[list[JournalLineSpec]] = []
    chunk = MAX_JOURNAL_LINES - 1
    for start in range(0, max(len(lines), 1), chunk):
        part = lines[start:start + chunk]
        net = sum(line.amount_minor for line in part)
        # bank takes the part's net: credits - debits of the others = the deposit (a debit)
        if net:
            part = [*part, JournalLineSpec(account_id=bank, amount_minor=-net, memo=f"Deposit: {memo_base}",
                                           is_bank=True)]
        parts.append(part)
    plan = JournalPlan(
        settlement_id=header.settlement_id, marketplace_id=home.marketplace_id, subsidiary_id=home.subsidiary_id,
        currency_id=home.currency_id, tran_date=posting_date or header.deposit_date.date(), memo=memo_base,
        total_minor=header.total_minor, parts=parts, unmapped=unmapped, account_sums=account_sums,
    )
    check_journal(plan, frame)
    return plan


def _assign_accounts(rows: pd.DataFrame, keys: list[str], resolved: dict) -> pd.DataFrame:
    """Join each row to its combination's account and segments (one small lookup table)."""
    import pandas as pd

    lookup = pd.DataFrame(
        [(*k, v[0], v[2] or "", v[3] or "", v[4] or "") for k, v in resolved.items()],
        columns=[*keys, "_account", "_dept", "_class", "_loc"],
    )
    return rows.merge(lookup, on=keys, how="left", sort=False)


def _segments(resolved: dict, key: tuple) -> tuple[str | None, str | None, str | None]:
    value = resolved[key]
    return value[2], value[3], value[4]


def _summary_lines(frame: pd.DataFrame, resolved: dict, keys: list[str]) -> list[JournalLineSpec]:
    sums = frame.groupby(keys, sort=False)["amount_minor"].sum()
    merged: dict[tuple, tuple[int, list[str]]] = {}
    for key, amount in sums.items():
        account, memo = resolved[key][0], resolved[key][1]
        segments = _segments(resolved, key)
        group = (account, *segments)
        total, memos = merged.get(group, (0, []))
        if memo and memo not in memos:
            memos = [*memos, memo]
        merged[group] = (total + int(amount), memos)
    return [
        JournalLineSpec(account_id=account, amount_minor=total, memo="; ".join(memos)[:999],
                        department_id=dept, class_id=cls, location_id=loc)
        for (account, dept, cls, loc), (total, memos) in merged.items()
    ]


def _detail_lines(frame: pd.DataFrame, resolved: dict, keys: list[str]) -> list[JournalLineSpec]:
    """One line per order (or per other-transaction type) and account/segments, grouped in pandas."""
    order = frame["order-id"] if "order-id" in frame.columns else ""
    label = ("Order " + order).where(order != "", (frame["transaction-type"] + " " + frame["amount-description"]).str.strip())
    detail = frame.assign(_label=label)
    sums = detail.groupby(["_label", "_account", "_dept", "_class", "_loc"], sort=False)["amount_minor"].sum()
    return [
        JournalLineSpec(account_id=account, amount_minor=int(total), memo=text, department_id=dept or None,
                        class_id=cls or None, location_id=loc or None)
        for (text, account, dept, cls, loc), total in sums.items()
    ]


def check_journal(plan: JournalPlan, frame: pd.DataFrame) -> None:
    """The assertions before posting: balanced parts, bank = total-amount, accounts match the file."""
    sid = plan.settlement_id
    bank_total = 0
    for number, part in enumerate(plan.parts, start=1):
        if len(part) > MAX_JOURNAL_LINES:
            raise SettlementFileError(sid, f"journal part {number} has {len(part)} lines (max {MAX_JOURNAL_LINES})",
                                      reason="journal_error")
        credits = sum(line.amount_minor for line in part if line.amount_minor > 0)
        debits = -sum(line.amount_minor for line in part if line.amount_minor < 0)
        if credits != debits:
            raise SettlementFileError(sid, f"journal part {number} does not balance: debits {debits} != credits "
                                      f"{credits} (minor units)", reason="journal_error")
        bank_total -= sum(line.amount_minor for line in part if line.is_bank)
    if bank_total != plan.total_minor:
        raise SettlementFileError(sid, f"the bank lines carry {bank_total} but total-amount is {plan.total_minor} "
                                  "(minor units)", reason="journal_error")
    from_file = frame.groupby("_account")["amount_minor"].sum().to_dict()
    from_file = {k: int(v) for k, v in from_file.items() if int(v)}
    if from_file != {k: v for k, v in plan.account_sums.items() if v}:
        raise SettlementFileError(sid, "per-account sums of the journal differ from the file", reason="journal_error")


def journal_records(plan: JournalPlan, *, adjust_from: dict[str, int] | None = None,
                    adjustment_number: int = 1) -> list[dict[str, Any]]:
    """The ``journalEntry`` records to upsert: the plan's parts, or the adjusting entry that moves an
    already posted journal (``adjust_from``: its :meth:`JournalPlan.line_sums`) to this plan."""
    from amazon_netsuite.netsuite.records import JournalLine, build_journal_entry

    def line(spec_account: str, amount: int, memo: str, dept=None, cls=None, loc=None) -> JournalLine:
        value = _minor_to_decimal(abs(amount))
        return JournalLine(account_id=spec_account, credit=value if amount > 0 else None,
                           debit=value if amount < 0 else None, memo=memo[:999] or None,
                           department_id=dept, class_id=cls, location_id=loc)

    fields = {"custbody_amazon_settlement_id": plan.settlement_id}
    if adjust_from is None:
        return [
            build_journal_entry(
                external_id=external_id, subsidiary_id=plan.subsidiary_id, currency_id=plan.currency_id,
                tran_date=plan.tran_date,
                memo=plan.memo if len(plan.parts) == 1 else f"{plan.memo} part {n}/{len(plan.parts)}",
                lines=[line(s.account_id, s.amount_minor, s.memo, s.department_id, s.class_id, s.location_id)
                       for s in part],
                custom_field_values=fields,
            )
            for n, (external_id, part) in enumerate(zip(plan.external_ids(), plan.parts, strict=True), start=1)
        ]
    target = plan.line_sums()
    diff = {k: target.get(k, 0) - adjust_from.get(k, 0) for k in set(target) | set(adjust_from)}
    diff = {k: v for k, v in diff.items() if v}
    if not diff:
        return []
    lines = []
    for key, amount in sorted(diff.items()):
        account, dept, cls, loc = (key.split("|") + ["", "", ""])[:4]
        lines.append(line(account, amount, f"Adjustment: settlement {plan.settlement_id} file changed after posting",
                          dept or None, cls or None, loc or None))
    return [build_journal_entry(
        external_id=f"AMZ-JE-{plan.settlement_id}-ADJ{adjustment_number}", subsidiary_id=plan.subsidiary_id,
        currency_id=plan.currency_id, tran_date=plan.tran_date,
        memo=f"Adjusting entry {adjustment_number}: {plan.memo} (the file changed after posting)",
        lines=lines, custom_field_values=fields,
    )]


def journal_summary(plan: JournalPlan) -> dict[str, Any]:
    """Ids and money of a plan for logs, XCom and the finance summary (no PII in a settlement)."""
    return {
        "settlement_id": plan.settlement_id,
        "marketplace_id": plan.marketplace_id,
        "total": str(_minor_to_decimal(plan.total_minor)),
        "tran_date": plan.tran_date.isoformat(),
        "journal_entries": plan.external_ids(),
        "lines": sum(len(p) for p in plan.parts),
        "unmapped": plan.unmapped,
    }


__all__: Sequence[str] = (
    "JournalLineSpec", "JournalPlan", "ParsedSettlement", "SettlementFileError", "SettlementHeader",
    "build_journal", "check_journal", "home_marketplace", "journal_records", "journal_summary", "parse_settlement",
)
