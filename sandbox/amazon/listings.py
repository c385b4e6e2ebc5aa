"""Listings, feeds and FBA inventory of the SP-API emulator.

- Feeds API 2021-06-30: ``createFeedDocument`` (a presigned S3 URL to PUT the document to),
  ``createFeed``, ``getFeed``, ``getFeedDocument`` (the processing report). ``JSON_LISTINGS_FEED``
  documents are processed as Amazon does: each message is checked against the listings feed schema
  (v2) and applied to the seller's listings; the report has Amazon's processing-report shape
  (``header``, ``issues``, ``summary``; ``schemas/feeds/listings-feed-processing-report-schema-v2.json``).
  A document that is not a listings feed (not JSON, wrong header, more than 25,000 messages) ends the
  feed FATAL with a report whose issues carry no messageId.
- Listings Items API 2021-08-01: ``getListingsItem`` and ``patchListingsItem``; ``putListingsItem``
  (catalog flow): full listings validated against the sandbox's product types
  (``sandbox/amazon/product_types.py``: required attributes, Amazon's issue codes), ``mode=VALIDATION_PREVIEW``
  on put and patch (status VALID/INVALID, nothing stored), the ASIN assigned a moment after acceptance
  (``getListingsItem`` shows it once Amazon's catalog has matched the item), ``UPDATE`` messages in
  ``JSON_LISTINGS_FEED`` documents with the same validation.
- FBA Inventory API v1: ``getInventorySummaries`` (marketplace granularity, paged).
- Reports API: the All Listings Report ``GET_MERCHANT_LISTINGS_ALL_DATA`` (:meth:`Listings.merchant_listings_file`,
  requested through the sandbox's report machinery in ``app.py``), from the same listings state, so a quantity a
  feed or ``patchListingsItem`` set is what the report shows.

Merchant-fulfilled quantity (``fulfillment_availability`` with channel ``DEFAULT``) is one number
per SKU and seller region: the listings live per region here, with a summary per marketplace.

Admin API (README, "The sandbox"): ``GET /_sandbox/listings`` (every listing: ``sku``, ``region``,
``quantity``, channel), ``POST /_sandbox/listings`` (add or replace listings),
``POST /_sandbox/listings/rejections`` (make Amazon reject a SKU's messages with a code and message),
``POST /_sandbox/fba_inventory`` (set FBA fulfillable quantities), ``POST /_sandbox/listings/asin_delay``
(``{"seconds": n}``: how long Amazon takes to assign a new listing's ASIN). A FATAL feed is queued with
``POST /_sandbox/faults {"operation": "createFeed", "fault": "FATAL"}``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.amazon.app import AmazonSandbox
    from sandbox.amazon.limits import Fault

SCHEMA = """
CREATE TABLE IF NOT EXISTS listings (
    region TEXT NOT NULL,
    sku TEXT NOT NULL,
    product_type TEXT NOT NULL,
    channel TEXT NOT NULL,
    quantity INTEGER,
    summaries TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    PRIMARY KEY (region, sku)
);
CREATE TABLE IF NOT EXISTS feed_documents (
    document_id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (
    feed_id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    feed_type TEXT NOT NULL,
    marketplace_ids TEXT NOT NULL,
    input_document_id TEXT NOT NULL,
    created_time TEXT NOT NULL,
    in_progress_at REAL NOT NULL,
    done_at REAL NOT NULL,
    fatal INTEGER NOT NULL DEFAULT 0,
    status TEXT,
    result_document_id TEXT
);
CREATE TABLE IF NOT EXISTS fba_inventory (
    marketplace_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    asin TEXT,
    fulfillable INTEGER NOT NULL,
    updated_time TEXT NOT NULL,
    PRIMARY KEY (marketplace_id, sku)
);
"""
CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS listing_attributes (
    region TEXT NOT NULL,
    sku TEXT NOT NULL,
    attributes TEXT NOT NULL,
    asin TEXT,
    asin_at REAL NOT NULL,
    PRIMARY KEY (region, sku)
);
"""
TABLES = ("listings", "feed_documents", "feeds", "fba_inventory", "listing_attributes")
LISTING_MODES = ("VALIDATION_PREVIEW",)
FEED_TYPES = frozenset({"JSON_LISTINGS_FEED"})
#: Amazon raised the JSON_LISTINGS_FEED limit from 10,000 to 25,000 messages a feed (May 2025 changelog).
MAX_MESSAGES = 25_000
OPERATION_TYPES = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
MFN_CHANNEL = "DEFAULT"
AFN_CHANNELS = {"na": "AMAZON_NA", "eu": "AMAZON_EU", "fe": "AMAZON_JP"}
DOCUMENT_URL_TTL = 300
#: GET_MERCHANT_LISTINGS_ALL_DATA's columns, in Amazon's order (Inventory reports attributes page)
MERCHANT_LISTINGS_COLUMNS = (
    "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date", "image-url",
    "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note", "item-condition", "zshop-category1",
    "zshop-browse-path", "zshop-storefront-feature", "asin1", "asin2", "asin3", "will-ship-internationally",
    "expedited-shipping", "zshop-boldface", "product-id", "bid-for-featured-placement", "add-delete",
    "pending-quantity", "fulfillment-channel", "merchant-shipping-group", "status",
)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Listings:
    """Listings, feeds and FBA inventory state of one emulator (tables in its SQLite file)."""

    def __init__(self, sandbox: AmazonSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store
        with self.store._lock:
            self.store._db.executescript(SCHEMA)
            self.store._db.executescript(CATALOG_SCHEMA)
        #: (region or None, sku) -> (code, message): Amazon's rejection of every message for that SKU.
        self.rejections: dict[tuple[str | None, str], tuple[str, str]] = {}
        #: the marketplaces of the feed being processed (UPDATE messages are validated for them)
        self._feed_marketplaces: list[str] = []
        #: seconds between accepting a new listing and its ASIN (None: the feed processing time);
        #: ``POST /_sandbox/listings/asin_delay {"seconds": n}``
        self.asin_delay: float | None = None

    def reset(self) -> None:
        for table in TABLES:
            self.store.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self.rejections.clear()
        self.asin_delay = None

    # -- seed / admin ---------------------------------------------------------------------------------
    def seed(self, catalog: Any, marketplaces: dict[str, Any], region_of: dict[str, str], seed: int = 0) -> int:
        """One listing per (region, SKU) of the seed catalog, MFN quantity 0 until the inventory flow
        publishes it; FBA SKUs get their Amazon channel and fulfillable units in each marketplace."""
        import random

        rng = random.Random(seed)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for sku in catalog:
            for marketplace_id in marketplaces:
                if sku.marketplaces is not None and marketplace_id not in sku.marketplaces:
                    continue
                region = region_of[marketplace_id]
                entry = rows.setdefault((region, sku.sku), {
                    "sku": sku.sku, "region": region, "productType": _product_type(sku.sku),
                    "fulfillmentChannel": MFN_CHANNEL if sku.channel == "MFN" else AFN_CHANNELS[region],
                    "quantity": 0 if sku.channel == "MFN" else None, "marketplaces": {},
                })
                entry["marketplaces"][marketplace_id] = {"asin": sku.asin, "itemName": sku.title}
                if sku.channel == "AFN":
                    self.set_fba(marketplace_id, sku.sku, rng.randint(0, 80), asin=sku.asin)
        for entry in rows.values():
            self.put_listing(entry)
        return len(rows)

    def put_listing(self, entry: dict[str, Any]) -> None:
        region = entry["region"]
        if region not in AFN_CHANNELS:
            raise ValueError(f"region must be one of {', '.join(AFN_CHANNELS)}")
        if not isinstance(entry.get("sku"), str) or not entry["sku"]:
            raise ValueError("sku is required")
        now = iso(datetime.now(UTC))
        summaries = entry.get("marketplaces") or {}
        quantity = entry.get("quantity")
        if quantity is not None and (not isinstance(quantity, int) or quantity < 0):
            raise ValueError("quantity must be a non-negative integer or null")
        self.store.execute(
            "INSERT OR REPLACE INTO listings (region, sku, product_type, channel, quantity, summaries, updated_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (region, entry["sku"], entry.get("productType") or "PRODUCT", entry.get("fulfillmentChannel") or MFN_CHANNEL,
             quantity, json.dumps(summaries), now))

    def put_listings(self, entries: list[dict[str, Any]]) -> int:
        with self.store._lock:
            self.store._db.execute("BEGIN")
            try:
                for entry in entries:
                    self.put_listing(entry)
                self.store._db.execute("COMMIT")
            except Exception:
                self.store._db.execute("ROLLBACK")
                raise
        return len(entries)

    def all_listings(self, region: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM listings" + (" WHERE region = ?" if region else "") + " ORDER BY region, sku"  # noqa: S608 - fixed text
        return [{"sku": r["sku"], "region": r["region"], "quantity": r["quantity"], "fulfillmentChannel": r["channel"],
                 "productType": r["product_type"], "marketplaceIds": sorted(json.loads(r["summaries"])),
                 "updatedTime": r["updated_time"]}
                for r in self.store.execute(sql, (region,) if region else ())]

    def merchant_listings_file(self, region: str, marketplace_id: str) -> tuple[bytes, str]:
        """The All Listings Report (``GET_MERCHANT_LISTINGS_ALL_DATA``) of one marketplace: Amazon's 29
        tab-separated columns, a row per listing offered there (any status), built from the listings state the
        feeds update. Merchant-fulfilled rows carry channel ``DEFAULT`` and their quantity; FBA rows their Amazon
        channel (``AMAZON_NA``...) and an empty quantity. Encoded as the orders flat files are (``Cp1252`` for an
        EU marketplace, else UTF-8); header only when the seller lists nothing there (the report is CANCELLED)."""
        from sandbox.amazon.regions import MARKETPLACE_REGION

        lines = ["\t".join(MERCHANT_LISTINGS_COLUMNS)]
        for row in self.store.execute("SELECT * FROM listings WHERE region = ? ORDER BY sku", (region,)):
            summaries = json.loads(row["summaries"])
            if marketplace_id not in summaries:
                continue
            summary = summaries[marketplace_id] or {}
            mfn = row["channel"] == MFN_CHANNEL
            quantity = row["quantity"] or 0
            asin = summary.get("asin") or ""
            opened = datetime.fromisoformat(row["updated_time"].replace("Z", "+00:00"))
            values = {
                "item-name": _tsv(summary.get("itemName") or row["sku"]), "listing-id": _listing_id(region, row["sku"]),
                "seller-sku": _tsv(row["sku"]), "quantity": str(quantity) if mfn else "",
                "open-date": opened.strftime("%Y-%m-%d %H:%M:%S UTC"), "item-is-marketplace": "y",
                "product-id-type": "1" if asin else "", "item-condition": "11", "asin1": asin, "product-id": asin,
                "pending-quantity": "0" if mfn else "", "fulfillment-channel": row["channel"],
                "merchant-shipping-group": "Migrated Template" if mfn else "",
                "status": "Active" if not mfn or quantity > 0 else "Inactive",
            }
            lines.append("\t".join(values.get(column, "") for column in MERCHANT_LISTINGS_COLUMNS))
        text = "\n".join(lines) + "\n"
        charset = "Cp1252" if MARKETPLACE_REGION.get(marketplace_id) == "eu" else "UTF-8"
        return text.encode("cp1252" if charset == "Cp1252" else "utf-8", errors="replace"), charset

    def set_fba(self, marketplace_id: str, sku: str, fulfillable: int, *, asin: str | None = None) -> None:
        self.store.execute(
            "INSERT OR REPLACE INTO fba_inventory (marketplace_id, sku, asin, fulfillable, updated_time) VALUES (?, ?, ?, ?, ?)",
            (marketplace_id, sku, asin, int(fulfillable), iso(datetime.now(UTC))))

    def reject(self, sku: str, code: str, message: str, region: str | None = None) -> None:
        self.rejections[(region, sku)] = (code, message)

    def _rejection(self, region: str, sku: str) -> tuple[str, str] | None:
        return self.rejections.get((region, sku)) or self.rejections.get((None, sku))

    # -- Feeds API -------------------------------------------------------------------------------------
    def create_feed_document(self, request: Any, region: str, body: dict) -> tuple[int, Any, int]:
        from sandbox.amazon.app import ApiError

        content_type = body.get("contentType")
        if not isinstance(content_type, str) or not content_type:
            raise ApiError(400, details="contentType is required.")
        document_id = f"amzn1.tortuga.4.{region}.{uuid.uuid4()}.T{self.store.next_number('feed_document', 1000)}"
        self.store.execute("INSERT INTO feed_documents (document_id, region, content_type, content, kind) VALUES (?, ?, ?, NULL, 'input')",
                           (document_id, region, content_type))
        return 201, {"feedDocumentId": document_id, "url": self._url(request, document_id)}, 1

    def _url(self, request: Any, document_id: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return (f"{str(request.base_url).rstrip('/')}/_s3/feeds/{document_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                f"&X-Amz-Date={stamp}&X-Amz-Expires={DOCUMENT_URL_TTL}&X-Amz-Signature={self.sb._sign(document_id, stamp)}")

    def _check_url(self, request: Any, document_id: str) -> Any:
        """The S3 checks of a presigned URL: signature, then expiry; None when valid, else S3's error."""
        import hmac

        from sandbox.amazon.app import _s3_error

        q = request.query_params
        stamp, signature = q.get("X-Amz-Date", ""), q.get("X-Amz-Signature", "")
        if not hmac.compare_digest(self.sb._sign(document_id, stamp), signature):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        issued = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if (datetime.now(UTC) - issued).total_seconds() > int(q.get("X-Amz-Expires", DOCUMENT_URL_TTL)):
            return _s3_error(403, "AccessDenied", "Request has expired")
        return None

    def upload(self, request: Any, document_id: str, content: bytes) -> Any:
        from fastapi.responses import Response

        self.sb.calls["s3PutObject"]["calls"] += 1
        refused = self._check_url(request, document_id)
        if refused is not None:
            return refused
        rows = self.store.execute("SELECT kind FROM feed_documents WHERE document_id = ?", (document_id,))
        if not rows or rows[0]["kind"] != "input":
            from sandbox.amazon.app import _s3_error

            return _s3_error(403, "AccessDenied", "Access Denied")
        self.store.execute("UPDATE feed_documents SET content = ?, content_type = COALESCE(?, content_type) WHERE document_id = ?",
                           (content, request.headers.get("content-type"), document_id))
        return Response(status_code=200, headers={"ETag": f'"{uuid.uuid4().hex}"'})

    def download(self, request: Any, document_id: str) -> Any:
        from fastapi.responses import Response

        self.sb.calls["s3GetObject"]["calls"] += 1
        refused = self._check_url(request, document_id)
        if refused is not None:
            return refused
        rows = self.store.execute("SELECT content, content_type FROM feed_documents WHERE document_id = ?", (document_id,))
        if not rows or rows[0]["content"] is None:
            from sandbox.amazon.app import _s3_error

            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Response(content=bytes(rows[0]["content"]), headers={"Content-Type": rows[0]["content_type"]})

    def create_feed(self, region: str, body: dict, fault: Fault | None) -> tuple[int, Any, int]:
        from sandbox.amazon.app import ApiError, check_marketplaces

        feed_type = body.get("feedType")
        marketplaces = body.get("marketplaceIds")
        document_id = body.get("inputFeedDocumentId")
        if not isinstance(feed_type, str) or not feed_type:
            raise ApiError(400, details="feedType is required.")
        if not isinstance(marketplaces, list) or not marketplaces or len(marketplaces) > 25 \
                or not all(isinstance(m, str) for m in marketplaces):
            raise ApiError(400, details="marketplaceIds must list between 1 and 25 marketplace identifiers.")
        check_marketplaces(region, marketplaces)
        if not isinstance(document_id, str) or not document_id:
            raise ApiError(400, details="inputFeedDocumentId is required.")
        rows = self.store.execute("SELECT region, content FROM feed_documents WHERE document_id = ? AND kind = 'input'",
                                  (document_id,))
        if not rows or rows[0]["region"] != region:
            raise ApiError(400, details=f"Feed document {document_id} was not found.")
        if rows[0]["content"] is None:
            raise ApiError(400, details=f"Feed document {document_id} has no content: upload it to the URL createFeedDocument returned first.")
        feed_id = str(self.store.next_number("feed", 60000000000))
        epoch = time.time()
        queue = self.sb.queue_seconds
        self.store.execute(
            "INSERT INTO feeds (feed_id, region, feed_type, marketplace_ids, input_document_id, created_time, in_progress_at, done_at, fatal) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (feed_id, region, feed_type, json.dumps(marketplaces), document_id, iso(datetime.now(UTC)), epoch + queue,
             epoch + queue + self.sb.progress_seconds, 1 if fault is not None and fault.fault == "FATAL" else 0))
        return 202, {"feedId": feed_id}, 1

    def _feed_row(self, region: str, feed_id: str):
        from sandbox.amazon.app import ApiError

        rows = self.store.execute("SELECT * FROM feeds WHERE feed_id = ?", (feed_id,))
        if not rows or rows[0]["region"] != region:
            raise ApiError(404, message=f"Feed {feed_id} was not found.")
        return rows[0]

    def get_feed(self, region: str, feed_id: str) -> tuple[int, Any, int]:
        row = self._feed_row(region, feed_id)
        now = time.time()
        if row["status"] is None and now >= row["done_at"]:
            self._process(row)
            row = self._feed_row(region, feed_id)
        feed: dict[str, Any] = {"feedId": row["feed_id"], "feedType": row["feed_type"],
                                "marketplaceIds": json.loads(row["marketplace_ids"]), "createdTime": row["created_time"]}
        if row["status"] is not None:
            feed["processingStatus"] = row["status"]
            feed["processingStartTime"] = iso(datetime.fromtimestamp(row["in_progress_at"], UTC))
            feed["processingEndTime"] = iso(datetime.fromtimestamp(row["done_at"], UTC))
            if row["result_document_id"]:
                feed["resultFeedDocumentId"] = row["result_document_id"]
        else:
            feed["processingStatus"] = "IN_QUEUE" if now < row["in_progress_at"] else "IN_PROGRESS"
            if now >= row["in_progress_at"]:
                feed["processingStartTime"] = iso(datetime.fromtimestamp(row["in_progress_at"], UTC))
        return 200, feed, 1

    def get_feed_document(self, request: Any, region: str, document_id: str) -> tuple[int, Any, int]:
        from sandbox.amazon.app import ApiError

        rows = self.store.execute("SELECT region FROM feed_documents WHERE document_id = ?", (document_id,))
        if not rows or rows[0]["region"] != region:
            raise ApiError(404, message=f"Feed document {document_id} was not found.")
        return 200, {"feedDocumentId": document_id, "url": self._url(request, document_id)}, 1

    # -- processing ------------------------------------------------------------------------------------
    def _process(self, row: Any) -> None:
        from sandbox.amazon.app import SELLER_ID

        content = self.store.execute("SELECT content FROM feed_documents WHERE document_id = ?",
                                     (row["input_document_id"],))[0]["content"]
        region = row["region"]
        issues: list[dict[str, Any]] = []
        processed = accepted = invalid = 0
        fatal = bool(row["fatal"])
        if fatal:
            issues.append({"code": "4000001", "severity": "ERROR",
                           "message": "The feed could not be processed because of an internal error. Submit the feed again."})
        document = None
        if not fatal:
            try:
                document = json.loads(bytes(content).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                fatal = True
                issues.append({"code": "4000000", "severity": "ERROR", "message": f"The feed document is not valid JSON: {exc}"})
        self._feed_marketplaces = json.loads(row["marketplace_ids"])
        if document is not None and row["feed_type"] == "JSON_LISTINGS_FEED":
            problem = _header_problem(document, SELLER_ID)
            if problem:
                fatal = True
                issues.append({"code": "4000000", "severity": "ERROR", "message": problem})
            else:
                seen: set[int] = set()
                for message in document["messages"]:
                    processed += 1
                    found = self._apply(region, message, seen)
                    if found:
                        invalid += 1
                        issues.extend(found)
                    else:
                        accepted += 1
        elif document is not None:
            fatal = True
            issues.append({"code": "4000000", "severity": "ERROR",
                           "message": f"Feed type {row['feed_type']} is not processed by the SP-API sandbox."})
        report = {
            "header": {"sellerId": SELLER_ID, "version": "2.0", "feedId": row["feed_id"]},
            "issues": issues,
            "summary": {"errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                        "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                        "messagesProcessed": processed, "messagesAccepted": accepted, "messagesInvalid": invalid},
        }
        result_id = f"amzn1.tortuga.4.{region}.{uuid.uuid4()}.T{self.store.next_number('feed_document', 1000)}"
        self.store.execute("INSERT INTO feed_documents (document_id, region, content_type, content, kind) VALUES (?, ?, ?, ?, 'result')",
                           (result_id, region, "application/json", json.dumps(report).encode()))
        self.store.execute("UPDATE feeds SET status = ?, result_document_id = ? WHERE feed_id = ?",
                           ("FATAL" if fatal else "DONE", result_id, row["feed_id"]))
        self.sb._count(region, "createFeed", "records", processed)

    def _apply(self, region: str, message: Any, seen: set[int]) -> list[dict[str, Any]]:
        """Validate and apply one message; the issues that made it invalid (empty: accepted)."""
        if not isinstance(message, dict):
            return [{"severity": "ERROR", "code": "4000002", "message": "The message is not a JSON object."}]
        message_id, sku = message.get("messageId"), message.get("sku")
        base: dict[str, Any] = {}
        if isinstance(message_id, int) and message_id >= 1:
            base["messageId"] = message_id
        if isinstance(sku, str) and sku:
            base["sku"] = sku

        def issue(code: str, text: str, attribute: str | None = None) -> list[dict[str, Any]]:
            found = {**base, "code": code, "severity": "ERROR", "message": text}
            if attribute:
                found["attributeName"] = attribute
            return [found]

        if "messageId" not in base:
            return issue("4000002", "messageId is required and must be an integer of at least 1.")
        if message_id in seen:
            return issue("4000002", f"messageId {message_id} is used by more than one message; messageId must be unique within a feed.")
        seen.add(message_id)
        if "sku" not in base:
            return issue("4000002", "sku is required.")
        operation = message.get("operationType")
        if operation not in OPERATION_TYPES:
            return issue("4000002", f"operationType must be one of {', '.join(OPERATION_TYPES)}.")
        rejection = self._rejection(region, sku)
        if rejection is not None:
            return issue(*rejection)
        rows = self.store.execute("SELECT * FROM listings WHERE region = ? AND sku = ?", (region, sku))
        if operation == "UPDATE":
            return self._update_message(region, message, base)
        if operation != "PATCH":
            return issue("4000002", f"The sandbox applies PATCH and UPDATE messages only (got {operation}).")
        product_type = message.get("productType")
        if not isinstance(product_type, str) or not product_type:
            return issue("4000002", "productType is required for PATCH.")
        patches = message.get("patches")
        if not isinstance(patches, list) or not patches:
            return issue("4000002", "patches is required for PATCH and must list at least one patch.")
        if not rows:
            return issue("4000003", f"SKU '{sku}' does not exist: a PATCH can update only an existing listing.")
        found = self._check_attribute_patches(region, sku, product_type, patches, self._feed_marketplaces)
        if found:
            return [{**base, **{k: v for k, v in i.items() if k not in ("attributeNames", "categories")},
                     **({"attributeName": i["attributeNames"][0]} if i.get("attributeNames") else {})} for i in found]
        found = self._patch(region, rows[0], product_type, patches, base)
        if not found:
            self._store_attribute_patches(region, sku, patches)
        return found

    def _patch(self, region: str, row: Any, product_type: str, patches: list, base: dict[str, Any]) -> list[dict[str, Any]]:
        quantity: Any = row["quantity"]
        channel = row["channel"]
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
                return [{**base, "code": "4000002", "severity": "ERROR", "message": "Each patch needs op (add, replace, merge or delete) and path."}]
            path = patch.get("path")
            if not isinstance(path, str) or not path.startswith("/attributes/"):
                return [{**base, "code": "4000002", "severity": "ERROR", "message": "A patch path must be /attributes/{attribute name}."}]
            if path != "/attributes/fulfillment_availability":
                continue  # other attributes: accepted, not modelled
            value = patch.get("value")
            if patch["op"] == "delete":
                quantity = None
                continue
            if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
                return [{**base, "code": "99022", "severity": "ERROR", "attributeName": "fulfillment_availability",
                         "message": "The field 'fulfillment_availability' does not have enough values. The required minimum is '1' value(s)."}]
            entry = value[0]
            code = entry.get("fulfillment_channel_code")
            qty = entry.get("quantity")
            if not isinstance(code, str) or not code:
                return [{**base, "code": "90220", "severity": "ERROR", "attributeName": "fulfillment_availability",
                         "message": "'[fulfillment_availability.fulfillment_channel_code]' is required but not supplied."}]
            if code == MFN_CHANNEL and (isinstance(qty, bool) or not isinstance(qty, int) or qty < 0):
                return [{**base, "code": "99010", "severity": "ERROR", "attributeName": "fulfillment_availability",
                         "message": "The value for 'fulfillment_availability.quantity' must be an integer of 0 or more."}]
            # Sending the DEFAULT (merchant) channel to an FBA listing converts it to merchant-fulfilled,
            # as Amazon does: that is why the inventory flow never sends FBA SKUs.
            channel, quantity = code, (qty if code == MFN_CHANNEL else None)
        self.store.execute("UPDATE listings SET quantity = ?, channel = ?, product_type = ?, updated_time = ? WHERE region = ? AND sku = ?",
                           (quantity, channel, product_type, iso(datetime.now(UTC)), region, row["sku"]))
        return []

    # -- Listings Items API ------------------------------------------------------------------------------
    def _check_seller(self, seller_id: str) -> None:
        from sandbox.amazon.app import SELLER_ID, ApiError

        if seller_id != SELLER_ID:
            raise ApiError(403)

    def _marketplaces(self, request: Any, region: str) -> list[str]:
        from sandbox.amazon.app import ApiError, check_marketplaces, query_list

        marketplaces = query_list(request, "marketplaceIds")
        if not marketplaces:
            raise ApiError(400, details="marketplaceIds is required.")
        check_marketplaces(region, marketplaces)
        return marketplaces

    def get_listings_item(self, request: Any, region: str, seller_id: str, sku: str) -> tuple[int, Any, int]:
        from sandbox.amazon.app import ApiError, query_list

        self._check_seller(seller_id)
        marketplaces = self._marketplaces(request, region)
        included = set(query_list(request, "includedData") or ["summaries"])
        self._settle(region, sku)
        rows = self.store.execute("SELECT * FROM listings WHERE region = ? AND sku = ?", (region, sku))
        if not rows:
            raise ApiError(404, message=f"The requested SKU '{sku}' was not found.")
        return 200, self._catalog_view(_item(rows[0], marketplaces, included), region, sku, marketplaces, included), 1

    def patch_listings_item(self, request: Any, region: str, seller_id: str, sku: str, body: dict) -> tuple[int, Any, int]:
        from sandbox.amazon.app import ApiError

        self._check_seller(seller_id)
        self._marketplaces(request, region)
        product_type, patches = body.get("productType"), body.get("patches")
        if not isinstance(product_type, str) or not isinstance(patches, list) or not patches:
            raise ApiError(400, details="productType and patches are required.")
        preview = self._mode(request)
        marketplaces = self._marketplaces(request, region)
        submission = uuid.uuid4().hex
        rejection = self._rejection(region, sku)
        rows = self.store.execute("SELECT * FROM listings WHERE region = ? AND sku = ?", (region, sku))
        if rejection is not None:
            issues = [{"code": rejection[0], "severity": "ERROR", "message": rejection[1], "categories": []}]
        elif not rows:
            issues = [{"code": "4000003", "severity": "ERROR", "categories": [],
                       "message": f"SKU '{sku}' does not exist: a PATCH can update only an existing listing."}]
        else:
            issues = self._check_attribute_patches(region, sku, product_type, patches, marketplaces)
            if not issues and not preview:
                issues = [{k: v for k, v in i.items() if k not in ("messageId", "sku")} | {"categories": []}
                          for i in self._patch(region, rows[0], product_type, patches, {})]
                if not issues:
                    self._store_attribute_patches(region, sku, patches)
        status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
        return 200, {"sku": sku, "status": status, "submissionId": submission, "issues": issues}, 1

    # -- Listings Items API: full listings (catalog flow) ---------------------------------------------------
    def _mode(self, request: Any) -> bool:
        """True for ``mode=VALIDATION_PREVIEW`` (validate, store nothing); 400 for any other mode."""
        from sandbox.amazon.app import ApiError

        mode = request.query_params.get("mode")
        if mode is not None and mode not in LISTING_MODES:
            raise ApiError(400, details=f"Invalid mode '{mode}': the only mode is VALIDATION_PREVIEW.")
        return mode is not None

    @staticmethod
    def _currencies(marketplaces: list[str]) -> dict[str, str]:
        from sandbox.amazon.seed import MARKETPLACES

        return {m: MARKETPLACES[m].currency for m in marketplaces if m in MARKETPLACES}

    def put_listings_item(self, request: Any, region: str, seller_id: str, sku: str, body: dict) -> tuple[int, Any, int]:
        """``putListingsItem``: create or fully replace a listing. A submission Amazon finds invalid is
        answered 200 with status INVALID and its issues, and nothing is created."""
        from sandbox.amazon.app import ApiError

        self._check_seller(seller_id)
        marketplaces = self._marketplaces(request, region)
        preview = self._mode(request)
        product_type, attributes = body.get("productType"), body.get("attributes")
        requirements = body.get("requirements", "LISTING")
        if not isinstance(product_type, str) or not product_type or not isinstance(attributes, dict):
            raise ApiError(400, details="productType and attributes are required.")
        if requirements not in ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"):
            raise ApiError(400, details=f"Invalid requirements '{requirements}'.")
        issues = self._full_listing_issues(region, sku, product_type, attributes, marketplaces, requirements)
        if not issues and not preview:
            self._store_full_listing(region, sku, product_type, attributes, marketplaces)
        status = "INVALID" if issues else ("VALID" if preview else "ACCEPTED")
        return 200, {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex, "issues": issues}, 1

    def delete_listings_item(self, request: Any, region: str, seller_id: str, sku: str) -> tuple[int, Any, int]:
        """``deleteListingsItem``: the listing leaves the request's marketplaces; when none is left the SKU is
        gone (its quantity and attributes too). An unknown SKU is answered INVALID (the model declares no 404)."""
        self._check_seller(seller_id)
        marketplaces = self._marketplaces(request, region)
        rows = self.store.execute("SELECT * FROM listings WHERE region = ? AND sku = ?", (region, sku))
        submission = uuid.uuid4().hex
        if not rows:
            return 200, {"sku": sku, "status": "INVALID", "submissionId": submission,
                         "issues": [{"code": "4000003", "severity": "ERROR", "categories": [],
                                     "message": f"SKU '{sku}' does not exist."}]}, 1
        summaries = {m: v for m, v in json.loads(rows[0]["summaries"]).items() if m not in marketplaces}
        if summaries:
            self.store.execute("UPDATE listings SET summaries = ?, updated_time = ? WHERE region = ? AND sku = ?",
                               (json.dumps(summaries), iso(datetime.now(UTC)), region, sku))
        else:
            self.store.execute("DELETE FROM listings WHERE region = ? AND sku = ?", (region, sku))
            self.store.execute("DELETE FROM listing_attributes WHERE region = ? AND sku = ?", (region, sku))
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []}, 1

    def _full_listing_issues(self, region: str, sku: str, product_type: str, attributes: dict, marketplaces: list[str],
                             requirements: str = "LISTING") -> list[dict[str, Any]]:
        from sandbox.amazon import product_types

        rejection = self._rejection(region, sku)
        if rejection is not None:
            return [{"code": rejection[0], "severity": "ERROR", "message": rejection[1], "categories": []}]
        return product_types.validate(product_type, attributes, self._currencies(marketplaces), requirements)

    def _store_full_listing(self, region: str, sku: str, product_type: str, attributes: dict, marketplaces: list[str]) -> None:
        """An accepted full listing: the listing (quantity and channel kept) and its attributes; the ASIN
        comes a moment later, when Amazon's catalog has matched or created the item."""
        from sandbox.amazon import product_types

        rows = self.store.execute("SELECT * FROM listings WHERE region = ? AND sku = ?", (region, sku))
        old = rows[0] if rows else None
        summaries = json.loads(old["summaries"]) if old is not None else {}
        for m in marketplaces:
            entry = summaries.setdefault(m, {})
            entry["itemName"] = product_types.item_name(attributes, m) or sku
        self.put_listing({"region": region, "sku": sku, "productType": product_type,
                          "fulfillmentChannel": old["channel"] if old is not None else MFN_CHANNEL,
                          "quantity": old["quantity"] if old is not None else 0, "marketplaces": summaries})
        existing = self.store.execute("SELECT asin FROM listing_attributes WHERE region = ? AND sku = ?", (region, sku))
        asin = existing[0]["asin"] if existing else next((s.get("asin") for s in summaries.values() if s.get("asin")), None)
        self.store.execute("INSERT OR REPLACE INTO listing_attributes (region, sku, attributes, asin, asin_at) VALUES (?, ?, ?, ?, ?)",
                           (region, sku, json.dumps(attributes), asin,
                            time.time() + (self.sb.progress_seconds if self.asin_delay is None else self.asin_delay)))

    def _update_message(self, region: str, message: dict, base: dict[str, Any]) -> list[dict[str, Any]]:
        """A feed ``UPDATE`` message: the same validation as ``putListingsItem``; issues carry ``attributeName``
        (singular) as the processing report does."""
        product_type, attributes = message.get("productType"), message.get("attributes")
        if not isinstance(product_type, str) or not product_type or not isinstance(attributes, dict) or not attributes:
            return [{**base, "code": "4000002", "severity": "ERROR", "message": "productType and attributes are required for UPDATE."}]
        marketplaces = self._feed_marketplaces
        found = self._full_listing_issues(region, base["sku"], product_type, attributes, marketplaces,
                                          message.get("requirements", "LISTING"))
        if found:
            return [{**base, **{k: v for k, v in i.items() if k not in ("attributeNames", "categories")},
                     **({"attributeName": i["attributeNames"][0]} if i.get("attributeNames") else {})} for i in found]
        self._store_full_listing(region, base["sku"], product_type, attributes, marketplaces)
        return []

    def _attributes(self, region: str, sku: str) -> dict[str, Any] | None:
        rows = self.store.execute("SELECT attributes FROM listing_attributes WHERE region = ? AND sku = ?", (region, sku))
        return json.loads(rows[0]["attributes"]) if rows else None

    @staticmethod
    def _patched(attributes: dict[str, Any], patches: list) -> dict[str, Any]:
        out = dict(attributes)
        for patch in patches:
            if not isinstance(patch, dict) or not isinstance(patch.get("path"), str):
                continue
            name = patch["path"].removeprefix("/attributes/")
            if patch.get("op") == "delete":
                out.pop(name, None)
            elif name != "fulfillment_availability":
                out[name] = patch.get("value")
        return out

    def _check_attribute_patches(self, region: str, sku: str, product_type: str, patches: list,
                                 marketplaces: list[str]) -> list[dict[str, Any]]:
        """Issues of the listing as the patches would leave it (listings the catalog flow created: their
        attributes are known); [] for listings whose attributes the sandbox does not hold."""
        from sandbox.amazon import product_types

        attributes = self._attributes(region, sku)
        if attributes is None:
            return []
        issues = product_types.validate(product_type, self._patched(attributes, patches), self._currencies(marketplaces))
        return [i for i in issues if i.get("code") != "90220" or any(
            isinstance(p, dict) and p.get("path") == f"/attributes/{i['attributeNames'][0]}" for p in patches)] \
            if issues else []

    def _store_attribute_patches(self, region: str, sku: str, patches: list) -> None:
        attributes = self._attributes(region, sku)
        if attributes is not None:
            self.store.execute("UPDATE listing_attributes SET attributes = ? WHERE region = ? AND sku = ?",
                               (json.dumps(self._patched(attributes, patches)), region, sku))

    def _settle(self, region: str, sku: str) -> None:
        """Assign the ASIN of an accepted listing once its matching time has passed."""
        import hashlib

        rows = self.store.execute("SELECT asin, asin_at FROM listing_attributes WHERE region = ? AND sku = ?", (region, sku))
        if not rows:
            return
        asin = rows[0]["asin"]
        if asin is None:
            if time.time() < rows[0]["asin_at"]:
                return
            asin = "B0" + hashlib.sha1(f"{region}:{sku}".encode()).hexdigest()[:8].upper()  # noqa: S324 - an id, not security
            self.store.execute("UPDATE listing_attributes SET asin = ? WHERE region = ? AND sku = ?", (asin, region, sku))
        listing = self.store.execute("SELECT summaries FROM listings WHERE region = ? AND sku = ?", (region, sku))
        if listing:
            summaries = json.loads(listing[0]["summaries"])
            if any(entry.get("asin") != asin for entry in summaries.values()):
                for entry in summaries.values():
                    entry["asin"] = asin
                self.store.execute("UPDATE listings SET summaries = ? WHERE region = ? AND sku = ?",
                                   (json.dumps(summaries), region, sku))

    def _catalog_view(self, item: dict[str, Any], region: str, sku: str, marketplaces: list[str], included: set[str]) -> dict[str, Any]:
        """``getListingsItem`` for catalog listings: no ``asin`` until assigned, ``attributes`` when asked."""
        for summary in item.get("summaries") or []:
            if summary.get("asin") is None:
                summary.pop("asin", None)
        if "attributes" in included:
            attributes = self._attributes(region, sku)
            if attributes is not None:
                item["attributes"] = attributes
        return item

    # -- FBA Inventory API ------------------------------------------------------------------------------
    def inventory_summaries(self, request: Any, region: str) -> tuple[int, Any, int]:
        from sandbox.amazon.app import ApiError, check_marketplaces, query_list

        q = request.query_params
        if q.get("granularityType") != "Marketplace":
            raise ApiError(400, details="granularityType must be Marketplace.")
        granularity_id = q.get("granularityId")
        marketplaces = query_list(request, "marketplaceIds") or []
        if not granularity_id or len(marketplaces) != 1 or marketplaces[0] != granularity_id:
            raise ApiError(400, details="granularityId and marketplaceIds must name the same single marketplace.")
        check_marketplaces(region, marketplaces)
        skus = query_list(request, "sellerSkus")
        if skus is not None and len(skus) > 50:
            raise ApiError(400, details="sellerSkus accepts at most 50 SKUs.")
        details = q.get("details", "false").lower() == "true"
        offset = 0
        token = q.get("nextToken")
        if token:
            try:
                offset = int(token.split(":", 1)[1])
            except (IndexError, ValueError):
                raise ApiError(400, details="The nextToken is not valid.") from None
        rows = self.store.execute("SELECT * FROM fba_inventory WHERE marketplace_id = ? ORDER BY sku", (granularity_id,))
        if skus is not None:
            rows = [r for r in rows if r["sku"] in set(skus)]
        page = rows[offset:offset + 50]
        summaries = []
        for r in page:
            summary = {"asin": r["asin"] or "", "fnSku": f"X00{abs(hash(r['sku'])) % 10**7:07d}", "sellerSku": r["sku"],
                       "condition": "NewItem", "lastUpdatedTime": r["updated_time"], "productName": r["sku"],
                       "totalQuantity": r["fulfillable"]}
            if details:
                summary["inventoryDetails"] = {"fulfillableQuantity": r["fulfillable"], "inboundWorkingQuantity": 0,
                                               "inboundShippedQuantity": 0, "inboundReceivingQuantity": 0}
            summaries.append(summary)
        body: dict[str, Any] = {"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
                                            "inventorySummaries": summaries}}
        if offset + 50 < len(rows):
            body["pagination"] = {"nextToken": f"fba:{offset + 50}"}
        return 200, body, len(summaries)


def _product_type(sku: str) -> str:
    from pathlib import Path

    # The seed catalog's product types are those of include/mappings/sku_items.csv.
    path = Path(__file__).resolve().parents[2] / "include" / "mappings" / "sku_items.csv"
    try:
        import csv

        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["seller_sku"] == sku and row.get("product_type"):
                    return row["product_type"]
    except OSError:
        pass
    return "PRODUCT"


def _header_problem(document: Any, seller_id: str) -> str | None:
    if not isinstance(document, dict):
        return "The feed document must be a JSON object with header and messages."
    header = document.get("header")
    if not isinstance(header, dict):
        return "The feed document has no header."
    if header.get("sellerId") != seller_id:
        return f"header.sellerId {header.get('sellerId')!r} is not the selling partner that submitted the feed."
    if header.get("version") != "2.0":
        return "header.version must be 2.0."
    messages = document.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The feed document must list at least one message."
    if len(messages) > MAX_MESSAGES:
        return f"The feed has {len(messages)} messages; a JSON_LISTINGS_FEED accepts at most {MAX_MESSAGES}."
    return None


def _item(row: Any, marketplaces: list[str], included: set[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"sku": row["sku"]}
    summaries = json.loads(row["summaries"])
    if "summaries" in included:
        item["summaries"] = [
            {"marketplaceId": m, "asin": summaries[m].get("asin"), "productType": row["product_type"], "conditionType": "new_new",
             "status": ["BUYABLE", "DISCOVERABLE"] if (row["quantity"] or 0) > 0 or row["channel"] != MFN_CHANNEL else ["DISCOVERABLE"],
             "itemName": summaries[m].get("itemName") or row["sku"],
             "createdDate": row["updated_time"], "lastUpdatedDate": row["updated_time"]}
            for m in marketplaces if m in summaries
        ]
    if "fulfillmentAvailability" in included:
        availability: dict[str, Any] = {"fulfillmentChannelCode": row["channel"]}
        if row["quantity"] is not None:
            availability["quantity"] = row["quantity"]
        item["fulfillmentAvailability"] = [availability]
    if "issues" in included:
        item["issues"] = []
    return item


def _tsv(value: str) -> str:
    """A flat-file cell: tabs and line breaks would split the row."""
    return " ".join(str(value).replace("\t", " ").split())


def _listing_id(region: str, sku: str) -> str:
    import hashlib

    digest = hashlib.sha1(f"listing:{region}:{sku}".encode()).hexdigest()  # noqa: S324 - an id, not security
    return f"{int(digest[:10], 16) % 10**10:010d}"[:4] + digest[10:16].upper()
