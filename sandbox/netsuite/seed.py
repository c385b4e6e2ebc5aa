"""Deterministic demo data consistent with include/mappings/ (subsidiaries, currencies, locations,
GL accounts, monthly accounting periods Jan 2025 .. Dec 2027 (closed before Jun 2026), tax codes,
other-charge items, generic Amazon customers, inventory items with per-location quantities).

The ids are agreed between workstreams and pointed to by include/mappings: append, never renumber."""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.netsuite.service import NetSuiteService

CURRENCIES = [
    (1, "US Dollar", "USD", "$", True, 1.0),
    (2, "Canadian Dollar", "CAD", "CA$", False, 0.73),
    (3, "British Pound", "GBP", "£", False, 1.27),
    (4, "Euro", "EUR", "€", False, 1.08),
]
SUBSIDIARIES = [
    (1, "Acme Holdings", None, 1, "_unitedStates"),
    (2, "Acme Goods Inc.", 1, 1, "_unitedStates"),
    (3, "Acme Goods Canada Ltd.", 1, 2, "_canada"),
    (4, "Acme Goods UK Ltd.", 1, 3, "_unitedKingdom"),
    (5, "Acme Goods GmbH", 1, 4, "_germany"),
]
#: (internal id, name, subsidiary, kind)
LOCATIONS = [
    (1, "US Warehouse", 2, "warehouse"), (2, "US Amazon FBA", 2, "fba"), (3, "US Returns", 2, "returns"),
    (4, "CA Warehouse", 3, "warehouse"), (5, "CA Amazon FBA", 3, "fba"), (6, "CA Returns", 3, "returns"),
    (7, "UK Warehouse", 4, "warehouse"), (8, "UK Amazon FBA", 4, "fba"), (9, "UK Returns", 4, "returns"),
    (10, "DE Warehouse", 5, "warehouse"), (11, "DE Amazon FBA", 5, "fba"), (12, "DE Returns", 5, "returns"),
]
#: (internal id, number, name, type, subsidiaries, currency)
ACCOUNTS = [
    (1010, "1010", "Bank - US", "_bank", [2], 1),
    (1011, "1011", "Bank - Canada", "_bank", [3], 2),
    (1012, "1012", "Bank - UK", "_bank", [4], 3),
    (1013, "1013", "Bank - Germany", "_bank", [5], 4),
    (1210, "1210", "Amazon Clearing - US", "_otherCurrentAsset", [2], None),
    (1211, "1211", "Amazon Clearing - CA", "_otherCurrentAsset", [3], None),
    # UK and DE bill on invoices (marketplaces.csv billing_document): an invoice posts to an A/R account
    (1212, "1212", "Amazon Clearing - UK", "_accountsReceivable", [4], None),
    (1213, "1213", "Amazon Clearing - DE", "_accountsReceivable", [5], None),
    (1220, "1220", "Amazon Reserve Held", "_otherCurrentAsset", [1, 2, 3, 4, 5], None),
    (1290, "1290", "Amazon Suspense - US", "_otherCurrentAsset", [2], None),
    (1291, "1291", "Amazon Suspense - CA", "_otherCurrentAsset", [3], None),
    (1292, "1292", "Amazon Suspense - UK", "_otherCurrentAsset", [4], None),
    (1293, "1293", "Amazon Suspense - DE", "_otherCurrentAsset", [5], None),
    (2300, "2300", "Sales Tax Collected", "_otherCurrentLiability", [1, 2, 3, 4, 5], None),
    (2310, "2310", "Marketplace Facilitator Tax - US", "_otherCurrentLiability", [2], None),
    (2311, "2311", "Marketplace Facilitator Tax - CA", "_otherCurrentLiability", [3], None),
    (2312, "2312", "Marketplace Facilitator Tax - UK", "_otherCurrentLiability", [4], None),
    (2313, "2313", "Marketplace Facilitator Tax - DE", "_otherCurrentLiability", [5], None),
    (2320, "2320", "Output VAT", "_otherCurrentLiability", [4, 5], None),
    (4010, "4010", "Product Sales", "_income", [1, 2, 3, 4, 5], None),
    (4020, "4020", "Shipping Income", "_income", [1, 2, 3, 4, 5], None),
    (4080, "4080", "Promotions", "_income", [1, 2, 3, 4, 5], None),
    (4090, "4090", "Refunds", "_income", [1, 2, 3, 4, 5], None),
    (4910, "4910", "FBA Reimbursements", "_otherIncome", [1, 2, 3, 4, 5], None),
    (6110, "6110", "Amazon Referral Fees", "_expense", [1, 2, 3, 4, 5], None),
    (6111, "6111", "Amazon Refund Administration Fees", "_expense", [1, 2, 3, 4, 5], None),
    (6112, "6112", "Amazon Subscription", "_expense", [1, 2, 3, 4, 5], None),
    (6119, "6119", "Other Amazon Selling Fees", "_expense", [1, 2, 3, 4, 5], None),
    (6120, "6120", "FBA Fulfilment Fees", "_expense", [1, 2, 3, 4, 5], None),
    (6130, "6130", "FBA Storage Fees", "_expense", [1, 2, 3, 4, 5], None),
    (6140, "6140", "Advertising", "_expense", [1, 2, 3, 4, 5], None),
    (6150, "6150", "Shipping Chargebacks", "_expense", [1, 2, 3, 4, 5], None),
    (4095, "4095", "Tax rounding", "_otherIncome", [1, 2, 3, 4, 5], None),
]
#: tax codes (``salesTaxItem``): (internal id, name, rate in percent, subsidiary, tax account). Seller
#: codes of US/CA post to 2300 Sales Tax Collected, UK/DE to 2320 Output VAT; marketplace-facilitator
#: codes to their subsidiary's facilitator account (tax Amazon remits is never the seller's liability).
TAX_CODES = [
    (11, "US Not Taxable", "0", 2, 2300), (15, "US Marketplace Facilitator, not taxable", "0", 2, 2310),
    (51, "US IL", "6.25", 2, 2300),
    (12, "CA Zero-rated", "0", 3, 2300), (16, "CA Marketplace Facilitator", "0", 3, 2311),
    (21, "CA GST", "5", 3, 2300), (22, "CA HST ON", "13", 3, 2300), (23, "CA HST NS", "15", 3, 2300),
    (13, "GB Zero-rated", "0", 4, 2320), (17, "GB Marketplace Facilitator", "0", 4, 2312),
    (31, "GB Standard", "20", 4, 2320), (32, "GB Reduced", "5", 4, 2320),
    (14, "DE Steuerfrei", "0", 5, 2320), (18, "DE Marketplace Facilitator", "0", 5, 2313),
    (41, "DE Standard", "19", 5, 2320), (42, "DE Reduced", "7", 5, 2320),
]
#: non-inventory charges on sales transactions (``otherChargeSaleItem``, not taxable):
#: (internal id, itemId, subsidiary, include children, income/liability account)
OTHER_CHARGE_ITEMS = [
    (601, "Marketplace facilitator tax - US", 2, False, 2310),
    (602, "Marketplace facilitator tax - CA", 3, False, 2311),
    (603, "Marketplace facilitator tax - UK", 4, False, 2312),
    (604, "Marketplace facilitator tax - DE", 5, False, 2313),
    (611, "Tax rounding", 1, True, 4095),
    # seller-collected tax no tax code reproduces, booked as Amazon calculated it (to the output-tax account)
    (621, "Seller-collected tax (Amazon-calculated) - US", 2, False, 2300),
    (622, "Seller-collected tax (Amazon-calculated) - CA", 3, False, 2300),
    (623, "Seller-collected tax (Amazon-calculated) - UK", 4, False, 2320),
    (624, "Seller-collected tax (Amazon-calculated) - DE", 5, False, 2320),
]
#: accounts of the settlement model (marketplaces.csv balance_owed / refunds_pending / input_tax /
#: The account inventory adjustments post to (the default of ``POST /_sandbox/records/inventoryAdjustment``
#: when the warehouse names none, and of the inventory flow's FBA adjustments).
INVENTORY_ADJUSTMENT_ACCOUNT = 5200
INVENTORY_ACCOUNTS = [
    (INVENTORY_ADJUSTMENT_ACCOUNT, "5200", "Inventory Adjustments", "_costOfGoodsSold", [1, 2, 3, 4, 5], None),
]
#: settlement_in_transit columns, settlement_gl.csv rules); seeded after ACCOUNTS
SETTLEMENT_ACCOUNTS = [
    (2330, "2330", "Amazon Balance Owed - US", "_otherCurrentLiability", [2], None),
    (2331, "2331", "Amazon Balance Owed - CA", "_otherCurrentLiability", [3], None),
    (2332, "2332", "Amazon Balance Owed - UK", "_otherCurrentLiability", [4], None),
    (2333, "2333", "Amazon Balance Owed - DE", "_otherCurrentLiability", [5], None),
    # refunds Amazon paid out before their cash refund / credit memo is booked: a debit balance the returns
    # flow's cash refunds empty (an asset account, so a cash refund can be paid from it)
    (2340, "2340", "Amazon Refunds Pending - US", "_otherCurrentAsset", [2], None),
    (2341, "2341", "Amazon Refunds Pending - CA", "_otherCurrentAsset", [3], None),
    (2342, "2342", "Amazon Refunds Pending - UK", "_otherCurrentAsset", [4], None),
    (2343, "2343", "Amazon Refunds Pending - DE", "_otherCurrentAsset", [5], None),
    (1250, "1250", "Amazon Settlement in Transit - US", "_otherCurrentAsset", [2], None),
    (1251, "1251", "Amazon Settlement in Transit - CA", "_otherCurrentAsset", [3], None),
    (1252, "1252", "Amazon Settlement in Transit - UK", "_otherCurrentAsset", [4], None),
    (1253, "1253", "Amazon Settlement in Transit - DE", "_otherCurrentAsset", [5], None),
    (1241, "1241", "Input tax recoverable - CA (GST/HST ITC)", "_otherCurrentAsset", [3], None),
    (1242, "1242", "Input tax recoverable - UK (Input VAT)", "_otherCurrentAsset", [4], None),
    (1243, "1243", "Input tax recoverable - DE (Vorsteuer)", "_otherCurrentAsset", [5], None),
    (2350, "2350", "Credit card - Amazon charges", "_creditCard", [1, 2, 3, 4, 5], None),
    (1300, "1300", "Inventory in transit - inbound freight", "_otherCurrentAsset", [1, 2, 3, 4, 5], None),
    (6121, "6121", "Amazon Shipping Labels", "_expense", [1, 2, 3, 4, 5], None),
]
#: monthly accounting periods Jan 2025 .. Dec 2027 (internalId 1 = Jan 2025 ... 36 = Dec 2027);
#: the ones before FIRST_OPEN_PERIOD are closed
PERIOD_YEARS = (2025, 2026, 2027)
FIRST_OPEN_PERIOD = date(2026, 6, 1)


def accounting_periods() -> list[tuple[int, str, date, date, bool]]:
    """(internal id, periodName like "Nov 2026", start, end, closed) of the seeded months."""
    out = []
    for year in PERIOD_YEARS:
        for month in range(1, 13):
            start = date(year, month, 1)
            end = date(year, month, calendar.monthrange(year, month)[1])
            internal_id = (year - PERIOD_YEARS[0]) * 12 + month
            out.append((internal_id, start.strftime("%b %Y"), start, end, start < FIRST_OPEN_PERIOD))
    return out


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00+00:00"


#: generic per-marketplace customers of marketplaces.csv (single_customer_id)
CUSTOMERS = [
    (100, "Amazon.com Customer", 2, 1),
    (101, "Amazon.co.uk Customer", 4, 3),
    (102, "Amazon.de Customer", 5, 4),
    (103, "Amazon.ca Customer", 3, 2),
]
#: (internal id, itemId, display name, locations stocked (warehouse + FBA of these subsidiaries))
ITEMS = [
    (501, "Mug 11oz", "Acme Mug 11oz", [2, 3, 4, 5]),
    (502, "Tee black M", "Acme Tee Black M", [2, 3, 4, 5]),
    (503, "Tee black L", "Acme Tee Black L", [2, 3, 4, 5]),
    (504, "Bottle 750ml", "Acme Bottle 750ml", [2, 3, 4]),
    (505, "Lavender candle", "Acme Lavender Candle", [2, 3, 4, 5]),
    (506, "Kettle UK plug", "Acme Kettle (UK plug)", [4]),
    (507, "Kettle EU plug", "Acme Kettle (EU plug)", [5]),
    (508, "Bottle 750ml (DE)", "Acme Bottle 750ml (DE)", [5]),
]

#: Items the merchandisers flagged for Amazon (``custitem_amazon_publish``) and saved a few days ago, for the
#: catalog DAG (use case 6): new products, so no sku_items.csv row (the stock flows leave them alone until
#: one is added). Seeded with ``catalog=True``: the world a fresh sandbox starts with (``make demo``,
#: ``make up``) has them; ``POST /_sandbox/seed`` adds them only when asked (``"catalog": true``), so a test
#: of the catalog flow decides which flagged items exist. (internal id, itemId, display name, sales description, UPC, days since last saved,
#: custom fields). 509 and 510 carry every attribute listing_requirements.csv asks of their product type;
#: 511 lacks the bullet points and the image LUGGAGE requires, so it is reported, not sent.
CATALOG_ITEMS = [
    (509, "Travel mug 12oz", "Acme Insulated Travel Mug 12oz",
     "Double-walled stainless steel travel mug with a leak-proof lid; keeps drinks hot for 6 hours.",
     "840123450913", 3, {
         "custitem_amazon_sku": "ACME-TRAVELMUG-12OZ", "custitem_amazon_product_type": "DRINKING_CUP",
         "custitem_amazon_brand": "Acme", "custitem_amazon_condition": "new_new",
         "custitem_amazon_bullets": "Keeps drinks hot for 6 hours, cold for 12\nLeak-proof flip lid\n"
                                    "Fits most car cup holders",
         "custitem_amazon_image_url": "https://images.acme.example/travel-mug-12oz/main.jpg",
         "custitem_amazon_price_us": "19.99", "custitem_amazon_price_ca": "26.99",
     }),
    (510, "Linen cushion 45cm", "Acme Linen Cushion Cover 45 x 45 cm",
     "Stonewashed linen cushion cover with a hidden zip; machine washable at 40 degrees.",
     "840123451019", 2, {
         "custitem_amazon_sku": "ACME-CUSHION-LIN-45", "custitem_amazon_product_type": "HOME",
         "custitem_amazon_brand": "Acme", "custitem_amazon_bullets": "100% stonewashed linen\nHidden zip closure\n"
                                                                     "Machine washable at 40 degrees",
         "custitem_amazon_image_url": "https://images.acme.example/cushion-linen-45/main.jpg",
         "custitem_amazon_price_us": "24.50", "custitem_amazon_price_gb": "19.95",
     }),
    (511, "Weekender bag", "Acme Canvas Weekender Bag 40L",
     "Waxed canvas weekender bag with leather handles and a separate shoe compartment.",
     "840123451118", 1, {
         "custitem_amazon_sku": "ACME-WEEKENDER-40L", "custitem_amazon_product_type": "LUGGAGE",
         "custitem_amazon_brand": "Acme", "custitem_amazon_price_us": "89.00",
     }),
]


def _ref(internal_id: int) -> dict[str, str]:
    return {"internalId": str(internal_id)}


def _saved_days_ago(service: NetSuiteService, record_type: str, internal_id: int, days: int) -> None:
    """Date the record's last save (``lastModifiedDate``) ``days`` back (to the minute)."""
    record = service.store.get(record_type, internal_id=str(internal_id))
    saved = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=days)
    record["lastModifiedDate"] = saved.isoformat(timespec="milliseconds")
    if "createdDate" in record:  # created that day too: never after its last save
        record["createdDate"] = record["lastModifiedDate"]
    with service.store.transaction():
        service.store.put(record_type, record, record["lastModifiedDate"])


def seed_data(service: NetSuiteService, seed: int = 0, *, items: int = 0, customers: int = 0,
              catalog: bool = False) -> dict[str, int]:
    """Write the demo data (ids fixed by the mapping tables; quantities drawn from ``seed``); ``catalog``
    adds the items flagged for Amazon (:data:`CATALOG_ITEMS`)."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}

    def add(record_type: str, internal_id: int, record: dict[str, Any]) -> None:
        with service.store.transaction():
            service.create(record_type, record, internal_id=internal_id)
        counts[record_type] = counts.get(record_type, 0) + 1

    for internal_id, name, symbol, display, base, rate in CURRENCIES:
        add("currency", internal_id, {
            "name": name, "symbol": symbol, "displaySymbol": display, "isBaseCurrency": base, "exchangeRate": rate,
        })
    for internal_id, name, start, end, closed in accounting_periods():
        period: dict[str, Any] = {
            "periodName": name, "startDate": _midnight(start), "endDate": _midnight(end),
            "isQuarter": False, "isYear": False, "isAdjust": False, "closed": closed,
        }
        if closed:
            period["closedOnDate"] = _midnight(end + timedelta(days=10))
        add("accountingPeriod", internal_id, period)
    for internal_id, name, parent, currency, country in SUBSIDIARIES:
        record: dict[str, Any] = {"name": name, "currency": _ref(currency), "country": country}
        if parent is not None:
            record["parent"] = _ref(parent)
        add("subsidiary", internal_id, record)
    for internal_id, name, subsidiary, kind in LOCATIONS:
        add("location", internal_id, {
            "name": name,
            "subsidiaryList": [_ref(subsidiary)],
            "makeInventoryAvailable": kind != "returns",
        })
    for internal_id, number, name, acct_type, subsidiaries, currency in (*ACCOUNTS, *SETTLEMENT_ACCOUNTS, *INVENTORY_ACCOUNTS):
        record = {
            "acctNumber": number, "acctName": name, "acctType": acct_type,
            "subsidiaryList": [_ref(s) for s in subsidiaries],
        }
        if currency is not None:
            record["currency"] = _ref(currency)
        add("account", internal_id, record)
    for internal_id, name, rate, subsidiary, account in TAX_CODES:
        add("salesTaxItem", internal_id, {
            "itemId": name, "rate": f"{rate}%", "subsidiaryList": [_ref(subsidiary)], "includeChildren": False,
            "taxAccount": _ref(account), "available": "_both",
        })
    for internal_id, item_id, subsidiary, children, account in OTHER_CHARGE_ITEMS:
        add("otherChargeSaleItem", internal_id, {
            "itemId": item_id, "displayName": item_id, "isTaxable": False, "incomeAccount": _ref(account),
            "subsidiaryList": [_ref(subsidiary)], "includeChildren": children,
        })
    for internal_id, name, subsidiary, currency in CUSTOMERS:
        add("customer", internal_id, {
            "externalId": f"AMZ-GENERIC-{internal_id}", "companyName": name, "isPerson": False,
            "subsidiary": _ref(subsidiary), "currency": _ref(currency),
        })
    for internal_id, item_id, display, subsidiaries in ITEMS:
        rows = []
        for location_id, _name, subsidiary, kind in LOCATIONS:
            if subsidiary not in subsidiaries:
                continue
            on_hand = {"warehouse": rng.randint(20, 200), "fba": rng.randint(0, 120), "returns": rng.randint(0, 5)}[kind]
            rows.append({"locationId": _ref(location_id), "quantityOnHand": float(on_hand), "quantityOnOrder": 0.0})
        add("inventoryItem", internal_id, {
            "itemId": item_id, "displayName": display, "includeChildren": True, "incomeAccount": _ref(4010),
            "subsidiaryList": [_ref(1)], "locationsList": rows,
        })
    for internal_id, item_id, display, description, upc, days_ago, fields in CATALOG_ITEMS if catalog else ():
        add("inventoryItem", internal_id, {
            "itemId": item_id, "displayName": display, "salesDescription": description, "upcCode": upc,
            "includeChildren": True, "incomeAccount": _ref(4010), "subsidiaryList": [_ref(1)],
            "customFieldList": [{"scriptId": "custitem_amazon_publish", "value": True},
                                *({"scriptId": k, "value": v} for k, v in fields.items())],
        })
        _saved_days_ago(service, "inventoryItem", internal_id, days_ago)
    for n in range(items):
        internal_id = 10_000 + n
        rows = [
            {"locationId": _ref(location_id), "quantityOnHand": float(rng.randint(0, 100))}
            for location_id, _name, _sub, kind in LOCATIONS[:2]
        ]
        add("inventoryItem", internal_id, {
            "itemId": f"Generated item {internal_id}", "includeChildren": True,
            "subsidiaryList": [_ref(1)], "locationsList": rows,
        })
    for n in range(customers):
        subsidiary = rng.choice([2, 3, 4, 5])
        add("customer", 20_000 + n, {
            "externalId": f"SANDBOX-CU-{seed}-{n}", "companyName": f"Sandbox Customer {n}",
            "subsidiary": _ref(subsidiary),
        })
    return counts
