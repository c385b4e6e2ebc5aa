"""The SP-API emulator's own product-type definitions: which listing attributes each product type requires.

Amazon validates a listing against the product type's JSON Schema (Product Type Definitions API); the
sandbox keeps a small table of its own, deliberately separate from the project's
``include/mappings/listing_requirements.csv``, so a test proves that the integration's table and
Amazon's answer agree instead of reading the same file twice. The issues have Amazon's shape and
wording (docs/amazon-quirks.md, "Catalog listings"):

- a required attribute that is absent or empty: code ``90220``, ``"'{name}' is required but not supplied."``,
  category ``MISSING_ATTRIBUTE``;
- a value Amazon cannot accept (a price in another currency than the marketplace's, a non-positive
  price, an unknown condition): code ``4000001``, ``"The provided value for '{name}' is invalid."``;
- an unknown product type: code ``4000001`` on ``productType``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

#: Offer attributes every LISTING submission needs in every product type (sales terms).
OFFER_REQUIRED = ("condition_type", "purchasable_offer")

#: Product facts required per product type (the ``required`` list of Amazon's schema, trimmed to what the
#: sandbox models). The identifier is checked separately: a product identifier or the exemption.
PRODUCT_TYPES: dict[str, tuple[str, ...]] = {
    "PRODUCT": ("item_name", "brand", "product_description"),
    "DRINKING_CUP": ("item_name", "brand", "bullet_point", "product_description", "main_product_image_locator"),
    "HOME": ("item_name", "brand", "bullet_point", "product_description"),
    "LUGGAGE": ("item_name", "brand", "bullet_point", "product_description", "main_product_image_locator"),
}
IDENTIFIER = "externally_assigned_product_identifier"
EXEMPTION = "supplier_declared_has_product_identifier_exemption"
CONDITIONS = frozenset({
    "new_new", "new_open_box", "new_oem", "refurbished_refurbished", "used_like_new", "used_very_good", "used_good",
    "used_acceptable", "collectible_like_new", "collectible_very_good", "collectible_good", "collectible_acceptable",
    "club_club",
})


def _issue(code: str, message: str, attribute: str, category: str | None) -> dict[str, Any]:
    return {"code": code, "message": message, "severity": "ERROR", "attributeNames": [attribute],
            "categories": [category] if category else []}


def missing(attribute: str) -> dict[str, Any]:
    return _issue("90220", f"'{attribute}' is required but not supplied.", attribute, "MISSING_ATTRIBUTE")


def invalid(attribute: str, category: str = "INVALID_ATTRIBUTE") -> dict[str, Any]:
    return _issue("4000001", f"The provided value for '{attribute}' is invalid.", attribute, category)


def _present(values: Any) -> bool:
    return isinstance(values, list) and any(isinstance(v, dict) and any(x not in (None, "", []) for k, x in v.items()
                                                                        if k not in ("marketplace_id", "language_tag"))
                                            for v in values)


def validate(product_type: str, attributes: dict[str, Any], marketplace_currency: dict[str, str],
             requirements: str = "LISTING") -> list[dict[str, Any]]:
    """Amazon's synchronous issues for a full listing (``putListingsItem`` / ``UPDATE`` message); [] when valid.

    ``marketplace_currency``: the currency of each marketplace of the request.
    """
    if product_type not in PRODUCT_TYPES:
        return [{"code": "4000001", "message": f"The provided value for 'productType' is invalid: '{product_type}' is not a product type.",
                 "severity": "ERROR", "attributeNames": ["productType"], "categories": ["INVALID_ATTRIBUTE"]}]
    issues: list[dict[str, Any]] = []
    required: list[str] = []
    if requirements in ("LISTING", "LISTING_PRODUCT_ONLY"):
        required += PRODUCT_TYPES[product_type]
    if requirements in ("LISTING", "LISTING_OFFER_ONLY"):
        required += OFFER_REQUIRED
    for name in required:
        if not _present(attributes.get(name)):
            issues.append(missing(name))
    if requirements != "LISTING_OFFER_ONLY" and not _present(attributes.get(IDENTIFIER)) \
            and not any(isinstance(v, dict) and v.get("value") is True for v in attributes.get(EXEMPTION) or []):
        issues.append(missing(IDENTIFIER))
    for value in attributes.get("condition_type") or []:
        if isinstance(value, dict) and value.get("value") not in CONDITIONS:
            issues.append(invalid("condition_type"))
            break
    for value in attributes.get(IDENTIFIER) or []:
        if not isinstance(value, dict) or value.get("type") not in ("upc", "ean", "gtin", "isbn", "jan") \
                or not str(value.get("value") or "").isdigit():
            issues.append(invalid(IDENTIFIER))
            break
    for offer in attributes.get("purchasable_offer") or []:
        if not isinstance(offer, dict):
            issues.append(invalid("purchasable_offer", "INVALID_PRICE"))
            break
        marketplace = offer.get("marketplace_id")
        expected = marketplace_currency.get(marketplace) if marketplace else None
        if marketplace and marketplace not in marketplace_currency:
            continue  # an offer for another marketplace of the listing: not this request's concern
        if expected is not None and offer.get("currency") != expected:
            issues.append(invalid("purchasable_offer", "INVALID_PRICE"))
            break
        if not _price_ok(offer):
            issues.append(invalid("purchasable_offer", "INVALID_PRICE"))
            break
    return issues


def _price_ok(offer: dict[str, Any]) -> bool:
    try:
        value = offer["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return False
    if isinstance(value, bool):
        return False
    try:
        return Decimal(str(value)) > 0
    except InvalidOperation:
        return False


def item_name(attributes: dict[str, Any], marketplace_id: str) -> str | None:
    names = [v for v in attributes.get("item_name") or [] if isinstance(v, dict)]
    for value in names:
        if value.get("marketplace_id") == marketplace_id:
            return str(value.get("value"))
    return str(names[0].get("value")) if names else None
