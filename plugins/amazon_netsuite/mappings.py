"""The mapping tables business users edit (``include/mappings/``): load, validate, look up.

Four CSV tables, their column names a contract (docs/architecture.md section 9; add columns, never
rename):

``marketplaces.csv``
    one row per Amazon marketplace: the NetSuite subsidiary, currency, locations, customer mode,
    segments, tax code, payment method, billing document and the accounts of the accounting model.
``sku_items.csv``
    Amazon seller SKU (per marketplace, or blank = every marketplace) -> NetSuite item, with the pack
    size (``units_per_sku``), fulfilment channel, product type, safety stock and whether to publish.
``tax_codes.csv``
    the NetSuite tax codes the order flow books with: id, subsidiary, rate (percent) and kind. NetSuite
    computes tax from the code's rate, so the table's rates must be the account's (docs/accounting.md).
``settlement_gl.csv``
    settlement (transaction type, amount type, amount description[, marketplace name]) -> GL account
    id or a role of the marketplace row (``clearing``, ``facilitator_tax``, ``suspense``, ``balance_owed``,
    ``refunds_pending``, ``input_tax``, ``bank``). ``*`` matches
    anything and ``Prefix*`` anything that starts with Prefix; the most specific row wins.

``carriers.csv`` (optional)
    NetSuite ship method (the ship item's internal id or its exact name; ``*`` = any other) [per
    marketplace, blank = every marketplace] -> the ``carrierCode`` / ``carrierName`` / ``shippingMethod``
    that Amazon's shipment confirmation (Orders API v0 ``confirmShipment``) carries. Read by
    ``netsuite_shipments_to_amazon``; without the file every fulfillment is dead-lettered ``unmapped_carrier``.

Every problem is reported with the file, the spreadsheet row (the header is row 1) and the column,
and all problems of all tables are reported at once, so a business user fixes them in one pass::

    python -m amazon_netsuite.mappings validate [DIR]

The directory is ``$AMAZON_NETSUITE_MAPPINGS_DIR`` or the project's ``include/mappings``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

MAPPINGS_DIR_ENV = "AMAZON_NETSUITE_MAPPINGS_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAPPINGS_DIR = PROJECT_ROOT / "include" / "mappings"

MARKETPLACES_FILE = "marketplaces.csv"
SKU_ITEMS_FILE = "sku_items.csv"
TAX_CODES_FILE = "tax_codes.csv"
SETTLEMENT_GL_FILE = "settlement_gl.csv"
CARRIERS_FILE = "carriers.csv"
EXAMPLES_DIR = "examples"

MARKETPLACE_COLUMNS = (
    "marketplace_id",
    "marketplace_name",
    "country_code",
    "region",
    "currency",
    "subsidiary_id",
    "location_id",
    "fba_location_id",
    "return_location_id",
    "customer_mode",
    "single_customer_id",
    "department_id",
    "class_id",
    "tax_code_id",
    "payment_method_id",
    "billing_document",
    "amazon_clearing_account_id",
    "settlement_bank_account_id",
    "facilitator_tax_account_id",
    "suspense_account_id",
)
# Added columns (optional; a table without them still loads):
#   currency_id              NetSuite internal id of the marketplace currency (sales orders, customers)
#   prices_include_tax       true where Amazon's prices include VAT (UK, DE...): lines are booked net
#   facilitator_tax_code_id  tax code whose tax account is the facilitator-tax account (tax Amazon remits)
#   promotion_item_id        discount item for promotions; blank = promotions reduce the line amount
#   facilitator_tax_item_id  other-charge item (account: facilitator tax) carrying the tax Amazon collects
#   tax_rounding_item_id     other-charge item for the cent NetSuite's per-line tax rounding leaves
#   seller_tax_item_id       other-charge item (account: output tax) for seller tax no tax code reproduces
#   missing_tax_treatment    dead_letter (default) | zero_rated: a VAT marketplace order without TAX breakdown
#   sp_api_conn_id           Airflow connection of the marketplace's SP-API account; blank = amazon_sp_api_{region}
#                            (set it when a seller has two accounts in one region)
#   balance_owed_account_id  liability for a settlement that closes negative (Amazon carries it or charges the card)
#   refunds_pending_account_id  refund principal/tax until the returns flow books the credit memo
#   input_tax_account_id     recoverable tax on Amazon's fees and advertising (GST/HST, VAT)
#   settlement_in_transit_account_id  carries a settlement split at a month end (or in parts) to its deposit
#   split_settlements_at_period_end  true: each month's rows of a settlement are posted in that month
MARKETPLACE_OPTIONAL_COLUMNS = ("currency_id", "prices_include_tax", "facilitator_tax_code_id", "promotion_item_id",
                                "facilitator_tax_item_id", "tax_rounding_item_id", "seller_tax_item_id",
                                "missing_tax_treatment", "sp_api_conn_id", "balance_owed_account_id",
                                "refunds_pending_account_id", "input_tax_account_id", "settlement_in_transit_account_id",
                                "split_settlements_at_period_end")
SKU_ITEM_COLUMNS = (
    "seller_sku",
    "marketplace_id",
    "asin",
    "netsuite_item_id",
    "fulfillment_channel",
    "units_per_sku",
    "product_type",
    "safety_stock",
    "publish",
)
CARRIER_COLUMNS = ("netsuite_ship_method", "marketplace_id", "carrier_code", "carrier_name", "shipping_method")
#: Amazon's carrierCode for a carrier not in its list; carrierName is then required (ordersV0 PackageDetail)
OTHER_CARRIER = "Other"
ANY_SHIP_METHOD = "*"
TAX_CODE_COLUMNS = ("tax_code_id", "subsidiary_id", "rate", "kind", "description")
SETTLEMENT_GL_COLUMNS = ("transaction_type", "amount_type", "amount_description", "gl_account_id", "memo")
# vat_rate / vat_account_id (optional): the amount is VAT-inclusive at vat_rate percent; the net goes to
# gl_account_id and the VAT to vat_account_id (settlement-level revenue of VAT-inclusive marketplaces).
SETTLEMENT_GL_OPTIONAL_COLUMNS = ("marketplace_name", "vat_rate", "vat_account_id")

# NetSuite internal ids are integers; a few system records (tax codes such as -Not Taxable-) are negative.
_INTERNAL_ID = re.compile(r"^-?\d+$")
_MARKETPLACE_ID = re.compile(r"^[A-Z0-9]{10,16}$")
_ASIN = re.compile(r"^[A-Z0-9]{10}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")

REGIONS = ("na", "eu", "fe")
CUSTOMER_MODES = ("per_buyer", "single")
BILLING_DOCUMENTS = ("cash_sale", "invoice")
FULFILLMENT_CHANNELS = ("MFN", "AFN")
GL_ROLES = ("clearing", "facilitator_tax", "suspense", "balance_owed", "refunds_pending", "input_tax", "bank")
TAX_KINDS = ("standard", "reduced", "zero", "exempt", "facilitator")
MISSING_TAX_TREATMENTS = ("dead_letter", "zero_rated")
_RATE = re.compile(r"^\d{1,3}(\.\d{1,4})?$")
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0", "")


# --------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class MappingProblem:
    """One thing wrong in one cell (or row) of one table."""

    file: str
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class MappingError(ValueError):
    """The mapping tables are invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[MappingProblem], directory: Path | None = None):
        self.problems = list(problems)
        self.directory = directory
        head = f"invalid mapping tables in {directory}" if directory else "invalid mapping tables"
        lines = [f"{head} ({len(self.problems)} problem(s)):"] + [f"  - {p}" for p in self.problems]
        lines.append(f"Fix the tables, then check them with: python -m amazon_netsuite.mappings validate {directory or ''}".rstrip())
        super().__init__("\n".join(lines))


class MappingLookupError(LookupError):
    """A record refers to something the tables do not map (unknown SKU, unknown marketplace)."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    marketplace_name: str
    country_code: str
    region: str
    currency: str
    subsidiary_id: str
    location_id: str
    fba_location_id: str | None
    return_location_id: str | None
    customer_mode: str
    single_customer_id: str
    department_id: str | None
    class_id: str | None
    tax_code_id: str | None
    payment_method_id: str | None
    billing_document: str
    amazon_clearing_account_id: str
    settlement_bank_account_id: str
    facilitator_tax_account_id: str | None
    suspense_account_id: str
    currency_id: str | None = None
    prices_include_tax: bool = False
    facilitator_tax_code_id: str | None = None
    promotion_item_id: str | None = None
    facilitator_tax_item_id: str | None = None
    tax_rounding_item_id: str | None = None
    seller_tax_item_id: str | None = None
    missing_tax_treatment: str = "dead_letter"
    sp_api_conn_id: str | None = None
    balance_owed_account_id: str | None = None
    refunds_pending_account_id: str | None = None
    input_tax_account_id: str | None = None
    settlement_in_transit_account_id: str | None = None
    split_settlements_at_period_end: bool = False
    extra: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def sp_api_connection(self) -> str:
        """The Airflow connection of this marketplace's SP-API account (``amazon_sp_api_{region}``
        unless the row names another)."""
        return self.sp_api_conn_id or f"amazon_sp_api_{self.region}"

    def account_for_role(self, role: str) -> str | None:
        return {
            "clearing": self.amazon_clearing_account_id,
            "facilitator_tax": self.facilitator_tax_account_id,
            "suspense": self.suspense_account_id,
            "balance_owed": self.balance_owed_account_id,
            "refunds_pending": self.refunds_pending_account_id,
            "input_tax": self.input_tax_account_id,
            "bank": self.settlement_bank_account_id,
            "settlement_in_transit": self.settlement_in_transit_account_id,
        }[role]


@dataclass(frozen=True)
class TaxCode:
    """A NetSuite tax code (``salesTaxItem``) as the order flow books it: rate in percent."""

    tax_code_id: str
    subsidiary_id: str
    rate: Decimal
    kind: str
    description: str = ""

    @property
    def facilitator(self) -> bool:
        return self.kind == "facilitator"


@dataclass(frozen=True)
class SpApiTarget:
    """One SP-API connection and the mapped marketplaces read through it (one region each)."""

    conn_id: str
    region: str
    marketplace_ids: tuple[str, ...]


@dataclass(frozen=True)
class SkuItem:
    seller_sku: str
    marketplace_id: str | None
    asin: str | None
    netsuite_item_id: str
    fulfillment_channel: str
    units_per_sku: int
    product_type: str | None
    safety_stock: int
    publish: bool
    row: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CarrierMapping:
    """One row of ``carriers.csv``: what Amazon is told about a package shipped with a NetSuite ship method."""

    netsuite_ship_method: str
    marketplace_id: str | None
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    row: int


@dataclass(frozen=True)
class GlRule:
    transaction_type: str
    amount_type: str
    amount_description: str
    marketplace_name: str
    gl_account_id: str
    memo: str
    row: int
    file: str
    vat_rate: Decimal | None = None
    vat_account_id: str | None = None

    @property
    def patterns(self) -> tuple[str, str, str, str]:
        return (self.transaction_type, self.amount_type, self.amount_description, self.marketplace_name)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """(exact columns, prefix columns, prefix characters): bigger is more specific."""
        exact = prefix = chars = 0
        for pattern in self.patterns:
            if pattern == "*":
                continue
            if pattern.endswith("*"):
                prefix += 1
                chars += len(pattern) - 1
            else:
                exact += 1
        return (exact, prefix, chars)

    def matches(self, values: tuple[str, str, str, str]) -> bool:
        return all(_pattern_matches(p, v) for p, v in zip(self.patterns, values, strict=True))

    @property
    def role(self) -> str | None:
        return self.gl_account_id if self.gl_account_id in GL_ROLES else None


@dataclass(frozen=True)
class GlMapping:
    """Where one settlement amount goes; ``rule`` is None when no row matched (suspense)."""

    account_id: str
    memo: str
    rule: GlRule | None

    @property
    def unmapped(self) -> bool:
        return self.rule is None


def _pattern_matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    value = (value or "").strip().casefold()
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1].casefold())
    return value == pattern.casefold()


def _patterns_overlap(a: str, b: str) -> bool:
    """Can one value match both patterns (each exact, ``*`` or ``Prefix*``)?"""
    if a == "*" or b == "*":
        return True
    a_prefix, b_prefix = a.endswith("*"), b.endswith("*")
    a_text, b_text = a.rstrip("*").casefold(), b.rstrip("*").casefold()
    if a_prefix and b_prefix:
        return a_text.startswith(b_text) or b_text.startswith(a_text)
    if a_prefix:
        return b_text.startswith(a_text)
    if b_prefix:
        return a_text.startswith(b_text)
    return a_text == b_text


# --------------------------------------------------------------------------------------- tables


@dataclass
class Mappings:
    """The validated tables with the look-ups every flow uses."""

    directory: Path
    marketplaces: dict[str, Marketplace]
    sku_items: list[SkuItem]
    gl_rules: list[GlRule]
    tax_codes: dict[str, TaxCode] = field(default_factory=dict)
    carriers: list[CarrierMapping] = field(default_factory=list)

    def carrier(self, ship_method: Mapping[str, str] | None, marketplace_id: str) -> CarrierMapping:
        """The carrier of a NetSuite ship method (a RecordRef: ``internalId`` and ``name``), most specific
        row first: (method, marketplace), (method, every marketplace), (``*``, marketplace), (``*``, every)."""
        ship_method = ship_method or {}
        keys = [str(ship_method.get("internalId") or ""), str(ship_method.get("name") or "").strip().casefold()]
        keys = [k for k in keys if k]
        for wanted_method, wanted_marketplace in (
            *((k, marketplace_id) for k in keys), *((k, None) for k in keys),
            (ANY_SHIP_METHOD, marketplace_id), (ANY_SHIP_METHOD, None),
        ):
            for row in self.carriers:
                method = row.netsuite_ship_method if row.netsuite_ship_method.isdigit() else row.netsuite_ship_method.casefold()
                if method == wanted_method and row.marketplace_id == wanted_marketplace:
                    return row
        named = ship_method.get("name") or ship_method.get("internalId") or "no ship method"
        raise MappingLookupError(
            f"NetSuite ship method {named!r} (internal id {ship_method.get('internalId') or '-'}) has no row in "
            f"{self.where(CARRIERS_FILE)} for marketplace {marketplace_id}: add it with Amazon's carrier_code "
            "(and carrier_name when the code is Other), then replay",
            reason="unmapped_carrier",
        )

    def __post_init__(self) -> None:
        self._by_name = {m.marketplace_name.casefold(): m for m in self.marketplaces.values()}
        self._sku_specific = {(s.seller_sku, s.marketplace_id): s for s in self.sku_items if s.marketplace_id}
        self._sku_any = {s.seller_sku: s for s in self.sku_items if not s.marketplace_id}

    def marketplace(self, marketplace_id: str) -> Marketplace:
        try:
            return self.marketplaces[marketplace_id]
        except KeyError:
            raise MappingLookupError(
                f"marketplace {marketplace_id!r} has no row in {self.where(MARKETPLACES_FILE)}; "
                "add it (subsidiary, currency, locations, accounts) and replay the failed records",
                reason="unknown_marketplace",
            ) from None

    def sp_api_targets(self) -> list[SpApiTarget]:
        """The SP-API connections the mapped marketplaces need, each with its marketplaces (table
        order), regions in the order na, eu, fe. A seller with one region gets one target."""
        grouped: dict[str, list[Marketplace]] = {}
        for m in self.marketplaces.values():
            grouped.setdefault(m.sp_api_connection, []).append(m)
        targets = [SpApiTarget(conn_id, rows[0].region, tuple(m.marketplace_id for m in rows))
                   for conn_id, rows in grouped.items()]
        return sorted(targets, key=lambda t: (REGIONS.index(t.region), t.conn_id))

    def marketplace_by_name(self, marketplace_name: str) -> Marketplace:
        try:
            return self._by_name[marketplace_name.strip().casefold()]
        except KeyError:
            raise MappingLookupError(
                f"marketplace name {marketplace_name!r} has no row in {self.where(MARKETPLACES_FILE)}",
                reason="unknown_marketplace",
            ) from None

    def tax_code(self, tax_code_id: str) -> TaxCode:
        try:
            return self.tax_codes[tax_code_id]
        except KeyError:
            raise MappingLookupError(
                f"tax code {tax_code_id!r} has no row in {self.where(TAX_CODES_FILE)}; add it with its rate",
                reason="missing_mapping",
            ) from None

    def where(self, file_name: str) -> str:
        """A mapping file as an error names it: relative to the project for the shipped tables
        (include/mappings/...), else its absolute path."""
        path = self.directory / file_name
        try:
            return str(path.resolve().relative_to(PROJECT_ROOT))
        except ValueError:
            return str(path)

    def tax_codes_for(self, subsidiary_id: str) -> list[TaxCode]:
        """The seller's tax codes of a subsidiary (not the facilitator ones), highest rate first."""
        codes = [c for c in self.tax_codes.values() if c.subsidiary_id == subsidiary_id and not c.facilitator]
        return sorted(codes, key=lambda c: (-c.rate, c.tax_code_id))

    def find_sku(self, seller_sku: str, marketplace_id: str) -> SkuItem | None:
        """The SKU's row for this marketplace, else its every-marketplace row, else None."""
        return self._sku_specific.get((seller_sku, marketplace_id)) or self._sku_any.get(seller_sku)

    def sku(self, seller_sku: str, marketplace_id: str) -> SkuItem:
        item = self.find_sku(seller_sku, marketplace_id)
        if item is None:
            raise MappingLookupError(
                f"seller SKU {seller_sku!r} (marketplace {marketplace_id}) has no row in "
                f"{self.where(SKU_ITEMS_FILE)}; add it with its NetSuite item id and replay",
                reason="unknown_sku",
            )
        return item

    def skus_for_marketplace(self, marketplace_id: str) -> list[SkuItem]:
        """Every SKU that applies to the marketplace (a marketplace-specific row hides the generic one)."""
        result = {s.seller_sku: s for s in self.sku_items if not s.marketplace_id}
        result.update({s.seller_sku: s for s in self.sku_items if s.marketplace_id == marketplace_id})
        return list(result.values())

    def gl_mapping(
        self,
        marketplace: Marketplace,
        transaction_type: str,
        amount_type: str,
        amount_description: str,
    ) -> GlMapping:
        """The most specific rule for a settlement amount; unmatched amounts go to suspense."""
        values = (transaction_type, amount_type, amount_description, marketplace.marketplace_name)
        best: GlRule | None = None
        for rule in self.gl_rules:
            if rule.matches(values) and (best is None or rule.specificity > best.specificity):
                best = rule
        if best is None:
            return GlMapping(
                account_id=marketplace.suspense_account_id,
                memo=f"Unmapped: {transaction_type} / {amount_type} / {amount_description}",
                rule=None,
            )
        account = marketplace.account_for_role(best.role) if best.role else best.gl_account_id
        if account is None:  # prevented by validation; kept for tables built in code
            raise MappingLookupError(
                f"{best.file} row {best.row} maps to role {best.role!r} but {marketplace.marketplace_name} "
                f"has no {best.role}_account_id",
                reason="missing_account",
            )
        return GlMapping(account_id=account, memo=best.memo, rule=best)


# --------------------------------------------------------------------------------------- loading


def mappings_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    if directory:
        return Path(directory)
    return Path(os.environ.get(MAPPINGS_DIR_ENV) or DEFAULT_MAPPINGS_DIR)


class _Table:
    """Reads one CSV, yielding (row number, cells) and collecting problems with positions."""

    def __init__(self, path: Path, required: tuple[str, ...], optional: tuple[str, ...], problems: list):
        self.path = path
        self.name = path.name
        self.problems: list[MappingProblem] = problems
        self.columns: list[str] = []
        self.required = required
        self.optional = optional
        self.ok = True

    def problem(self, row: int, column: str | None, message: str) -> None:
        self.problems.append(MappingProblem(self.name, row, column, message))

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        if not self.path.is_file():
            self.problem(0, None, f"file not found at {self.path}")
            self.ok = False
            return
        text = self._decode(self.path.read_bytes())
        if text is None:
            self.ok = False
            return
        with io.StringIO(text, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                self.problem(1, None, "the file is empty; it needs a header row")
                self.ok = False
                return
            self.columns = [c.strip() for c in header]
            for column in self.required:
                if column not in self.columns:
                    self.problem(1, column, "required column is missing from the header")
                    self.ok = False
            seen = set()
            for column in self.columns:
                if column in seen:
                    self.problem(1, column, "column appears twice in the header")
                    self.ok = False
                seen.add(column)
            if not self.ok:
                return
            for index, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue  # blank line
                if len(cells) != len(self.columns):
                    missing = self.columns[len(cells)] if len(cells) < len(self.columns) else None
                    kind = "short" if len(cells) < len(self.columns) else "long"
                    self.problem(
                        index,
                        missing,
                        f"row is {kind}: {len(cells)} values for {len(self.columns)} columns "
                        "(check for a missing or extra comma)",
                    )
                    continue
                yield index, {c: v.strip() for c, v in zip(self.columns, cells, strict=True)}

    def _decode(self, data: bytes) -> str | None:
        """UTF-8, with or without the BOM Excel writes; anything else is one clear problem.

        Excel's plain "CSV" format saves in the machine's code page (cp1252 in much of Europe and the
        Americas): an accented SKU or description then fails here with the position of the first byte
        that is not UTF-8, never as a UnicodeDecodeError traceback in a DAG.
        """
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
            offset = exc.start + bom
            row = data[:offset].count(b"\n") + 1
            self.problem(
                row, None,
                f"the file is not UTF-8: byte {offset} (0x{data[offset]:02x}) cannot be decoded. It was probably saved "
                "as 'CSV' in a Windows code page; in Excel use File > Save As > 'CSV UTF-8 (Comma delimited)', in "
                "LibreOffice tick 'Edit filter settings' and pick 'Unicode (UTF-8)'",
            )
            return None

    # cell helpers ---------------------------------------------------------------------------
    def required_text(self, row: int, cells: dict[str, str], column: str) -> str | None:
        value = cells.get(column, "")
        if not value:
            self.problem(row, column, "is empty; a value is required")
            return None
        return value

    def internal_id(self, row: int, cells: dict[str, str], column: str, *, required: bool) -> str | None:
        value = cells.get(column, "")
        if not value:
            if required:
                self.problem(row, column, "is empty; a NetSuite internal id (a number) is required")
            return None
        if not _INTERNAL_ID.match(value):
            self.problem(row, column, f"{value!r} is not a NetSuite internal id (a whole number)")
            return None
        return value

    def choice(self, row: int, cells: dict[str, str], column: str, choices: tuple[str, ...], default=None):
        value = cells.get(column, "")
        if not value and default is not None:
            return default
        if value not in choices:
            self.problem(row, column, f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def pattern(self, row: int, cells: dict[str, str], column: str, regex: re.Pattern, what: str):
        value = cells.get(column, "")
        if not regex.match(value):
            self.problem(row, column, f"{value!r} is not {what}")
            return None
        return value

    def integer(self, row: int, cells: dict[str, str], column: str, *, default: int, minimum: int):
        value = cells.get(column, "")
        if not value:
            return default
        if not re.fullmatch(r"-?\d+", value) or int(value) < minimum:
            self.problem(row, column, f"{value!r} is not a whole number >= {minimum}")
            return None
        return int(value)


def _load_marketplaces(path: Path, problems: list[MappingProblem]) -> dict[str, Marketplace]:
    table = _Table(path, MARKETPLACE_COLUMNS, (), problems)
    result: dict[str, Marketplace] = {}
    names: dict[str, int] = {}
    first_row: dict[str, int] = {}
    conn_regions: dict[str, tuple[str, int]] = {}
    for row, cells in table.rows():
        before = len(problems)
        mid = table.pattern(row, cells, "marketplace_id", _MARKETPLACE_ID, "an Amazon marketplace id (e.g. ATVPDKIKX0DER)")
        name = table.required_text(row, cells, "marketplace_name")
        values = {
            "marketplace_id": mid,
            "marketplace_name": name,
            "country_code": table.pattern(row, cells, "country_code", _COUNTRY, "a two-letter country code"),
            "region": table.choice(row, cells, "region", REGIONS),
            "currency": table.pattern(row, cells, "currency", _CURRENCY, "a three-letter ISO currency code"),
            "customer_mode": table.choice(row, cells, "customer_mode", CUSTOMER_MODES),
            "billing_document": table.choice(row, cells, "billing_document", BILLING_DOCUMENTS),
        }
        for column, required in (
            ("subsidiary_id", True),
            ("location_id", True),
            ("fba_location_id", False),
            ("return_location_id", False),
            ("single_customer_id", True),
            ("department_id", False),
            ("class_id", False),
            ("tax_code_id", False),
            ("payment_method_id", False),
            ("amazon_clearing_account_id", True),
            ("settlement_bank_account_id", True),
            ("facilitator_tax_account_id", False),
            ("suspense_account_id", True),
            ("currency_id", False),
            ("facilitator_tax_code_id", False),
            ("promotion_item_id", False),
            ("facilitator_tax_item_id", False),
            ("tax_rounding_item_id", False),
            ("seller_tax_item_id", False),
            ("balance_owed_account_id", False),
            ("refunds_pending_account_id", False),
            ("input_tax_account_id", False),
            ("settlement_in_transit_account_id", False),
        ):
            values[column] = table.internal_id(row, cells, column, required=required)
        values["missing_tax_treatment"] = table.choice(row, cells, "missing_tax_treatment", MISSING_TAX_TREATMENTS,
                                                       default="dead_letter")
        values["sp_api_conn_id"] = _sp_api_conn_id(table, row, cells, mid, values["region"], conn_regions)
        inclusive = cells.get("prices_include_tax", "").casefold()
        if inclusive not in _TRUE + _FALSE:
            table.problem(row, "prices_include_tax", f"{cells.get('prices_include_tax')!r} is not true or false")
        values["prices_include_tax"] = inclusive in _TRUE
        split = cells.get("split_settlements_at_period_end", "").casefold()
        if split not in _TRUE + _FALSE:
            table.problem(row, "split_settlements_at_period_end",
                          f"{cells.get('split_settlements_at_period_end')!r} is not true or false")
        values["split_settlements_at_period_end"] = split in _TRUE
        if split in _TRUE and not cells.get("settlement_in_transit_account_id"):
            table.problem(row, "settlement_in_transit_account_id",
                          "is empty but split_settlements_at_period_end is true: a settlement split at a month end "
                          "is carried to its deposit through this account")
        if mid and mid in first_row:
            table.problem(row, "marketplace_id", f"duplicate key {mid!r}: already defined in row {first_row[mid]}")
        if name and name.casefold() in names:
            table.problem(
                row, "marketplace_name", f"duplicate name {name!r}: already used in row {names[name.casefold()]}"
            )
        if len(problems) == before:
            first_row[mid] = row
            names[name.casefold()] = row
            known = MARKETPLACE_COLUMNS + MARKETPLACE_OPTIONAL_COLUMNS
            extra = {c: v for c, v in cells.items() if c not in known}
            result[mid] = Marketplace(**values, extra=extra)
        else:
            if mid:
                first_row.setdefault(mid, row)
            if name:
                names.setdefault(name.casefold(), row)
    return result


def _sp_api_conn_id(table: _Table, row: int, cells: dict[str, str], mid: str | None, region: str | None,
                    conn_regions: dict[str, tuple[str, int]]) -> str | None:
    """Check the row's region against Amazon's (a known marketplace id) and its SP-API connection:
    one connection serves one region. Returns the explicit ``sp_api_conn_id`` or None."""
    from amazon_netsuite.amazon.regions import describe, region_of

    known = region_of(mid) if mid else None
    if known and region and known != region:
        table.problem(row, "region", f"{region!r} is wrong for marketplace {describe(mid)}: Amazon serves it from "
                                     f"SP-API region {known!r} (each regional endpoint refuses other regions' marketplaces)")
    conn_id = cells.get("sp_api_conn_id") or None
    if conn_id and not _CONN_ID.match(conn_id):
        table.problem(row, "sp_api_conn_id", f"{conn_id!r} is not an Airflow connection id (letters, digits, _ . -)")
        return None
    if region:
        effective = conn_id or f"amazon_sp_api_{region}"
        seen = conn_regions.setdefault(effective, (region, row))
        if seen[0] != region:
            table.problem(row, "sp_api_conn_id" if conn_id else "region",
                          f"connection {effective} already serves region {seen[0]!r} (row {seen[1]}); one SP-API "
                          f"connection serves one region: give this {region!r} row its own sp_api_conn_id")
    return conn_id


def _load_sku_items(path: Path, marketplaces: Mapping[str, Marketplace], problems: list, check_marketplaces: bool):
    table = _Table(path, SKU_ITEM_COLUMNS, (), problems)
    result: list[SkuItem] = []
    first_row: dict[tuple[str, str], int] = {}
    for row, cells in table.rows():
        before = len(problems)
        sku = table.required_text(row, cells, "seller_sku")
        marketplace_id = cells.get("marketplace_id") or None
        if marketplace_id and check_marketplaces and marketplace_id not in marketplaces:
            table.problem(
                row, "marketplace_id", f"unknown marketplace {marketplace_id!r}: it has no row in {MARKETPLACES_FILE}"
            )
        asin = cells.get("asin") or None
        if asin and not _ASIN.match(asin):
            table.problem(row, "asin", f"{asin!r} is not an ASIN (10 letters and digits)")
        item_id = table.internal_id(row, cells, "netsuite_item_id", required=True)
        channel = table.choice(row, cells, "fulfillment_channel", FULFILLMENT_CHANNELS)
        units = table.integer(row, cells, "units_per_sku", default=1, minimum=1)
        safety = table.integer(row, cells, "safety_stock", default=0, minimum=0)
        publish_text = cells.get("publish", "").casefold()
        if publish_text not in _TRUE + _FALSE:
            table.problem(row, "publish", f"{cells.get('publish')!r} is not true or false")
        key = (sku or "", marketplace_id or "")
        if sku and key in first_row:
            scope = f"marketplace {marketplace_id}" if marketplace_id else "every marketplace"
            table.problem(
                row, "seller_sku", f"duplicate key {sku!r} for {scope}: already defined in row {first_row[key]}"
            )
        elif sku:
            first_row[key] = row
        if len(problems) == before:
            result.append(
                SkuItem(
                    seller_sku=sku,
                    marketplace_id=marketplace_id,
                    asin=asin,
                    netsuite_item_id=item_id,
                    fulfillment_channel=channel,
                    units_per_sku=units,
                    product_type=cells.get("product_type") or None,
                    safety_stock=safety,
                    publish=publish_text in _TRUE,
                    row=row,
                )
            )
    return result


def _load_tax_codes(path: Path, marketplaces: Mapping[str, Marketplace], problems: list,
                    check_marketplaces: bool) -> dict[str, TaxCode]:
    table = _Table(path, TAX_CODE_COLUMNS, (), problems)
    result: dict[str, TaxCode] = {}
    first_row: dict[str, int] = {}
    for row, cells in table.rows():
        before = len(problems)
        code_id = table.internal_id(row, cells, "tax_code_id", required=True)
        subsidiary = table.internal_id(row, cells, "subsidiary_id", required=True)
        rate_text = cells.get("rate", "")
        if not _RATE.match(rate_text) or Decimal(rate_text) > 100:
            table.problem(row, "rate", f"{rate_text!r} is not a rate in percent between 0 and 100 (e.g. 20 or 6.25)")
        kind = table.choice(row, cells, "kind", TAX_KINDS)
        if code_id and code_id in first_row:
            table.problem(row, "tax_code_id", f"duplicate key {code_id!r}: already defined in row {first_row[code_id]}")
        if len(problems) == before:
            rate = Decimal(rate_text)
            if kind in ("zero", "exempt", "facilitator") and rate:
                table.problem(row, "rate", f"a {kind} code has rate 0, not {rate_text}")
                continue
            first_row[code_id] = row
            result[code_id] = TaxCode(code_id, subsidiary, rate, kind, cells.get("description", ""))
    if not table.ok or not check_marketplaces:
        return result
    for m in marketplaces.values():
        for column in ("tax_code_id", "facilitator_tax_code_id"):
            code_id = getattr(m, column)
            if code_id is None:
                continue
            code = result.get(code_id)
            if code is None:
                table.problem(0, None, f"{MARKETPLACES_FILE} {column} {code_id} of {m.marketplace_name} has no row here")
            elif code.subsidiary_id != m.subsidiary_id:
                table.problem(first_row[code_id], "subsidiary_id",
                              f"tax code {code_id} is {m.marketplace_name}'s {column} but belongs to subsidiary "
                              f"{code.subsidiary_id}, not {m.subsidiary_id}")
            elif code.rate:
                table.problem(first_row[code_id], "rate",
                              f"tax code {code_id} is {m.marketplace_name}'s {column}, which must be a zero-rate code")
    return result


def _load_settlement_gl(path: Path, marketplaces: Mapping[str, Marketplace], problems: list, check_marketplaces: bool):
    table = _Table(path, SETTLEMENT_GL_COLUMNS, SETTLEMENT_GL_OPTIONAL_COLUMNS, problems)
    rules: list[GlRule] = []
    names = {m.marketplace_name.casefold() for m in marketplaces.values()}
    for row, cells in table.rows():
        before = len(problems)
        patterns = {}
        for column in ("transaction_type", "amount_type", "amount_description", "marketplace_name"):
            value = cells.get(column, "*" if column == "marketplace_name" else "")
            if column == "marketplace_name" and not value:
                value = "*"
            if not value:
                table.problem(row, column, "is empty; write * to match anything")
            elif "*" in value[:-1]:
                table.problem(row, column, f"{value!r}: * may only stand alone or at the end (Prefix*)")
            patterns[column] = value
        market = patterns.get("marketplace_name", "*")
        if check_marketplaces and market and "*" not in market and market.casefold() not in names:
            table.problem(
                row, "marketplace_name", f"unknown marketplace {market!r}: no marketplace_name in {MARKETPLACES_FILE}"
            )
        account = cells.get("gl_account_id", "")
        if not account:
            table.problem(row, "gl_account_id", "is empty; give an account internal id or a role (" + ", ".join(GL_ROLES) + ")")
        elif account not in GL_ROLES and not _INTERNAL_ID.match(account):
            table.problem(
                row,
                "gl_account_id",
                f"unknown role {account!r}: use an account internal id (a number) or one of {', '.join(GL_ROLES)}",
            )
        vat_rate, vat_account = _vat_columns(table, row, cells)
        if len(problems) == before:
            rules.append(
                GlRule(
                    transaction_type=patterns["transaction_type"],
                    amount_type=patterns["amount_type"],
                    amount_description=patterns["amount_description"],
                    marketplace_name=market,
                    gl_account_id=account,
                    memo=cells.get("memo", ""),
                    row=row,
                    file=table.name,
                    vat_rate=vat_rate,
                    vat_account_id=vat_account,
                )
            )
    if not table.ok:
        return rules
    # duplicates and ambiguity: two rules that can match the same amount with the same specificity
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            same = all(x.casefold() == y.casefold() for x, y in zip(a.patterns, b.patterns, strict=True))
            if same:
                table.problem(b.row, "transaction_type", f"duplicate key: same rule as row {a.row}")
            elif a.specificity == b.specificity and all(
                _patterns_overlap(x, y) for x, y in zip(a.patterns, b.patterns, strict=True)
            ):
                table.problem(
                    b.row,
                    "transaction_type",
                    f"ambiguous rule: row {a.row} matches the same amounts and is as specific; "
                    "make one of them more specific",
                )
    # roles must resolve for every marketplace the rule covers
    for rule in rules:
        for column, role in (("gl_account_id", rule.role),
                             ("vat_account_id", rule.vat_account_id if rule.vat_account_id in GL_ROLES else None)):
            if role is None:
                continue
            for m in marketplaces.values():
                if _pattern_matches(rule.marketplace_name, m.marketplace_name) and m.account_for_role(role) is None:
                    table.problem(
                        rule.row,
                        column,
                        f"role {role!r} but {MARKETPLACES_FILE} has no {role}_account_id for {m.marketplace_name}",
                    )
    return rules


def _load_carriers(path: Path, marketplaces: Mapping[str, Marketplace], problems: list, check_marketplaces: bool):
    """``carriers.csv`` (optional: a seller without merchant-fulfilled orders has none)."""
    if not path.is_file():
        return []
    table = _Table(path, CARRIER_COLUMNS, (), problems)
    result: list[CarrierMapping] = []
    first_row: dict[tuple[str, str], int] = {}
    for row, cells in table.rows():
        before = len(problems)
        method = table.required_text(row, cells, "netsuite_ship_method")
        marketplace_id = cells.get("marketplace_id") or None
        if marketplace_id and check_marketplaces and marketplace_id not in marketplaces:
            table.problem(row, "marketplace_id", f"unknown marketplace {marketplace_id!r}: it has no row in {MARKETPLACES_FILE}")
        code = table.required_text(row, cells, "carrier_code")
        name = cells.get("carrier_name") or None
        if code == OTHER_CARRIER and not name:
            table.problem(row, "carrier_name", "is empty; Amazon requires a carrier name when carrier_code is Other")
        elif code and code.casefold() == OTHER_CARRIER.casefold() and code != OTHER_CARRIER:
            table.problem(row, "carrier_code", f"{code!r}: Amazon's code is spelled {OTHER_CARRIER!r}")
        for column in ("carrier_code", "carrier_name", "shipping_method"):
            if len(cells.get(column, "")) > 100:
                table.problem(row, column, "is longer than 100 characters")
        key = ((method or "").casefold(), marketplace_id or "")
        if method and key in first_row:
            scope = f"marketplace {marketplace_id}" if marketplace_id else "every marketplace"
            table.problem(row, "netsuite_ship_method",
                          f"duplicate ship method {method!r} for {scope}: already mapped in row {first_row[key]}")
        elif method:
            first_row[key] = row
        if len(problems) == before:
            result.append(CarrierMapping(method, marketplace_id, code, name, cells.get("shipping_method") or None, row))
    return result


def _vat_columns(table: _Table, row: int, cells: dict[str, str]) -> tuple[Decimal | None, str | None]:
    """The optional VAT split of a settlement GL rule: a rate in percent and the VAT account (id or role)."""
    rate_text, account = cells.get("vat_rate", ""), cells.get("vat_account_id", "")
    if not rate_text and not account:
        return None, None
    rate = None
    try:
        rate = Decimal(rate_text) if rate_text else None
    except InvalidOperation:
        pass
    if rate is None or not rate.is_finite() or not Decimal(0) < rate < Decimal(100):
        table.problem(row, "vat_rate", f"{rate_text!r} is not a VAT rate in percent between 0 and 100 (e.g. 20); "
                      "it is required with vat_account_id")
        rate = None
    if not account:
        table.problem(row, "vat_account_id", "is empty; give the account (internal id or role) the VAT goes to")
    elif account not in GL_ROLES and not _INTERNAL_ID.match(account):
        table.problem(row, "vat_account_id", f"unknown role {account!r}: use an account internal id (a number) or "
                      f"one of {', '.join(GL_ROLES)}")
    return rate, account or None


def load_mappings(
    directory: str | os.PathLike[str] | None = None,
    *,
    settlement_gl_file: str = SETTLEMENT_GL_FILE,
) -> Mappings:
    """Load and validate all three tables; raise :class:`MappingError` listing every problem."""
    path = mappings_dir(directory)
    problems: list[MappingProblem] = []
    marketplaces = _load_marketplaces(path / MARKETPLACES_FILE, problems)
    marketplaces_ok = not problems
    skus = _load_sku_items(path / SKU_ITEMS_FILE, marketplaces, problems, marketplaces_ok)
    tax_codes = _load_tax_codes(path / TAX_CODES_FILE, marketplaces, problems, marketplaces_ok)
    rules = _load_settlement_gl(path / settlement_gl_file, marketplaces, problems, marketplaces_ok)
    carriers = _load_carriers(path / CARRIERS_FILE, marketplaces, problems, marketplaces_ok)
    if problems:
        raise MappingError(problems, path)
    return Mappings(directory=path, marketplaces=marketplaces, sku_items=skus, gl_rules=rules, tax_codes=tax_codes,
                    carriers=carriers)


def validate(directory: str | os.PathLike[str] | None = None) -> list[MappingProblem]:
    """Every problem of the tables and of any example GL tables under ``examples/``."""
    path = mappings_dir(directory)
    problems: list[MappingProblem] = []
    try:
        load_mappings(path)
    except MappingError as exc:
        problems.extend(exc.problems)
    examples = path / EXAMPLES_DIR
    if examples.is_dir() and not problems:
        for example in sorted(examples.glob("settlement_gl*.csv")):
            try:
                load_mappings(path, settlement_gl_file=f"{EXAMPLES_DIR}/{example.name}")
            except MappingError as exc:
                problems.extend(
                    MappingProblem(f"{EXAMPLES_DIR}/{p.file}", p.row, p.column, p.message) for p in exc.problems
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m amazon_netsuite.mappings")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("validate", help="check the mapping tables before deploying them")
    check.add_argument("directory", nargs="?", help=f"default: ${MAPPINGS_DIR_ENV} or include/mappings")
    args = parser.parse_args(argv)
    path = mappings_dir(args.directory)
    problems = validate(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    mappings = load_mappings(path)
    print(
        f"{path}: valid ({len(mappings.marketplaces)} marketplaces, {len(mappings.sku_items)} SKU rows, "
        f"{len(mappings.tax_codes)} tax codes, {len(mappings.gl_rules)} settlement GL rules, "
        f"{len(mappings.carriers)} carrier rows)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
