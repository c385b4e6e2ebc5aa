"""Shared billing step: shipments of NetSuite sales orders -> their billing documents in Amazon clearing.

Every flow that ships an Amazon order calls this after its item fulfillment is written: the FBA
shipments flow (``flows/fba_shipments.py``) and the MFN shipments flow. It writes one cash sale
(``AMZ-CS-{shipmentId}``) or invoice (``AMZ-INV-{shipmentId}``) per shipment, as the marketplace's
``billing_document`` says, posted to the marketplace's ``amazon_clearing_account_id``; the amounts are
:mod:`amazon_netsuite.transforms.billing`'s (the shipment's share of the order's grand total, to the cent).

How another flow calls it::

    from amazon_netsuite.flows.billing import ShipmentToBill, bill_shipments

    # sales_orders: {AMZ-SO-... externalId: the sales order as NetSuite holds it}, read with
    # netsuite.get_records("salesOrder", [...], by="externalId") AFTER the item fulfillments were written
    # (NetSuite's quantityBilled is what the allocation starts from)
    outcomes = bill_shipments(
        [ShipmentToBill(shipment_id="...", amazon_order_id="113-...", marketplace_id="ATVPDKIKX0DER",
                        sales_order=sales_orders["AMZ-SO-113-..."], shipped={1: Decimal(2)},  # order line -> units
                        ship_date=datetime(...))],
        netsuite=netsuite, mappings=mappings,
    )
    for outcome in outcomes:  # one per shipment, in order
        outcome.status  # "billed" | "exists" | "failed" | "deferred"
        outcome.reason, outcome.message  # why it failed (a ledger reason) or was deferred

``shipped`` counts NetSuite units: an Amazon quantity times the SKU's ``units_per_sku``. The caller owns
the ledger: it records ``billed``/``exists`` as synced, ``failed`` as dead-lettered (the reason names
it: ``unreconciled_total``, ``missing_mapping``, NetSuite's code...) and ``deferred`` as pending (an
earlier shipment of the same order was not billed in this run: billing out of order would move cents
between documents; the next run bills it).

Idempotent: documents whose externalId exists are found first (one search per record type) and not
written again; they are written with ``addList`` (never upsert: a document is never rewritten), and a
``DUP_RCRD`` answer (a concurrent or retried run wrote it) counts as ``exists``. Shipments of one order
are billed in waves (the first unbilled shipment of every order, then the second...), each wave
starting from what NetSuite holds after the previous one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from amazon_netsuite.netsuite.records import BILLING_RECORD_TYPES, shipment_billing_external_id
from amazon_netsuite.transforms.billing import BillingError, BillingSettings, fold_billed, plan_billing

if TYPE_CHECKING:
    from amazon_netsuite.mappings import Mappings
    from amazon_netsuite.netsuite.hook import NetSuiteHook

log = logging.getLogger(__name__)


@dataclass
class ShipmentToBill:
    shipment_id: str
    amazon_order_id: str
    marketplace_id: str
    sales_order: Mapping[str, Any]
    shipped: Mapping[int, Decimal]
    ship_date: date | datetime


@dataclass
class BillingOutcome:
    shipment_id: str
    amazon_order_id: str
    record_type: str | None
    external_id: str | None
    status: str  # billed | exists | failed | deferred
    internal_id: str | None = None
    total: Decimal | None = None
    reason: str | None = None
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def inventory_item_ids(mappings: Mappings) -> set[str]:
    """Items that ship (every SKU's NetSuite item); the other lines of an order are charges."""
    return {str(sku.netsuite_item_id) for sku in mappings.sku_items}


def bill_shipments(
    shipments: Sequence[ShipmentToBill],
    *,
    netsuite: NetSuiteHook,
    mappings: Mappings,
    dry_run: bool = False,
) -> list[BillingOutcome]:
    """Bill each shipment once (see the module docstring); one outcome per shipment, in order."""
    outcomes: dict[int, BillingOutcome] = {}
    settings: dict[int, BillingSettings] = {}
    for index, shipment in enumerate(shipments):
        marketplace = mappings.marketplaces.get(shipment.marketplace_id)
        if marketplace is None:
            outcomes[index] = BillingOutcome(shipment.shipment_id, shipment.amazon_order_id, None, None, "failed",
                                             reason="unmapped_marketplace",
                                             message=f"marketplace {shipment.marketplace_id} is not in marketplaces.csv")
            continue
        settings[index] = BillingSettings.of(marketplace)

    # what exists already (a re-run, an overlapping window)
    wanted: dict[str, list[int]] = defaultdict(list)
    for index, setting in settings.items():
        wanted[BILLING_RECORD_TYPES[setting.billing_document]].append(index)
    for record_type, indexes in wanted.items():
        ids = {shipment_billing_external_id(settings[i].billing_document, shipments[i].shipment_id): i for i in indexes}
        for found in netsuite.search_by_external_ids(record_type, list(ids)):
            index = _match(ids, found.get("externalId"))
            if index is not None:
                shipment = shipments[index]
                outcomes[index] = BillingOutcome(shipment.shipment_id, shipment.amazon_order_id, record_type,
                                                 found["externalId"], "exists", internal_id=str(found["internalId"]),
                                                 total=_dec(found.get("total")))

    inventory = inventory_item_ids(mappings)
    queue: dict[str, list[int]] = defaultdict(list)  # sales order internalId -> shipments, in order
    for index in settings:
        if index not in outcomes:
            queue[str(shipments[index].sales_order["internalId"])].append(index)
    orders = {key: dict(shipments[indexes[0]].sales_order) for key, indexes in queue.items()}
    while queue:
        wave: list[tuple[int, Any]] = []
        for order_key in list(queue):
            index = queue[order_key].pop(0)
            if not queue[order_key]:
                del queue[order_key]
            shipment = shipments[index]
            try:
                plan = plan_billing(
                    orders[order_key], shipment.shipped, shipment_id=shipment.shipment_id, settings=settings[index],
                    inventory_items=inventory, tran_date=shipment.ship_date,
                    memo=f"Amazon order {shipment.amazon_order_id}, shipment {shipment.shipment_id}",
                )
            except BillingError as exc:
                outcomes[index] = BillingOutcome(shipment.shipment_id, shipment.amazon_order_id, None, None, "failed",
                                                 reason=exc.reason, message=exc.message)
                _defer_rest(order_key, queue, shipments, outcomes, shipment.shipment_id)
                continue
            wave.append((index, plan))
        by_type: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for index, plan in wave:
            by_type[plan.record_type].append((index, plan))
        for record_type, planned in by_type.items():
            if dry_run:
                results = [None] * len(planned)
            else:
                results = netsuite.add_records(record_type, [plan.record for _, plan in planned])
            for (index, plan), result in zip(planned, results, strict=True):
                shipment = shipments[index]
                order_key = str(shipment.sales_order["internalId"])
                if result is None or result.ok or result.error_code == "DUP_RCRD":
                    status = "billed" if result is None or result.ok else "exists"
                    outcomes[index] = BillingOutcome(shipment.shipment_id, shipment.amazon_order_id, record_type,
                                                     plan.external_id, status,
                                                     internal_id=getattr(result, "internal_id", None), total=plan.total)
                    orders[order_key] = fold_billed(orders[order_key], plan)
                else:
                    outcomes[index] = BillingOutcome(shipment.shipment_id, shipment.amazon_order_id, record_type,
                                                     plan.external_id, "failed", reason=result.error_code or "netsuite_error",
                                                     message=result.error_message)
                    _defer_rest(order_key, queue, shipments, outcomes, shipment.shipment_id)
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome.status] += 1
    log.info("Billing: %s shipments: %s", len(shipments), dict(counts))
    return [outcomes[index] for index in range(len(shipments))]


def _defer_rest(order_key: str, queue: dict[str, list[int]], shipments: Sequence[ShipmentToBill],
                outcomes: dict[int, BillingOutcome], failed_shipment: str) -> None:
    for index in queue.pop(order_key, []):
        shipment = shipments[index]
        outcomes[index] = BillingOutcome(
            shipment.shipment_id, shipment.amazon_order_id, None, None, "deferred", reason="earlier_shipment_not_billed",
            message=f"shipment {failed_shipment} of the same order was not billed; this one is billed after it",
        )


def _match(ids: Mapping[str, int], external_id: str | None) -> int | None:
    if not external_id:
        return None
    lowered = {key.lower(): value for key, value in ids.items()}  # NetSuite compares externalIds ignoring case
    return lowered.get(external_id.lower())


def _dec(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None
