"""The returns flow against the emulators: billed orders, then Amazon refund events -> return authorization +
cash refund / credit memo (to the cent, out of refunds pending), returned units -> item receipts by
disposition; re-runs write nothing; an order not billed yet waits, then is dead-lettered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments, inventory_item_ids
from amazon_netsuite.flows.returns import load_refunds, load_returns
from amazon_netsuite.netsuite.records import (
    FulfillmentLine,
    build_item_fulfillment,
    shipment_fulfillment_external_id,
)
from amazon_netsuite.transforms.returns import load_dispositions, parse_refund_event
from sandbox.amazon.finances import CHARGE_TYPES
from sandbox.amazon.seed import MARKETPLACES
from sandbox.amazon.settlements import item_amounts

ROOT = Path(__file__).resolve().parents[3]
CENT = Decimal("0.01")


def fields(record):
    return {f["scriptId"]: f["value"] for f in record.get("customFieldList") or []}


def day(record) -> datetime:
    """A record's ``tranDate`` as the emulator's admin API shows it (ISO text) -> the ``datetime`` the record
    builders take (SOAP would accept the text; REST sends a date, which the hook derives from a datetime)."""
    return datetime.fromisoformat(record["tranDate"])


def bill(world, netsuite, orders):
    """Fulfil and bill every item line of these sales orders (one shipment each)."""
    items = inventory_item_ids(world.mappings)
    shipments = []
    for order in orders:
        lines = {int(line["line"]): Decimal(str(line["quantity"])) for line in order["itemList"]
                 if line["item"]["internalId"] in items and not line.get("isClosed")}
        record = build_item_fulfillment(external_id=shipment_fulfillment_external_id(f"S-{order['internalId']}"),
                                        sales_order_id=order["internalId"], ship_date=day(order),
                                        lines=[FulfillmentLine(n, q) for n, q in lines.items()])
        assert netsuite.add_records("itemFulfillment", [record])[0].ok
        shipments.append((order, lines))
    fresh = netsuite.get_records("salesOrder", [o["internalId"] for o, _ in shipments])
    outcomes = bill_shipments([
        ShipmentToBill(f"S-{o['internalId']}", fields(o)["custbody_amazon_order_id"], fields(o)["custbody_amazon_marketplace_id"],
                       fresh[o["internalId"]], lines, day(o)) for o, lines in shipments], netsuite=netsuite, mappings=world.mappings)
    assert {o.status for o in outcomes} == {"billed"}, [(o.reason, o.message) for o in outcomes]


def refund_event(amazon_order, item, *, key: str, fraction: Decimal = Decimal(1), quantity: int | None = None,
                 posted: datetime | None = None) -> dict:
    """A Finances API refund event of ``fraction`` of one item, in the sandbox's money model."""
    marketplace = MARKETPLACES[amazon_order["salesChannel"]["marketplaceId"]]
    charges, promotions = [], []
    for amount_type, description, amount in item_amounts(amazon_order, item):
        value = (amount * fraction).quantize(CENT)
        money = {"CurrencyCode": marketplace.currency, "CurrencyAmount": float(-value)}  # refunded: the sale's signs reversed
        if amount_type == "ItemPrice":
            charges.append({"ChargeType": CHARGE_TYPES[description], "ChargeAmount": money})
        elif amount_type == "Promotion":
            promotions.append({"PromotionType": "Promotion", "PromotionId": "P", "PromotionAmount": money})
    return {"AmazonOrderId": amazon_order["orderId"], "MarketplaceName": marketplace.name,
            "PostedDate": (posted or datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ShipmentItemAdjustmentList": [{
                "SellerSKU": item["product"]["sellerSku"], "OrderAdjustmentItemId": key,
                "QuantityShipped": quantity if quantity is not None else item["quantityOrdered"],
                "ItemChargeAdjustmentList": charges, "PromotionAdjustmentList": promotions}]}


@pytest.fixture
def billed(world):
    """Synced and billed sales orders, with their Amazon orders."""
    world.reset(orders=40)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    orders = [o for o in world.records("salesOrder") if o["status"] != "Closed"]
    bill(world, netsuite, orders)
    amazon = {o["orderId"]: o for o in world.amazon_orders()}
    pairs = [(o, amazon[fields(o)["custbody_amazon_order_id"]]) for o in orders]
    return netsuite, pairs


def on_hand(world, item_id, location) -> Decimal:
    """Units on hand of a NetSuite item at a location (the sandbox's stock levels)."""
    levels = world.netsuite_admin.get("/_sandbox/stock", params={"item": item_id, "location": location}).json()
    return Decimal(levels[0]["onHand"]) if levels else Decimal(0)


def gl(world, account, subsidiary):
    return Decimal(world.netsuite_admin.get("/_sandbox/gl", params={"account": account, "subsidiary": subsidiary}).json()["balance"])


def test_full_refunds_of_billed_orders_book_to_the_cent_out_of_refunds_pending_and_rerun_writes_nothing(world, billed):
    netsuite, pairs = billed
    events = [refund_event(amazon, amazon["orderItems"][0], key=f"K{n:05d}") for n, (_so, amazon) in enumerate(pairs)]
    result = load_refunds(events, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="r1")
    assert result["counts"]["synced"] == len(events), result
    expected: dict[tuple[str, str, str], Decimal] = {}
    for event in events:
        refund = parse_refund_event(event)
        marketplace = world.mappings.marketplace_by_name(refund.marketplace_name)
        record_type, prefix = ("cashRefund", "AMZ-CR-") if marketplace.billing_document == "cash_sale" else ("creditMemo", "AMZ-CM-")
        doc = {r["externalId"]: r for r in world.records(record_type)}[f"{prefix}{refund.amazon_order_id}-{refund.key}"]
        assert Decimal(str(doc["total"])) == refund.total  # NetSuite's total is exactly what Amazon refunded
        account = marketplace.refunds_pending_account_id if record_type == "cashRefund" else marketplace.amazon_clearing_account_id
        key = (record_type, account, marketplace.subsidiary_id)
        expected[key] = expected.get(key, Decimal(0)) + refund.total
    assert {k[0] for k in expected} == {"cashRefund", "creditMemo"}  # both kinds of marketplace are covered
    before = {k: gl(world, k[1], k[2]) for k in expected}
    for (record_type, account, subsidiary), total in expected.items():
        if record_type == "cashRefund":
            assert before[(record_type, account, subsidiary)] == -total  # refunds pending credited by the refunds
    ras = world.records("returnAuthorization")
    assert len(ras) == len(events) and all(r["status"] == "Pending Receipt" for r in ras)
    # each credit memo is applied to its order's invoice (the billing document), which it pays down
    invoices = {r["internalId"]: r for r in world.records("invoice")}
    memos = world.records("creditMemo")
    assert memos and all(m["status"] == "Fully Applied" and Decimal(str(m["unapplied"])) == 0 for m in memos)
    for memo in memos:
        (applied,) = memo["applyList"]
        invoice = invoices[str(applied["doc"])]
        assert invoice["externalId"].startswith("AMZ-INV-") and invoice["createdFrom"]["internalId"] == next(
            r for r in ras if r["internalId"] == memo["createdFrom"]["internalId"])["createdFrom"]["internalId"]
        assert Decimal(str(invoice["amountRemaining"])) == Decimal(str(invoice["total"])) - Decimal(str(applied["amount"]))
    writes = world.calls(world.netsuite_admin, "addList")

    again = load_refunds(events, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="r2")
    assert again["counts"]["already_synced"] == len(events) and "synced" not in again["counts"]
    assert world.calls(world.netsuite_admin, "addList") == writes
    assert {k: gl(world, k[1], k[2]) for k in expected} == before


def test_partial_refunds_and_several_refunds_of_one_order_each_get_their_documents(world, billed):
    netsuite, pairs = billed
    so, amazon = next((so, a) for so, a in pairs if a["orderItems"][0]["quantityOrdered"] >= 2
                      and MARKETPLACES[a["salesChannel"]["marketplaceId"]].currency == "USD")
    item = amazon["orderItems"][0]
    units = item["quantityOrdered"]  # two refunds return every unit: units - 1, then the last one
    first = refund_event(amazon, item, key="P00001", fraction=Decimal(units - 1) / units, quantity=units - 1)
    second = refund_event(amazon, item, key="P00002", fraction=Decimal(1) / units, quantity=1)
    result = load_refunds([first, second], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="p1")
    assert result["counts"]["synced"] == 2, result
    docs = {r["externalId"]: r for r in world.records("cashRefund")}
    totals = [Decimal(str(docs[f"AMZ-CR-{amazon['orderId']}-{k}"]["total"])) for k in ("P00001", "P00002")]
    assert totals == [parse_refund_event(first).total, parse_refund_event(second).total]
    # a third refund of the same units: NetSuite has nothing left to return on that line
    third = refund_event(amazon, item, key="P00003", fraction=Decimal("0.5"), quantity=1)
    failed = load_refunds([third], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="p2")
    assert failed["counts"].get("failed:already_returned") == 1, failed  # NetSuite's initialize offers no unit left


def test_refund_of_an_order_not_billed_waits_then_succeeds_or_is_dead_lettered_after_max_wait(world):
    world.reset(orders=20)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    orders = [o for o in world.records("salesOrder") if o["status"] != "Closed"]
    amazon = {o["orderId"]: o for o in world.amazon_orders()}
    so = orders[0]
    order = amazon[fields(so)["custbody_amazon_order_id"]]
    event = refund_event(order, order["orderItems"][0], key="W00001")
    waiting = load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="w1")
    assert waiting["counts"] == {**waiting["counts"], "pending": 1, "pending:not_billed": 1}
    assert world.records("returnAuthorization") == []
    record = world.ledger.get(f"amazon_returns_to_netsuite:{waiting_type(world, order)}:{order['orderId']}:W00001")
    assert record is not None and record.status == "pending"

    bill(world, netsuite, [so])
    done = load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="w2")
    assert done["counts"]["synced"] == 1

    # an order Amazon knows and NetSuite never got: pending, then dead-lettered once older than max_wait_days
    ghost = {**event, "AmazonOrderId": "111-0000000-9999999", "PostedDate": "2026-01-01T00:00:00Z"}
    dead = load_refunds([ghost], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="w3", max_wait_days=5)
    assert dead["counts"]["failed:order_not_in_netsuite"] == 1
    assert world.ledger.failed(dag_id="amazon_returns_to_netsuite")[0].reason == "order_not_in_netsuite"


def waiting_type(world, amazon_order) -> str:
    marketplace = world.mappings.marketplace(amazon_order["salesChannel"]["marketplaceId"])
    return "cashRefund" if marketplace.billing_document == "cash_sale" else "creditMemo"


def test_returned_units_restock_by_disposition_and_stock_moves_exactly(world, billed):
    netsuite, pairs = billed
    dispositions = load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv")
    us = [(so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER"][:3]
    assert len(us) == 3
    events = [refund_event(a, a["orderItems"][0], key=f"R{n:05d}") for n, (_so, a) in enumerate(us)]
    assert load_refunds(events, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="d1")["counts"]["synced"] == 3
    marketplace = world.mappings.marketplace("ATVPDKIKX0DER")

    rows, expected = [], []
    for (_so, amazon), disposition in zip(us, ("SELLABLE", "CUSTOMER_DAMAGED", "DAMAGED"), strict=True):
        item = amazon["orderItems"][0]
        mapped = world.mappings.sku(item["product"]["sellerSku"], "ATVPDKIKX0DER")  # a UK/DE row may map it elsewhere
        units = Decimal(item["quantityOrdered"] * mapped.units_per_sku)
        rows.append({"amazon_order_id": amazon["orderId"], "seller_sku": item["product"]["sellerSku"],
                     "quantity": item["quantityOrdered"], "disposition": disposition, "reason": "NOT_AS_DESCRIBED",
                     "license_plate": f"LPN{len(rows):08d}", "return_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                     "fulfillment_center": "PHX7"})
        expected.append((mapped.netsuite_item_id, disposition, units))
    before = {(i, loc): on_hand(world, i, loc) for i, _d, _u in expected for loc in (marketplace.fba_location_id, marketplace.return_location_id)}
    result = load_returns(rows, marketplace_id="ATVPDKIKX0DER", mappings=world.mappings, netsuite=netsuite,
                          ledger=world.ledger, dispositions=dispositions, run_id="d2")
    assert result["counts"]["synced"] == 3, result
    moved: dict[tuple[str, str], Decimal] = {}
    for item_id, disposition, units in expected:
        location = {"SELLABLE": marketplace.fba_location_id, "CUSTOMER_DAMAGED": marketplace.return_location_id}.get(disposition)
        if location:
            moved[(item_id, location)] = moved.get((item_id, location), Decimal(0)) + units
    for key, level in before.items():
        assert on_hand(world, *key) - level == moved.get(key, Decimal(0)), key  # a write-off moves nothing
    receipts = world.records("itemReceipt")
    assert len(receipts) == 3 and sorted(r["itemList"][0]["restock"] for r in receipts) == [False, True, True]
    again = load_returns(rows, marketplace_id="ATVPDKIKX0DER", mappings=world.mappings, netsuite=netsuite,
                         ledger=world.ledger, dispositions=dispositions, run_id="d3")
    assert again["counts"]["already_synced"] == 3 and len(world.records("itemReceipt")) == 3


def test_a_return_before_its_refund_waits_pending(world, billed):
    netsuite, pairs = billed
    _so, amazon = pairs[0]
    item = amazon["orderItems"][0]
    row = {"amazon_order_id": amazon["orderId"], "seller_sku": item["product"]["sellerSku"], "quantity": 1,
           "disposition": "SELLABLE", "reason": "", "license_plate": "LPNEARLY01",
           "return_date": datetime.now(UTC).isoformat(), "fulfillment_center": ""}
    result = load_returns([row], marketplace_id=amazon["salesChannel"]["marketplaceId"], mappings=world.mappings,
                          netsuite=netsuite, ledger=world.ledger,
                          dispositions=load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv"), run_id="e1")
    assert result["counts"]["pending:refund_not_booked"] == 1
    assert world.records("itemReceipt") == []


def test_netsuite_refuses_returning_receiving_or_crediting_more_and_a_refund_from_a_wrong_account(world, billed):
    from amazon_netsuite.netsuite.records import (
        BillingLine,
        ReceiptLine,
        build_item_receipt,
        build_refund_document,
        build_return_authorization,
    )

    netsuite, pairs = billed
    so, amazon = next((so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER")
    event = refund_event(amazon, amazon["orderItems"][0], key="X00001")
    assert load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="x1")["counts"]["synced"] == 1
    ra = next(r for r in world.records("returnAuthorization") if r["externalId"].endswith("X00001"))
    line = so["itemList"][0]
    over = build_return_authorization(external_id="AMZ-RA-X-OVER", sales_order_id=so["internalId"], tran_date=day(so),
                                      lines=[BillingLine(line["item"]["internalId"], Decimal(str(line["quantity"])) + 1, Decimal("1.00"),
                                                         order_line=int(line["line"]), tax_code_id=line["taxCode"]["internalId"])])
    result = netsuite.add_records("returnAuthorization", [over])[0]
    assert result.error_code == "USER_ERROR" and "more than was billed" in result.error_message
    # everything on the return authorization is credited: nothing left to initialize a refund from
    assert netsuite.initialize_records("cashRefund", "returnAuthorization", [ra["internalId"]])[ra["internalId"]].error_code == "INVALID_INITIALIZE_REF"
    # a refund from a liability account, on a return authorization with units left to credit (so the refusal is
    # the account's on both backends: REST's transform pre-fills from the return authorization first)
    other, _ = next((o, a) for o, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER" and o is not so)
    other_line = other["itemList"][0]
    open_ra = build_return_authorization(external_id="AMZ-RA-X-OPEN", sales_order_id=other["internalId"], tran_date=day(other),
                                         lines=[BillingLine(other_line["item"]["internalId"], Decimal(1), Decimal("1.00"),
                                                            order_line=int(other_line["line"]),
                                                            tax_code_id=other_line["taxCode"]["internalId"])])
    added = netsuite.add_records("returnAuthorization", [open_ra])[0]
    assert added.ok, added
    wrong = build_refund_document(record_type="cashRefund", external_id="AMZ-CR-X-WRONG", return_authorization_id=added.internal_id,
                                  account_id="2330", tran_date=day(other),  # balance owed: a liability
                                  lines=[BillingLine(other_line["item"]["internalId"], Decimal(1), Decimal("1.00"),
                                                     order_line=int(other_line["line"]),
                                                     tax_code_id=other_line["taxCode"]["internalId"])])
    result = netsuite.add_records("cashRefund", [wrong])[0]
    assert result.error_code == "INVALID_KEY_OR_REF", result
    assert "AMZ-CR-X-WRONG" not in {r["externalId"] for r in world.records("cashRefund")}
    receipt = build_item_receipt(external_id="AMZ-IR-X-OVER", return_authorization_id=ra["internalId"], tran_date=day(so),
                                 lines=[ReceiptLine(1, Decimal(str(ra["itemList"][0]["quantity"])) + 1, "2")])
    result = netsuite.add_records("itemReceipt", [receipt])[0]
    assert result.error_code == "USER_ERROR" and "remaining quantity" in result.error_message


def test_a_seller_fulfilled_return_delivered_to_the_seller_goes_to_the_returns_location(world, billed):
    from amazon_netsuite.transforms.returns import parse_mfn_returns_report
    from sandbox.amazon.finances import MFN_RETURNS_HEADER

    netsuite, pairs = billed
    so, amazon = next((so, a) for so, a in pairs if a["salesChannel"]["marketplaceId"] == "ATVPDKIKX0DER"
                      and a["fulfillment"]["fulfilledBy"] != "AMAZON")
    item = amazon["orderItems"][0]
    event = refund_event(amazon, item, key="M00001")
    assert load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="m1")["counts"]["synced"] == 1
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%d-%b-%Y")
    row = {"Order ID": amazon["orderId"], "Return request date": day, "Amazon RMA ID": "RMAM00001",
           "Merchant SKU": item["product"]["sellerSku"], "Return quantity": str(item["quantityOrdered"]), "Return delivery date": day}
    text = "\t".join(MFN_RETURNS_HEADER) + "\n" + "\t".join(row.get(c, "") for c in MFN_RETURNS_HEADER) + "\n"
    rows, _ = parse_mfn_returns_report(text)
    marketplace = world.mappings.marketplace("ATVPDKIKX0DER")
    mapped = world.mappings.find_sku(item["product"]["sellerSku"], "ATVPDKIKX0DER")

    before = on_hand(world, mapped.netsuite_item_id, marketplace.return_location_id)
    staged = [{**r.__dict__, "return_date": r.return_date.isoformat()} for r in rows]
    result = load_returns(staged, marketplace_id="ATVPDKIKX0DER", mappings=world.mappings, netsuite=netsuite, ledger=world.ledger,
                          dispositions=load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv"), run_id="m2")
    assert result["counts"]["synced"] == 1 and result["restocked"] == {"returns": item["quantityOrdered"] * mapped.units_per_sku}
    assert on_hand(world, mapped.netsuite_item_id, marketplace.return_location_id) - before == item["quantityOrdered"] * mapped.units_per_sku
    assert [r["externalId"] for r in world.records("itemReceipt")] == [f"AMZ-IR-{amazon['orderId']}-RMAM00001"]


def test_seeded_refunds_book_exactly_what_the_seeded_settlements_put_in_refunds_pending(world):
    """The seeded month: orders, their billing, Amazon's refund events (Finances API, as the hook reads them)
    and the settlement reports of the same orders. Each refund's document equals, to the cent, the
    settlement's ItemPrice + Promotion refund rows of that order (what the settlement debits to refunds
    pending): once both are posted, refunds pending nets to zero per refund."""
    from sandbox.amazon.settlements import settlement_files

    world.reset(orders=120)
    world.run("orders-1")
    amazon_hooks, netsuite = world.hooks()
    orders = [o for o in world.records("salesOrder") if o["status"] != "Closed"]
    bill(world, netsuite, orders)
    events = [e for hook in amazon_hooks for e in hook.iter_refund_events(posted_after=datetime.now(UTC) - timedelta(days=60))]
    assert events, "the seeded orders have refunds Amazon has released"
    result = load_refunds(events, mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="s1",
                          max_wait_days=60)
    assert result["counts"].get("failed", 0) == 0, result

    pending: dict[str, Decimal] = {}
    amazon_orders = world.amazon_orders()
    for file in settlement_files(amazon_orders, 0, now=datetime.now(UTC), history=1, extras=False):
        header = file.text.splitlines()[0].split("\t")
        for line in file.text.splitlines()[2:]:
            row = dict(zip(header, line.split("\t"), strict=False))
            if row.get("transaction-type") == "Refund" and row.get("amount-type") in ("ItemPrice", "Promotion"):
                pending[row["order-id"]] = pending.get(row["order-id"], Decimal(0)) - Decimal(row["amount"].replace(",", "."))
    documents = {}
    for record_type in ("cashRefund", "creditMemo"):
        for document in world.records(record_type):
            order_id = document["memo"].split(" of order ", 1)[1]
            documents[order_id] = documents.get(order_id, Decimal(0)) + Decimal(str(document["total"]))
    both = sorted(set(pending) & set(documents))
    assert both, "some refunds are both settled and booked"
    assert {o: documents[o] for o in both} == {o: pending[o] for o in both}


def test_a_refund_and_its_return_dead_lettered_before_billing_are_replayed_once_billed_then_replay_writes_nothing(
    world, monkeypatch
):
    """sync_replay_failed_records on this flow's records: the replayer re-reads the refund event and the returns
    report row from Amazon and runs them through load_refunds / load_returns; booked once, a second replay
    writes nothing, and a record whose source Amazon no longer returns is closed (skipped, source_deleted)."""
    from amazon_netsuite.flows.returns import DAG_ID, RETURN_RECORD_TYPE, replay
    from amazon_netsuite.ledger.replay import replay_records
    from sandbox.amazon.finances import refund_events_from_orders

    monkeypatch.setenv("AMAZON_NETSUITE_REPORT_POLL_SECONDS", "0.05")
    world.reset(orders=20)
    world.run("orders-1")
    _amazon, netsuite = world.hooks()
    amazon = {o["orderId"]: o for o in world.amazon_orders()}
    seeded = {e["event"]["AmazonOrderId"] for e in refund_events_from_orders(list(amazon.values()), 0, datetime.now(UTC))}
    so = next(o for o in world.records("salesOrder") if o["status"] != "Closed"
              and fields(o)["custbody_amazon_marketplace_id"] == "ATVPDKIKX0DER"
              and amazon[fields(o)["custbody_amazon_order_id"]]["fulfillment"]["fulfilledBy"] == "AMAZON"
              and fields(o)["custbody_amazon_order_id"] not in seeded)
    order = amazon[fields(so)["custbody_amazon_order_id"]]
    item = order["orderItems"][0]
    event = refund_event(order, item, key="RPL00001", posted=datetime.now(UTC) - timedelta(days=6))
    world.amazon_admin.post("/_sandbox/financial-events", json={"event": event}).raise_for_status()
    row = {"amazon_order_id": order["orderId"], "seller_sku": item["product"]["sellerSku"], "quantity": item["quantityOrdered"],
           "disposition": "SELLABLE", "reason": "UNWANTED_ITEM", "license_plate": "LPNRPL0001",
           "return_date": (datetime.now(UTC) - timedelta(days=6)).isoformat(timespec="seconds"), "fulfillment_center": "PHX7"}
    world.amazon_admin.post("/_sandbox/customer-returns", json={"rows": [{
        "marketplaceId": "ATVPDKIKX0DER", "return-date": row["return_date"], "order-id": row["amazon_order_id"],
        "sku": row["seller_sku"], "quantity": str(row["quantity"]), "fulfillment-center-id": "PHX7",
        "detailed-disposition": "SELLABLE", "reason": "UNWANTED_ITEM", "license-plate-number": "LPNRPL0001"}]}).raise_for_status()
    dispositions = load_dispositions(ROOT / "include" / "mappings" / "return_dispositions.csv")

    # not billed for longer than max_wait_days: both dead-lettered
    refunds = load_refunds([event], mappings=world.mappings, netsuite=netsuite, ledger=world.ledger, run_id="r1", max_wait_days=5)
    assert refunds["counts"]["failed:not_billed"] == 1
    returns = load_returns([row], marketplace_id="ATVPDKIKX0DER", mappings=world.mappings, netsuite=netsuite,
                           ledger=world.ledger, dispositions=dispositions, run_id="r1", max_wait_days=5)
    assert returns["counts"]["failed:refund_not_booked"] == 1
    record_type = waiting_type(world, order)
    refund_key = f"{DAG_ID}:{record_type}:{order['orderId']}:RPL00001"
    return_key = f"{DAG_ID}:{RETURN_RECORD_TYPE}:{order['orderId']}:LPNRPL0001"
    # and one whose source is gone: Amazon returns no such adjustment
    world.ledger.record_failed(dag_id=DAG_ID, record_type=record_type, source_key=f"{order['orderId']}:GONE00001",
                               error="not billed", reason="not_billed", run_id="r1")
    failed = world.ledger.failed(dag_id=DAG_ID)
    assert {r.key for r in failed} == {refund_key, return_key, f"{DAG_ID}:{record_type}:{order['orderId']}:GONE00001"}
    assert world.records(record_type) == [] and world.records("itemReceipt") == []

    bill(world, netsuite, [so])
    marketplace = world.mappings.marketplace("ATVPDKIKX0DER")
    sku = world.mappings.find_sku(item["product"]["sellerSku"], "ATVPDKIKX0DER")

    stock = on_hand(world, sku.netsuite_item_id, marketplace.fba_location_id)
    # the refund group replays before the receipt group (sorted by record type), as the DAG's order has it
    statuses = replay_records(failed, ledger=world.ledger, run_id="replay-1")
    assert statuses == {refund_key: "synced", return_key: "synced",
                        f"{DAG_ID}:{record_type}:{order['orderId']}:GONE00001": "skipped"}
    docs = world.records(record_type)
    assert [d["externalId"] for d in docs] == [f"{'AMZ-CR-' if record_type == 'cashRefund' else 'AMZ-CM-'}{order['orderId']}-RPL00001"]
    assert Decimal(str(docs[0]["total"])) == parse_refund_event(event).total
    assert [r["externalId"] for r in world.records("itemReceipt")] == [f"AMZ-IR-{order['orderId']}-LPNRPL0001"]
    assert on_hand(world, sku.netsuite_item_id, marketplace.fba_location_id) - stock == item["quantityOrdered"] * sku.units_per_sku
    assert world.ledger.get(f"{DAG_ID}:{record_type}:{order['orderId']}:GONE00001").reason == "source_deleted"

    counts = {t: len(world.records(t)) for t in ("returnAuthorization", record_type, "itemReceipt")}
    assert replay_records(world.ledger.failed(dag_id=DAG_ID), ledger=world.ledger, run_id="replay-2") == {}
    replay(failed, ledger=world.ledger, run_id="replay-3")  # the replayer itself, on the stale records: nothing new
    assert {t: len(world.records(t)) for t in counts} == counts and on_hand(world, sku.netsuite_item_id, marketplace.fba_location_id) - stock == item["quantityOrdered"] * sku.units_per_sku
    assert world.ledger.get(refund_key).status == "synced" and world.ledger.get(return_key).status == "synced"
