from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from jsonschema import Draft4Validator

from sandbox.amazon.seed import generate_orders

ORDERS = generate_orders(0, orders=200)


@pytest.fixture(scope="module")
def mapped(project_root) -> dict[str, set[str]]:
    mappings = project_root / "include" / "mappings"
    marketplaces = [row["marketplace_id"] for row in csv.DictReader((mappings / "marketplaces.csv").open())]
    allowed: dict[str, set[str]] = {m: set() for m in marketplaces}
    for row in csv.DictReader((mappings / "sku_items.csv").open()):
        for marketplace in [row["marketplace_id"]] if row["marketplace_id"] else marketplaces:
            allowed[marketplace].add(row["seller_sku"])
    return allowed


class TestSeed:
    def test_given_the_same_seed_when_generating_then_content_is_identical(self):
        def strip(orders):
            return [{k: v for k, v in o.items() if k not in ("createdTime", "lastUpdatedTime", "fulfillment", "packages")} for o in orders]

        assert strip(generate_orders(3, orders=20)) == strip(generate_orders(3, orders=20))
        assert strip(generate_orders(3, orders=20)) != strip(generate_orders(4, orders=20))

    def test_given_the_mapping_tables_when_seeding_then_every_sku_is_mapped_in_its_marketplace(self, mapped):
        for order in ORDERS:
            marketplace = order["salesChannel"]["marketplaceId"]
            for item in order["orderItems"]:
                assert item["product"]["sellerSku"] in mapped[marketplace], (order["orderId"], marketplace)

    def test_given_the_unmapped_flag_when_seeding_then_exactly_one_clearly_named_unmapped_order_is_added(self, mapped):
        orders = generate_orders(0, orders=5, unmapped_sku=True)
        unmapped = [o for o in orders if any(i["product"]["sellerSku"] == "ACME-UNMAPPED-SKU" for i in o["orderItems"])]
        assert len(orders) == 6 and len(unmapped) == 1

    def test_given_the_default_seed_then_it_covers_the_cases_the_flows_must_handle(self):
        items = [i for o in ORDERS for i in o["orderItems"]]
        breakdown_types = {b["type"] for i in items for b in (i.get("proceeds") or {}).get("breakdowns", [])}
        assert {o["salesChannel"]["marketplaceId"] for o in ORDERS} == {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"}
        assert {o["fulfillment"]["fulfilledBy"] for o in ORDERS} == {"AMAZON", "MERCHANT"}
        assert any(len(o["orderItems"]) > 1 for o in ORDERS)
        assert {"ITEM", "SHIPPING", "GIFT_WRAP", "DISCOUNT", "TAX"} <= breakdown_types
        assert any("promotion" in i for i in items)
        assert any("packing" in i["fulfillment"] for i in items)
        assert any(i.get("tax", {}).get("taxCollections") for i in items)
        assert any(o["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and not any(i.get("tax") for i in o["orderItems"]) for o in ORDERS)
        assert any(o["fulfillment"]["fulfillmentStatus"] == "CANCELLED" for o in ORDERS)
        assert any("AMAZON_BUSINESS" in o["programs"] for o in ORDERS)
        emails = Counter(o["buyer"]["buyerEmail"] for o in ORDERS if "buyer" in o)
        assert emails.most_common(1)[0][1] > 3

    def test_given_seed_orders_then_each_validates_against_amazons_order_schema(self, reference_dir):
        model = json.loads((reference_dir / "sp-api-models" / "models" / "orders_2026-01-01.json").read_text())
        validator = Draft4Validator({"$ref": "#/definitions/Order", "definitions": model["definitions"]})
        for order in ORDERS:
            assert not list(validator.iter_errors(order)), order["orderId"]

    def test_given_eu_orders_then_prices_are_vat_inclusive_and_the_grand_total_does_not_add_vat_again(self):
        from decimal import Decimal

        for order in ORDERS:
            if order["fulfillment"]["fulfillmentStatus"] == "CANCELLED":
                continue
            parts = {b["type"]: Decimal(b["subtotal"]["amount"]) for b in order["proceeds"]["breakdowns"]}
            total = Decimal(order["proceeds"]["grandTotal"]["amount"])
            gross = sum(v for k, v in parts.items() if k != "TAX")
            vat_inclusive = order["salesChannel"]["marketplaceId"] in ("A1F83G8C2ARO7P", "A1PA6795UKMFR9")
            assert total == (gross if vat_inclusive else gross + parts["TAX"]), order["orderId"]
