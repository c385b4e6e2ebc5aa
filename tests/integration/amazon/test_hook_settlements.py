"""Seeded settlement reports through the real hook: listed by creation (deposit) date, decoded with their charset."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
US, CA, UK, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
MX = "A1AM78C64UM0Y8"  # the seed's extra settlements: Amazon.com.mx (latest), Amazon.ca chain and EUR (older)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "settlements"


def parse(text: str) -> tuple[dict, list[dict]]:
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    return rows[0], rows[1:]


def money(value: str) -> Decimal:
    return Decimal(value.replace(",", ".")) if "," in value else Decimal(value)


def test_given_a_seeded_sandbox_when_listing_by_creation_date_then_each_window_returns_its_settlements(hook, sandbox):
    now = datetime.now(UTC)

    latest = hook.list_reports([SETTLEMENT], created_since=now - timedelta(days=8))
    older = hook.list_reports([SETTLEMENT], created_since=now - timedelta(days=30), created_until=now - timedelta(days=8))
    everything = hook.list_reports([SETTLEMENT], created_since=now - timedelta(days=200))

    # the Amazon.com.mx one is listed where the emulator lists every settlement of the region
    assert sorted(r["marketplaceIds"][0] for r in latest if r["marketplaceIds"][0] != MX) == sorted([US, CA, UK, DE])
    assert sorted(r["marketplaceIds"][0] for r in older) == sorted([US, CA, UK, DE, CA, DE])
    assert {r["reportId"] for r in everything} >= {r["reportId"] for r in latest + older}
    assert len(everything) == len(latest) + len(older) + 2  # the two oldest settlements of the Amazon.ca chain
    assert all(r["processingStatus"] == "DONE" and r["reportDocumentId"] for r in everything)
    for report in everything:  # created on the deposit date: two days after the settlement period ends
        created = datetime.fromisoformat(report["createdTime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(report["dataEndTime"].replace("Z", "+00:00"))
        assert created - end == timedelta(days=2) and created <= now
    assert len(hook.list_reports([SETTLEMENT], marketplace_ids=[DE], created_since=now - timedelta(days=30))) == 3


def test_given_seeded_settlements_when_downloading_then_they_decode_and_match_the_seeded_orders(hook, sandbox):
    orders = {o["orderId"]: o for o in sandbox.orders()}
    reports = hook.list_reports([SETTLEMENT], created_since=datetime.now(UTC) - timedelta(days=8))

    for report in reports:
        text = hook.download_report(report["reportId"])
        summary, rows = parse(text)
        marketplace = report["marketplaceIds"][0]
        assert money(summary["total-amount"]) == sum(money(r["amount"]) for r in rows)
        assert {r["order-id"] for r in rows if r["order-id"]} <= set(orders)
        assert all(orders[r["order-id"]]["salesChannel"]["marketplaceId"] == marketplace for r in rows if r["order-id"])
        if marketplace == DE:
            assert "," in summary["total-amount"] and summary["deposit-date"][2] == "."
            document = hook.get_report_document(report["reportDocumentId"])
            raw = sandbox.http.get(document["url"].replace(sandbox.url, ""))
            assert "charset=Cp1252" in raw.headers["content-type"]
        else:
            assert "." in summary["total-amount"] and summary["deposit-date"][4] == "-"


def test_given_the_de_fixture_published_as_cp1252_when_downloading_then_umlauts_and_crlf_survive(hook, sandbox):
    text = (FIXTURES / "de_v2.txt").read_bytes().decode("cp1252")
    published = sandbox.publish_report(reportType=SETTLEMENT, marketplaceIds=[DE], content=text, charset="Cp1252",
                                       createdTime=(datetime.now(UTC) - timedelta(days=1)).isoformat())

    downloaded = hook.download_report(published["reportId"])

    assert downloaded == text and "KÖLN-4711" in downloaded and "\r\n" in downloaded
    listed = hook.list_reports([SETTLEMENT], marketplace_ids=[DE], created_since=datetime.now(UTC) - timedelta(days=1, hours=1))
    assert published["reportId"] in {r["reportId"] for r in listed}
