from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amazon_netsuite.mappings import (
    MappingError,
    MappingLookupError,
    load_mappings,
    main,
    validate,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = PROJECT_ROOT / "include" / "mappings"
US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(MappingError) as excinfo:
        load_mappings(directory)
    return [str(p) for p in excinfo.value.problems]


class TestShippedTables:
    def test_given_shipped_tables_when_validated_then_no_problems(self):
        assert validate(SHIPPED) == []

    def test_given_shipped_tables_then_four_marketplaces_each_with_own_subsidiary(self):
        mappings = load_mappings(SHIPPED)
        assert set(mappings.marketplaces) == {US, "A2EUQ1WTGCTBG2", UK, DE}
        subsidiaries = [m.subsidiary_id for m in mappings.marketplaces.values()]
        assert len(set(subsidiaries)) == 4

    def test_given_env_override_when_loading_without_argument_then_env_directory_is_used(
        self, tables, monkeypatch
    ):
        edit(tables / "marketplaces.csv", "Amazon.de", "Amazon.de (test copy)")
        for gl in (tables / "settlement_gl.csv", tables / "examples" / "settlement_gl_settlement_revenue.csv"):
            gl.write_text(gl.read_text().replace(",Amazon.de,", ",Amazon.de (test copy),"))
        monkeypatch.setenv("AMAZON_NETSUITE_MAPPINGS_DIR", str(tables))
        mappings = load_mappings()
        assert mappings.marketplace(DE).marketplace_name == "Amazon.de (test copy)"

    def test_given_example_revenue_table_when_loaded_then_principal_books_to_revenue(self):
        mappings = load_mappings(SHIPPED, settlement_gl_file="examples/settlement_gl_settlement_revenue.csv")
        us = mappings.marketplace(US)
        assert mappings.gl_mapping(us, "Order", "ItemPrice", "Principal").account_id == "4010"


class TestLookups:
    def test_given_marketplace_specific_sku_when_looked_up_then_it_wins_over_generic_row(self):
        mappings = load_mappings(SHIPPED)
        assert mappings.sku("ACME-BOTTLE-750", DE).netsuite_item_id == "508"
        assert mappings.sku("ACME-BOTTLE-750", US).netsuite_item_id == "504"

    def test_given_six_pack_sku_then_units_per_sku_is_six(self):
        assert load_mappings(SHIPPED).sku("ACME-MUG-11OZ-6PK", US).units_per_sku == 6

    def test_given_sku_mapped_only_in_uk_when_looked_up_for_us_then_unknown_sku(self):
        mappings = load_mappings(SHIPPED)
        with pytest.raises(MappingLookupError) as excinfo:
            mappings.sku("ACME-KETTLE-UK", US)
        assert excinfo.value.reason == "unknown_sku"
        assert "ACME-KETTLE-UK" in str(excinfo.value) and "sku_items.csv" in str(excinfo.value)

    def test_given_unknown_marketplace_when_looked_up_then_error_says_which_table(self):
        with pytest.raises(MappingLookupError, match="marketplaces.csv") as excinfo:
            load_mappings(SHIPPED).marketplace("A1VC38T7YXB528")
        assert excinfo.value.reason == "unknown_marketplace"

    def test_given_marketplace_specific_row_then_it_replaces_generic_in_marketplace_listing(self):
        skus = {s.seller_sku: s for s in load_mappings(SHIPPED).skus_for_marketplace(DE)}
        assert skus["ACME-BOTTLE-750"].netsuite_item_id == "508"
        assert "ACME-KETTLE-UK" not in skus and "ACME-KETTLE-EU" in skus


class TestSettlementRules:
    @pytest.mark.parametrize(
        ("transaction", "amount_type", "description", "expected"),
        [
            ("Order", "ItemPrice", "Principal", "1210"),  # clearing role of Amazon.com
            ("Order", "ItemPrice", "Tax", "1210"),
            ("Refund", "ItemPrice", "Shipping", "2340"),  # refunds pending until the credit memo
            ("Order", "Promotion", "Shipping", "1210"),
            ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", "2310"),
            ("Order", "ItemFees", "Commission", "6110"),
            ("Refund", "ItemFees", "RefundCommission", "6111"),
            ("Order", "ItemFees", "FBAPerUnitFulfillmentFee", "6120"),
            ("Order", "ItemFees", "ShippingHB", "6150"),
            ("Order", "ItemFees", "SomeNewFee", "6119"),  # generic ItemFees row
            ("other-transaction", "other-transaction", "Storage Fee", "6130"),
            ("other-transaction", "other-transaction", "Current Reserve Amount", "1220"),
            ("other-transaction", "other-transaction", "Previous Reserve Amount Balance", "1220"),
            ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", "6140"),
            ("other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", "4910"),
        ],
    )
    def test_given_common_amount_when_mapped_then_accounting_model_account(
        self, transaction, amount_type, description, expected
    ):
        mappings = load_mappings(SHIPPED)
        mapping = mappings.gl_mapping(mappings.marketplace(US), transaction, amount_type, description)
        assert mapping.account_id == expected
        assert not mapping.unmapped

    def test_given_role_when_mapped_for_other_marketplace_then_its_own_account(self):
        mappings = load_mappings(SHIPPED)
        uk = mappings.marketplace(UK)
        assert mappings.gl_mapping(uk, "Order", "ItemPrice", "Principal").account_id == "1212"

    def test_given_unknown_combination_when_mapped_then_suspense_and_flagged(self):
        mappings = load_mappings(SHIPPED)
        mapping = mappings.gl_mapping(mappings.marketplace(DE), "Chargeback", "Mystery", "Thing")
        assert mapping.unmapped
        assert mapping.account_id == "1293"
        assert "Chargeback / Mystery / Thing" in mapping.memo

    def test_given_marketplace_specific_rule_then_it_beats_generic_rule(self, tables):
        append(tables / "settlement_gl.csv", "*,ItemFees,Commission,Amazon.de,6199,DE referral fee")
        mappings = load_mappings(tables)
        assert mappings.gl_mapping(mappings.marketplace(DE), "Order", "ItemFees", "Commission").account_id == "6199"
        assert mappings.gl_mapping(mappings.marketplace(US), "Order", "ItemFees", "Commission").account_id == "6110"

    def test_given_prefix_rule_then_longer_prefix_wins(self, tables):
        append(tables / "settlement_gl.csv", "*,ItemWithheldTax,MarketplaceFacilitatorVAT*,*,2399,VAT withheld")
        mappings = load_mappings(tables)
        us = mappings.marketplace(US)
        vat = mappings.gl_mapping(us, "Order", "ItemWithheldTax", "MarketplaceFacilitatorVAT-Principal")
        assert vat.account_id == "2399"
        assert mappings.gl_mapping(us, "Order", "ItemWithheldTax", "LowValueGoodsTax").account_id == "2310"

    def test_given_matching_is_case_insensitive(self):
        mappings = load_mappings(SHIPPED)
        assert mappings.gl_mapping(mappings.marketplace(US), "order", "itemfees", "commission").account_id == "6110"


class TestBrokenTables:
    def test_given_missing_column_then_problem_names_file_header_and_column(self, tables):
        edit(tables / "marketplaces.csv", ",suspense_account_id", "")
        problems = problems_of(tables)
        assert "marketplaces.csv, row 1, column suspense_account_id: required column is missing" in problems[0]

    def test_given_short_row_then_problem_names_row_and_first_missing_column(self, tables):
        edit(tables / "sku_items.csv", "ACME-TEE-BLK-L,,B0ACMETEEL,503,AFN,1,SHIRT,0,true", "ACME-TEE-BLK-L,,B0ACMETEEL,503")
        problems = problems_of(tables)
        assert problems == [
            "sku_items.csv, row 6, column fulfillment_channel: row is short: 4 values for 9 columns "
            "(check for a missing or extra comma)"
        ]

    def test_given_duplicate_marketplace_then_problem_points_to_first_row(self, tables):
        lines = (tables / "marketplaces.csv").read_text().splitlines()
        append(tables / "marketplaces.csv", lines[1].replace("Amazon.com", "Amazon.com again"))
        problems = problems_of(tables)
        assert problems == [
            "marketplaces.csv, row 6, column marketplace_id: duplicate key 'ATVPDKIKX0DER': already defined in row 2"
        ]

    def test_given_duplicate_sku_for_same_scope_then_duplicate_key(self, tables):
        append(tables / "sku_items.csv", "ACME-MUG-11OZ,,B0ACMEMUG1,509,MFN,1,DRINKING_CUP,0,true")
        problems = problems_of(tables)
        assert problems == [
            "sku_items.csv, row 12, column seller_sku: duplicate key 'ACME-MUG-11OZ' for every marketplace: "
            "already defined in row 2"
        ]

    def test_given_sku_for_unknown_marketplace_then_problem(self, tables):
        append(tables / "sku_items.csv", "ACME-MUG-11OZ,A1VC38T7YXB528,B0ACMEMUG1,501,MFN,1,DRINKING_CUP,0,true")
        problems = problems_of(tables)
        assert problems == [
            "sku_items.csv, row 12, column marketplace_id: unknown marketplace 'A1VC38T7YXB528': "
            "it has no row in marketplaces.csv"
        ]

    def test_given_gl_rule_for_unknown_marketplace_name_then_problem(self, tables):
        append(tables / "settlement_gl.csv", "*,ItemFees,Commission,Amazon.fr,6110,FR")
        assert problems_of(tables) == [
            "settlement_gl.csv, row 42, column marketplace_name: unknown marketplace 'Amazon.fr': "
            "no marketplace_name in marketplaces.csv"
        ]

    @pytest.mark.parametrize(
        ("old", "new", "column"),
        [
            (",1210,1010,2310,1290", ",12x0,1010,2310,1290", "amazon_clearing_account_id"),
            ("USD,2,1,2,3", "USD,two,1,2,3", "subsidiary_id"),
            ("B0ACMEMUG6,501,", "B0ACMEMUG6,5O1,", "netsuite_item_id"),
        ],
    )
    def test_given_non_numeric_id_then_problem_names_column(self, tables, old, new, column):
        target = "sku_items.csv" if "B0ACME" in old else "marketplaces.csv"
        edit(tables / target, old, new)
        problems = problems_of(tables)
        assert len(problems) == 1
        assert f"column {column}: " in problems[0] and "not a NetSuite internal id" in problems[0]

    def test_given_unknown_role_then_problem_lists_roles(self, tables):
        edit(tables / "settlement_gl.csv", "*,Promotion,*,*,clearing", "*,Promotion,*,*,clearance")
        assert problems_of(tables) == [
            "settlement_gl.csv, row 7, column gl_account_id: unknown role 'clearance': use an account "
            "internal id (a number) or one of clearing, facilitator_tax, suspense, balance_owed, refunds_pending, "
            "input_tax, bank"
        ]

    def test_given_two_equally_specific_overlapping_rules_then_ambiguous(self, tables):
        append(tables / "settlement_gl.csv", "Order,*,Commission,*,6118,conflicts with row 9")
        problems = problems_of(tables)
        # (Order, ItemPrice, Commission) would match row 2 as well as row 9: both are reported
        assert problems == [
            f"settlement_gl.csv, row 42, column transaction_type: ambiguous rule: row {row} matches the same "
            "amounts and is as specific; make one of them more specific"
            for row in (2, 9)
        ]

    def test_given_identical_rule_twice_then_duplicate_key(self, tables):
        append(tables / "settlement_gl.csv", "*,ItemFees,commission,*,6199,again")
        assert problems_of(tables) == [
            "settlement_gl.csv, row 42, column transaction_type: duplicate key: same rule as row 9"
        ]

    def test_given_star_in_middle_then_problem(self, tables):
        append(tables / "settlement_gl.csv", "*,Item*Fees,*,*,6119,bad pattern")
        assert "* may only stand alone or at the end" in problems_of(tables)[0]

    def test_given_invalid_choice_values_then_each_reported(self, tables):
        edit(tables / "marketplaces.csv", "per_buyer,100,1,1,11,7,cash_sale", "perbuyer,100,1,1,11,7,cashsale")
        problems = problems_of(tables)
        assert any("column customer_mode: 'perbuyer' is not one of per_buyer, single" in p for p in problems)
        assert any("column billing_document: 'cashsale' is not one of cash_sale, invoice" in p for p in problems)

    def test_given_facilitator_role_without_account_then_problem(self, tables):
        edit(tables / "marketplaces.csv", ",1213,1013,2313,1293", ",1213,1013,,1293")
        assert problems_of(tables) == [
            "settlement_gl.csv, row 8, column gl_account_id: role 'facilitator_tax' but marketplaces.csv has "
            "no facilitator_tax_account_id for Amazon.de"
        ]

    def test_given_bom_and_crlf_from_excel_then_loads(self, tables):
        path = tables / "sku_items.csv"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
        assert load_mappings(tables).sku("ACME-MUG-11OZ", US).netsuite_item_id == "501"

    def test_given_cp1252_file_from_excel_then_problem_names_file_offset_and_how_to_save(self, tables):
        path = tables / "sku_items.csv"
        text = path.read_text(encoding="utf-8").replace("ACME-MUG-11OZ,,B0ACMEMUG1", "ACME-MÜG-11OZ,,B0ACMEMUG1", 1)
        path.write_bytes(text.encode("cp1252"))
        offset = text.encode("cp1252").index(b"\xdc")
        problems = problems_of(tables)
        assert len(problems) == 1
        assert problems[0].startswith("sku_items.csv, row 2: the file is not UTF-8")
        assert f"byte {offset}" in problems[0] and "0xdc" in problems[0]
        assert "CSV UTF-8" in problems[0]
        with pytest.raises(MappingError) as excinfo:
            load_mappings(tables)
        assert "not UTF-8" in str(excinfo.value)

    def test_given_utf8_without_bom_with_accents_then_loads(self, tables):
        path = tables / "sku_items.csv"
        path.write_text(path.read_text(encoding="utf-8") + "ÉCRAN-1,,,501,MFN,1,,0,false\n", encoding="utf-8")
        assert load_mappings(tables).sku("ÉCRAN-1", US).netsuite_item_id == "501"

    def test_given_many_problems_then_all_reported_at_once(self, tables):
        edit(tables / "sku_items.csv", "ACME-MUG-11OZ,,B0ACMEMUG1,501,MFN,1", "ACME-MUG-11OZ,,B0ACMEMUG1,x,XFN,0")
        problems = problems_of(tables)
        assert [p.split(": ")[0] for p in problems] == [
            "sku_items.csv, row 2, column netsuite_item_id",
            "sku_items.csv, row 2, column fulfillment_channel",
            "sku_items.csv, row 2, column units_per_sku",
        ]

    def test_given_missing_file_then_problem_names_path(self, tables):
        (tables / "sku_items.csv").unlink()
        assert "sku_items.csv, row 0: file not found" in problems_of(tables)[0]


class TestCli:
    def test_given_valid_tables_when_cli_validates_then_exit_0(self, capsys):
        assert main(["validate", str(SHIPPED)]) == 0
        assert "valid (4 marketplaces" in capsys.readouterr().out

    def test_given_broken_tables_when_cli_validates_then_exit_1_with_positions(self, tables, capsys):
        edit(tables / "settlement_gl.csv", "*,Promotion,*,*,clearing", "*,Promotion,*,*,clearance")
        assert main(["validate", str(tables)]) == 1
        assert "settlement_gl.csv, row 7, column gl_account_id" in capsys.readouterr().err

    def test_given_broken_example_table_then_validate_reports_it(self, tables):
        edit(tables / "examples" / "settlement_gl_settlement_revenue.csv", ",4010,", ",revenue,")
        problems = [str(p) for p in validate(tables)]
        assert problems and problems[0].startswith("examples/settlement_gl_settlement_revenue.csv, row 2")

    def test_given_module_entry_point_then_runs_as_documented(self, tables):
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT / "plugins"))
        done = subprocess.run(
            [sys.executable, "-m", "amazon_netsuite.mappings", "validate", str(tables)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


class TestAddedColumns:
    def test_given_shipped_tables_then_vat_marketplaces_are_tax_inclusive(self):
        mappings = load_mappings(SHIPPED)
        assert mappings.marketplace(UK).prices_include_tax and mappings.marketplace(DE).prices_include_tax
        assert not mappings.marketplace(US).prices_include_tax
        assert mappings.marketplace(US).currency_id == "1"
        assert mappings.marketplace(US).facilitator_tax_code_id == "15"
        assert mappings.marketplace(US).promotion_item_id is None

    def test_given_table_without_added_columns_then_still_loads_with_defaults(self, tables):
        path = tables / "marketplaces.csv"
        lines = [",".join(line.split(",")[:20]) for line in path.read_text().splitlines()]
        path.write_text("\n".join(lines) + "\n")
        # with a GL table of that time too: no rule needs the settlement roles added since
        gl = tables / "settlement_gl.csv"
        new_roles = (",balance_owed,", ",refunds_pending,", ",input_tax,", ",bank,")
        gl.write_text("".join(line for line in gl.read_text().splitlines(keepends=True)
                              if not any(role in line for role in new_roles)))
        mappings = load_mappings(tables)
        assert mappings.marketplace(UK).prices_include_tax is False
        assert mappings.marketplace(UK).currency_id is None

    def test_given_bad_added_column_values_then_reported(self, tables):
        edit(tables / "marketplaces.csv", ",1,false,15,", ",USD,maybe,15,")
        problems = problems_of(tables)
        assert any("row 2, column currency_id: 'USD' is not a NetSuite internal id" in p for p in problems)
        assert any("row 2, column prices_include_tax: 'maybe' is not true or false" in p for p in problems)


class TestSpApiConnections:
    """Each SP-API endpoint serves one region: marketplaces.csv's region column picks the connection."""

    def test_given_shipped_tables_then_one_target_per_region_with_its_marketplaces(self):
        from amazon_netsuite.mappings import SpApiTarget

        assert load_mappings(SHIPPED).sp_api_targets() == [
            SpApiTarget("amazon_sp_api_na", "na", (US, "A2EUQ1WTGCTBG2")),
            SpApiTarget("amazon_sp_api_eu", "eu", (UK, DE)),
        ]

    def test_given_a_second_account_in_a_region_then_its_rows_get_their_own_target(self, tables):
        edit(tables / "marketplaces.csv", ",621,dead_letter,", ",621,dead_letter,amazon_sp_api_na_second")

        targets = {t.conn_id: t for t in load_mappings(tables).sp_api_targets()}

        assert targets["amazon_sp_api_na_second"].marketplace_ids == (US,)
        assert targets["amazon_sp_api_na"].marketplace_ids == ("A2EUQ1WTGCTBG2",)
        assert targets["amazon_sp_api_na_second"].region == "na"

    def test_given_a_known_marketplace_in_the_wrong_region_then_problem_names_row_column_and_region(self, tables):
        edit(tables / "marketplaces.csv", "A1PA6795UKMFR9,Amazon.de,DE,eu,", "A1PA6795UKMFR9,Amazon.de,DE,na,")

        problems = problems_of(tables)

        assert any("marketplaces.csv, row 5, column region: 'na' is wrong for marketplace A1PA6795UKMFR9 (DE)" in p
                   and "region 'eu'" in p for p in problems), problems

    def test_given_one_connection_for_two_regions_then_problem(self, tables):
        edit(tables / "marketplaces.csv", ",624,dead_letter,", ",624,dead_letter,amazon_sp_api_na")

        problems = problems_of(tables)

        assert any("row 5, column sp_api_conn_id: connection amazon_sp_api_na already serves region 'na' (row 2)" in p
                   for p in problems), problems

    def test_given_a_bad_connection_id_then_problem(self, tables):
        edit(tables / "marketplaces.csv", ",621,dead_letter,", ",621,dead_letter,amazon sp api")

        assert any("column sp_api_conn_id: 'amazon sp api' is not an Airflow connection id" in p
                   for p in problems_of(tables))


class TestSettlementColumns:
    def test_given_shipped_tables_then_settlement_accounts_and_period_split_per_marketplace(self):
        mappings = load_mappings(SHIPPED)
        ca = mappings.marketplace("A2EUQ1WTGCTBG2")
        assert (ca.balance_owed_account_id, ca.refunds_pending_account_id, ca.input_tax_account_id,
                ca.settlement_in_transit_account_id) == ("2331", "2341", "1241", "1251")
        assert all(m.split_settlements_at_period_end for m in mappings.marketplaces.values())
        assert mappings.marketplace(US).input_tax_account_id is None  # no tax on US fees

    def test_given_split_without_transit_account_then_problem(self, tables):
        edit(tables / "marketplaces.csv", ",2330,2340,,1250,true", ",2330,2340,,,true")
        assert problems_of(tables) == [
            "marketplaces.csv, row 2, column settlement_in_transit_account_id: is empty but "
            "split_settlements_at_period_end is true: a settlement split at a month end is carried to its deposit "
            "through this account"
        ]

    def test_given_bad_vat_columns_then_reported(self, tables):
        gl = tables / "examples" / "settlement_gl_settlement_revenue.csv"
        gl.write_text(gl.read_text().replace(",20,2320", ",twenty,2320", 1).replace(",19,2320", ",19,", 1))
        problems = [str(p) for p in validate(tables)]
        assert any("column vat_rate: 'twenty' is not a VAT rate" in p for p in problems)
        assert any("column vat_account_id: is empty" in p for p in problems)

    def test_given_example_table_then_uk_revenue_rules_carry_vat(self):
        mappings = load_mappings(SHIPPED, settlement_gl_file="examples/settlement_gl_settlement_revenue.csv")
        mapping = mappings.gl_mapping(mappings.marketplace(UK), "Order", "ItemPrice", "Principal")
        assert (mapping.account_id, str(mapping.rule.vat_rate), mapping.rule.vat_account_id) == ("4010", "20", "2320")


def test_given_the_shipped_tables_when_a_sku_is_missing_then_the_error_names_the_file_relative_to_the_project():
    with pytest.raises(MappingLookupError) as raised:
        load_mappings(SHIPPED).sku("NOT-A-SKU", US)
    assert "has no row in include/mappings/sku_items.csv;" in str(raised.value)
    assert str(PROJECT_ROOT) not in str(raised.value)


def test_given_tables_outside_the_project_when_a_sku_is_missing_then_the_error_names_their_absolute_path(tables):
    with pytest.raises(MappingLookupError) as raised:
        load_mappings(tables).sku("NOT-A-SKU", US)
    assert f"has no row in {tables.resolve() / 'sku_items.csv'};" in str(raised.value)
