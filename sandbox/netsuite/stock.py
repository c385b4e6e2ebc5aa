"""Stock per item and location, as NetSuite keeps it: on hand, committed (open order lines), available.

One place every stock-moving record goes through (item fulfillments take units out of their line's
location, item receipts put them back, inventory adjustments add or remove), so ``GET /_sandbox/stock``,
``getItemAvailability`` and ``lastQtyAvailableChange`` agree whatever moved the stock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.netsuite.store import now_iso

if TYPE_CHECKING:
    from sandbox.netsuite.store import Store


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def recompute_available(row: dict[str, Any]) -> None:
    """available = on hand - committed (never below zero); back-ordered = what committed exceeds."""
    on_hand, committed = dec(row.get("quantityOnHand")), dec(row.get("quantityCommitted"))
    row["quantityAvailable"] = float(max(on_hand - committed, Decimal(0)))
    row["quantityBackOrdered"] = float(max(committed - on_hand, Decimal(0)))


def _row(item: dict[str, Any], location_id: str, location_name: str | None) -> dict[str, Any]:
    for row in item.setdefault("locationsList", []):
        if (row.get("locationId") or {}).get("internalId") == location_id:
            return row
    row = {"locationId": {"internalId": location_id}, "location": location_name, "quantityOnHand": 0.0,
           "quantityCommitted": 0.0, "quantityOnOrder": 0.0}
    item["locationsList"].append(row)
    return row


def move(store: Store, item_id: str, location_id: str, *, on_hand: Decimal = Decimal(0),
         committed: Decimal = Decimal(0), at: str | None = None) -> dict[str, Any] | None:
    """Add ``on_hand`` and ``committed`` (negative: remove) at one location; returns the location row,
    or None when the item is not an inventory item the sandbox tracks (non-inventory items have no stock).
    NetSuite lets on hand go negative only with a preference; the caller checks before moving."""
    item = store.get("inventoryItem", internal_id=item_id)
    if item is None:
        return None
    location = store.get("location", internal_id=location_id)
    row = _row(item, str(location_id), (location or {}).get("name"))
    row["quantityOnHand"] = float(dec(row.get("quantityOnHand")) + on_hand)
    row["quantityCommitted"] = float(max(dec(row.get("quantityCommitted")) + committed, Decimal(0)))
    recompute_available(row)
    changed_at = at or now_iso()
    # NetSuite records a stock move in lastQtyAvailableChange; the item's lastModifiedDate stays (a
    # search of modified items never sees stock moves: getItemAvailability is the way to read them).
    store.put("inventoryItem", item, item.get("lastModifiedDate") or changed_at)
    store.touch_quantity(int(item_id), int(location_id), changed_at)
    return row


def levels(store: Store, item_id: str, location_id: str | None = None) -> list[dict[str, Any]]:
    """On hand, committed and available per location of an item (``GET /_sandbox/stock``)."""
    item = store.get("inventoryItem", internal_id=item_id)
    if item is None:
        return []
    out = []
    for row in item.get("locationsList") or []:
        loc = (row.get("locationId") or {}).get("internalId")
        if location_id is not None and loc != str(location_id):
            continue
        out.append({
            "item": str(item_id), "location": loc, "locationName": row.get("location"),
            "onHand": str(dec(row.get("quantityOnHand"))), "committed": str(dec(row.get("quantityCommitted"))),
            "available": str(dec(row.get("quantityAvailable"))),
        })
    return out
