"""The "Amazon ⇄ NetSuite" page under a real ``airflow api-server`` (the plugin mounted as Airflow 3.3 mounts
it), over HTTP with Airflow's own auth (SimpleAuthManager users and JWTs from ``POST /auth/token``):
anonymous requests are refused, a viewer reads but cannot replay, a user's Replay starts a
``sync_replay_failed_records`` run with the selected keys through Airflow's REST API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from amazon_netsuite.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PASSWORDS = {"admin": "admin-pw", "operator": "operator-pw", "viewer": "viewer-pw"}
FAILED_KEY = "amazon_orders_to_netsuite:salesOrder:113-0000000-0000042"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("api-home")
    ledger_db = home / "ledger.db"
    ledger = Ledger(f"sqlite:///{ledger_db}")
    ledger.record_failed(dag_id="amazon_orders_to_netsuite", record_type="salesOrder", source_key="113-0000000-0000042",
                         reason="unknown_sku", run_id="scheduled__seed", error="SKU ACME-UNMAPPED-SKU is not in sku_items.csv",
                         replay={"amazon_order_id": "113-0000000-0000042"})
    ledger.record_synced(dag_id="amazon_settlements_to_netsuite", record_type="journalEntry", source_key="77000000001",
                         external_id="AMZ-JE-77000000001", internal_id="901", run_id="scheduled__seed",
                         replay={"marketplace_ids": ["ATVPDKIKX0DER"], "external_ids": ["AMZ-JE-77000000001"]})
    ledger.record_reconciliation(run_id="scheduled__recon", scope="amazon_sp_api_na", check="clearing", findings=[],
                                 counts={"settlements": 1, "balanced": 1},
                                 detail=[{"settlement_id": "77000000001", "balanced": True, "net": "0.00", "base_net": "0.00",
                                          "currency": "USD", "orders": 3, "unbilled": []}])
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,operator:op,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-secret-for-the-sync-page-test-only",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW_CONN_SYNC_LEDGER_DEFAULT": json.dumps({"conn_type": "sqlite", "host": str(ledger_db)}),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
    })
    for command in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run([AIRFLOW, *command], env=env, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    log = (home / "api-server.log").open("w")
    server = subprocess.Popen([AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (home / "api-server.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "api-server did not start"
            time.sleep(1)
        yield base, ledger
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _token(base: str, user: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/auth/token", json={"username": user, "password": PASSWORDS[user]}, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_plugin_registers_the_page_and_its_view(api_server):
    base, _ = api_server
    views = httpx.get(f"{base}/api/v2/plugins", headers=_token(base, "admin"), timeout=30).json()
    mine = next(p for p in views["plugins"] if p["name"] == "amazon_netsuite")
    assert mine["external_views"][0]["href"] == "/amazon-netsuite/"
    assert mine["fastapi_apps"][0]["url_prefix"] == "/amazon-netsuite"


@pytest.mark.parametrize("path", ["/amazon-netsuite/", "/amazon-netsuite/api/records", "/amazon-netsuite/api/settlements",
                                  "/amazon-netsuite/api/reconciliation"])
def test_anonymous_and_forged_requests_are_refused(api_server, path):
    base, _ = api_server
    assert httpx.get(f"{base}{path}", timeout=30).status_code == 401
    forged = httpx.get(f"{base}{path}", headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert forged.status_code in (401, 403)
    assert httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": [FAILED_KEY]}, timeout=30).status_code == 401


def test_a_viewer_sees_the_failure_settlements_and_reconciliation_but_cannot_replay(api_server):
    base, _ = api_server
    viewer = _token(base, "viewer")
    page = httpx.get(f"{base}/amazon-netsuite/", headers=viewer, timeout=30)
    assert page.status_code == 200 and "Amazon ⇄ NetSuite" in page.text
    records = httpx.get(f"{base}/amazon-netsuite/api/records", headers=viewer, timeout=30).json()
    [failed] = [r for r in records["records"] if r["key"] == FAILED_KEY]
    assert failed["reason"] == "unknown_sku" and "ACME-UNMAPPED-SKU" in failed["error"] and failed["status"] == "failed"
    assert {"dag_id": "amazon_orders_to_netsuite", "status": "failed", "reason": "unknown_sku", "count": 1} in records["groups"]
    detail = httpx.get(f"{base}/amazon-netsuite/api/records/{FAILED_KEY}", headers=viewer, timeout=30).json()
    assert detail["replay"] == {"amazon_order_id": "113-0000000-0000042"}
    [settlement] = httpx.get(f"{base}/amazon-netsuite/api/settlements", headers=viewer, timeout=30).json()["settlements"]
    assert settlement["journal_entries"] == ["AMZ-JE-77000000001"] and settlement["reconciliation"]["balanced"] is True
    checks = httpx.get(f"{base}/amazon-netsuite/api/reconciliation", headers=viewer, timeout=30).json()["checks"]
    assert [(c["scope"], c["check_name"], c["findings"]) for c in checks] == [("amazon_sp_api_na", "clearing", 0)]
    refused = httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": [FAILED_KEY]}, headers=viewer, timeout=30)
    assert refused.status_code == 403


def test_replay_starts_a_replay_run_with_the_selected_keys(api_server):
    base, _ = api_server
    operator = _token(base, "operator")
    unknown = httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": ["no:such:key"]}, headers=operator, timeout=30)
    assert unknown.status_code == 404
    empty = httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": []}, headers=operator, timeout=30)
    assert empty.status_code == 422

    started = httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": [FAILED_KEY]}, headers=operator, timeout=60)

    assert started.status_code == 200, started.text
    body = started.json()
    assert body["url"] == f"/dags/sync_replay_failed_records/runs/{body['dag_run_id']}"
    run = httpx.get(f"{base}/api/v2/dags/sync_replay_failed_records/dagRuns/{body['dag_run_id']}", headers=operator, timeout=30)
    assert run.status_code == 200 and run.json()["conf"] == {"keys": [FAILED_KEY], "dry_run": False}
    assert run.json()["triggering_user_name"] == "operator"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = ROOT / "docs" / "images" / "sync-page.png"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_in_headless_chromium_the_page_shows_the_failure_and_replay_starts_a_run(api_server):
    """A person's view: logged in (the UI's session cookie), the page lists the seeded failure, the
    settlement and the reconciliation; ticking the record and pressing Replay starts a run and links to it."""
    from playwright.sync_api import sync_playwright

    base, _ = api_server
    token = _token(base, "operator")["Authorization"].split(" ", 1)[1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            # anonymous first: refused
            anonymous = context.new_page().goto(f"{base}/amazon-netsuite/")
            assert anonymous is not None and anonymous.status == 401
            context.add_cookies([{"name": "_token", "value": token, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/amazon-netsuite/")
            row = page.locator(f'tr[data-key="{FAILED_KEY}"]')
            row.wait_for(timeout=30_000)
            assert "unknown_sku" in row.inner_text() and "ACME-UNMAPPED-SKU" in row.inner_text()
            page.locator("#settlements").get_by_text("nets to zero").wait_for(timeout=30_000)
            assert "AMZ-JE-77000000001" in page.locator("#settlements").inner_text()
            page.locator("#checks").get_by_text("clearing").first.wait_for(timeout=30_000)  # filled after the records
            assert "clearing" in page.locator("#checks").inner_text()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            assert page.locator("#replay").is_disabled()
            row.locator("input.pick").check()
            page.locator("#replay").click()
            link = page.locator("#run-link")
            link.wait_for(timeout=60_000)
            run_id = link.inner_text()
            assert link.get_attribute("href") == f"/dags/sync_replay_failed_records/runs/{run_id}"
        finally:
            browser.close()
    run = httpx.get(f"{base}/api/v2/dags/sync_replay_failed_records/dagRuns/{run_id}", headers=_token(base, "operator"),
                    timeout=30)
    assert run.status_code == 200 and run.json()["conf"]["keys"] == [FAILED_KEY]
