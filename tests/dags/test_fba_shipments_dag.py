"""amazon_fba_shipments_to_netsuite end to end with ``airflow dags test`` against the sandbox: the
deferrable report per region, fulfillments and billing documents, re-runs, and the accounting proof:
after orders + shipments + settlements, Amazon clearing nets to exactly zero for the settled orders."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx

from amazon_netsuite.ledger import Ledger
from amazon_netsuite.mappings import load_mappings
from tests.dags.backends import BACKENDS, assert_only_through, connection_env, writes
from tests.dags.test_dag_runs import _dags_test

DAG_ID = "amazon_fba_shipments_to_netsuite"
ORDERS_WINDOW = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2030-01-01T00:00:00Z"}
#: the FBA report reads 30 days at most: the seeded orders ship within the last 14 days
WINDOW = {"window_start": (dt.datetime.now(dt.UTC) - dt.timedelta(days=25)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _world(servers, airflow_env, tmp_path, *, orders: int, netsuite_api: str = "soap"):  # noqa: F811
    for url in servers.urls.values():
        httpx.post(f"{url}/_sandbox/reset", timeout=30).raise_for_status()
        httpx.post(f"{url}/_sandbox/seed", json={"seed": 0, "orders": orders}, timeout=60).raise_for_status()
    env = {**airflow_env, **connection_env(servers, netsuite_api)}
    ledger_db = tmp_path / "ledger.db"
    env["AIRFLOW_CONN_SYNC_LEDGER_DEFAULT"] = json.dumps({"conn_type": "sqlite", "host": str(ledger_db)})
    env["AMAZON_NETSUITE_ARCHIVE_DIR"] = str(tmp_path / "archive")
    return env, Ledger(f"sqlite:///{ledger_db}")


def _records(servers, record_type: str) -> list[dict]:  # noqa: F811
    return httpx.get(f"{servers.urls['netsuite']}/_sandbox/records/{record_type}", timeout=30).json()


def _amazon_orders(servers) -> list[dict]:  # noqa: F811
    return httpx.get(f"{servers.urls['amazon']}/_sandbox/orders", timeout=30).json()


def _fba_shipped(servers) -> list[dict]:  # noqa: F811
    return [o for o in _amazon_orders(servers)
            if o["fulfillment"]["fulfilledBy"] == "AMAZON" and o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]


@BACKENDS
def test_given_shipments_before_their_orders_then_they_wait_then_the_next_run_fulfills_and_bills_them(
    servers, airflow_env, tmp_path, netsuite_api  # noqa: F811
):
    env, ledger = _world(servers, airflow_env, tmp_path, orders=40, netsuite_api=netsuite_api)
    shipped = _fba_shipped(servers)
    done = _dags_test(env, DAG_ID, WINDOW)  # no sales order in NetSuite yet: every shipment waits
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert _records(servers, "itemFulfillment") == []
    assert len(ledger.pending(dag_id=DAG_ID)) == len(shipped) > 0
    assert "waiting_for_order" in done.stdout + done.stderr

    assert _dags_test(env, "amazon_orders_to_netsuite", ORDERS_WINDOW).returncode == 0
    # a scheduled-style run (no window): the pending shipments are retried whatever the window
    done = _dags_test(env, DAG_ID)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert ledger.pending(dag_id=DAG_ID) == []
    assert len(_records(servers, "itemFulfillment")) == len(shipped)
    assert len(_records(servers, "cashSale")) + len(_records(servers, "invoice")) == len(shipped)
    assert {status for _, status, _, _ in ledger.record_counts(dag_id=DAG_ID)} == {"synced"}
    assert_only_through(servers, netsuite_api, "restTransform", "suiteql")
    written = writes(servers)

    # re-running the window writes nothing
    done = _dags_test(env, DAG_ID, WINDOW)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert writes(servers) == written
    assert len(_records(servers, "itemFulfillment")) == len(shipped)
    assert len(_records(servers, "cashSale")) + len(_records(servers, "invoice")) == len(shipped)


def test_given_orders_shipments_and_settlements_of_the_seeded_month_then_amazon_clearing_nets_to_zero(
    servers, airflow_env, tmp_path  # noqa: F811
):
    """Revenue is booked once, on each shipment's billing document, into clearing; the settlement journal
    clears it. Every settled order is an FBA order billed here or an MFN order (billed by the MFN flow,
    not this one): clearing = (billed, not settled yet) - (settled MFN orders, not billed here) exactly,
    i.e. the settled FBA orders net to zero to the cent."""
    env, ledger = _world(servers, airflow_env, tmp_path, orders=120)
    assert _dags_test(env, "amazon_orders_to_netsuite", ORDERS_WINDOW).returncode == 0
    done = _dags_test(env, DAG_ID, WINDOW)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    done = _dags_test(env, "amazon_settlements_to_netsuite")
    assert "balance carried" in done.stdout + done.stderr  # the settlements were posted

    from sandbox.amazon.settlements import settlement_files

    # the seeded settlements' order rows that clear Amazon clearing (ItemPrice, Promotion), per order
    mappings = load_mappings()
    orders = {o["orderId"]: o for o in _amazon_orders(servers)}
    settled: dict[str, Decimal] = {}
    documents = httpx.get(f"{servers.urls['amazon']}/_sandbox/calls", timeout=30)  # noqa: F841 - server alive
    for journal in _records(servers, "journalEntry"):
        assert journal["externalId"].startswith("AMZ-JE-")
    for file in settlement_files(list(orders.values()), 0, now=dt.datetime.now(dt.UTC), history=1, extras=False):
        for line in file.text.splitlines()[2:]:
            cells = line.split("\t")
            row = dict(zip(file.text.splitlines()[0].split("\t"), cells, strict=False))
            if row.get("transaction-type") == "Order" and row.get("amount-type") in ("ItemPrice", "Promotion"):
                amount = Decimal(row["amount"].replace(",", "."))
                settled[row["order-id"]] = settled.get(row["order-id"], Decimal(0)) + amount
    assert settled, "the seeded settlements hold order rows"
    billed = {}
    for record_type in ("cashSale", "invoice"):
        for document in _records(servers, record_type):
            order_id = document["memo"].split("Amazon order ", 1)[1].split(",", 1)[0]
            billed[order_id] = billed.get(order_id, Decimal(0)) + Decimal(str(document["total"]))
    settled_fba = [o for o in settled if orders[o]["fulfillment"]["fulfilledBy"] == "AMAZON"]
    assert settled_fba, "some settled orders are FBA orders"
    for order_id in settled_fba:
        assert billed.get(order_id) == settled[order_id], order_id  # each settled FBA order nets to zero
    for marketplace in mappings.marketplaces.values():
        mine = {o for o, v in orders.items() if v["salesChannel"]["marketplaceId"] == marketplace.marketplace_id}
        expected = sum((v for o, v in billed.items() if o in mine and o not in settled), Decimal(0)) - sum(
            (v for o, v in settled.items() if o in mine and o not in billed), Decimal(0))
        gl = httpx.get(f"{servers.urls['netsuite']}/_sandbox/gl", params={
            "account": marketplace.amazon_clearing_account_id, "subsidiary": marketplace.subsidiary_id}, timeout=30).json()
        assert Decimal(gl["balance"]) == expected, marketplace.marketplace_name


@BACKENDS
def test_given_a_marketplace_switched_to_invoices_then_refused_on_a_non_ar_account_then_invoiced_after_the_fix(
    servers, airflow_env, tmp_path, netsuite_api  # noqa: F811
):
    """Amazon.ca switched to invoices: NetSuite refuses an invoice on the (other current asset) clearing
    account, so the shipments are fulfilled and dead-lettered with NetSuite's reason; finance adds an A/R
    clearing account, names it in marketplaces.csv, replays: invoiced once, into it."""
    import shutil

    env, ledger = _world(servers, airflow_env, tmp_path, orders=60, netsuite_api=netsuite_api)
    ca = [o for o in _fba_shipped(servers) if o["salesChannel"]["marketplaceId"] == "A2EUQ1WTGCTBG2"]
    assert ca, "the seed has shipped FBA orders on Amazon.ca"
    mappings = tmp_path / "mappings"
    shutil.copytree(load_mappings().directory, mappings)

    def set_ca(**values: str) -> None:
        lines = (mappings / "marketplaces.csv").read_text().splitlines()
        header = lines[0].split(",")
        rows = [line.split(",") for line in lines[1:]]
        for row in rows:
            if row[0] == "A2EUQ1WTGCTBG2":
                for name, value in values.items():
                    row[header.index(name)] = value
        (mappings / "marketplaces.csv").write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")

    set_ca(billing_document="invoice")
    env["AMAZON_NETSUITE_MAPPINGS_DIR"] = str(mappings)
    assert _dags_test(env, "amazon_orders_to_netsuite", ORDERS_WINDOW).returncode == 0
    done = _dags_test(env, DAG_ID, WINDOW)
    assert done.returncode != 0
    failed = ledger.failed(dag_id=DAG_ID)
    assert len(failed) == len(ca) and {r.reason for r in failed} == {"INVALID_KEY_OR_REF"}
    assert "accountsReceivable" in failed[0].last_error
    assert len([f for f in _records(servers, "itemFulfillment")]) == len(_fba_shipped(servers))  # fulfilled all the same

    httpx.post(f"{servers.urls['netsuite']}/_sandbox/records/account", json=[{
        "internalId": "1261", "acctNumber": "1261", "acctName": "Amazon Clearing - CA (A/R)",
        "acctType": "_accountsReceivable", "subsidiaryList": [{"internalId": "3"}]}], timeout=30).raise_for_status()
    set_ca(amazon_clearing_account_id="1261")
    done = _dags_test(env, "sync_replay_failed_records", {"dag_id": DAG_ID})
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert ledger.failed(dag_id=DAG_ID) == []
    invoices = [d for d in _records(servers, "invoice") if d["subsidiary"]["internalId"] == "3"]
    assert len(invoices) == len(ca) and {d["account"]["internalId"] for d in invoices} == {"1261"}
    assert all(d["externalId"].startswith("AMZ-INV-") for d in invoices)
    gl = httpx.get(f"{servers.urls['netsuite']}/_sandbox/gl", params={"account": "1261"}, timeout=30).json()
    assert Decimal(gl["balance"]) == sum(Decimal(str(d["total"])) for d in invoices)
    assert_only_through(servers, netsuite_api, "restTransform")
