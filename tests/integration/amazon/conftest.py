"""SP-API sandbox fixtures: an emulator on a free loopback port per test, and the model conformance check.

Every SP-API response the emulator sends during a test is validated against Amazon's Swagger 2.0
models after the test (jsonschema on the model's definitions); a non-conforming body fails the test.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, FormatChecker

from sandbox.runner import start_servers

#: operationId -> (model file, path, method)
OPERATIONS = {
    "searchOrders": ("orders_2026-01-01.json", "/orders/2026-01-01/orders", "get"),
    "getOrder": ("orders_2026-01-01.json", "/orders/2026-01-01/orders/{orderId}", "get"),
    "getReports": ("reports_2021-06-30.json", "/reports/2021-06-30/reports", "get"),
    "createReport": ("reports_2021-06-30.json", "/reports/2021-06-30/reports", "post"),
    "getReport": ("reports_2021-06-30.json", "/reports/2021-06-30/reports/{reportId}", "get"),
    "cancelReport": ("reports_2021-06-30.json", "/reports/2021-06-30/reports/{reportId}", "delete"),
    "getReportDocument": ("reports_2021-06-30.json", "/reports/2021-06-30/documents/{reportDocumentId}", "get"),
    "createRestrictedDataToken": ("tokens_2021-03-01.json", "/tokens/2021-03-01/restrictedDataToken", "post"),
    "getDestinations": ("notifications.json", "/notifications/v1/destinations", "get"),
    "listFinancialEvents": ("financesV0.json", "/finances/v0/financialEvents", "get"),
    "createFeedDocument": ("feeds_2021-06-30.json", "/feeds/2021-06-30/documents", "post"),
    "createFeed": ("feeds_2021-06-30.json", "/feeds/2021-06-30/feeds", "post"),
    "getFeed": ("feeds_2021-06-30.json", "/feeds/2021-06-30/feeds/{feedId}", "get"),
    "getFeedDocument": ("feeds_2021-06-30.json", "/feeds/2021-06-30/documents/{feedDocumentId}", "get"),
    "getListingsItem": ("listingsItems_2021-08-01.json", "/listings/2021-08-01/items/{sellerId}/{sku}", "get"),
    "patchListingsItem": ("listingsItems_2021-08-01.json", "/listings/2021-08-01/items/{sellerId}/{sku}", "patch"),
    "patchListingsItemPreview": ("listingsItems_2021-08-01.json", "/listings/2021-08-01/items/{sellerId}/{sku}", "patch"),
    "putListingsItem": ("listingsItems_2021-08-01.json", "/listings/2021-08-01/items/{sellerId}/{sku}", "put"),
    "deleteListingsItem": ("listingsItems_2021-08-01.json", "/listings/2021-08-01/items/{sellerId}/{sku}", "delete"),
    "putListingsItemPreview": ("listingsItems_2021-08-01.json", "/listings/2021-08-01/items/{sellerId}/{sku}", "put"),
    "getInventorySummaries": ("fbaInventory.json", "/fba/inventory/v1/summaries", "get"),
    "confirmShipment": ("ordersV0.json", "/orders/v0/orders/{orderId}/shipmentConfirmation", "post"),
    "createDestination": ("notifications.json", "/notifications/v1/destinations", "post"),
    "createSubscription": ("notifications.json", "/notifications/v1/subscriptions/{notificationType}", "post"),
    "getSubscription": ("notifications.json", "/notifications/v1/subscriptions/{notificationType}", "get"),
}


class ModelValidator:
    """Validates response bodies against the response schema the model declares for (operation, status)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._models: dict[str, dict] = {}

    def model(self, file: str) -> dict:
        if file not in self._models:
            self._models[file] = json.loads((self.models_dir / file).read_text())
        return self._models[file]

    def schema(self, file: str, schema: dict) -> dict:
        return {**schema, "definitions": self.model(file)["definitions"]}

    def errors(self, operation: str, status: int, body: Any) -> list[str]:
        if operation not in OPERATIONS:
            return [f"{operation}: no model mapping"]
        file, path, method = OPERATIONS[operation]
        responses = self.model(file)["paths"][path][method]["responses"]
        declared = responses.get(str(status))
        if declared is None:
            return [f"{operation}: HTTP {status} is not a response declared in {file}"]
        if "schema" not in declared:
            return [] if body is None else [f"{operation} {status}: body sent where the model declares none"]
        validator = Draft4Validator(self.schema(file, declared["schema"]), format_checker=FormatChecker())
        return [
            f"{operation} {status}: {error.message} at /{'/'.join(map(str, error.absolute_path))}"
            for error in validator.iter_errors(body)
        ]


class SandboxClient:
    """The admin API of one running SP-API emulator."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def fault(self, operation: str, **fault: Any) -> None:
        self.http.post("/_sandbox/faults", json={"operation": operation, **fault}).raise_for_status()

    def calls(self, operation: str | None = None, *, region: str | None = None) -> dict:
        data = self.http.get("/_sandbox/calls").json()
        data = data["regions"][region] if region else data["operations"]
        return data.get(operation, {"calls": 0, "throttled": 0, "records": 0, "errors": 0}) if operation else data

    def configure(self, **config: Any) -> dict:
        response = self.http.post("/_sandbox/config", json=config)
        response.raise_for_status()
        return response.json()

    def token(self, region: str) -> str:
        """An access token of the seller's authorization in ``region`` (LWA refresh_token grant)."""
        from sandbox.amazon.app import LWA_CLIENT_ID, LWA_CLIENT_SECRET, REFRESH_TOKENS

        data = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKENS[region], "client_id": LWA_CLIENT_ID,
                "client_secret": LWA_CLIENT_SECRET}
        return self.http.post("/auth/o2/token", data=data).json()["access_token"]

    def orders(self) -> list[dict]:
        return self.http.get("/_sandbox/orders").json()

    def add_orders(self, orders: list[dict]) -> None:
        self.http.post("/_sandbox/orders", json=orders).raise_for_status()

    def publish_report(self, **body: Any) -> dict:
        response = self.http.post("/_sandbox/reports", json=body)
        response.raise_for_status()
        return response.json()

    def responses(self) -> list[dict]:
        return self.http.get("/_sandbox/responses").json()["responses"]


@pytest.fixture(scope="session")
def sp_api_models(reference_dir: Path) -> ModelValidator:
    return ModelValidator(reference_dir / "sp-api-models" / "models")


@pytest.fixture
def start_sandbox(tmp_path, monkeypatch, sp_api_models):
    """``start_sandbox(rate_scale=..., seed=...)`` -> SandboxClient; sets AIRFLOW_CONN_AMAZON_SP_API_NA/_EU/_FE."""
    stack = contextlib.ExitStack()
    started: list[SandboxClient] = []

    def start(*, rate_scale: float = 1000.0, seed: int | None = 0) -> SandboxClient:
        servers = stack.enter_context(
            start_servers(state_dir=tmp_path / f"sandbox-{len(started)}", only=("amazon",), rate_scale=rate_scale, seed=seed)
        )
        for name, value in servers.env().items():
            monkeypatch.setenv(name, value)
        client = SandboxClient(servers.urls["amazon"])
        started.append(client)
        return client

    try:
        yield start
        problems = []
        for client in started:
            for exchange in client.responses():
                problems += sp_api_models.errors(exchange["operation"], exchange["status"], exchange["body"])
        assert not problems, "sandbox responses that do not match Amazon's models:\n" + "\n".join(problems[:20])
    finally:
        stack.close()


@pytest.fixture
def sandbox(start_sandbox) -> SandboxClient:
    return start_sandbox()


@pytest.fixture
def fast_hook_kwargs() -> dict:
    """Retry settings that keep the suite fast (production defaults: 1 s base, 60 s max)."""
    return {"backoff_base": 0.01, "backoff_max": 0.05, "timeout": 5.0}


@pytest.fixture
def hook(sandbox, fast_hook_kwargs):
    """The NA connection's hook (amazon_sp_api_na: US, CA, MX, BR)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook

    hook = SellingPartnerHook("amazon_sp_api_na", **fast_hook_kwargs)
    yield hook
    hook.close()


@pytest.fixture
def eu_hook(sandbox, fast_hook_kwargs):
    """The EU connection's hook (amazon_sp_api_eu)."""
    from amazon_netsuite.amazon.hook import SellingPartnerHook

    hook = SellingPartnerHook("amazon_sp_api_eu", **fast_hook_kwargs)
    yield hook
    hook.close()
