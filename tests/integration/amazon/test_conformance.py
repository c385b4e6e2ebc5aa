"""Every kind of response the SP-API sandbox sends validates against Amazon's Swagger 2.0 models.

The ``start_sandbox`` fixture already validates every response of every test; this test makes sure
each operation's success and error responses are exercised at least once, through raw HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from sandbox.amazon.app import LWA_CLIENT_ID, LWA_CLIENT_SECRET, REFRESH_TOKENS


def _token(http: httpx.Client, region: str = "na") -> str:
    data = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKENS[region], "client_id": LWA_CLIENT_ID, "client_secret": LWA_CLIENT_SECRET}
    return http.post("/auth/o2/token", data=data).json()["access_token"]


def test_given_every_operation_and_error_path_when_called_then_each_response_matches_amazons_models(start_sandbox, sp_api_models):
    sandbox = start_sandbox(rate_scale=1000)
    http = sandbox.http
    headers = {"x-amz-access-token": _token(http)}
    since = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    everything = "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT,FULFILLMENT_ORDERS"

    page = http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": since, "includedData": everything, "maxResultsPerPage": 50}, headers=headers)
    assert page.status_code == 200 and page.json()["pagination"]["nextToken"]
    http.get("/na/orders/2026-01-01/orders", params={"paginationToken": page.json()["pagination"]["nextToken"]}, headers=headers)
    http.get("/na/orders/2026-01-01/orders", params={"createdAfter": since}, headers=headers)
    assert http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": since, "lastUpdatedBefore": future}, headers=headers).status_code == 400
    assert http.get("/na/orders/2026-01-01/orders", params={"paginationToken": "bogus"}, headers=headers).status_code == 400
    assert http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": since}, headers={"x-amz-access-token": "Atza|nope"}).status_code == 403
    order_id = page.json()["orders"][0]["orderId"]
    assert http.get(f"/na/orders/2026-01-01/orders/{order_id}", params={"includedData": everything}, headers=headers).status_code == 200
    assert http.get("/na/orders/2026-01-01/orders/000-0000000-0000000", headers=headers).status_code == 404

    created = http.post("/na/reports/2021-06-30/reports", json={"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL", "marketplaceIds": ["ATVPDKIKX0DER"]}, headers=headers)
    assert created.status_code == 202
    report_id = created.json()["reportId"]
    assert http.post("/na/reports/2021-06-30/reports", json={"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "marketplaceIds": ["ATVPDKIKX0DER"]}, headers=headers).status_code == 400
    assert http.get(f"/na/reports/2021-06-30/reports/{report_id}", headers=headers).status_code == 200
    assert http.get("/na/reports/2021-06-30/reports/1", headers=headers).status_code == 404
    queued = http.post("/na/reports/2021-06-30/reports", json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ["ATVPDKIKX0DER"]}, headers=headers).json()["reportId"]
    assert http.delete(f"/na/reports/2021-06-30/reports/{queued}", headers=headers).status_code in (200, 400)
    listed = http.get("/na/reports/2021-06-30/reports", params={"reportTypes": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL,GET_MERCHANT_LISTINGS_ALL_DATA", "pageSize": 1}, headers=headers)
    assert listed.status_code == 200 and listed.json()["nextToken"]
    assert http.get("/na/reports/2021-06-30/reports", params={"nextToken": listed.json()["nextToken"], "pageSize": 1}, headers=headers).status_code == 400
    assert http.get("/na/reports/2021-06-30/reports", params={"nextToken": listed.json()["nextToken"]}, headers=headers).status_code == 200
    assert http.get("/na/reports/2021-06-30/reports", params={"reportTypes": "X", "processingStatuses": "BAD_VALUE"}, headers=headers).status_code == 400
    published = sandbox.publish_report(reportType="GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", marketplaceIds=["ATVPDKIKX0DER"], content="x\n")
    assert http.get(f"/na/reports/2021-06-30/documents/{published['reportDocumentId']}", headers=headers).status_code == 200
    assert http.get("/na/reports/2021-06-30/documents/amzn1.spdoc.missing", headers=headers).status_code == 404

    rdt = http.post("/na/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [{"method": "GET", "path": "/orders/2026-01-01/orders/{orderId}"}]}, headers=headers)
    assert rdt.status_code == 200
    assert http.post("/na/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": []}, headers=headers).status_code == 400
    assert http.get(f"/na/orders/2026-01-01/orders/{order_id}", headers={"x-amz-access-token": rdt.json()["restrictedDataToken"]}).status_code == 200

    for status in (429, 500, 503):
        sandbox.fault("*", status=status, times=1)
        assert http.get(f"/na/reports/2021-06-30/reports/{report_id}", headers=headers).status_code == status

    exchanges = sandbox.http.get("/_sandbox/responses", params={"drain": False}).json()["responses"]
    seen = {(e["operation"], e["status"]) for e in exchanges}
    assert {"searchOrders", "getOrder", "createReport", "getReport", "getReports", "getReportDocument", "createRestrictedDataToken"} <= {op for op, _ in seen}
    assert {400, 403, 404, 429, 500, 503} <= {status for _, status in seen}
    problems = [p for e in exchanges for p in sp_api_models.errors(e["operation"], e["status"], e["body"])]
    assert problems == []
    assert all("x-amzn-RateLimit-Limit" in e["headers"] and "x-amzn-RequestId" in e["headers"] for e in exchanges)


def test_given_a_throttled_call_then_the_429_carries_the_rate_limit_header_and_amazons_body(start_sandbox):
    sandbox = start_sandbox(rate_scale=1000)
    sandbox.fault("getOrder", status=429, times=1)

    response = sandbox.http.get("/na/orders/2026-01-01/orders/1", headers={"x-amz-access-token": _token(sandbox.http)})

    assert response.status_code == 429
    assert response.headers["x-amzn-RateLimit-Limit"] == "500"
    assert response.json() == {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}]}


def test_given_the_cli_when_printing_env_then_it_exports_one_amazon_connection_per_region(capsys):
    import json

    from sandbox.cli import main

    assert main(["env", "--json", "--amazon-port", "8799"]) == 0
    env = json.loads(capsys.readouterr().out)
    for region, marketplaces in (("na", {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"}), ("eu", {"A1F83G8C2ARO7P", "A1PA6795UKMFR9"}),
                                 ("fe", {"A1VC38T7YXB528"})):
        conn = json.loads(env[f"AIRFLOW_CONN_AMAZON_SP_API_{region.upper()}"])
        assert conn["extra"]["endpoint"] == f"http://127.0.0.1:8799/{region}"
        assert conn["extra"]["lwa_endpoint"] == "http://127.0.0.1:8799/auth/o2/token"
        assert conn["extra"]["region"] == region and conn["extra"]["refresh_token"] == REFRESH_TOKENS[region]
        assert marketplaces <= set(conn["extra"]["marketplace_ids"])
    assert "AIRFLOW_CONN_AMAZON_SP_API_DEFAULT" not in env and "AIRFLOW_CONN_NETSUITE_DEFAULT" in env


class TestSearchOrdersPagination:
    """The model: the next page repeats every filter with the same value; maxResultsPerPage and includedData may change."""

    def test_given_a_pagination_token_when_the_filters_change_then_amazon_refuses_it(self, start_sandbox):
        sandbox = start_sandbox(rate_scale=1000)
        http, headers = sandbox.http, {"x-amz-access-token": _token(sandbox.http)}
        since = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        later = (datetime.now(UTC) - timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
        token = http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": since, "maxResultsPerPage": 10}, headers=headers).json()["pagination"]["nextToken"]

        moved = http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": later, "paginationToken": token}, headers=headers)
        same = http.get("/na/orders/2026-01-01/orders", params={"lastUpdatedAfter": since, "paginationToken": token, "maxResultsPerPage": 25}, headers=headers)

        assert moved.status_code == 400
        assert moved.json()["errors"][0]["code"] == "InvalidInput"
        assert "lastUpdatedAfter" in moved.json()["errors"][0]["details"]
        assert same.status_code == 200
        assert len(same.json()["orders"]) == 25


#: every operation that takes a JSON body: (operation, method, path)
BODY_OPERATIONS = [
    ("confirmShipment", "POST", "/na/orders/v0/orders/113-0000000-0000000/shipmentConfirmation"),
    ("createReport", "POST", "/na/reports/2021-06-30/reports"),
    ("createRestrictedDataToken", "POST", "/na/tokens/2021-03-01/restrictedDataToken"),
    ("createDestination", "POST", "/na/notifications/v1/destinations"),
    ("createSubscription", "POST", "/na/notifications/v1/subscriptions/ANY_OFFER_CHANGED"),
    ("createFeedDocument", "POST", "/na/feeds/2021-06-30/documents"),
    ("createFeed", "POST", "/na/feeds/2021-06-30/feeds"),
    ("patchListingsItem", "PATCH", "/na/listings/2021-08-01/items/SELLER/SKU-1"),
    ("putListingsItem", "PUT", "/na/listings/2021-08-01/items/SELLER/SKU-1"),
]


def test_given_a_body_that_is_not_a_json_object_then_each_operation_answers_amazons_400_before_anything_else(start_sandbox):
    sandbox = start_sandbox(rate_scale=1000)
    headers = {"x-amz-access-token": _token(sandbox.http), "content-type": "application/json"}
    for operation, method, path in BODY_OPERATIONS:
        sandbox.fault(operation, status=503, times=1)  # a body Amazon cannot read is refused before any fault

        not_json = sandbox.http.request(method, path, content=b"{not json", headers=headers)
        not_object = sandbox.http.request(method, path, content=b"[1, 2]", headers=headers)

        assert (not_json.status_code, not_object.status_code) == (400, 400), operation
        assert not_json.json()["errors"][0]["details"] == "The request body is not valid JSON."
        assert not_object.json()["errors"][0]["details"] == "The request body must be a JSON object."
        assert sandbox.calls(operation)["errors"] == 2 and sandbox.calls(operation)["calls"] == 0, operation
        assert sandbox.http.request(method, path, json={}, headers=headers).status_code == 503, operation
