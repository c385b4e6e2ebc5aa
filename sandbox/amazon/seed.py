"""Deterministic demo orders for the SP-API emulator (Orders API v2026-01-01 ``Order`` shape).

Consistent with ``include/mappings/``: only the marketplaces of ``marketplaces.csv`` and only SKUs
mapped in ``sku_items.csv`` for the marketplace they are sold in (``tests/unit/amazon`` checks it).
The content depends only on the seed; the timestamps are spread over the 14 days before seeding so a
DAG run over a recent window finds orders whatever day the demo runs.

Money conventions (documented in docs/amazon-quirks.md):
- ``unitPrice`` is the price the buyer saw: tax-exclusive in US/CA, VAT-inclusive in UK/DE;
- ``proceeds.breakdowns`` carry ITEM, SHIPPING, GIFT_WRAP, DISCOUNT (negative) and TAX subtotals;
  in UK/DE the TAX subtotal is the VAT already included in the other subtotals;
- ``proceeds.grandTotal`` is what the buyer paid;
- marketplace-facilitator tax is flagged on each item by ``tax.taxCollections[].model``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    name: str
    country: str
    currency: str
    vat_inclusive: bool
    order_prefixes: tuple[str, ...]
    shipping_charge: Decimal
    gift_wrap_charge: Decimal


MARKETPLACES = {
    "ATVPDKIKX0DER": Marketplace("ATVPDKIKX0DER", "Amazon.com", "US", "USD", False, ("111", "112", "113", "114"), Decimal("4.99"), Decimal("3.99")),
    "A2EUQ1WTGCTBG2": Marketplace("A2EUQ1WTGCTBG2", "Amazon.ca", "CA", "CAD", False, ("701", "702"), Decimal("6.49"), Decimal("4.99")),
    "A1F83G8C2ARO7P": Marketplace("A1F83G8C2ARO7P", "Amazon.co.uk", "GB", "GBP", True, ("202", "203", "204"), Decimal("3.99"), Decimal("2.99")),
    "A1PA6795UKMFR9": Marketplace("A1PA6795UKMFR9", "Amazon.de", "DE", "EUR", True, ("302", "303", "304"), Decimal("4.49"), Decimal("3.49")),
}
WEIGHTS = {"ATVPDKIKX0DER": 45, "A2EUQ1WTGCTBG2": 15, "A1F83G8C2ARO7P": 20, "A1PA6795UKMFR9": 20}


@dataclass(frozen=True)
class Sku:
    sku: str
    asin: str
    title: str
    channel: str  # MFN | AFN
    prices: dict[str, Decimal]
    marketplaces: tuple[str, ...] | None = None  # None: every marketplace


def _p(**prices: str) -> dict[str, Decimal]:
    return {currency: Decimal(value) for currency, value in prices.items()}


CATALOG = (
    Sku("ACME-MUG-11OZ", "B0ACMEMUG1", "ACME Ceramic Mug 11oz", "MFN", _p(USD="12.99", CAD="16.99", GBP="9.99", EUR="11.99")),
    Sku("ACME-MUG-11OZ-6PK", "B0ACMEMUG6", "ACME Ceramic Mug 11oz, pack of 6", "MFN", _p(USD="69.99", CAD="89.99", GBP="54.99", EUR="64.99")),
    Sku("ACME-MUG-11OZ-FBA", "B0ACMEMUGF", "ACME Ceramic Mug 11oz (Prime)", "AFN", _p(USD="13.99", CAD="17.99", GBP="10.99", EUR="12.99")),
    Sku("ACME-TEE-BLK-M", "B0ACMETEEM", "ACME Tee Black M", "AFN", _p(USD="19.99", CAD="24.99", GBP="15.99", EUR="17.99")),
    Sku("ACME-TEE-BLK-L", "B0ACMETEEL", "ACME Tee Black L", "AFN", _p(USD="19.99", CAD="24.99", GBP="15.99", EUR="17.99")),
    Sku("ACME-BOTTLE-750", "B0ACMEBTL7", "ACME Steel Bottle 750ml", "MFN", _p(USD="24.50", CAD="31.00", GBP="19.50"), ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P")),
    Sku("ACME-BOTTLE-750", "B0ACMEBTDE", "ACME Edelstahlflasche 750 ml", "MFN", _p(EUR="22.90"), ("A1PA6795UKMFR9",)),
    Sku("ACME-CANDLE-LAV", "B0ACMECNDL", "ACME Lavender Candle", "MFN", _p(USD="15.00", CAD="19.50", GBP="12.00", EUR="13.50")),
    Sku("ACME-KETTLE-UK", "B0ACMEKTUK", "ACME Electric Kettle (UK plug)", "MFN", _p(GBP="39.99"), ("A1F83G8C2ARO7P",)),
    Sku("ACME-KETTLE-EU", "B0ACMEKTEU", "ACME Wasserkocher (EU-Stecker)", "MFN", _p(EUR="44.99"), ("A1PA6795UKMFR9",)),
)
UNMAPPED_SKU = Sku("ACME-UNMAPPED-SKU", "B0ACMEUNMP", "ACME item missing from sku_items.csv", "MFN", _p(USD="9.99"))

# Sales tax by state/province: (region, rate, marketplace facilitator?)
US_TAX = (("WA", "0.101", True), ("NY", "0.08875", True), ("CA", "0.0725", True), ("TX", "0.0825", True),
          ("PA", "0.06", True), ("OR", "0", False), ("NH", "0", False), ("IL", "0.0625", False))
CA_TAX = (("ON", "0.13", False), ("AB", "0.05", False), ("BC", "0.05", False), ("NS", "0.15", False))
VAT = {"GB": Decimal("0.20"), "DE": Decimal("0.19")}
CITIES = {
    "US": (("Seattle", "98101"), ("Brooklyn", "11201"), ("San Jose", "95112"), ("Austin", "78701"), ("Pittsburgh", "15213"), ("Portland", "97201"), ("Concord", "03301"), ("Chicago", "60601")),
    "CA": (("Toronto", "M5V 2T6"), ("Calgary", "T2P 1J9"), ("Vancouver", "V6B 1A1"), ("Halifax", "B3H 1A1")),
    "GB": (("London", "EC1A 1BB"), ("Manchester", "M1 1AE"), ("Leeds", "LS1 4DY"), ("Bristol", "BS1 4DJ")),
    "DE": (("Berlin", "10115"), ("München", "80331"), ("Köln", "50667"), ("Düsseldorf", "40213")),
}
FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Robin", "Jürgen", "Zoë", "Siobhán", "René")
LAST = ("Smith", "García", "Müller", "O'Brien", "Nguyen", "Kowalski", "Dubois", "Schmidt", "Brown", "Tanaka")
STREETS = ("Main Street", "High Street", "Hauptstraße", "Oak Avenue", "King Street", "Bahnhofstraße")
BUSINESSES = ("Globex Corporation", "Initech GmbH", "Umbrella Ltd", "Stark Supplies Inc.")


def _money(amount: Decimal, currency: str) -> dict:
    return {"amount": str(amount.quantize(CENT, rounding=ROUND_HALF_UP)), "currencyCode": currency}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def skus_for(marketplace_id: str, channel: str) -> list[Sku]:
    return [
        sku
        for sku in CATALOG
        if sku.channel == channel
        and (sku.marketplaces is None or marketplace_id in sku.marketplaces)
        and MARKETPLACES[marketplace_id].currency in sku.prices
    ]


@dataclass
class _Buyer:
    name: str
    email: str
    city: str
    postal: str
    region: str
    street: str
    phone: str
    company: str | None


def _buyers(rng: random.Random, marketplace: Marketplace, count: int) -> list[_Buyer]:
    buyers = []
    for n in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        digest = hashlib.sha1(f"{marketplace.marketplace_id}-{n}-{name}".encode()).hexdigest()[:16]  # noqa: S324
        city, postal = rng.choice(CITIES[marketplace.country])
        if marketplace.country == "US":
            region = US_TAX[CITIES["US"].index((city, postal))][0]
        elif marketplace.country == "CA":
            region = CA_TAX[CITIES["CA"].index((city, postal))][0]
        else:
            region = ""
        company = rng.choice(BUSINESSES) if n % 5 == 4 else None
        buyers.append(
            _Buyer(name, f"{digest}@marketplace.amazon.{_domain(marketplace.country)}", city, postal, region,
                   f"{rng.randint(1, 400)} {rng.choice(STREETS)}", f"+{rng.randint(10**9, 10**10 - 1)}", company)
        )
    return buyers


def _domain(country: str) -> str:
    return {"US": "com", "CA": "ca", "GB": "co.uk", "DE": "de"}[country]


def _tax_rate(marketplace: Marketplace, buyer: _Buyer) -> tuple[Decimal, bool]:
    if marketplace.country == "US":
        entry = next(t for t in US_TAX if t[0] == buyer.region)
        return Decimal(entry[1]), entry[2]
    if marketplace.country == "CA":
        entry = next(t for t in CA_TAX if t[0] == buyer.region)
        return Decimal(entry[1]), entry[2]
    return VAT[marketplace.country], False


def generate_orders(seed: int = 0, *, orders: int = 120, unmapped_sku: bool = False, now: datetime | None = None,
                    buyers_per_marketplace: int = 10) -> list[dict]:
    """``orders`` deterministic orders (plus one with an unmapped SKU when ``unmapped_sku``), placed by
    ``buyers_per_marketplace`` distinct buyers per marketplace (the first three place most orders)."""
    rng = random.Random(seed)
    anchor = (now or datetime.now(UTC)).replace(second=0, microsecond=0) - timedelta(minutes=10)
    buyers = {mid: _buyers(rng, mp, max(3, buyers_per_marketplace)) for mid, mp in MARKETPLACES.items()}
    used_ids: set[str] = set()
    result = []
    population = list(WEIGHTS)
    weights = [WEIGHTS[m] for m in population]
    for index in range(orders):
        marketplace = MARKETPLACES[rng.choices(population, weights)[0]]
        # Repeat buyers: the first three buyers of each marketplace place most orders.
        pool = buyers[marketplace.marketplace_id]
        buyer = pool[rng.randrange(3)] if rng.random() < 0.4 else rng.choice(pool)
        result.append(_order(rng, index, marketplace, buyer, anchor, used_ids))
    if unmapped_sku:
        marketplace = MARKETPLACES["ATVPDKIKX0DER"]
        result.append(_order(rng, orders, marketplace, buyers[marketplace.marketplace_id][0], anchor, used_ids, forced_skus=[UNMAPPED_SKU]))
    return result


def _order(rng, index, marketplace, buyer, anchor, used_ids, forced_skus=None) -> dict:  # noqa: C901
    currency = marketplace.currency
    while True:
        order_id = f"{rng.choice(marketplace.order_prefixes)}-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(10**6, 10**7 - 1)}"
        if order_id not in used_ids:
            used_ids.add(order_id)
            break
    created = anchor - timedelta(seconds=rng.randint(3600, 14 * 86400))
    updated = min(anchor, created + timedelta(seconds=rng.randint(60, 2 * 86400)))
    channel = "AFN" if rng.random() < 0.35 else "MFN"
    candidates = skus_for(marketplace.marketplace_id, channel) or skus_for(marketplace.marketplace_id, "MFN")
    channel = candidates[0].channel
    lines = forced_skus or rng.sample(candidates, k=min(len(candidates), rng.choice((1, 1, 1, 2, 2, 3))))
    business = buyer.company is not None and rng.random() < 0.7
    cancelled = rng.random() < 0.06
    gift = rng.random() < 0.12
    promo = rng.random() < 0.2
    charge_shipping = channel == "MFN" and rng.random() < 0.6
    tax_rate, facilitator = _tax_rate(marketplace, buyer)

    if cancelled:
        status = "CANCELLED"
    elif channel == "AFN":
        status = rng.choice(("SHIPPED", "SHIPPED", "SHIPPED", "PENDING"))
    else:
        status = rng.choice(("UNSHIPPED", "SHIPPED", "SHIPPED", "PARTIALLY_SHIPPED" if len(lines) > 1 else "SHIPPED"))

    items = []
    totals = {"ITEM": Decimal(0), "SHIPPING": Decimal(0), "GIFT_WRAP": Decimal(0), "DISCOUNT": Decimal(0), "TAX": Decimal(0)}
    shipped_lines = 0
    for line_no, sku in enumerate(lines):
        quantity = rng.choice((1, 1, 1, 2, 3))
        unit = sku.prices[currency]
        parts = {"ITEM": unit * quantity}
        if charge_shipping and line_no == 0:
            parts["SHIPPING"] = marketplace.shipping_charge
        if gift and line_no == 0:
            parts["GIFT_WRAP"] = marketplace.gift_wrap_charge
        promotion_id = None
        if promo and line_no == 0:
            parts["DISCOUNT"] = -(unit * quantity * Decimal("0.10")).quantize(CENT, rounding=ROUND_HALF_UP)
            promotion_id = f"PROMO-{marketplace.country}-SPRING10"
        base = sum(parts.values(), Decimal(0))
        if marketplace.vat_inclusive:
            tax = (base - base / (1 + tax_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
            detailed = [{"subtype": k, "value": _money(v - v / (1 + tax_rate), currency)} for k, v in parts.items()]
        else:
            tax = (base * tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
            detailed = [{"subtype": k, "value": _money(v * tax_rate, currency)} for k, v in parts.items()]
        item_total = base if marketplace.vat_inclusive else base + tax
        for key, value in parts.items():
            totals[key] += value.quantize(CENT, rounding=ROUND_HALF_UP)
        totals["TAX"] += tax
        breakdowns = [{"type": k, "subtotal": _money(v, currency)} for k, v in parts.items()]
        breakdowns.append({"type": "TAX", "subtotal": _money(tax, currency), "detailedBreakdowns": detailed})
        product = {
            "asin": sku.asin,
            "title": sku.title,
            "sellerSku": sku.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": _money(unit, currency)},
        }
        if business:
            product["price"]["priceDesignation"] = "BUSINESS_PRICE"
        line_shipped = status == "SHIPPED" or (status == "PARTIALLY_SHIPPED" and line_no == 0)
        shipped_lines += int(line_shipped)
        item = {
            "orderItemId": f"{rng.randint(10**13, 10**14 - 1)}",
            "quantityOrdered": quantity,
            "programs": [],
            "product": product,
            "fulfillment": {
                "quantityFulfilled": quantity if line_shipped else 0,
                "quantityUnfulfilled": 0 if line_shipped or cancelled else quantity,
            },
        }
        if not cancelled:
            item["proceeds"] = {"proceedsTotal": _money(item_total, currency), "breakdowns": breakdowns}
        if promotion_id:
            item["promotion"] = {"breakdowns": [{"promotionId": promotion_id}]}
        if gift and line_no == 0:
            item["fulfillment"]["packing"] = {"giftOption": {"giftMessage": "Happy birthday!", "giftWrapLevel": "STANDARD"}}
        if cancelled:
            item["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": "Order placed by mistake"}}
        if facilitator:
            item["tax"] = {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "Amazon Services, Inc."}]}
        items.append(item)

    order: dict = {
        "orderId": order_id,
        "createdTime": _iso(created),
        "lastUpdatedTime": _iso(updated),
        "programs": (["AMAZON_BUSINESS"] if business else []) + (["PRIME"] if channel == "AFN" else []),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace.marketplace_id, "marketplaceName": marketplace.name},
        "fulfillment": {
            "fulfillmentStatus": status,
            "fulfilledBy": "AMAZON" if channel == "AFN" else "MERCHANT",
            "fulfillmentServiceLevel": "STANDARD" if channel == "MFN" else "SECOND_DAY",
            "shipByWindow": {"earliestDateTime": _iso(created), "latestDateTime": _iso(created + timedelta(days=2))},
        },
        "orderItems": items,
    }
    if status != "PENDING":
        order["buyer"] = {"buyerName": buyer.name, "buyerEmail": buyer.email}
        if business:
            order["buyer"].update({"buyerCompanyName": buyer.company, "buyerPurchaseOrderNumber": f"PO-{index:05d}"})
        address = {
            "name": buyer.name,
            "addressLine1": buyer.street,
            "city": buyer.city,
            "postalCode": buyer.postal,
            "countryCode": marketplace.country,
            "phone": buyer.phone,
            "addressType": "COMMERCIAL" if business else "RESIDENTIAL",
        }
        if buyer.region:
            address["stateOrRegion"] = buyer.region
        if business:
            address["companyName"] = buyer.company
        order["recipient"] = {"deliveryAddress": address}
    if cancelled:
        order["proceeds"] = {"grandTotal": _money(Decimal(0), currency), "breakdowns": []}
    else:
        grand = sum((v for k, v in totals.items() if k != "TAX"), Decimal(0))
        if not marketplace.vat_inclusive:
            grand += totals["TAX"]
        order["proceeds"] = {
            "grandTotal": _money(grand, currency),
            "breakdowns": [{"type": k, "subtotal": _money(v, currency)} for k, v in totals.items() if v or k in ("ITEM", "TAX")],
        }
    if shipped_lines:
        ship_time = min(updated, created + timedelta(hours=rng.randint(2, 30)))
        carrier = ("AMZN_US" if marketplace.country in ("US", "CA") else "AMZN_UK" if marketplace.country == "GB" else "DHL") if channel == "AFN" else rng.choice(("UPS", "USPS", "FedEx", "Royal Mail", "DHL"))
        order["packages"] = [
            {
                "packageReferenceId": "1",
                "createdTime": _iso(ship_time),
                "packageStatus": {"status": "SHIPPED" if status != "DELIVERED" else "DELIVERED"},
                "carrier": carrier,
                "shipTime": _iso(ship_time),
                "shippingService": "Standard",
                "trackingNumber": f"TRK{rng.randint(10**11, 10**12 - 1)}",
                "packageItems": [
                    {"orderItemId": item["orderItemId"], "quantity": item["quantityOrdered"]}
                    for item in items
                    if item["fulfillment"]["quantityFulfilled"]
                ],
            }
        ]
    return order
