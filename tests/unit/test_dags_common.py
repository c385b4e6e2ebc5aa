from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk import CronDataIntervalTimetable, DeltaDataIntervalTimetable

from amazon_netsuite.dags_common import (
    CONTRACT_PARAMS,
    FEED_POLL_ENV,
    REPORT_POLL_ENV,
    data_interval_schedule,
    default_args,
    feed_poll_seconds,
    report_poll_seconds,
    resolve_window,
    sync_params,
)

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


class TestWindow:
    def test_given_data_interval_then_overlap_at_start(self):
        start, end = resolve_window(
            {"data_interval_start": NOW - dt.timedelta(minutes=30), "data_interval_end": NOW - dt.timedelta(minutes=15)},
            now=NOW,
        )
        assert start == NOW - dt.timedelta(minutes=35)
        assert end == NOW - dt.timedelta(minutes=15)

    def test_given_interval_ending_now_then_end_clamped_to_two_minutes_ago(self):
        _, end = resolve_window(
            {"data_interval_start": NOW - dt.timedelta(minutes=15), "data_interval_end": NOW}, now=NOW
        )
        assert end == NOW - dt.timedelta(minutes=2)

    def test_given_pendulum_interval_from_airflow_then_aware_window(self):
        import pendulum

        start, end = resolve_window(
            {"data_interval_start": pendulum.datetime(2026, 11, 29, 11, 0, tz="UTC"),
             "data_interval_end": pendulum.datetime(2026, 11, 29, 11, 15, tz="UTC")},
            now=NOW,
        )
        assert start.tzinfo is not None and end.tzinfo is not None
        assert (start, end) == (dt.datetime(2026, 11, 29, 10, 55, tzinfo=dt.UTC), dt.datetime(2026, 11, 29, 11, 15, tzinfo=dt.UTC))

    def test_given_window_params_then_they_override_the_interval(self):
        context = {
            "params": {"window_start": "2026-11-01T00:00:00Z", "window_end": "2026-11-02T00:00:00+01:00"},
            "data_interval_start": NOW, "data_interval_end": NOW,
        }
        start, end = resolve_window(context, overlap=dt.timedelta(0), now=NOW)
        assert start == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        assert end == dt.datetime(2026, 11, 1, 23, tzinfo=dt.UTC)

    def test_given_bad_param_then_error_names_it(self):
        with pytest.raises(ValueError, match="window_start='yesterday' is not an ISO 8601"):
            resolve_window({"params": {"window_start": "yesterday", "window_end": "2026-11-02"}}, now=NOW)

    def test_given_manual_run_without_interval_then_asks_for_window(self):
        with pytest.raises(ValueError, match="give window_start and window_end"):
            resolve_window({"params": {}}, now=NOW)

    def test_given_window_entirely_in_last_two_minutes_then_empty_window_error(self):
        with pytest.raises(ValueError, match="empty window"):
            resolve_window({"data_interval_start": NOW, "data_interval_end": NOW}, overlap=dt.timedelta(0), now=NOW)


class TestDefaults:
    def test_given_cron_then_data_interval_timetable_not_trigger(self):
        assert isinstance(data_interval_schedule("*/15 * * * *"), CronDataIntervalTimetable)
        assert isinstance(data_interval_schedule(dt.timedelta(hours=1)), DeltaDataIntervalTimetable)

    def test_default_args_retry_with_backoff_and_owner(self):
        args = default_args()
        assert args["owner"] != "airflow" and args["retries"] >= 2 and args["retry_exponential_backoff"]

    def test_given_contract_names_then_params_built(self):
        params = sync_params(*CONTRACT_PARAMS)
        assert set(params) == {
            "window_start", "window_end", "order_ids", "settlement_ids", "mode", "posting_date", "dry_run",
            "keys", "dag_id", "record_type", "error_contains", "max_age_days", "import_file", "adopt_customers",
            "marketplace", "bill_after_days", "post_fx_remainder", "fx_account_id", "lookback_days", "max_wait_days", "fba_adjustment",
        }
        assert params["dry_run"].value is False

    def test_given_unknown_param_then_error(self):
        with pytest.raises(ValueError, match="unknown sync params"):
            sync_params("window")


class TestSourceWindow:
    """High-water marks for scheduled runs, explicit windows for people."""

    MARK = NOW - dt.timedelta(hours=3)

    def test_given_mark_when_scheduled_then_from_mark_minus_overlap_to_now_minus_lag_and_advances(self):
        from amazon_netsuite.dags_common import source_window

        start, end, advances = source_window({"params": {}}, self.MARK, now=NOW)
        assert start == self.MARK - dt.timedelta(minutes=5) and end == NOW - dt.timedelta(minutes=2) and advances

    def test_given_no_mark_then_from_the_configured_start_date(self):
        from amazon_netsuite.dags_common import source_window

        first = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        start, _, advances = source_window({"params": {}}, None, first_start=first, now=NOW)
        assert start == first - dt.timedelta(minutes=5) and advances

    def test_given_a_week_down_then_one_window_not_672_runs(self):
        from amazon_netsuite.dags_common import source_window

        start, end, _ = source_window({"params": {}}, NOW - dt.timedelta(days=7), now=NOW)
        assert end - start > dt.timedelta(days=7)

    def test_given_window_params_starting_before_the_mark_then_exact_and_advances(self):
        from amazon_netsuite.dags_common import source_window

        context = {"params": {"window_start": "2026-11-29T08:00:00Z", "window_end": None}}
        start, end, advances = source_window(context, self.MARK, overlap=dt.timedelta(0), now=NOW)
        assert start == dt.datetime(2026, 11, 29, 8, tzinfo=dt.UTC) and end == NOW - dt.timedelta(minutes=2)
        assert advances

    def test_given_window_after_the_mark_then_it_never_jumps_the_gap(self):
        from amazon_netsuite.dags_common import source_window

        context = {"params": {"window_start": "2026-11-29T11:00:00Z", "window_end": "2026-11-29T11:30:00Z"}}
        assert source_window(context, self.MARK, now=NOW)[2] is False
        assert source_window(context, None, now=NOW)[2] is False  # and never creates a mark

    def test_given_backfill_run_then_its_data_interval_is_the_window(self):
        import types

        from amazon_netsuite.dags_common import source_window

        context = {"params": {}, "dag_run": types.SimpleNamespace(run_type="backfill"),
                   "data_interval_start": dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
                   "data_interval_end": dt.datetime(2026, 11, 21, tzinfo=dt.UTC)}
        start, end, advances = source_window(context, self.MARK, overlap=dt.timedelta(0), now=NOW)
        assert (start, end) == (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
        assert advances  # it starts before the mark: no gap

    def test_given_end_without_start_then_clear_error(self):
        from amazon_netsuite.dags_common import source_window

        with pytest.raises(ValueError, match="window_end was given without window_start"):
            source_window({"params": {"window_end": "2026-11-29T11:00:00Z"}}, self.MARK, now=NOW)


class TestMappedResults:
    def test_a_single_mapped_result_and_a_lazy_sequence_both_become_lists(self):
        from amazon_netsuite.dags_common import mapped_results

        assert mapped_results({"conn_id": "na"}) == [{"conn_id": "na"}]  # Airflow hands one result as itself
        assert mapped_results([{"a": 1}, {"b": 2}]) == [{"a": 1}, {"b": 2}]
        assert mapped_results(None) == [] and mapped_results([]) == []


class TestPollSeconds:
    """AMAZON_NETSUITE_REPORT_POLL_SECONDS / AMAZON_NETSUITE_FEED_POLL_SECONDS, read by the DAG files at parse time."""

    @pytest.mark.parametrize(("read", "name", "default"), [(report_poll_seconds, REPORT_POLL_ENV, 30.0),
                                                           (feed_poll_seconds, FEED_POLL_ENV, 60.0)])
    def test_given_unset_or_empty_then_the_default(self, monkeypatch, read, name, default):
        monkeypatch.delenv(name, raising=False)
        assert read() == default
        monkeypatch.setenv(name, " ")
        assert read() == default

    @pytest.mark.parametrize(("read", "name"), [(report_poll_seconds, REPORT_POLL_ENV), (feed_poll_seconds, FEED_POLL_ENV)])
    def test_given_a_number_then_those_seconds(self, monkeypatch, read, name):
        monkeypatch.setenv(name, "0.2")
        assert read() == 0.2
        monkeypatch.setenv(name, "45")
        assert read() == 45.0

    @pytest.mark.parametrize("value", ["30s", "thirty", "0", "-5", "nan", "inf"])
    @pytest.mark.parametrize(("read", "name"), [(report_poll_seconds, REPORT_POLL_ENV), (feed_poll_seconds, FEED_POLL_ENV)])
    def test_given_a_bad_value_then_the_error_names_the_variable_and_the_value(self, monkeypatch, read, name, value):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=f"^{name}='{value}' is not a positive number of seconds"):
            read()
