"""Who sees buyer data in Orders API v2026-01-01: roles, fulfillment channel, order status.

Amazon, "Access Orders PII" (https://developer-docs.amazon.com/sp-api/docs/access-orders-pii):

- ``buyer.buyerEmail``: role Direct-to-Consumer Shipping (Restricted); the order is fulfilled by
  the merchant and in UNSHIPPED, PARTIALLY_SHIPPED or SHIPPED status.
- ``buyer.buyerName``: fulfilled by Amazon - Tax Invoicing or Tax Remittance (Restricted); fulfilled
  by the merchant - Tax Invoicing, Tax Remittance or Direct-to-Consumer Shipping; UNSHIPPED,
  PARTIALLY_SHIPPED or SHIPPED; "In the US, Japan, and Singapore marketplaces, developers with the
  Tax Invoicing (Restricted) role and the Tax Remittance (Restricted) role are not permitted to
  access buyer's name."
- PII also includes ``recipient.deliveryAddress`` name, addressLine1-3, postalCode, phone,
  extendedFields and the gift message. "Get order information": the Direct-to-Consumer Delivery
  role "is required to access shipping address information", the tax roles give buyer information.
  *Sandbox rule* (Amazon's page has no table for the address): the address PII follows the buyer
  name rule; the model adds that the phone is suppressed for every FBA order.
- Every role of the Orders API's prerequisites reaches the operations themselves; without any of
  them the call is refused (403, Amazon's generic wording).

Fields that are not PII (city, stateOrRegion, countryCode, addressType, companyName, the business
fields of ``buyer``) are returned with ``includedData`` whatever the roles. Some sellers get no
relay e-mail at all: the sandbox's ``buyer_email`` switch (per region) drops it whatever the roles.
"""

from __future__ import annotations

import copy
from collections.abc import Collection

ROLES = (
    "AMAZON_FULFILLMENT", "BUYER_COMMUNICATION", "BUYER_SOLICITATION", "FINANCE_AND_ACCOUNTING",
    "INVENTORY_AND_ORDER_TRACKING", "PRICING", "PRODUCT_LISTING", "PROFESSIONAL_SERVICES",
    "SELLING_PARTNER_INSIGHTS", "DIRECT_TO_CONSUMER_SHIPPING", "TAX_INVOICING", "TAX_REMITTANCE",
)
DTC = "DIRECT_TO_CONSUMER_SHIPPING"
TAX_ROLES = frozenset({"TAX_INVOICING", "TAX_REMITTANCE"})
#: What an MFN seller's integration has: order tracking, Direct-to-Consumer Shipping (buyer e-mail,
#: names and addresses of merchant-fulfilled orders) and Finance and Accounting (settlements).
DEFAULT_ROLES = ("INVENTORY_AND_ORDER_TRACKING", DTC, "FINANCE_AND_ACCOUNTING")
VISIBLE_STATUSES = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"})
#: Marketplaces where the tax roles do not reach the buyer's name.
NO_TAX_ROLE_NAME_COUNTRIES = frozenset({"US", "JP", "SG"})
ADDRESS_PII = ("name", "addressLine1", "addressLine2", "addressLine3", "postalCode", "phone", "extendedFields")


def can_see_name(*, roles: Collection[str], merchant_fulfilled: bool, status: str, country: str) -> bool:
    if status not in VISIBLE_STATUSES:
        return False
    tax = bool(TAX_ROLES & set(roles)) and country not in NO_TAX_ROLE_NAME_COUNTRIES
    return tax or (merchant_fulfilled and DTC in roles)


def can_see_email(*, roles: Collection[str], merchant_fulfilled: bool, status: str) -> bool:
    return merchant_fulfilled and status in VISIBLE_STATUSES and DTC in roles


def gate(order: dict, *, roles: Collection[str], country: str, relay_email: bool = True) -> dict:
    """``order`` (already projected on ``includedData``) as an app with ``roles`` receives it."""
    fulfillment = order.get("fulfillment") or {}
    status = fulfillment.get("fulfillmentStatus") or ""
    merchant = fulfillment.get("fulfilledBy") == "MERCHANT"
    name = can_see_name(roles=roles, merchant_fulfilled=merchant, status=status, country=country)
    email = relay_email and can_see_email(roles=roles, merchant_fulfilled=merchant, status=status)
    out = copy.deepcopy(order)
    buyer = out.get("buyer")
    if buyer is not None:
        if not email:
            buyer.pop("buyerEmail", None)
        if not name:
            buyer.pop("buyerName", None)
        if not buyer:
            del out["buyer"]
    address = (out.get("recipient") or {}).get("deliveryAddress")
    if address is not None:
        for key in ADDRESS_PII:
            if not name or (key == "phone" and not merchant):
                address.pop(key, None)
    if not name:
        for item in out.get("orderItems") or []:
            gift = ((item.get("fulfillment") or {}).get("packing") or {}).get("giftOption")
            if gift:
                gift.pop("giftMessage", None)
    return out
