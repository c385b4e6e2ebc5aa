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


def rate_of(ref_: dict | None) -> Decimal:
    return MAPPINGS.tax_code(ref_["internalId"]).rate if ref_ else Decimal(0)


def tax_of(amount: Decimal, ref_: dict | None) -> Decimal:
    return (amount * rate_of(ref_) / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


def netsuite_total(record: dict) -> Decimal:
    """What NetSuite computes: open line amounts, each line's tax from its code's rate rounded per line,
    shipping and handling with theirs (the sandbox applies the same rule)."""
    total = Decimal(0)
    for line in record["itemList"]:
        if line.get("isClosed"):
            continue
        total += line["amount"] + tax_of(line["amount"], line.get("taxCode"))
    for amount, code in (("shippingCost", "shippingTaxCode"), ("handlingCost", "handlingTaxCode")):
        if record.get(amount):
            total += record[amount] + tax_of(record[amount], record.get(code))
    return total


def mappings_with(tmp_path, *, skus: str = "", replace: tuple[str, str] | None = None):
    target = tmp_path / "m"
    shutil.copytree(ROOT / "include" / "mappings", target)
    if skus:
        with (target / "sku_items.csv").open("a") as handle:
            handle.write(skus)
    if replace:
        path = target / "marketplaces.csv"
        assert replace[0] in path.read_text()
        path.write_text(path.read_text().replace(*replace))
    return load_mappings(target)


def model_example(path: str, index: int | None = None) -> dict:
    """An order of Amazon's own v2026-01-01 model file (the shared reference)."""
    import json
    import os

    models = Path(os.environ["AMAZON_NETSUITE_REFERENCE_DIR"]) / "sp-api-models" / "models" / "orders_2026-01-01.json"
    if not models.is_file():
        pytest.skip(f"Amazon's models not found at {models}")
    response = json.loads(models.read_text())["paths"][path]["get"]["responses"]["200"]["examples"]["application/json"]
    return copy.deepcopy(response["order"] if index is None else response["orders"][index])


class TestMoney:
    def test_given_us_order_then_netsuite_total_equals_grand_total_to_the_cent(self):
        plan = plan_order(us_order(), MAPPINGS)
        assert netsuite_total(plan.record) == plan.expected_total == Decimal("181.08")

    def test_given_six_pack_ordered_twice_then_twelve_units_at_a_sixth_of_the_price(self):
        mug = lines(plan_order(us_order(), MAPPINGS))[0]
        assert mug["item"] == {"internalId": "501"}
        assert mug["quantity"] == Decimal(12)
        # 139.98 less the 14.00 promotion, over 12 units (promotion_item_id is blank in the shipped table)
        assert mug["amount"] == Decimal("125.98")
        assert mug["rate"] == (Decimal("125.98") / 12).quantize(Decimal("0.00000001"))
        assert "promotion PROMO-US-SPRING10 -14.00" in mug["description"]

    def test_given_facilitator_tax_then_lines_not_taxable_and_tax_on_the_facilitator_item_line(self):
        plan = plan_order(us_order(), MAPPINGS)
        mug, bottle, tax = lines(plan)
        assert mug["taxCode"] == bottle["taxCode"] == tax["taxCode"] == {"internalId": "15"}
        assert "tax1Amt" not in mug and "tax1Amt" not in bottle  # NetSuite computes tax; none is sent
        assert tax["item"] == {"internalId": "601"} and tax["amount"] == Decimal("21.62")  # 19.15 + 2.47
        assert tax["line"] == 3 and plan.netsuite_tax == 0 and not plan.tax_booked_as_line
        assert plan.record["shippingTaxCode"] == plan.record["handlingTaxCode"] == {"internalId": "15"}

    def test_given_seller_tax_no_code_reproduces_then_booked_on_the_seller_tax_line_to_the_cent(self):
        order = us_order()
        for item in order["orderItems"]:
            del item["tax"]  # 19.15 on 134.96 is no rate of tax_codes.csv
        plan = plan_order(order, MAPPINGS)
        *products, tax = lines(plan)
        assert {line["taxCode"]["internalId"] for line in products} == {"11"}
        assert tax["item"] == {"internalId": "621"} and tax["amount"] == Decimal("21.62")
        assert plan.tax_booked_as_line and netsuite_total(plan.record) == Decimal("181.08")

    def test_given_seller_tax_at_a_code_rate_then_netsuite_computes_it_from_the_code(self):
        order = us_order()
        order["orderItems"] = order["orderItems"][1:]
        bottle = order["orderItems"][0]
        del bottle["tax"]
        bottle["proceeds"] = {"proceedsTotal": money("26.03"), "breakdowns": [
            {"type": "ITEM", "subtotal": money("24.50")}, {"type": "TAX", "subtotal": money("1.53")}]}  # IL 6.25%
        order["proceeds"] = {"grandTotal": money("26.03")}
        plan = plan_order(order, MAPPINGS)
        line, rounding = lines(plan)
        assert line["taxCode"] == {"internalId": "51"} and plan.netsuite_tax == Decimal("1.53")
        assert rounding["item"] == {"internalId": "611"} and rounding["amount"] == 0
        assert netsuite_total(plan.record) == Decimal("26.03")

    def test_given_vat_inclusive_item_then_lines_net_with_the_vat_code(self):
        plan = plan_order(de_order(), MAPPINGS)
        kettle, rounding = lines(plan)
        assert kettle["amount"] == Decimal("37.81")  # 44.99 - 7.18
        assert kettle["taxCode"] == {"internalId": "41"}  # DE 19%: NetSuite computes 7.18
        assert plan.record["shippingCost"] == Decimal("3.77")  # 4.49 - 0.72
        assert plan.record["shippingTaxCode"] == {"internalId": "41"}
        assert rounding["amount"] == 0 and plan.netsuite_tax == Decimal("7.90")
        assert netsuite_total(plan.record) == Decimal("49.48")

    def test_given_netsuite_rounding_per_line_differs_by_a_cent_then_rounding_line_absorbs_it(self):
        gbp = "GBP"
        order = de_order()
        order.update(orderId="202-0000000-0000077", salesChannel={"marketplaceId": UK})
        order["orderItems"][0]["product"]["sellerSku"] = "ACME-KETTLE-UK"
        order["orderItems"][0]["proceeds"] = {"proceedsTotal": money("14.47", gbp), "breakdowns": [
            {"type": "ITEM", "subtotal": money("10.03", gbp)}, {"type": "SHIPPING", "subtotal": money("2.03", gbp)},
            {"type": "TAX", "subtotal": money("2.41", gbp)}]}  # Amazon: 20% of 12.06; NetSuite: 2.01 + 0.41
        order["proceeds"] = {"grandTotal": money("14.47", gbp)}
        plan = plan_order(order, MAPPINGS)
        kettle, rounding = lines(plan)
        assert kettle["taxCode"] == {"internalId": "31"} and plan.netsuite_tax == Decimal("2.42")
        assert rounding["item"] == {"internalId": "611"} and rounding["amount"] == Decimal("-0.01")
        assert netsuite_total(plan.record) == Decimal("14.47")

    def test_given_vat_detail_rounding_off_by_a_cent_then_item_absorbs_it(self):
        order = de_order()
        tax = order["orderItems"][0]["proceeds"]["breakdowns"][2]
        tax["detailedBreakdowns"][1]["value"] = money("0.7169", "EUR")  # rounds to 0.72
        tax["detailedBreakdowns"][0]["value"] = money("7.1832", "EUR")
        plan = plan_order(order, MAPPINGS)
        assert netsuite_total(plan.record) == Decimal("49.48")

    def test_given_items_at_two_rates_sharing_shipping_then_seller_tax_booked_as_a_line(self):
        order = de_order()
        second = copy.deepcopy(order["orderItems"][0])
        second["orderItemId"] = "20000000000002"
        second["product"]["sellerSku"] = "ACME-CANDLE-LAV"
        second["proceeds"] = {"proceedsTotal": money("10.70", "EUR"), "breakdowns": [
            {"type": "ITEM", "subtotal": money("10.00", "EUR")}, {"type": "SHIPPING", "subtotal": money("0.70", "EUR")},
            {"type": "TAX", "subtotal": money("0.70", "EUR"), "detailedBreakdowns": [
                {"subtype": "ITEM", "value": money("0.65", "EUR")}, {"subtype": "SHIPPING", "value": money("0.05", "EUR")}]}]}
        order["orderItems"].append(second)
        order["proceeds"] = {"grandTotal": money("60.18", "EUR")}
        plan = plan_order(order, MAPPINGS)
        assert plan.tax_booked_as_line
        assert netsuite_total(plan.record) == Decimal("60.18")
        assert lines(plan)[-1]["item"] == {"internalId": "624"} and lines(plan)[-1]["amount"] == Decimal("8.60")

    def test_given_promotion_item_configured_then_discount_line_after_the_item(self, tmp_path):
        mappings = mappings_with(tmp_path, replace=(",1,false,15,,601", ",1,false,15,590,601"))
        plan = plan_order(us_order(), mappings)
        mug, promo, bottle, tax = lines(plan)
        assert (mug["line"], promo["line"], bottle["line"], tax["line"]) == (1, 2, 3, 4)
        assert mug["amount"] == Decimal("139.98")
        assert promo["item"] == {"internalId": "590"} and promo["amount"] == Decimal("-14.00")
        assert "PROMO-US-SPRING10" in promo["description"]

    def test_given_item_breakdowns_not_adding_up_either_way_then_refused_with_numbers(self):
        order = us_order()
        order["orderItems"][1]["proceeds"]["proceedsTotal"] = money("26.98")
        with pytest.raises(OrderTransformError, match=r"breakdowns add up to 24.50 \(or 26.97 with TAX on top\) but "
                                                      r"proceedsTotal is 26.98") as exc:
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
        assert netsuite_total(plan.record) == Decimal("183.08")

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


class TestAmazonModelExamples:
    """Amazon's own v2026-01-01 examples: tax on top (UK) and a seller-taxed US order with a tip."""

    def test_given_amazons_uk_example_with_tax_on_top_then_syncs_to_its_grand_total(self, tmp_path):
        order = model_example("/orders/2026-01-01/orders/{orderId}")
        assert order["orderId"] == "202-1234567-8901234"
        mappings = mappings_with(tmp_path, skus="ECHO-DOT-4-UK-CHARCOAL-3PACK,,,506,MFN,3,,0,false\n")
        plan = plan_order(order, mappings)
        # 89.97 + 10.00 + TAX 4.00 on top = 103.97; 3.00/89.97 is no VAT rate: booked as a line, exactly
        assert plan.tax_booked_as_line
        assert netsuite_total(plan.record) == plan.expected_total == Decimal("103.97")
        item, tax = lines(plan)
        assert item["amount"] == Decimal("89.97") and plan.record["shippingCost"] == Decimal("10.00")
        assert tax["item"] == {"internalId": "623"} and tax["amount"] == Decimal("4.00")
        assert item["quantity"] == Decimal(9)  # 3 x a 3-pack

    def test_given_amazons_us_example_with_seller_tax_and_delivery_tip_then_syncs(self, tmp_path):
        order = model_example("/orders/2026-01-01/orders", 0)
        skus = "".join(f"{i['product']['sellerSku']},,,50{n + 1},MFN,1,,0,false\n"
                       for n, i in enumerate(order["orderItems"]))
        plan = plan_order(order, mappings_with(tmp_path, skus=skus))
        assert netsuite_total(plan.record) == plan.expected_total == Decimal(order["proceeds"]["grandTotal"]["amount"])

    def test_given_amazons_uk_sandbox_order_without_tax_breakdown_then_missing_tax_unless_told(self, tmp_path):
        import json
        import os

        models = Path(os.environ["AMAZON_NETSUITE_REFERENCE_DIR"]) / "sp-api-models" / "models" / "orders_2026-01-01.json"
        if not models.is_file():
            pytest.skip("Amazon's models not found")
        sandbox = json.loads(models.read_text())["paths"]["/orders/2026-01-01/orders"]["get"]["responses"]["200"]
        order = next(o for case in sandbox["x-amzn-api-sandbox"]["static"] for o in case["response"].get("orders", [])
                     if o["orderId"] == "202-7654321-1098765")
        skus = "ECHO-DOT-4-UK-CHARCOAL-SINGLE,,,506,MFN,1,,0,false\n"
        with pytest.raises(OrderTransformError) as exc:
            plan_order(order, mappings_with(tmp_path / "a", skus=skus))
        assert exc.value.reason == "missing_tax" and "includedData TAX" in str(exc.value)
        told = mappings_with(tmp_path / "b", skus=skus, replace=(",623,dead_letter", ",623,zero_rated"))
        plan = plan_order(order, told)
        assert lines(plan)[0]["taxCode"] == {"internalId": "13"}
        assert netsuite_total(plan.record) == Decimal("34.99")


class TestBadInput:
    """One bad order is refused alone, with a reason; never an exception that stops the batch."""

    @pytest.mark.parametrize("change, reason", [
        (lambda o: o["orderItems"][0].update(quantityOrdered="abc"), "malformed_order"),
        (lambda o: o["orderItems"][0].update(quantityOrdered=2.5), "malformed_order"),
        (lambda o: o.update(createdTime="not-a-date"), "malformed_order"),
        (lambda o: o["recipient"]["deliveryAddress"].update(countryCode="XX"), "unknown_country"),
        (lambda o: o["orderItems"][0].update(quantityOrdered=10**12), "implausible_value"),
        (lambda o: o["orderItems"][0].update(quantityOrdered=-5), "implausible_value"),
        (lambda o: o["orderItems"][1]["proceeds"]["breakdowns"][0]["subtotal"].update(amount="-24.50"),
         "implausible_value"),
        (lambda o: o["orderItems"][1]["proceeds"]["breakdowns"][0]["subtotal"].update(amount="NaN"), "malformed_order"),
        (lambda o: o.update(orderItems="not a list"), "malformed_order"),
        (lambda o: o["orderItems"][1].update(proceeds={"proceedsTotal": "12"}), "malformed_order"),
    ])
    def test_given_bad_value_then_refused_with_reason(self, change, reason):
        order = us_order()
        change(order)
        with pytest.raises(OrderTransformError) as exc:
            plan_order(order, MAPPINGS)
        assert exc.value.reason == reason and "113-1234567-0000001" in str(exc.value)

    def test_given_order_total_of_10_to_the_15_then_implausible(self):
        order = us_order()
        bottle = order["orderItems"][1]
        bottle["proceeds"] = {"proceedsTotal": money("1000000000000002.47"), "breakdowns": [
            {"type": "ITEM", "subtotal": money("1000000000000000.00")}, {"type": "TAX", "subtotal": money("2.47")}]}
        order["proceeds"]["grandTotal"] = money("1000000000000156.58")
        with pytest.raises(OrderTransformError, match="max_order_total") as exc:
            plan_order(order, MAPPINGS)
        assert exc.value.reason == "implausible_value"

    def test_given_bounds_raised_then_a_big_order_is_accepted(self):
        from amazon_netsuite.transforms.orders import Bounds

        order = us_order()
        order["orderItems"][0]["quantityOrdered"] = 20_000
        with pytest.raises(OrderTransformError):
            plan_order(order, MAPPINGS)
        plan = plan_order(order, MAPPINGS, bounds=Bounds(max_quantity_per_item=50_000))
        assert lines(plan)[0]["quantity"] == Decimal(120_000)


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
        assert plan.record == {"externalId": "AMZ-SO-113-1234567-0000001", "itemList": [
            {"line": 1, "isClosed": True}, {"line": 2, "isClosed": True}, {"line": 3, "isClosed": True}]}

    def test_given_cancelled_item_in_shipped_order_then_its_line_closed_and_total_matches(self):
        order = us_order()
        order["orderItems"][1].pop("proceeds")
        order["orderItems"][1]["cancellation"] = {"cancellationRequest": {"requester": "BUYER"}}
        order["proceeds"]["grandTotal"] = money("154.11")
        plan = plan_order(order, MAPPINGS)
        mug, bottle, tax = lines(plan)
        assert bottle["isClosed"] is True and "isClosed" not in mug and "isClosed" not in tax
        assert tax["amount"] == Decimal("19.15") and netsuite_total(plan.record) == Decimal("154.11")

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
        assert plan.replay == {"order_id": "113-1234567-0000001", "marketplace_id": US,
                               "units": {"ACME-BOTTLE-750": 1, "ACME-MUG-11OZ-6PK": 2}}

    def test_given_fba_order_then_fba_location_and_marked_afn(self):
        order = us_order(fulfillment={"fulfillmentStatus": "SHIPPED", "fulfilledBy": "AMAZON"})
        plan = plan_order(order, MAPPINGS)
        assert plan.record["location"] == {"internalId": "2"}
        assert {line["location"]["internalId"] for line in lines(plan) if "location" in line} == {"2"}
        assert plan.custom_fields["custbody_amazon_fulfillment_channel"] == "AFN"
        # the units Amazon's FBA count already lost, kept apart from the merchant-fulfilled units the inventory
        # formula holds back (sync_reconciliation and the FBA adjustment allow for them while unsynced)
        assert plan.replay == {"order_id": "113-1234567-0000001", "marketplace_id": US,
                               "afn_units": {"ACME-BOTTLE-750": 1, "ACME-MUG-11OZ-6PK": 2}}

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
        booked_as_line = 0
        for order in orders:
            plan = plan_order(order, MAPPINGS)
            actions[plan.action] = actions.get(plan.action, 0) + 1
            if plan.action == "upsert":
                assert netsuite_total(plan.record) == Decimal(order["proceeds"]["grandTotal"]["amount"]), order["orderId"]
                booked_as_line += plan.tax_booked_as_line
        assert actions.get("upsert", 0) > 100 and actions.get("close", 0) > 0
        assert booked_as_line == 0  # the seed's rates are the table's: NetSuite computes every tax from codes


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
        assert netsuite_total(plan.record) == Decimal("181.08")

    def test_given_promotion_item_and_cancelled_promoted_item_then_line_numbers_do_not_shift(self, tmp_path):
        mappings = mappings_with(tmp_path, replace=(",1,false,15,,601", ",1,false,15,590,601"))
        before = [(line["line"], line["item"]["internalId"]) for line in lines(plan_order(us_order(), mappings))]
        order = us_order()
        mug = order["orderItems"][0]
        mug.pop("proceeds")
        mug["cancellation"] = {"cancellationRequest": {"requester": "BUYER"}}
        order["proceeds"]["grandTotal"] = money("26.97")
        after = lines(plan_order(order, mappings))
        assert [(line["line"], line["item"]["internalId"]) for line in after] == before
        assert after[0]["isClosed"] is True and after[1]["isClosed"] is True and "isClosed" not in after[2]
        assert after[3]["amount"] == Decimal("2.47")  # the facilitator line keeps its number, with the bottle's tax
