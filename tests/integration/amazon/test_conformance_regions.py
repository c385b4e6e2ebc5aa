"""The SP-API sandbox refuses what SP-API refuses: regions, their tokens, grantless tokens.

Each regional endpoint serves only its marketplaces and refuses a call naming another region's as a
whole (amzn/selling-partner-api-models#5126 shows Amazon's body); each region is authorized on its
own; a client_credentials (grantless) token reaches only grantless operations (403 "Access to
requested resource is denied." on seller data: amzn/selling-partner-api-docs#643). Every response is
validated against Amazon's models by the ``start_sandbox`` fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.amazon.app import LWA_CLIENT_ID, LWA_CLIENT_SECRET

US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"

REGION_403 = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                          "details": "The marketplaces you provided are not valid for region."}]}
DENIED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]}
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
SINCE = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _grantless(http, scope: str | None = "sellingpartnerapi::notifications"):
    data = {"grant_type": "client_credentials", "client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}
    if scope is not None:
        data["scope"] = scope
    return http.post("/auth/o2/token", data=data)


class TestRegions:
    @pytest.mark.parametrize("marketplaces", [f"{US},{UK}", UK])
    def test_given_a_marketplace_of_another_region_when_searching_then_the_whole_call_is_refused_with_amazons_body(
        self, sandbox, marketplaces
    ):
        response = sandbox.http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE, "marketplaceIds": marketplaces},
                                    headers={"x-amz-access-token": sandbox.token("na")})

        assert response.status_code == 403
        assert response.json() == REGION_403

    def test_given_a_marketplace_of_another_region_when_listing_or_creating_reports_then_403(self, sandbox):
        headers = {"x-amz-access-token": sandbox.token("eu")}

        listed = sandbox.http.get("/eu/reports/2021-06-30/reports", params={"reportTypes": SETTLEMENT, "marketplaceIds": f"{DE},{US}"},
                                  headers=headers)
        created = sandbox.http.post("/eu/reports/2021-06-30/reports", json={"reportType": ORDERS_REPORT, "marketplaceIds": [CA]},
                                    headers=headers)

        assert (listed.status_code, listed.json()) == (403, REGION_403)
        assert (created.status_code, created.json()) == (403, REGION_403)

    def test_given_an_unknown_marketplace_id_then_400_invalid_input(self, sandbox):
        response = sandbox.http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE, "marketplaceIds": "A1NOTAMARKET"},
                                    headers={"x-amz-access-token": sandbox.token("na")})

        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "InvalidInput" and "A1NOTAMARKET" in response.json()["errors"][0]["details"]

    def test_given_no_marketplace_filter_then_only_the_regions_orders_are_served(self, sandbox):
        orders = sandbox.http.get("/eu/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE},
                                  headers={"x-amz-access-token": sandbox.token("eu")}).json()["orders"]

        assert orders and {o["salesChannel"]["marketplaceId"] for o in orders} == {UK, DE}

    def test_given_a_token_of_one_region_when_calling_another_then_403(self, sandbox):
        na = sandbox.token("na")

        eu = sandbox.http.get("/eu/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE}, headers={"x-amz-access-token": na})
        own = sandbox.http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE}, headers={"x-amz-access-token": na})

        assert (eu.status_code, eu.json()) == (403, DENIED)
        assert own.status_code == 200

    def test_given_a_restricted_data_token_of_one_region_when_used_on_another_then_403(self, sandbox):
        rdt = sandbox.http.post("/na/tokens/2021-03-01/restrictedDataToken",
                                json={"restrictedResources": [{"method": "GET", "path": "/orders/2026-01-01/orders/{orderId}"}]},
                                headers={"x-amz-access-token": sandbox.token("na")}).json()["restrictedDataToken"]
        uk = next(o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == UK)["orderId"]
        us = next(o for o in sandbox.orders() if o["salesChannel"]["marketplaceId"] == US)["orderId"]

        assert sandbox.http.get(f"/eu/orders/2026-01-01/orders/{uk}", headers={"x-amz-access-token": rdt}).status_code == 403
        assert sandbox.http.get(f"/na/orders/2026-01-01/orders/{us}", headers={"x-amz-access-token": rdt}).status_code == 200

    def test_given_a_path_without_region_prefix_then_refused_clearly(self, sandbox):
        response = sandbox.http.get("/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE},
                                    headers={"x-amz-access-token": sandbox.token("na")})

        assert response.status_code == 404
        assert "{base}/na, {base}/eu, {base}/fe" in response.json()["errors"][0]["details"]

    def test_given_the_usage_plan_then_each_region_has_its_own_buckets(self, start_sandbox):
        sandbox = start_sandbox(rate_scale=0.01)  # searchOrders refills once in ~5 hours: only the burst of 20
        na, eu = sandbox.token("na"), sandbox.token("eu")

        statuses = [sandbox.http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE},
                                     headers={"x-amz-access-token": na}).status_code for _ in range(21)]
        other_region = sandbox.http.get("/eu/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE},
                                        headers={"x-amz-access-token": eu})

        assert statuses == [200] * 20 + [429]
        assert other_region.status_code == 200
        assert sandbox.calls("searchOrders", region="na")["throttled"] == 1
        assert sandbox.calls("searchOrders", region="eu") == {"calls": 1, "throttled": 0, "records": 51, "errors": 0}
        assert sandbox.calls("searchOrders")["calls"] == 22  # the totals stay


class TestSettlementReports:
    def test_given_settlement_reports_then_each_lists_every_marketplace_of_its_region_whatever_the_filter(self, sandbox):
        headers = {"x-amz-access-token": sandbox.token("na")}
        na = sandbox.http.get("/na/reports/2021-06-30/reports", params={"reportTypes": SETTLEMENT, "marketplaceIds": "A2Q3Y263D00KWC"},
                              headers=headers).json()["reports"]
        na_all = sandbox.http.get("/na/reports/2021-06-30/reports", params={"reportTypes": SETTLEMENT},
                                  headers=headers).json()["reports"]
        eu = sandbox.http.get("/eu/reports/2021-06-30/reports", params={"reportTypes": SETTLEMENT},
                              headers={"x-amz-access-token": sandbox.token("eu")}).json()["reports"]

        # Brazil has no settlement, yet its filter lists the region's: the filter is ignored
        assert len(na) == len(na_all) > 0 and len(eu) > 0
        assert all(r["marketplaceIds"] == ["A2EUQ1WTGCTBG2", US, "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"] for r in na)
        assert all(len(r["marketplaceIds"]) == 16 and {UK, DE} <= set(r["marketplaceIds"]) for r in eu)

    def test_given_a_published_settlement_then_it_lists_its_region_not_the_given_marketplace(self, sandbox):
        published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content="x\n")

        report = sandbox.http.get(f"/eu/reports/2021-06-30/reports/{published['reportId']}",
                                  headers={"x-amz-access-token": sandbox.token("eu")}).json()

        assert published["region"] == "eu" and len(report["marketplaceIds"]) == 16

    def test_given_other_report_types_then_the_marketplace_filter_applies(self, sandbox):
        sandbox.publish_report(reportType="GET_MERCHANT_LISTINGS_ALL_DATA", marketplaceIds=[US], content="x\n")
        headers = {"x-amz-access-token": sandbox.token("na")}

        assert sandbox.http.get("/na/reports/2021-06-30/reports", params={"reportTypes": "GET_MERCHANT_LISTINGS_ALL_DATA",
                                                                          "marketplaceIds": CA}, headers=headers).json()["reports"] == []


class TestGrantlessTokens:
    def test_given_a_grantless_token_when_reading_seller_data_then_403_with_amazons_wording(self, sandbox):
        token = _grantless(sandbox.http).json()["access_token"]
        headers = {"x-amz-access-token": token}

        orders = sandbox.http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": SINCE}, headers=headers)
        reports = sandbox.http.get("/na/reports/2021-06-30/reports", params={"reportTypes": SETTLEMENT}, headers=headers)
        destinations = sandbox.http.get("/na/notifications/v1/destinations", headers=headers)

        assert (orders.status_code, orders.json()) == (403, DENIED)
        assert (reports.status_code, reports.json()) == (403, DENIED)
        assert (destinations.status_code, destinations.json()) == (200, {"payload": []})

    def test_given_a_seller_token_when_calling_a_grantless_operation_then_403(self, sandbox):
        response = sandbox.http.get("/na/notifications/v1/destinations", headers={"x-amz-access-token": sandbox.token("na")})

        assert (response.status_code, response.json()) == (403, DENIED)

    @pytest.mark.parametrize("scope, error", [(None, "invalid_request"), ("sellingpartnerapi::orders", "invalid_scope"),
                                              ("sellingpartnerapi::migration", "invalid_scope")])
    def test_given_no_or_an_invalid_scope_when_asking_lwa_for_a_grantless_token_then_400(self, sandbox, scope, error):
        response = _grantless(sandbox.http, scope)

        assert response.status_code == 400 and response.json()["error"] == error
        assert "scope" in response.json()["error_description"]

    def test_given_the_rotation_scope_then_a_token_is_granted_with_its_scope(self, sandbox):
        body = _grantless(sandbox.http, "sellingpartnerapi::client_credential:rotation").json()

        assert body["scope"] == "sellingpartnerapi::client_credential:rotation" and body["access_token"].startswith("Atza|")
