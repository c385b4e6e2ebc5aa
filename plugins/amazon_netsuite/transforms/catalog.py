"""NetSuite items -> Amazon listings (pure: no I/O).

An item is published when its checkbox ``custitem_amazon_publish`` is set. Its listing attributes come
from standard item fields and the custom fields of the README's NetSuite setup checklist; it is listed
in each mapped marketplace it has a price for (``custitem_amazon_price_{country code}``, in that
marketplace's currency from ``marketplaces.csv``), one listing per SP-API region (the SKU's listing
covers the region's marketplaces, each attribute value naming its ``marketplace_id``).

Attributes use Amazon's listing attribute shapes (Product Type Definitions schemas): lists of values,
each with ``marketplace_id`` and, for text, ``language_tag``. Money stays ``Decimal``; the hook writes it
as a JSON number with the same digits.

Before anything is sent, the listing is checked against ``include/mappings/listing_requirements.csv``
(required attributes per product type): an item missing any is reported with the missing attribute
names and not sent.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from amazon_netsuite.mappings import MappingError, MappingProblem, mappings_dir

DAG_ID = "netsuite_catalog_to_amazon"
RECORD_TYPE = "listing"
REQUIREMENTS_FILE = "listing_requirements.csv"

# -- the NetSuite setup checklist (README): item custom fields ----------------------------------------
PUBLISH = "custitem_amazon_publish"
SKU = "custitem_amazon_sku"
PRODUCT_TYPE = "custitem_amazon_product_type"
BRAND = "custitem_amazon_brand"
BULLETS = "custitem_amazon_bullets"
CONDITION = "custitem_amazon_condition"
GTIN_EXEMPT = "custitem_amazon_gtin_exempt"
IMAGE_URL = "custitem_amazon_image_url"
PRICE_PREFIX = "custitem_amazon_price_"
#: written back by the flow
ASIN = "custitem_amazon_asin"
LISTING_STATUS = "custitem_amazon_listing_status"
LISTING_ISSUES = "custitem_amazon_listing_issues"
LAST_SYNC = "custitem_amazon_last_sync"
WRITE_BACK_FIELDS = (ASIN, LISTING_STATUS, LISTING_ISSUES, LAST_SYNC)
#: NetSuite free-form text fields hold at most 300 characters (long text more; keep issues readable)
ISSUES_MAX = 300

#: the default language of each Amazon store (country code -> language_tag)
LANGUAGES = {
    "US": "en_US", "CA": "en_CA", "MX": "es_MX", "BR": "pt_BR", "GB": "en_GB", "UK": "en_GB", "DE": "de_DE",
    "FR": "fr_FR", "IT": "it_IT", "ES": "es_ES", "NL": "nl_NL", "SE": "sv_SE", "PL": "pl_PL", "BE": "fr_BE",
    "IE": "en_IE", "TR": "tr_TR", "JP": "ja_JP", "AU": "en_AU", "SG": "en_SG", "IN": "en_IN", "AE": "en_AE",
    "SA": "ar_AE", "EG": "ar_AE",
}
CONDITIONS = frozenset({
    "new_new", "new_open_box", "new_oem", "refurbished_refurbished", "used_like_new", "used_very_good", "used_good",
    "used_acceptable", "collectible_like_new", "collectible_very_good", "collectible_good", "collectible_acceptable",
    "club_club",
})
IDENTIFIER = "externally_assigned_product_identifier"
EXEMPTION = "supplier_declared_has_product_identifier_exemption"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Listing:
    """One SKU's listing in one SP-API region, ready to send (or, with ``missing``, to report)."""

    item_id: str
    sku: str
    region: str
    product_type: str
    marketplace_ids: tuple[str, ...]
    attributes: dict[str, Any]
    missing: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def source_key(self) -> str:
        return f"{self.region}:{self.sku}"

    @property
    def content(self) -> dict[str, Any]:
        """What the content hash covers: a change in any of it re-sends the listing."""
        return {"productType": self.product_type, "marketplaceIds": list(self.marketplace_ids),
                "attributes": self.attributes}

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (staging, XCom): prices as their exact decimal text."""
        return {"item_id": self.item_id, "sku": self.sku, "region": self.region, "product_type": self.product_type,
                "marketplace_ids": list(self.marketplace_ids), "attributes": _prices(self.attributes, str),
                "missing": list(self.missing), "problems": list(self.problems)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Listing:
        return cls(item_id=str(data["item_id"]), sku=data["sku"], region=data["region"], product_type=data["product_type"],
                   marketplace_ids=tuple(data["marketplace_ids"]), attributes=_prices(data["attributes"], Decimal),
                   missing=tuple(data.get("missing") or ()), problems=tuple(data.get("problems") or ()))


def _prices(attributes: Mapping[str, Any], convert: Any) -> dict[str, Any]:
    """A copy of ``attributes`` with each offer price passed through ``convert`` (Decimal <-> exact text)."""
    import copy

    out = copy.deepcopy(dict(attributes))
    for offer in out.get("purchasable_offer") or []:
        for price_entry in offer.get("our_price") or []:
            for schedule in price_entry.get("schedule") or []:
                if schedule.get("value_with_tax") is not None:
                    schedule["value_with_tax"] = convert(schedule["value_with_tax"])
    return out


# -- the required-attributes table -------------------------------------------------------------------------
def load_requirements(directory: str | os.PathLike[str] | None = None) -> dict[str, tuple[str, ...]]:
    """``include/mappings/listing_requirements.csv``: product type -> required attribute names.

    Invalid rows fail with the file, row and column (MappingError), as every mapping table does.
    """
    path = mappings_dir(directory) / REQUIREMENTS_FILE
    problems: list[MappingProblem] = []
    table: dict[str, list[str]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing_columns = [c for c in ("product_type", "attribute") if c not in (reader.fieldnames or [])]
            if missing_columns:
                raise MappingError([MappingProblem(path.name, 1, c, "required column is missing") for c in missing_columns],
                                   path.parent)
            for number, row in enumerate(reader, start=2):
                product_type = (row.get("product_type") or "").strip()
                attribute = (row.get("attribute") or "").strip()
                if not product_type or product_type != product_type.upper() or " " in product_type:
                    problems.append(MappingProblem(path.name, number, "product_type",
                                                   f"{product_type!r} is not an Amazon product type (e.g. LUGGAGE)"))
                    continue
                if not attribute or attribute != attribute.lower() or " " in attribute:
                    problems.append(MappingProblem(path.name, number, "attribute",
                                                   f"{attribute!r} is not an Amazon attribute name (e.g. item_name)"))
                    continue
                if attribute in table.get(product_type, []):
                    problems.append(MappingProblem(path.name, number, "attribute",
                                                   f"{attribute} is listed twice for {product_type}"))
                    continue
                table.setdefault(product_type, []).append(attribute)
    except FileNotFoundError:
        raise MappingError([MappingProblem(REQUIREMENTS_FILE, 0, None, f"file not found: {path}")], path.parent) from None
    if problems:
        raise MappingError(problems, path.parent)
    return {k: tuple(v) for k, v in table.items()}


# -- reading the item ----------------------------------------------------------------------------------------
def read_fields(marketplaces: Iterable[Any]) -> list[str]:
    """The item custom fields a listing is built from (the README's NetSuite setup checklist): the flag,
    the listing attributes and one price per mapped marketplace's country. A search on SuiteQL (REST)
    returns only the custom fields it names."""
    prices = sorted({f"{PRICE_PREFIX}{m.country_code.lower()}" for m in marketplaces})
    return [PUBLISH, SKU, PRODUCT_TYPE, BRAND, BULLETS, CONDITION, GTIN_EXEMPT, IMAGE_URL, *prices]


def custom_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """``{scriptId: value}`` of an item's ``customFieldList`` (either the SOAP form ``{"customField": [...]}``
    or a plain list)."""
    raw = item.get("customFieldList") or []
    if isinstance(raw, Mapping):
        raw = raw.get("customField") or []
    out: dict[str, Any] = {}
    for entry in raw:
        if isinstance(entry, Mapping) and entry.get("scriptId"):
            out[str(entry["scriptId"])] = entry.get("value")
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):  # a select field: its name
        return str(value.get("name") or value.get("value") or "").strip()
    return str(value).strip()


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "t", "yes", "1"))


def item_sku(item: Mapping[str, Any]) -> str:
    """The item's Amazon SKU: ``custitem_amazon_sku``, else its name (``itemId``)."""
    return _text(custom_fields(item).get(SKU)) or _text(item.get("itemId"))


def is_published(item: Mapping[str, Any]) -> bool:
    return _flag(custom_fields(item).get(PUBLISH)) and not _flag(item.get("isInactive"))


def price(value: Any) -> Decimal | None:
    """A price custom field as Decimal to the cent; None when empty; ValueError when not a positive amount."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"{value!r} is not a positive amount")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{value!r} has more than two decimals")
    return amount.quantize(CENT)


def identifier(upc: str) -> dict[str, str] | None:
    """The product identifier of a barcode: 12 digits UPC, 13 EAN, 14 GTIN; None when it is none of these."""
    digits = upc.strip()
    kinds = {12: "upc", 13: "ean", 14: "gtin"}
    if not digits.isdigit() or len(digits) not in kinds:
        return None
    return {"type": kinds[len(digits)], "value": digits}


# -- building ----------------------------------------------------------------------------------------------
def build_listings(item: Mapping[str, Any], marketplaces: Iterable[Any],
                   requirements: Mapping[str, Sequence[str]]) -> list[Listing]:
    """The listings of one published item: one per SP-API region it has a price in.

    ``marketplaces``: the mapped marketplaces (objects with ``marketplace_id``, ``country_code``, ``region``,
    ``currency``). A listing that lacks required data carries ``missing`` (attribute names) and
    ``problems`` (what the merchandiser should fix, in NetSuite's words); it must not be sent.
    An item priced in no mapped marketplace gives one listing, region ``-``, that says so.
    """
    fields = custom_fields(item)
    item_id = str(item.get("internalId") or "")
    sku = item_sku(item)
    product_type = _text(fields.get(PRODUCT_TYPE)).upper()
    by_region: dict[str, list[Any]] = {}
    problems_by_region: dict[str, list[str]] = {}
    priced: dict[str, Decimal] = {}
    for m in marketplaces:
        field_name = f"{PRICE_PREFIX}{m.country_code.lower()}"
        try:
            amount = price(fields.get(field_name))
        except ValueError as exc:
            problems_by_region.setdefault(m.region, []).append(f"{field_name}: {exc}")
            by_region.setdefault(m.region, []).append(m)
            continue
        if amount is not None:
            priced[m.marketplace_id] = amount
            by_region.setdefault(m.region, []).append(m)
    if not by_region:
        return [Listing(item_id, sku, "-", product_type or "-", (), {}, ("purchasable_offer",),
                        (f"no price for any mapped marketplace: set {PRICE_PREFIX}{{country}} (e.g. {PRICE_PREFIX}us)",))]
    listings = []
    for region, rows in by_region.items():
        problems = list(problems_by_region.get(region, []))
        attributes = _attributes(item, fields, [m for m in rows if m.marketplace_id in priced], priced, problems)
        required = requirements.get(product_type)
        missing: list[str] = []
        if not sku:
            problems.append("no SKU: set custitem_amazon_sku or the item name")
            missing.append("sku")
        if required is None:
            problems.append(f"product type {product_type or '(empty)'} is not in {REQUIREMENTS_FILE}: set {PRODUCT_TYPE} "
                            "to one of its product types, or add the product type's required attributes to the table")
            missing.append("product_type")
            required = ()
        for name in required:
            if name == IDENTIFIER:
                if not attributes.get(IDENTIFIER) and not attributes.get(EXEMPTION):
                    missing.append(name)
            elif not attributes.get(name):
                missing.append(name)
        if problems_by_region.get(region) and "purchasable_offer" not in missing:
            missing.append("purchasable_offer")
        listings.append(Listing(item_id, sku, region, product_type or "-",
                                tuple(m.marketplace_id for m in rows if m.marketplace_id in priced),
                                attributes, tuple(dict.fromkeys(missing)), tuple(problems)))
    return sorted(listings, key=lambda x: x.region)


def _attributes(item: Mapping[str, Any], fields: Mapping[str, Any], marketplaces: Sequence[Any],
                priced: Mapping[str, Decimal], problems: list[str]) -> dict[str, Any]:
    title = _text(item.get("displayName")) or _text(item.get("storeDisplayName"))
    brand = _text(fields.get(BRAND))
    description = _text(item.get("salesDescription")) or _text(item.get("storeDescription"))
    bullets = [b.strip() for b in _text(fields.get(BULLETS)).splitlines() if b.strip()]
    condition = _text(fields.get(CONDITION)) or "new_new"
    image = _text(fields.get(IMAGE_URL))
    barcode = _text(item.get("upcCode"))
    exempt = _flag(fields.get(GTIN_EXEMPT))
    if condition not in CONDITIONS:
        problems.append(f"{CONDITION}: {condition!r} is not an Amazon condition (e.g. new_new)")
        condition = ""
    product_id = identifier(barcode) if barcode else None
    if barcode and product_id is None:
        problems.append(f"upcCode {barcode!r} is not a 12-digit UPC, 13-digit EAN or 14-digit GTIN")
    if image and not image.startswith("https://"):
        problems.append(f"{IMAGE_URL} must be an https:// URL Amazon can download")
        image = ""
    attributes: dict[str, list[dict[str, Any]]] = {}

    def add(name: str, value: dict[str, Any]) -> None:
        attributes.setdefault(name, []).append(value)

    for m in marketplaces:
        mid = m.marketplace_id
        language = LANGUAGES.get(m.country_code.upper())
        if language is None:
            problems.append(f"marketplace {mid} ({m.country_code}): no default language known")
            continue
        if title:
            add("item_name", {"value": title, "language_tag": language, "marketplace_id": mid})
        if brand:
            add("brand", {"value": brand, "language_tag": language, "marketplace_id": mid})
        for bullet in bullets:
            add("bullet_point", {"value": bullet, "language_tag": language, "marketplace_id": mid})
        if description:
            add("product_description", {"value": description, "language_tag": language, "marketplace_id": mid})
        if condition:
            add("condition_type", {"value": condition, "marketplace_id": mid})
        if product_id is not None:
            add(IDENTIFIER, {**product_id, "marketplace_id": mid})
        elif exempt and not barcode:
            add(EXEMPTION, {"value": True, "marketplace_id": mid})
        if image:
            add("main_product_image_locator", {"media_location": image, "marketplace_id": mid})
        add("purchasable_offer", {"currency": m.currency, "marketplace_id": mid,
                                  "our_price": [{"schedule": [{"value_with_tax": priced[mid]}]}]})
    return attributes


# -- what to send ------------------------------------------------------------------------------------------
def patches(listing: Listing) -> list[dict[str, Any]]:
    """``replace`` patches for every attribute the flow manages (never ``fulfillment_availability``: the
    inventory flow owns quantity), so an existing listing is updated without a full replace."""
    return [{"op": "replace", "path": f"/attributes/{name}", "value": values}
            for name, values in sorted(listing.attributes.items())]


def feed_message(message_id: int, listing: Listing, *, existing: bool) -> dict[str, Any]:
    """One ``JSON_LISTINGS_FEED`` message: ``UPDATE`` (full listing) for a new SKU, ``PATCH`` for a listed one."""
    if existing:
        return {"messageId": message_id, "sku": listing.sku, "operationType": "PATCH",
                "productType": listing.product_type, "patches": patches(listing)}
    return {"messageId": message_id, "sku": listing.sku, "operationType": "UPDATE", "productType": listing.product_type,
            "requirements": "LISTING", "attributes": listing.attributes}


def feed_documents(listings: Sequence[tuple[Listing, bool]], seller_id: str, *, max_messages: int = 25_000
                   ) -> list[dict[str, Any]]:
    """``JSON_LISTINGS_FEED`` documents (``header`` + ``messages``), at most ``max_messages`` each; message
    ids restart at 1 in every document. ``listings``: ``(listing, existing)`` pairs."""
    documents = []
    for start in range(0, len(listings), max_messages):
        chunk = listings[start:start + max_messages]
        documents.append({"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
                          "messages": [feed_message(n, listing, existing=existing)
                                       for n, (listing, existing) in enumerate(chunk, start=1)]})
    return documents


def issue_text(issues: Iterable[Mapping[str, Any]]) -> str:
    """Amazon's ERROR issues as one line for the item and the ledger: ``[code] message (attribute)``."""
    parts = []
    for issue in issues:
        if issue.get("severity", "ERROR") != "ERROR":
            continue
        names = issue.get("attributeNames") or ([issue["attributeName"]] if issue.get("attributeName") else [])
        parts.append(f"[{issue.get('code', '-')}] {issue.get('message', '')}" + (f" ({', '.join(names)})" if names else ""))
    return "; ".join(parts)


@dataclass
class WriteBack:
    """What goes back to one NetSuite item (several regions fold into one update)."""

    item_id: str
    status: str = ""
    asin: str | None = None
    issues: list[str] = field(default_factory=list)

    RANK = {"": -1, "DELISTED": 0, "ACTIVE": 1, "SUBMITTED": 2, "INCOMPLETE": 3, "ERROR": 4}

    def add(self, status: str, *, asin: str | None = None, issue: str | None = None) -> None:
        if self.RANK[status] > self.RANK[self.status]:
            self.status = status
        if asin and not self.asin:
            self.asin = asin
        if issue:
            self.issues.append(issue)

    def record(self, synced_at: str) -> dict[str, Any]:
        """The ``updateList`` record: the item by internalId, only the write-back custom fields."""
        if not self.status:
            raise ValueError(f"item {self.item_id}: no outcome added, nothing to write back")
        text = "; ".join(self.issues)
        if len(text) > ISSUES_MAX:
            text = text[:ISSUES_MAX - 1] + "…"
        fields = [{"scriptId": LISTING_STATUS, "value": self.status}, {"scriptId": LAST_SYNC, "value": synced_at}]
        if text:
            fields.insert(1, {"scriptId": LISTING_ISSUES, "value": text})
        if self.asin:
            fields.insert(0, {"scriptId": ASIN, "value": self.asin})
        record: dict[str, Any] = {"internalId": self.item_id, "customFieldList": fields}
        if not text:
            # an empty string is no value for SOAP: clearing the last run's issues takes nullFieldList
            record["nullFieldList"] = [LISTING_ISSUES]
        return record
