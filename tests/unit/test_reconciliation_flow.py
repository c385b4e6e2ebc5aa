"""flows/reconciliation.py without services: which settlements are checked, what a settlement file gives
the clearing check, and that a run with findings fails with counts (never silently green)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from amazon_netsuite.flows.reconciliation import finish, posted_settlements, settled_period
from amazon_netsuite.ledger import Ledger

WINDOW = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
NA = {"conn_id": "amazon_sp_api_na", "region": "na", "marketplace_ids": ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]}


def test_posted_settlements_are_the_regions_posted_ones(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    common = {"dag_id": "amazon_settlements_to_netsuite", "record_type": "journalEntry", "run_id": "r"}
    ledger.record_synced(**common, source_key="1", external_id="AMZ-JE-1", internal_id="1",
                         replay={"region": "na", "sp_api_conn_id": "amazon_sp_api_na"})
    ledger.record_synced(**common, source_key="2", external_id="AMZ-JE-2", internal_id="2",
                         replay={"region": "eu", "sp_api_conn_id": "amazon_sp_api_eu"})
    ledger.record_failed(**common, source_key="3", reason="unmapped_gl", error="posted with suspense",
                         replay={"marketplace_ids": ["ATVPDKIKX0DER"]})
    ledger.record_failed(**common, source_key="4", reason="closed_period", error="not posted", replay={"region": "na"})
    ledger.record_failed(**common, source_key="report-9", reason="download_error", error="x", replay={"region": "na"})

    assert sorted(r.source_key for r in posted_settlements(ledger, window=WINDOW, target=NA)) == ["1", "3"]
    assert [r.source_key for r in posted_settlements(ledger, window=WINDOW, target=NA, settlement_ids=["1"])] == ["1"]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert posted_settlements(ledger, window=later, target=NA) == []


def test_a_settlement_file_gives_its_home_marketplace_clearing_account_and_settled_orders():
    from amazon_netsuite.mappings import load_mappings
    from sandbox.amazon.settlements import render_v2

    when = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)
    rows = [
        {"transaction-type": "Order", "order-id": "111-1", "marketplace-name": "Amazon.com", "amount-type": "ItemPrice",
         "amount-description": "Principal", "amount": Decimal("20.00"), "posted-date": when},
        {"transaction-type": "Order", "order-id": "111-2", "marketplace-name": "Amazon.com", "amount-type": "ItemPrice",
         "amount-description": "Principal", "amount": Decimal("5.00"), "posted-date": when},
        {"transaction-type": "Refund", "order-id": "111-3", "marketplace-name": "Amazon.com", "amount-type": "ItemPrice",
         "amount-description": "Principal", "amount": Decimal("-3.00"), "posted-date": when},
    ]
    text = render_v2({"settlement-id": "555", "settlement-start-date": when - dt.timedelta(days=1),
                      "settlement-end-date": when + dt.timedelta(days=1), "deposit-date": when + dt.timedelta(days=3),
                      "currency": "USD"}, rows)

    period = settled_period(text, mappings=load_mappings())

    assert period.order_ids == ["111-1", "111-2"]  # refunds clear refunds pending, not Amazon clearing
    assert (period.marketplace_id, period.clearing_account_id, period.currency, period.total) == (
        "ATVPDKIKX0DER", "1210", "USD", "22.00")


def _result(findings: int) -> dict:
    return {"conn_id": "amazon_sp_api_na", "csv": {"orders": "/archive/orders.csv"},
            "checks": {"orders": {"findings": findings, "counts": {"compared": 10},
                                  "by_kind": {"missing_sales_order": findings} if findings else {},
                                  "first": ["Amazon order 111-1 (SHIPPED) has no sales order"] if findings else []}}}


def test_finish_fails_with_counts_when_anything_is_off_and_passes_when_all_agree():
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match=r"(?s)found 1 difference.*orders: 1 finding\(s\) \(missing_sales_order=1\)"):
        finish([_result(1)])
    assert finish([_result(0)])["findings"] == 0


def test_dead_lettered_orders_and_shipments_are_named_by_their_amazon_order(tmp_path):
    from amazon_netsuite.flows.reconciliation import _failed_reasons

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_failed(dag_id="amazon_orders_to_netsuite", record_type="salesOrder", source_key="111-1",
                         reason="unknown_sku", run_id="r", error="x", replay={"amazon_order_id": "111-1"})
    ledger.record_failed(dag_id="amazon_fba_shipments_to_netsuite", record_type="itemFulfillment", source_key="DABC",
                         reason="over_fulfilled", run_id="r", error="x",
                         replay={"shipment": {"shipment_id": "DABC", "amazon_order_id": "111-2"}})
    reasons = _failed_reasons(ledger)
    assert reasons["111-1"] == "amazon_orders_to_netsuite unknown_sku"
    assert reasons["111-2"] == "amazon_fba_shipments_to_netsuite over_fulfilled"


def test_the_inventory_read_of_one_region_is_only_ever_an_afresh_dry_run(tmp_path):
    """Reconciliation reads one region's stock afresh without writing; reading one region into the inventory
    flow's snapshot would advance its read mark past the other regions' unread changes."""
    from amazon_netsuite.flows.inventory import read_stock
    from amazon_netsuite.mappings import load_mappings

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    for kwargs in ({}, {"afresh": True}, {"dry_run": True}):
        with pytest.raises(ValueError, match="afresh dry run only"):
            read_stock(netsuite=None, ledger=ledger, mappings=load_mappings(), region="na", **kwargs)


# ------------------------------------------------------------------------------------------ inventory check

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _published_at(ledger, when: dt.datetime) -> None:
    """The pushed state as a feed accepted at ``when`` left it (record_pushed stamps the real clock)."""
    from amazon_netsuite.ledger.models import pushed_state

    with ledger.engine.begin() as conn:
        conn.execute(pushed_state.update().values(pushed_at=when))
SETTLED = NOW - dt.timedelta(hours=5)  # long past the MFN grace


class _StockNetSuite:
    """Just the reads the checks make: item states and ``getItemAvailability``, from
    ``{(item, location): (available, lastQtyAvailableChange)}`` (every item exists and is active); no sales order."""

    def __init__(self, stock):
        self.stock = stock

    def body_fields_by_internal_ids(self, record_type, ids):
        assert record_type == "inventoryItem"
        return {i: {"internalId": i, "isInactive": False} for i in ids}

    def search_by_external_ids(self, record_type, external_ids, **kwargs):
        return []

    def search_modified_since(self, record_type, since, **kwargs):
        return []

    def item_availability(self, items, since=None):
        from amazon_netsuite.netsuite.results import ItemAvailability

        return [ItemAvailability(item_id=item, location_id=loc, location_name=None, quantity_on_hand=Decimal(qty),
                                 quantity_available=Decimal(qty), quantity_committed=Decimal(0),
                                 quantity_on_order=Decimal(0), quantity_back_ordered=Decimal(0),
                                 last_qty_available_change=when)
                for (item, loc), (qty, when) in sorted(self.stock.items()) if item in set(items)]


def _mug_stock(**moved_at):
    """Item 501 (ACME-MUG-11OZ MFN, -6PK MFN, -FBA AFN): 40 at each NA warehouse (1 US, 4 CA), 30 at each FBA
    location (2 US, 5 CA); ``moved_at``: location -> when it last moved (default long settled)."""
    stock = {("501", loc): (qty, moved_at.get(f"loc{loc}", SETTLED)) for loc, qty in
             (("1", 40), ("4", 40), ("2", 30), ("5", 30))}
    return stock


def _inventory(tmp_path, stock, *, pushed, fba=None, ledger=None, now=NOW, recent_afn=()):
    from amazon_netsuite.flows.reconciliation import compare_inventory
    from amazon_netsuite.mappings import load_mappings

    ledger = ledger or Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_pushed("region:na", pushed, dag_id="netsuite_inventory_to_amazon", run_id="r", feed_id="1")
    _published_at(ledger, NOW - dt.timedelta(hours=2))
    fba = {f"{m}|ACME-MUG-11OZ-FBA": 30 for m in NA["marketplace_ids"]} if fba is None else fba
    return compare_inventory(fba, region="na", marketplace_ids=NA["marketplace_ids"], netsuite=_StockNetSuite(stock),
                             ledger=ledger, mappings=load_mappings(), now=now, recent_afn=recent_afn), ledger


def test_an_mfn_sku_is_judged_when_only_its_items_fba_location_moved_recently(tmp_path):
    """Item 501 is sold FBA and MFN: its FBA location moves with every FBA order. Only the warehouses the MFN
    SKU's quantity comes from (1 and 4) make it too recent to judge."""
    pushed = {"ACME-MUG-11OZ": 90, "ACME-MUG-11OZ-6PK": 13}  # 80 - 2 safety = 78 is right; 90 oversells
    (findings, counts), _ = _inventory(tmp_path, _mug_stock(loc2=NOW - dt.timedelta(minutes=5)), pushed=pushed)
    assert [(f.kind, f.key) for f in findings if f.kind.startswith("mfn_")] == [("mfn_oversell_risk", "ACME-MUG-11OZ")]
    assert (counts["mfn_recent"], counts["mfn_compared"]) == (0, 2)

    (findings, counts), _ = _inventory(tmp_path / "w", _mug_stock(loc4=NOW - dt.timedelta(minutes=5)), pushed=pushed)
    assert [f for f in findings if f.kind.startswith("mfn_")] == []
    assert (counts["mfn_recent"], counts["mfn_compared"]) == (2, 0)


def test_mfn_skus_whose_unsynced_orders_changed_within_the_grace_are_not_judged_yet(tmp_path):
    """A sales order dead-lettered (or skipped, or replayed) just now changes the units the formula holds back
    without NetSuite's stock moving: the inventory flow has not published the new quantity yet."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_failed(dag_id="amazon_orders_to_netsuite", record_type="salesOrder", source_key="111-6", run_id="r",
                         reason="unknown_customer", error="x",
                         replay={"marketplace_id": "ATVPDKIKX0DER", "units": {"ACME-MUG-11OZ-6PK": 1}})
    # published before the order was dead-lettered: 80 available, nothing held back
    pushed = {"ACME-MUG-11OZ": 78, "ACME-MUG-11OZ-6PK": 13}

    (findings, counts), _ = _inventory(tmp_path, _mug_stock(), pushed=pushed, ledger=ledger)
    assert [f for f in findings if f.kind.startswith("mfn_")] == []
    assert counts["mfn_recent"] == 2  # the six-pack's order holds back 6 mugs: both SKUs of item 501

    # once the grace has passed, the held-back units are judged: Amazon was last given more than the formula gives
    (findings, counts), _ = _inventory(tmp_path, _mug_stock(), pushed=pushed, ledger=ledger,
                                       now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    assert sorted((f.kind, f.key, f.amazon_value, f.netsuite_value) for f in findings if f.kind.startswith("mfn_")) == [
        ("mfn_oversell_risk", "ACME-MUG-11OZ", "78", "72"), ("mfn_oversell_risk", "ACME-MUG-11OZ-6PK", "13", "12")]
    assert "last published to Amazon" in findings[-1].message


def _afn_order(ledger, *, units, status="failed"):
    common = {"dag_id": "amazon_orders_to_netsuite", "record_type": "salesOrder", "source_key": "111-9", "run_id": "r"}
    replay = {"order_id": "111-9", "marketplace_id": "ATVPDKIKX0DER", "afn_units": units}
    if status == "failed":
        ledger.record_failed(**common, reason="unknown_customer", error="x", replay=replay)
    else:
        ledger.record_pending(**common, replay=replay)


def test_fba_units_of_orders_not_in_netsuite_are_allowed_for_and_recent_fba_orders_not_judged(tmp_path):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # the ledger rows below are past the grace
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    _afn_order(ledger, units={"ACME-MUG-11OZ-FBA": 2})
    settled = {"ACME-MUG-11OZ": 78, "ACME-MUG-11OZ-6PK": 13}
    us, ca = (f"{m}|ACME-MUG-11OZ-FBA" for m in NA["marketplace_ids"])
    # Amazon took the 2 units of the dead-lettered order: 28 fulfillable, NetSuite's FBA location still 30
    (findings, counts), _ = _inventory(tmp_path, _mug_stock(), pushed=settled, ledger=ledger, now=later,
                                       fba={us: 28, ca: 30})
    assert findings == [] and (counts["fba_mismatch"], counts["fba_recent"]) == (0, 0)

    # one more unit gone at Amazon: a real difference, whose message points at unsynced records first
    (findings, counts), _ = _inventory(tmp_path, _mug_stock(), pushed=settled, ledger=ledger, now=later,
                                       fba={us: 27, ca: 30})
    [finding] = findings
    assert (finding.kind, finding.key, finding.amazon_value, finding.netsuite_value, finding.difference) == (
        "fba_mismatch", "ACME-MUG-11OZ-FBA", "27", "30", "1")
    assert "+ 2 unit(s) of orders not in NetSuite yet" in finding.message
    assert finding.message.index("did not sync") < finding.message.index("Only once those are ruled out")

    # an FBA order Amazon changed within the hour (not read by the orders flow yet): counted, not judged
    (findings, counts), _ = _inventory(tmp_path, _mug_stock(), pushed=settled, ledger=ledger, now=later,
                                       fba={us: 25, ca: 30}, recent_afn=[us])
    assert findings == [] and (counts["fba_mismatch"], counts["fba_recent"]) == (0, 1)
    # ...nor one the ledger skipped within the hour (its units left the allowance, NetSuite's stock did not move)
    common = {"dag_id": "amazon_orders_to_netsuite", "record_type": "salesOrder", "source_key": "111-8", "run_id": "r"}
    ledger.record_pending(**common, replay={"order_id": "111-8", "marketplace_id": "ATVPDKIKX0DER",
                                            "afn_units": {"ACME-MUG-11OZ-FBA": 1}})
    ledger.record_skipped(**common, reason="cancelled_before_sync")
    (findings, counts), _ = _inventory(tmp_path, _mug_stock(), pushed=settled, ledger=ledger, fba={us: 25, ca: 30})
    assert (counts["fba_mismatch"], counts["fba_recent"]) == (0, 1)


def test_the_inventory_flows_fba_adjustment_does_not_take_unsynced_order_units_out_twice(tmp_path):
    """fba_reconcile shares fba_compare: an FBA order NetSuite has not synced is not a difference to adjust (its
    sales order takes the units out when it syncs)."""
    from amazon_netsuite.flows.inventory import fba_reconcile
    from amazon_netsuite.mappings import load_mappings

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    _afn_order(ledger, units={"ACME-MUG-11OZ-FBA": 2}, status="pending")
    us, ca = (f"{m}|ACME-MUG-11OZ-FBA" for m in NA["marketplace_ids"])
    result = fba_reconcile({us: 28, ca: 30}, netsuite=_StockNetSuite(_mug_stock()), ledger=ledger,
                           mappings=load_mappings(), run_id="r", post_adjustment=True, account_id="5200",
                           day="2026-12-01", dry_run=True)
    assert result["difference_count"] == 0


def test_recent_fba_orders_are_read_with_their_items_once_per_region(tmp_path):
    from amazon_netsuite.flows.reconciliation import recent_afn_orders
    from amazon_netsuite.mappings import load_mappings

    calls = []

    class _Hook:
        def iter_orders(self, **kwargs):
            calls.append(kwargs)
            return iter([
                {"salesChannel": {"marketplaceId": "ATVPDKIKX0DER"},
                 "orderItems": [{"product": {"sellerSku": "ACME-MUG-11OZ-FBA"}, "quantityOrdered": 1},
                                {"product": {"sellerSku": "NOT-MAPPED"}, "quantityOrdered": 1}]},
                {"salesChannel": {"marketplaceId": "A2EUQ1WTGCTBG2"},
                 "orderItems": [{"product": {"sellerSku": "ACME-TEE-BLK-M"}, "quantityOrdered": 2}]}])

    since = dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC)
    keys = recent_afn_orders(_Hook(), mappings=load_mappings(), marketplace_ids=NA["marketplace_ids"], since=since)
    assert keys == ["A2EUQ1WTGCTBG2|ACME-TEE-BLK-M", "ATVPDKIKX0DER|ACME-MUG-11OZ-FBA"]
    assert len(calls) == 1 and calls[0]["fulfilled_by"] == ["AMAZON"] and calls[0]["last_updated_after"] == since


def test_an_unreadable_fba_inventory_is_a_finding_and_the_regions_other_checks_still_run(tmp_path, monkeypatch):
    """getInventorySummaries failing costs the FBA check only: the extract still stages the orders (and
    settlements), the inventory check says it could not be made, and nothing is compared against zero."""
    from amazon_netsuite.amazon.errors import SellingPartnerApiError
    from amazon_netsuite.flows.reconciliation import compare_region, extract_region
    from amazon_netsuite.mappings import load_mappings

    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_STAGING_URI", f"file://{tmp_path}/staging")
    created = "2026-11-20T10:00:00Z"

    class _Hook:
        def iter_orders(self, **kwargs):
            return iter([{"orderId": "111-1", "salesChannel": {"marketplaceId": "ATVPDKIKX0DER"},
                          "fulfillment": {"fulfillmentStatus": "UNSHIPPED"}, "createdTime": created,
                          "lastUpdatedTime": created, "proceeds": {"grandTotal": {"amount": "10.00", "currencyCode": "USD"}}}])

        def iter_inventory_summaries(self, marketplace_id):
            raise SellingPartnerApiError("getInventorySummaries", 503, [{"code": "ServiceUnavailable", "message": "down"}])

        # the merchant listings report: Amazon shows nothing merchant-fulfilled (header only)
        def create_report(self, report_type, *, marketplace_ids):
            return "1"

        def wait_for_report(self, report_id, *, poll_interval, timeout):
            assert 0 < timeout <= 20 * 60  # a stuck report frees the pool slot in minutes, not the hook's hour
            return {"reportId": report_id, "processingStatus": "DONE", "reportDocumentId": "doc-1"}

        def download_report_document(self, document_id, *, report_type):
            return "seller-sku\tquantity\tfulfillment-channel\n"

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    window = (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    extracted = extract_region(_Hook(), NA, window=window, ledger=ledger, mappings=load_mappings(), run_id="r", now=NOW)
    assert extracted["orders_read"] == 1 and extracted["fba_skus"] is None

    outcome = compare_region(extracted, netsuite=_StockNetSuite(_mug_stock()), ledger=ledger, mappings=load_mappings(),
                             run_id="r", now=NOW + dt.timedelta(days=1))
    assert outcome["checks"]["orders"]["by_kind"] == {"missing_sales_order": 1}  # the orders check still ran
    inventory = outcome["checks"]["inventory"]
    assert inventory["by_kind"] == {"inventory_unreadable": 1}  # no fba_mismatch against "Amazon has zero"
    assert "HTTP 503" in inventory["first"][0] and "FBA check was not made" in inventory["first"][0]
    assert inventory["counts"]["fba_not_checked"] == 1 and inventory["counts"]["fba_skus"] == 0


def test_an_unreadable_listings_report_is_a_finding_and_the_published_quantities_stand_in(tmp_path, monkeypatch):
    """The merchant listings report ending FATAL costs the read of Amazon's MFN quantities only: an
    inventory_unreadable finding names the report, and the pushed state is still judged against the formula."""
    from amazon_netsuite.amazon.errors import ReportProcessingError
    from amazon_netsuite.flows.reconciliation import compare_region, extract_region
    from amazon_netsuite.mappings import load_mappings

    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_STAGING_URI", f"file://{tmp_path}/staging")

    class _Hook:
        def iter_orders(self, **kwargs):
            return iter([])

        def iter_inventory_summaries(self, marketplace_id):
            return iter([])

        def create_report(self, report_type, *, marketplace_ids):
            assert report_type == "GET_MERCHANT_LISTINGS_ALL_DATA" and len(marketplace_ids) == 1
            return "7"

        def wait_for_report(self, report_id, *, poll_interval, timeout):
            raise ReportProcessingError(report_id, "GET_MERCHANT_LISTINGS_ALL_DATA", "FATAL", None)

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_pushed("region:na", {"ACME-MUG-11OZ": 500}, dag_id="netsuite_inventory_to_amazon", run_id="s", feed_id="1")
    _published_at(ledger, NOW - dt.timedelta(hours=2))
    window = (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    extracted = extract_region(_Hook(), NA, window=window, ledger=ledger, mappings=load_mappings(), run_id="r", now=NOW)
    assert extracted["mfn_listings"] == {}  # no marketplace read: its SKUs are judged on what was last published

    outcome = compare_region(extracted, netsuite=_StockNetSuite(_mug_stock()), ledger=ledger, mappings=load_mappings(),
                             run_id="r", now=NOW + dt.timedelta(days=1))
    inventory = outcome["checks"]["inventory"]
    assert inventory["by_kind"]["inventory_unreadable"] == 1 and inventory["by_kind"]["mfn_oversell_risk"] == 1
    assert "merchant-fulfilled quantities" in inventory["first"][0] and "FATAL" in inventory["first"][0]
    assert "compared the quantities last published" in inventory["first"][0]
    by_kind = {f["kind"]: f for f in ledger.reconciliation_findings(run_id="r", check="inventory")}
    assert by_kind["inventory_unreadable"]["record_key"] == "amazon_sp_api_na|GET_MERCHANT_LISTINGS_ALL_DATA"
    assert by_kind["mfn_oversell_risk"]["record_key"] == "ACME-MUG-11OZ"
    assert "its listing was not read" in by_kind["mfn_oversell_risk"]["message"]


def test_recent_mfn_orders_are_read_with_fulfilled_by_merchant_and_keep_only_mapped_mfn_skus():
    """Amazon lowers an MFN listing when an order is placed: the SKUs of merchant-fulfilled orders it changed
    within the grace are read once per region (``fulfilledBy=MERCHANT``), mapped MFN SKUs only."""
    from amazon_netsuite.flows.reconciliation import recent_afn_orders
    from amazon_netsuite.mappings import load_mappings

    calls = []

    class _Hook:
        def iter_orders(self, **kwargs):
            calls.append(kwargs)
            return iter([{"salesChannel": {"marketplaceId": "A2EUQ1WTGCTBG2"},
                          "orderItems": [{"product": {"sellerSku": "ACME-MUG-11OZ-6PK"}, "quantityOrdered": 1},
                                         {"product": {"sellerSku": "ACME-TEE-BLK-M"}, "quantityOrdered": 1}]}])

    since = dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC)
    keys = recent_afn_orders(_Hook(), mappings=load_mappings(), marketplace_ids=NA["marketplace_ids"], since=since,
                             channel="MFN")
    assert keys == ["A2EUQ1WTGCTBG2|ACME-MUG-11OZ-6PK"]  # the tee is an AFN SKU
    assert len(calls) == 1 and calls[0]["fulfilled_by"] == ["MERCHANT"] and calls[0]["last_updated_after"] == since


def test_an_mfn_sku_with_a_recent_amazon_order_is_not_judged_even_when_amazon_shows_less(tmp_path):
    """Amazon shows less than last published because an order was just placed: mfn_recent, not mfn_drift."""
    from amazon_netsuite.flows.reconciliation import compare_inventory
    from amazon_netsuite.mappings import load_mappings

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    mappings = load_mappings()
    netsuite = _StockNetSuite(_mug_stock())
    kwargs = {"region": "na", "marketplace_ids": NA["marketplace_ids"], "netsuite": netsuite, "ledger": ledger,
              "mappings": mappings, "now": NOW + dt.timedelta(days=1)}
    from amazon_netsuite.flows.inventory import read_stock
    from amazon_netsuite.transforms import inventory as rules

    stock, states, _ = read_stock(netsuite=netsuite, ledger=ledger, mappings=mappings, dry_run=True, afresh=True,
                                  region="na", now=kwargs["now"])
    plan = rules.plan_region(rules.region_targets(mappings, "na"), region="na", stock=stock, item_states=states,
                             unsynced={}, pushed={})
    mug = plan.quantities["ACME-MUG-11OZ"].quantity
    assert mug >= 1
    ledger.record_pushed("region:na", {"ACME-MUG-11OZ": mug}, dag_id="netsuite_inventory_to_amazon", run_id="s", feed_id="1")
    _published_at(ledger, NOW - dt.timedelta(hours=2))
    listed = {"ATVPDKIKX0DER": {"ACME-MUG-11OZ": mug - 1}}

    drift, _ = compare_inventory(None, listed=listed, **kwargs)
    assert [(f.kind, f.key) for f in drift] == [("mfn_drift", "ACME-MUG-11OZ")]

    held, counts = compare_inventory(None, listed=listed, recent_mfn=["ATVPDKIKX0DER|ACME-MUG-11OZ"], **kwargs)
    assert held == [] and counts["mfn_recent"] == 1


class _ListingsHook:
    """Amazon for the MFN check: no orders in the window, no FBA SKU; the listings report and the recent MFN
    orders search answer as given."""

    def __init__(self, *, wait=None, merchant_orders_fail: bool = False):
        self._wait, self._merchant_orders_fail = wait, merchant_orders_fail

    def iter_orders(self, **kwargs):
        if self._merchant_orders_fail and kwargs.get("fulfilled_by") == ["MERCHANT"]:
            from amazon_netsuite.amazon.errors import SellingPartnerApiError

            raise SellingPartnerApiError("searchOrders", 503, [{"code": "ServiceUnavailable", "message": "down"}])
        return iter([])

    def iter_inventory_summaries(self, marketplace_id):
        return iter([])

    def create_report(self, report_type, *, marketplace_ids):
        return f"r-{marketplace_ids[0]}"

    def wait_for_report(self, report_id, *, poll_interval, timeout):
        if self._wait is not None:
            return self._wait(report_id)
        return {"reportId": report_id, "processingStatus": "DONE", "reportDocumentId": f"doc-{report_id}"}

    def download_report_document(self, document_id, *, report_type):
        return "seller-sku\tquantity\tfulfillment-channel\nACME-MUG-11OZ\t500\tDEFAULT\n"


def _extract_and_compare(tmp_path, monkeypatch, hook):
    from amazon_netsuite.flows.reconciliation import compare_region, extract_region
    from amazon_netsuite.mappings import load_mappings

    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_STAGING_URI", f"file://{tmp_path}/staging")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_pushed("region:na", {"ACME-MUG-11OZ": 500}, dag_id="netsuite_inventory_to_amazon", run_id="s", feed_id="1")
    _published_at(ledger, NOW - dt.timedelta(hours=2))
    window = (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    extracted = extract_region(hook, NA, window=window, ledger=ledger, mappings=load_mappings(), run_id="r", now=NOW)
    outcome = compare_region(extracted, netsuite=_StockNetSuite(_mug_stock()), ledger=ledger, mappings=load_mappings(),
                             run_id="r", now=NOW + dt.timedelta(days=1))
    return extracted, outcome["checks"]["inventory"]


def test_cancelled_listings_reports_leave_the_published_quantities_judged_never_nothing_to_judge(tmp_path, monkeypatch):
    """Amazon cancels a report that has no data but also one asked for too often: a CANCELLED report is not
    "Amazon lists nothing"; the SKU's last published 500 is still judged against the formula (an oversell)."""
    extracted, inventory = _extract_and_compare(
        tmp_path, monkeypatch, _ListingsHook(wait=lambda rid: {"reportId": rid, "processingStatus": "CANCELLED"}))
    assert extracted["mfn_listings"] == {}
    assert inventory["by_kind"]["mfn_oversell_risk"] == 1 and "inventory_unreadable" not in inventory["by_kind"]
    assert any("its listing was not read" in message for message in inventory["first"])


def test_a_done_report_without_a_document_is_unreadable_not_empty(tmp_path, monkeypatch):
    extracted, inventory = _extract_and_compare(
        tmp_path, monkeypatch, _ListingsHook(wait=lambda rid: {"reportId": rid, "processingStatus": "DONE"}))
    assert inventory["by_kind"]["inventory_unreadable"] == 1 and inventory["by_kind"]["mfn_oversell_risk"] == 1
    assert "without a reportDocumentId" in inventory["first"][0]


def test_a_failed_recent_orders_search_sets_the_listings_aside_and_says_so(tmp_path, monkeypatch):
    """Without the recent MFN orders, Amazon's quantities cannot be told from drift: the pushed state stands in, and
    the finding names the search that failed (not the report, which was read)."""
    extracted, inventory = _extract_and_compare(tmp_path, monkeypatch, _ListingsHook(merchant_orders_fail=True))
    assert extracted["mfn_listings"] is None
    assert inventory["by_kind"]["inventory_unreadable"] == 1
    assert "searchOrders" in inventory["first"][0] and "HTTP 503" in inventory["first"][0]
    assert "mfn_drift" not in inventory["by_kind"]


def test_a_defect_while_reading_the_listings_fails_the_task_instead_of_becoming_a_finding(tmp_path, monkeypatch):
    def broken(report_id):
        raise KeyError("processingStatus")

    with pytest.raises(KeyError):
        _extract_and_compare(tmp_path, monkeypatch, _ListingsHook(wait=broken))


def test_a_sku_published_just_before_the_report_was_asked_for_is_not_judged_yet(tmp_path, monkeypatch):
    """Amazon's report may not show a feed it accepted minutes ago (it applies listings changes asynchronously and
    caches reports): a SKU published within the grace before the report is counted, not judged; the same quantity
    published two hours before is an oversell."""
    from amazon_netsuite.flows.reconciliation import compare_region, extract_region
    from amazon_netsuite.mappings import load_mappings

    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_STAGING_URI", f"file://{tmp_path}/staging")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_pushed("region:na", {"ACME-MUG-11OZ": 500}, dag_id="netsuite_inventory_to_amazon", run_id="s", feed_id="1")
    window = (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))

    def inventory(run_id: str) -> dict:
        extracted = extract_region(_ListingsHook(), NA, window=window, ledger=ledger, mappings=load_mappings(),
                                   run_id=run_id, now=NOW)
        outcome = compare_region(extracted, netsuite=_StockNetSuite(_mug_stock()), ledger=ledger, mappings=load_mappings(),
                                 run_id=run_id, now=NOW + dt.timedelta(minutes=5))
        return outcome["checks"]["inventory"]

    _published_at(ledger, NOW - dt.timedelta(minutes=10))
    fresh = inventory("r1")
    assert "mfn_oversell_risk" not in fresh["by_kind"] and fresh["counts"]["mfn_recent"] == 1

    _published_at(ledger, NOW - dt.timedelta(hours=2))
    assert inventory("r2")["by_kind"]["mfn_oversell_risk"] == 2  # shown 500 in both US and CA
