"""High-water marks per flow and scope, and the buyer -> customer index (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

DAG = "amazon_orders_to_netsuite"
T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


class TestWatermarks:
    def test_given_no_mark_then_none_and_first_advance_sets_it(self, ledger):
        assert ledger.watermark(DAG, "amazon_sp_api_na") is None
        assert ledger.advance_watermark(DAG, "amazon_sp_api_na", T0, run_id="r1") == T0
        assert ledger.watermark(DAG, "amazon_sp_api_na") == T0
        assert ledger.watermark(DAG, "amazon_sp_api_eu") is None  # scopes are apart

    def test_given_older_value_when_advancing_then_mark_never_moves_back(self, ledger):
        ledger.advance_watermark(DAG, "na", T0 + dt.timedelta(hours=2), run_id="late")
        assert ledger.advance_watermark(DAG, "na", T0, run_id="slow") == T0 + dt.timedelta(hours=2)
        assert ledger.advance_watermark(DAG, "na", T0 + dt.timedelta(hours=3), run_id="next") == T0 + dt.timedelta(hours=3)

    def test_given_naive_datetime_then_refused(self, ledger):
        with pytest.raises(ValueError, match="timezone-aware"):
            ledger.advance_watermark(DAG, "na", dt.datetime(2026, 11, 1), run_id="r")  # noqa: DTZ001

    def test_given_concurrent_advances_then_the_highest_wins(self, ledger):
        ledger.create_schema()
        marks = [T0 + dt.timedelta(minutes=m) for m in range(20)]
        threads = [threading.Thread(target=ledger.advance_watermark, args=(DAG, "na", m), kwargs={"run_id": "x"})
                   for m in marks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ledger.watermark(DAG, "na") == max(marks)


class TestCustomerIndex:
    def test_given_indexed_customers_then_found_by_key_and_updated_in_place(self, ledger):
        assert ledger.customers(["AMZ-CU-A-1"]) == {}
        assert ledger.index_customers({"AMZ-CU-A-1": "501", "AMZ-CU-A-2": "502"}, source="created") == 2
        assert ledger.customers(["AMZ-CU-A-1", "AMZ-CU-A-2", "AMZ-CU-A-3"]) == {"AMZ-CU-A-1": "501", "AMZ-CU-A-2": "502"}
        ledger.index_customers({"AMZ-CU-A-1": "777"}, source="adopted")
        assert ledger.customers(["AMZ-CU-A-1"]) == {"AMZ-CU-A-1": "777"}

    def test_given_deleted_customer_when_forgotten_then_no_longer_indexed(self, ledger):
        ledger.index_customers({"AMZ-CU-A-1": "501"}, source="created")
        ledger.forget_customers(["AMZ-CU-A-1"])
        assert ledger.customers(["AMZ-CU-A-1"]) == {}

    def test_given_many_keys_then_looked_up_in_chunks(self, ledger):
        entries = {f"AMZ-CU-A-{n}": str(n) for n in range(1200)}
        ledger.index_customers(entries, source="created")
        assert ledger.customers(list(entries)) == entries
