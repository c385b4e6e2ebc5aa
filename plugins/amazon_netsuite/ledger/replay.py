"""Replay registry: each flow registers how to re-run one kind of dead-lettered record.

The replay DAG (``sync_replay_failed_records``) selects failed records from the ledger and hands
each group to the replayer of its ``(dag_id, record_type)``. A replayer re-runs the records through
the flow's own transform and load code (never a second implementation), re-reading the source where
the ledger keeps only ids; that code writes the outcome to the ledger like a normal run does, with
the replay run's id, and the replay DAG reports from the ledger.

Register with a dotted path, so the registry can be read without importing every flow::

    register("amazon_orders_to_netsuite", "salesOrder", "amazon_netsuite.flows.orders:replay")

A replayer is ``fn(records: Sequence[LedgerRecord], *, ledger: Ledger, run_id: str) -> None``.
"""

from __future__ import annotations

import importlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from amazon_netsuite.ledger.models import STATUS_FAILED

if TYPE_CHECKING:
    from amazon_netsuite.ledger.store import Ledger, LedgerRecord

log = logging.getLogger(__name__)


class Replayer(Protocol):
    def __call__(self, records: Sequence[LedgerRecord], *, ledger: Ledger, run_id: str) -> Any: ...


_REGISTRY: dict[tuple[str, str], str | Callable[..., Any]] = {}

# Flows shipped with the product add their entry here (kept importable without the flows).
BUILTIN_REPLAYERS: dict[tuple[str, str], str] = {
    ("amazon_orders_to_netsuite", "salesOrder"): "amazon_netsuite.flows.orders:replay",
    ("amazon_settlements_to_netsuite", "journalEntry"): "amazon_netsuite.flows.settlements:replay",
    ("netsuite_shipments_to_amazon", "shipmentConfirmation"): "amazon_netsuite.flows.mfn_shipments:replay",
    ("netsuite_shipments_to_amazon", "cashSale"): "amazon_netsuite.flows.mfn_shipments:replay",
    ("netsuite_shipments_to_amazon", "invoice"): "amazon_netsuite.flows.mfn_shipments:replay",
    ("amazon_fba_shipments_to_netsuite", "itemFulfillment"): "amazon_netsuite.flows.fba_shipments:replay",
    ("netsuite_catalog_to_amazon", "listing"): "amazon_netsuite.flows.catalog:replay",
    ("netsuite_catalog_to_amazon", "item_writeback"): "amazon_netsuite.flows.catalog:replay",
    ("amazon_returns_to_netsuite", "cashRefund"): "amazon_netsuite.flows.returns:replay",
    ("amazon_returns_to_netsuite", "creditMemo"): "amazon_netsuite.flows.returns:replay",
    ("amazon_returns_to_netsuite", "returnAuthorization"): "amazon_netsuite.flows.returns:replay",
    ("amazon_returns_to_netsuite", "itemReceipt"): "amazon_netsuite.flows.returns:replay",
}


class ReplayError(LookupError):
    pass


def register(dag_id: str, record_type: str, target: str | Callable[..., Any]) -> None:
    """Register ``target`` ("package.module:function" or a callable) for one kind of record."""
    if isinstance(target, str) and ":" not in target:
        raise ValueError(f"replayer target {target!r} must look like 'package.module:function'")
    _REGISTRY[(dag_id, record_type)] = target


def unregister(dag_id: str, record_type: str) -> None:
    _REGISTRY.pop((dag_id, record_type), None)


def registered() -> dict[tuple[str, str], str | Callable[..., Any]]:
    return {**BUILTIN_REPLAYERS, **_REGISTRY}


def replayer_for(dag_id: str, record_type: str) -> Callable[..., Any]:
    target = registered().get((dag_id, record_type))
    if target is None:
        known = ", ".join(f"{d}/{r}" for d, r in sorted(registered())) or "none"
        raise ReplayError(
            f"no replayer is registered for {dag_id} / {record_type} (registered: {known})"
        )
    if callable(target):
        return target
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class ReplayGroup:
    dag_id: str
    record_type: str
    records: tuple[LedgerRecord, ...]


def group_for_replay(records: Iterable[LedgerRecord]) -> list[ReplayGroup]:
    groups: dict[tuple[str, str], list[LedgerRecord]] = defaultdict(list)
    for record in records:
        if record.status != STATUS_FAILED:
            continue  # synced meanwhile, or closed as skipped: nothing to replay
        groups[(record.dag_id, record.record_type)].append(record)
    return [ReplayGroup(d, r, tuple(items)) for (d, r), items in sorted(groups.items())]


def replay_records(records: Iterable[LedgerRecord], *, ledger: Ledger, run_id: str) -> dict[str, str]:
    """Run every failed record through its flow's replayer; returns key -> status afterwards.

    A group without a replayer, or whose replayer raises, is recorded as failed again with the
    reason, so nothing is dropped and the attempt is counted.
    """
    keys: list[str] = []
    for group in group_for_replay(records):
        group_keys = [r.key for r in group.records]
        keys.extend(group_keys)
        try:
            replayer = replayer_for(group.dag_id, group.record_type)
            log.info("Replaying %s %s record(s) of %s", len(group.records), group.record_type, group.dag_id)
            replayer(group.records, ledger=ledger, run_id=run_id)
        except Exception as exc:  # noqa: BLE001 - every failure is written back to the ledger
            log.exception("Replay of %s / %s failed", group.dag_id, group.record_type)
            for record in group.records:
                ledger.record_failed(
                    dag_id=record.dag_id,
                    record_type=record.record_type,
                    source_key=record.source_key,
                    error=f"replay failed: {type(exc).__name__}: {exc}",
                    reason="replay_error",
                    run_id=run_id,
                )
    after = ledger.get_many(keys)
    return {key: after[key].status for key in keys if key in after}
