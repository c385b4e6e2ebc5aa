"""SellingPartnerHook.confirm_shipment against the SP-API sandbox: Amazon's validation of a package
confirmation (Orders API v0), the order moving to PARTIALLY_SHIPPED / SHIPPED, edits by
packageReferenceId, and the retry path (429, 5xx). Every response is checked against ordersV0.json by
the ``start_sandbox`` fixture."""

from __future__ import annotations

import pytest

from amazon_netsuite.amazon.errors import MarketplaceRegionError, SellingPartnerApiError
from tests.fixtures.mfn import mfn_order

US = "ATVPDKIKX0DER"


def _package(ref="1", items=(("90000000000001", 1),), tracking="1Z999AA10123456784", carrier="UPS", **extra):
    return {"packageReferenceId": ref, "carrierCode": carrier, "trackingNumber": tracking,
            "shipDate": "2026-11-30T15:00:00Z", "shippingMethod": "UPS Ground",
            "orderItems": [{"orderItemId": i, "quantity": q} for i, q in items], **extra}


def _order(sandbox, order_id):
    return next(o for o in sandbox.orders() if o["orderId"] == order_id)


class TestConfirmShipment:
    def test_given_an_unshipped_order_when_each_package_is_confirmed_then_the_order_ships_with_its_tracking(self, hook, sandbox):
        order = mfn_order("113-0000016-0000001", items=[("90000000000001", "ACME-MUG-11OZ", 2, "12.99")])
        sandbox.add_orders([order])

        hook.confirm_shipment(order["orderId"], marketplace_id=US, package_detail=_package("1", [("90000000000001", 1)]))
        assert _order(sandbox, order["orderId"])["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
        hook.confirm_shipment(order["orderId"], marketplace_id=US,
                              package_detail=_package("2", [("90000000000001", 1)], tracking="1Z999AA10123456785"))

        shipped = _order(sandbox, order["orderId"])
        assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        assert sorted(p["trackingNumber"] for p in shipped["packages"]) == ["1Z999AA10123456784", "1Z999AA10123456785"]
        assert shipped["orderItems"][0]["fulfillment"] == {"quantityFulfilled": 2, "quantityUnfulfilled": 0}
        assert sandbox.calls("confirmShipment")["calls"] == 2

    def test_given_a_confirmed_package_when_sent_again_with_new_tracking_then_it_is_edited_not_shipped_twice(self, hook, sandbox):
        order = mfn_order("113-0000016-0000002", items=[("90000000000001", "ACME-MUG-11OZ", 1, "12.99")])
        sandbox.add_orders([order])

        hook.confirm_shipment(order["orderId"], marketplace_id=US, package_detail=_package("7"))
        hook.confirm_shipment(order["orderId"], marketplace_id=US, package_detail=_package("7", tracking="CORRECTED1"))

        packages = _order(sandbox, order["orderId"])["packages"]
        assert [(p["packageReferenceId"], p["trackingNumber"]) for p in packages] == [("7", "CORRECTED1")]

    @pytest.mark.parametrize(("change", "message"), [
        ({"items": (("99999999999999", 1),)}, "OrderItemId is invalid"),
        ({"items": (("90000000000001", 2),)}, "order already fulfilled"),
        ({"ref": "abc"}, "must be a positive numeric value"),
        ({"carrier": "Other"}, "Invalid Input"),
    ])
    def test_given_a_package_amazon_refuses_when_confirming_then_its_message_is_raised_and_nothing_ships(self, hook, sandbox, change, message):
        order = mfn_order("113-0000016-0000003", items=[("90000000000001", "ACME-MUG-11OZ", 1, "12.99")])
        sandbox.add_orders([order])

        with pytest.raises(SellingPartnerApiError) as raised:
            hook.confirm_shipment(order["orderId"], marketplace_id=US, package_detail=_package(**change))

        assert raised.value.status == 400 and message in str(raised.value)
        assert _order(sandbox, order["orderId"])["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"

    def test_given_a_cancelled_order_when_confirming_then_amazon_refuses_it(self, hook, sandbox):
        order = mfn_order("113-0000016-0000004", items=[("90000000000001", "ACME-MUG-11OZ", 1, "12.99")], status="CANCELLED")
        sandbox.add_orders([order])

        with pytest.raises(SellingPartnerApiError, match="cancelled") as raised:
            hook.confirm_shipment(order["orderId"], marketplace_id=US, package_detail=_package())
        assert raised.value.status == 400

    def test_given_an_unknown_order_when_confirming_then_404(self, hook, sandbox):
        with pytest.raises(SellingPartnerApiError) as raised:
            hook.confirm_shipment("113-0000000-0000000", marketplace_id=US, package_detail=_package())
        assert raised.value.status == 404

    def test_given_a_marketplace_of_another_region_when_confirming_then_refused_before_any_call(self, hook, sandbox):
        with pytest.raises(MarketplaceRegionError):
            hook.confirm_shipment("113-0000016-0000005", marketplace_id="A1PA6795UKMFR9", package_detail=_package())
        assert sandbox.calls("confirmShipment")["calls"] == 0

    def test_given_the_wrong_regional_endpoint_when_amazon_is_asked_then_403_for_the_whole_call(self, sandbox):
        import httpx

        from tests.integration.amazon.test_conformance import _token

        body = {"marketplaceId": "A1PA6795UKMFR9", "packageDetail": _package()}
        response = sandbox.http.post("/na/orders/v0/orders/113-0000016-0000005/shipmentConfirmation", json=body,
                                     headers={"x-amz-access-token": _token(sandbox.http)})
        assert isinstance(response, httpx.Response) and response.status_code == 403

    def test_given_throttling_and_a_5xx_when_confirming_then_the_hook_retries_and_the_package_ships_once(self, hook, sandbox):
        order = mfn_order("113-0000016-0000006", items=[("90000000000001", "ACME-MUG-11OZ", 1, "12.99")])
        sandbox.add_orders([order])
        sandbox.fault("confirmShipment", status=429, times=3)
        sandbox.fault("confirmShipment", status=503, times=1)

        hook.confirm_shipment(order["orderId"], marketplace_id=US, package_detail=_package())

        stats = sandbox.calls("confirmShipment")
        assert stats["calls"] == 5 and stats["throttled"] == 3
        assert len(_order(sandbox, order["orderId"])["packages"]) == 1


class TestOrderReads:
    """The MFN flow reads the orders of the fulfillments it confirms: getOrder for a few, one searchOrders for many."""

    def _entries(self, orders):
        return [{"sales_order": {"externalId": f"AMZ-SO-{o['orderId']}", "tranDate": o["createdTime"]}} for o in orders]

    def test_given_many_orders_then_one_search_reads_them_and_no_order_is_read_alone(self, hook, sandbox):
        from amazon_netsuite.flows.mfn_shipments import GET_ORDER_BURST, _orders

        orders = [mfn_order(f"113-0000016-{n:07d}", items=[(f"9{n:013d}", "ACME-MUG-11OZ", 1, "12.99")])
                  for n in range(GET_ORDER_BURST + 5)]
        sandbox.add_orders(orders)

        found, missing = _orders(hook, self._entries(orders) + self._entries([{**orders[0], "orderId": "113-0000000-0000000"}]))

        assert set(found) == {o["orderId"] for o in orders} and missing == ["113-0000000-0000000"]
        assert found[orders[0]["orderId"]]["orderItems"][0]["orderItemId"] == "90000000000000"
        search = sandbox.calls("searchOrders")
        # pages served: an LWA token that expired on a loaded machine is answered 401 and retried once
        assert search["calls"] - search["errors"] == 1, search
        assert sandbox.calls("getOrder")["calls"] == 1  # only the one the search did not return (404)

    def test_given_a_few_orders_then_each_is_read_with_get_order(self, hook, sandbox):
        from amazon_netsuite.flows.mfn_shipments import _orders

        orders = [mfn_order(f"113-0000016-{n:07d}", items=[(f"9{n:013d}", "ACME-MUG-11OZ", 1, "12.99")]) for n in range(3)]
        sandbox.add_orders(orders)

        found, missing = _orders(hook, self._entries(orders))

        assert len(found) == 3 and missing == []
        assert sandbox.calls("getOrder")["calls"] == 3 and sandbox.calls("searchOrders")["calls"] == 0
