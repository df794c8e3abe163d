"""A user's settings documents: one JSON body per (kind, key), private to that user.

Every query filters on the user id first; there is no way to name another user's document.
"""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Engine, delete, select

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.engine import upsert
from dumont_iac.control_plane.store.tables import documents

FAILOVER_GLOBAL = "failover_global"
FAILOVER_GPU = "failover_gpu"
STANDBY = "standby"
STANDBY_STATE = "standby_state"
"""Written by the standby agent, keyed by GPU id: ``{state, last_sync_at, gpu_failed,
failure_reason, last_failover_at, failovers_last_24h}``; the association itself stays the
deployment's (``STANDBY``), so a redeploy never overwrites what the agent observed."""
RETENTION = "retention"
# Registrations written by deployments (the providers).
WARM_POOL = "warm_pool"
# Runtime state the agents keep per GPU (keyed by logical GPU id).
FAILOVER_STATE = "failover_state"  # a failover in progress, and the last one's outcome
GPU_HEALTH = "gpu_health"  # consecutive failed health checks, and when last checked
WARM_POOL_STATE = "warm_pool_state"
STANDBY_STATE = "standby_state"
STANDBY_COPY = "standby_copy"  # the workspace as last synced to the GPU's CPU standby
HIBERNATION_STATE = "hibernation_state"
GPU_HOLD = "gpu_hold"  # a budget stopped or destroyed the GPU: failover leaves it alone
SNAPSHOT_POLICY = "snapshot_policy"
SNAPSHOT_STATUS = "snapshot_status"  # what the snapshot agent last did, per GPU
HIBERNATION_POLICY = "hibernation_policy"
# HIBERNATION_STATE is {state: awake | paused | hibernated, since, snapshot_key, reason}.
HIBERNATION_IDLE = "hibernation_idle"  # idle since, the contract paused, last error; per GPU
# Written by the budgets agent (key: the budget id; alerts: "<budget id>:<percent>").
BUDGET_SPEND = "budget_spend"
BUDGET_ALERT = "budget_alert"


class Documents:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def get(self, user_id: int, kind: str, key: str = "") -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            return conn.execute(
                select(documents.c.body).where(
                    documents.c.user_id == user_id,
                    documents.c.kind == kind,
                    documents.c.key == key,
                )
            ).scalar()

    def list(self, user_id: int, kind: str) -> dict[str, dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(documents.c.key, documents.c.body)
                .where(documents.c.user_id == user_id, documents.c.kind == kind)
                .order_by(documents.c.key)
            ).all()
        return {row.key: row.body for row in rows}

    def all_of_kind(
        self, kind: str, limit: int = 1_000
    ) -> builtins.list[tuple[int, str, dict[str, Any]]]:
        """``(user_id, key, body)`` of every user's documents of ``kind``: for the agents, which
        act for every user (each action still under that user's GPU lease)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(documents.c.user_id, documents.c.key, documents.c.body)
                .where(documents.c.kind == kind)
                .order_by(documents.c.updated_at)
                .limit(limit)
            ).all()
        return [(row.user_id, row.key, row.body) for row in rows]

    def merge(self, user_id: int, kind: str, key: str, **changes: Any) -> dict[str, Any]:
        """Update some fields of a document (created when absent); the new body."""
        body = {**(self.get(user_id, kind, key) or {}), **changes}
        self.put(user_id, kind, body, key=key)
        return body

    def put(self, user_id: int, kind: str, body: dict[str, Any], key: str = "") -> None:
        values = {
            "user_id": user_id,
            "kind": kind,
            "key": key,
            "body": body,
            "updated_at": self._clock.now(),
        }
        with self._engine.begin() as conn:
            upsert(conn, documents, values, ["user_id", "kind", "key"])

    def delete(self, user_id: int, kind: str, key: str = "") -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(documents).where(
                    documents.c.user_id == user_id,
                    documents.c.kind == kind,
                    documents.c.key == key,
                )
            )
        return bool(result.rowcount)
