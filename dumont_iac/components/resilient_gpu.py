"""``ResilientGpu``: one GPU that survives failures, snapshots itself, pauses when idle and
stays under a budget, declared in one line::

    gpu = ResilientGpu("trainer", image="ubuntu:22.04", snapshot_bucket="ml-snapshots")

Children, each parented to the component: a ``WarmPool`` (the GPU and stopped standbys on its
machine), a ``CpuStandby`` on AWS EC2, a ``FailoverPolicy`` (strategy ``both``), a
``SnapshotPolicy`` into ``snapshot_bucket``, a ``HibernationPolicy`` and a ``Budget`` over them.
The arguments and their defaults: ``ResilientGpuArgs`` (``docs/components.md``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pulumi

from dumont_iac.components.base import BudgetFields, child_options, validated
from dumont_iac.models.gpu_constraints import GpuConstraints
from dumont_iac.resources.budget import Budget
from dumont_iac.resources.cpu_standby import CpuStandby
from dumont_iac.resources.failover_policy import FailoverPolicy
from dumont_iac.resources.hibernation_policy import HibernationPolicy
from dumont_iac.resources.snapshot_policy import SnapshotPolicy
from dumont_iac.resources.warm_pool import WarmPool
from dumont_iac.schema import arg, fields_of

TYPE = "dumont:components:ResilientGpu"
OUTPUTS = (
    "gpu_id",
    "contract_id",
    "machine_id",
    "ssh_command",
    "price_per_hour",
    "pool_state",
    "standby_vm",
    "standby_state",
    "strategy",
    "snapshot_count",
    "hibernation_state",
    "spend_usd",
    "budget_worst_per_month",
)


class ResilientGpuArgs(BudgetFields, GpuConstraints):
    """Every GpuConstraints field (passed to the warm pool), plus the policies' settings."""

    resource_name: ClassVar[str] = "ResilientGpu"

    # A budget needs a cap to hold the GPU to: unlike a bare GPU, one is set by default.
    max_price_per_hour: float = arg(
        0.80, gt=0, description="Most the GPU (and any replacement) may cost per hour, $."
    )
    min_vram_gb: float | None = arg(
        16.0, gt=0, replaces=True, description="Minimum VRAM per GPU, GB."
    )
    standbys: int = arg(1, ge=1, le=7, description="Stopped standby GPUs on the GPU's machine.")
    volume_size_gb: float = arg(
        50.0, ge=1, le=10_000, description="The volume the pool's GPUs share, GB."
    )
    standby_instance_type: str = arg(
        "t3.medium", min_length=1, description="EC2 instance type of the CPU standby (spot)."
    )
    standby_region: str = arg("us-east-1", min_length=1, description="AWS region of the VM.")
    standby_disk_size_gb: int = arg(
        50, ge=8, le=16_384, description="Root volume of the CPU standby, GB."
    )
    failure_threshold: int = arg(
        3, ge=1, le=100, description="Failed health checks in a row that start a failover."
    )
    snapshot_bucket: str = arg(
        min_length=3, max_length=63, description="S3 bucket receiving the GPU's snapshots."
    )
    snapshot_interval_minutes: Literal[5, 15, 30, 60] = arg(
        15, description="Minutes between two snapshots: 5, 15, 30 or 60."
    )
    snapshot_retention_days: int = arg(
        7, ge=0, le=3650, description="Days a snapshot is kept; 0 keeps them forever."
    )
    snapshot_force_destroy: bool = arg(
        False,
        description="Destroying the component also deletes the snapshots (and the bucket it "
        "created).",
    )
    idle_minutes: int = arg(
        60, ge=1, le=10_080, description="Idle this long (under 5 % utilisation): paused."
    )
    destroy_after_minutes: int = arg(
        0, ge=0, le=43_200, description="Paused this long: destroyed; 0 never destroys."
    )


_GPU_FIELDS = tuple(fields_of(GpuConstraints).arguments)


class ResilientGpu(pulumi.ComponentResource):
    """Pass ``ResilientGpuArgs`` fields as keywords; outputs are attributes."""

    def __init__(
        self, name: str, opts: pulumi.ResourceOptions | None = None, **kwargs: Any
    ) -> None:
        args: ResilientGpuArgs = validated(ResilientGpuArgs, kwargs, f"ResilientGpu {name!r}")
        super().__init__(TYPE, name, None, opts)
        gpu = {f: getattr(args, f) for f in _GPU_FIELDS if getattr(args, f) is not None}
        self.pool = WarmPool(
            f"{name}-pool",
            **gpu,
            standbys=args.standbys,
            volume_size_gb=args.volume_size_gb,
            opts=child_options(self),
        )
        self.standby = CpuStandby(
            f"{name}-standby",
            gpu=self.pool,
            instance_type=args.standby_instance_type,
            region=args.standby_region,
            disk_size_gb=args.standby_disk_size_gb,
            failure_threshold=args.failure_threshold,
            opts=child_options(self),
        )
        self.failover = FailoverPolicy(
            f"{name}-failover",
            gpu=self.pool,
            strategy="both",
            failure_threshold=args.failure_threshold,
            opts=child_options(self, depends_on=[self.standby]),
        )
        self.snapshots = SnapshotPolicy(
            f"{name}-snapshots",
            gpu=self.pool,
            bucket=args.snapshot_bucket,
            interval_minutes=args.snapshot_interval_minutes,
            retention_days=args.snapshot_retention_days,
            force_destroy=args.snapshot_force_destroy,
            opts=child_options(self),
        )
        self.hibernation = HibernationPolicy(
            f"{name}-hibernation",
            gpu=self.pool,
            snapshots=self.snapshots,
            idle_minutes=args.idle_minutes,
            destroy_after_minutes=args.destroy_after_minutes,
            opts=child_options(self),
        )
        self.budget = Budget(
            f"{name}-budget",
            resources=[self.pool, self.standby],
            opts=child_options(self),
            **args.budget_arguments(),
        )
        self.gpu_id: pulumi.Output[str] = self.pool.logical_id
        self.contract_id: pulumi.Output[int] = self.pool.contract_id
        self.machine_id: pulumi.Output[int] = self.pool.machine_id
        self.ssh_command: pulumi.Output[str] = self.pool.ssh_command
        self.price_per_hour: pulumi.Output[float] = self.pool.price_per_hour
        self.pool_state: pulumi.Output[str] = self.pool.state
        self.standby_vm: pulumi.Output[str] = self.standby.ec2_instance_id
        self.standby_state: pulumi.Output[str] = self.standby.state
        self.strategy: pulumi.Output[str] = self.failover.effective_strategy
        self.snapshot_count: pulumi.Output[int] = self.snapshots.snapshot_count
        self.hibernation_state: pulumi.Output[str] = self.hibernation.state
        self.spend_usd: pulumi.Output[float] = self.budget.spend_usd
        self.budget_worst_per_month: pulumi.Output[float] = self.budget.worst_per_month
        self.register_outputs({name: getattr(self, name) for name in OUTPUTS})
