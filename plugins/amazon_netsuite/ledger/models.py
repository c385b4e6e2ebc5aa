"""Tables of the sync ledger (SQLAlchemy Core, SQLite and PostgreSQL alike)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

STATUS_SYNCED = "synced"
STATUS_FAILED = "failed"
STATUS_PENDING = "pending"
STATUS_SKIPPED = "skipped"
STATUSES = (STATUS_SYNCED, STATUS_FAILED, STATUS_PENDING, STATUS_SKIPPED)

# One row per (flow, target record type, source record): the record's whole sync history in one place.
sync_records = sa.Table(
    "an_sync_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # "{dag_id}:{record_type}:{source_key}" — what on-call pastes into `ledger show` and replay `keys`
    sa.Column("key", sa.String(400), nullable=False, unique=True),
    sa.Column("dag_id", sa.String(250), nullable=False),
    sa.Column("record_type", sa.String(100), nullable=False),
    sa.Column("source_key", sa.String(250), nullable=False),
    sa.Column("external_id", sa.String(250)),
    sa.Column("internal_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.String(64)),  # short machine-readable cause: unknown_sku, netsuite_error, ...
    sa.Column("last_error", sa.Text),
    sa.Column("replay", sa.JSON),  # ids the flow needs to re-read and re-run the record; never PII
    sa.Column("payload", sa.Text),  # Fernet token of a JSON payload, when ids are not enough
    sa.Column("payload_expires_at", sa.DateTime(timezone=True)),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("run_id", sa.String(250)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("synced_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"status IN {STATUSES!r}", name="an_sync_records_status"),
)
sa.Index("ix_an_sync_records_status_dag", sync_records.c.status, sync_records.c.dag_id)
sa.Index("ix_an_sync_records_run", sync_records.c.dag_id, sync_records.c.run_id)
sa.Index("ix_an_sync_records_payload_expiry", sync_records.c.payload_expires_at)

# What was last pushed to Amazon per (marketplace, SKU), so inventory pushes only what changed.
pushed_state = sa.Table(
    "an_pushed_state",
    metadata,
    sa.Column("marketplace_id", sa.String(32), primary_key=True),
    sa.Column("seller_sku", sa.String(100), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("dag_id", sa.String(250)),
    sa.Column("run_id", sa.String(250)),
    sa.Column("feed_id", sa.String(64)),
    sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
)

# How far each flow has read its source, per scope (a region's connection): scheduled runs read from
# here (minus an overlap) to now, so downtime is covered by one run and no catch-up is needed.
watermarks = sa.Table(
    "an_watermarks",
    metadata,
    sa.Column("dag_id", sa.String(250), primary_key=True),
    sa.Column("scope", sa.String(250), primary_key=True),
    sa.Column("high_water", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(250)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Amazon buyer -> NetSuite customer, filled by every customer write and by adoption, so matching a
# batch's buyers costs one getList, not a search per buyer. ``customer_key`` is the customer's
# deterministic externalId (``AMZ-CU-{marketplace}-{hash of the buyer's e-mail}``): no PII.
customer_index = sa.Table(
    "an_customer_index",
    metadata,
    sa.Column("customer_key", sa.String(250), primary_key=True),
    sa.Column("internal_id", sa.String(64), nullable=False),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("source", sa.String(16), nullable=False),  # created | found | adopted
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Last known NetSuite stock per (item, location), kept by the inventory flow: getItemAvailability is read
# filtered by lastQtyAvailableChange, so a quiet run reads almost nothing; the rest comes from here.
item_stock = sa.Table(
    "an_item_stock",
    metadata,
    sa.Column("item_id", sa.String(64), primary_key=True),
    sa.Column("location_id", sa.String(64), primary_key=True),
    sa.Column("available", sa.String(40), nullable=False),  # a Decimal as text: exact on SQLite and PostgreSQL
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Whether each mapped NetSuite item exists and is active (an inactive or deleted item publishes 0).
item_state = sa.Table(
    "an_item_state",
    metadata,
    sa.Column("item_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # active | inactive | missing
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
