"""Pure refund/return transforms: Amazon refund events -> NetSuite refund documents, to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from amazon_netsuite.transforms.returns import (
    RefundError,
    RefundSettings,
    load_dispositions,
    parse_fba_returns_report,
    parse_mfn_returns_report,
    parse_refund_event,
    plan_refund,
    receipt_location,
    refund_external_ids,
)

ROOT = Path(__file__).resolve().parents[3]
D = Decimal


def money(value: str, currency: str = "USD") -> dict:
    return {"CurrencyCode": currency, "CurrencyAmount": float(value)}


def event(*items: dict, order_id: str = "113-0000000-0000001", marketplace: str = "Amazon.com") -> dict:
    return {"AmazonOrderId": order_id, "MarketplaceName": marketplace, "PostedDate": "2026-11-20T10:00:00Z",
            "ShipmentItemAdjustmentList": list(items)}


def item(key: str, sku: str = "SKU-A", quantity: int = 1, currency: str = "USD", promotion: str | None = None, **charges: str) -> dict:
    out = {"SellerSKU": sku, "OrderAdjustmentItemId": key, "QuantityShipped": quantity,
           "ItemChargeAdjustmentList": [{"ChargeType": k, "ChargeAmount": money(v, currency)} for k, v in charges.items()]}
    if promotion:
        out["PromotionAdjustmentList"] = [{"PromotionType": "X", "PromotionId": "P", "PromotionAmount": money(promotion, currency)}]
    return out


def settings(**overrides) -> RefundSettings:
    base = {"billing_document": "cash_sale", "refund_account_id": "2340", "facilitator_tax_code_ids": frozenset({"15"}),
            "facilitator_tax_item_id": "601", "tax_rounding_item_id": "611", "zero_tax_code_id": "11",
            "promotion_item_id": None, "prices_include_tax": False, "location_id": "2"}
    return RefundSettings(**{**base, **overrides})


def order(*lines: tuple[int, str, str, str, str, str], shipping_rate: str = "0", shipping_code: str = "15") -> dict:
    """lines: (line, item, quantity, amount, tax code, rate); every unit billed."""
    return {"internalId": "900", "shippingTax1Rate": float(shipping_rate), "shippingTaxCode": {"internalId": shipping_code},
            "itemList": [{"line": n, "item": {"internalId": i}, "quantity": float(q), "quantityBilled": float(q), "amount": float(a),
                          "taxCode": {"internalId": code}, "taxRate1": float(rate)} for n, i, q, a, code, rate in lines]}


SKUS = {"SKU-A": ("501", 1), "SKU-B": ("502", 1), "SKU-6PK": ("501", 6)}


def total_of(plan) -> Decimal:
    return sum((D(line["amount"]) for line in plan.lines), D(0)) + plan.shipping_cost + plan.handling_cost + plan.tax


class TestParse:
    def test_given_a_refund_event_then_amounts_are_what_the_buyer_gets_back_and_the_key_is_amazons_adjustment_id(self):
        refund = parse_refund_event(event(item("ADJ2", Principal="-20.00", Tax="-1.25", ShippingCharge="-5.00", ShippingTax="-0.31"),
                                          item("ADJ1", sku="SKU-B", Principal="-9.99")))
        assert refund.key == "ADJ1"
        assert refund.items[0].principal == D("20.00") and refund.items[0].refunded_tax == D("1.56")
        assert refund.total == D("36.55")

    def test_given_a_promotion_given_back_then_it_reduces_the_refund(self):
        refund = parse_refund_event(event(item("A", Principal="-20.00", promotion="2.00")))
        assert refund.total == D("18.00")

    @pytest.mark.parametrize(("raw", "reason"), [
        (event(item("A", Principal="-1.00", Bogus="-1.00")), "unknown_charge_type"),
        (event(item("A", Principal="-1.00"), item("B", currency="CAD", Principal="-1.00")), "mixed_currencies"),
        (event(), "malformed_event"),
        ({**event(item("A", Principal="-1.00")), "PostedDate": "yesterday"}, "malformed_event"),
        (event(item("A", Principal="1.00")), "not_a_refund"),
        (event({"SellerSKU": "SKU-A", "QuantityShipped": 1}), "malformed_event"),
    ])
    def test_given_a_malformed_event_then_refused_with_a_reason_never_read_as_zero(self, raw, reason):
        with pytest.raises(RefundError) as error:
            parse_refund_event(raw)
        assert error.value.reason == reason

    def test_given_a_non_numeric_amount_then_refused(self):
        raw = event(item("A", Principal="-1.00"))
        raw["ShipmentItemAdjustmentList"][0]["ItemChargeAdjustmentList"][0]["ChargeAmount"]["CurrencyAmount"] = "abc"
        with pytest.raises(RefundError, match="not an amount"):
            parse_refund_event(raw)

    def test_given_two_refunds_of_one_order_then_each_has_its_own_documents_and_a_re_read_the_same(self):
        first = parse_refund_event(event(item("ADJ-1", Principal="-5.00")))
        second = parse_refund_event(event(item("ADJ-2", Principal="-5.00")))
        assert refund_external_ids(first, "cash_sale") == ("AMZ-RA-113-0000000-0000001-ADJ-1", "AMZ-CR-113-0000000-0000001-ADJ-1", "cashRefund")
        assert refund_external_ids(second, "invoice")[1:] == ("AMZ-CM-113-0000000-0000001-ADJ-2", "creditMemo")
        assert refund_external_ids(parse_refund_event(event(item("ADJ-1", Principal="-5.00"))), "cash_sale") == refund_external_ids(first, "cash_sale")


class TestPlan:
    def test_given_a_facilitator_refund_then_tax_is_one_facilitator_line_and_the_total_is_exact(self):
        refund = parse_refund_event(event(item("A", quantity=2, Principal="-20.00", Tax="-1.25", ShippingCharge="-5.00", ShippingTax="-0.31")))
        plan = plan_refund(refund, order((1, "501", "2", "20.00", "15", "0")), settings=settings(), sku_items=SKUS)
        assert plan.returned_units == {1: D(2)}
        assert [(line["item"], line["amount"]) for line in plan.lines] == [("501", D("20.00")), ("601", D("1.56"))]
        assert plan.shipping_cost == D("5.00") and plan.tax == 0
        assert plan.total == total_of(plan) == refund.total == D("26.56")
        assert plan.refund_external_id.startswith("AMZ-CR-")

    def test_given_seller_tax_whose_rounding_differs_then_a_rounding_line_takes_the_cent(self):
        refund = parse_refund_event(event(item("A", currency="CAD", Principal="-3.35", Tax="-0.43"), marketplace="Amazon.ca"))
        plan = plan_refund(refund, order((1, "501", "1", "3.35", "22", "13")), settings=settings(), sku_items=SKUS)
        assert plan.tax == D("0.44")  # NetSuite: 3.35 x 13 % half up
        assert plan.lines[-1]["item"] == "611" and plan.lines[-1]["amount"] == D("-0.01")
        assert plan.total == total_of(plan) == refund.total == D("3.78")

    def test_given_a_vat_inclusive_refund_then_lines_are_net_and_the_vat_inside_is_netsuites(self):
        refund = parse_refund_event(event(item("A", currency="EUR", Principal="-11.90"), marketplace="Amazon.de"))
        plan = plan_refund(refund, order((1, "501", "1", "10.00", "31", "19")),
                           settings=settings(billing_document="invoice", prices_include_tax=True, refund_account_id="1213"), sku_items=SKUS)
        assert plan.lines[0]["amount"] == D("10.00") and plan.tax == D("1.90")
        assert plan.total == refund.total == D("11.90") and plan.refund_record_type == "creditMemo"

    def test_given_a_partial_refund_with_a_promotion_reversed_then_the_item_line_is_net_of_it(self):
        refund = parse_refund_event(event(item("A", quantity=1, Principal="-10.00", Tax="-0.63", promotion="1.00")))
        plan = plan_refund(refund, order((1, "501", "3", "30.00", "15", "0")), settings=settings(), sku_items=SKUS)
        assert plan.returned_units == {1: D(1)}
        assert plan.lines[0]["amount"] == D("9.00")
        assert plan.total == refund.total == D("9.63")

    def test_given_a_promotion_item_then_the_promotion_is_its_own_line(self):
        refund = parse_refund_event(event(item("A", Principal="-10.00", promotion="1.00")))
        plan = plan_refund(refund, order((1, "501", "1", "10.00", "11", "0")), settings=settings(promotion_item_id="701"), sku_items=SKUS)
        assert [(line["item"], line["amount"]) for line in plan.lines] == [("501", D("10.00")), ("701", D("-1.00"))]
        assert plan.total == D("9.00")

    def test_given_a_pack_sku_then_units_are_netsuite_units(self):
        refund = parse_refund_event(event(item("A", sku="SKU-6PK", quantity=1, Principal="-30.00")))
        plan = plan_refund(refund, order((1, "501", "12", "60.00", "11", "0")), settings=settings(), sku_items=SKUS)
        assert plan.returned_units == {1: D(6)}

    @pytest.mark.parametrize(("so", "sku", "reason"), [
        ({**order((1, "501", "1", "10.00", "11", "0")), "itemList": [{"line": 1, "item": {"internalId": "501"}, "quantity": 1.0,
                                                                       "quantityBilled": 0.0, "amount": 10.0}]}, "SKU-A", "not_billed"),
        (order((1, "502", "1", "10.00", "11", "0")), "SKU-A", "unknown_order_line"),
        (order((1, "501", "1", "10.00", "11", "0")), "SKU-X", "unmapped_sku"),
    ])
    def test_given_what_cannot_be_credited_then_a_reason(self, so, sku, reason):
        refund = parse_refund_event(event(item("A", sku=sku, Principal="-10.00")))
        with pytest.raises(RefundError) as error:
            plan_refund(refund, so, settings=settings(), sku_items=SKUS)
        assert error.value.reason == reason

    def test_given_no_rounding_item_when_netsuite_rounds_differently_then_refused_not_booked_wrong(self):
        refund = parse_refund_event(event(item("A", currency="CAD", Principal="-3.35", Tax="-0.43"), marketplace="Amazon.ca"))
        with pytest.raises(RefundError) as error:
            plan_refund(refund, order((1, "501", "1", "3.35", "22", "13")), settings=settings(tax_rounding_item_id=None), sku_items=SKUS)
        assert error.value.reason == "unreconciled_total"


class TestReturns:
    REPORT = ("return-date\torder-id\tsku\tasin\tfnsku\tproduct-name\tquantity\tfulfillment-center-id\tdetailed-disposition\t"
              "reason\tstatus\tlicense-plate-number\tcustomer-comments\n"
              "2026-11-21T08:00:00+00:00\t113-1\tSKU-A\tB0\tX0\tMug\t2\tPHX7\tSELLABLE\tUNWANTED_ITEM\tUnit returned to inventory\tLPN1\t\n"
              "2026-11-22T08:00:00+00:00\t113-2\tSKU-B\tB1\tX1\tTee\t1\tPHX7\tcustomer_damaged\tDEFECTIVE\t\t\t\n")

    def test_given_the_report_then_rows_with_dispositions_and_stable_keys(self):
        rows = parse_fba_returns_report(self.REPORT)
        assert [(r.amazon_order_id, r.quantity, r.disposition, r.key) for r in rows][0] == ("113-1", 2, "SELLABLE", "LPN1")
        assert rows[1].disposition == "CUSTOMER_DAMAGED" and rows[1].key == parse_fba_returns_report(self.REPORT)[1].key

    @pytest.mark.parametrize("text", ["order-id\tsku\n113-1\tA\n", REPORT.replace("\t2\tPHX7", "\ttwo\tPHX7"),
                                      REPORT.replace("\t2\tPHX7", "\t0\tPHX7")])
    def test_given_a_broken_report_then_it_fails_loudly(self, text):
        with pytest.raises(ValueError):
            parse_fba_returns_report(text)

    def test_given_the_shipped_disposition_table_then_sellable_restocks_damaged_goes_aside_amazon_owned_is_written_off(self):
        table = load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv")
        rows = parse_fba_returns_report(self.REPORT)
        assert receipt_location(rows[0], table, fba_location_id="2", return_location_id="3") == ("fba", "2")
        assert receipt_location(rows[1], table, fba_location_id="2", return_location_id="3") == ("returns", "3")
        damaged = rows[1].__class__(**{**rows[1].__dict__, "disposition": "DAMAGED"})
        assert receipt_location(damaged, table, fba_location_id="2", return_location_id="3") == ("write_off", None)
        unknown = rows[1].__class__(**{**rows[1].__dict__, "disposition": "MELTED"})
        with pytest.raises(RefundError, match="return_dispositions.csv"):
            receipt_location(unknown, table, fba_location_id="2", return_location_id="3")


class TestMfnReturns:
    HEADER = ("Order ID\tOrder date\tReturn request date\tReturn request status\tAmazon RMA ID\tMerchant RMA ID\tLabel type\t"
              "Label cost\tCurrency code\tReturn carrier\tTracking ID\tLabel to be paid by\tA-to-Z Claim\tIs prime\tASIN\t"
              "Merchant SKU\tItem Name\tReturn quantity\tReturn Reason\tIn policy\tReturn type\tResolution\tInvoice number\t"
              "Return delivery date\tOrder Amount\tOrder quantity\tSafeT Action reason\tSafeT claim id\tSafeT claim state\t"
              "SafeT claim creation time\tSafeT claim reimbursement amount\tRefunded Amount\n")
    DELIVERED = ("113-6277818-6289068\t10-Jul-2025\t14-Jul-2025\tApproved\tDfqRyqfBRRMA\t \tAmazonPrePaidLabel\t4.14\tUSD\tUSPS\t"
                 "9202090339598363834190\tSeller\tN\tN\tB0DFN2HN9N\tSKU-A\tNecklace\t2\tAMZ-PG-WJ-TOO-SMALL\tY\tC-Returns\t"
                 "StandardRefund\t \t18-Jul-2025\t21.38\t2\t\t\t\t\t\t\n")
    IN_TRANSIT = DELIVERED.replace("DfqRyqfBRRMA", "OtherRMA0001").replace("18-Jul-2025", "")

    def test_given_the_report_then_delivered_returns_are_received_and_the_rest_counted_in_transit(self):
        rows, in_transit = parse_mfn_returns_report(self.HEADER + self.DELIVERED + self.IN_TRANSIT)
        assert in_transit == 1
        assert [(r.amazon_order_id, r.seller_sku, r.quantity, r.disposition, r.key) for r in rows] == [
            ("113-6277818-6289068", "SKU-A", 2, "MFN_RETURNED", "DfqRyqfBRRMA")]
        assert rows[0].return_date.date().isoformat() == "2025-07-18"
        table = load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv")
        assert receipt_location(rows[0], table, fba_location_id="2", return_location_id="3") == ("returns", "3")

    def test_given_a_report_without_its_columns_or_with_a_bad_quantity_then_it_fails_loudly(self):
        with pytest.raises(ValueError, match="without columns"):
            parse_mfn_returns_report("Order ID\tSKU\n1\tA\n")
        with pytest.raises(ValueError, match="do not parse"):
            parse_mfn_returns_report(self.HEADER + self.DELIVERED.replace("\t2\tAMZ-PG", "\tzwei\tAMZ-PG"))
