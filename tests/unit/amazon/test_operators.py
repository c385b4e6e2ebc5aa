"""SellingPartnerBaseOperator: what the deferrable report and feed operators share (connection, poll
interval, hook). Their behaviour against Amazon is in tests/integration/amazon/test_*_operator.py."""

from __future__ import annotations

import pytest

from amazon_netsuite.amazon.hook import SellingPartnerHook
from amazon_netsuite.amazon.operators import (
    RegionReportOperator,
    SellingPartnerBaseOperator,
    SellingPartnerFeedOperator,
    SellingPartnerReportOperator,
)

EU = "amazon_sp_api_eu"
REPORT = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"


def _report(**kwargs) -> SellingPartnerReportOperator:
    return SellingPartnerReportOperator(task_id="report", report_type=REPORT, sp_api_conn_id=EU, **kwargs)


def _feed(**kwargs) -> SellingPartnerFeedOperator:
    return SellingPartnerFeedOperator(task_id="feed", document_uris=[], feed_type="JSON_LISTINGS_FEED",
                                      marketplace_ids=["A1PA6795UKMFR9"], sp_api_conn_id=EU, **kwargs)


class TestSellingPartnerBaseOperator:
    @pytest.mark.parametrize(("make", "default_poll"), [(_report, 30.0), (_feed, 60.0)])
    def test_given_an_operator_then_it_keeps_its_region_connection_and_poll_interval(self, make, default_poll):
        operator = make()
        assert isinstance(operator, SellingPartnerBaseOperator)
        assert (operator.sp_api_conn_id, operator.poll_interval) == (EU, default_poll)
        assert make(poll_interval=0.5).poll_interval == 0.5

    @pytest.mark.parametrize("make", [_report, _feed])
    def test_when_hook_then_it_talks_to_the_operators_region(self, make):
        hook = make()._hook()
        assert isinstance(hook, SellingPartnerHook) and hook.sp_api_conn_id == EU

    def test_given_a_region_request_then_the_hook_follows_the_requested_connection(self):
        operator = RegionReportOperator(task_id="report", report_type=REPORT,
                                        request={"conn_id": EU, "marketplace_ids": ["A1PA6795UKMFR9"]})
        assert operator.sp_api_conn_id == "amazon_sp_api_na"  # a placeholder until the request is read
        operator._apply_request()
        assert operator._hook().sp_api_conn_id == EU

    def test_given_no_connection_then_the_operator_is_refused(self):
        with pytest.raises(TypeError, match="sp_api_conn_id"):
            SellingPartnerFeedOperator(task_id="feed", document_uris=[], feed_type="JSON_LISTINGS_FEED", marketplace_ids=[])
