"""The settlement flow end to end: reports published in the SP-API emulator as Amazon would, listed
and downloaded through the real client, archived, parsed, mapped and posted to the NetSuite emulator.
Ends with the fault matrix: every fault the sandboxes inject, and after it nothing is lost (each
settlement posted or in the ledger as failed with a reason) and nothing duplicated."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from amazon_netsuite.archive import ImportRefused
from amazon_netsuite.flows.settlements import (
    DAG_ID,
    REPORT_TYPE,
    SettlementPostingError,
    finance_summary,
    find_settlement_reports,
    post_settlement,
    process_settlement,
)
from amazon_netsuite.ledger import Ledger
from amazon_netsuite.mappings import load_mappings
from amazon_netsuite.transforms.settlements import COLUMNS
from sandbox.runner import start_servers

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "settlements"
US_ID, DE_ID, CA_ID = "24567890123", "24567890789", "24567891012"
US, CA, UK, DE, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A1AM78C64UM0Y8"
NA_REGION = [US, CA, MX]  # what Amazon lists on every settlement report of the region


@pytest.fixture(scope="module")
def servers(reference_dir, tmp_path_factory):
    with start_servers(state_dir=tmp_path_factory.mktemp("settle-sandbox"), rate_scale=500) as running:
        yield running


class World:
    def __init__(self, servers, tmp_path: Path):
        self.amazon = httpx.Client(base_url=servers.urls["amazon"], timeout=60)
        self.netsuite = httpx.Client(base_url=servers.urls["netsuite"], timeout=60)
        self.ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        self.mappings = load_mappings()
        self.tmp_path = tmp_path
        for admin in (self.amazon, self.netsuite):
            admin.post("/_sandbox/reset").raise_for_status()
        self.netsuite.post("/_sandbox/seed", json={"seed": 0}).raise_for_status()

    def publish(self, name: str, *, charset: str = "UTF-8", marketplaces: list[str] | None = None,
                text: str | None = None, created: dt.datetime | None = None) -> None:
        content = text if text is not None else (FIXTURES / name).read_bytes().decode(
            "cp1252" if charset != "UTF-8" else "utf-8")
        body = {"reportType": REPORT_TYPE, "marketplaceIds": marketplaces or NA_REGION, "content": content,
                "charset": charset}
        if created:
            body["createdTime"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.amazon.post("/_sandbox/reports", json=body).raise_for_status()

    def hooks(self):
        """One SP-API hook per region's connection (by connection id) and the NetSuite hook."""
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.netsuite.hook import NetSuiteHook

        amazon = hooks_for_targets(self.mappings.sp_api_targets(), backoff_base=0.01, backoff_max=0.2, max_attempts=3,
                                   max_throttle_retries=3)
        return ({h.sp_api_conn_id: h for h in amazon},
                NetSuiteHook(max_attempts=4, backoff_initial=0.01, backoff_max=0.1))

    def run(self, run_id: str, *, window=None, settlement_ids=(), errors: list | None = None, **kwargs) -> list[dict]:
        """One DAG run as Airflow runs it: find, then one post task per report (a task that raises is
        recorded in ``errors`` like a failed mapped task; the others still run)."""
        amazon, netsuite = self.hooks()
        found = find_settlement_reports(list(amazon.values()), window=window, settlement_ids=settlement_ids)
        outcomes = []
        kwargs.setdefault("retry_failed", bool(settlement_ids))
        for source in found:
            try:
                outcomes.append(post_settlement(
                    source, ledger=self.ledger, run_id=run_id, mappings=self.mappings, netsuite=netsuite,
                    read=lambda s, a=amazon: a[s["sp_api_conn_id"]].download_report_document(
                        s["document_id"], report_type=REPORT_TYPE),
                    settlement_ids=settlement_ids, **kwargs))
            except Exception as exc:
                if errors is None:
                    raise
                errors.append(exc)
        return outcomes

    def journals(self) -> dict[str, dict]:
        return {j["externalId"]: j for j in self.netsuite.get("/_sandbox/records/journalEntry").json()}

    def calls(self, operation: str) -> int:
        return self.netsuite.get("/_sandbox/calls").json()["operations"].get(operation, {}).get("calls", 0)

    def record(self, key: str):
        return self.ledger.get(f"{DAG_ID}:journalEntry:{key}")


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    for name, value in servers.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("AMAZON_NETSUITE_IMPORT_DIR", str(tmp_path / "imports"))
    (tmp_path / "imports").mkdir()
    return World(servers, tmp_path)


def _net(journal: dict) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for line in journal["lineList"]:
        amount = Decimal(str(line.get("credit") or 0)) - Decimal(str(line.get("debit") or 0))
        sums[line["account"]["internalId"]] = sums.get(line["account"]["internalId"], Decimal(0)) + amount
    return sums


def _sum(journals, account: str) -> Decimal:
    return sum((_net(j).get(account, Decimal(0)) for j in journals), Decimal(0))


def _of(journals: dict[str, dict], sid: str) -> list[dict]:
    return [j for ext, j in sorted(journals.items()) if ext == f"AMZ-JE-{sid}" or ext.startswith(f"AMZ-JE-{sid}-")]


def test_given_us_de_and_negative_settlements_when_posted_then_balanced_deposit_or_carried_balance(world, tmp_path):
    world.publish("us_v2.txt")
    world.publish("de_v2.txt", charset="windows-1252", marketplaces=[UK, DE])
    world.publish("negative_v2.txt")  # Amazon.ca, listed with Amazon.com first: the FILE says Amazon.ca
    outcomes = {o["settlement_id"]: o for o in world.run("run-1")}
    assert {o["outcome"] for o in outcomes.values()} == {"posted"}
    journals = world.journals()
    us, de, ca = journals[f"AMZ-JE-{US_ID}"], journals[f"AMZ-JE-{DE_ID}"], journals[f"AMZ-JE-{CA_ID}"]
    for journal in (us, de, ca):
        assert sum(_net(journal).values()) == 0  # debits = credits
    assert _net(us)["1010"] == Decimal("-67.73")  # the deposit: a debit of exactly total-amount
    assert _net(de)["1013"] == Decimal("-1386.56")
    assert ca["subsidiary"]["internalId"] == "3"
    assert "1011" not in _net(ca) and _net(ca)["2331"] == Decimal("344.14")  # negative: owed to Amazon, no bank
    assert us["subsidiary"]["internalId"] == "2" and de["subsidiary"]["internalId"] == "5"
    assert str(us["tranDate"])[:10] == "2026-11-17"
    # per account, the journal equals the file mapped through settlement_gl.csv
    from amazon_netsuite.transforms.settlements import build_journal, parse_settlement

    plan = build_journal(parse_settlement((FIXTURES / "us_v2.txt").read_text()), world.mappings)
    expected = {k: Decimal(v) / 100 for k, v in plan.account_sums.items()}
    assert {k: v for k, v in _net(us).items() if k != "1010"} == expected
    assert _net(us)["2340"] == Decimal("-21.64")  # the refund waits for the credit memo (principal + tax)
    assert list((tmp_path / "archive" / "settlements" / US_ID).glob("*.txt"))  # archived, keyed by settlement id
    assert world.record(CA_ID).status == "synced"  # chargebacks have a rule now
    counts, details = finance_summary(list(outcomes.values()))
    text = "\n".join(details)
    assert "Settlement 24567891012 Amazon.ca CAD" in text and "balance carried -344.14 CAD" in text
    assert "deposit 67.73 USD to the bank" in text
    assert "Totals per currency: CAD: carried -344.14 (1); EUR: deposits 1386.56 (1); USD: deposits 67.73 (1)" in text
    assert counts == {"posted": 3}


def test_given_the_seeded_sandbox_when_run_daily_then_chain_only_deposits_positive_and_unmapped_alert_once(world):
    world.amazon.post("/_sandbox/seed", json={"seed": 0, "orders": 120, "unmapped_marketplaces": True}).raise_for_status()
    errors: list = []
    outcomes = world.run("day-1", errors=errors)
    assert errors == []
    failed = {o["settlement_id"]: o["reason"] for o in outcomes if o["outcome"] == "failed"}
    # the EUR settlement whose rows name Amazon.fr and Amazon.it is refused, never posted to Amazon.de
    assert set(failed.values()) == {"unmapped_marketplace"}
    journals = world.journals()
    chain_totals = {Decimal("-321.69"), Decimal("-62.31"), Decimal("1016.08")}
    chain = [o for o in outcomes if o.get("currency") == "CAD" and Decimal(o.get("total") or 0) in chain_totals]
    assert sorted(Decimal(o["total"]) for o in chain) == sorted(chain_totals)
    assert {o["outcome"] for o in chain} == {"posted"}
    chain_journals = [j for o in chain for j in _of(journals, o["settlement_id"])]
    assert _sum(chain_journals, "1011") == Decimal("-1016.08")  # only the positive one reached the bank
    assert _sum(chain_journals, "2331") == 0  # what was carried was cleared by the later settlements
    fee_only = next(o for o in chain if o["total"] == "-321.69")
    assert fee_only["marketplace_name"] == "Amazon.ca"  # no marketplace-name: resolved by its currency
    for o in outcomes:  # cut at month ends: each part dated in the month of its rows
        for part in o.get("periods") or []:
            assert part["tran_date"][:7] == part["period"]
    for journal in journals.values():
        assert sum(_net(journal).values()) == 0
    summary = world.ledger.run_summary(DAG_ID, "day-1")
    assert summary.failures_by_reason == {"unmapped_marketplace": len(failed)}

    # the next day: the same reports are listed again; nothing posted twice, nothing alerted again
    writes = world.calls("upsertList")
    again = world.run("day-2")
    assert world.calls("upsertList") == writes
    assert {o["outcome"] for o in again} <= {"already_posted", "left_alone"}
    assert sorted(o["settlement_id"] for o in again if o["outcome"] == "left_alone") == sorted(failed)
    assert world.ledger.run_summary(DAG_ID, "day-2").failed == 0


def test_given_posted_settlements_when_listed_again_then_nothing_written(world):
    world.publish("us_v2.txt")
    world.run("run-1")
    writes = world.calls("upsertList")
    outcomes = world.run("backfill", window=(dt.datetime.now(dt.UTC) - dt.timedelta(days=30), dt.datetime.now(dt.UTC)))
    assert [o["outcome"] for o in outcomes] == ["already_posted"]
    assert world.calls("upsertList") == writes
    assert len(world.journals()) == 1


def test_given_file_changed_after_posting_then_adjusting_entry_not_a_rewrite(world):
    world.publish("us_v2.txt")
    world.run("run-1")
    posted = world.journals()[f"AMZ-JE-{US_ID}"]
    text = (FIXTURES / "us_v2.txt").read_text()
    changed = text.replace("\t67.73\t", "\t66.73\t", 1)
    lines = changed.splitlines()
    for i, line in enumerate(lines):
        if "\tCommission\t" in line and "\tOrder\t" in line:
            cells = line.split("\t")
            idx = cells.index("Commission") + 1
            cells[idx] = f"{Decimal(cells[idx]) - 1:.2f}"
            lines[i] = "\t".join(cells)
            break
    world.publish("us_v2.txt", text="\n".join(lines) + "\n")
    outcomes = world.run("run-2")
    assert sorted(o["outcome"] for o in outcomes) == ["adjusted", "already_posted"]
    journals = world.journals()
    assert journals[f"AMZ-JE-{US_ID}"]["lineList"] == posted["lineList"]  # the posted entry is untouched
    adjustment = journals[f"AMZ-JE-{US_ID}-ADJ1"]
    assert _net(adjustment) == {"6110": Decimal("-1.00"), "1010": Decimal("1.00")}


def test_given_closed_period_then_fails_clearly_and_posting_date_posts_it(world):
    text = (FIXTURES / "us_v2.txt").read_text().replace("2026-11-17 07:48:10 UTC", "2026-03-17 07:48:10 UTC")
    world.publish("us_v2.txt", text=text)
    outcomes = world.run("run-1")
    assert outcomes[0]["outcome"] == "failed" and outcomes[0]["reason"] == "closed_period"
    record = world.record(US_ID)
    assert "accounting period is closed" in record.last_error and "posting_date" in record.last_error
    assert world.journals() == {}
    assert world.run("run-2")[0]["outcome"] == "left_alone"  # the daily run does not alert it again
    outcomes = world.run("run-3", settlement_ids=[US_ID], posting_date=dt.date(2026, 11, 30))
    assert outcomes[0]["outcome"] == "posted"
    assert str(world.journals()[f"AMZ-JE-{US_ID}"]["tranDate"])[:10] == "2026-11-30"


def test_given_malformed_file_then_archived_dead_lettered_and_nothing_posted(world, tmp_path):
    text = (FIXTURES / "us_v2.txt").read_text().replace("\t67.73\t", "\t67.74\t", 1)
    world.publish("us_v2.txt", text=text)
    outcomes = world.run("run-1")
    assert outcomes[0]["outcome"] == "failed" and outcomes[0]["reason"] == "unbalanced_file"
    record = world.record(US_ID)
    assert f"settlement {US_ID}, row 2, column total-amount" in record.last_error
    assert record.replay["archive_uri"] and Path(record.replay["archive_uri"]).exists()
    assert world.journals() == {}


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda t: t.replace("\tStorage Fee\t-18.73\t", "\tStorage Fee\t99999999999999999999999.99\t").replace(
        "\t67.73\t", "\t99999999999999999999999.99\t"), "row 28, column amount: amount '99999999999999999999999.99' is "
                                                       "too large"),
    (lambda t: t.replace("\tStorage Fee\t", "\tStorage\x00Fee\t"), "row 28, column amount-description: contains the "
                                                                   "control character U+0000"),
])
def test_given_a_file_that_used_to_crash_the_task_then_dead_lettered_naming_the_row(world, damage, expected):
    world.publish("us_v2.txt", text=damage((FIXTURES / "us_v2.txt").read_text()))
    outcomes = world.run("run-1")
    assert outcomes[0]["outcome"] == "failed" and outcomes[0]["reason"] == "malformed_file"
    assert expected in world.record(US_ID).last_error
    assert world.journals() == {}


def test_given_unmapped_amounts_when_rule_added_and_replayed_then_moved_out_of_suspense(world, tmp_path, monkeypatch):
    from amazon_netsuite.ledger.replay import replay_records

    text = (FIXTURES / "negative_v2.txt").read_text().replace("Chargeback Refund\t", "Guarantee Claim Refund\t")
    world.publish("negative_v2.txt", text=text)
    world.run("run-1")
    failed = world.ledger.failed(dag_id=DAG_ID)
    assert [r.reason for r in failed] == ["unmapped_gl"]
    assert world.run("run-2")[0]["outcome"] == "left_alone"  # posted, in suspense: alerted once
    tables = tmp_path / "mappings"
    shutil.copytree(world.mappings.directory, tables)
    with (tables / "settlement_gl.csv").open("a") as handle:
        handle.write("Guarantee Claim Refund,ItemPrice,*,*,refunds_pending,A-to-z claims wait for the credit memo\n")
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(tables))
    replay_records(failed, ledger=world.ledger, run_id="replay-1")
    record = world.record(CA_ID)
    assert record.status == "synced"
    adjustment = world.journals()[f"AMZ-JE-{CA_ID}-ADJ1"]
    net = _net(adjustment)
    assert net["1291"] == -net["2341"] and net["1291"] != 0  # out of suspense, into refunds pending


def test_given_dry_run_then_nothing_written(world):
    world.publish("us_v2.txt")
    outcomes = world.run("dry", dry_run=True)
    assert outcomes[0]["outcome"] == "would_post"
    assert world.journals() == {} and world.record(US_ID) is None


def test_given_file_downloaded_from_seller_central_when_imported_then_posted(world, tmp_path):
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    shutil.copy(FIXTURES / "de_v2.txt", tmp_path / "imports" / "old-settlement.txt")  # cp1252, commas, CRLF
    outcome = post_settlement({"import_file": "old-settlement.txt"}, ledger=world.ledger, run_id="import",
                              mappings=world.mappings, netsuite=NetSuiteHook(max_attempts=3, backoff_initial=0.01))
    assert outcome["outcome"] == "posted"
    assert _net(world.journals()[f"AMZ-JE-{DE_ID}"])["1013"] == Decimal("-1386.56")


@pytest.mark.parametrize(("name", "content", "match"), [
    ("airflow.cfg", "[database]\nsql_alchemy_conn = postgresql://airflow:s3cret@db/airflow\n", "not under the "
                                                                                               "import folder"),
    ("v1.txt", "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\t"
               "transaction-type\tprice-type\tprice-amount\titem-related-fee-type\titem-related-fee-amount\n"
               "1\t\t\t\t1.00\tUSD\t\t\t\t\t\n", "older settlement flat file layout \\(V1"),
    ("config.txt", "[core]\nfernet_key = abc\n", "not an Amazon settlement report"),
])
def test_given_an_import_that_is_not_a_settlement_report_then_refused_before_archiving(world, tmp_path, name,
                                                                                      content, match):
    folder = tmp_path / "imports" if name != "airflow.cfg" else tmp_path
    (folder / name).write_text(content)
    given = str(folder / name)
    with pytest.raises(ImportRefused, match=match) as excinfo:
        post_settlement({"import_file": given}, ledger=world.ledger, run_id="import", mappings=world.mappings)
    assert "s3cret" not in str(excinfo.value)
    assert not (tmp_path / "archive").exists()  # nothing archived
    assert world.ledger.failed(dag_id=DAG_ID) == []


def test_given_a_report_whose_download_failed_when_a_later_run_posts_it_then_resolved(world):
    world.publish("us_v2.txt")
    world.amazon.post("/_sandbox/faults", json={"operation": "getReportDocument", "status": 503, "times": 20})
    errors: list = []
    world.run("run-1", errors=errors)
    assert len(errors) == 1
    report_records = [r for r in world.ledger.failed(dag_id=DAG_ID) if r.source_key.startswith("report-")]
    assert [r.reason for r in report_records] == ["download_error"]
    world.amazon.delete("/_sandbox/faults")
    assert world.run("run-2")[0]["outcome"] == "posted"
    assert world.ledger.get(report_records[0].key).status == "synced"  # not failed forever
    assert world.ledger.failed(dag_id=DAG_ID) == []


def test_given_detail_mode_split_in_parts_then_one_deposit_in_the_last_part(world):
    sid = "24567890999"
    cells = dict.fromkeys(COLUMNS, "")

    def line(**values):
        return "\t".join(str({**cells, "settlement-id": sid, **values}[c]) for c in COLUMNS)

    rows = [line(**{"transaction-type": "Order", "amount-type": "ItemPrice", "amount-description": "Principal",
                    "marketplace-name": "Amazon.com", "order-id": f"113-0000000-{i:07d}", "amount": "10.00",
                    "posted-date": "2026-11-05"}) for i in range(999)]
    rows += [line(**{"transaction-type": "Order", "amount-type": "ItemPrice", "amount-description": "Principal",
                     "marketplace-name": "Amazon.com", "order-id": f"113-0000001-{i:07d}", "amount": "-20.00",
                     "posted-date": "2026-11-06"}) for i in range(300)]
    summary = line(**{"settlement-start-date": "2026-11-01 00:00:00 UTC", "settlement-end-date": "2026-11-15 00:00:00 UTC",
                      "deposit-date": "2026-11-17 00:00:00 UTC", "total-amount": "3990.00", "currency": "USD"})
    world.publish("x", text="\n".join(["\t".join(COLUMNS), summary, *rows]) + "\n")
    world.run("run-1", mode="detail")
    journals = world.journals()
    assert set(journals) == {f"AMZ-JE-{sid}-1", f"AMZ-JE-{sid}-2"}
    bank = {ext: [line for line in j["lineList"] if line["account"]["internalId"] == "1010"] for ext, j in journals.items()}
    assert bank[f"AMZ-JE-{sid}-1"] == []
    assert [Decimal(str(line["debit"])) for line in bank[f"AMZ-JE-{sid}-2"]] == [Decimal("3990.00")]
    assert _sum(journals.values(), "1250") == 0  # the settlement-in-transit lines net to zero


def test_given_input_tax_on_advertising_through_the_sandbox_then_recoverable_not_expense(world):
    text = (FIXTURES / "negative_v2.txt").read_text()
    lines = text.splitlines()
    ad = next(i for i, row in enumerate(lines) if "\tCost of Advertising\t" in row)
    tax_row = lines[ad].replace("\tTransactionTotalAmount\t-156.40\t", "\tTaxAmount\t-20.33\t")
    lines.insert(ad + 1, tax_row)
    lines[1] = lines[1].replace("\t-344.14\t", "\t-364.47\t")
    world.publish("negative_v2.txt", text="\n".join(lines) + "\n")
    world.run("run-1")
    journal = world.journals()[f"AMZ-JE-{CA_ID}"]
    assert _net(journal)["1241"] == Decimal("-20.33") and _net(journal)["6140"] == Decimal("-156.40")


def test_given_one_part_refused_then_posted_parts_kept_and_replay_posts_only_the_rest(world, tmp_path, monkeypatch):
    from amazon_netsuite.ledger.replay import replay_records

    sid = "24567899999"
    cells = dict.fromkeys(COLUMNS, "")

    def line(**values):
        return "\t".join(str({**cells, "settlement-id": sid, **values}[c]) for c in COLUMNS)

    rows = [line(**{"transaction-type": "Order", "amount-type": "ItemPrice", "amount-description": "Principal",
                    "marketplace-name": "Amazon.com", "order-id": f"113-0000000-{i:07d}", "amount": "1.00"})
            for i in range(2100)]
    rows += [line(**{"transaction-type": "Order", "amount-type": "ItemFees", "amount-description": "NewFee",
                     "marketplace-name": "Amazon.com", "order-id": f"113-0000000-{i:07d}", "amount": "-0.10"})
             for i in range(2000, 2100)]
    summary = line(**{"settlement-start-date": "2026-11-01 00:00:00 UTC", "settlement-end-date": "2026-11-15 00:00:00 UTC",
                      "deposit-date": "2026-11-17 00:00:00 UTC", "total-amount": "2090.00", "currency": "USD"})
    text = "\n".join(["\t".join(COLUMNS), summary, *rows]) + "\n"
    tables = tmp_path / "mappings"
    shutil.copytree(world.mappings.directory, tables)
    with (tables / "settlement_gl.csv").open("a") as handle:
        handle.write("*,ItemFees,NewFee,*,9999,An account NetSuite does not have\n")
    world.mappings = load_mappings(tables)
    world.publish("x", text=text)
    outcomes = world.run("run-1", mode="detail")
    assert outcomes[0]["outcome"] == "failed"
    posted = world.journals()
    assert set(posted) == {f"AMZ-JE-{sid}-1", f"AMZ-JE-{sid}-2"}  # part 3 refused (account 9999)
    record = world.record(sid)
    assert len(record.replay["internal_ids"]) == 2 and record.replay["complete"] is False

    # fix the rule, replay: part 3 is posted by its externalId; parts 1 and 2 are not written again
    rules = (tables / "settlement_gl.csv").read_text()
    (tables / "settlement_gl.csv").write_text(rules.replace("*,ItemFees,NewFee,*,9999,", "*,ItemFees,NewFee,*,6119,"))
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(tables))
    before = {k: v["lastModifiedDate"] for k, v in posted.items()}
    replay_records([record], ledger=world.ledger, run_id="replay-1")
    journals = world.journals()
    assert set(journals) == {f"AMZ-JE-{sid}-1", f"AMZ-JE-{sid}-2", f"AMZ-JE-{sid}-3"}
    assert {k: journals[k]["lastModifiedDate"] for k in before} == before
    assert _sum(journals.values(), "1010") == Decimal("-2090.00")
    assert _sum(journals.values(), "6119") == Decimal("-10.00")
    assert world.record(sid).status == "synced"


def test_given_netsuite_down_while_posting_then_dead_lettered_and_the_task_fails_for_a_retry(world):
    world.publish("us_v2.txt")
    # every attempt of the hook (4) answered 503; the NetSuite sandbox has no call to clear faults
    world.netsuite.post("/_sandbox/faults", json={"operation": "upsertList", "status": 503, "times": 4})
    with pytest.raises(SettlementPostingError):
        world.run("run-1")
    record = world.record(US_ID)
    assert record.status == "failed" and record.reason == "netsuite_unavailable"
    assert world.ledger.run_summary(DAG_ID, "run-1").failed == 1  # `ledger failed` lists it
    assert world.run("run-2")[0]["outcome"] == "posted"  # transient: the next run retries it


def test_given_netsuite_down_while_posting_when_the_post_is_retried_then_amazon_is_not_read_again(world, tmp_path,
                                                                                                   monkeypatch):
    """The DAG's two sides: fetch (Amazon: download + archive), post (NetSuite, from the archive)."""
    from amazon_netsuite.flows.settlements import fetch_settlement, post_settlement, read_fetched

    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    world.publish("us_v2.txt")
    amazon, netsuite = world.hooks()
    found = find_settlement_reports(list(amazon.values()), window=None)
    fetched = [fetch_settlement(source, ledger=world.ledger, run_id="run-1",
                                read=lambda s, a=amazon: a[s["sp_api_conn_id"]].download_report_document(
                                    s["document_id"], report_type=REPORT_TYPE))
               for source in found]
    downloads = world.amazon.get("/_sandbox/calls").json()["operations"]["getReportDocument"]["calls"]
    world.netsuite.post("/_sandbox/faults", json={"operation": "upsertList", "status": 503, "times": 4})
    with pytest.raises(SettlementPostingError):
        post_settlement(fetched[0], ledger=world.ledger, run_id="run-1", mappings=world.mappings, netsuite=netsuite,
                        read=read_fetched)
    outcomes = [post_settlement(source, ledger=world.ledger, run_id="run-1", mappings=world.mappings,
                                netsuite=netsuite, read=read_fetched) for source in fetched]  # Airflow's retry
    assert {o["outcome"] for o in outcomes} <= {"posted", "already_posted"} and world.record(US_ID).status == "synced"
    assert world.amazon.get("/_sandbox/calls").json()["operations"]["getReportDocument"]["calls"] == downloads


def test_given_a_window_older_than_amazon_keeps_then_the_summary_says_so_and_how_to_import(world):
    now = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    _, details = finance_summary([], params={"window_start": "2026-06-01T00:00:00Z",
                                             "window_end": "2026-07-01T00:00:00Z"}, now=now)
    assert details[0].startswith("Nothing could be listed: Amazon keeps settlement reports 90 days")
    assert "import_file" in details[0] and "Download Flat File V2" in details[0]
    _, partly = finance_summary([], params={"window_start": "2026-06-01T00:00:00Z"}, now=now)
    assert "could not be listed" in partly[0]


def test_given_process_settlement_of_an_unmapped_marketplace_then_dead_lettered_once(world):
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    rows = (FIXTURES / "negative_v2.txt").read_text().replace("Amazon.ca", "Amazon.com.mx").replace("\tCAD\t", "\tMXN\t")
    netsuite = NetSuiteHook(max_attempts=2, backoff_initial=0.01)
    first = process_settlement(rows, source={"report_id": "1"}, mappings=world.mappings, netsuite=netsuite,
                               ledger=world.ledger, run_id="r1", retry_failed=False)
    again = process_settlement(rows, source={"report_id": "1"}, mappings=world.mappings, netsuite=netsuite,
                               ledger=world.ledger, run_id="r2", retry_failed=False)
    assert (first["outcome"], first["reason"], again["outcome"]) == ("failed", "unmapped_marketplace", "left_alone")
    assert world.ledger.run_summary(DAG_ID, "r2").failed == 0


# ------------------------------------------------------------------------------------------ fault matrix

SETTLEMENTS = {US_ID: ("us_v2.txt", "UTF-8", None), DE_ID: ("de_v2.txt", "windows-1252", [UK, DE]),
               CA_ID: ("negative_v2.txt", "UTF-8", None)}
NETSUITE_ATTEMPTS = 4  # World.hooks(): NetSuiteHook(max_attempts=4)
EVERY_ATTEMPT = NETSUITE_ATTEMPTS * len(SETTLEMENTS)  # each settlement is one upsertList call, retried


def _document_url_fault(world: World, url: str) -> dict:
    """getReportDocument answers with a presigned URL the document store refuses (sandbox: the URL is
    made to point where the refusal comes from)."""
    return {"operation": "getReportDocument", "times": 100, "status": 200, "content_type": "application/json",
            "body": json.dumps({"reportDocumentId": "amzn1.spdoc.1.4.na.faulty", "url": url})}


def amazon_download_5xx(world: World) -> list[dict]:
    # the presigned URL leads to an endpoint answering 503, as S3 does under load (SlowDown)
    url = f"{str(world.amazon.base_url).rstrip('/')}/na/orders/2026-01-01/orders?marketplaceIds=ATVPDKIKX0DER"
    return [_document_url_fault(world, url), {"operation": "searchOrders", "status": 503, "times": 100}]


def amazon_download_403(world: World) -> list[dict]:
    url = (f"{str(world.amazon.base_url).rstrip('/')}/_s3/reports/amzn1.spdoc.1.4.na.faulty?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-Signature=bad")
    return [_document_url_fault(world, url)]


FAULTS = {
    # SP-API: the listing fails, nothing is known yet: the run fails (alert), the retry finds everything
    "getReports 429": ("amazon", [{"operation": "getReports", "status": 429, "times": 100}]),
    "getReports 500": ("amazon", [{"operation": "getReports", "status": 500, "times": 100}]),
    "getReports 503": ("amazon", [{"operation": "getReports", "status": 503, "times": 100}]),
    "getReports malformed": ("amazon", [{"operation": "getReports", "status": 200, "times": 100,
                                         "content_type": "application/json", "body": '{"reports": [{"reportId": '}]),
    # SP-API: each document fails: dead-lettered as report-{id}, resolved when posted later
    "getReportDocument 503": ("amazon", [{"operation": "getReportDocument", "status": 503, "times": 100}]),
    "document download 503": ("amazon", amazon_download_5xx),
    "document download 403": ("amazon", amazon_download_403),
    # NetSuite: every attempt of every settlement fails: dead-lettered with the reason, the task fails
    "upsertList UnexpectedErrorFault": ("netsuite", [{"operation": "upsertList", "fault": "UnexpectedErrorFault",
                                                      "times": EVERY_ATTEMPT}]),
    "upsertList HTTP 503": ("netsuite", [{"operation": "upsertList", "status": 503, "times": EVERY_ATTEMPT}]),
    "upsertList InvalidCredentialsFault": ("netsuite", [{"operation": "upsertList", "fault": "InvalidCredentialsFault",
                                                         "times": len(SETTLEMENTS)}]),
    "upsertList lost response": ("netsuite", [{"operation": "upsertList", "status": 503, "after": True,
                                               "times": EVERY_ATTEMPT}]),
    "upsertList ExceededConcurrentRequestLimitFault": ("netsuite", [{"operation": "upsertList",
                                                                     "fault": "ExceededConcurrentRequestLimitFault",
                                                                     "times": EVERY_ATTEMPT}]),
}
EXPECTED_REASONS = {
    "getReportDocument 503": "download_error", "document download 503": "download_error",
    "document download 403": "download_error", "upsertList UnexpectedErrorFault": "netsuite_unavailable",
    "upsertList HTTP 503": "netsuite_unavailable", "upsertList InvalidCredentialsFault": "auth_failed",
    "upsertList lost response": "netsuite_unavailable",
    "upsertList ExceededConcurrentRequestLimitFault": "netsuite_unavailable",
}
#: what the dead letter says of the cause (proves the fault did what the scenario says)
EXPECTED_ERRORS = {
    "getReportDocument 503": "503", "document download 503": "document download HTTP 503",
    "document download 403": "failed: HTTP 403", "upsertList UnexpectedErrorFault": "UNEXPECTED_ERROR",
    "upsertList HTTP 503": "error page instead of SOAP", "upsertList InvalidCredentialsFault": "INVALID_LOGIN",
    "upsertList lost response": "error page instead of SOAP",
    "upsertList ExceededConcurrentRequestLimitFault": "WS_REQUEST_BLOCKED",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_given_a_fault_when_the_run_and_its_retry_run_then_nothing_lost_and_nothing_duplicated(world, fault):
    reports = {}
    for sid, (name, charset, marketplaces) in SETTLEMENTS.items():
        body = {"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "charset": charset,
                "marketplaceIds": marketplaces or ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"],
                "content": (FIXTURES / name).read_bytes().decode("cp1252" if charset != "UTF-8" else "utf-8")}
        reports[sid] = world.amazon.post("/_sandbox/reports", json=body).json()["reportId"]
    target, faults = FAULTS[fault]
    admin = world.amazon if target == "amazon" else world.netsuite
    for spec in faults(world) if callable(faults) else faults:
        admin.post("/_sandbox/faults", json=spec).raise_for_status()

    errors: list = []
    try:
        world.run("run-1", errors=errors)
    except Exception as exc:  # the find task failed: nothing listed, the run fails and alerts
        errors.append(exc)
    assert errors, f"{fault}: the run must fail (Airflow retries it, the alert goes out)"
    journals = world.journals()
    for sid, report_id in reports.items():
        settlement, report = world.record(sid), world.record(f"report-{report_id}")
        posted = f"AMZ-JE-{sid}" in journals and settlement is not None and settlement.status == "synced"
        failed = [r for r in (settlement, report) if r is not None and r.status == "failed"]
        if fault.startswith("getReports"):
            assert not posted and not failed  # nothing listed: nothing half-done either
        else:
            assert posted or failed, f"{fault}: settlement {sid} is neither posted nor dead-lettered"
            assert all(r.reason == EXPECTED_REASONS[fault] and EXPECTED_ERRORS[fault] in r.last_error
                       for r in failed), [(r.key, r.reason, r.last_error) for r in failed]
    if fault in EXPECTED_REASONS:
        assert world.ledger.run_summary(DAG_ID, "run-1").failed >= 1  # `ledger failed` lists them

    world.amazon.delete("/_sandbox/faults").raise_for_status()
    world.run("run-2")  # the retry (or the next daily run) posts what is missing
    journals = world.journals()
    assert set(journals) == {f"AMZ-JE-{sid}" for sid in SETTLEMENTS}  # each once, no adjusting entry
    for sid, report_id in reports.items():
        assert world.record(sid).status == "synced"
        report = world.record(f"report-{report_id}")
        assert report is None or report.status == "synced"  # a failed download is resolved, not failed forever
    assert world.ledger.failed(dag_id=DAG_ID) == []

    writes = world.calls("upsertList")
    outcomes = world.run("run-3")
    assert {o["outcome"] for o in outcomes} == {"already_posted"}
    assert world.calls("upsertList") == writes  # nothing posted twice


class TestListingWindow:
    def test_given_a_daily_run_then_everything_amazon_keeps(self):
        from amazon_netsuite.flows.settlements import listing_window

        start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        daily = {"params": {}, "dag_run": type("Run", (), {"run_type": "scheduled"})(),
                 "data_interval_start": start, "data_interval_end": start + dt.timedelta(days=1)}
        assert listing_window(daily) is None
        backfill = {**daily, "dag_run": type("Run", (), {"run_type": "backfill"})()}
        assert listing_window(backfill) == (start, start + dt.timedelta(days=1))
        window = listing_window({"params": {"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-11-02T00:00:00Z"}})
        assert window == (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
        assert listing_window({"params": {"settlement_ids": ["1"], "window_start": "2026-11-01T00:00:00Z"}}) is None


def test_given_settlements_in_two_regions_when_finding_then_each_is_listed_on_its_regions_connection(world):
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.flows.settlements import read_settlement_document

    world.publish("us_v2.txt")
    world.publish("de_v2.txt", charset="windows-1252", marketplaces=["A1PA6795UKMFR9"])
    now = dt.datetime.now(dt.UTC)

    found = find_settlement_reports(hooks_for_targets(world.mappings.sp_api_targets()), window=(now - dt.timedelta(days=30), now))

    assert sorted(s["sp_api_conn_id"] for s in found) == ["amazon_sp_api_eu", "amazon_sp_api_na"]
    by_conn = {s["sp_api_conn_id"]: s for s in found}
    assert len(by_conn["amazon_sp_api_eu"]["marketplace_ids"]) == 16  # the report lists its whole region
    assert DE_ID in read_settlement_document(by_conn["amazon_sp_api_eu"])
    # a ledger entry without the connection (older runs) is read on its marketplaces' region
    legacy = {k: v for k, v in by_conn["amazon_sp_api_eu"].items() if k != "sp_api_conn_id"}
    assert DE_ID in read_settlement_document(legacy)
