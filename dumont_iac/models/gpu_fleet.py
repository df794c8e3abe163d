"""Arguments and outputs of ``GpuFleet``: N GPU machines of one kind, declared once.

Every member satisfies the same constraints as a ``GpuInstance`` (``GpuConstraints``: the same
fields, policies and messages). The fleet adds how many members to keep (``count``, changed in
place), how few a create may settle for (``min_count``), how members spread over machines and
regions, and which members go first when ``count`` shrinks.

The resource id is the fleet's logical id; member ``i`` has the logical id ``<fleet id>-<i>``,
carried in its rental's label, so a rerun after an interrupted deploy adopts members instead of
renting them again.
"""

from __future__ import annotations

from typing import ClassVar, Literal, NotRequired

from pydantic import ValidationInfo, field_validator
from typing_extensions import TypedDict

from dumont_iac.models.gpu_constraints import GpuConstraints
from dumont_iac.schema import arg, computed

MAX_FLEET = 64  # one create rents at most this many: 64 rents take ~5 min at the rent gap


class FleetMember(TypedDict):
    """One running member of a fleet, as the ``members`` output lists it."""

    index: int
    logical_id: str
    contract_id: int
    machine_id: int | None
    gpu_name: str | None
    region: str | None
    price_per_hour: float | None
    status: str
    ssh_command: str | None
    # Added after the first release: members in older state lack them.
    public_ip: NotRequired[str | None]
    ports: NotRequired[dict[str, int]]


class MissingMember(TypedDict):
    """A member the fleet declares but does not hold, and why."""

    index: int
    logical_id: str
    reason: str


class GpuFleetArgs(GpuConstraints):
    """Arguments and outputs of a GPU fleet."""

    resource_name: ClassVar[str] = "GpuFleet"
    # As for GpuInstance: the old members go before new ones are rented, so one declaration
    # never bills two fleets.
    delete_before_replace: ClassVar[bool] = True

    count: int = arg(
        ge=1,
        le=MAX_FLEET,
        description="Members to keep running. A change adds members, or removes them by "
        "scale_down, in place.",
    )
    min_count: int | None = arg(
        None,
        ge=1,
        le=MAX_FLEET,
        description="Fewest running members a create or scale-up may settle for; the rest are "
        "listed in missing_members and rented at the next deploy. Default: count (all or "
        "nothing: fewer destroys what was rented and fails).",
    )
    one_per_machine: bool = arg(
        True,
        description="At most one member per machine (a host failure takes one member). "
        "Applies to members rented from then on.",
    )
    spread_regions: bool = arg(
        False,
        description="Member i is rented in regions[i % len(regions)], instead of the cheapest "
        "offer in any listed region. Needs regions. Applies to members rented from then on.",
    )
    scale_down: Literal["newest", "oldest", "most_expensive"] = arg(
        "newest",
        description="Which members go first when count shrinks: the most recently rented, the "
        "longest held, or the most expensive per hour.",
    )

    # Computed by the provider.
    logical_id: str | None = computed(description="Stable id of the fleet: the resource id.")
    members: list[FleetMember] | None = computed(
        description="Running members, by index: index, logical_id, contract_id, machine_id, "
        "gpu_name, region, price_per_hour, status, ssh_command, public_ip and ports (each "
        'published container port, e.g. "8000", to its public port).'
    )
    missing_members: list[MissingMember] | None = computed(
        description="Declared members not held (fewer than count ran): index, logical_id, reason."
    )
    running_count: int | None = computed(description="Members running.")
    total_price_per_hour: float | None = computed(
        description="What the members cost together per hour, $."
    )
    ssh_commands: list[str] | None = computed(description="Each member's SSH command, by index.")

    @field_validator("min_count")
    @classmethod
    def _min_fits(cls, minimum: int | None, info: ValidationInfo) -> int | None:
        count = info.data.get("count")
        if minimum is not None and count is not None and minimum > count:
            raise ValueError(f"min_count must be at most count ({count})")
        return minimum

    @field_validator("spread_regions")
    @classmethod
    def _regions_to_spread(cls, spread: bool, info: ValidationInfo) -> bool:
        if spread and "regions" in info.data and not info.data["regions"]:
            raise ValueError("spread_regions needs regions to spread over; list them in regions")
        return spread
