"""Faults of one instance that failover reacts to: a crashed container, GPUs another tenant
takes while it is stopped (and gives back), and the GPU utilisation a health check reads."""

from __future__ import annotations

from typing import Any

from dumont_iac.sandbox.marketplace.errors import InvalidArgs, InvalidRequest, NoSuchInstance
from dumont_iac.sandbox.marketplace.lifecycle import HOLDS_GPUS
from dumont_iac.sandbox.marketplace.store.base import StoreBase, operation
from dumont_iac.sandbox.marketplace.store.shapes import (
    GpusTaken,
    InstanceFailed,
    LeasesReleased,
    UtilizationSet,
)

FAILED_MSG = (
    "Error: the container crashed (GPU fault) on machine {m}. This instance will not run "
    "again; destroy it."
)
ENDED = frozenset({"exited", "offline"})


class FaultActions(StoreBase):
    def _any_instance(self, instance_id: int) -> Any:
        row = self._db.execute(
            "SELECT * FROM instances WHERE id = ? AND destroyed_at IS NULL", (instance_id,)
        ).fetchone()
        if row is None:
            raise NoSuchInstance(instance_id)
        return row

    @operation
    def fail_instance(self, instance_id: int) -> InstanceFailed:
        """The instance's GPU faults while the machine stays up: the instance exits for good,
        and its GPUs are out of service (no offer, no restart) until the machine is repaired
        (``release_machine``); the machine's other instances and free GPUs are untouched."""
        row = self._any_instance(instance_id)
        if row["actual"] in ENDED:
            raise InvalidRequest(
                f"Instance {instance_id} is {row['actual']} already; only a live instance can "
                "fail.",
                instance_id=instance_id,
            )
        held = row["num_gpus"] if row["actual"] in HOLDS_GPUS else 0
        self._db.execute(
            "UPDATE instances SET actual = 'exited', intended = 'stopped', since = ?, "
            "status_msg = ? WHERE id = ?",
            (self.now, FAILED_MSG.format(m=row["machine_id"]), instance_id),
        )
        if held:
            self._db.execute(
                "INSERT INTO leases (machine_id, gpu_ids, price, created_at) VALUES (?, ?, 0, ?)",
                (row["machine_id"], row["gpu_ids"], self.now),
            )
        self._refresh_machine(row["machine_id"])
        machine_id = row["machine_id"]
        return {"instance_id": instance_id, "machine_id": machine_id, "gpus_out_of_service": held}

    @operation
    def take_gpus(self, instance_id: int) -> GpusTaken:
        """Another tenant leases enough of the machine's free GPUs that the stopped instance
        no longer fits: starting it then waits ("scheduling") until they are released."""
        row = self._any_instance(instance_id)
        if row["actual"] != "stopped":
            raise InvalidRequest(
                f"Instance {instance_id} is {row['actual']}; GPUs can be taken only from under a "
                "stopped instance (stop it first).",
                instance_id=instance_id,
            )
        machine_id = row["machine_id"]
        free = self._free_gpus(machine_id)
        count = max(0, len(free) - row["num_gpus"] + 1)
        if count:
            taken = ",".join(str(g) for g in free[:count])
            self._db.execute(
                "INSERT INTO leases (machine_id, gpu_ids, price, created_at) VALUES (?, ?, ?, ?)",
                (machine_id, taken, row["price"], self.now),
            )
            self._refresh_machine(machine_id)
        return {"instance_id": instance_id, "machine_id": machine_id, "gpus_taken": count}

    @operation
    def release_machine(self, machine_id: int) -> LeasesReleased:
        """Other tenants leave the machine: every lease on it ends (taken offers, taken GPUs,
        winning bids), and instances waiting for its GPUs start at once."""
        self._machine(machine_id)
        cursor = self._db.execute("DELETE FROM leases WHERE machine_id = ?", (machine_id,))
        self._refresh_machine(machine_id)
        self._schedule_waiting()
        return {"machine_id": machine_id, "released": cursor.rowcount}

    @operation
    def set_utilization(self, instance_id: int, gpu_util: float) -> UtilizationSet:
        """What the instance's GPUs report busy, until it stops or is destroyed."""
        if not 0.0 <= gpu_util <= 100.0:
            raise InvalidArgs(
                f"gpu_util={gpu_util} must be a percentage from 0 to 100.", field="gpu_util"
            )
        row = self._any_instance(instance_id)
        if row["actual"] not in HOLDS_GPUS:
            raise InvalidRequest(
                f"Instance {instance_id} is {row['actual']} and holds no GPUs; start it before "
                "setting its utilisation.",
                instance_id=instance_id,
            )
        self._db.execute(
            "UPDATE instances SET gpu_util = ? WHERE id = ?", (float(gpu_util), instance_id)
        )
        return {"instance_id": instance_id, "gpu_util": float(gpu_util)}
