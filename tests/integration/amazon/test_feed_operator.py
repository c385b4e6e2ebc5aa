"""SellingPartnerFeedOperator + FeedProcessingTrigger against the sandbox: submit, defer, resume without
submitting twice, read the processing reports, FATAL."""

from __future__ import annotations

import asyncio

import pytest
from airflow.exceptions import TaskDeferred

from amazon_netsuite import staging
from amazon_netsuite.amazon.errors import FeedProcessingError
from amazon_netsuite.amazon.operators import FEED_STATE_KEY, SellingPartnerFeedOperator
from amazon_netsuite.amazon.triggers import FeedProcessingTrigger
from sandbox.amazon.app import SELLER_ID

US = "ATVPDKIKX0DER"


class FakeTaskStateStore:
    """What ``context["task_state_store"]`` offers a task: get/set surviving retries."""

    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = value


@pytest.fixture(autouse=True)
def _staging(tmp_path, monkeypatch):
    monkeypatch.setenv(staging.STAGING_ENV, f"file://{tmp_path}/staging")


def _document(*quantities: tuple[str, int]) -> str:
    messages = [{"messageId": n, "sku": sku, "operationType": "PATCH", "productType": "DRINKING_CUP",
                 "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                              "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": qty}]}]}
                for n, (sku, qty) in enumerate(quantities, start=1)]
    return staging.stage({"header": {"sellerId": SELLER_ID, "version": "2.0"}, "messages": messages},
                         dag_id="test_feeds", run_id="r1", name=f"doc-{quantities[0][0]}-{len(quantities)}")


def _operator(uris, **kwargs) -> SellingPartnerFeedOperator:
    return SellingPartnerFeedOperator(task_id="push", document_uris=uris, feed_type="JSON_LISTINGS_FEED",
                                      marketplace_ids=[US], sp_api_conn_id="amazon_sp_api_na", poll_interval=0.02, **kwargs)


async def _first_event(trigger):
    async for event in trigger.run():
        return event.payload


def _listing(sandbox, sku: str) -> dict:
    return next(x for x in sandbox.http.get("/_sandbox/listings", params={"region": "na"}).json() if x["sku"] == sku)


class TestFeedOperator:
    def test_given_a_retry_after_deferring_when_executing_again_then_it_waits_for_the_same_feeds(self, sandbox):
        store = FakeTaskStateStore()
        uris = [_document(("ACME-MUG-11OZ", 5)), _document(("ACME-BOTTLE-750", 8))]
        with pytest.raises(TaskDeferred) as first:
            _operator(uris).execute({"task_state_store": store})
        feed_ids = [store.values[f"{FEED_STATE_KEY}:0"], store.values[f"{FEED_STATE_KEY}:1"]]
        assert first.value.trigger.feed_ids == feed_ids

        with pytest.raises(TaskDeferred) as retry:  # worker lost, triggerer restarted, task cleared
            _operator(uris).execute({"task_state_store": store})
        assert retry.value.trigger.feed_ids == feed_ids
        assert sandbox.calls("createFeed")["calls"] == 2

        event = asyncio.run(_first_event(retry.value.trigger))
        result = _operator(uris).execute_complete({"run_id": "r1"}, event)
        assert [f["feedId"] for f in result["feeds"]] == feed_ids
        assert all(f["processingStatus"] == "DONE" and f["summary"]["messagesAccepted"] == 1 for f in result["feeds"])
        assert staging.load(result["feeds"][0]["report_uri"])["header"]["feedId"] == feed_ids[0]
        assert _listing(sandbox, "ACME-MUG-11OZ")["quantity"] == 5 and _listing(sandbox, "ACME-BOTTLE-750")["quantity"] == 8

    def test_given_no_document_when_executing_then_no_feed_is_submitted(self, sandbox):
        assert _operator([]).execute({"task_state_store": FakeTaskStateStore()})["feeds"] == []
        assert sandbox.calls("createFeed")["calls"] == 0

    def test_given_a_fatal_feed_when_completing_then_it_raises_with_amazons_report(self, sandbox):
        sandbox.fault("createFeed", fault="FATAL")
        with pytest.raises(TaskDeferred) as deferred:
            _operator([_document(("ACME-MUG-11OZ", 5))]).execute({"task_state_store": FakeTaskStateStore()})
        event = asyncio.run(_first_event(deferred.value.trigger))
        with pytest.raises(FeedProcessingError, match="ended FATAL.*internal error"):
            _operator([]).execute_complete({"run_id": "r1"}, event)
        result = _operator([], fail_on_fatal=False).execute_complete({"run_id": "r1"}, event)
        assert result["feeds"][0]["processingStatus"] == "FATAL" and result["feeds"][0]["errors"]
        assert _listing(sandbox, "ACME-MUG-11OZ")["quantity"] == 0

    def test_given_the_previous_feed_ended_fatal_when_retrying_then_the_document_is_submitted_again(self, sandbox):
        store = FakeTaskStateStore()
        sandbox.fault("createFeed", fault="FATAL")
        uris = [_document(("ACME-MUG-11OZ", 6))]
        with pytest.raises(TaskDeferred) as first:
            _operator(uris).execute({"task_state_store": store})
        asyncio.run(_first_event(first.value.trigger))  # the feed is FATAL now
        with pytest.raises(TaskDeferred) as retry:
            _operator(uris).execute({"task_state_store": store})
        assert retry.value.trigger.feed_ids != first.value.trigger.feed_ids
        assert sandbox.calls("createFeed")["calls"] == 2

    def test_given_createfeed_throttled_when_executing_then_backed_off_and_submitted_once(self, sandbox):
        sandbox.fault("createFeed", status=429, times=2)
        store = FakeTaskStateStore()
        with pytest.raises(TaskDeferred):
            _operator([_document(("ACME-MUG-11OZ", 3))]).execute({"task_state_store": store})
        assert sandbox.calls("createFeed")["calls"] == 3
        assert len([k for k in store.values if k.startswith(FEED_STATE_KEY)]) == 1


class TestFeedTrigger:
    def test_given_a_trigger_when_serialized_then_it_round_trips_from_its_import_path(self):
        trigger = FeedProcessingTrigger(feed_ids=["1", "2"], sp_api_conn_id="amazon_sp_api_eu", poll_interval=5, timeout=60)
        path, kwargs = trigger.serialize()
        assert path == "amazon_netsuite.amazon.triggers.FeedProcessingTrigger"
        assert FeedProcessingTrigger(**kwargs).serialize() == (path, kwargs)

    def test_given_an_unknown_feed_when_polling_then_an_error_event_names_it(self, sandbox):
        event = asyncio.run(_first_event(FeedProcessingTrigger(feed_ids=["404404"], sp_api_conn_id="amazon_sp_api_na",
                                                               poll_interval=0.01)))
        assert event["status"] == "error" and "404404" in event["message"]
