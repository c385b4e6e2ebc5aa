"""SP-API regions: which endpoint serves which marketplace, and which connection a marketplace uses.

Each SP-API endpoint serves only its own region, and a seller authorizes an app once per region
(each authorization has its own refresh token). A call that names a marketplace of another region
is refused as a whole with ``403 Unauthorized`` ("The marketplaces you provided are not valid for
region."). The project therefore uses one Airflow connection per region, ``amazon_sp_api_{region}``
(``marketplaces.csv`` can name another one per marketplace in ``sp_api_conn_id``).

Marketplace ids: https://developer-docs.amazon.com/sp-api/docs/marketplace-ids (checked for this
table; ``tests/unit/amazon/test_regions.py`` keeps it equal to the SP-API sandbox's table).
Pure Python: the mapping validator and DAG files may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

REGIONS = ("na", "eu", "fe")

REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

#: The connection a region's marketplaces use unless marketplaces.csv names another (sp_api_conn_id).
CONN_ID_PREFIX = "amazon_sp_api_"


@dataclass(frozen=True)
class MarketplaceInfo:
    marketplace_id: str
    country_code: str
    country: str
    region: str


def _region(region: str, rows: Iterable[tuple[str, str, str]]) -> dict[str, MarketplaceInfo]:
    return {mid: MarketplaceInfo(mid, code, country, region) for country, mid, code in rows}


#: region -> marketplace id -> info, in the order of Amazon's "Marketplace IDs" page.
REGION_MARKETPLACES: dict[str, dict[str, MarketplaceInfo]] = {
    "na": _region("na", (
        ("Canada", "A2EUQ1WTGCTBG2", "CA"),
        ("United States of America", "ATVPDKIKX0DER", "US"),
        ("Mexico", "A1AM78C64UM0Y8", "MX"),
        ("Brazil", "A2Q3Y263D00KWC", "BR"),
    )),
    "eu": _region("eu", (
        ("Ireland", "A28R8C7NBKEWEA", "IE"),
        ("Spain", "A1RKKUPIHCS9HS", "ES"),
        ("United Kingdom", "A1F83G8C2ARO7P", "UK"),
        ("France", "A13V1IB3VIYZZH", "FR"),
        ("Belgium", "AMEN7PMS3EDWL", "BE"),
        ("Netherlands", "A1805IZSGTT6HS", "NL"),
        ("Germany", "A1PA6795UKMFR9", "DE"),
        ("Italy", "APJ6JRA9NG5V4", "IT"),
        ("Sweden", "A2NODRKZP88ZB9", "SE"),
        ("South Africa", "AE08WJ6YKNBMC", "ZA"),
        ("Poland", "A1C3SOZRARQ6R3", "PL"),
        ("Egypt", "ARBP9OOSHTCHU", "EG"),
        ("Turkey", "A33AVAJ2PDY3EV", "TR"),
        ("Saudi Arabia", "A17E79C6D8DWNP", "SA"),
        ("United Arab Emirates", "A2VIGQ35RCS4UG", "AE"),
        ("India", "A21TJRUUN4KGV", "IN"),
    )),
    "fe": _region("fe", (
        ("Singapore", "A19VAU5U5O7RUS", "SG"),
        ("Australia", "A39IBJ37TRP1C6", "AU"),
        ("Japan", "A1VC38T7YXB528", "JP"),
    )),
}

MARKETPLACES: dict[str, MarketplaceInfo] = {
    mid: info for marketplaces in REGION_MARKETPLACES.values() for mid, info in marketplaces.items()
}


def region_of(marketplace_id: str) -> str | None:
    """The SP-API region serving ``marketplace_id``, or None for an id Amazon does not document."""
    info = MARKETPLACES.get(marketplace_id)
    return info.region if info else None


def describe(marketplace_id: str) -> str:
    """``A1F83G8C2ARO7P (UK)`` for log and error text (ids and country codes only)."""
    info = MARKETPLACES.get(marketplace_id)
    return f"{marketplace_id} ({info.country_code})" if info else marketplace_id


def default_conn_id(region: str) -> str:
    """``amazon_sp_api_{region}``: the connection of a region's marketplaces."""
    return f"{CONN_ID_PREFIX}{region}"


def region_from_conn_id(conn_id: str) -> str | None:
    """``eu`` for ``amazon_sp_api_eu``; None when the id does not end in a region."""
    suffix = conn_id.rsplit("_", 1)[-1].lower()
    return suffix if suffix in REGIONS and conn_id.lower().startswith(CONN_ID_PREFIX) else None


def env_var(conn_id: str) -> str:
    """The environment variable Airflow reads a connection from: ``AIRFLOW_CONN_AMAZON_SP_API_EU``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def foreign_marketplaces(region: str, marketplace_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """(marketplaces of another region, marketplaces no region knows) among ``marketplace_ids``."""
    other, unknown = [], []
    for mid in marketplace_ids:
        owner = region_of(mid)
        if owner is None:
            unknown.append(mid)
        elif owner != region:
            other.append(mid)
    return other, unknown


def region_problem(region: str, marketplace_ids: Iterable[str], *, conn_id: str) -> str | None:
    """Why ``conn_id`` (region ``region``) cannot call Amazon for ``marketplace_ids``, or None.

    Names each misplaced marketplace, its region and the connection to use instead.
    """
    other, unknown = foreign_marketplaces(region, marketplace_ids)
    if not other and not unknown:
        return None
    parts = []
    for mid in other:
        owner = region_of(mid)
        parts.append(f"marketplace {describe(mid)} belongs to SP-API region {owner}, not {region}: use connection "
                     f"{default_conn_id(owner)} for it (each regional endpoint serves only its region)")
    for mid in unknown:
        parts.append(f"marketplace {mid} is not a marketplace id of any SP-API region (check the id against "
                     "https://developer-docs.amazon.com/sp-api/docs/marketplace-ids)")
    return f"connection {conn_id} (region {region}): " + "; ".join(parts)
