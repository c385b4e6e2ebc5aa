"""transforms.shipments: a NetSuite item fulfillment of an AMZ-SO- order -> confirmShipment packages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from amazon_netsuite.mappings import load_mappings
from amazon_netsuite.transforms.shipments import (
    ShipmentTransformError,
    confirmation_key,
    plan_shipment,
    skip_reason,
)
from tests.fixtures.mfn import mfn_order

MAPPINGS = load_mappings()
ORDER_ID = "113-0000016-1000001"
ORDER = mfn_order(ORDER_ID, items=[("11111111111111", "ACME-MUG-11OZ", 3, "12.99"),
                                   ("22222222222222", "ACME-MUG-11OZ-6PK", 2, "59.99")])


def _sales_order(**extra):
    return {"internalId": "900", "externalId": f"AMZ-SO-{ORDER_ID}",
            "itemList": [{"line": 1, "item": {"internalId": "501"}, "quantity": Decimal(3)},
                         {"line": 2, "item": {"internalId": "501"}, "quantity": Decimal(12)}],
            "customFieldList": [{"scriptId": "custbody_amazon_order_id", "value": ORDER_ID},
                                {"scriptId": "custbody_amazon_marketplace_id", "value": "ATVPDKIKX0DER"},
                                {"scriptId": "custbody_amazon_fulfillment_channel", "value": "MFN"}], **extra}


def _fulfillment(lines=((1, 3), (2, 12)), tracking=("1ZTRACK1",), ship_method="UPS Ground", **extra):
    return {"internalId": "4321", "shipStatus": "_shipped", "createdFrom": {"internalId": "900"},
            "shipMethod": {"internalId": "77", "name": ship_method}, "tranDate": "2026-11-30T00:00:00",
            "itemList": [{"orderLine": n, "item": {"internalId": "501"}, "quantity": Decimal(q)} for n, q in lines],
            "packageList": [{"packageTrackingNumber": t} for t in tracking], **extra}


class TestPlan:
    def test_given_one_package_then_every_sku_unit_is_confirmed_with_the_mapped_carrier(self):
        plan = plan_shipment(_fulfillment(), _sales_order(), ORDER, MAPPINGS)

        assert plan.external_id == confirmation_key("4321") == "AMZ-SHIP-4321"
        assert [p.package_detail for p in plan.packages] == [{
            "packageReferenceId": "432101", "carrierCode": "UPS", "shippingMethod": "UPS Ground",
            "trackingNumber": "1ZTRACK1", "shipDate": "2026-11-30T00:00:00Z",
            "orderItems": [{"orderItemId": "11111111111111", "quantity": 3}, {"orderItemId": "22222222222222", "quantity": 2}],
        }]
        assert [(line.order_line, line.quantity, line.sku_quantity) for line in plan.lines] == [(1, 3, 3), (2, 12, 2)]

    def test_given_multipack_units_then_amazon_gets_packs(self):
        plan = plan_shipment(_fulfillment(lines=((2, 6),)), _sales_order(), ORDER, MAPPINGS)
        assert plan.packages[0].package_detail["orderItems"] == [{"orderItemId": "22222222222222", "quantity": 1}]

    def test_given_half_a_pack_then_partial_multipack(self):
        with pytest.raises(ShipmentTransformError) as raised:
            plan_shipment(_fulfillment(lines=((2, 3),)), _sales_order(), ORDER, MAPPINGS)
        assert raised.value.reason == "partial_multipack" and "packs of 6" in str(raised.value)

    def test_given_split_packages_then_units_are_dealt_in_line_order_with_stable_references(self):
        plan = plan_shipment(_fulfillment(tracking=("T1", "T2")), _sales_order(), ORDER, MAPPINGS)

        assert [(p.reference_id, p.tracking_number, p.package_detail["orderItems"]) for p in plan.packages] == [
            ("432101", "T1", [{"orderItemId": "11111111111111", "quantity": 3}]),
            ("432102", "T2", [{"orderItemId": "22222222222222", "quantity": 2}]),
        ]
        again = plan_shipment(_fulfillment(tracking=("T1", "T2")), _sales_order(), ORDER, MAPPINGS)
        assert again.content_hash == plan.content_hash

    def test_given_more_boxes_than_units_then_the_extra_tracking_is_listed_not_sent(self):
        plan = plan_shipment(_fulfillment(lines=((1, 1),), tracking=("T1", "T2")), _sales_order(), ORDER, MAPPINGS)
        assert [p.tracking_number for p in plan.packages] == ["T1"] and plan.merged_tracking == ["T2"]

    def test_given_corrected_tracking_then_same_references_and_a_new_hash(self):
        first = plan_shipment(_fulfillment(), _sales_order(), ORDER, MAPPINGS)
        fixed = plan_shipment(_fulfillment(tracking=("1ZFIXED",)), _sales_order(), ORDER, MAPPINGS)
        assert [p.reference_id for p in fixed.packages] == [p.reference_id for p in first.packages]
        assert fixed.content_hash != first.content_hash

    def test_given_a_partial_shipment_then_only_what_shipped_is_confirmed(self):
        plan = plan_shipment(_fulfillment(lines=((1, 2),)), _sales_order(), ORDER, MAPPINGS)
        assert plan.packages[0].package_detail["orderItems"] == [{"orderItemId": "11111111111111", "quantity": 2}]

    def test_given_an_other_carrier_then_its_name_is_sent(self):
        plan = plan_shipment(_fulfillment(ship_method="Local Courier"), _sales_order(), ORDER, MAPPINGS)
        detail = plan.packages[0].package_detail
        assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Acme Local Courier")

    @pytest.mark.parametrize(("fulfillment", "reason"), [
        (_fulfillment(ship_method="Carrier Pigeon"), "unmapped_carrier"),
        (_fulfillment(tracking=("",)), "no_tracking"),
        (_fulfillment(tracking=()), "no_tracking"),
        (_fulfillment(lines=((3, 1),)), "line_mismatch"),
        (_fulfillment(lines=((1, 0),)), "malformed_fulfillment"),
        ({**_fulfillment(), "itemList": [{"orderLine": 1, "item": {"internalId": "502"}, "quantity": Decimal(1)}]}, "line_mismatch"),
    ])
    def test_given_a_fulfillment_that_cannot_be_confirmed_then_the_reason(self, fulfillment, reason):
        with pytest.raises(ShipmentTransformError) as raised:
            plan_shipment(fulfillment, _sales_order(), ORDER, MAPPINGS)
        assert raised.value.reason == reason and "4321" in str(raised.value)


class TestSkip:
    @pytest.mark.parametrize(("fulfillment", "sales_order", "reason"), [
        (_fulfillment(), _sales_order(), None),
        (_fulfillment(shipStatus="_packed"), _sales_order(), "not_shipped"),
        (_fulfillment(externalId="AMZ-IF-113-1-1"), _sales_order(), "fba_fulfillment"),
        (_fulfillment(), {"internalId": "900", "externalId": "WEB-SO-1"}, "not_amazon"),
        (_fulfillment(), None, "not_amazon"),
        (_fulfillment(), _sales_order(customFieldList=[{"scriptId": "custbody_amazon_fulfillment_channel", "value": "AFN"}]),
         "fba_order"),
    ])
    def test_given_a_fulfillment_then_whether_it_is_ours(self, fulfillment, sales_order, reason):
        assert skip_reason(fulfillment, sales_order) == reason
