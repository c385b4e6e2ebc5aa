"""The settlement flow end to end: reports published in the SP-API emulator as Amazon would, listed
and downloaded through the real client, archived, parsed, mapped and posted to the NetSuite emulator."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from amazon_netsuite.flows.settlements import DAG_ID, REPORT_TYPE, find_settlement_reports, process_settlement
from amazon_netsuite.ledger import Ledger
from amazon_netsuite.mappings import load_mappings
from sandbox.runner import start_servers

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "settlements"
US_ID, DE_ID, CA_ID = "24567890123", "24567890789", "24567891012"


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
        for admin in (self.amazon, self.netsuite):
            admin.post("/_sandbox/reset").raise_for_status()
        self.netsuite.post("/_sandbox/seed", json={"seed": 0}).raise_for_status()

    def publish(self, name: str, *, charset: str = "UTF-8", marketplace: str = "ATVPDKIKX0DER",
                text: str | None = None, created: dt.datetime | None = None) -> None:
        content = text if text is not None else (FIXTURES / name).read_bytes().decode(
            "cp1252" if charset != "UTF-8" else "utf-8")
        body = {"reportType": REPORT_TYPE, "marketplaceIds": [marketplace], "content": content, "charset": charset}
        if created:
            body["createdTime"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.amazon.post("/_sandbox/reports", json=body).raise_for_status()

    def run(self, run_id: str, **kwargs) -> list[dict]:
        from amazon_netsuite.amazon.hook import hooks_for_targets
        from amazon_netsuite.flows.settlements import read_settlement_document
        from amazon_netsuite.netsuite.hook import NetSuiteHook

        amazon = hooks_for_targets(self.mappings.sp_api_targets(), backoff_base=0.01, backoff_max=0.2)  # one per region
        netsuite = NetSuiteHook(max_attempts=8, backoff_initial=0.01, backoff_max=0.2)
        now = dt.datetime.now(dt.UTC)
        outcomes = []
        found = find_settlement_reports(amazon, window=(now - dt.timedelta(days=30), now))
        for source in found:
            text = read_settlement_document(source)  # on the connection of the report's region
            outcomes.append(process_settlement(text, source=source, mappings=self.mappings, netsuite=netsuite,
                                               ledger=self.ledger, run_id=run_id, **kwargs))
        return outcomes

    def journals(self) -> dict[str, dict]:
        return {j["externalId"]: j for j in self.netsuite.get("/_sandbox/records/journalEntry").json()}

    def calls(self, operation: str) -> int:
        return self.netsuite.get("/_sandbox/calls").json()["operations"].get(operation, {}).get("calls", 0)


@pytest.fixture
def world(servers, tmp_path, monkeypatch):
    for name, value in servers.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMAZON_NETSUITE_ARCHIVE_DIR", str(tmp_path / "archive"))
    return World(servers, tmp_path)


def _net(journal: dict) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for line in journal["lineList"]:
        amount = Decimal(str(line.get("credit") or 0)) - Decimal(str(line.get("debit") or 0))
        sums[line["account"]["internalId"]] = sums.get(line["account"]["internalId"], Decimal(0)) + amount
    return sums


def test_given_us_de_and_negative_settlements_when_posted_then_balanced_with_bank_equal_total(world, tmp_path):
    world.publish("us_v2.txt")
    world.publish("de_v2.txt", charset="windows-1252", marketplace="A1PA6795UKMFR9")
    world.publish("negative_v2.txt", marketplace="A2EUQ1WTGCTBG2")
    outcomes = {o["settlement_id"]: o for o in world.run("run-1")}
    assert outcomes[US_ID]["outcome"] == "posted" and outcomes[DE_ID]["outcome"] == "posted"
    journals = world.journals()
    us, de, ca = journals[f"AMZ-JE-{US_ID}"], journals[f"AMZ-JE-{DE_ID}"], journals[f"AMZ-JE-{CA_ID}"]
    for journal in (us, de, ca):
        assert sum(_net(journal).values()) == 0  # debits = credits
    assert _net(us)["1010"] == Decimal("-67.73")  # the deposit: a debit of exactly total-amount
    assert _net(de)["1013"] == Decimal("-1386.56")
    assert _net(ca)["1011"] == Decimal("344.14")  # negative settlement: the bank line is a credit
    assert us["subsidiary"]["internalId"] == "2" and de["subsidiary"]["internalId"] == "5"
    assert str(us["tranDate"])[:10] == "2026-11-17"
    # per account, the journal equals the file mapped through settlement_gl.csv
    from amazon_netsuite.transforms.settlements import build_journal, parse_settlement

    plan = build_journal(parse_settlement((FIXTURES / "us_v2.txt").read_text()), world.mappings)
    expected = {k: Decimal(v) / 100 for k, v in plan.account_sums.items()}
    assert {k: v for k, v in _net(us).items() if k != "1010"} == expected
    # archived, keyed by settlement id
    assert list((tmp_path / "archive" / "settlements" / US_ID).glob("*.txt"))
    # CA chargebacks have no rule: suspense, listed, and the settlement waits for a rule
    assert outcomes[CA_ID]["unmapped"] and world.ledger.get(f"{DAG_ID}:journalEntry:{CA_ID}").reason == "unmapped_gl"
    assert "1291" in _net(ca)


def test_given_posted_settlements_when_backfilled_then_nothing_written(world):
    world.publish("us_v2.txt")
    world.run("run-1")
    writes = world.calls("upsertList")
    outcomes = world.run("backfill")
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
    record = world.ledger.get(f"{DAG_ID}:journalEntry:{US_ID}")
    assert "accounting period is closed" in record.last_error and "posting_date" in record.last_error
    assert world.journals() == {}
    outcomes = world.run("run-2", posting_date=dt.date(2026, 11, 30))
    assert outcomes[0]["outcome"] == "posted"
    assert str(world.journals()[f"AMZ-JE-{US_ID}"]["tranDate"])[:10] == "2026-11-30"


def test_given_malformed_file_then_archived_dead_lettered_and_nothing_posted(world, tmp_path):
    text = (FIXTURES / "us_v2.txt").read_text().replace("\t67.73\t", "\t67.74\t", 1)
    world.publish("us_v2.txt", text=text)
    outcomes = world.run("run-1")
    assert outcomes[0]["outcome"] == "failed" and outcomes[0]["reason"] == "unbalanced_file"
    record = world.ledger.get(f"{DAG_ID}:journalEntry:{US_ID}")
    assert f"settlement {US_ID}, row 2, column total-amount" in record.last_error
    assert record.replay["archive_uri"] and Path(record.replay["archive_uri"]).exists()
    assert world.journals() == {}


def test_given_unmapped_amounts_when_rule_added_and_replayed_then_moved_out_of_suspense(world, tmp_path, monkeypatch):
    from amazon_netsuite.ledger.replay import replay_records

    world.publish("negative_v2.txt", marketplace="A2EUQ1WTGCTBG2")
    world.run("run-1")
    failed = world.ledger.failed(dag_id=DAG_ID)
    assert [r.reason for r in failed] == ["unmapped_gl"]
    tables = tmp_path / "mappings"
    shutil.copytree(world.mappings.directory, tables)
    with (tables / "settlement_gl.csv").open("a") as handle:
        handle.write("Chargeback Refund,ItemPrice,*,*,clearing,Chargebacks clear like refunds\n")
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(tables))
    replay_records(failed, ledger=world.ledger, run_id="replay-1")
    record = world.ledger.get(f"{DAG_ID}:journalEntry:{CA_ID}")
    assert record.status == "synced"
    adjustment = world.journals()[f"AMZ-JE-{CA_ID}-ADJ1"]
    net = _net(adjustment)
    assert net["1291"] == -net["1211"] and net["1291"] != 0  # out of suspense, into clearing


def test_given_dry_run_then_nothing_written(world):
    world.publish("us_v2.txt")
    outcomes = world.run("dry", dry_run=True)
    assert outcomes[0]["outcome"] == "would_post"
    assert world.journals() == {} and world.ledger.get(f"{DAG_ID}:journalEntry:{US_ID}") is None


def test_given_file_downloaded_from_seller_central_when_imported_then_posted(world, tmp_path):
    from amazon_netsuite.flows.settlements import read_settlement_document
    from amazon_netsuite.netsuite.hook import NetSuiteHook

    path = tmp_path / "old-settlement.txt"
    shutil.copy(FIXTURES / "de_v2.txt", path)  # cp1252, decimal commas, CRLF
    text = read_settlement_document({"import_file": str(path)})
    outcome = process_settlement(text, source={"import_file": str(path)}, mappings=world.mappings,
                                 netsuite=NetSuiteHook(max_attempts=3, backoff_initial=0.01), ledger=world.ledger,
                                 run_id="import")
    assert outcome["outcome"] == "posted"
    assert _net(world.journals()[f"AMZ-JE-{DE_ID}"])["1013"] == Decimal("-1386.56")


def test_given_one_part_refused_then_posted_parts_kept_and_replay_adjusts_only_the_rest(world, tmp_path, monkeypatch):
    from amazon_netsuite.ledger.replay import replay_records
    from amazon_netsuite.transforms.settlements import COLUMNS

    sid = "24567899999"
    header = "\t".join(COLUMNS)
    cells = {c: "" for c in COLUMNS}

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
    text = "\n".join([header, summary, *rows]) + "\n"
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
    record = world.ledger.get(f"{DAG_ID}:journalEntry:{sid}")
    assert len(record.replay["internal_ids"]) == 2

    # fix the rule, replay: an adjusting entry for what part 3 held, nothing posted twice
    rules = (tables / "settlement_gl.csv").read_text()
    (tables / "settlement_gl.csv").write_text(rules.replace("*,ItemFees,NewFee,*,9999,", "*,ItemFees,NewFee,*,6119,"))
    monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(tables))
    replay_records([record], ledger=world.ledger, run_id="replay-1")
    journals = world.journals()
    assert set(journals) == {f"AMZ-JE-{sid}-1", f"AMZ-JE-{sid}-2", f"AMZ-JE-{sid}-ADJ1"}
    bank = sum(_net(j).get("1010", Decimal(0)) for j in journals.values())
    assert bank == Decimal("-2090.00")
    assert sum(_net(j).get("6119", Decimal(0)) for j in journals.values()) == Decimal("-10.00")
    assert world.ledger.get(record.key).status == "synced"


def test_given_settlements_in_two_regions_when_finding_then_each_is_listed_on_its_regions_connection(world):
    from amazon_netsuite.amazon.hook import hooks_for_targets
    from amazon_netsuite.flows.settlements import read_settlement_document

    world.publish("us_v2.txt")
    world.publish("de_v2.txt", charset="windows-1252", marketplace="A1PA6795UKMFR9")
    now = dt.datetime.now(dt.UTC)

    found = find_settlement_reports(hooks_for_targets(world.mappings.sp_api_targets()), window=(now - dt.timedelta(days=30), now))

    assert sorted(s["sp_api_conn_id"] for s in found) == ["amazon_sp_api_eu", "amazon_sp_api_na"]
    by_conn = {s["sp_api_conn_id"]: s for s in found}
    assert len(by_conn["amazon_sp_api_eu"]["marketplace_ids"]) == 16  # the report lists its whole region
    assert DE_ID in read_settlement_document(by_conn["amazon_sp_api_eu"])
    # a ledger entry without the connection (older runs) is read on its marketplaces' region
    legacy = {k: v for k, v in by_conn["amazon_sp_api_eu"].items() if k != "sp_api_conn_id"}
    assert DE_ID in read_settlement_document(legacy)
