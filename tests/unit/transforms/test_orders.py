from __future__ import annotations

import copy
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from amazon_netsuite.mappings import load_mappings
from amazon_netsuite.transforms.orders import OrderTransformError, plan_customer, plan_order

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = load_mappings(ROOT / "include" / "mappings")
US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
BUYER_EMAIL = "8kd9fj2l3m4n5p6@marketplace.amazon.com"


def money(amount: str, currency: str = "USD") -> dict:
    return {"amount": amount, "currencyCode": currency}


def us_order(**overrides) -> dict:
    """An Amazon.com MFN order: 2 x 6-pack mugs with a promotion, shipping, gift wrap, facilitator tax."""
    order = {
        "orderId": "113-1234567-0000001",
        "createdTime": "2026-11-20T18:04:05Z",
        "lastUpdatedTime": "2026-11-20T19:00:00Z",
        "programs": [],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": US, "marketplaceName": "Amazon.com"},
        "buyer": {"buyerName": "Jordan Q. Smith", "buyerEmail": BUYER_EMAIL},
        "recipient": {"deliveryAddress": {
            "name": "Jordan Q. Smith", "addressLine1": "1 Main Street", "city": "Seattle", "stateOrRegion": "WA",
            "postalCode": "98101", "countryCode": "US", "phone": "+1 206 555 0100", "addressType": "RESIDENTIAL",
        }},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [
            {
                "orderItemId": "10000000000001",
                "quantityOrdered": 2,
                "product": {"asin": "B0ACMEMUG6", "sellerSku": "ACME-MUG-11OZ-6PK",
                            "price": {"unitPrice": money("69.99")}},
                "proceeds": {
                    "proceedsTotal": money("154.11"),
                    "breakdowns": [
                        {"type": "ITEM", "subtotal": money("139.98")},
                        {"type": "SHIPPING", "subtotal": money("4.99")},
                        {"type": "GIFT_WRAP", "subtotal": money("3.99")},
                        {"type": "DISCOUNT", "subtotal": money("-14.00")},
                        {"type": "TAX", "subtotal": money("19.15")},
                    ],
                },
                "promotion": {"breakdowns": [{"promotionId": "PROMO-US-SPRING10"}]},
                "tax": {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "Amazon Services, Inc."}]},
            },
            {
                "orderItemId": "10000000000002",
                "quantityOrdered": 1,
                "product": {"asin": "B0ACMEBTL7", "sellerSku": "ACME-BOTTLE-750", "price": {"unitPrice": money("24.50")}},
                "proceeds": {
                    "proceedsTotal": money("26.97"),
                    "breakdowns": [{"type": "ITEM", "subtotal": money("24.50")}, {"type": "TAX", "subtotal": money("2.47")}],
                },
                "tax": {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "Amazon Services, Inc."}]},
            },
        ],
        "proceeds": {"grandTotal": money("181.08"), "breakdowns": []},
    }
    order.update(overrides)
    return order


def de_order() -> dict:
    """An Amazon.de order (VAT 19% included in prices), single-customer marketplace."""
    eur = "EUR"
    return {
        "orderId": "302-7654321-0000002",
        "createdTime": "2026-11-21T08:00:00Z",
        "lastUpdatedTime": "2026-11-21T09:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": DE, "marketplaceName": "Amazon.de"},
        "buyer": {"buyerName": "Jürgen Müller", "buyerEmail": "x1@marketplace.amazon.de"},
        "recipient": {"deliveryAddress": {"name": "Jürgen Müller", "addressLine1": "Hauptstraße 1", "city": "Berlin",
                                          "postalCode": "10115", "countryCode": "DE"}},
        "fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [{
            "orderItemId": "20000000000001",
            "quantityOrdered": 1,
            "product": {"sellerSku": "ACME-KETTLE-EU", "price": {"unitPrice": money("44.99", eur)}},
            "proceeds": {
                "proceedsTotal": money("49.48", eur),
                "breakdowns": [
                    {"type": "ITEM", "subtotal": money("44.99", eur)},
                    {"type": "SHIPPING", "subtotal": money("4.49", eur)},
                    {"type": "TAX", "subtotal": money("7.90", eur), "detailedBreakdowns": [
                        {"subtype": "ITEM", "value": money("7.18", eur)},
                        {"subtype": "SHIPPING", "value": money("0.72", eur)},
                    ]},
                ],
            },
        }],
        "proceeds": {"grandTotal": money("49.48", eur)},
    }


def lines(plan):
    return plan.record["itemList"]


class TestMoney:
    def test_given_us_order_then_total_equals_grand_total_to_the_cent(self):
        plan = plan_order(us_order(), MAPPINGS)
        record = plan.record
        total = (sum(line["amount"] for line in lines(plan)) + sum(line["tax1Amt"] for line in lines(plan))
                 + record["shippingCost"] + record["handlingCost"])
        assert total == plan.expected_total == Decimal("181.08")

    def test_given_six_pack_ordered_twice_then_twelve_units_at_a_sixth_of_the_price(self):
        mug = lines(plan_order(us_order(), MAPPINGS))[0]
        assert mug["item"] == {"internalId": "501"}
        assert mug["quantity"] == Decimal(12)
        # 139.98 less the 14.00 promotion, over 12 units (promotion_item_id is blank in the shipped table)
        assert mug["amount"] == Decimal("125.98")
        assert mug["rate"] == (Decimal("125.98") / 12).quantize(Decimal("0.00000001"))
        assert "promotion PROMO-US-SPRING10 -14.00" in mug["description"]

    def test_given_facilitator_tax_then_on_facilitator_tax_code_never_seller_tax_code(self):
        mug, bottle = lines(plan_order(us_order(), MAPPINGS))
        assert mug["taxCode"] == {"internalId": "15"} and bottle["taxCode"] == {"internalId": "15"}
        assert (mug["tax1Amt"], bottle["tax1Amt"]) == (Decimal("19.15"), Decimal("2.47"))

    def test_given_seller_collected_tax_then_marketplace_tax_code(self):
        order = us_order()
        for item in order["orderItems"]:
            del item["tax"]
        assert {line["taxCode"]["internalId"] for line in lines(plan_order(order, MAPPINGS))} == {"11"}

    def test_given_shipping_and_gift_wrap_then_shipping_and_handling_costs(self):
        record = plan_order(us_order(), MAPPINGS).record
        assert record["shippingCost"] == Decimal("4.99")
        assert record["handlingCost"] == Decimal("3.99")

    def test_given_vat_inclusive_marketplace_then_lines_net_and_vat_on_the_line(self):
        plan = plan_order(de_order(), MAPPINGS)
        (kettle,) = lines(plan)
        assert kettle["amount"] == Decimal("37.81")  # 44.99 - 7.18
        assert kettle["tax1Amt"] == Decimal("7.90")
        assert kettle["taxCode"] == {"internalId": "14"}
        assert plan.record["shippingCost"] == Decimal("3.77")  # 4.49 - 0.72
        assert kettle["amount"] + kettle["tax1Amt"] + plan.record["shippingCost"] == Decimal("49.48")

    def test_given_vat_detail_rounding_off_by_a_cent_then_item_absorbs_it(self):
        order = de_order()
        tax = order["orderItems"][0]["proceeds"]["breakdowns"][2]
        tax["detailedBreakdowns"][1]["value"] = money("0.7169", "EUR")  # rounds to 0.72
        tax["detailedBreakdowns"][0]["value"] = money("7.1832", "EUR")
        plan = plan_order(order, MAPPINGS)
        assert lines(plan)[0]["amount"] + lines(plan)[0]["tax1Amt"] + plan.record["shippingCost"] == Decimal("49.48")

    def test_given_promotion_item_configured_then_discount_line_after_the_item(self, tmp_path):
        target = tmp_path / "m"
        shutil.copytree(ROOT / "include" / "mappings", target)
        path = target / "marketplaces.csv"
        path.write_text(path.read_text().replace(",1,false,15,,", ",1,false,15,590,"))  # promotion_item_id
        plan = plan_order(us_order(), load_mappings(target))
        mug, promo, bottle = lines(plan)
        assert (mug["line"], promo["line"], bottle["line"]) == (1, 2, 3)
        assert mug["amount"] == Decimal("139.98")
        assert promo["item"] == {"internalId": "590"} and promo["amount"] == Decimal("-14.00")
        assert "PROMO-US-SPRING10" in promo["description"]

    def test_given_item_breakdowns_not_adding_up_then_refused_with_numbers(self):
        order = us_order()
        order["orderItems"][1]["proceeds"]["proceedsTotal"] = money("26.98")
        with pytest.raises(OrderTransformError, match="breakdowns add up to 26.97 but proceedsTotal is 26.98") as exc:
            plan_order(order, MAPPINGS)
        assert exc.value.reason == "unreconciled_total"

    def test_given_grand_total_off_then_refused(self):
        order = us_order(proceeds={"grandTotal": money("181.09")})
        with pytest.raises(OrderTransformError, match="would total 181.08 USD but Amazon's grandTotal is 181.09"):
            plan_order(order, MAPPINGS)

    def test_given_delivery_tip_then_carried_as_handling_and_total_matches(self):
        order = us_order(proceeds={"grandTotal": money("183.08"),
                                   "breakdowns": [{"type": "DELIVERY_TIP", "subtotal": money("2.00")}]})
        plan = plan_order(order, MAPPINGS)
        assert plan.record["handlingCost"] == Decimal("5.99")

    def test_given_other_currency_in_breakdown_then_refused(self):
        order = us_order()
        order["orderItems"][1]["proceeds"]["breakdowns"][0]["subtotal"]["currencyCode"] = "EUR"
        with pytest.raises(OrderTransformError) as exc:
            plan_order(order, MAPPINGS)
        assert exc.value.reason == "currency_mismatch"

    def test_given_amounts_then_all_decimal_never_float(self):
        record = plan_order(us_order(), MAPPINGS).record

        def walk(value):
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
            else:
                assert not isinstance(value, float)

        walk(record)


class TestStatusesAndRecord:
    @pytest.mark.parametrize("status", ["PENDING_AVAILABILITY", "PENDING"])
    def test_given_pending_then_waits(self, status):
        plan = plan_order(us_order(fulfillment={"fulfillmentStatus": status}), MAPPINGS)
        assert (plan.action, plan.reason, plan.record) == ("wait", "pending_at_amazon", None)

    def test_given_unfulfillable_then_skipped_with_reason(self):
        plan = plan_order(us_order(fulfillment={"fulfillmentStatus": "UNFULFILLABLE"}), MAPPINGS)
        assert plan.action == "skip" and "UNFULFILLABLE" in plan.detail

    def test_given_cancelled_then_closes_every_line_and_creates_nothing(self):
        order = us_order(fulfillment={"fulfillmentStatus": "CANCELLED"})
        order["orderItems"][0]["product"]["sellerSku"] = "UNKNOWN-IS-FINE-WHEN-CANCELLED"
        plan = plan_order(order, MAPPINGS)
        assert plan.action == "close"
        assert plan.record == {"externalId": "AMZ-SO-113-1234567-0000001",
                               "itemList": [{"line": 1, "isClosed": True}, {"line": 2, "isClosed": True}]}

    def test_given_cancelled_item_in_shipped_order_then_its_line_closed_and_total_matches(self):
        order = us_order()
        order["orderItems"][1].pop("proceeds")
        order["orderItems"][1]["cancellation"] = {"cancellationRequest": {"requester": "BUYER"}}
        order["proceeds"]["grandTotal"] = money("154.11")
        mug, bottle = lines(plan_order(order, MAPPINGS))
        assert bottle["isClosed"] is True and "isClosed" not in mug

    def test_given_unknown_status_then_refused(self):
        with pytest.raises(OrderTransformError, match="unknown fulfillment status 'LOST'"):
            plan_order(us_order(fulfillment={"fulfillmentStatus": "LOST"}), MAPPINGS)

    def test_given_unknown_sku_then_unknown_sku_reason_naming_table(self):
        order = us_order()
        order["orderItems"][1]["product"]["sellerSku"] = "ACME-NOT-MAPPED"
        with pytest.raises(OrderTransformError, match="'ACME-NOT-MAPPED'.*sku_items.csv") as exc:
            plan_order(order, MAPPINGS)
        assert exc.value.reason == "unknown_sku"

    def test_given_unknown_marketplace_then_reason(self):
        order = us_order(salesChannel={"marketplaceId": "A1AM78C64UM0Y8"})
        with pytest.raises(OrderTransformError) as exc:
            plan_order(order, MAPPINGS)
        assert exc.value.reason == "unknown_marketplace"

    def test_given_order_then_header_from_marketplace_row(self):
        plan = plan_order(us_order(), MAPPINGS)
        record = plan.record
        assert record["externalId"] == "AMZ-SO-113-1234567-0000001"
        assert record["subsidiary"] == {"internalId": "2"} and record["currency"] == {"internalId": "1"}
        assert record["location"] == {"internalId": "1"}
        assert record["department"] == {"internalId": "1"} and record["class"] == {"internalId": "1"}
        assert record["memo"] == "Amazon order 113-1234567-0000001 (Amazon.com)"
        assert str(record["tranDate"]) == "2026-11-20"
        assert record["shippingAddress"]["city"] == "Seattle"
        assert plan.custom_fields == {"custbody_amazon_order_id": "113-1234567-0000001",
                                      "custbody_amazon_marketplace_id": US,
                                      "custbody_amazon_fulfillment_channel": "MFN"}
        assert plan.replay == {"order_id": "113-1234567-0000001", "marketplace_id": US}

    def test_given_fba_order_then_fba_location_and_marked_afn(self):
        order = us_order(fulfillment={"fulfillmentStatus": "SHIPPED", "fulfilledBy": "AMAZON"})
        plan = plan_order(order, MAPPINGS)
        assert plan.record["location"] == {"internalId": "2"}
        assert {line["location"]["internalId"] for line in lines(plan)} == {"2"}
        assert plan.custom_fields["custbody_amazon_fulfillment_channel"] == "AFN"

    def test_given_same_order_twice_then_same_hash_and_changed_order_new_hash(self):
        first, again = plan_order(us_order(), MAPPINGS), plan_order(copy.deepcopy(us_order()), MAPPINGS)
        assert first.content_hash == again.content_hash
        moved = us_order()
        moved["recipient"]["deliveryAddress"]["city"] = "Tacoma"
        assert plan_order(moved, MAPPINGS).content_hash != first.content_hash


class TestCustomers:
    def test_given_per_buyer_with_email_then_buyer_customer_by_hashed_external_id(self):
        customer = plan_order(us_order(), MAPPINGS).customer
        assert customer.external_id.startswith(f"AMZ-CU-{US}-") and BUYER_EMAIL not in customer.external_id
        assert customer.record["email"] == BUYER_EMAIL
        assert (customer.record["firstName"], customer.record["lastName"]) == ("Jordan Q.", "Smith")
        assert customer.record["addressbookList"][0]["addressbookAddress"]["zip"] == "98101"
        assert plan_order(us_order(), MAPPINGS).record["entity"] == {"externalId": customer.external_id}

    def test_given_two_orders_of_one_buyer_then_one_customer_external_id(self):
        other = us_order(orderId="113-1234567-0000009")
        assert plan_order(other, MAPPINGS).customer.external_id == plan_order(us_order(), MAPPINGS).customer.external_id

    def test_given_fba_order_without_email_then_generic_customer(self):
        order = us_order(buyer={"buyerName": "Sam Brown"})
        customer = plan_order(order, MAPPINGS).customer
        assert customer.is_generic and customer.internal_id == "100"

    def test_given_single_mode_marketplace_then_generic_customer(self):
        plan = plan_order(de_order(), MAPPINGS)
        assert plan.customer.internal_id == "102" and plan.record["entity"] == {"internalId": "102"}

    def test_given_business_order_then_company_and_po_number(self):
        order = us_order(buyer={"buyerName": "Casey Dubois", "buyerEmail": BUYER_EMAIL,
                                "buyerCompanyName": "Globex Corporation", "buyerPurchaseOrderNumber": "PO-00042"})
        plan = plan_order(order, MAPPINGS)
        assert plan.record["otherRefNum"] == "PO-00042"
        assert plan.customer.record["companyName"] == "Globex Corporation"
        assert plan.customer.record["isPerson"] is False

    def test_given_no_email_in_per_buyer_mode_then_plan_customer_generic(self):
        assert plan_customer({"buyer": {}}, MAPPINGS.marketplace(CA)).internal_id == "103"


class TestSeededOrders:
    """Every order of the sandbox's deterministic seed plans cleanly and reconciles to the cent."""

    def test_given_seed_orders_then_each_plans_and_totals_reconcile(self):
        seed = pytest.importorskip("sandbox.amazon.seed")
        orders = seed.generate_orders(0, orders=200)
        actions: dict[str, int] = {}
        for order in orders:
            plan = plan_order(order, MAPPINGS)
            actions[plan.action] = actions.get(plan.action, 0) + 1
            if plan.action == "upsert":
                record = plan.record
                open_lines = [line for line in record["itemList"] if not line.get("isClosed")]
                total = (sum(line["amount"] for line in open_lines) + sum(line.get("tax1Amt", 0) for line in open_lines)
                         + record.get("shippingCost", 0) + record.get("handlingCost", 0))
                assert total == Decimal(order["proceeds"]["grandTotal"]["amount"]), order["orderId"]
        assert actions.get("upsert", 0) > 100 and actions.get("close", 0) > 0


class TestReviewFindings:
    def test_given_free_shipping_promotion_then_it_reduces_shipping_not_item_revenue(self):
        order = us_order()
        breakdowns = order["orderItems"][0]["proceeds"]["breakdowns"]
        discount = next(b for b in breakdowns if b["type"] == "DISCOUNT")
        discount["detailedBreakdowns"] = [{"subtype": "ITEM", "value": money("-9.01")},
                                          {"subtype": "SHIPPING", "value": money("-4.99")}]
        plan = plan_order(order, MAPPINGS)
        mug = lines(plan)[0]
        assert mug["amount"] == Decimal("139.98") - Decimal("9.01")
        assert "shippingCost" not in plan.record  # 4.99 shipping - 4.99 free shipping
        total = (sum(line["amount"] for line in lines(plan)) + sum(line["tax1Amt"] for line in lines(plan))
                 + plan.record.get("shippingCost", 0) + plan.record["handlingCost"])
        assert total == Decimal("181.08")

    def test_given_promotion_item_and_cancelled_promoted_item_then_line_numbers_do_not_shift(self, tmp_path):
        target = tmp_path / "m"
        shutil.copytree(ROOT / "include" / "mappings", target)
        path = target / "marketplaces.csv"
        path.write_text(path.read_text().replace(",1,false,15,,", ",1,false,15,590,"))  # promotion_item_id
        mappings = load_mappings(target)
        before = [(line["line"], line["item"]["internalId"]) for line in lines(plan_order(us_order(), mappings))]
        order = us_order()
        mug = order["orderItems"][0]
        mug.pop("proceeds")
        mug["cancellation"] = {"cancellationRequest": {"requester": "BUYER"}}
        order["proceeds"]["grandTotal"] = money("26.97")
        after = lines(plan_order(order, mappings))
        assert [(line["line"], line["item"]["internalId"]) for line in after] == before
        assert after[0]["isClosed"] is True and after[1]["isClosed"] is True and "isClosed" not in after[2]
