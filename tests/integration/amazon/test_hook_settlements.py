"""Seeded settlement reports through the real hook: listed by creation (deposit) date, decoded with their charset.

Settlement reports belong to a whole region: each lists every marketplace of its region in
``marketplaceIds`` and getReports ignores the marketplace filter for them (as Amazon does: e.g.
amzn/selling-partner-api-models#1379); the marketplace is in the file (``marketplace-name``, currency).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
NA_ALL = ["A2EUQ1WTGCTBG2", "ATVPDKIKX0DER", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"]
MX = "A1AM78C64UM0Y8"  # the seed's extra settlements: Amazon.com.mx (latest), Amazon.ca chain and EUR (older)
CURRENCY_MARKETPLACE = {"USD": US, "CAD": CA, "GBP": UK, "EUR": DE, "MXN": MX}
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "settlements"


def parse(text: str) -> tuple[dict, list[dict]]:
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    return rows[0], rows[1:]


def money(value: str) -> Decimal:
    return Decimal(value.replace(",", ".")) if "," in value else Decimal(value)


def _marketplace(hook, report: dict) -> str:
    """The settlement's marketplace, from its document (the report lists the whole region)."""
    summary, _ = parse(hook.download_report(report["reportId"]))
    return CURRENCY_MARKETPLACE[summary["currency"]]


def test_given_a_seeded_sandbox_when_listing_by_creation_date_then_each_window_returns_its_settlements(hook, eu_hook, sandbox):
    now = datetime.now(UTC)

    latest = {h: h.list_reports([SETTLEMENT], created_since=now - timedelta(days=8)) for h in (hook, eu_hook)}
    older = {h: h.list_reports([SETTLEMENT], created_since=now - timedelta(days=30), created_until=now - timedelta(days=8))
             for h in (hook, eu_hook)}
    everything = hook.list_reports([SETTLEMENT], created_since=now - timedelta(days=200))

    # each mapped marketplace's seeded settlement in each window; the older ones also hold the Amazon.ca chain
    latest_markets = sorted(_marketplace(h, r) for h, reports in latest.items() for r in reports)
    older_markets = sorted(_marketplace(h, r) for h, reports in older.items() for r in reports)
    assert latest_markets == sorted([US, CA, UK, DE])  # the default seed maps every settlement's marketplace
    assert set(older_markets) == {US, CA, UK, DE} and older_markets.count(CA) >= 2
    assert {r["reportId"] for r in everything} >= {r["reportId"] for r in latest[hook] + older[hook]}
    assert all(r["processingStatus"] == "DONE" and r["reportDocumentId"] for r in everything)
    for report in everything:  # created on the deposit date: two days after the settlement period ends
        created = datetime.fromisoformat(report["createdTime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(report["dataEndTime"].replace("Z", "+00:00"))
        assert created - end == timedelta(days=2) and created <= now
        assert report["marketplaceIds"] == NA_ALL
    # the marketplace filter does not apply to settlement reports: a CA filter lists the US ones too
    na_month = hook.list_reports([SETTLEMENT], created_since=now - timedelta(days=30))
    assert len(hook.list_reports([SETTLEMENT], marketplace_ids=[CA], created_since=now - timedelta(days=30))) == len(na_month)
    eu_month = eu_hook.list_reports([SETTLEMENT], created_since=now - timedelta(days=30))
    assert len(eu_hook.list_reports([SETTLEMENT], marketplace_ids=[DE], created_since=now - timedelta(days=30))) == len(eu_month)


def test_given_seeded_settlements_when_downloading_then_they_decode_and_match_the_seeded_orders(hook, eu_hook, sandbox):
    orders = {o["orderId"]: o for o in sandbox.orders()}
    since = datetime.now(UTC) - timedelta(days=8)
    reports = [(h, r) for h in (hook, eu_hook) for r in h.list_reports([SETTLEMENT], created_since=since)]

    assert len(reports) == 4  # US, CA (na) and UK, DE (eu)
    for region_hook, report in reports:  # each region's reports through its own hook
        text = region_hook.download_report(report["reportId"])
        summary, rows = parse(text)
        marketplace = CURRENCY_MARKETPLACE[summary["currency"]]
        if marketplace == MX:  # a storefront the seed sells nothing in: its rows are fees only
            assert money(summary["total-amount"]) == sum(money(r["amount"]) for r in rows)
            continue
        assert money(summary["total-amount"]) == sum(money(r["amount"]) for r in rows)
        assert {r["order-id"] for r in rows if r["order-id"]} <= set(orders)
        assert all(orders[r["order-id"]]["salesChannel"]["marketplaceId"] == marketplace for r in rows if r["order-id"])
        if marketplace == DE:
            assert "," in summary["total-amount"] and summary["deposit-date"][2] == "."
            document = region_hook.get_report_document(report["reportDocumentId"])
            raw = sandbox.http.get(document["url"].replace(sandbox.url, ""))
            assert "charset=Cp1252" in raw.headers["content-type"]
        else:
            assert "." in summary["total-amount"] and summary["deposit-date"][4] == "-"


def test_given_the_de_fixture_published_as_cp1252_when_downloading_then_umlauts_and_crlf_survive(eu_hook, sandbox):
    hook = eu_hook
    text = (FIXTURES / "de_v2.txt").read_bytes().decode("cp1252")
    published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content=text, charset="Cp1252",
                                       createdTime=(datetime.now(UTC) - timedelta(days=1)).isoformat())

    downloaded = hook.download_report(published["reportId"])

    assert downloaded == text and "KÖLN-4711" in downloaded and "\r\n" in downloaded
    listed = hook.list_reports([SETTLEMENT], marketplace_ids=[DE], created_since=datetime.now(UTC) - timedelta(days=1, hours=1))
    assert published["reportId"] in {r["reportId"] for r in listed}
