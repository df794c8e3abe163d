"""A user's settings documents: one JSON body per (kind, key), private to that user.

Every query filters on the user id first; there is no way to name another user's document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, select

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.engine import upsert
from dumont_iac.control_plane.store.tables import documents

FAILOVER_GLOBAL = "failover_global"
FAILOVER_GPU = "failover_gpu"
STANDBY = "standby"
RETENTION = "retention"
# Written by the budgets agent (key: the budget id; alerts: "<budget id>:<percent>").
BUDGET_SPEND = "budget_spend"
BUDGET_ALERT = "budget_alert"
# A GPU some policy holds stopped or destroyed (key: the GPU id): the failover agent leaves it.
GPU_HOLD = "gpu_hold"


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
