"""The regions table of the hook, and the emulator's own copy of Amazon's, agree."""

from __future__ import annotations

from amazon_netsuite.amazon import regions
from sandbox.amazon import regions as sandbox_regions


def test_given_both_tables_then_the_same_marketplaces_serve_the_same_regions_in_amazons_order():
    hook_table = {r: [(m.marketplace_id, m.country_code) for m in ms.values()] for r, ms in regions.REGION_MARKETPLACES.items()}

    assert hook_table == {r: list(rows) for r, rows in sandbox_regions.REGION_MARKETPLACES.items()}
    assert regions.REGIONS == sandbox_regions.REGIONS


def test_given_amazons_documented_ids_then_regions_are_right():
    assert regions.region_of("ATVPDKIKX0DER") == "na" and regions.region_of("A2EUQ1WTGCTBG2") == "na"
    assert regions.region_of("A1F83G8C2ARO7P") == "eu" and regions.region_of("A21TJRUUN4KGV") == "eu"
    assert regions.region_of("A1VC38T7YXB528") == "fe" and regions.region_of("A39IBJ37TRP1C6") == "fe"
    assert regions.region_of("A1NOTAMARKET") is None
    assert len(regions.MARKETPLACES) == 23


def test_given_connection_ids_then_the_region_suffix_is_read():
    assert regions.region_from_conn_id("amazon_sp_api_eu") == "eu"
    assert regions.region_from_conn_id("AMAZON_SP_API_FE") == "fe"
    assert regions.region_from_conn_id("amazon_sp_api_na_second") is None
    assert regions.region_from_conn_id("seller_eu") is None
    assert regions.env_var("amazon_sp_api_eu") == "AIRFLOW_CONN_AMAZON_SP_API_EU"


def test_given_a_mixed_list_then_the_problem_names_each_marketplace_and_the_connection_to_use():
    problem = regions.region_problem("na", ["ATVPDKIKX0DER", "A1PA6795UKMFR9", "XX"], conn_id="amazon_sp_api_na")

    assert problem.startswith("connection amazon_sp_api_na (region na): ")
    assert "A1PA6795UKMFR9 (DE) belongs to SP-API region eu, not na: use connection amazon_sp_api_eu" in problem
    assert "XX is not a marketplace id of any SP-API region" in problem
    assert regions.region_problem("na", ["ATVPDKIKX0DER"], conn_id="amazon_sp_api_na") is None
