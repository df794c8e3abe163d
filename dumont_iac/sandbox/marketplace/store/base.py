"""The store's foundation: the database, catching up with the clock, and GPU accounting.

``operation`` wraps every public store method: take the process-wide lock, catch up with the
clock (``_tick``: lifecycle steps, billing, stopped instances waiting for GPUs; committed on
its own), then run the method in one transaction. A machine's offers are rebuilt from its free
GPUs and disk (``_refresh_machine``) whenever either changes.

Opening a file applies the migrations it lacks (``schema.MIGRATIONS``, through ``core.db``);
a new file is seeded with the market in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from dumont_iac.sandbox.core import db
from dumont_iac.sandbox.core.clock import Clock
from dumont_iac.sandbox.marketplace.errors import InsufficientBalance, InvalidArgs, NoSuchAsk
from dumont_iac.sandbox.marketplace.lifecycle import HOLDS_GPUS, Live, advance, loading_seconds
from dumont_iac.sandbox.marketplace.market import (
    HOURS_PER_MONTH,
    SLICE_SIZES,
    generate_machines,
    offer_row,
    volume_offer_row,
)
from dumont_iac.sandbox.marketplace.store import schema
from dumont_iac.sandbox.marketplace.store.shapes import Counts
from dumont_iac.sandbox.settings import SandboxSettings

# One lock for every store in the process: SQLite allows one writer, and a store's connection
# is shared by the server's threads.
PROCESS_LOCK = threading.RLock()
SCHEDULING_MSG = (
    "Scheduling: waiting for {n} GPU(s) on machine {m} to become free; the instance starts "
    "when they do."
)
OUTBID_MSG = (
    "Stopped: outbid by a higher bid (${price:.4f}/h). The data is kept; raise the bid above "
    "it to resume."
)
OFFLINE_MSG = "Error: machine {m} went offline. This instance will not come back; destroy it."

T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S", bound="StoreBase")


MAX_ID = 2**63 - 1  # SQLite integers are 64-bit


def operation(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Lock, catch up with the clock (committed on its own), then run in one transaction."""
    parameters = list(inspect.signature(method).parameters)[1:]  # after self

    @functools.wraps(method)
    def run(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        for name, value in [*zip(parameters, args, strict=False), *kwargs.items()]:
            if name.endswith("_id") and isinstance(value, int) and not 0 <= value <= MAX_ID:
                raise InvalidArgs(
                    f"{name}={value} is not an id: ids are whole numbers from 0 to {MAX_ID}.",
                    field=name,
                )
        with PROCESS_LOCK:
            self._tick()
            with self._transaction():
                return method(self, *args, **kwargs)

    return run


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


class StoreBase:
    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        if settings.machines < 1:
            raise ValueError(f"machines must be >= 1, got {settings.machines}")
        self.settings = settings
        self.clock = clock
        self._db = db.connect(settings.db_path)
        self._attrs: dict[int, dict[str, Any]] = {}
        self.now = clock.now()
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        """Bring the file's tables up to date (seeding a new one) and the clock up to the file."""
        with PROCESS_LOCK, self._transaction():
            migrated = db.migrate(self._db, schema.MIGRATIONS, self.settings.db_path)
            if migrated.from_version == 0:
                self._seed(self.now)
            last = self._meta("last_tick")
            if last is not None and float(last) > self.clock.now():
                # Sandbox time never runs backwards across a restart.
                self.clock.advance(float(last) - self.clock.now())
            if self.user_for_key(self.settings.api_key) is None:
                self._create_user(self.settings.api_key, self.settings.starting_credit)

    def close(self) -> None:
        with PROCESS_LOCK:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._db.in_transaction:  # nested: the outer transaction decides
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _dicts(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows as plain dicts, built from tuples: several times faster than sqlite3.Row for
        the thousands of rows a large search returns."""
        cursor = self._db.cursor()
        cursor.row_factory = None
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _seed(self, now: float) -> None:
        machines = generate_machines(self.settings.seed, self.settings.machines, now)
        self._db.executemany(
            "INSERT INTO machines (id, num_gpus, disk_total, attrs) VALUES (?, ?, ?, ?)",
            [(m["machine_id"], m["num_gpus"], m["disk_space"], json.dumps(m)) for m in machines],
        )
        offers, volume_offers = [], []
        for machine in machines:
            gpus = list(range(machine["num_gpus"]))
            for size in SLICE_SIZES:
                if size <= len(gpus):
                    offers.append(offer_row(machine, gpus[:size], machine["disk_space"]))
            volume_offers.append(volume_offer_row(machine, machine["disk_space"]))
        db.insert_rows(self._db, "offers", offers)
        db.insert_rows(self._db, "volume_offers", volume_offers)
        self._set_meta("seed", str(self.settings.seed))
        self._set_meta("last_tick", repr(now))

    def _machine(self, machine_id: int) -> dict[str, Any]:
        attrs = self._attrs.get(machine_id)
        if attrs is None:
            row = self._db.execute(
                "SELECT attrs FROM machines WHERE id = ?", (machine_id,)
            ).fetchone()
            if row is None:
                raise InvalidArgs(
                    f"No machine with id {machine_id}.", status=404, machine_id=machine_id
                )
            attrs = self._attrs[machine_id] = json.loads(row["attrs"])
        return attrs

    def _failed(self, machine_id: int) -> bool:
        row = self._db.execute("SELECT failed FROM machines WHERE id = ?", (machine_id,)).fetchone()
        return bool(row["failed"])

    def _free_gpus(self, machine_id: int) -> list[int]:
        held: set[int] = set()
        marks = ", ".join("?" for _ in HOLDS_GPUS)
        for row in self._db.execute(
            f"SELECT gpu_ids FROM instances WHERE machine_id = ? AND destroyed_at IS NULL "
            f"AND actual IN ({marks})",
            (machine_id, *HOLDS_GPUS),
        ):
            held.update(_ids(row["gpu_ids"]))
        for row in self._db.execute(
            "SELECT gpu_ids FROM leases WHERE machine_id = ?", (machine_id,)
        ):
            held.update(_ids(row["gpu_ids"]))
        return [g for g in range(self._machine(machine_id)["num_gpus"]) if g not in held]

    def _free_disk(self, machine_id: int) -> float:
        used = self._db.execute(
            "SELECT COALESCE((SELECT SUM(disk) FROM instances WHERE machine_id = ?1 "
            "AND destroyed_at IS NULL), 0) + COALESCE((SELECT SUM(size) FROM volumes "
            "WHERE machine_id = ?1 AND deleted_at IS NULL), 0) AS used",
            (machine_id,),
        ).fetchone()["used"]
        return max(0.0, self._machine(machine_id)["disk_space"] - used)

    def _refresh_machine(self, machine_id: int) -> None:
        """Withdraw the machine's offers and offer what is free now, under fresh ids."""
        attrs = self._machine(machine_id)
        self._db.execute("DELETE FROM offers WHERE machine_id = ?", (machine_id,))
        if self._failed(machine_id):
            self._db.execute("DELETE FROM volume_offers WHERE machine_id = ?", (machine_id,))
            return
        free, disk = self._free_gpus(machine_id), self._free_disk(machine_id)
        db.insert_rows(
            self._db,
            "offers",
            [offer_row(attrs, free[:size], disk) for size in SLICE_SIZES if size <= len(free)],
        )
        updated = self._db.execute(
            "UPDATE volume_offers SET disk_space = ? WHERE machine_id = ?",
            (round(disk, 1), machine_id),
        )
        if updated.rowcount == 0:
            db.insert_row(self._db, "volume_offers", volume_offer_row(attrs, disk))

    def _tick(self) -> float:
        """Bring everything up to the clock's present; committed on its own."""
        now = self.clock.now()
        with self._transaction():
            last = float(self._meta("last_tick") or now)
            if now <= last:
                self.now = last
                return last
            live = [self._live(row) for row in self._db.execute(
                "SELECT * FROM instances WHERE destroyed_at IS NULL AND actual != 'offline'"
            )]  # fmt: skip
            volume_rates = {
                row["user_id"]: row["rate"]
                for row in self._db.execute(
                    "SELECT user_id, SUM(size * storage_cost) / ? AS rate FROM volumes "
                    "WHERE deleted_at IS NULL GROUP BY user_id",
                    (HOURS_PER_MONTH,),
                )
            }
            if live or volume_rates:
                credits = {
                    r["id"]: r["credit"] for r in self._db.execute("SELECT id, credit FROM users")
                }
                outcome = advance(live, volume_rates, credits, last, now)
                self._db.executemany(
                    "UPDATE users SET credit = ? WHERE id = ?",
                    [(credits[user], user) for user in outcome.charges],
                )
                released = self._write_back([i for i in live if i.changed])
                for machine_id in released:
                    self._refresh_machine(machine_id)
            self.now = now
            self._schedule_waiting()
            self._set_meta("last_tick", repr(now))
        return now

    @staticmethod
    def _live(row: Any) -> Live:
        return Live(
            id=row["id"],
            user_id=row["user_id"],
            actual=row["actual"],
            intended=row["intended"],
            since=row["since"],
            gpu_rate=row["price"],
            storage_rate=row["disk"] * row["storage_cost"] / HOURS_PER_MONTH,
            loading_seconds=row["loading_seconds"],
            status_msg=row["status_msg"],
        )

    def _write_back(self, changed: list[Live]) -> set[int]:
        """Persist lifecycle changes; the machines whose GPUs were released."""
        released: set[int] = set()
        for live in changed:
            machine_id = self._db.execute(
                "SELECT machine_id FROM instances WHERE id = ?", (live.id,)
            ).fetchone()["machine_id"]
            self._db.execute(
                "UPDATE instances SET actual = ?, intended = ?, since = ?, status_msg = ?, "
                "running_since = CASE WHEN ? = 'running' THEN ? ELSE running_since END "
                "WHERE id = ?",
                (live.actual, live.intended, live.since, live.status_msg, live.actual,
                 live.since, live.id),
            )  # fmt: skip
            if live.actual not in HOLDS_GPUS:
                released.add(machine_id)
        return released

    def _schedule_waiting(self) -> None:
        """Stopped instances whose renter wants them running take free GPUs when there are."""
        waiting = self._db.execute(
            "SELECT i.* FROM instances i JOIN machines m ON m.id = i.machine_id "
            "WHERE i.destroyed_at IS NULL AND i.actual = 'stopped' AND i.intended = 'running' "
            "AND m.failed = 0 AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.instance_id = i.id) "
            "ORDER BY i.since, i.id"
        ).fetchall()
        for row in waiting:
            self._try_start(row)

    def _try_start(self, row: Any) -> bool:
        free = self._free_gpus(row["machine_id"])
        if len(free) < row["num_gpus"]:
            msg = SCHEDULING_MSG.format(n=row["num_gpus"], m=row["machine_id"])
            self._db.execute("UPDATE instances SET status_msg = ? WHERE id = ?", (msg, row["id"]))
            return False
        gpus = ",".join(str(g) for g in free[: row["num_gpus"]])
        seconds = loading_seconds(row["image"], row["id"], restart=True)
        self._db.execute(
            "UPDATE instances SET actual = 'loading', since = ?, gpu_ids = ?, "
            "loading_seconds = ?, status_msg = ? WHERE id = ?",
            (self.now, gpus, seconds, "Starting: loading the container.", row["id"]),
        )
        self._refresh_machine(row["machine_id"])
        return True

    def _lease_of(self, instance_id: int) -> Any:
        return self._db.execute(
            "SELECT * FROM leases WHERE instance_id = ?", (instance_id,)
        ).fetchone()

    def user_for_key(self, key: str) -> int | None:
        with PROCESS_LOCK:
            row = self._db.execute(
                "SELECT id FROM users WHERE key_hash = ?", (_hash_key(key),)
            ).fetchone()
        return None if row is None else row["id"]

    def create_user(self, key: str, credit: float) -> int:
        with PROCESS_LOCK, self._transaction():
            return self._create_user(key, credit)

    def _create_user(self, key: str, credit: float) -> int:
        if not key:
            raise InvalidArgs("api_key must not be empty.", field="api_key")
        if self.user_for_key(key) is not None:
            raise InvalidArgs("That api_key already belongs to a user.", field="api_key")
        cursor = self._db.execute(
            "INSERT INTO users (key_hash, email, credit, created_at) VALUES (?, '', ?, ?)",
            (_hash_key(key), float(credit), self.clock.now()),
        )
        user_id = cursor.lastrowid
        assert user_id is not None
        self._db.execute(
            "UPDATE users SET email = ? WHERE id = ?", (f"user{user_id}@sandbox.invalid", user_id)
        )
        return user_id

    def _require_credit(self, user_id: int, hourly: float) -> None:
        credit = self._db.execute("SELECT credit FROM users WHERE id = ?", (user_id,)).fetchone()[0]
        if credit <= 0 or credit < hourly:
            raise InsufficientBalance(
                f"Your credit (${credit:.2f}) does not cover one hour of this rental "
                f"(${hourly:.4f}/h). Add credit first.",
                credit=credit,
            )

    def _new_volume(
        self, user_id: int, offer_id: int, size: float, name: str | None, reserved: float = 0.0
    ) -> int:
        offer = self._db.execute("SELECT * FROM volume_offers WHERE id = ?", (offer_id,)).fetchone()
        if offer is None:
            raise NoSuchAsk(offer_id)
        free = self._free_disk(offer["machine_id"]) - reserved
        if size > free:
            raise InvalidArgs(
                f"size={size:g} GB is more than the {max(free, 0):g} GB free on machine "
                f"{offer['machine_id']} (volume offer {offer_id}).",
                field="size",
            )
        self._require_credit(user_id, size * offer["storage_cost"] / HOURS_PER_MONTH)
        volume_id = db.insert_row(self._db, "volumes", {
            "user_id": user_id, "machine_id": offer["machine_id"], "size": size, "name": name,
            "storage_cost": offer["storage_cost"], "created_at": self.now,
        })  # fmt: skip
        self._refresh_machine(offer["machine_id"])
        return volume_id

    def snapshot_counts(self) -> Counts:
        with PROCESS_LOCK:
            count = lambda sql: self._db.execute(sql).fetchone()[0]  # noqa: E731
            return {
                "machines": count("SELECT COUNT(*) FROM machines"),
                "offers": count("SELECT COUNT(*) FROM offers"),
                "instances": count("SELECT COUNT(*) FROM instances WHERE destroyed_at IS NULL"),
                "volumes": count("SELECT COUNT(*) FROM volumes WHERE deleted_at IS NULL"),
            }
