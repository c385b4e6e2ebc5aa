"""The "Amazon ⇄ NetSuite" page under a real ``airflow api-server`` (the plugin mounted as Airflow 3.3 mounts
it), over HTTP with Airflow's own auth (SimpleAuthManager users and JWTs from ``POST /auth/token``):
anonymous requests are refused, a viewer reads but cannot replay, a user's Replay starts a
``sync_replay_failed_records`` run with the selected keys through Airflow's REST API.

The failure on the page is a real one: the sandbox's Amazon has an order of a SKU missing from
``sku_items.csv`` (a product launched on Amazon before NetSuite knew it) and the orders flow dead-lettered it.
In headless Chromium, the person fixes the cause (the item created in NetSuite through the sandbox's admin
API, the row added to the mapping table), presses Replay, a scheduler runs the replay, and the page shows
the record synced."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from amazon_netsuite.ledger import Ledger
from tests.dags.airflow_cli import copy_airflow_db

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PASSWORDS = {"admin": "admin-pw", "operator": "operator-pw", "viewer": "viewer-pw"}
ORDER_ID = "113-0000000-0000042"
FAILED_KEY = f"amazon_orders_to_netsuite:salesOrder:{ORDER_ID}"
UNMAPPED_SKU = "ACME-UNMAPPED-SKU"  # the sandbox's seeded order of a SKU sku_items.csv does not have
REPLAY_DAG_ID = "sync_replay_failed_records"


@dataclass
class Stack:
    """The api-server (and its environment, for a scheduler to join), the ledger, the sandbox's admin URLs and
    the mapping tables the DAG runs read (a copy, so a test can add a row)."""

    base: str
    ledger: Ledger
    env: dict[str, str]
    home: Path
    sandbox: dict[str, str]
    mappings: Path


def _seed_real_failure(sandbox: dict[str, str], env: dict[str, str], ledger: Ledger) -> None:
    """An order of the unmapped SKU at Amazon, read and dead-lettered by the orders flow's own code."""
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.flows.orders import fetch_orders_by_id, sync_orders
    from amazon_netsuite.mappings import load_mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    for url in sandbox.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
    httpx.post(f"{sandbox['amazon']}/_sandbox/seed", json={"seed": 0, "orders": 0, "unmapped_sku": True},
               timeout=60).raise_for_status()
    httpx.post(f"{sandbox['netsuite']}/_sandbox/seed", json={"seed": 0}, timeout=60).raise_for_status()
    [order] = [o for o in httpx.get(f"{sandbox['amazon']}/_sandbox/orders", timeout=30).json()
               if any(i["product"]["sellerSku"] == UNMAPPED_SKU for i in o["orderItems"])]
    httpx.post(f"{sandbox['amazon']}/_sandbox/orders", json=[{**order, "orderId": ORDER_ID}], timeout=30).raise_for_status()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if name.startswith("AIRFLOW_CONN_"):
                patch.setenv(name, value)
        mappings = load_mappings()
        amazon = hooks_for_targets(mappings.sp_api_targets())
        orders, missing = fetch_orders_by_id(amazon, [ORDER_ID])
        assert missing == [] and len(orders) == 1
        result = sync_orders(orders, mappings=mappings, netsuite=NetSuiteHook(), ledger=ledger, run_id="scheduled__seed")
    assert result.counts["failed:unknown_sku"] == 1, dict(result.counts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, reference_dir):
    from sandbox.runner import start_servers

    with start_servers(state_dir=tmp_path_factory.mktemp("page-sandbox"), rate_scale=500, seed=None) as running:
        yield running


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, sandbox, migrated_airflow_db):
    home = tmp_path_factory.mktemp("api-home")
    ledger_db = home / "ledger.db"
    ledger = Ledger(f"sqlite:///{ledger_db}")
    _seed_real_failure(sandbox.urls, sandbox.env(), ledger)
    mappings = home / "mappings"
    shutil.copytree(ROOT / "include" / "mappings", mappings)
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
        # what a scheduler joining this api-server needs to run tasks (the browser test starts one)
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only triggered runs
        "AMAZON_NETSUITE_MAPPINGS_DIR": str(mappings),
        "AMAZON_NETSUITE_STAGING_URI": f"file://{home}/staging",
        **sandbox.env(),
    })
    # `airflow db migrate` and the DAGs' pools: the template made once per worker, copied
    copy_airflow_db(migrated_airflow_db, home / "airflow.db")
    done = subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, capture_output=True, text=True, timeout=600, check=False)
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
        yield Stack(base=base, ledger=ledger, env=env, home=home, sandbox=sandbox.urls, mappings=mappings)
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
    base = api_server.base
    views = httpx.get(f"{base}/api/v2/plugins", headers=_token(base, "admin"), timeout=30).json()
    mine = next(p for p in views["plugins"] if p["name"] == "amazon_netsuite")
    assert mine["external_views"][0]["href"] == "/amazon-netsuite/"
    assert mine["fastapi_apps"][0]["url_prefix"] == "/amazon-netsuite"


@pytest.mark.parametrize("path", ["/amazon-netsuite/", "/amazon-netsuite/api/records", "/amazon-netsuite/api/settlements",
                                  "/amazon-netsuite/api/reconciliation"])
def test_anonymous_and_forged_requests_are_refused(api_server, path):
    base = api_server.base
    assert httpx.get(f"{base}{path}", timeout=30).status_code == 401
    forged = httpx.get(f"{base}{path}", headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert forged.status_code in (401, 403)
    assert httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": [FAILED_KEY]}, timeout=30).status_code == 401


def test_a_viewer_sees_the_failure_settlements_and_reconciliation_but_cannot_replay(api_server):
    base = api_server.base
    viewer = _token(base, "viewer")
    page = httpx.get(f"{base}/amazon-netsuite/", headers=viewer, timeout=30)
    assert page.status_code == 200 and "Amazon ⇄ NetSuite" in page.text
    records = httpx.get(f"{base}/amazon-netsuite/api/records", headers=viewer, timeout=30).json()
    [failed] = [r for r in records["records"] if r["key"] == FAILED_KEY]
    assert failed["reason"] == "unknown_sku" and UNMAPPED_SKU in failed["error"] and failed["status"] == "failed"
    assert {"dag_id": "amazon_orders_to_netsuite", "status": "failed", "reason": "unknown_sku", "count": 1} in records["groups"]
    detail = httpx.get(f"{base}/amazon-netsuite/api/records/{FAILED_KEY}", headers=viewer, timeout=30).json()
    assert detail["replay"] == {"order_id": ORDER_ID, "marketplace_id": "ATVPDKIKX0DER"}
    [settlement] = httpx.get(f"{base}/amazon-netsuite/api/settlements", headers=viewer, timeout=30).json()["settlements"]
    assert settlement["journal_entries"] == ["AMZ-JE-77000000001"] and settlement["reconciliation"]["balanced"] is True
    checks = httpx.get(f"{base}/amazon-netsuite/api/reconciliation", headers=viewer, timeout=30).json()["checks"]
    assert [(c["scope"], c["check_name"], c["findings"]) for c in checks] == [("amazon_sp_api_na", "clearing", 0)]
    refused = httpx.post(f"{base}/amazon-netsuite/api/replay", json={"keys": [FAILED_KEY]}, headers=viewer, timeout=30)
    assert refused.status_code == 403


def test_replay_starts_a_replay_run_with_the_selected_keys(api_server):
    base = api_server.base
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
    # no scheduler runs it here; gone, so the browser test's scheduler runs only the browser's replay
    deleted = httpx.delete(f"{base}/api/v2/dags/{REPLAY_DAG_ID}/dagRuns/{body['dag_run_id']}", headers=_token(base, "admin"),
                           timeout=30)
    assert deleted.status_code == 204, deleted.text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The README's screenshot is refreshed only on request (a test run leaves the checkout as it was):
#: AMAZON_NETSUITE_SCREENSHOT=docs/images/sync-page.png make test PYTEST_ARGS="-k chromium"
SCREENSHOT_ENV = "AMAZON_NETSUITE_SCREENSHOT"


def _fix_the_cause(stack: Stack) -> str:
    """What the person does: the item is created in NetSuite (the sandbox's admin API) and the SKU's row added to
    sku_items.csv (the copy the DAG runs read). Returns the new item's internalId."""
    [item] = httpx.post(f"{stack.sandbox['netsuite']}/_sandbox/records/inventoryItem", timeout=30, json=[{
        "itemId": "Acme Gadget", "displayName": "Acme Gadget (new on Amazon)", "includeChildren": True,
        "incomeAccount": {"internalId": "4010"}, "subsidiaryList": [{"internalId": "1"}]}]).json()
    with (stack.mappings / "sku_items.csv").open("a", encoding="utf-8") as table:
        table.write(f"{UNMAPPED_SKU},,B0ACMEUNMP,{item['internalId']},MFN,1,DRINKING_CUP,0,true\n")
    from amazon_netsuite.mappings import load_mappings

    assert load_mappings(stack.mappings).skus_for_marketplace("ATVPDKIKX0DER")  # the edited table is valid
    return str(item["internalId"])


@contextlib.contextmanager
def _scheduler(stack: Stack):
    """``airflow scheduler`` (LocalExecutor) joining the api-server, as ``airflow standalone`` runs it."""
    log_path = stack.home / "scheduler.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([AIRFLOW, "scheduler"], env=stack.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield log_path
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the scheduler and the task processes it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for_run(stack: Stack, run_id: str, log_path: Path, timeout: float = 240) -> dict[str, Any]:
    headers = _token(stack.base, "operator")
    deadline = time.monotonic() + timeout
    while True:
        run = httpx.get(f"{stack.base}/api/v2/dags/{REPLAY_DAG_ID}/dagRuns/{run_id}", headers=headers, timeout=30).json()
        if run["state"] in ("success", "failed"):
            return run
        assert time.monotonic() < deadline, f"replay run still {run['state']}:\n" + log_path.read_text()[-4000:]
        time.sleep(2)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_in_headless_chromium_the_failure_is_fixed_replayed_and_shows_synced(api_server, tmp_path):
    """A person's view: logged in (the UI's session cookie), the page lists the dead-lettered order, the
    settlement and the reconciliation. They fix the cause (item in NetSuite, row in sku_items.csv), tick the
    record and press Replay: the run starts and is linked; once the scheduler has run it, the reloaded page
    has nothing failed and shows the record synced with its NetSuite sales order."""
    from playwright.sync_api import sync_playwright

    stack = api_server
    base = stack.base
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
            assert "unknown_sku" in row.inner_text() and UNMAPPED_SKU in row.inner_text()
            page.locator("#settlements").get_by_text("nets to zero").wait_for(timeout=30_000)
            assert "AMZ-JE-77000000001" in page.locator("#settlements").inner_text()
            page.locator("#checks").get_by_text("clearing").first.wait_for(timeout=30_000)  # filled after the records
            assert "clearing" in page.locator("#checks").inner_text()
            screenshot = ROOT / os.environ[SCREENSHOT_ENV] if os.environ.get(SCREENSHOT_ENV) else tmp_path / "page.png"
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one

            item_id = _fix_the_cause(stack)
            with _scheduler(stack) as scheduler_log:
                assert page.locator("#replay").is_disabled()
                row.locator("input.pick").check()
                page.locator("#replay").click()
                link = page.locator("#run-link")
                link.wait_for(timeout=60_000)
                run_id = link.inner_text()
                assert link.get_attribute("href") == f"/dags/{REPLAY_DAG_ID}/runs/{run_id}"

                run = _wait_for_run(stack, run_id, scheduler_log)
            assert run["state"] == "success", scheduler_log.read_text()[-4000:]
            assert run["conf"]["keys"] == [FAILED_KEY]

            page.reload()
            page.locator("#groups").get_by_text("Nothing failed or pending.").wait_for(timeout=30_000)
            assert page.locator(f'tr[data-key="{FAILED_KEY}"]').count() == 0
            page.select_option("#status", "synced")
            synced = page.locator(f'tr[data-key="{FAILED_KEY}"]')
            synced.wait_for(timeout=30_000)
            assert synced.locator("td").nth(3).inner_text() == "synced"
            assert f"AMZ-SO-{ORDER_ID}" in synced.inner_text()
            page.reload()  # the choice is kept in the address: a reload still shows the synced record
            page.locator(f'tr[data-key="{FAILED_KEY}"]').wait_for(timeout=30_000)
        finally:
            browser.close()
    # the browser's replay run wrote it: the ledger and NetSuite agree with the page
    record = stack.ledger.get(FAILED_KEY)
    assert record.status == "synced" and record.run_id == f"{REPLAY_DAG_ID}/{run_id}"
    [sales_order] = [so for so in httpx.get(f"{stack.sandbox['netsuite']}/_sandbox/records/salesOrder", timeout=30).json()
                     if so.get("externalId") == f"AMZ-SO-{ORDER_ID}"]
    assert str(sales_order["internalId"]) == record.internal_id
    assert item_id in [line["item"]["internalId"] for line in sales_order["itemList"]]  # the item the fix created
