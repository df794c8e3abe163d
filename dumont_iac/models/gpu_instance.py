"""Arguments and outputs of ``GpuInstance``: one rented GPU machine, declared by what it must
satisfy, not by offer id. What to rent and how to choose among offers come from
``GpuConstraints`` (shared with ``GpuFleet``); this model adds what is particular to one
machine. Imported by the program side (``dumont_iac.resources``) and the engine side
(``dumont_iac.provider``) alike.

The provider picks the cheapest live offer that satisfies every constraint (of the first GPU
model in ``gpu_models`` that has one). The resource id is a logical id that survives failover,
hibernation and wake (the marketplace contract id changes each time and is the ``contract_id``
output).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from dumont_iac.models.gpu_constraints import MAX_USER_LABEL, NEVER_RUNS_AGAIN, GpuConstraints
from dumont_iac.schema import arg, computed

__all__ = ["MAX_USER_LABEL", "NEVER_RUNS_AGAIN", "GpuInstanceArgs"]


class GpuInstanceArgs(GpuConstraints):
    """Arguments and outputs of a GPU instance."""

    resource_name: ClassVar[str] = "GpuInstance"
    # The old rental goes before the new one is rented: one declaration never bills two GPUs,
    # and a forced replacement (same arguments, so the same logical id) cannot adopt the rental
    # that its own delete step is about to destroy.
    delete_before_replace: ClassVar[bool] = True

    # Taken into account at create only.
    adopt_instance_id: int | None = arg(
        None,
        ge=1,
        description="Take over this existing rental at create instead of renting a new one.",
    )
    # Changed on the live rental (so are label and bid_price).
    desired_state: Literal["running", "stopped"] = arg(
        "running", description="Keep the instance running, or stopped (only storage bills)."
    )

    # Computed by the provider.
    logical_id: str | None = computed(description="Stable id: the resource id.")
    contract_id: int | None = computed(description="Current marketplace contract (instance) id.")
    machine_id: int | None = computed(description="Marketplace machine id.")
    gpu_name: str | None = computed(description="GPU model rented.")
    num_gpus: int | None = computed(description="GPUs rented.")
    vram_gb: float | None = computed(description="VRAM per GPU, GB.")
    price_per_hour: float | None = computed(description="What the rental costs per hour, $.")
    status: str | None = computed(
        description="running, loading, stopped, offline ...: offline and exited rentals never "
        "run again, and the next deploy after a refresh replaces them."
    )
    outbid_by: float | None = computed(
        description="Set while an interruptible GPU is outbid (stopped, keeping its data): the "
        "bid that took its machine, $/h; a bid_price above it wins the GPU back."
    )
    status_message: str | None = computed(description="The marketplace's status message.")
    ssh_host: str | None = computed(description="SSH host.")
    ssh_port: int | None = computed(description="SSH port.")
    ssh_command: str | None = computed(description="Ready-to-paste SSH command.")
    public_ip: str | None = computed(description="Public IP address of the machine.")
    region: str | None = computed(description='Where the machine is, "City, CC".')

    @classmethod
    def warnings(cls, outputs: Mapping[str, Any]) -> list[str]:
        name = outputs.get("logical_name") or outputs.get("logical_id")
        status, winning = outputs.get("status"), outputs.get("outbid_by")
        if winning is not None:
            return [
                f"GPU {name} was outbid: it is stopped and keeps its data; a bid_price above "
                f"{winning:g} $/h wins it back."
            ]
        if status in NEVER_RUNS_AGAIN:
            return [
                f"GPU {name}: contract {outputs.get('contract_id')} is {status} and will never "
                "run again; the next `pulumi up` replaces it."
            ]
        return []
