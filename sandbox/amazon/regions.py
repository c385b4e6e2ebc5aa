"""Which SP-API region serves which marketplace: the emulator's own copy of Amazon's table.

Kept apart from the hook's table (``amazon_netsuite.amazon.regions``) on purpose: the emulator
plays Amazon, so a wrong id in the hook must be refused here, not agreed with.
``tests/unit/amazon/test_regions.py`` checks that both tables are equal.

Source: https://developer-docs.amazon.com/sp-api/docs/marketplace-ids (order as published).
"""

from __future__ import annotations

REGIONS = ("na", "eu", "fe")

#: region -> ((marketplace id, country code), ...)
REGION_MARKETPLACES: dict[str, tuple[tuple[str, str], ...]] = {
    "na": (("A2EUQ1WTGCTBG2", "CA"), ("ATVPDKIKX0DER", "US"), ("A1AM78C64UM0Y8", "MX"), ("A2Q3Y263D00KWC", "BR")),
    "eu": (
        ("A28R8C7NBKEWEA", "IE"), ("A1RKKUPIHCS9HS", "ES"), ("A1F83G8C2ARO7P", "UK"), ("A13V1IB3VIYZZH", "FR"),
        ("AMEN7PMS3EDWL", "BE"), ("A1805IZSGTT6HS", "NL"), ("A1PA6795UKMFR9", "DE"), ("APJ6JRA9NG5V4", "IT"),
        ("A2NODRKZP88ZB9", "SE"), ("AE08WJ6YKNBMC", "ZA"), ("A1C3SOZRARQ6R3", "PL"), ("ARBP9OOSHTCHU", "EG"),
        ("A33AVAJ2PDY3EV", "TR"), ("A17E79C6D8DWNP", "SA"), ("A2VIGQ35RCS4UG", "AE"), ("A21TJRUUN4KGV", "IN"),
    ),
    "fe": (("A19VAU5U5O7RUS", "SG"), ("A39IBJ37TRP1C6", "AU"), ("A1VC38T7YXB528", "JP")),
}

MARKETPLACE_REGION: dict[str, str] = {mid: region for region, rows in REGION_MARKETPLACES.items() for mid, _ in rows}
MARKETPLACE_COUNTRY: dict[str, str] = {mid: code for rows in REGION_MARKETPLACES.values() for mid, code in rows}


def marketplaces_of(region: str) -> list[str]:
    """Every marketplace id the region's endpoint serves, in Amazon's order."""
    return [mid for mid, _ in REGION_MARKETPLACES[region]]
