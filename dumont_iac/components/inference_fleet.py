"""``InferenceFleet``: N GPUs serving one port, under a budget, with their public endpoints::

    fleet = InferenceFleet("serve", image="vllm/vllm-openai", count=2, port=8000)
    pulumi.export("endpoints", fleet.endpoints)      # ["203.0.113.7:41234", ...]

Children, each parented to the component: a ``GpuFleet`` publishing ``port`` and a ``Budget``
over it. The arguments and their defaults: ``InferenceFleetArgs`` (``docs/components.md``).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import pulumi

from dumont_iac.components.base import BudgetFields, child_options, validated
from dumont_iac.models.gpu_constraints import GpuConstraints
from dumont_iac.models.gpu_fleet import MAX_FLEET
from dumont_iac.resources.budget import Budget
from dumont_iac.resources.gpu_fleet import GpuFleet
from dumont_iac.schema import arg, fields_of

TYPE = "dumont:components:InferenceFleet"
OUTPUTS = (
    "fleet_id",
    "endpoints",
    "ssh_commands",
    "running_count",
    "total_price_per_hour",
    "spend_usd",
    "budget_worst_per_month",
)


class InferenceFleetArgs(BudgetFields, GpuConstraints):
    """Every GpuConstraints field (passed to the fleet), plus the fleet's size and port."""

    resource_name: ClassVar[str] = "InferenceFleet"

    count: int = arg(ge=1, le=MAX_FLEET, description="Members serving.")
    min_count: int | None = arg(
        None, ge=1, le=MAX_FLEET, description="Fewest members a deploy may settle for."
    )
    port: int = arg(8000, ge=1, le=65_535, description="Container port the members serve on.")
    max_price_per_hour: float = arg(
        0.40, gt=0, description="Most each member may cost per hour, $."
    )


_GPU_FIELDS = tuple(f for f in fields_of(GpuConstraints).arguments if f != "ports")


class InferenceFleet(pulumi.ComponentResource):
    """Pass ``InferenceFleetArgs`` fields as keywords; outputs are attributes."""

    def __init__(
        self, name: str, opts: pulumi.ResourceOptions | None = None, **kwargs: Any
    ) -> None:
        args: InferenceFleetArgs = validated(InferenceFleetArgs, kwargs, f"InferenceFleet {name!r}")
        super().__init__(TYPE, name, None, opts)
        gpu = {f: getattr(args, f) for f in _GPU_FIELDS if getattr(args, f) is not None}
        ports = sorted({args.port, *args.ports})
        self.fleet = GpuFleet(
            f"{name}-fleet",
            **gpu,
            ports=ports,
            count=args.count,
            min_count=args.min_count,
            opts=child_options(self),
        )
        self.budget = Budget(
            f"{name}-budget",
            resources=[self.fleet],
            opts=child_options(self),
            **args.budget_arguments(),
        )
        self.fleet_id: pulumi.Output[str] = self.fleet.logical_id
        self.endpoints: pulumi.Output[list[str]] = self.fleet.members.apply(
            functools.partial(endpoints_of, args.port)
        )
        self.ssh_commands: pulumi.Output[list[str]] = self.fleet.ssh_commands
        self.running_count: pulumi.Output[int] = self.fleet.running_count
        self.total_price_per_hour: pulumi.Output[float] = self.fleet.total_price_per_hour
        self.spend_usd: pulumi.Output[float] = self.budget.spend_usd
        self.budget_worst_per_month: pulumi.Output[float] = self.budget.worst_per_month
        self.register_outputs({name: getattr(self, name) for name in OUTPUTS})


def endpoints_of(port: int, members: list[dict[str, Any]] | None) -> list[str]:
    """``ip:port`` of each running member that publishes ``port``, by member index."""
    endpoints = []
    for member in sorted(members or [], key=lambda m: m.get("index", 0)):
        public = (member.get("ports") or {}).get(str(port))
        if member.get("public_ip") and public:
            endpoints.append(f"{member['public_ip']}:{int(public)}")
    return endpoints
