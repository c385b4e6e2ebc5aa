"""Buyer data in Orders v2026-01-01 depends on roles, fulfillment channel and status, as at Amazon.

Amazon, "Access Orders PII": buyerEmail needs Direct-to-Consumer Shipping, a merchant-fulfilled order
and UNSHIPPED, PARTIALLY_SHIPPED or SHIPPED; buyerName needs a tax role (FBA) or a tax role or
Direct-to-Consumer Shipping (MFN), and the tax roles never reach it in the US, JP and SG. The
sandbox's app has Direct-to-Consumer Shipping by default (what an MFN seller's integration has);
``POST /_sandbox/config`` sets the roles per region.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

US, UK = "ATVPDKIKX0DER", "A1F83G8C2ARO7P"
EVERYTHING = "BUYER,RECIPIENT,FULFILLMENT,PROCEEDS,PACKAGES"
ADDRESS_PII = {"name", "addressLine1", "addressLine2", "addressLine3", "postalCode", "phone"}


def _order(sandbox, order_id: str, region: str) -> dict:
    response = sandbox.http.get(f"/{region}/orders/2026-01-01/orders/{order_id}", params={"includedData": EVERYTHING},
                                headers={"x-amz-access-token": sandbox.token(region)})
    assert response.status_code == 200, response.text
    return response.json()["order"]


def _pick(sandbox, marketplace: str, fulfilled_by: str, status: str = "SHIPPED") -> dict:
    return next(o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == marketplace
                and o["fulfillment"]["fulfilledBy"] == fulfilled_by and o["fulfillment"]["fulfillmentStatus"] == status)


class TestDefaultRoles:
    """The default app: Inventory and Order Tracking, Direct-to-Consumer Shipping, Finance and Accounting."""

    def test_given_an_mfn_shipped_order_then_email_name_and_address_are_returned(self, sandbox):
        stored = _pick(sandbox, US, "MERCHANT")

        order = _order(sandbox, stored["orderId"], "na")

        assert order["buyer"]["buyerEmail"] == stored["buyer"]["buyerEmail"]
        assert order["buyer"]["buyerName"] == stored["buyer"]["buyerName"]
        assert order["recipient"]["deliveryAddress"] == stored["recipient"]["deliveryAddress"]

    def test_given_an_fba_order_then_no_email_no_name_and_no_address_pii(self, sandbox):
        stored = _pick(sandbox, US, "AMAZON")
        assert stored["buyer"]["buyerEmail"]  # Amazon knows it; the app may not see it

        order = _order(sandbox, stored["orderId"], "na")

        assert "buyerEmail" not in order.get("buyer", {}) and "buyerName" not in order.get("buyer", {})
        address = order["recipient"]["deliveryAddress"]
        assert not ADDRESS_PII & set(address)
        assert address["countryCode"] == "US" and address["city"] == stored["recipient"]["deliveryAddress"]["city"]

    def test_given_an_mfn_order_still_pending_then_no_email(self, sandbox):
        stored = copy.deepcopy(_pick(sandbox, US, "MERCHANT"))
        stored["orderId"] = "112-0000000-0000042"
        stored["fulfillment"]["fulfillmentStatus"] = "PENDING"
        sandbox.add_orders([stored])

        order = _order(sandbox, stored["orderId"], "na")

        assert "buyer" not in order or "buyerEmail" not in order["buyer"]
        assert not ADDRESS_PII & set(order["recipient"]["deliveryAddress"])

    def test_given_a_search_then_the_same_rules_apply_to_every_page(self, sandbox):
        since = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        orders = sandbox.http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": since, "includedData": EVERYTHING},
                                  headers={"x-amz-access-token": sandbox.token("na")}).json()["orders"]

        with_email = {o["fulfillment"]["fulfilledBy"] for o in orders if "buyerEmail" in o.get("buyer", {})}
        assert with_email == {"MERCHANT"}
        assert all("phone" not in o["recipient"]["deliveryAddress"] for o in orders
                   if o["fulfillment"]["fulfilledBy"] == "AMAZON" and "recipient" in o)


class TestConfiguredRoles:
    def test_given_no_pii_role_then_no_name_and_no_address(self, sandbox):
        sandbox.configure(roles={"na": ["INVENTORY_AND_ORDER_TRACKING"]})
        stored = _pick(sandbox, US, "MERCHANT")

        order = _order(sandbox, stored["orderId"], "na")

        assert "buyer" not in order or not {"buyerEmail", "buyerName"} & set(order["buyer"])
        assert not ADDRESS_PII & set(order["recipient"]["deliveryAddress"])
        assert order["recipient"]["deliveryAddress"]["countryCode"] == "US"

    def test_given_tax_roles_only_then_no_buyer_name_in_the_us_but_in_the_uk(self, sandbox):
        sandbox.configure(roles={"na": ["TAX_REMITTANCE", "TAX_INVOICING"], "eu": ["TAX_REMITTANCE"]})
        us, uk = _pick(sandbox, US, "AMAZON"), _pick(sandbox, UK, "AMAZON")

        us_order, uk_order = _order(sandbox, us["orderId"], "na"), _order(sandbox, uk["orderId"], "eu")

        assert "buyerName" not in us_order.get("buyer", {})
        assert uk_order["buyer"]["buyerName"] == uk["buyer"]["buyerName"]
        assert "buyerEmail" not in uk_order["buyer"]  # the e-mail needs Direct-to-Consumer Shipping

    def test_given_a_region_without_relay_email_then_no_email_whatever_the_roles(self, sandbox):
        sandbox.configure(buyer_email={"eu": False})
        uk = _pick(sandbox, UK, "MERCHANT")

        order = _order(sandbox, uk["orderId"], "eu")

        assert "buyerEmail" not in order["buyer"] and order["buyer"]["buyerName"] == uk["buyer"]["buyerName"]

    def test_given_no_orders_role_at_all_then_the_operation_is_refused(self, sandbox):
        sandbox.configure(roles={"na": []})
        stored = _pick(sandbox, US, "MERCHANT")

        response = sandbox.http.get(f"/na/orders/2026-01-01/orders/{stored['orderId']}",
                                    headers={"x-amz-access-token": sandbox.token("na")})

        assert response.status_code == 403

    @pytest.mark.parametrize("config", [{"roles": {"na": ["NO_SUCH_ROLE"]}}, {"roles": {"xx": []}}, {"buyer_email": {"na": "no"}},
                                        {"colour": "blue"}])
    def test_given_a_bad_config_then_400_and_nothing_changes(self, sandbox, config):
        before = sandbox.http.get("/_sandbox/config").json()

        response = sandbox.http.post("/_sandbox/config", json=config)

        assert response.status_code == 400
        assert sandbox.http.get("/_sandbox/config").json() == before

    def test_given_a_reset_then_the_default_roles_are_back(self, sandbox):
        sandbox.configure(roles={"na": []}, buyer_email={"na": False})

        sandbox.http.post("/_sandbox/reset").raise_for_status()

        config = sandbox.http.get("/_sandbox/config").json()
        assert "DIRECT_TO_CONSUMER_SHIPPING" in config["roles"]["na"] and config["buyer_email"]["na"] is True
