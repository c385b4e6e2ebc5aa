"""carriers.csv (issue 16): NetSuite ship method -> Amazon carrierCode / carrierName / shippingMethod."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from amazon_netsuite.mappings import MappingError, MappingLookupError, load_mappings

SHIPPED = Path(__file__).resolve().parents[2] / "include" / "mappings"
US, CA, UK = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P"


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(SHIPPED, target)
    return target


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")


def _problems(directory: Path) -> list[str]:
    with pytest.raises(MappingError) as raised:
        load_mappings(directory)
    return [str(p) for p in raised.value.problems]


class TestLookup:
    def test_given_a_ship_method_name_then_amazons_carrier_and_method(self):
        row = load_mappings(SHIPPED).carrier({"internalId": "77", "name": "ups ground"}, US)
        assert (row.carrier_code, row.carrier_name, row.shipping_method) == ("UPS", None, "UPS Ground")

    def test_given_an_other_carrier_then_its_name_is_carried(self):
        row = load_mappings(SHIPPED).carrier({"name": "Local Courier"}, US)
        assert (row.carrier_code, row.carrier_name) == ("Other", "Acme Local Courier")

    def test_given_a_marketplace_specific_row_then_it_wins_and_other_marketplaces_do_not_see_it(self, tables):
        _append(tables / "carriers.csv", f"UPS Ground,{CA},UPS,,UPS Standard")
        mappings = load_mappings(tables)
        assert mappings.carrier({"name": "UPS Ground"}, CA).shipping_method == "UPS Standard"
        assert mappings.carrier({"name": "UPS Ground"}, US).shipping_method == "UPS Ground"
        with pytest.raises(MappingLookupError) as raised:
            mappings.carrier({"name": "Canada Post Expedited"}, US)
        assert raised.value.reason == "unmapped_carrier" and "carriers.csv" in str(raised.value)

    def test_given_an_internal_id_row_then_it_matches_by_id(self, tables):
        _append(tables / "carriers.csv", "42,,FedEx,,FedEx 2Day")
        assert load_mappings(tables).carrier({"internalId": "42", "name": "Renamed"}, US).shipping_method == "FedEx 2Day"

    def test_given_a_star_row_then_any_unmapped_method_uses_it(self, tables):
        _append(tables / "carriers.csv", "*,,USPS,,First-Class")
        assert load_mappings(tables).carrier(None, UK).carrier_code == "USPS"

    def test_given_no_carriers_file_then_tables_load_and_every_lookup_is_unmapped(self, tables):
        (tables / "carriers.csv").unlink()
        with pytest.raises(MappingLookupError):
            load_mappings(tables).carrier({"name": "UPS Ground"}, US)


class TestBroken:
    def test_given_other_without_a_name_then_problem_names_row_and_column(self, tables):
        _append(tables / "carriers.csv", "Pigeon,,Other,,")
        assert _problems(tables) == [
            "carriers.csv, row 9, column carrier_name: is empty; Amazon requires a carrier name when carrier_code is Other"
        ]

    def test_given_duplicate_method_for_the_same_scope_then_problem_points_to_first_row(self, tables):
        _append(tables / "carriers.csv", "ups ground,,UPS,,UPS Next Day")
        assert _problems(tables) == [
            "carriers.csv, row 9, column netsuite_ship_method: duplicate ship method 'ups ground' for every "
            "marketplace: already mapped in row 2"
        ]

    def test_given_an_empty_code_and_an_unknown_marketplace_then_both_reported(self, tables):
        _append(tables / "carriers.csv", "Pigeon,A1VC38T7YXB528,,,")
        problems = _problems(tables)
        assert any("column marketplace_id: unknown marketplace 'A1VC38T7YXB528'" in p for p in problems)
        assert any("column carrier_code: is empty" in p for p in problems)
