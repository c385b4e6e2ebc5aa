"""tests/fixtures/settlements: each file is internally consistent and its README states exact facts."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "settlements"
ENCODING = {"us_v2.txt": "utf-8", "uk_v2.txt": "utf-8", "de_v2.txt": "cp1252", "negative_v2.txt": "utf-8"}
SUMMARY = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency")


def money(value: str) -> Decimal:
    return Decimal(value.replace(",", ".")) if "," in value else Decimal(value)


def load(name: str) -> tuple[str, dict, list[dict]]:
    text = (FIXTURES / name).read_bytes().decode(ENCODING[name])
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    return text, rows[0], rows[1:]


def readme() -> tuple[dict[str, dict], dict[str, dict[tuple[str, str, str], tuple[int, Decimal]]]]:
    overview: dict[str, dict] = {}
    sums: dict[str, dict] = defaultdict(dict)
    section = None
    for line in (FIXTURES / "README.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## (\S+\.txt)$", line)
        if heading:
            section = heading.group(1)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if section is None and len(cells) == 9 and cells[0].startswith("`"):
            overview[cells[0].strip("`")] = {"settlement-id": cells[1].strip("`"), "currency": cells[2],
                                             "total-amount": cells[3].strip("`"), "rows": int(cells[4]),
                                             "line endings": cells[6], "decimals": cells[7]}
        elif section and len(cells) == 5 and cells[3].isdigit():
            sums[section][(cells[0], cells[1], cells[2])] = (int(cells[3]), Decimal(cells[4]))
    return overview, sums


OVERVIEW, SUMS = readme()


def test_given_the_readme_then_it_describes_every_fixture_file():
    assert set(OVERVIEW) == set(ENCODING) == set(SUMS)
    assert {p.name for p in FIXTURES.glob("*.txt")} == set(ENCODING)


@pytest.mark.parametrize("name", sorted(ENCODING))
def test_given_a_fixture_then_it_matches_its_readme_to_the_cent(name):
    text, summary, rows = load(name)
    facts = OVERVIEW[name]

    by_key: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, Decimal("0.00")])
    for row in rows:
        entry = by_key[(row["transaction-type"], row["amount-type"], row["amount-description"])]
        entry[0] += 1
        entry[1] += money(row["amount"])

    assert summary["settlement-id"] == facts["settlement-id"]
    assert summary["currency"] == facts["currency"]
    assert summary["total-amount"] == facts["total-amount"]
    assert len(rows) == facts["rows"] and 20 <= len(rows) <= 60
    assert {k: tuple(v) for k, v in by_key.items()} == SUMS[name]
    assert money(summary["total-amount"]) == sum(money(r["amount"]) for r in rows)
    assert all(summary[c] for c in SUMMARY)
    assert all(r["settlement-id"] == summary["settlement-id"] and not any(r[c] for c in SUMMARY[1:]) for r in rows)
    assert ("\r\n" in text) == (facts["line endings"] == "CRLF")
    amounts = [r["amount"] for r in rows]
    if facts["decimals"] == "comma":
        assert all(re.fullmatch(r"-?\d+,\d\d", a) for a in amounts)
    else:
        assert all(re.fullmatch(r"-?\d+\.\d\d", a) for a in amounts)


def test_given_the_de_fixture_then_it_is_windows_1252_with_umlauts_and_german_dates():
    raw = (FIXTURES / "de_v2.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp1252") == raw.decode("iso-8859-1")  # no byte where the two code pages differ
    _, summary, rows = load("de_v2.txt")
    assert summary["settlement-end-date"] == "15.11.2026 07:48:10 UTC"
    assert any("Ö" in r["merchant-order-id"] or "Ü" in r["merchant-order-id"] for r in rows)
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", rows[0]["posted-date"])


def test_given_the_negative_fixture_then_its_total_is_negative_and_refunds_outweigh_sales():
    _, summary, rows = load("negative_v2.txt")
    sales = sum(money(r["amount"]) for r in rows if r["transaction-type"] == "Order" and r["amount-type"] == "ItemPrice")
    refunds = sum(money(r["amount"]) for r in rows if "Refund" in r["transaction-type"] and r["amount-type"] == "ItemPrice")
    assert money(summary["total-amount"]) < 0 and -refunds > sales


def test_given_the_us_fixture_then_the_accounting_worked_example_order_sums_to_its_deposit():
    _, _, rows = load("us_v2.txt")
    example = [money(r["amount"]) for r in rows if r["order-id"] == "113-1234567-0000001"]
    assert sum(example) == Decimal("23.39") and len(example) == 6
