"""Amazon settlement report (V2 flat file) -> balanced NetSuite journal entries. Pure: no I/O.

Parsing (pandas): every column is read as text first, then typed; the summary row (totals, dates,
currency) is separated from the transaction rows; decimal commas and dot decimals, EU and slashed
dates with UTC/GMT/PST/PDT, BOM, CRLF, trailing tabs, empty lines and exports that repeat the summary
columns on every row are handled. Money is aggregated as integer minor units and turned into
``Decimal`` only for the journal, so 1,000,000 rows add up exactly. A file that is malformed —
another layout (V1 flat file, XML, date range report), missing columns, control characters, amounts
that don't parse or are absurdly large, rows that don't sum to ``total-amount`` — is rejected with
:class:`SettlementFileError` naming the settlement id, the row and the column.

Mapping: the settlement's home marketplace comes from the FILE (its ``marketplace-name`` rows and
currency; a fee-only file by currency within the region, or the ``marketplace`` trigger param), never
from the report's ``marketplaceIds`` (every settlement report lists all of the region's marketplaces).
Every (transaction-type, amount-type, amount-description, marketplace-name) goes through
``settlement_gl.csv`` (most specific rule wins); roles resolve to the accounts of the row's own
marketplace when it posts in the same subsidiary and currency, else of the home marketplace;
combinations with no rule go to suspense (zero amounts with no rule are ignored and counted); a
catch-all rule that books to an account number never takes a tax-like description.

Journal (docs/accounting.md): positive amounts (money to the seller) are credits, negative ones
debits. The settlement total goes to the bank when positive (one deposit line, in the last part), to
the marketplace's *Amazon balance owed* account when negative (no money leaves the bank: Amazon
carries the balance into the next settlement or charges the card). A settlement split at month ends
(``split_settlements_at_period_end``) or in parts of at most 1,000 lines carries each part to the
deposit through the settlement-in-transit account. Before anything is posted, :func:`build_journal`
checks that every part balances, that the deposit (or carried balance) equals ``total-amount``, that
the in-transit lines net to zero and that each account's sum equals the file's.
"""

from __future__ import annotations

import calendar
import gc
import hashlib
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

    from amazon_netsuite.mappings import GlRule, Mappings, Marketplace

COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)
SUMMARY_COLUMNS = COLUMNS[:6]
REQUIRED = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
            "currency", "transaction-type", "marketplace-name", "amount-type", "amount-description", "amount")
#: columns of the older flat file layout (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE, "V1")
V1_COLUMNS = frozenset({"price-type", "price-amount", "item-related-fee-type", "item-related-fee-amount",
                        "shipment-fee-type", "shipment-fee-amount", "order-fee-type", "order-fee-amount",
                        "misc-fee-amount", "other-fee-amount", "other-fee-reason-description", "promotion-type",
                        "promotion-amount", "direct-payment-type", "direct-payment-amount", "other-amount"})
HOW_TO_GET_V2 = ("in Seller Central open Reports > Payments > All Statements, find the settlement period and click "
                 "'Download Flat File V2', then import that file")
MAX_JOURNAL_LINES = 1000
CENT = Decimal("0.01")
MAX_INTEGER_DIGITS = 13  # 10 trillion: far beyond any settlement amount, far below int64 cents
_AMOUNT = re.compile(r"^(-?)(\d+)(?:\.(\d{1,2}))?$")
# Characters no text column of a settlement holds, and that NetSuite's XML cannot carry (tab, LF, CR allowed).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ZONES = {"UTC": 0, "GMT": 0, "Z": 0, "PST": -8 * 60, "PDT": -7 * 60}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y",
)
_STOREFRONT = re.compile(r"^amazon\.[a-z]{2,3}(\.[a-z]{2})?$", re.IGNORECASE)
_TAX_WORDS = frozenset({"tax", "taxes", "vat", "gst", "hst", "pst", "qst", "tcs", "tds"})
RESERVE_DESCRIPTIONS = ("Current Reserve Amount", "Previous Reserve Amount Balance")
#: FBA reimbursement reasons where units were lost or destroyed in Amazon's warehouse (the seller's
#: FBA stock is lower than NetSuite's) and the reversal (units found again)
UNITS_LOST = frozenset({"WAREHOUSE_LOST", "WAREHOUSE_LOST_MANUAL", "WAREHOUSE_DAMAGE", "WAREHOUSE_DAMAGE_EXCEPTION",
                        "DAMAGED_WAREHOUSE", "LOST_WAREHOUSE"})
UNITS_FOUND = frozenset({"REVERSAL_REIMBURSEMENT"})


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
    repeated_summary: bool = False  # an export that repeats the summary columns on every row
    line_numbers: _LineNumbers | None = field(default=None, repr=False, compare=False)

    def file_row(self, position: Any) -> int:
        """The file row number (header = 1) of a row's ``line`` position."""
        return self.line_numbers.of(position) if self.line_numbers else int(position) + 2


# ------------------------------------------------------------------------------------------ layout


def layout_problem(text: str) -> tuple[str, str] | None:
    """(reason, message) when ``text`` is not a settlement V2 flat file, from its first line alone.

    Cheap (no parsing): the flow calls it before archiving an imported file.
    """
    head = ""
    for line in text[:65536].lstrip("\ufeff").splitlines():
        if line.strip():
            head = line.strip()
            break
    if not head:
        return "malformed_file", "the file is empty"
    lowered = head.casefold()
    if lowered.startswith("<?xml") or lowered.startswith("<amazonenvelope") or lowered.startswith("<"):
        return ("old_layout", "this is the XML settlement report (GET_V2_SETTLEMENT_REPORT_DATA_XML), which is not "
                f"imported: {HOW_TO_GET_V2}")
    cells = {c.strip().casefold() for c in head.split("\t")}
    if "settlement-id" not in cells:
        if "date/time" in lowered and "settlement id" in lowered:
            return ("not_a_settlement", "this is a Date Range transaction report, not a settlement report: its "
                    f"rows are not one settlement and carry no deposit; {HOW_TO_GET_V2}")
        return ("not_a_settlement", "this is not an Amazon settlement report: its first line has no settlement-id "
                "column (a Flat File V2 settlement report starts with the tab-separated header settlement-id, "
                f"settlement-start-date, settlement-end-date, ...); {HOW_TO_GET_V2}")
    if "amount-type" not in cells and len(cells & V1_COLUMNS) >= 2:
        return ("old_layout", "this is the older settlement flat file layout (V1, GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE: "
                "price-type/price-amount, item-related-fee-type/item-related-fee-amount... columns), which is not "
                f"imported: {HOW_TO_GET_V2}")
    return None


def _check_characters(text: str, settlement_id: str | None) -> None:
    """Refuse control characters (a NUL in a description...): not text Amazon writes, and not XML."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _CONTROL_BYTES)) == len(data) and "\ufffe" not in text and "\uffff" not in text:
        return
    found = _CONTROL.search(text)
    if found is None:  # pragma: no cover - the two checks agree
        return
    position = found.start()
    line_start = text.rfind("\n", 0, position) + 1
    line_number = text.count("\n", 0, position) + 1
    header = text.split("\n", 1)[0].rstrip("\r").split("\t")
    cell = text[line_start:position].count("\t")
    column = header[cell].strip() if cell < len(header) else f"field {cell + 1}"
    raise SettlementFileError(
        settlement_id, f"contains the control character U+{ord(found.group()):04X} (not text Amazon writes; the file "
        f"is damaged or was edited): download it again ({HOW_TO_GET_V2})", row=line_number, column=column)


# ------------------------------------------------------------------------------------------ parsing


def _parse_datetime(value: str, settlement_id: str | None, row: Any, column: str) -> datetime:
    """A date of the file as an aware UTC datetime; a date alone is midnight UTC."""
    text = value.strip()
    zone_offset = 0
    named = re.fullmatch(r"(.*\d)\s+([A-Za-z]{1,5})", text)
    if named:
        zone = named.group(2).upper()
        if zone not in _ZONES:
            raise SettlementFileError(
                settlement_id, f"time zone {named.group(2)!r} in {value!r} is not one Amazon writes in settlement "
                "files (UTC, GMT, PST, PDT, or an offset such as +01:00): download the file again "
                f"({HOW_TO_GET_V2})", row=row() if callable(row) else row, column=column)
        zone_offset = _ZONES[zone]
        text = named.group(1).strip()
    elif text.endswith("Z"):
        text = text[:-1]
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - the zone is applied below
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone(timedelta(minutes=zone_offset)))
        return parsed.astimezone(UTC)
    raise SettlementFileError(settlement_id, f"{value!r} is not a date Amazon writes (e.g. 2026-11-15 07:48:10 UTC, "
                              "15.11.2026 07:48:10 UTC, 2026/11/15 07:48:10 PST)",
                              row=row() if callable(row) else row, column=column)


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
    integer_digits = np.where(dot >= 0, dot, length)
    too_large = integer_digits > MAX_INTEGER_DIGITS
    if too_large.any():
        first = series.index[int(np.argmax(too_large))]
        raise SettlementFileError(
            settlement_id, f"amount {series.loc[first]!r} is too large to be a settlement amount (more than "
            f"{MAX_INTEGER_DIGITS} digits before the decimal point): the file is damaged or not Amazon's",
            row=line_numbers.of(lines.loc[first]), column=column,
        )
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
    guess = _quick_id(text)
    problem = layout_problem(text)
    if problem is not None:
        raise SettlementFileError(guess, problem[1], row=1, reason=problem[0])
    _check_characters(text, guess)
    try:
        with warnings.catch_warnings():
            # trailing tabs (common in Amazon's files) make rows one field longer than the header
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, na_filter=False,
                                skip_blank_lines=True, quoting=3, engine="c", index_col=False)
    except pd.errors.ParserError as exc:
        raise SettlementFileError(guess, f"not a tab-separated settlement file: {exc}", row=1) from None
    # na_filter=False: no NaN, missing fields are "" (no fillna copy of a million rows)
    frame.columns = [str(c).strip() for c in frame.columns]
    unnamed = [c for c in frame.columns if not c or c.startswith("Unnamed:")]
    if unnamed:
        frame = frame.drop(columns=unnamed)
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
    summaries = int(is_summary.sum())
    # an export that repeats the summary columns on every row (checked only when there are several)
    has_type = frame["transaction-type"].str.strip() != "" if summaries > 1 else None
    repeated = bool(has_type is not None and (is_summary & has_type).any())
    if not summaries:
        raise SettlementFileError(guess_id, "no summary row (the row with total-amount)", row=2, column="total-amount")
    if repeated:
        # An export that repeats the summary columns on every row: they must all say the same.
        summaries = frame.loc[is_summary, [*SUMMARY_COLUMNS, "line"]]
        first_summary = summaries.iloc[0]
        for column in SUMMARY_COLUMNS:
            values = summaries[column].str.strip()
            differs = values != str(first_summary[column]).strip()
            if differs.any():
                other = summaries.loc[differs].iloc[0]
                raise SettlementFileError(
                    guess_id, f"the summary columns are repeated on the rows but disagree: {column} is "
                    f"{str(other[column]).strip()!r} here and {str(first_summary[column]).strip()!r} in row "
                    f"{lines.of(first_summary['line'])}: the export mixes settlements or was edited; {HOW_TO_GET_V2}",
                    row=lines.of(other["line"]), column=column)
        summary = first_summary.map(lambda v: v.strip() if isinstance(v, str) else v)
        rows = frame.loc[has_type].copy()
    else:
        if summaries > 1:
            second = frame.loc[is_summary, "line"].iloc[1]
            raise SettlementFileError(guess_id, "more than one summary row with total-amount (two files joined "
                                      "together?)", row=lines.of(second), column="total-amount")
        position = int(is_summary.to_numpy().argmax())
        summary = frame.iloc[position].map(lambda v: v.strip() if isinstance(v, str) else v)
        # the summary is the first data row in Amazon's files: a slice, not a copy of a million rows
        rows = frame.iloc[1:] if position == 0 else frame.loc[~is_summary]
    settlement_id = summary["settlement-id"] or guess_id
    if not settlement_id:
        raise SettlementFileError(None, "the summary row has no settlement-id", row=lines.of(summary["line"]),
                                  column="settlement-id")
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
    magnitude = int(rows["amount_minor"].abs().max())
    if magnitude * len(rows) >= 2**62:  # int64 sums would overflow: no real settlement comes near
        worst = rows.loc[rows["amount_minor"].abs().idxmax()]
        raise SettlementFileError(settlement_id, f"amount {worst['amount']!r} times {len(rows)} rows cannot be a "
                                  "settlement: the file is damaged or not Amazon's", row=lines.of(worst["line"]),
                                  column="amount")
    row_sum = int(rows["amount_minor"].sum())
    if row_sum != total_minor:
        raise SettlementFileError(
            settlement_id,
            f"the transaction rows sum to {Decimal(row_sum) / 100} but total-amount is {Decimal(total_minor) / 100} "
            f"{currency}; the file is incomplete or altered",
            row=lines.of(summary["line"]), column="total-amount", reason="unbalanced_file",
        )
    keep = [c for c in COLUMNS[6:] if c in rows.columns] + ["amount_minor", "line"]
    rows = rows.loc[:, keep].reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(f"{header.settlement_id}|{header.total_minor}|{header.currency}|".encode())
    digest.update(pd.util.hash_pandas_object(
        rows[["transaction-type", "amount-type", "amount-description", "marketplace-name", "order-id", "amount_minor"]],
        index=False).values.tobytes())
    return ParsedSettlement(header=header, rows=rows, content_hash=digest.hexdigest(), decimal_comma=decimal_comma,
                            repeated_summary=repeated, line_numbers=lines)


def _quick_id(text: str) -> str | None:
    lines = [line for line in text.split("\n", 3)[:3] if line.strip()]
    if len(lines) < 2:
        return None
    header = [c.strip() for c in lines[0].split("\t")]
    cells = lines[1].split("\t")
    if "settlement-id" in header and header.index("settlement-id") < len(cells):
        return cells[header.index("settlement-id")].strip() or None
    return None


quick_settlement_id = _quick_id


# ------------------------------------------------------------------------------------------ journal


class JournalLineSpec(NamedTuple):  # a tuple: a million of them are built in detail mode
    account_id: str
    amount_minor: int  # positive = credit (money to the seller), negative = debit
    memo: str
    department_id: str | None = None
    class_id: str | None = None
    location_id: str | None = None
    #: row (an amount of the file), deposit (bank), carried (Amazon balance owed), transit (between parts)
    kind: str = "row"
    source_account: str | None = None  # the GL rule's account the amount came from (VAT lines: the net account)

    @property
    def is_bank(self) -> bool:
        return self.kind == "deposit"

    @property
    def key(self) -> str:
        return "|".join([self.account_id, self.department_id or "", self.class_id or "", self.location_id or ""])


@dataclass
class JournalPart:
    """One journal entry: at most 1,000 lines, balanced, dated in the period its rows belong to."""

    lines: list[JournalLineSpec]
    tran_date: date
    period: str  # YYYY-MM of the rows it carries

    def __iter__(self):
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def content_hash(self) -> str:
        digest = hashlib.sha256(self.tran_date.isoformat().encode())
        for line in self.lines:
            digest.update(f"|{line.key}|{line.amount_minor}|{line.kind}".encode())
        return digest.hexdigest()[:32]


@dataclass
class JournalPlan:
    """One settlement's journal entries (parts of at most 1,000 lines, each balanced)."""

    settlement_id: str
    marketplace_id: str
    marketplace_name: str
    subsidiary_id: str
    currency_id: str
    currency: str
    tran_date: date  # of the deposit (or the posting_date param)
    memo: str
    total_minor: int
    parts: list[JournalPart]
    deposit_account_id: str | None = None  # bank (total > 0) or Amazon balance owed (total < 0)
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    account_sums: dict[str, int] = field(default_factory=dict)
    ignored_zero_rows: int = 0
    fee_groups: dict[str, int] = field(default_factory=dict)
    reserve: dict[str, int] = field(default_factory=dict)
    balance_moves: dict[str, int] = field(default_factory=dict)
    inventory_suggestions: list[dict[str, Any]] = field(default_factory=list)

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

    def part_hashes(self) -> dict[str, str]:
        return {ext: part.content_hash() for ext, part in zip(self.external_ids(), self.parts, strict=True)}

    @property
    def deposit_kind(self) -> str:
        return "deposit" if self.total_minor > 0 else "carried" if self.total_minor < 0 else "none"

    @property
    def periods(self) -> list[str]:
        return sorted({p.period for p in self.parts})


@dataclass(frozen=True)
class Home:
    """The marketplace that owns a settlement, and the same-subsidiary marketplaces whose rows it holds."""

    marketplace: Marketplace
    row_markets: dict[str, Marketplace]  # casefolded marketplace-name -> its marketplace (same currency and subsidiary)


def _names(parsed: ParsedSettlement) -> list[str]:
    return sorted({n.strip() for n in parsed.rows["marketplace-name"].unique() if n and n.strip()})


def resolve_home(parsed: ParsedSettlement, mappings: Mappings, *, marketplace_id: str | None = None,
                 region: str | None = None, listed_marketplace_ids: Sequence[str] = ()) -> Home:
    """The settlement's home marketplace, from the file: its marketplace names and currency.

    ``marketplace_id`` (the ``marketplace`` trigger param) names it where the file cannot: a fee-only
    settlement whose currency several mapped marketplaces of the region share. Rows naming a storefront
    marketplaces.csv does not map refuse the settlement (``unmapped_marketplace``); same-currency
    marketplaces in different subsidiaries refuse it too (one deposit cannot be split between
    subsidiaries without an intercompany entry).
    """
    from amazon_netsuite.mappings import MappingLookupError

    sid = parsed.header.settlement_id
    currency = parsed.header.currency
    names = _names(parsed)
    mapped: dict[str, Marketplace] = {}
    unmapped: list[str] = []
    for name in names:
        try:
            mapped[name] = mappings.marketplace_by_name(name)
        except MappingLookupError:
            if _STOREFRONT.match(name):
                unmapped.append(name)
    if unmapped:
        raise SettlementFileError(
            sid, f"its {currency} rows name {', '.join(unmapped)}, which marketplaces.csv does not map: add "
            f"{'that marketplace' if len(unmapped) == 1 else 'those marketplaces'} (subsidiary, currency, accounts) "
            "and replay the settlement, or leave it: it is not posted and not alerted again",
            reason="unmapped_marketplace")
    same_currency = {n: m for n, m in mapped.items() if m.currency == currency}
    forced = None
    if marketplace_id:
        try:
            forced = mappings.marketplace(marketplace_id)
        except MappingLookupError as exc:
            raise SettlementFileError(sid, f"the marketplace param: {exc}", reason="missing_mapping") from None
        if same_currency and forced not in same_currency.values():
            raise SettlementFileError(
                sid, f"the marketplace param names {forced.marketplace_name} but the file's rows are of "
                f"{', '.join(sorted(same_currency))}: drop the param", reason="marketplace_param_mismatch")
    subsidiaries = {m.subsidiary_id for m in same_currency.values()}
    if len(subsidiaries) > 1:
        listing = "; ".join(f"{n}: subsidiary {m.subsidiary_id}, clearing {m.amazon_clearing_account_id}"
                            for n, m in sorted(same_currency.items()))
        raise SettlementFileError(
            sid, f"its {currency} rows are of marketplaces that post to different subsidiaries ({listing}); one "
            "deposit cannot be split between subsidiaries without an intercompany entry, so it is not posted: post "
            "it by hand from the archived file, or map these marketplaces to one subsidiary (their rows keep their "
            "own accounts and segments) and replay", reason="multi_subsidiary_settlement")
    if forced is not None:
        home = forced
    elif len(same_currency) == 1:
        home = next(iter(same_currency.values()))
    elif same_currency:
        deposit_targets = {(m.settlement_bank_account_id, m.balance_owed_account_id, m.currency_id)
                           for m in same_currency.values()}
        if len(deposit_targets) > 1:
            raise SettlementFileError(
                sid, f"its rows are of {', '.join(sorted(same_currency))}, whose bank (or balance owed) accounts "
                "differ: name the marketplace that receives the deposit with the marketplace param, e.g. airflow "
                "dags trigger amazon_settlements_to_netsuite --conf "
                f"'{{\"settlement_ids\": [\"{sid}\"], \"marketplace\": \"<marketplace id>\"}}'",
                reason="ambiguous_marketplace")
        counts = parsed.rows["marketplace-name"].str.strip().value_counts()
        home = max(same_currency.items(), key=lambda item: (int(counts.get(item[0], 0)), item[0]))[1]
    else:
        # the region: the marketplaces the report lists (Amazon lists the region's), or the connection's
        listed = set(listed_marketplace_ids)
        regional = listed or region
        candidates = [m for m in mappings.marketplaces.values()
                      if m.currency == currency and (not regional or m.marketplace_id in listed or m.region == region)]
        scope = f"region {region or ', '.join(sorted(listed))}" if regional else "marketplaces.csv"
        if not candidates:
            raise SettlementFileError(
                sid, f"no marketplace of {scope} has currency {currency} and the rows name none: add the "
                "marketplace to marketplaces.csv and replay the settlement, or leave it: it is not posted and not "
                "alerted again", reason="unmapped_marketplace")
        if len(candidates) > 1:
            raise SettlementFileError(
                sid, f"the rows name no marketplace and {len(candidates)} marketplaces of {scope} have currency "
                f"{currency} ({', '.join(m.marketplace_name for m in candidates)}): name the settlement's "
                "marketplace with the marketplace param, e.g. airflow dags trigger amazon_settlements_to_netsuite "
                f"--conf '{{\"settlement_ids\": [\"{sid}\"], \"marketplace\": \"{candidates[0].marketplace_id}\"}}'",
                reason="ambiguous_marketplace")
        home = candidates[0]
    if home.currency != currency:
        raise SettlementFileError(
            sid, f"the settlement is in {currency} but {home.marketplace_name} is in {home.currency}",
            reason="currency_mismatch")
    if home.currency_id is None:
        raise SettlementFileError(sid, f"marketplaces.csv has no currency_id for {home.marketplace_name}",
                                  reason="missing_mapping")
    row_markets = {n.casefold(): m for n, m in same_currency.items() if m.subsidiary_id == home.subsidiary_id}
    return Home(marketplace=home, row_markets=row_markets)


def home_marketplace(parsed: ParsedSettlement, mappings: Mappings, marketplace_id: str | None = None) -> Marketplace:
    """The marketplace whose subsidiary owns the settlement (see :func:`resolve_home`)."""
    return resolve_home(parsed, mappings, marketplace_id=marketplace_id).marketplace


def _minor_to_decimal(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(CENT)


def tax_like(text: str) -> bool:
    """``MarketplaceFacilitatorVAT-Principal``, ``TaxAmount``, ``GST/HST``: words of tax, by CamelCase token."""
    tokens = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", text or "")
    return any(t.casefold() in _TAX_WORDS for t in tokens)


def _names_tax(rule: GlRule) -> bool:
    """Does the rule name what it books (not a catch-all for the description)?"""
    pattern = rule.amount_description
    if pattern == "*":
        return tax_like(rule.amount_type)
    if pattern.endswith("*"):
        return tax_like(pattern[:-1]) or tax_like(rule.amount_type)
    return True


@dataclass(frozen=True)
class _Resolution:
    account: str
    memo: str
    dept: str | None
    cls: str | None
    loc: str | None
    unmapped: bool
    note: str = ""
    vat_rate: Decimal | None = None
    vat_account: str | None = None


def _resolve(mappings: Mappings, home: Home, key: tuple[str, str, str, str], sid: str) -> _Resolution:
    from amazon_netsuite.mappings import MappingLookupError

    t_type, a_type, a_desc, m_name = key
    base = home.marketplace
    row_market = home.row_markets.get(m_name.strip().casefold()) if m_name else None
    if row_market is None and m_name:
        try:
            row_market = mappings.marketplace_by_name(m_name)
        except MappingLookupError:  # "Non-Amazon" (MCF) and other names: the home's
            row_market = None
    row_market = row_market or base
    rule_market = row_market if row_market.currency == base.currency else base
    # roles: the row's own marketplace when it posts in this subsidiary and currency, else the home's
    role_market = row_market if (row_market.currency == base.currency
                                 and row_market.subsidiary_id == base.subsidiary_id) else base
    mapping = mappings.gl_mapping(rule_market, t_type, a_type, a_desc)
    rule = mapping.rule
    location = (row_market.location_id
                if row_market is not base and row_market.subsidiary_id == base.subsidiary_id else None)
    segments = (row_market.department_id, row_market.class_id, location)
    if rule is None:
        return _Resolution(role_market.suspense_account_id, mapping.memo, *segments, unmapped=True)
    if rule.role is None and tax_like(a_desc) and not _names_tax(rule):
        return _Resolution(
            role_market.suspense_account_id, f"Unmapped tax: {t_type} / {a_type} / {a_desc}", *segments, unmapped=True,
            note=f"tax-like: the catch-all rule in row {rule.row} does not take it; name it in a rule "
                 "(input_tax, facilitator_tax or an account)")
    account = role_market.account_for_role(rule.role) if rule.role else rule.gl_account_id
    if account is None:
        raise SettlementFileError(sid, f"{rule.file} row {rule.row} maps {t_type} / {a_type} / {a_desc} to role "
                                  f"{rule.role!r} but {role_market.marketplace_name} has no {rule.role}_account_id",
                                  reason="missing_mapping")
    vat_account = None
    if rule.vat_rate is not None and rule.vat_account_id:
        from amazon_netsuite.mappings import GL_ROLES

        vat_account = (role_market.account_for_role(rule.vat_account_id) if rule.vat_account_id in GL_ROLES
                       else rule.vat_account_id)
    return _Resolution(account, mapping.memo, *segments, unmapped=False, vat_rate=rule.vat_rate if vat_account else None,
                       vat_account=vat_account)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _periods(parsed: ParsedSettlement, frame: pd.DataFrame, deposit: date) -> tuple[Any, list[str]]:
    """(per row the index of its period, the periods YYYY-MM): the month of the row's posted-date,
    months at or after the deposit's counting as the deposit's. Each distinct date is parsed once."""
    import numpy as np
    import pandas as pd

    sid = parsed.header.settlement_id
    deposit_month = f"{deposit:%Y-%m}"
    column = frame["posted-date"] if "posted-date" in frame.columns else pd.Series("", index=frame.index)
    codes, uniques = pd.factorize(column, sort=False)
    months: list[str] = []
    for value in uniques:
        if not str(value).strip():
            months.append(deposit_month)
            continue
        try:
            day = _parse_datetime(str(value), sid, None, "posted-date").date()
        except SettlementFileError:
            first = frame.loc[column == value].iloc[0]
            raise SettlementFileError(sid, f"{value!r} is not a date Amazon writes (e.g. 2026-11-02 or 02.11.2026)",
                                      row=parsed.file_row(first["line"]), column="posted-date") from None
        month = f"{day:%Y-%m}"
        months.append(month if month < deposit_month else deposit_month)
    periods = sorted(set(months))
    position = np.array([periods.index(m) for m in months], dtype=np.int16)
    return position[codes], periods


def build_journal(
    parsed: ParsedSettlement,
    mappings: Mappings,
    *,
    mode: str = "summary",
    posting_date: date | None = None,
    marketplace_id: str | None = None,
    region: str | None = None,
    listed_marketplace_ids: Sequence[str] = (),
) -> JournalPlan:
    """Map every row through the GL table and build the balanced journal entries of a settlement.

    ``marketplace_id`` is the ``marketplace`` trigger param (never the report's marketplaceIds);
    ``region`` and ``listed_marketplace_ids`` (the report's) narrow the currency look-up of a fee-only
    settlement to the region that listed it.
    """
    import pandas as pd

    if mode not in ("summary", "detail"):
        raise ValueError(f"mode must be summary or detail, not {mode!r}")
    header = parsed.header
    sid = header.settlement_id
    home = resolve_home(parsed, mappings, marketplace_id=marketplace_id, region=region,
                        listed_marketplace_ids=listed_marketplace_ids)
    market = home.marketplace
    rows = parsed.rows

    # One GL resolution per distinct combination (a handful), not per row (a million).
    keys = ["transaction-type", "amount-type", "amount-description", "marketplace-name"]
    resolved: dict[tuple[str, str, str, str], _Resolution] = {}
    for combo in rows[keys].drop_duplicates().itertuples(index=False, name=None):
        resolved[combo] = _resolve(mappings, home, combo, sid)
    frame = _assign(rows, keys, resolved)
    # A zero amount with no rule books nothing: ignored (counted), never a suspense line.
    zero_unmapped = frame["_unmapped"] & (frame["amount_minor"] == 0)
    ignored = int(zero_unmapped.sum())
    if ignored:
        frame = frame.loc[~zero_unmapped]

    deposit_day = posting_date or header.deposit_date.date()
    split = (posting_date is None and market.split_settlements_at_period_end
             and bool(market.settlement_in_transit_account_id))
    deposit_month = f"{deposit_day:%Y-%m}"
    codes, periods = _periods(parsed, frame, deposit_day) if split and len(frame) else (None, [deposit_month])
    if len(periods) > 1:
        frame["_period"] = codes  # small integers: grouping by them is cheap
        period_keys = ["_period"]
    else:
        period_keys = []  # one period: the deposit's
    combo_sums = frame.groupby([*keys, *period_keys], sort=False)["amount_minor"].agg(["sum", "size"])
    combo_sums.index = pd.MultiIndex.from_tuples(
        [(*k[:4], periods[k[4]] if period_keys else deposit_month) for k in combo_sums.index],
        names=[*keys, "_period"])
    unmapped = _unmapped_listing(combo_sums, resolved)
    collecting = gc.isenabled()
    gc.disable()  # a million line objects and no cycle among them: the collector would only slow it down
    try:
        lines_by_period = (_summary_lines(combo_sums, resolved) if mode == "summary"
                           else _detail_lines(frame, resolved, period_keys, periods))
    finally:
        if collecting:
            gc.enable()
    memo = (f"Amazon settlement {sid} {header.start:%Y-%m-%d}..{header.end:%Y-%m-%d} "
            f"({market.marketplace_name})")
    deposit_account = (market.settlement_bank_account_id if header.total_minor > 0
                       else market.balance_owed_account_id if header.total_minor < 0 else None)
    if header.total_minor < 0 and not deposit_account:
        raise SettlementFileError(
            sid, f"the settlement closes negative ({_minor_to_decimal(header.total_minor)} {header.currency}): no money "
            f"leaves the bank, the balance goes to the Amazon balance owed account, but marketplaces.csv has no "
            f"balance_owed_account_id for {market.marketplace_name}: add it and replay", reason="missing_mapping")
    parts = _parts(lines_by_period, deposit_day=deposit_day, total_minor=header.total_minor,
                   deposit_account=deposit_account, transit_account=(market.settlement_in_transit_account_id
                                                                     or market.amazon_clearing_account_id),
                   memo=memo)
    account_sums: dict[str, int] = {}
    for part in parts:
        for line in part.lines:
            source = line[7]  # source_account (a million lines: index access)
            if source is not None:
                account_sums[source] = account_sums.get(source, 0) + line[1]
    plan = JournalPlan(
        settlement_id=sid, marketplace_id=market.marketplace_id, marketplace_name=market.marketplace_name,
        subsidiary_id=market.subsidiary_id, currency_id=market.currency_id, currency=header.currency,
        tran_date=deposit_day, memo=memo, total_minor=header.total_minor, parts=parts,
        deposit_account_id=deposit_account, unmapped=unmapped,
        account_sums={k: v for k, v in account_sums.items() if v}, ignored_zero_rows=ignored,
    )
    _describe(plan, frame, combo_sums, resolved, mappings, market)
    check_journal(plan, frame)
    return plan


def _assign(rows: pd.DataFrame, keys: list[str], resolved: dict) -> pd.DataFrame:
    """Join each row to its combination's account, segments and VAT split (one small lookup table)."""
    import pandas as pd

    lookup = pd.DataFrame(
        [(*k, v.account, v.dept or "", v.cls or "", v.loc or "", v.unmapped,
          f"{v.vat_rate}|{v.vat_account}" if v.vat_rate is not None else "") for k, v in resolved.items()],
        columns=[*keys, "_account", "_dept", "_class", "_loc", "_unmapped", "_vat"],
    )
    return rows.merge(lookup, on=keys, how="left", sort=False)


def _unmapped_listing(combo_sums: pd.DataFrame, resolved: dict) -> list[dict[str, Any]]:
    listing: dict[tuple, dict[str, Any]] = {}
    for (t_type, a_type, a_desc, m_name, _period), (amount, size) in combo_sums.iterrows():
        value = resolved[(t_type, a_type, a_desc, m_name)]
        if not value.unmapped:
            continue
        entry = listing.setdefault((t_type, a_type, a_desc, m_name), {
            "transaction_type": t_type, "amount_type": a_type, "amount_description": a_desc,
            "marketplace_name": m_name, "rows": 0, "amount_minor": 0, **({"note": value.note} if value.note else {})})
        entry["rows"] += int(size)
        entry["amount_minor"] += int(amount)
    result = []
    for entry in listing.values():
        amount = entry.pop("amount_minor")
        result.append({**entry, "amount": str(_minor_to_decimal(amount))})
    return result


def _vat_split(amount: int, rate: Decimal) -> int:
    """The VAT inside a VAT-inclusive amount (minor units), rounded half up to the cent."""
    vat = (Decimal(amount) * rate / (Decimal(100) + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(vat)


def _with_vat(account: str, amount: int, memo: str, segments: tuple, vat: str, source: str) -> list[JournalLineSpec]:
    dept, cls, loc = segments
    if not vat or not amount:
        return [JournalLineSpec(account, amount, memo, dept or None, cls or None, loc or None, source_account=source)]
    rate_text, vat_account = vat.split("|", 1)
    rate = Decimal(rate_text)
    tax = _vat_split(amount, rate)
    return [
        JournalLineSpec(account, amount - tax, f"{memo} (net of {rate_text}% VAT)"[:999], dept or None, cls or None,
                        loc or None, source_account=source),
        JournalLineSpec(vat_account, tax, f"VAT {rate_text}% in: {memo}"[:999], dept or None, cls or None, loc or None,
                        source_account=source),
    ]


def _summary_lines(combo_sums: pd.DataFrame, resolved: dict) -> dict[str, list[JournalLineSpec]]:
    merged: dict[tuple, tuple[int, list[str]]] = {}
    for (t_type, a_type, a_desc, m_name, period), (amount, _size) in combo_sums.iterrows():
        value = resolved[(t_type, a_type, a_desc, m_name)]
        vat = f"{value.vat_rate}|{value.vat_account}" if value.vat_rate is not None else ""
        group = (period, value.account, value.dept or "", value.cls or "", value.loc or "", vat)
        total, memos = merged.get(group, (0, []))
        if value.memo and value.memo not in memos:
            memos = [*memos, value.memo]
        merged[group] = (total + int(amount), memos)
    by_period: dict[str, list[JournalLineSpec]] = {}
    for (period, account, dept, cls, loc, vat), (total, memos) in sorted(merged.items()):
        by_period.setdefault(period, []).extend(
            _with_vat(account, total, "; ".join(memos)[:999], (dept, cls, loc), vat, account))
    return {p: [line for line in lines if line.amount_minor] for p, lines in by_period.items()}


def _detail_lines(frame: pd.DataFrame, resolved: dict, period_keys: list[str],
                  periods: list[str]) -> dict[str, list[JournalLineSpec]]:
    """One line per order (or per other-transaction type) and account/segments, grouped in pandas."""
    order = frame["order-id"] if "order-id" in frame.columns else ""
    label = ("Order " + order).where(order != "", (frame["transaction-type"] + " " + frame["amount-description"]).str.strip())
    values = list(resolved.values())
    # group only by the columns that vary in this settlement (fewer keys: much faster on a million rows)
    varying = [column for column, attribute in (("_dept", "dept"), ("_class", "cls"), ("_loc", "loc"))
               if len({getattr(v, attribute) or "" for v in values}) > 1]
    has_vat = any(v.vat_rate is not None for v in values)
    group = [*period_keys, "_label", "_account", *varying, *(["_vat"] if has_vat else [])]
    sums = frame.assign(_label=label).groupby(group, sort=False)["amount_minor"].sum().reset_index()
    constant = {column: (frame[column].iloc[0] if len(frame) else "") for column in ("_dept", "_class", "_loc")}
    by_period: dict[str, list[JournalLineSpec]] = {}
    if not has_vat and not varying:  # the common case, a million lines: one comprehension per period
        dept, cls, loc = (constant[c] or None for c in ("_dept", "_class", "_loc"))
        chunks = sums.groupby("_period", sort=True) if period_keys else [(0, sums)]
        for period, chunk in chunks:
            by_period[periods[period]] = [
                JournalLineSpec(account, total, label[:999], dept, cls, loc, "row", account)
                for label, account, total in zip(chunk["_label"].tolist(), chunk["_account"].tolist(),
                                                 chunk["amount_minor"].tolist(), strict=True) if total]
        return by_period
    keys = list(zip(*(sums[column].tolist() for column in group), strict=True))  # faster than a MultiIndex
    totals = sums["amount_minor"].tolist()
    at = {column: index for index, column in enumerate(group)}
    for key, total in zip(keys, totals, strict=True):
        if not total:
            continue
        period = periods[key[0]] if period_keys else periods[0]
        account = key[at["_account"]]
        dept, cls, loc = (key[at[c]] if c in at else constant[c] for c in ("_dept", "_class", "_loc"))
        vat = key[at["_vat"]] if has_vat else ""
        text = str(key[at["_label"]])[:999]
        target = by_period.setdefault(period, [])
        if vat:
            target.extend(_with_vat(account, total, text, (dept, cls, loc), vat, account))
        else:
            target.append(JournalLineSpec(account, total, text, dept or None, cls or None, loc or None, "row", account))
    return by_period


def _parts(lines_by_period: dict[str, list[JournalLineSpec]], *, deposit_day: date, total_minor: int,
           deposit_account: str | None, transit_account: str, memo: str) -> list[JournalPart]:
    """Chunk each period's lines into parts; every part but the last is carried to the deposit part
    through the transit account, and the last part holds the one deposit (or carried-balance) line."""
    deposit_month = f"{deposit_day:%Y-%m}"
    periods = sorted(set(lines_by_period) | {deposit_month})
    chunk = MAX_JOURNAL_LINES - 2  # room for a transit line and the deposit line
    raw: list[tuple[str, date, list[JournalLineSpec]]] = []
    for period in periods:
        lines = lines_by_period.get(period, [])
        day = deposit_day if period == deposit_month else _month_end(date.fromisoformat(f"{period}-01"))
        chunks = [lines[i:i + chunk] for i in range(0, len(lines), chunk)] or ([[]] if period == deposit_month else [])
        raw.extend((period, day, c) for c in chunks)
    count = len(raw)
    parts: list[JournalPart] = []
    carried = 0
    for index, (period, day, lines) in enumerate(raw, start=1):
        net = sum([line.amount_minor for line in lines])
        part_lines = list(lines)
        if index < count:
            if net:
                part_lines.append(JournalLineSpec(
                    transit_account, -net, f"Carried to part {count}/{count} (settlement in transit): {memo}"[:999],
                    kind="transit"))
            carried += net
        else:
            if carried:
                part_lines.append(JournalLineSpec(
                    transit_account, carried, f"Carried from parts 1-{count - 1} (settlement in transit): {memo}"[:999],
                    kind="transit"))
            if total_minor:
                label = "Deposit" if total_minor > 0 else "Balance owed to Amazon (carried, not a bank payment)"
                part_lines.append(JournalLineSpec(deposit_account, -total_minor, f"{label}: {memo}"[:999],
                                                  kind="deposit" if total_minor > 0 else "carried"))
        parts.append(JournalPart(lines=part_lines, tran_date=day, period=period))
    return [p for p in parts if p.lines]


def _describe(plan: JournalPlan, frame: pd.DataFrame, combo_sums: pd.DataFrame, resolved: dict,
              mappings: Mappings, market: Marketplace) -> None:
    """Fee groups, reserve and balance moves, and inventory suggestions for the finance summary."""
    from amazon_netsuite.mappings import GL_ROLES

    role_accounts = {market.account_for_role(role) for role in GL_ROLES} | {
        m.account_for_role(role) for m in mappings.marketplaces.values() for role in GL_ROLES}
    for (t_type, a_type, a_desc, m_name, _period), (amount, _size) in combo_sums.iterrows():
        amount = int(amount)
        value = resolved[(t_type, a_type, a_desc, m_name)]
        if a_desc in RESERVE_DESCRIPTIONS:
            label = "held" if a_desc.startswith("Current") else "released"
            plan.reserve[label] = plan.reserve.get(label, 0) + amount
        elif a_desc in ("Payable to Amazon", "Successful charge"):
            plan.balance_moves[a_desc] = plan.balance_moves.get(a_desc, 0) + amount
        elif not value.unmapped and value.account not in role_accounts and a_type != "FBA Inventory Reimbursement":
            label = a_desc if a_type == "other-transaction" else a_type
            plan.fee_groups[label] = plan.fee_groups.get(label, 0) + amount
    reimbursed = frame.loc[(frame["amount-type"] == "FBA Inventory Reimbursement")
                           & frame["amount-description"].isin(UNITS_LOST | UNITS_FOUND)]
    suggestions: dict[tuple[str, str], dict[str, Any]] = {}
    for _, record in reimbursed.iterrows():  # a handful of rows
        sku = str(record.get("sku", "") or "").strip()
        reason = str(record["amount-description"])
        quantity_text = str(record.get("quantity-purchased", "") or "").strip()
        quantity = int(quantity_text) if quantity_text.lstrip("-").isdigit() else None
        item = mappings.find_sku(sku, market.marketplace_id) if sku else None
        entry = suggestions.setdefault((sku, reason), {
            "sku": sku or None, "item_id": item.netsuite_item_id if item else None, "location_id": market.fba_location_id,
            "reason": reason, "quantity": 0, "amount_minor": 0})
        if quantity is None or entry["quantity"] is None:
            entry["quantity"] = None  # unknown: check Amazon's reimbursements report
        else:
            units = abs(quantity) * (item.units_per_sku if item else 1)
            entry["quantity"] += -units if reason in UNITS_LOST else units
        entry["amount_minor"] += int(record["amount_minor"])
    plan.inventory_suggestions = [
        {**{k: v for k, v in s.items() if k != "amount_minor"}, "amount": str(_minor_to_decimal(s["amount_minor"]))}
        for s in suggestions.values()]


def check_journal(plan: JournalPlan, frame: pd.DataFrame) -> None:
    """The assertions before posting: balanced parts, one deposit (or carried balance) = total-amount,
    transit lines net to zero, accounts match the file."""
    sid = plan.settlement_id
    deposits = carried = transit = 0
    for number, part in enumerate(plan.parts, start=1):
        if len(part) > MAX_JOURNAL_LINES:
            raise SettlementFileError(sid, f"journal part {number} has {len(part)} lines (max {MAX_JOURNAL_LINES})",
                                      reason="journal_error")
        amounts = [line.amount_minor for line in part]
        credits = sum([a for a in amounts if a > 0])
        debits = -sum([a for a in amounts if a < 0])
        if credits != debits:
            raise SettlementFileError(sid, f"journal part {number} does not balance: debits {debits} != credits "
                                      f"{credits} (minor units)", reason="journal_error")
        special = [line for line in part.lines[-2:] if line.kind != "row"] + [
            line for line in part.lines[:-2] if line.kind != "row"]
        if number < len(plan.parts) and any(line.kind in ("deposit", "carried") for line in special):
            raise SettlementFileError(sid, f"journal part {number} of {len(plan.parts)} holds the deposit: only the "
                                      "last part may", reason="journal_error")
        deposits -= sum(line.amount_minor for line in special if line.kind == "deposit")
        carried -= sum(line.amount_minor for line in special if line.kind == "carried")
        transit += sum(line.amount_minor for line in special if line.kind == "transit")
    expected_deposit = plan.total_minor if plan.total_minor > 0 else 0
    expected_carried = plan.total_minor if plan.total_minor < 0 else 0
    if deposits != expected_deposit or carried != expected_carried:
        raise SettlementFileError(sid, f"the deposit line carries {deposits} and the carried-balance line {carried} but "
                                  f"total-amount is {plan.total_minor} (minor units): the bank line must equal "
                                  "total-amount when positive, else the carried-balance line", reason="journal_error")
    if transit:
        raise SettlementFileError(sid, f"the settlement-in-transit lines do not net to zero ({transit})",
                                  reason="journal_error")
    from_file = frame.groupby("_account")["amount_minor"].sum().to_dict()
    from_file = {k: int(v) for k, v in from_file.items() if int(v)}
    if from_file != {k: v for k, v in plan.account_sums.items() if v}:
        raise SettlementFileError(sid, "per-account sums of the journal differ from the file", reason="journal_error")


def journal_records(plan: JournalPlan, *, adjust_from: dict[str, int] | None = None,
                    adjustment_number: int = 1, only: set[str] | None = None) -> list[dict[str, Any]]:
    """The ``journalEntry`` records to upsert: the plan's parts (``only`` these external ids), or the
    adjusting entry that moves an already posted journal (``adjust_from``: its
    :meth:`JournalPlan.line_sums`) to this plan."""
    from amazon_netsuite.netsuite.records import JournalLine, build_journal_entry

    def line(spec_account: str, amount: int, memo: str, dept=None, cls=None, loc=None) -> JournalLine:
        value = _minor_to_decimal(abs(amount))
        return JournalLine(account_id=spec_account, credit=value if amount > 0 else None,
                           debit=value if amount < 0 else None, memo=memo[:999] or None,
                           department_id=dept, class_id=cls, location_id=loc)

    fields = {"custbody_amazon_settlement_id": plan.settlement_id}
    if adjust_from is None:
        count = len(plan.parts)
        return [
            build_journal_entry(
                external_id=external_id, subsidiary_id=plan.subsidiary_id, currency_id=plan.currency_id,
                tran_date=part.tran_date,
                memo=plan.memo if count == 1 else f"{plan.memo} part {n}/{count} ({part.period})",
                lines=[line(s.account_id, s.amount_minor, s.memo, s.department_id, s.class_id, s.location_id)
                       for s in part],
                custom_field_values=fields,
            )
            for n, (external_id, part) in enumerate(zip(plan.external_ids(), plan.parts, strict=True), start=1)
            if only is None or external_id in only
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


def _money(value: int) -> str:
    return str(_minor_to_decimal(value))


def journal_summary(plan: JournalPlan) -> dict[str, Any]:
    """Ids and money of a plan for logs, XCom and the finance summary (no PII in a settlement)."""
    ids = plan.external_ids()
    periods: dict[str, dict[str, Any]] = {}
    for external_id, part in zip(ids, plan.parts, strict=True):
        entry = periods.setdefault(part.period, {"period": part.period, "tran_date": part.tran_date.isoformat(),
                                                 "journal_entries": []})
        entry["journal_entries"].append(external_id)
    return {
        "settlement_id": plan.settlement_id,
        "marketplace_id": plan.marketplace_id,
        "marketplace_name": plan.marketplace_name,
        "currency": plan.currency,
        "total": _money(plan.total_minor),
        "deposit": _money(plan.total_minor) if plan.total_minor > 0 else None,
        "balance_carried": _money(plan.total_minor) if plan.total_minor < 0 else None,
        "deposit_account_id": plan.deposit_account_id,
        "tran_date": plan.tran_date.isoformat(),
        "journal_entries": ids,
        "periods": list(periods.values()),
        "lines": sum(len(p) for p in plan.parts),
        "fee_groups": {k: _money(v) for k, v in sorted(plan.fee_groups.items()) if v},
        "reserve": {k: _money(v) for k, v in sorted(plan.reserve.items())},
        "balance_moves": {k: _money(v) for k, v in sorted(plan.balance_moves.items())},
        "unmapped": plan.unmapped,
        "ignored_zero_rows": plan.ignored_zero_rows,
        "inventory_suggestions": plan.inventory_suggestions,
    }


__all__: Sequence[str] = (
    "Home", "JournalLineSpec", "JournalPart", "JournalPlan", "ParsedSettlement", "SettlementFileError",
    "SettlementHeader", "build_journal", "check_journal", "home_marketplace", "journal_records", "journal_summary",
    "layout_problem", "parse_settlement", "quick_settlement_id", "resolve_home", "tax_like",
)
