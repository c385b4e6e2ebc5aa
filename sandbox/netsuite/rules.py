"""NetSuite's business rules as the emulator applies them to JSON records (the admin API shape).

Referenced records must exist and be available to the record's subsidiary, externalIds are unique per
record group (the service checks that), customer names are unique unless the account auto-numbers
customers, text fields respect NetSuite's lengths, required fields are required, and NetSuite computes
what it computes (tax from tax codes, sales order totals, line numbers, committed and available
quantities). Errors are :class:`RecordError` with NetSuite's status codes and wording.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sandbox.netsuite.store import now_iso

if TYPE_CHECKING:
    from sandbox.netsuite.schema import Schema
    from sandbox.netsuite.service import SandboxConfig
    from sandbox.netsuite.store import Store

CENT = Decimal("0.01")


class RecordError(Exception):
    """A record-level failure: becomes ``status isSuccess="false"`` with one statusDetail."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: item record types a transaction line may reference (one internalId space: the item group)
ITEM_TYPES = ("inventoryItem", "otherChargeSaleItem")
#: body fields that reference another record type
REF_FIELDS: dict[str, dict[str, str]] = {
    "customer": {"subsidiary": "subsidiary", "currency": "currency", "parent": "customer"},
    "salesOrder": {
        "entity": "customer", "subsidiary": "subsidiary", "currency": "currency", "location": "location",
        "taxItem": "salesTaxItem", "shippingTaxCode": "salesTaxItem", "handlingTaxCode": "salesTaxItem",
    },
    "inventoryItem": {},
    "inventoryAdjustment": {"subsidiary": "subsidiary", "account": "account", "adjLocation": "location",
                            "postingPeriod": "accountingPeriod"},
    "otherChargeSaleItem": {"incomeAccount": "account"},
    "salesTaxItem": {"taxAccount": "account", "saleAccount": "account", "parent": "salesTaxItem"},
    "account": {"currency": "currency", "parent": "account"},
    "subsidiary": {"parent": "subsidiary", "currency": "currency"},
    "location": {"parent": "location"},
    "currency": {},
    "journalEntry": {
        "subsidiary": "subsidiary", "currency": "currency", "postingPeriod": "accountingPeriod", "location": "location",
    },
    "accountingPeriod": {"parent": "accountingPeriod"},
    # fulfillments and billing documents: createdFrom, entity, lines are checked by their _apply_ handlers
    "itemFulfillment": {"postingPeriod": "accountingPeriod"},
    "cashSale": {"currency": "currency", "postingPeriod": "accountingPeriod", "account": "account",
                 "shippingTaxCode": "salesTaxItem", "handlingTaxCode": "salesTaxItem"},
    "invoice": {"currency": "currency", "postingPeriod": "accountingPeriod", "account": "account",
                "shippingTaxCode": "salesTaxItem", "handlingTaxCode": "salesTaxItem"},
    # returns: createdFrom and lines are checked by their _apply_ handlers
    "returnAuthorization": {"currency": "currency"},
    "itemReceipt": {"postingPeriod": "accountingPeriod"},
    "cashRefund": {"currency": "currency", "postingPeriod": "accountingPeriod",
                   "shippingTaxCode": "salesTaxItem", "handlingTaxCode": "salesTaxItem"},
    "creditMemo": {"currency": "currency", "postingPeriod": "accountingPeriod",
                   "shippingTaxCode": "salesTaxItem", "handlingTaxCode": "salesTaxItem"},
}
#: RecordRefList fields
REF_LIST_FIELDS: dict[str, dict[str, str]] = {
    "inventoryItem": {"subsidiaryList": "subsidiary"},
    "otherChargeSaleItem": {"subsidiaryList": "subsidiary"},
    "salesTaxItem": {"subsidiaryList": "subsidiary"},
    "account": {"subsidiaryList": "subsidiary"},
    "location": {"subsidiaryList": "subsidiary"},
}
#: sublist -> {line field: referenced type}
SUBLIST_REFS: dict[str, dict[str, dict[str, str]]] = {
    # sales order lines' item, location and tax code are resolved by _apply_salesOrder (subsidiary-aware)
    "inventoryItem": {"locationsList": {"locationId": "location"}},
    # journal lines' accounts are resolved by _apply_journalEntry (subsidiary-aware wording)
    "journalEntry": {"lineList": {"location": "location", "entity": "customer"}},
}
#: sublist -> how lines are matched when replaceAll is false
SUBLIST_KEYS = {"itemList": "line", "lineList": "line", "inventoryList": "line", "addressbookList": "internalId", "locationsList": "locationId"}
#: NetSuite's limit of journal entry lines in a synchronous write
MAX_JOURNAL_LINES = 1000
#: status codes of the journal entry rules (all in the 2023_2 StatusDetailCodeType enumeration)
JE_UNBALANCED = "JE_AMOUNTS_MUST_BALANCE"
PERIOD_CLOSED = "TRAN_PERIOD_CLOSED"
NO_PERIOD = "INVALID_ACCT_PRD"
#: a second customer with the same name (entityId) when customers are not auto-numbered: the code and
#: wording NetSuite gives (SuiteAnswers, "UNIQUE_CUST_ID_REQD error on upsertList")
DUPLICATE_CUSTOMER_NAME = "UNIQUE_CUST_ID_REQD"
DUPLICATE_CUSTOMER_NAME_MESSAGE = (
    "A customer record with this ID already exists. You must enter a unique customer ID for each record you "
    "create. To correct this record, click back and enter a new customer ID in the Customer field. Then, click Submit."
)
#: NetSuite's lengths of the text fields the integration writes (docs/netsuite-quirks.md, "Field limits");
#: longer values fail the record: "The field addr1 contained more than the maximum number ( 150 ) of
#: characters allowed."
FIELD_LIMITS: dict[str, int] = {
    "externalId": 255, "entityId": 83, "companyName": 83, "firstName": 32, "middleName": 32, "lastName": 32,
    "email": 254, "phone": 32, "addrPhone": 32, "addressee": 83, "attention": 83, "addr1": 150, "addr2": 150,
    "addr3": 150, "city": 50, "state": 30, "zip": 36, "memo": 999, "otherRefNum": 45,
}


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def money(value: Decimal) -> float:
    """Decimal -> JSON number (exact for two-decimal amounts)."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def record_name(record_type: str, record: dict[str, Any]) -> str | None:
    if record_type == "customer":
        if record.get("entityId"):
            return record["entityId"]
        if record.get("isPerson"):
            return " ".join(p for p in (record.get("firstName"), record.get("lastName")) if p) or None
        return record.get("companyName")
    if record_type == "inventoryItem":
        return record.get("itemId")
    if record_type == "account":
        return " ".join(p for p in (record.get("acctNumber"), record.get("acctName")) if p) or None
    if record_type == "accountingPeriod":
        return record.get("periodName")
    return record.get("name")


def day_of(value: Any) -> date:
    """The calendar day of a stored dateTime (ISO text, as sent: the hook sends dates as noon UTC)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


class Rules:
    def __init__(self, store: Store, schema: Schema, config: SandboxConfig) -> None:
        self.store = store
        self.schema = schema
        self.config = config

    # ------------------------------------------------------------------ references
    def resolve(
        self, record_type: str | tuple[str, ...], ref: Any, field: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(normalised ref with internalId and name, the referenced record) or INVALID_KEY_OR_REF.

        ``record_type`` may be a tuple (an item line references any item type)."""
        if not isinstance(ref, dict) or not (ref.get("internalId") or ref.get("externalId")):
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid {field} reference key {ref!r}.")
        target = None
        key = ref.get("internalId") or ref.get("externalId")
        for candidate in (record_type,) if isinstance(record_type, str) else record_type:
            if ref.get("internalId"):
                target = self.store.get(candidate, internal_id=ref["internalId"])
            else:
                target = self.store.get(candidate, external_id=ref["externalId"])
            if target is not None:
                record_type = candidate
                break
        if target is None:
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid {field} reference key {key}.")
        out = {"internalId": target["internalId"]}
        if target.get("externalId"):
            out["externalId"] = target["externalId"]
        name = record_name(record_type, target)
        if name:
            out["name"] = name
        return out, target

    def _ancestors(self, subsidiary_id: str) -> list[str]:
        chain, seen = [], {subsidiary_id}
        current = self.store.get("subsidiary", internal_id=subsidiary_id)
        while current and current.get("parent"):
            parent = str(current["parent"]["internalId"])
            if parent in seen:
                break
            chain.append(parent)
            seen.add(parent)
            current = self.store.get("subsidiary", internal_id=parent)
        return chain

    def available_to(self, target: dict[str, Any], subsidiary_id: str) -> bool:
        """Whether a record restricted by ``subsidiaryList`` (+ ``includeChildren``) may be used in
        ``subsidiary_id``; records without a subsidiary list are unrestricted."""
        allowed = {str(r.get("internalId")) for r in target.get("subsidiaryList") or []}
        if not allowed or str(subsidiary_id) in allowed:
            return True
        return bool(target.get("includeChildren")) and any(a in allowed for a in self._ancestors(str(subsidiary_id)))

    def resolve_for_subsidiary(
        self, record_type: str | tuple[str, ...], ref: Any, field: str, subsidiary_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Like :meth:`resolve`, and the record must be available to ``subsidiary_id``; otherwise
        INVALID_KEY_OR_REF naming the subsidiary (the form NetSuite uses for a select field whose
        choices are filtered by the transaction's subsidiary)."""
        key = (ref.get("internalId") or ref.get("externalId")) if isinstance(ref, dict) else ref
        try:
            out, target = self.resolve(record_type, ref, field)
        except RecordError:
            raise RecordError(
                "INVALID_KEY_OR_REF", f"Invalid {field} reference key {key} for subsidiary {subsidiary_id}."
            ) from None
        if not self.available_to(target, subsidiary_id):
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid {field} reference key {key} for subsidiary {subsidiary_id}.")
        return out, target

    def _resolve_all(self, record_type: str, record: dict[str, Any]) -> dict[str, dict[str, Any]]:
        targets: dict[str, dict[str, Any]] = {}
        for field, target_type in REF_FIELDS.get(record_type, {}).items():
            if field in record:
                record[field], targets[field] = self.resolve(target_type, record[field], field)
        for field, target_type in REF_LIST_FIELDS.get(record_type, {}).items():
            if field in record:
                record[field] = [self.resolve(target_type, r, field)[0] for r in record[field]]
        for sublist, refs in SUBLIST_REFS.get(record_type, {}).items():
            for line in record.get(sublist, []):
                for field, target_type in refs.items():
                    if field in line:
                        line[field] = self.resolve(target_type, line[field], field)[0]
        return targets

    # ------------------------------------------------------------------ merge (update / upsert)
    @staticmethod
    def merge(existing: dict[str, Any], incoming: dict[str, Any], replace_flags: dict[str, bool]) -> dict[str, Any]:
        merged = copy.deepcopy(existing)
        for field, value in incoming.items():
            if field == "internalId":
                continue
            if field == "customFieldList" and isinstance(value, list):
                # custom fields not sent keep their values; the ones sent are set (keyed by scriptId)
                merged[field] = Rules._merge_custom_fields(merged.get(field, []), value)
            elif isinstance(value, list) and field in SUBLIST_KEYS and not replace_flags.get(field, True):
                merged[field] = Rules._merge_lines(merged.get(field, []), value, SUBLIST_KEYS[field])
            else:
                merged[field] = value
        return merged

    @staticmethod
    def _merge_custom_fields(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fields = {(f.get("scriptId") or f.get("internalId")): dict(f) for f in old}
        for entry in new:
            fields[entry.get("scriptId") or entry.get("internalId")] = dict(entry)
        return list(fields.values())

    @staticmethod
    def _line_key(line: dict[str, Any], key: str) -> Any:
        value = line.get(key)
        return value.get("internalId") if isinstance(value, dict) else value

    @staticmethod
    def _merge_lines(old: list[dict[str, Any]], new: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        """replaceAll=false: lines with a matching key are updated in place, the others are appended."""
        lines = [dict(line) for line in old]
        if key == "line" and not any("line" in line for line in [*old, *new]) and any("orderLine" in line for line in new):
            key = "orderLine"  # item fulfillment lines have no line number: they are keyed by their order line
        index = {str(Rules._line_key(line, key)): line for line in lines if Rules._line_key(line, key) is not None}
        for line in new:
            line_key = Rules._line_key(line, key)
            if line_key is not None and str(line_key) in index:
                stored = index[str(line_key)]
                # a journal line holds a debit or a credit: setting one clears the other
                for given, other in (("debit", "credit"), ("credit", "debit")):
                    if line.get(given) is not None and line.get(other) is None:
                        stored.pop(other, None)
                stored.update(line)
            else:
                if key == "line":
                    line = {k: v for k, v in line.items() if k != "line"}
                lines.append(dict(line))
        return lines

    # ------------------------------------------------------------------ validation + derived fields
    def apply(self, record_type: str, record: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        """Validate ``record`` (a full record after merge), fill what NetSuite fills, return it."""
        self._check_lengths(record)
        targets = self._resolve_all(record_type, record)
        handler = getattr(self, f"_apply_{record_type}", None)
        if handler is not None:
            handler(record, old, targets)
        now = now_iso()
        if self.schema.has_field(record_type, "lastModifiedDate"):
            record["lastModifiedDate"] = now
        created_field = "dateCreated" if record_type == "customer" else "createdDate"
        if old is None and self.schema.has_field(record_type, created_field):
            record.setdefault(created_field, now)
        return record

    @classmethod
    def _check_lengths(cls, value: Any, field: str | None = None) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                cls._check_lengths(item, key)
        elif isinstance(value, list):
            for item in value:
                cls._check_lengths(item, field)
        elif isinstance(value, str) and field in FIELD_LIMITS and len(value) > FIELD_LIMITS[field]:
            raise RecordError(
                "USER_ERROR",
                f"The field {field} contained more than the maximum number ( {FIELD_LIMITS[field]} ) of characters allowed.",
            )

    @staticmethod
    def _required(record: dict[str, Any], *labels: tuple[str, str]) -> None:
        missing = [label for field, label in labels if record.get(field) in (None, "", [])]
        if missing:
            raise RecordError("USER_ERROR", f"Please enter value(s) for: {', '.join(missing)}")

    def _apply_customer(self, record, old, targets) -> None:
        self._required(record, ("subsidiary", "Primary Subsidiary"))
        if record.get("isPerson"):
            self._required(record, ("firstName", "First Name"), ("lastName", "Last Name"))
        else:
            record.setdefault("isPerson", False)
            self._required(record, ("companyName", "Company Name"))
        if "currency" not in record:
            subsidiary = targets["subsidiary"]
            if subsidiary.get("currency"):
                record["currency"] = subsidiary["currency"]
        if self.config.customer_auto_numbering:
            # NetSuite numbers the customer; a name sent is ignored (Auto-Generated Numbers without
            # "Allow Override")
            record["entityId"] = (old or {}).get("entityId") or f"CUST{int(record['internalId']):05d}"
        else:
            record["entityId"] = record.get("entityId") or record_name("customer", {**record, "entityId": None})
            if record["entityId"] and self.store.named("customer", record["entityId"], other_than=record["internalId"]):
                raise RecordError(DUPLICATE_CUSTOMER_NAME, DUPLICATE_CUSTOMER_NAME_MESSAGE)
        self._addressbook(record, old)

    @staticmethod
    def _addressbook(record: dict[str, Any], old: dict[str, Any] | None) -> None:
        """New address book entries get fresh internalIds (never one in use now or before this write);
        at most one entry stays the default shipping (billing) address: the last one
        flagged, which is the one just sent when a new address is appended."""
        entries = record.get("addressbookList") or []
        used = [
            int(e["internalId"])
            for e in [*entries, *((old or {}).get("addressbookList") or [])]
            if str(e.get("internalId") or "").isdigit()
        ]
        next_id = max(used, default=0) + 1
        for entry in entries:
            if not entry.get("internalId"):
                entry["internalId"] = str(next_id)
                next_id += 1
        for flag in ("defaultShipping", "defaultBilling"):
            flagged = [e for e in entries if e.get(flag)]
            for entry in flagged[:-1]:
                entry[flag] = False

    def _apply_salesOrder(self, record, old, targets) -> None:  # noqa: N802 - NetSuite's record type name
        self._required(record, ("entity", "Customer"))
        customer = targets["entity"]
        if "subsidiary" not in record:
            record["subsidiary"], targets["subsidiary"] = self.resolve("subsidiary", customer["subsidiary"], "subsidiary")
        if customer.get("subsidiary", {}).get("internalId") != record["subsidiary"]["internalId"]:
            raise RecordError(
                "USER_ERROR",
                "The subsidiary restrictions on this record are incompatible with those defined for customer "
                f"{customer['internalId']}.",
            )
        subsidiary_id = str(record["subsidiary"]["internalId"])
        if "currency" not in record and customer.get("currency"):
            record["currency"] = customer["currency"]
        if record.get("location"):
            record["location"] = self.resolve_for_subsidiary("location", record["location"], "location", subsidiary_id)[0]
        lines = record.get("itemList") or []
        if not lines:
            raise RecordError("USER_ERROR", "You must enter at least one line item for this transaction.")
        used = [int(line["line"]) for line in lines if line.get("line") is not None]
        next_line = max(used, default=0) + 1
        items: list[dict[str, Any]] = []
        for line in lines:
            if line.get("line") is None:
                line["line"] = next_line
                next_line += 1
            if not line.get("item"):
                raise RecordError("USER_ERROR", "Please enter value(s) for: Item")
            try:
                line["item"], item = self.resolve(ITEM_TYPES, line["item"], "item")
            except RecordError:
                raise RecordError("INVALID_KEY_OR_REF", f"Invalid item reference key {line['item'].get('internalId') or line['item'].get('externalId')}.") from None
            if not self.available_to(item, subsidiary_id):
                raise RecordError(
                    "INVALID_KEY_OR_REF", f"Invalid item reference key {item['internalId']} for subsidiary {subsidiary_id}."
                )
            items.append(item)
            if line.get("location"):
                line["location"] = self.resolve_for_subsidiary("location", line["location"], "location", subsidiary_id)[0]
            if line.get("quantity") is None:
                raise RecordError("USER_ERROR", "Please enter value(s) for: Quantity")
            quantity, rate = dec(line["quantity"]), dec(line.get("rate"))
            amount = dec(line["amount"]) if line.get("amount") is not None else quantity * rate
            line["amount"] = money(amount)
            line.setdefault("isClosed", False)
            line.setdefault("quantityFulfilled", 0.0)
            line.setdefault("quantityBilled", 0.0)
        self._sales_totals(record, lines, items, subsidiary_id)
        record.setdefault("orderStatus", "_pendingFulfillment")
        record["status"] = {
            "_pendingApproval": "Pending Approval",
            "_pendingFulfillment": "Pending Fulfillment",
            "_cancelled": "Cancelled",
            "_closed": "Closed",
        }.get(record["orderStatus"], "Pending Fulfillment")
        if record["orderStatus"] in self._OPEN_ORDER:
            # fulfilled and billed quantities decide the status of an open order (a re-upsert cannot reset it)
            self._order_status(record)
        record.setdefault("tranId", f"SO{record['internalId']}")
        self._commit_inventory(record, old)

    # ------------------------------------------------------------------ tax (sales transactions)
    @staticmethod
    def tax_rate(code: dict[str, Any]) -> Decimal:
        """A tax code's rate in percent: SalesTaxItem.rate is a string such as "6.25%"."""
        text = str(code.get("rate") or "0").strip().rstrip("%").strip()
        return Decimal(text or "0")

    def _tax_code(self, ref: Any, field: str, subsidiary_id: str) -> tuple[dict[str, Any], Decimal]:
        out, code = self.resolve_for_subsidiary("salesTaxItem", ref, field, subsidiary_id)
        if code.get("isInactive"):
            raise RecordError("INVALID_KEY_OR_REF", f"Invalid {field} reference key {code['internalId']} for subsidiary {subsidiary_id}.")
        return out, self.tax_rate(code)

    def _sales_totals(self, record: dict[str, Any], lines: list[dict[str, Any]], items: list[dict[str, Any]], subsidiary_id: str) -> None:
        """NetSuite computes tax; the client's tax amounts are not trusted (reusable by every sales
        transaction: sales order, cash sale, invoice, credit memo).

        Per-line tax (legacy VAT/GST and most OneWorld subsidiaries): every line whose item is taxable
        needs a ``taxCode`` available to the subsidiary; ``taxRate1`` comes from the code and ``tax1Amt``
        = round-half-up(amount x rate / 100, 2) per line, overwriting a client ``tax1Amt`` unless the
        account allows tax overrides. ``shippingTaxCode`` / ``handlingTaxCode`` tax ``shippingCost`` /
        ``handlingCost`` the same way. Header tax (US legacy): the header ``taxItem``'s rate applies once
        to the sum of the taxable lines (``isTaxable``, default from the item)."""
        mode = self.config.tax_mode(subsidiary_id)
        sub_total = Decimal(0)
        tax_total = Decimal(0)
        taxable_total = Decimal(0)
        for line, item in zip(lines, items, strict=True):
            amount = dec(line["amount"])
            is_open = not line.get("isClosed")
            if is_open:
                sub_total += amount
            if mode == "header":
                for name in ("taxCode", "taxRate1", "tax1Amt"):
                    line.pop(name, None)
                line.setdefault("isTaxable", item.get("isTaxable", True) is not False)
                if is_open and line["isTaxable"]:
                    taxable_total += amount
                continue
            line.pop("isTaxable", None)
            if line.get("taxCode"):
                line["taxCode"], rate = self._tax_code(line["taxCode"], "taxCode", subsidiary_id)
                line["taxRate1"] = float(rate)
                if self.config.tax_override and line.get("tax1Amt") is not None:
                    tax = dec(line["tax1Amt"]).quantize(CENT, ROUND_HALF_UP)
                else:
                    tax = (amount * rate / 100).quantize(CENT, ROUND_HALF_UP)
                line["tax1Amt"] = money(tax)
            else:
                if item.get("isTaxable", True) is not False:
                    raise RecordError("USER_ERROR", "Please enter value(s) for: Tax Code")
                line.pop("taxRate1", None)
                line.pop("tax1Amt", None)  # a non-taxable line carries no tax, whatever was sent
                tax = Decimal(0)
            if is_open:
                tax_total += tax
        shipping = dec(record.get("shippingCost"))
        handling = dec(record.get("handlingCost"))
        if mode == "header":
            rate = Decimal(0)
            if record.get("taxItem"):
                record["taxItem"], rate = self._tax_code(record["taxItem"], "taxItem", subsidiary_id)
            record["taxRate"] = float(rate)
            tax_total = (taxable_total * rate / 100).quantize(CENT, ROUND_HALF_UP)
        else:
            record.pop("taxItem", None)
            for cost, code_field, rate_field in (
                (shipping, "shippingTaxCode", "shippingTax1Rate"),
                (handling, "handlingTaxCode", "handlingTax1Rate"),
            ):
                if record.get(code_field):
                    record[code_field], rate = self._tax_code(record[code_field], code_field, subsidiary_id)
                    record[rate_field] = float(rate)
                    tax_total += (cost * rate / 100).quantize(CENT, ROUND_HALF_UP)
                else:
                    record.pop(rate_field, None)
        discount = Decimal(0)
        if record.get("discountRate"):
            text = str(record["discountRate"]).strip()
            if text.endswith("%"):
                discount = -(sub_total * abs(Decimal(text[:-1])) / 100).quantize(CENT, ROUND_HALF_UP)
            else:
                discount = -abs(Decimal(text))
        record["subTotal"] = money(sub_total)
        record["discountTotal"] = money(discount)
        record["taxTotal"] = money(tax_total)
        record["total"] = money(sub_total + discount + tax_total + shipping + handling)

    def _commitments(self, order: dict[str, Any] | None) -> dict[tuple[str, str], Decimal]:
        out: dict[tuple[str, str], Decimal] = {}
        if not order or order.get("orderStatus") in ("_pendingApproval", "_cancelled", "_closed"):
            return out
        header_location = (order.get("location") or {}).get("internalId")
        for line in order.get("itemList", []):
            location = (line.get("location") or {}).get("internalId") or header_location
            if line.get("isClosed") or not location:
                continue
            open_qty = dec(line.get("quantity")) - dec(line.get("quantityFulfilled"))
            key = (line["item"]["internalId"], location)
            out[key] = out.get(key, Decimal(0)) + max(open_qty, Decimal(0))
        return out

    def _commit_inventory(self, order: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Open order lines commit stock at their location: available = on hand - committed."""
        before, after = self._commitments(old), self._commitments(order)
        changed_at = now_iso()
        for item_id, location_id in sorted(set(before) | set(after)):
            delta = after.get((item_id, location_id), Decimal(0)) - before.get((item_id, location_id), Decimal(0))
            if delta == 0:
                continue
            item = self.store.get("inventoryItem", internal_id=item_id)
            if item is None:
                continue
            for row in item.get("locationsList", []):
                if row.get("locationId", {}).get("internalId") == location_id:
                    row["quantityCommitted"] = float(max(dec(row.get("quantityCommitted")) + delta, Decimal(0)))
                    self._available(row)
                    # Stock moves never change the item's lastModifiedDate (only lastQtyAvailableChange).
                    self.store.put("inventoryItem", item, item.get("lastModifiedDate") or changed_at)
                    self.store.touch_quantity(int(item_id), int(location_id), changed_at)
                    break

    @staticmethod
    def _available(row: dict[str, Any]) -> None:
        from sandbox.netsuite.stock import recompute_available

        recompute_available(row)

    def _apply_inventoryItem(self, record, old, targets) -> None:  # noqa: N802
        self._required(record, ("itemId", "Item Name/Number"))
        old_rows = {
            row["locationId"]["internalId"]: row for row in (old or {}).get("locationsList", []) if row.get("locationId")
        }
        changed_at = now_iso()
        for row in record.get("locationsList", []):
            self._required(row, ("locationId", "Location"))
            location = self.store.get("location", internal_id=row["locationId"]["internalId"])
            row["location"] = location.get("name") if location else row.get("location")
            for field in ("quantityOnHand", "quantityCommitted", "quantityOnOrder"):
                row.setdefault(field, 0.0)
            self._available(row)
            previous = old_rows.get(row["locationId"]["internalId"])
            if previous is None or previous.get("quantityAvailable") != row["quantityAvailable"]:
                self.store.touch_quantity(int(record["internalId"]), int(row["locationId"]["internalId"]), changed_at)

    def _apply_inventoryAdjustment(self, record, old, targets) -> None:  # noqa: N802
        """Subsidiary, adjustment account and at least one line; each line's item is an inventory item,
        its location (or the header's ``adjLocation``) belongs to the subsidiary, ``adjustQtyBy`` is a
        non-zero number and on hand never goes below zero. Stock moves through stock.move (the same
        path as fulfillments and receipts), so ``getItemAvailability`` sees the change. An update
        (upsert of the same externalId) moves only the difference."""
        from sandbox.netsuite import stock

        self._required(record, ("subsidiary", "Subsidiary"), ("account", "Adjustment Account"))
        lines = record.get("inventoryList") or []
        if not lines:
            raise RecordError("USER_ERROR", "You must enter at least one line item for this transaction.")
        subsidiary_id = str(record["subsidiary"]["internalId"])
        header_location = (record.get("adjLocation") or {}).get("internalId")
        moves: dict[tuple[str, str], Decimal] = {}
        for number, line in enumerate(lines, start=1):
            line.setdefault("line", number)
            item_ref = (line.get("item") or {}).get("internalId")
            if not item_ref:
                raise RecordError("USER_ERROR", f"Please enter value(s) for: Item (line {number})")
            if self.store.get("inventoryItem", internal_id=item_ref) is None:
                raise RecordError("INVALID_KEY_OR_REF", f"Invalid item reference key {item_ref}.")
            location_id = (line.get("location") or {}).get("internalId") or header_location
            if not location_id:
                raise RecordError("USER_ERROR", f"Please enter value(s) for: Location (line {number})")
            location = self.store.get("location", internal_id=location_id)
            if location is None:
                raise RecordError("INVALID_KEY_OR_REF", f"Invalid location reference key {location_id}.")
            if not self.available_to(location, subsidiary_id):
                raise RecordError("INVALID_KEY_OR_REF",
                                  f"Invalid location reference key {location_id} for subsidiary {subsidiary_id}.")
            line["location"] = {"internalId": str(location_id), "name": location.get("name")}
            qty = dec(line.get("adjustQtyBy"))
            if qty == 0:
                raise RecordError("USER_ERROR", f"Please enter value(s) for: Adjust Qty. By (line {number})")
            key = (str(item_ref), str(location_id))
            moves[key] = moves.get(key, Decimal(0)) + qty
        for old_line in (old or {}).get("inventoryList") or []:
            key = (str(old_line["item"]["internalId"]), str(old_line["location"]["internalId"]))
            moves[key] = moves.get(key, Decimal(0)) - dec(old_line.get("adjustQtyBy"))
        for (item_id, location_id), qty in moves.items():
            if qty < 0:
                on_hand = sum((dec(r["onHand"]) for r in stock.levels(self.store, item_id, location_id)), Decimal(0))
                if on_hand + qty < 0:
                    raise RecordError("USER_ERROR", f"You cannot adjust item {item_id} at location {location_id} below zero: "
                                                    f"{on_hand} on hand, adjustment {qty}.")
        for (item_id, location_id), qty in moves.items():
            if qty:
                stock.move(self.store, item_id, location_id, on_hand=qty)

    def _apply_otherChargeSaleItem(self, record, old, targets) -> None:  # noqa: N802
        self._required(record, ("itemId", "Item Name/Number"))

    def _apply_salesTaxItem(self, record, old, targets) -> None:  # noqa: N802
        self._required(record, ("itemId", "Tax Name"), ("rate", "Rate"))
        try:
            rate = self.tax_rate(record)
        except (ArithmeticError, ValueError):
            raise RecordError("INVALID_FLD_VALUE", f"Invalid Field Value {record.get('rate')} for the following field: rate") from None
        record["rate"] = f"{rate.normalize():f}%"

    def _apply_account(self, record, old, targets) -> None:
        self._required(record, ("acctName", "Name"), ("acctType", "Type"))

    def _apply_subsidiary(self, record, old, targets) -> None:
        self._required(record, ("name", "Name"))

    def _apply_location(self, record, old, targets) -> None:
        self._required(record, ("name", "Name"))

    def _apply_currency(self, record, old, targets) -> None:
        self._required(record, ("name", "Name"), ("symbol", "ISO Code"))

    # ------------------------------------------------------------------ journal entries and periods
    def _apply_journalEntry(self, record, old, targets) -> None:  # noqa: N802
        """Lines' accounts exist and are available to the subsidiary, one currency, debits = credits to
        the cent, at most 1,000 lines, and the posting period is open."""
        self._required(record, ("subsidiary", "Subsidiary"))
        subsidiary = targets["subsidiary"]
        if "currency" not in record:  # OneWorld defaults a journal to the subsidiary's base currency
            if not subsidiary.get("currency"):
                raise RecordError("CRNCY_REQD", "Please enter value(s) for: Currency")
            record["currency"], targets["currency"] = self.resolve("currency", subsidiary["currency"], "currency")
        currency = targets["currency"]
        lines = record.get("lineList") or []
        if not lines:
            raise RecordError("USER_ERROR", "You must enter at least one line item for this transaction.")
        if len(lines) > MAX_JOURNAL_LINES:
            raise RecordError(
                "EXCEEDED_MAX_TRANS_LINES",
                f"This transaction has {len(lines)} lines; the maximum number of lines for a journal entry "
                f"submitted through web services is {MAX_JOURNAL_LINES}.",
            )
        subsidiary_id = record["subsidiary"]["internalId"]
        used = [int(line["line"]) for line in lines if line.get("line") is not None]
        next_line = max(used, default=0) + 1
        debits = credits = Decimal(0)
        for line in lines:
            if line.get("line") is None:
                line["line"] = next_line
                next_line += 1
            number = line["line"]
            if not line.get("account"):
                raise RecordError("JE_LINE_MISSING_REQD_DATA", f"Please enter value(s) for: Account (line {number})")
            line["account"], account = self._journal_account(line["account"], subsidiary_id)
            account_currency = (account.get("currency") or {}).get("internalId")
            if account_currency and account_currency != currency["internalId"]:
                raise RecordError(
                    "MISMATCHED_CURRENCY",
                    f"The currency of account {line['account'].get('name') or account['internalId']} does not match "
                    f"the currency of this transaction ({currency.get('symbol') or currency['internalId']}).",
                )
            has_debit, has_credit = line.get("debit") is not None, line.get("credit") is not None
            if has_debit and has_credit:
                raise RecordError("USER_ERROR", f"Line {number}: enter a debit or a credit amount, not both.")
            if not has_debit and not has_credit:
                raise RecordError(
                    "JE_LINE_MISSING_REQD_DATA", f"Please enter value(s) for: Debit or Credit (line {number})"
                )
            if has_debit:
                amount = dec(line["debit"]).quantize(CENT, ROUND_HALF_UP)
                line["debit"] = money(amount)
                debits += amount
            else:
                amount = dec(line["credit"]).quantize(CENT, ROUND_HALF_UP)
                line["credit"] = money(amount)
                credits += amount
        if debits != credits:
            raise RecordError(
                JE_UNBALANCED,
                f"The debit and credit totals are not equal (debits {debits}, credits {credits}, difference "
                f"{debits - credits}). Journal entry amounts must balance.",
            )
        self._check_period(record)
        record.setdefault("tranId", f"JE{record['internalId']}")
        record.setdefault("approved", True)

    def _journal_account(self, ref: Any, subsidiary_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        key = (ref.get("internalId") or ref.get("externalId")) if isinstance(ref, dict) else ref
        try:
            out, account = self.resolve("account", ref, "account")
        except RecordError:
            raise RecordError(
                "INVALID_KEY_OR_REF", f"Invalid account reference key {key} for subsidiary {subsidiary_id}."
            ) from None
        if not self.available_to(account, subsidiary_id):
            raise RecordError(
                "INVALID_KEY_OR_REF", f"Invalid account reference key {key} for subsidiary {subsidiary_id}."
            )
        return out, account

    def calendar_of(self, subsidiary_id: str | None) -> str | None:
        """The fiscal calendar of a subsidiary (None: the default calendar every period without one is in)."""
        subsidiary = self.store.get("subsidiary", internal_id=subsidiary_id) if subsidiary_id else None
        calendar = (subsidiary or {}).get("fiscalCalendar") or {}
        return str(calendar["internalId"]) if calendar.get("internalId") else None

    def _check_period(self, record: dict[str, Any]) -> None:
        """The posting period (given, or the one holding ``tranDate`` in the subsidiary's fiscal calendar)
        must exist, be a month and be open, also for the subsidiary (its own period close)."""
        if not record.get("tranDate"):
            record["tranDate"] = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()
        day = day_of(record["tranDate"])
        subsidiary_id = str((record.get("subsidiary") or {}).get("internalId") or "") or None
        if record.get("postingPeriod"):
            period = self.store.get("accountingPeriod", internal_id=record["postingPeriod"]["internalId"])
        else:
            period = self.period_of(day, self.calendar_of(subsidiary_id))
            if period is None:
                raise RecordError(
                    NO_PERIOD,
                    f"No accounting period is set up for the transaction date {day.isoformat()}. "
                    "Set up the accounting period first.",
                )
            record["postingPeriod"] = self.resolve("accountingPeriod", {"internalId": period["internalId"]}, "postingPeriod")[0]
        if period.get("isQuarter") or period.get("isYear"):
            raise RecordError(NO_PERIOD, f"You cannot post to {period.get('periodName')}: choose a month, not a quarter or year.")
        if period.get("closed") or period.get("allLocked"):
            raise RecordError(
                PERIOD_CLOSED,
                f"The accounting period {period.get('periodName')} is closed. You cannot post a transaction dated "
                f"{day.isoformat()} to a closed period: date it in an open period or reopen {period.get('periodName')}.",
            )
        if self.config.locked_for(period["internalId"], subsidiary_id):
            raise RecordError(
                PERIOD_CLOSED,
                f"The accounting period {period.get('periodName')} is closed for subsidiary {subsidiary_id}. You cannot "
                f"post a transaction dated {day.isoformat()} to a closed period: date it in an open period or reopen "
                f"{period.get('periodName')} for that subsidiary.",
            )

    def period_of(self, day: date, calendar: str | None = None) -> dict[str, Any] | None:
        """The month period (not a quarter or year) of fiscal calendar ``calendar`` whose start..end holds ``day``."""
        for period in self.store.all("accountingPeriod"):
            if period.get("isQuarter") or period.get("isYear") or not period.get("startDate") or not period.get("endDate"):
                continue
            own = (period.get("fiscalCalendar") or {}).get("internalId")
            if (str(own) if own else None) != calendar:
                continue
            if day_of(period["startDate"]) <= day <= day_of(period["endDate"]):
                return period
        return None

    def _apply_accountingPeriod(self, record, old, targets) -> None:  # noqa: N802
        """Closing a period closes (locks) everything in it; reopening clears the all-locked flag."""
        self._required(record, ("periodName", "Period Name"), ("startDate", "Start Date"), ("endDate", "End Date"))
        if day_of(record["endDate"]) < day_of(record["startDate"]):
            raise RecordError("ILLEGAL_PERIOD_STRUCTURE", "The end date of a period cannot be before its start date.")
        if record.get("closed"):
            record.update(allLocked=True, arLocked=True, apLocked=True)
            record.setdefault("closedOnDate", now_iso())
        else:
            record["closed"] = False
            record["allLocked"] = False
            record.pop("closedOnDate", None)

    # ------------------------------------------------------------------ fulfillment and billing (from a sales order)
    #: sales order statuses a fulfillment or a bill may be created from (NetSuite: "Pending Fulfillment",
    #: "Partially Fulfilled", "Pending Billing/Partially Fulfilled", "Pending Billing")
    _OPEN_ORDER = ("_pendingFulfillment", "_partiallyFulfilled", "_pendingBillingPartFulfilled", "_pendingBilling")

    def source_order(self, record: dict[str, Any], kind: str) -> dict[str, Any]:
        """The sales order a fulfillment or billing document is created from (``createdFrom``); it must exist
        and be open (a cancelled or closed order can be neither fulfilled nor billed)."""
        order = self.created_from(record, "salesOrder", kind)
        if order.get("orderStatus") not in self._OPEN_ORDER:
            raise self._not_initializable(kind, order, "sales order")
        return order

    def created_from(self, record: dict[str, Any], source_type: str, kind: str) -> dict[str, Any]:
        """The ``source_type`` record that ``record`` (a ``kind`` document, NetSuite's lower-case name) is
        created from: ``createdFrom`` is required and normalised in place; a reference to nothing is
        INVALID_INITIALIZE_REF, as NetSuite answers initializing the document from it."""
        self._required(record, ("createdFrom", "Created From"))
        ref = record["createdFrom"]
        try:
            record["createdFrom"], source = self.resolve(source_type, ref, "createdFrom")
        except RecordError:
            key = ref.get("internalId") or ref.get("externalId") if isinstance(ref, dict) else ref
            raise RecordError("INVALID_INITIALIZE_REF", f"You can not initialize {kind}: invalid reference {key}.") from None
        return source

    @staticmethod
    def _not_initializable(kind: str, source: dict[str, Any], what: str) -> RecordError:
        """INVALID_INITIALIZE_REF for a ``kind`` document whose source (a ``what``) is not in a status it can
        be created from."""
        return RecordError(
            "INVALID_INITIALIZE_REF",
            f"You can not initialize {kind}: invalid reference {source['internalId']} (the {what} is {source.get('status')}).",
        )

    @staticmethod
    def order_lines(order: dict[str, Any]) -> dict[int, dict[str, Any]]:
        return {int(line["line"]): line for line in order.get("itemList") or []}

    @staticmethod
    def _by_order_line(lines: list[dict[str, Any]]) -> dict[int, Decimal]:
        out: dict[int, Decimal] = {}
        for line in lines:
            if line.get("orderLine") is not None:
                out[int(line["orderLine"])] = out.get(int(line["orderLine"]), Decimal(0)) + dec(line.get("quantity"))
        return out

    @staticmethod
    def _parties_from(record: dict[str, Any], source: dict[str, Any]) -> str:
        """A document created from ``source`` (a billing document or return authorization from its sales order,
        a receipt or refund document from its return authorization) takes its customer and subsidiary, and its
        currency unless one is sent. Returns the subsidiary's internalId."""
        record["entity"], record["subsidiary"] = source["entity"], source["subsidiary"]
        record.setdefault("currency", source.get("currency"))
        return str(source["subsidiary"]["internalId"])

    def _posting_account(
        self, record: dict[str, Any], kind: str, account_types: tuple[str, ...], subsidiary_id: str, *, required: bool
    ) -> None:
        """The ``account`` a billing or refund document posts to: available to the subsidiary and of one of
        ``account_types`` (INVALID_KEY_OR_REF naming the allowed types otherwise); when absent, asked for if
        ``required`` (an invoice or a refund document: a cash sale may leave it out)."""
        if record.get("account"):
            record["account"], account = self.resolve_for_subsidiary("account", record["account"], "account", subsidiary_id)
            if account.get("acctType") not in account_types:
                raise RecordError(
                    "INVALID_KEY_OR_REF",
                    f"Invalid account reference key {account['internalId']}: a {kind} posts to an account of type "
                    f"{' or '.join(t.lstrip('_') for t in account_types)}, not {str(account.get('acctType')).lstrip('_')}.",
                )
        elif required:
            raise RecordError("USER_ERROR", "Please enter value(s) for: Account")

    def _source_lines(
        self,
        lines: list[dict[str, Any]],
        source_lines: dict[int, dict[str, Any]],
        source: str,
        *,
        items_in_subsidiary: str | None = None,
    ) -> list[dict[str, Any]]:
        """Check and complete the lines of a document created from another transaction (a billing document or
        return authorization from a sales order, a refund document from a return authorization), in place:
        number them (``line``); a line naming an ``orderLine`` must name a line of ``source_lines`` (of the
        ``source``, e.g. "sales order") and takes its item unless it names one; every line needs an item and
        a quantity; ``amount`` defaults to quantity x rate. With ``items_in_subsidiary`` (billing documents)
        each item must be available to that subsidiary and line locations are resolved in it. Returns the
        lines' item records, in line order (for :meth:`_sales_totals`)."""
        if not lines:
            raise RecordError("USER_ERROR", "You must enter at least one line item for this transaction.")
        items = []
        for index, line in enumerate(lines, start=1):
            line["line"] = index
            if line.get("orderLine") is not None:
                if int(line["orderLine"]) not in source_lines:
                    raise RecordError("USER_ERROR", f"Invalid orderLine {line['orderLine']}: the {source} has no such line.")
                line.setdefault("item", source_lines[int(line["orderLine"])]["item"])
            if not line.get("item"):
                raise RecordError("USER_ERROR", "Please enter value(s) for: Item")
            line["item"], item = self.resolve(ITEM_TYPES, line["item"], "item")
            subsidiary_id = items_in_subsidiary
            if subsidiary_id is not None and not self.available_to(item, subsidiary_id):
                raise RecordError("INVALID_KEY_OR_REF", f"Invalid item reference key {item['internalId']} for subsidiary {subsidiary_id}.")
            items.append(item)
            if line.get("quantity") is None:
                raise RecordError("USER_ERROR", "Please enter value(s) for: Quantity")
            quantity, rate = dec(line["quantity"]), dec(line.get("rate"))
            line["amount"] = money(dec(line["amount"]) if line.get("amount") is not None else quantity * rate)
            if subsidiary_id is not None and line.get("location"):
                line["location"] = self.resolve_for_subsidiary("location", line["location"], "location", subsidiary_id)[0]
        return items

    def _order_status(self, order: dict[str, Any]) -> None:
        """NetSuite's sales order status from its lines' fulfilled and billed quantities."""
        lines = [line for line in order.get("itemList") or [] if not line.get("isClosed")]
        if not lines:  # every line closed: NetSuite shows the order Closed
            order["orderStatus"], order["status"] = "_closed", "Closed"
            return
        fulfillable = [line for line in lines if (line.get("item") or {}).get("internalId") and self._is_inventory(line)]
        all_fulfilled = all(dec(line.get("quantityFulfilled")) >= dec(line.get("quantity")) for line in fulfillable)
        any_fulfilled = any(dec(line.get("quantityFulfilled")) > 0 for line in fulfillable)
        all_billed = all(dec(line.get("quantityBilled")) >= dec(line.get("quantity")) for line in lines)
        any_billable = any(dec(line.get("quantityFulfilled")) > dec(line.get("quantityBilled")) for line in fulfillable)
        if all_fulfilled and all_billed:
            order["orderStatus"], order["status"] = "_fullyBilled", "Billed"
        elif all_fulfilled:
            order["orderStatus"], order["status"] = "_pendingBilling", "Pending Billing"
        elif any_fulfilled and any_billable:
            order["orderStatus"], order["status"] = "_pendingBillingPartFulfilled", "Pending Billing/Partially Fulfilled"
        elif any_fulfilled:
            order["orderStatus"], order["status"] = "_partiallyFulfilled", "Partially Fulfilled"
        else:
            order["orderStatus"], order["status"] = "_pendingFulfillment", "Pending Fulfillment"

    def _is_inventory(self, line: dict[str, Any]) -> bool:
        return self.store.get("inventoryItem", internal_id=(line.get("item") or {}).get("internalId")) is not None

    def _apply_itemFulfillment(self, record, old, targets) -> None:  # noqa: N802
        """Lines name their sales order line (``orderLine``); a line is shipped when ``itemReceive`` is not
        false. Quantities never exceed what is left to fulfill; each shipped line takes its units out of its
        location's on-hand (and out of committed), and the order's fulfilled quantities and status move."""
        from sandbox.netsuite import stock

        order = self.source_order(record, "itemfulfillment") if old is None else self.resolve(
            "salesOrder", record["createdFrom"], "createdFrom")[1]
        if old is not None and (old.get("createdFrom") or {}).get("internalId") != order["internalId"]:
            raise RecordError("USER_ERROR", "The created-from transaction of an item fulfillment cannot be changed.")
        record["entity"] = order["entity"]
        subsidiary_id = str(order["subsidiary"]["internalId"])
        order_lines = self.order_lines(order)
        header_location = (order.get("location") or {}).get("internalId")
        kept = []
        for line in record.get("itemList") or []:
            if line.get("itemReceive") is False or dec(line.get("quantity")) == 0:
                continue
            if line.get("orderLine") is None or int(line["orderLine"]) not in order_lines:
                raise RecordError("USER_ERROR", f"Invalid orderLine {line.get('orderLine')}: the sales order has no such line.")
            source = order_lines[int(line["orderLine"])]
            if source.get("isClosed"):
                raise RecordError("USER_ERROR", f"Line {line['orderLine']} of the sales order is closed and cannot be fulfilled.")
            line["item"] = source["item"]
            location = line.get("location") or source.get("location") or ({"internalId": header_location} if header_location else None)
            if self._is_inventory(line):
                if not location:
                    raise RecordError("USER_ERROR", "Please enter value(s) for: Inventory Location")
                line["location"] = self.resolve_for_subsidiary("location", location, "location", subsidiary_id)[0]
            line["itemReceive"] = True
            kept.append(line)
        if not kept:
            raise RecordError("USER_ERROR", "You must have at least one valid line item for this transaction.")
        record["itemList"] = kept
        before = self._by_order_line((old or {}).get("itemList") or [])
        after = self._by_order_line(kept)
        for order_line, source in order_lines.items():
            delta = after.get(order_line, Decimal(0)) - before.get(order_line, Decimal(0))
            if delta == 0:
                continue
            remaining = dec(source.get("quantity")) - dec(source.get("quantityFulfilled"))
            if delta > remaining:
                raise RecordError(
                    "USER_ERROR",
                    f"You can not fulfill more than the remaining quantity of line {order_line} "
                    f"({remaining.normalize()} left, {delta.normalize()} given).",
                )
        changed_at = now_iso()
        committed_before = self._commitments(order)
        for line in kept + [line for line in (old or {}).get("itemList") or [] if int(line["orderLine"]) not in after]:
            order_line = int(line["orderLine"])
            delta = after.get(order_line, Decimal(0)) - before.get(order_line, Decimal(0))
            if delta == 0:
                continue
            before[order_line] = after.get(order_line, Decimal(0))  # each order line moves once
            source = order_lines[order_line]
            source["quantityFulfilled"] = float(dec(source.get("quantityFulfilled")) + delta)
            if line.get("location"):
                stock.move(self.store, line["item"]["internalId"], line["location"]["internalId"], on_hand=-delta, at=changed_at)
        self._order_status(order)
        committed_after = self._commitments(order)
        for key in set(committed_before) | set(committed_after):
            delta = committed_after.get(key, Decimal(0)) - committed_before.get(key, Decimal(0))
            if delta:
                stock.move(self.store, key[0], key[1], committed=delta, at=changed_at)
        self.store.put("salesOrder", order, changed_at)
        record.setdefault("shipStatus", "_shipped")
        record.setdefault("tranId", f"IF{record['internalId']}")
        if not record.get("tranDate"):
            record["tranDate"] = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()

    def _apply_cashSale(self, record, old, targets) -> None:  # noqa: N802
        self._apply_billing(record, old, targets, "cashsale", ("_bank", "_otherCurrentAsset"))
        record.setdefault("undepFunds", False)
        record["status"] = "Deposited" if not record.get("undepFunds") else "Not Deposited"
        record.setdefault("tranId", f"CS{record['internalId']}")

    def _apply_invoice(self, record, old, targets) -> None:  # noqa: N802
        self._apply_billing(record, old, targets, "invoice", ("_accountsReceivable",))
        record["status"] = "Open"
        record["amountRemaining"] = record["total"]
        record.setdefault("tranId", f"INV{record['internalId']}")

    def _apply_billing(self, record, old, targets, kind: str, account_types: tuple[str, ...]) -> None:
        """A cash sale or invoice billed from a sales order: the customer, subsidiary and currency are the
        order's; lines naming an ``orderLine`` bill at most what was fulfilled and not billed yet (inventory
        items) or not billed yet (other items); lines without one are added charges. NetSuite computes the tax
        and totals (:meth:`_sales_totals`). The posting account (``account``) must be of an allowed type:
        an invoice's is an Accounts Receivable account; a cash sale's a bank or other current asset account
        (with "Expand Account Lists")."""
        order = self.source_order(record, kind) if old is None else self.resolve(
            "salesOrder", record["createdFrom"], "createdFrom")[1]
        subsidiary_id = self._parties_from(record, order)
        for field in ("department", "class"):
            if field not in record and order.get(field):
                record[field] = order[field]
        self._posting_account(record, kind, account_types, subsidiary_id, required=kind == "invoice")
        order_lines = self.order_lines(order)
        lines = record.get("itemList") or []
        items = self._source_lines(lines, order_lines, "sales order", items_in_subsidiary=subsidiary_id)
        before = self._by_order_line((old or {}).get("itemList") or [])
        after = self._by_order_line(lines)
        for order_line, quantity in after.items():
            source = order_lines[order_line]
            delta = quantity - before.get(order_line, Decimal(0))
            limit = dec(source.get("quantityFulfilled")) if self._is_inventory(source) else dec(source.get("quantity"))
            if delta > limit - dec(source.get("quantityBilled")):
                raise RecordError(
                    "USER_ERROR",
                    f"You can not bill more than was fulfilled and not billed on line {order_line} "
                    f"({(limit - dec(source.get('quantityBilled'))).normalize()} left, {delta.normalize()} given).",
                )
        self._sales_totals(record, lines, items, subsidiary_id)
        self._check_period(record)
        for order_line in set(before) | set(after):
            delta = after.get(order_line, Decimal(0)) - before.get(order_line, Decimal(0))
            if delta:
                source = order_lines[order_line]
                source["quantityBilled"] = float(dec(source.get("quantityBilled")) + delta)
        self._order_status(order)
        self.store.put("salesOrder", order, now_iso())

    # ------------------------------------------------------------------ returns (from a sales order, then its return authorization)
    #: return authorization statuses items may be received or credited on (approved, not closed)
    _OPEN_RETURN = ("_pendingReceipt", "_partiallyReceived", "_pendingRefundPartReceived", "_pendingRefund")

    def returned_elsewhere(self, order_id: str, exclude: str | None = None) -> dict[int, Decimal]:
        """Units of each sales order line already on other return authorizations of the order."""
        out: dict[int, Decimal] = {}
        for ra in self.store.all("returnAuthorization"):
            if (ra.get("createdFrom") or {}).get("internalId") != str(order_id) or ra.get("internalId") == exclude:
                continue
            for line in ra.get("itemList") or []:
                if line.get("orderLine") is not None and not line.get("isClosed"):
                    out[int(line["orderLine"])] = out.get(int(line["orderLine"]), Decimal(0)) + dec(line.get("quantity"))
        return out

    def _apply_returnAuthorization(self, record, old, targets) -> None:  # noqa: N802
        """A return authorization created from a sales order (``createdFrom``): lines naming an ``orderLine``
        return at most what was billed on that line less what other return authorizations return; lines
        without one are added charges. Customer, subsidiary and currency are the order's; NetSuite computes
        tax and totals. Status: approved (``_pendingReceipt``) unless ``_pendingApproval`` is sent."""
        order = self.created_from(record, "salesOrder", "returnauthorization")
        if old is not None and (old.get("createdFrom") or {}).get("internalId") != order["internalId"]:
            raise RecordError("USER_ERROR", "The created-from transaction of a return authorization cannot be changed.")
        if order.get("orderStatus") in ("_cancelled", "_pendingApproval"):
            raise self._not_initializable("returnauthorization", order, "sales order")
        subsidiary_id = self._parties_from(record, order)
        order_lines = self.order_lines(order)
        lines = record.get("itemList") or []
        items = self._source_lines(lines, order_lines, "sales order")
        old_lines = {int(line["line"]): line for line in (old or {}).get("itemList") or []}
        for line in lines:
            previous = old_lines.get(line["line"], {})
            line["quantityReceived"] = previous.get("quantityReceived", 0.0)
            line["quantityBilled"] = previous.get("quantityBilled", 0.0)
        elsewhere = self.returned_elsewhere(order["internalId"], exclude=record.get("internalId"))
        for order_line, quantity in self._by_order_line(lines).items():
            source = order_lines[order_line]
            left = dec(source.get("quantityBilled")) - elsewhere.get(order_line, Decimal(0))
            if quantity > left:
                raise RecordError(
                    "USER_ERROR",
                    f"You can not return more than was billed and not returned on line {order_line} "
                    f"({left.normalize()} left, {quantity.normalize()} given).",
                )
        self._sales_totals(record, lines, items, subsidiary_id)
        record.setdefault("orderStatus", "_pendingReceipt")
        self._return_status(record)
        record.setdefault("tranId", f"RMA{record['internalId']}")
        if not record.get("tranDate"):
            record["tranDate"] = now_iso()

    def _return_status(self, ra: dict[str, Any]) -> None:
        """NetSuite's return authorization status from its lines' received and credited quantities."""
        if ra.get("orderStatus") in ("_pendingApproval", "_cancelled", "_closed"):
            ra["status"] = {"_pendingApproval": "Pending Approval", "_cancelled": "Cancelled", "_closed": "Closed"}[ra["orderStatus"]]
            return
        lines = [line for line in ra.get("itemList") or [] if not line.get("isClosed") and line.get("orderLine") is not None]
        received = [line for line in lines if self._is_inventory(line)]
        all_received = all(dec(line.get("quantityReceived")) >= dec(line.get("quantity")) for line in received)
        any_received = any(dec(line.get("quantityReceived")) > 0 for line in received)
        all_credited = all(dec(line.get("quantityBilled")) >= dec(line.get("quantity")) for line in lines)
        if all_credited and all_received:
            ra["orderStatus"], ra["status"] = "_refunded", "Refunded"
        elif all_received:
            ra["orderStatus"], ra["status"] = "_pendingRefund", "Pending Refund"
        elif any_received:
            ra["orderStatus"], ra["status"] = "_pendingRefundPartReceived", "Pending Refund/Partially Received"
        else:
            # credited before the units came back (a refund Amazon issued first): still pending receipt
            ra["orderStatus"], ra["status"] = "_pendingReceipt", "Pending Receipt"

    def source_return(self, record: dict[str, Any], kind: str) -> dict[str, Any]:
        """The approved return authorization a receipt or refund document is created from."""
        ra = self.created_from(record, "returnAuthorization", kind)
        if ra.get("orderStatus") not in self._OPEN_RETURN and ra.get("orderStatus") != "_refunded":
            raise self._not_initializable(kind, ra, "return authorization")
        return ra

    def _apply_itemReceipt(self, record, old, targets) -> None:  # noqa: N802
        """An item receipt of a return authorization: lines name the return line (``orderLine``) and receive at
        most what is left to receive, at a location of the subsidiary. ``restock`` (default true) puts the units
        back on hand at that location; ``restock`` false receives them without restocking (no stock moves)."""
        from sandbox.netsuite import stock

        if old is not None:
            raise RecordError("USER_ERROR", "The sandbox does not edit item receipts of return authorizations; delete and receive again.")
        ra = self.source_return(record, "itemreceipt")
        subsidiary_id = self._parties_from(record, ra)
        ra_lines = {int(line["line"]): line for line in ra.get("itemList") or []}
        kept = []
        for line in record.get("itemList") or []:
            if line.get("itemReceive") is False or dec(line.get("quantity")) == 0:
                continue
            if line.get("orderLine") is None or int(line["orderLine"]) not in ra_lines:
                raise RecordError("USER_ERROR", f"Invalid orderLine {line.get('orderLine')}: the return authorization has no such line.")
            source = ra_lines[int(line["orderLine"])]
            line["item"] = source["item"]
            if not self._is_inventory(line):
                raise RecordError("USER_ERROR", f"Line {line['orderLine']} of the return authorization is not an item that can be received.")
            if not line.get("location"):
                raise RecordError("USER_ERROR", "Please enter value(s) for: Location")
            line["location"] = self.resolve_for_subsidiary("location", line["location"], "location", subsidiary_id)[0]
            left = dec(source.get("quantity")) - dec(source.get("quantityReceived"))
            if dec(line["quantity"]) > left:
                raise RecordError("USER_ERROR", f"You can not receive more than the remaining quantity of line {line['orderLine']} "
                                                f"({left.normalize()} left, {dec(line['quantity']).normalize()} given).")
            line["itemReceive"] = True
            line.setdefault("restock", True)
            kept.append(line)
        if not kept:
            raise RecordError("USER_ERROR", "You must have at least one valid line item for this transaction.")
        record["itemList"] = kept
        changed_at = now_iso()
        for line in kept:
            source = ra_lines[int(line["orderLine"])]
            source["quantityReceived"] = float(dec(source.get("quantityReceived")) + dec(line["quantity"]))
            if line["restock"]:
                stock.move(self.store, line["item"]["internalId"], line["location"]["internalId"], on_hand=dec(line["quantity"]), at=changed_at)
        self._return_status(ra)
        self.store.put("returnAuthorization", ra, changed_at)
        record.setdefault("tranId", f"IR{record['internalId']}")
        if not record.get("tranDate"):
            record["tranDate"] = changed_at

    def _apply_cashRefund(self, record, old, targets) -> None:  # noqa: N802
        # NetSuite: "the cash or bank account from which you are refunding this money"; with "Expand Account
        # Lists" an other current asset account too (as for cash sales), never a liability or income account
        self._apply_refund(record, old, "cashrefund", ("_bank", "_otherCurrentAsset"))
        record["status"] = "Refunded"
        record.setdefault("tranId", f"CR{record['internalId']}")

    def _apply_creditMemo(self, record, old, targets) -> None:  # noqa: N802
        """Also ``applyList``: each applied line names an open invoice (``doc``) of the same customer and A/R
        account and an amount no larger than the invoice's amount remaining; the invoices' amount remaining
        drops by it (paid in full: status Paid In Full), the credit memo keeps the rest unapplied."""
        self._apply_refund(record, old, "creditmemo", ("_accountsReceivable",))
        applied = Decimal(0)
        entries = record.get("applyList") or []
        if isinstance(entries, dict):
            entries = entries.get("apply") or []
        kept = []
        for entry in entries:
            if entry.get("apply") is False:
                continue
            invoice = self.store.get("invoice", internal_id=str(entry.get("doc")))
            if invoice is None or (invoice.get("entity") or {}).get("internalId") != (record.get("entity") or {}).get("internalId"):
                raise RecordError("USER_ERROR", f"Invalid apply line: invoice {entry.get('doc')} is not an open invoice of this customer.")
            if (invoice.get("account") or {}).get("internalId") != (record.get("account") or {}).get("internalId"):
                raise RecordError("USER_ERROR", f"Invoice {entry.get('doc')} is on another A/R account than the credit memo.")
            amount = dec(entry.get("amount"))
            if amount <= 0 or amount > dec(invoice.get("amountRemaining")):
                raise RecordError("USER_ERROR", f"You can not apply {amount} to invoice {entry.get('doc')}: "
                                                f"{dec(invoice.get('amountRemaining'))} remains due.")
            kept.append({"doc": int(entry["doc"]), "apply": True, "amount": money(amount), "type": "Invoice"})
            applied += amount
        if applied > dec(record["total"]):
            raise RecordError("USER_ERROR", f"You can not apply more than the credit memo's total ({record['total']}).")
        for entry in kept:
            invoice = self.store.get("invoice", internal_id=str(entry["doc"]))
            invoice["amountRemaining"] = money(dec(invoice.get("amountRemaining")) - dec(entry["amount"]))
            invoice["status"] = "Paid In Full" if not dec(invoice["amountRemaining"]) else "Open"
            self.store.put("invoice", invoice, now_iso())
        record["applyList"] = kept
        record["applied"] = money(applied)
        record["unapplied"] = money(dec(record["total"]) - applied)
        record["amountRemaining"] = record["unapplied"]
        record["status"] = "Fully Applied" if not dec(record["unapplied"]) else "Open"
        record.setdefault("tranId", f"CM{record['internalId']}")

    def _apply_refund(self, record, old, kind: str, account_types: tuple[str, ...]) -> None:
        """A cash refund or credit memo created from a return authorization: lines naming a return line
        (``orderLine``) credit at most what is left to credit on it; other lines are added charges. NetSuite
        computes tax and totals. The ``account`` must be of an allowed type (credit memo: A/R)."""
        if old is not None:
            raise RecordError("USER_ERROR", f"The sandbox does not edit a {kind} created from a return authorization.")
        ra = self.source_return(record, kind)
        subsidiary_id = self._parties_from(record, ra)
        self._posting_account(record, kind, account_types, subsidiary_id, required=True)
        ra_lines = {int(line["line"]): line for line in ra.get("itemList") or []}
        lines = record.get("itemList") or []
        items = self._source_lines(lines, ra_lines, "return authorization")
        credited = self._by_order_line(lines)
        for ra_line, quantity in credited.items():
            source = ra_lines[ra_line]
            left = dec(source.get("quantity")) - dec(source.get("quantityBilled"))
            if quantity > left:
                raise RecordError("USER_ERROR", f"You can not credit more than was authorized and not credited on line {ra_line} "
                                                f"({left.normalize()} left, {quantity.normalize()} given).")
        self._sales_totals(record, lines, items, subsidiary_id)
        self._check_period(record)
        for ra_line, quantity in credited.items():
            source = ra_lines[ra_line]
            source["quantityBilled"] = float(dec(source.get("quantityBilled")) + quantity)
        self._return_status(ra)
        self.store.put("returnAuthorization", ra, now_iso())
        if not record.get("tranDate"):
            record["tranDate"] = now_iso()
