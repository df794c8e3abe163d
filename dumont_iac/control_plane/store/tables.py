"""The control plane's tables, as the code reads them today.

Migrations (``migrations/versions``) create and change the real schema; a test checks that a
migrated database matches these definitions, so the two never drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

# Keys are random (32 bytes from ``secrets``), so a plain SHA-256 of each is enough: there is
# nothing to brute-force, and lookups stay one indexed equality.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    # Set when the key is rotated out: refused from then on.
    Column("expires_at", Float, nullable=True),
)

# A user's settings: one JSON document per (kind, key), validated by its pydantic model on the
# way in and out. kind: failover_global, failover_gpu, standby, retention.
documents = Table(
    "documents",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

budgets = Table(
    "budgets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_budgets_user", "user_id"),
)

# Requested actions on a GPU; the replica holding the GPU's lease executes each one.
actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("gpu_id", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    # requested -> running -> succeeded | failed
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("requested_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("claimed_by", String(200), nullable=True),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    # Chosen by the client (optional): repeating a request with the same id finds the first.
    Column("request_id", String(100), nullable=True),
    Index("ix_actions_pending", "state", "user_id", "gpu_id"),
    Index("ux_actions_request_id", "user_id", "request_id", unique=True),
)

leases = Table(
    "leases",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("gpu_id", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    # Grows by one at each acquisition: a fencing token that tells a holder it lost the lease.
    Column("token", Integer, nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=True),
    Column("gpu_id", String(200), nullable=True),
    Column("kind", String(60), nullable=False),
    Column("message", Text, nullable=False),
    Column("replica", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Column("duration_ms", Float, nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_events_user_at", "user_id", "at"),
)

# A user's webhook endpoints. The secret signs deliveries, so it is kept as it is (a hash could
# not sign); it is shown once, in the answer that creates the webhook, and never again.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    # The webhook event kinds wanted; empty: every kind.
    Column("kinds", JSON, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_webhooks_user", "user_id"),
)
