"""Journal entries and accounting periods through the real netsuitesdk/zeep client against the emulator."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from amazon_netsuite.netsuite.records import JournalLine, build_journal_entry, journal_entry_external_id

US_SUBSIDIARY, UK_SUBSIDIARY = 2, 4
USD, GBP = 1, 3
BANK_US, BANK_UK, CLEARING_US, REFERRAL_FEES, FBA_FEES, RESERVE = 1010, 1012, 1210, 6110, 6120, 1220
OPEN_DAY = date(2026, 11, 14)  # Nov 2026, internalId 23, open
CLOSED_DAY = date(2026, 3, 31)  # Mar 2026, internalId 15, closed
MAY_2026 = "17"  # the last closed period of the seed


def settlement_lines(deposit: str = "80.00", fees: str = "15.00", fba: str = "5.00") -> list[JournalLine]:
    """A settlement: clearing is credited with the charges; fees and the deposit are debited."""
    total = Decimal(deposit) + Decimal(fees) + Decimal(fba)
    return [
        JournalLine(CLEARING_US, credit=total, memo="Order ItemPrice Principal"),
        JournalLine(REFERRAL_FEES, debit=Decimal(fees), memo="Commission", department_id=1, class_id=1),
        JournalLine(FBA_FEES, debit=Decimal(fba), memo="FBAPerUnitFulfillmentFee", location_id=2),
        JournalLine(BANK_US, debit=Decimal(deposit), memo="Deposit"),
    ]


def journal(settlement_id: str, *, tran_date: date = OPEN_DAY, lines: list | None = None, **kwargs) -> dict:
    return build_journal_entry(
        external_id=journal_entry_external_id(settlement_id),
        subsidiary_id=US_SUBSIDIARY,
        currency_id=USD,
        tran_date=tran_date,
        lines=lines or settlement_lines(),
        memo=f"Amazon settlement {settlement_id}",
        **kwargs,
    )


def unbalanced(record: dict, line: int = 1, amount: str = "100.01") -> dict:
    """Bypass the builder's own balance check: what a buggy caller could still send."""
    out = dict(record, lineList=[dict(x) for x in record["lineList"]])
    key = "debit" if "debit" in out["lineList"][line] else "credit"
    out["lineList"][line][key] = Decimal(amount)
    return out


class TestPosting:
    def test_given_a_balanced_entry_when_upserted_then_posted_in_the_open_period_of_its_date(self, hook, admin):
        [result] = hook.upsert_records("journalEntry", [journal("1001")])

        assert result.ok, result.describe()
        stored = {j["externalId"]: j for j in admin.get("/_sandbox/records/journalEntry").json()}["AMZ-JE-1001"]
        assert stored["postingPeriod"] == {"internalId": "23", "name": "Nov 2026"}
        assert stored["subsidiary"]["internalId"] == "2" and stored["currency"]["internalId"] == "1"
        assert [line["line"] for line in stored["lineList"]] == [1, 2, 3, 4]
        assert stored["lineList"][0]["account"]["name"] == "1210 Amazon Clearing - US"
        assert stored["createdDate"] and stored["lastModifiedDate"]

    def test_given_one_unbalanced_entry_in_a_batch_then_only_it_fails_with_the_difference(self, hook, admin):
        records = [journal("2001"), unbalanced(journal("2002"), line=1, amount="15.01"), journal("2003")]

        results = hook.upsert_records("journalEntry", records)

        assert [r.ok for r in results] == [True, False, True]
        failed = results[1]
        assert failed.external_id == "AMZ-JE-2002" and failed.unbalanced
        assert failed.error_code == "JE_AMOUNTS_MUST_BALANCE"
        assert failed.error_message == (
            "The debit and credit totals are not equal (debits 100.01, credits 100.00, difference 0.01). "
            "Journal entry amounts must balance."
        )
        stored = {j["externalId"] for j in admin.get("/_sandbox/records/journalEntry").json()}
        assert stored == {"AMZ-JE-2001", "AMZ-JE-2003"}

    def test_given_an_unknown_account_then_invalid_key_or_ref_for_the_subsidiary(self, hook):
        lines = settlement_lines()
        lines[1] = JournalLine(9999, debit=Decimal("15.00"))
        [result] = hook.upsert_records("journalEntry", [journal("3001", lines=lines)])

        assert result.error_code == "INVALID_KEY_OR_REF"
        assert result.error_message == "Invalid account reference key 9999 for subsidiary 2."

    def test_given_an_account_of_another_subsidiary_then_invalid_key_or_ref(self, hook):
        lines = settlement_lines()
        lines[3] = JournalLine(BANK_UK, debit=Decimal("80.00"))
        [result] = hook.upsert_records("journalEntry", [journal("3002", lines=lines)])

        assert result.error_code == "INVALID_KEY_OR_REF" and "1012 for subsidiary 2" in result.error_message

    def test_given_a_bank_account_in_another_currency_then_mismatched_currency(self, hook):
        record = build_journal_entry(
            external_id="AMZ-JE-3003", subsidiary_id=UK_SUBSIDIARY, currency_id=USD, tran_date=OPEN_DAY,
            lines=[JournalLine(BANK_UK, debit=Decimal(1)), JournalLine(1212, credit=Decimal(1))],
        )
        [result] = hook.upsert_records("journalEntry", [record])

        assert result.error_code == "MISMATCHED_CURRENCY"

    def test_given_a_date_in_a_closed_period_then_refused_with_the_period_name(self, hook, admin):
        [result] = hook.upsert_records("journalEntry", [journal("4001", tran_date=CLOSED_DAY)])

        assert result.period_closed and result.error_code == "TRAN_PERIOD_CLOSED"
        assert result.error_message == (
            "The accounting period Mar 2026 is closed. You cannot post a transaction dated 2026-03-31 to a closed "
            "period: date it in an open period or reopen Mar 2026."
        )
        assert admin.get("/_sandbox/records/journalEntry").json() == []

    def test_given_a_closed_posting_period_given_explicitly_then_refused(self, hook):
        [result] = hook.upsert_records("journalEntry", [journal("4002", posting_period_id=MAY_2026)])

        assert result.error_code == "TRAN_PERIOD_CLOSED" and "May 2026" in result.error_message

    def test_given_a_date_without_period_then_invalid_acct_prd(self, hook):
        [result] = hook.upsert_records("journalEntry", [journal("4003", tran_date=date(2030, 1, 15))])

        assert result.error_code == "INVALID_ACCT_PRD" and "2030-01-15" in result.error_message

    def test_given_a_period_closed_through_the_admin_api_then_postings_refused_until_reopened(self, hook, admin):
        closed = admin.post("/_sandbox/records/accountingPeriod", json=[{"internalId": "23", "closed": True}])
        assert closed.status_code == 200, closed.text
        assert closed.json()[0]["closed"] is True and closed.json()[0]["allLocked"] is True

        [refused] = hook.upsert_records("journalEntry", [journal("5001")])
        admin.post("/_sandbox/records/accountingPeriod", json=[{"internalId": "23", "closed": False}]).raise_for_status()
        [posted] = hook.upsert_records("journalEntry", [journal("5001")])

        assert refused.error_code == "TRAN_PERIOD_CLOSED" and "Nov 2026" in refused.error_message
        assert posted.ok

    def test_given_more_than_1000_lines_then_exceeded_max_trans_lines(self, hook):
        lines = [JournalLine(REFERRAL_FEES, debit=Decimal("0.01")) for _ in range(999)]
        record = journal("6001", lines=[*lines, JournalLine(CLEARING_US, credit=Decimal("9.99"))])
        assert len(record["lineList"]) == 1000
        too_long = dict(record, lineList=[*record["lineList"], {"line": 1001, "account": {"internalId": "6110"}, "debit": Decimal(0)}])

        results = hook.upsert_records("journalEntry", [too_long, record])

        assert results[0].error_code == "EXCEEDED_MAX_TRANS_LINES" and "1001 lines" in results[0].error_message
        assert results[1].ok


class TestIdempotency:
    def test_given_the_same_external_id_upserted_twice_then_one_entry_with_its_lines_updated_in_place(
        self, hook, admin
    ):
        first = hook.upsert_records("journalEntry", [journal("7001")])
        second = hook.upsert_records("journalEntry", [journal("7001", lines=settlement_lines("70.00", "20.00", "10.00"))])

        assert first[0].internal_id == second[0].internal_id
        entries = [j for j in admin.get("/_sandbox/records/journalEntry").json() if j["externalId"] == "AMZ-JE-7001"]
        assert len(entries) == 1
        assert [(line["line"], line.get("debit"), line.get("credit")) for line in entries[0]["lineList"]] == [
            (1, None, 100.0), (2, 20.0, None), (3, 10.0, None), (4, 70.0, None),
        ]


class TestReads:
    def test_given_posted_entries_when_read_by_external_id_then_lines_with_exact_decimals(self, hook):
        lines = [
            JournalLine(CLEARING_US, credit=Decimal("1234567.89")),
            JournalLine(REFERRAL_FEES, debit=Decimal("0.07")),
            JournalLine(FBA_FEES, debit=Decimal("0.10")),
            JournalLine(BANK_US, debit=Decimal("1234567.72")),
        ]
        hook.upsert_records("journalEntry", [journal("8001", lines=lines), journal("8002")])

        found = hook.get_records("journalEntry", ["AMZ-JE-8001", "AMZ-JE-404"], by="externalId")

        assert set(found) == {"AMZ-JE-8001"}
        got = [(line.get("debit"), line.get("credit")) for line in found["AMZ-JE-8001"]["lineList"]]
        assert got == [
            (None, Decimal("1234567.89")), (Decimal("0.07"), None), (Decimal("0.1"), None), (Decimal("1234567.72"), None),
        ]
        assert all(isinstance(v, Decimal) for pair in got for v in pair if v is not None)
        assert found["AMZ-JE-8001"]["postingPeriod"]["internalId"] == "23"

    def test_given_entries_when_searched_by_external_ids_then_body_fields_only(self, hook):
        hook.upsert_records("journalEntry", [journal("8101"), journal("8102")])

        found = hook.search_by_external_ids("journalEntry", ["AMZ-JE-8101", "AMZ-JE-8102", "AMZ-JE-404"])

        assert sorted(j["externalId"] for j in found) == ["AMZ-JE-8101", "AMZ-JE-8102"]
        assert all("lineList" not in j for j in found)

    def test_given_the_seed_then_36_monthly_periods_closed_before_june_2026(self, hook):
        periods = hook.get_accounting_periods()

        assert len(periods) == 36
        by_name = {p["periodName"]: p for p in periods}
        assert by_name["Jan 2025"]["internalId"] == "1" and by_name["Dec 2027"]["internalId"] == "36"
        assert by_name["May 2026"]["closed"] is True and by_name["Jun 2026"]["closed"] is False
        assert sorted(int(p["internalId"]) for p in periods if p["closed"]) == list(range(1, 18))
        nov = hook.get_accounting_period(OPEN_DAY)
        assert nov["periodName"] == "Nov 2026" and nov["startDate"].date() == date(2026, 11, 1)
        assert nov["endDate"].date() == date(2026, 11, 30)
        assert hook.get_accounting_period(date(2031, 1, 1)) is None


class TestSeedAccounts:
    def test_given_the_seed_then_every_account_of_the_gl_mappings_exists(self, admin):
        root = Path(__file__).resolve().parents[3]
        accounts = {a["internalId"] for a in admin.get("/_sandbox/records/account").json()}
        wanted: set[str] = set()
        for path in (root / "include/mappings/settlement_gl.csv", root / "include/mappings/examples/settlement_gl_settlement_revenue.csv"):
            with path.open() as fh:
                wanted |= {row["gl_account_id"] for row in csv.DictReader(fh) if row["gl_account_id"].isdigit()}
        with (root / "include/mappings/marketplaces.csv").open() as fh:
            for row in csv.DictReader(fh):
                wanted |= {row[k] for k in ("amazon_clearing_account_id", "settlement_bank_account_id",
                                            "facilitator_tax_account_id", "suspense_account_id")}
        assert wanted - accounts == set()


class TestAdminApi:
    def test_given_a_journal_posted_to_the_admin_api_then_same_rules_and_json_shape(self, admin):
        entry = {
            "externalId": "AMZ-JE-9001", "subsidiary": {"internalId": "2"}, "tranDate": "2026-11-14T12:00:00+00:00",
            "lineList": [{"account": {"internalId": "1210"}, "credit": 10.5}, {"account": {"internalId": "1010"}, "debit": 10.5}],
        }
        posted = admin.post("/_sandbox/records/journalEntry", json=[entry])
        refused = admin.post(
            "/_sandbox/records/journalEntry",
            json=[dict(entry, externalId="AMZ-JE-9002", lineList=[entry["lineList"][0], {"account": {"internalId": "1010"}, "debit": 10}])],
        )

        assert posted.status_code == 200, posted.text
        stored = posted.json()[0]
        assert stored["currency"]["internalId"] == "1"  # the subsidiary's base currency
        assert stored["postingPeriod"]["name"] == "Nov 2026" and [line["line"] for line in stored["lineList"]] == [1, 2]
        assert refused.status_code == 400
        assert refused.json()["detail"]["errors"][0]["code"] == "JE_AMOUNTS_MUST_BALANCE"
