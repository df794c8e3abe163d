"""Per-GPU leases in the database: whoever holds a GPU's lease is the only replica acting on it.

``acquire`` is one atomic upsert: it inserts the lease, or takes over a row whose lease has
expired, and bumps the row's token. A live lease is never acquired again, not even by the
replica that holds it: each agent of a replica ticks in its own thread, and a second agent
re-acquiring the GPU would bump the token under the first one (whose outcome would then be
fenced out) and release the lease the first one still acts under. Holding a lease means
the row names you, carries your token and has not expired; ``renew`` extends it and ``release``
ends it. A replica killed mid-action renews no more, so its lease lapses after ``ttl`` seconds
and the next replica to try takes it over, with a higher token that fences the old holder out.

``LeaseKeeper`` renews a held lease from a background thread while a long action runs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import Engine, select, update

from dumont_iac.control_plane.clock import Clock
from dumont_iac.control_plane.store.engine import upsert
from dumont_iac.control_plane.store.tables import leases

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    user_id: int
    gpu_id: str
    holder: str
    token: int
    expires_at: float
    # The holder whose expired lease this one replaced, if any (None: free or our own).
    took_over_from: str | None = None


class Leases:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    def acquire(self, user_id: int, gpu_id: str, holder: str, ttl: float) -> Lease | None:
        """The lease, now held by ``holder``; None while a lease on the GPU is live (another
        replica's, or another agent's of this one)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            before = conn.execute(
                select(leases.c.holder, leases.c.expires_at).where(
                    leases.c.user_id == user_id, leases.c.gpu_id == gpu_id
                )
            ).first()
            token = upsert(
                conn,
                leases,
                {
                    "user_id": user_id,
                    "gpu_id": gpu_id,
                    "holder": holder,
                    "token": 1,
                    "acquired_at": now,
                    "expires_at": now + ttl,
                },
                ["user_id", "gpu_id"],
                where=leases.c.expires_at <= now,
                changes={"token": leases.c.token + 1},
                returning=leases.c.token,
            ).scalar()
        if token is None:
            return None
        # Who held it before only names a takeover; the upsert alone decided who holds it now.
        took_over = before.holder if before is not None and before.holder != holder else None
        return Lease(user_id, gpu_id, holder, token, now + ttl, took_over)

    def renew(self, lease: Lease, ttl: float) -> Lease | None:
        """Extend a lease still held; None when it was lost (expired and taken, or released)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(leases)
                .where(
                    leases.c.user_id == lease.user_id,
                    leases.c.gpu_id == lease.gpu_id,
                    leases.c.holder == lease.holder,
                    leases.c.token == lease.token,
                    leases.c.expires_at > now,
                )
                .values(expires_at=now + ttl)
            ).rowcount
        if not changed:
            return None
        return Lease(lease.user_id, lease.gpu_id, lease.holder, lease.token, now + ttl)

    def release(self, lease: Lease) -> bool:
        """Free the lease now. The row stays (expired), so the next token still counts up."""
        with self._engine.begin() as conn:
            released = conn.execute(
                update(leases)
                .where(
                    leases.c.user_id == lease.user_id,
                    leases.c.gpu_id == lease.gpu_id,
                    leases.c.holder == lease.holder,
                    leases.c.token == lease.token,
                    leases.c.expires_at > self._clock.now(),
                )
                .values(expires_at=self._clock.now())
            ).rowcount
        return bool(released)

    def current(self, user_id: int, gpu_id: str) -> Lease | None:
        """The live lease on a GPU, if any."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(leases).where(
                    leases.c.user_id == user_id,
                    leases.c.gpu_id == gpu_id,
                    leases.c.expires_at > self._clock.now(),
                )
            ).first()
        if row is None:
            return None
        return Lease(row.user_id, row.gpu_id, row.holder, row.token, row.expires_at)


class LeaseKeeper:
    """Renews a lease every ``period`` seconds of the control plane's clock until the block ends.

    The clock is polled in short real-time steps, so a faster clock renews more often in real
    time and the lease never lapses under it. ``lost`` is set when a renewal finds the lease
    gone; ``Actions.finish`` checks the token again in any case.
    """

    POLL_SECONDS = 0.05

    def __init__(self, leases: Leases, lease: Lease, ttl: float, period: float) -> None:
        self._leases = leases
        self.lease = lease
        self._ttl = ttl
        self._period = period
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        clock = self._leases.clock
        renewed_at = clock.now()
        while not self._stop.wait(self.POLL_SECONDS):
            if clock.now() - renewed_at < self._period:
                continue
            try:
                renewed = self._leases.renew(self.lease, self._ttl)
            except Exception:  # a database hiccup: try again soon, the lease may still hold
                log.exception("renewing the lease on %s failed", self.lease.gpu_id)
                continue
            if renewed is None:
                self.lost.set()
                return
            self.lease = renewed
            renewed_at = clock.now()
