"""Requested actions on GPUs: recorded by the API, claimed and finished by the lease holder.

An action moves ``requested -> running -> succeeded | failed``. A replica claims one only while
it holds the GPU's lease, and finishes it only with the same lease token: a replica that lost its
lease (it stalled past the expiry, and another took over) cannot mark an action done twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.tables import actions, leases

REQUESTED, RUNNING, SUCCEEDED, FAILED = "requested", "running", "succeeded", "failed"
OPEN = (REQUESTED, RUNNING)


@dataclass(frozen=True)
class Action:
    id: int
    user_id: int
    gpu_id: str
    kind: str
    state: str
    attempts: int
    requested_at: float
    started_at: float | None
    finished_at: float | None
    claimed_by: str | None
    result: dict[str, Any] | None
    error: str | None
    request_id: str | None = None

    def public(self) -> dict[str, Any]:
        """The API's view (the user id is the caller's own and stays out)."""
        return {
            "id": self.id,
            "gpu_id": self.gpu_id,
            "kind": self.kind,
            "state": self.state,
            "attempts": self.attempts,
            "requested_at": self.requested_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "executed_by": self.claimed_by,
            "result": self.result,
            "error": self.error,
            "request_id": self.request_id,
        }


class Actions:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def request(
        self, user_id: int, gpu_id: str, kind: str, request_id: str | None = None
    ) -> tuple[Action, bool]:
        """Record a request; returns (the action, whether it is new).

        With a ``request_id`` the user used before, the earlier action is returned instead:
        a client repeating a request whose answer it lost does not request twice.
        """
        if request_id is not None and (found := self._by_request_id(user_id, request_id)):
            return found, False
        try:
            with self._engine.begin() as conn:
                action_id = conn.execute(
                    insert(actions)
                    .values(
                        user_id=user_id,
                        gpu_id=gpu_id,
                        kind=kind,
                        state=REQUESTED,
                        attempts=0,
                        requested_at=self._clock.now(),
                        request_id=request_id,
                    )
                    .returning(actions.c.id)
                ).scalar_one()
        except IntegrityError:
            # The same request id, recorded meanwhile by a concurrent call: that one wins.
            if request_id is None or (found := self._by_request_id(user_id, request_id)) is None:
                raise
            return found, False
        created = self.get(user_id, action_id)
        assert created is not None
        return created, True

    def _by_request_id(self, user_id: int, request_id: str) -> Action | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(actions).where(
                    actions.c.user_id == user_id, actions.c.request_id == request_id
                )
            ).first()
        return Action(**row._asdict()) if row else None

    def get(self, user_id: int, action_id: int) -> Action | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(actions).where(actions.c.user_id == user_id, actions.c.id == action_id)
            ).first()
        return Action(**row._asdict()) if row else None

    def of_gpu(self, user_id: int, gpu_id: str, limit: int = 20) -> list[Action]:
        """The GPU's actions, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(actions)
                .where(actions.c.user_id == user_id, actions.c.gpu_id == gpu_id)
                .order_by(actions.c.id.desc())
                .limit(limit)
            ).all()
        return [Action(**row._asdict()) for row in rows]

    def gpus_with_open_actions(self, limit: int = 100) -> list[tuple[int, str]]:
        """(user, GPU) pairs with work left, oldest request first, skipping GPUs whose lease
        is held and unexpired: another replica is on them."""
        now = self._clock.now()
        held = exists().where(
            and_(
                leases.c.user_id == actions.c.user_id,
                leases.c.gpu_id == actions.c.gpu_id,
                leases.c.expires_at > now,
            )
        )
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(actions.c.user_id, actions.c.gpu_id, actions.c.id)
                .where(actions.c.state.in_(OPEN), ~held)
                .order_by(actions.c.id)
                .limit(limit)
            ).all()
        seen: dict[tuple[int, str], None] = {}
        for row in rows:
            seen.setdefault((row.user_id, row.gpu_id), None)
        return list(seen)

    def claim_next(self, user_id: int, gpu_id: str, holder: str, token: int) -> Action | None:
        """Mark the GPU's oldest open action running for ``holder``, if it still holds the lease
        with ``token``; a running action left by a dead holder is claimed again."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            if not _holds(conn, user_id, gpu_id, holder, token, now):
                return None
            row = conn.execute(
                select(actions.c.id)
                .where(
                    actions.c.user_id == user_id,
                    actions.c.gpu_id == gpu_id,
                    actions.c.state.in_(OPEN),
                )
                .order_by(actions.c.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            conn.execute(
                update(actions)
                .where(actions.c.id == row.id)
                .values(
                    state=RUNNING,
                    attempts=actions.c.attempts + 1,
                    started_at=now,
                    claimed_by=holder,
                )
            )
        return self.get(user_id, row.id)

    def finish(
        self,
        action: Action,
        holder: str,
        token: int,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Record the outcome; False (and nothing changed) when the lease was lost meanwhile."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            if not _holds(conn, action.user_id, action.gpu_id, holder, token, now):
                return False
            changed = conn.execute(
                update(actions)
                .where(
                    actions.c.id == action.id,
                    actions.c.state == RUNNING,
                    actions.c.claimed_by == holder,
                )
                .values(
                    state=FAILED if error else SUCCEEDED,
                    finished_at=now,
                    result=result,
                    error=error,
                )
            ).rowcount
        return bool(changed)


def _holds(conn: Any, user_id: int, gpu_id: str, holder: str, token: int, now: float) -> bool:
    return (
        conn.execute(
            select(leases.c.token).where(
                leases.c.user_id == user_id,
                leases.c.gpu_id == gpu_id,
                leases.c.holder == holder,
                leases.c.token == token,
                leases.c.expires_at > now,
            )
        ).first()
        is not None
    )
