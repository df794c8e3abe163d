"""A user's budgets: numbered JSON bodies, private to that user."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.tables import budgets


class Budgets:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def create(self, user_id: int, body: dict[str, Any]) -> int:
        now = self._clock.now()
        with self._engine.begin() as conn:
            return conn.execute(
                insert(budgets)
                .values(user_id=user_id, body=body, created_at=now, updated_at=now)
                .returning(budgets.c.id)
            ).scalar_one()

    def list(self, user_id: int) -> dict[int, dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(budgets.c.id, budgets.c.body)
                .where(budgets.c.user_id == user_id)
                .order_by(budgets.c.id)
            ).all()
        return {row.id: row.body for row in rows}

    def all(self) -> builtins.list[tuple[int, int, dict[str, Any]]]:
        """``(user id, budget id, body)`` of every user's budgets, for the budgets agent."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(budgets.c.user_id, budgets.c.id, budgets.c.body).order_by(budgets.c.id)
            ).all()
        return [(row.user_id, row.id, row.body) for row in rows]

    def get(self, user_id: int, budget_id: int) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            return conn.execute(
                select(budgets.c.body).where(
                    budgets.c.user_id == user_id, budgets.c.id == budget_id
                )
            ).scalar()

    def replace(self, user_id: int, budget_id: int, body: dict[str, Any]) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(budgets)
                .where(budgets.c.user_id == user_id, budgets.c.id == budget_id)
                .values(body=body, updated_at=self._clock.now())
            )
        return bool(result.rowcount)

    def delete(self, user_id: int, budget_id: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(budgets).where(budgets.c.user_id == user_id, budgets.c.id == budget_id)
            )
        return bool(result.rowcount)
