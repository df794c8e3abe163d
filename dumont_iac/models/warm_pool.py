"""Arguments and outputs of ``WarmPool``: a GPU with standby GPUs on the same physical machine,
sharing one local volume, so that a failover starts a standby in seconds without copying data.

The primary is the logical GPU (the resource id, ``pool-<hex>``, is what policies and the
control plane name); standby ``k`` carries ``<pool id>.standby-<k>`` in its label and is kept
stopped, so only its storage bills. Every GPU of the pool satisfies the same constraints as a
``GpuInstance`` (``GpuConstraints``) and takes exactly ``gpu_count`` GPUs of the host.

A failover is the control plane's job: it starts a standby, moves the primary's marker onto it
and rents a replacement standby. The resource follows the marker, so a refresh after a failover
shows the same pool with a new ``contract_id`` and no change to deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from dumont_iac.models.gpu_constraints import GpuConstraints
from dumont_iac.schema import arg, computed

MAX_STANDBYS = 7  # a machine has at most 8 GPUs


class WarmPoolArgs(GpuConstraints):
    """Arguments and outputs of a warm pool."""

    resource_name: ClassVar[str] = "WarmPool"
    # As for GpuInstance: the old pool (its rentals and its volume) goes before a new one is
    # placed, so one declaration never bills two pools.
    delete_before_replace: ClassVar[bool] = True

    standbys: int = arg(
        1,
        ge=1,
        le=MAX_STANDBYS,
        description="Stopped standby GPUs on the primary's machine. A change adds or removes "
        "standbys in place while the machine has free GPUs for them; a pool whose machine has "
        "no room for more is replaced (placed anew on a machine with room).",
    )
    volume_size_gb: float = arg(
        100.0,
        replaces=True,
        ge=1,
        le=10_000,
        description="Size of the local volume the pool's GPUs share, GB (a volume's size is "
        "fixed).",
    )
    volume_mount_path: str = arg(
        "/workspace",
        replaces=True,
        pattern=r"^/[A-Za-z0-9._/-]{0,254}$",
        description="Where every GPU of the pool mounts the shared volume.",
    )

    # Computed by the provider.
    logical_id: str | None = computed(description="Stable id of the pool: the resource id.")
    contract_id: int | None = computed(
        description="The primary's current marketplace contract (it changes on failover)."
    )
    machine_id: int | None = computed(description="The machine every GPU of the pool is on.")
    volume_id: int | None = computed(description="The shared local volume.")
    standby_contract_ids: list[int] | None = computed(
        description="The standbys' contracts, by standby index."
    )
    standbys_ready: int | None = computed(
        description="Standbys present on the primary's machine and stopped, ready to start."
    )
    state: str | None = computed(
        description="The control plane's view: disabled, searching, provisioning, active, "
        "failover, recovering, degraded or error."
    )
    degraded_reason: str | None = computed(
        description="Why the pool is not fully protected (a standby missing, the control "
        "plane's error), if it is not."
    )
    failover_count: int | None = computed(description="Failovers the control plane ran.")
    last_failover_at: float | None = computed(description="When the last failover ran (epoch s).")
    gpu_name: str | None = computed(description="GPU model rented.")
    num_gpus: int | None = computed(description="GPUs of the primary.")
    vram_gb: float | None = computed(description="VRAM per GPU, GB.")
    price_per_hour: float | None = computed(description="What the primary costs per hour, $.")
    status: str | None = computed(
        description="The primary's status: running, loading ...; 'failover' while the control "
        "plane moves the pool to a standby, 'missing' when no contract carries the primary's "
        "marker otherwise (the control plane's to repair: the pool is not replaced)."
    )
    outbid_by: float | None = computed(
        description="Set while the interruptible primary is outbid: the bid that took its GPUs."
    )
    status_message: str | None = computed(description="The marketplace's status message.")
    ssh_host: str | None = computed(description="SSH host of the primary.")
    ssh_port: int | None = computed(description="SSH port of the primary.")
    ssh_command: str | None = computed(description="Ready-to-paste SSH command (the primary).")
    public_ip: str | None = computed(description="Public IP address of the machine.")
    region: str | None = computed(description='Where the machine is, "City, CC".')

    @field_validator("gpu_count_match")
    @classmethod
    def _exact_slices(cls, match: Literal["exactly", "at_least"]) -> str:
        if match != "exactly":
            raise ValueError(
                "a warm pool rents exactly gpu_count GPUs for the primary and for each standby "
                "(a standby takes the primary's place); leave gpu_count_match 'exactly'"
            )
        return match

    @classmethod
    def warnings(cls, outputs: Mapping[str, Any]) -> list[str]:
        reason = outputs.get("degraded_reason")
        if not reason:
            return []
        name = outputs.get("logical_name") or outputs.get("logical_id")
        return [f"Warm pool {name} is not fully protected: {reason}"]
