"""What a rented GPU must satisfy, declared once for every resource that rents GPUs:
``GpuInstance`` (one machine) and ``GpuFleet`` (N machines of the same kind) take the same
constraints, with the same policies, defaults and messages, from this base model.

The provider picks the cheapest live offer that satisfies every constraint (of the first GPU
model in ``gpu_models`` that has one).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator

from dumont_iac.schema import ResourceSchema, arg
from dumont_iac.types import GpuModels, MoneyPerHour, Ports, Regions

MAX_USER_LABEL = 200  # the marketplace allows 256; the rest carries the logical id
NEVER_RUNS_AGAIN = frozenset({"exited", "offline", "unknown"})
"""Marketplace states a rental never leaves."""


class GpuConstraints(ResourceSchema):
    """The arguments every GPU-renting resource shares (not a resource itself)."""

    # What to rent: changing any of these means a different machine, so it replaces.
    image: str = arg(replaces=True, min_length=1, description="Container image to run.")
    gpu_models: GpuModels = arg(
        default_factory=list,
        replaces=True,
        description='Acceptable GPU models in order of preference, e.g. ["RTX 4090", "RTX 3090"]: '
        "the cheapest satisfying offer of the first model that has one; empty accepts any "
        "model (the cheapest offer wins).",
    )
    gpu_count: int = arg(1, replaces=True, ge=1, le=8, description="GPUs on the machine.")
    min_vram_gb: float | None = arg(
        None, replaces=True, gt=0, description="Minimum VRAM per GPU, GB."
    )
    interruptible: bool = arg(
        True,
        replaces=True,
        description="Rent at a bid (cheaper, may be outbid and stopped) instead of on demand.",
    )
    regions: Regions = arg(
        default_factory=list,
        replaces=True,
        description="Continents (EU, NA, SA, AS, OC, AF) or ISO country codes; empty = anywhere.",
    )
    disk_gb: float = arg(10.0, replaces=True, ge=8, le=8192, description="Container disk, GB.")
    env: dict[str, str] = arg(
        default_factory=dict, replaces=True, description="Environment variables of the container."
    )
    onstart: str | None = arg(
        None, replaces=True, max_length=4000, description="Script run when the container starts."
    )
    ports: Ports = arg(
        default_factory=list, replaces=True, description="Container ports to publish besides SSH."
    )
    logical_name: str | None = arg(
        None,
        replaces=True,
        max_length=200,
        description="Stable name the logical id derives from; defaults to project/stack/resource.",
    )

    # How to choose among offers: they apply to the next rental, never re-rent by themselves.
    max_price_per_hour: MoneyPerHour | None = arg(
        None,
        description="Most the rental may cost per hour (GPUs and disk), $. "
        "Applies to the next rental.",
    )
    gpu_count_match: Literal["exactly", "at_least"] = arg(
        "exactly",
        description="Rent exactly gpu_count GPUs, or at least that many when a machine with "
        "more is what fits. Applies to the next rental.",
    )
    gpu_choice: Literal["preference", "cheapest"] = arg(
        "preference",
        description="With several gpu_models: the cheapest offer of the first model that has "
        "one (preference), or the cheapest offer of any of them (cheapest). Applies to the "
        "next rental.",
    )
    min_reliability: float = arg(
        0.9, ge=0, le=1, description="Minimum host reliability, 0-1. Applies to the next rental."
    )
    verified_only: bool = arg(
        True, description="Only hosts the marketplace has verified. Applies to the next rental."
    )
    min_cuda: float | None = arg(
        None,
        gt=0,
        description="Minimum CUDA version the host supports. Applies to the next rental.",
    )
    bid_headroom: float = arg(
        0.1,
        ge=0,
        le=5,
        description="Interruptible only: bid this fraction above the offer's minimum bid "
        "(0.1 = +10 %), capped by max_price_per_hour.",
    )
    create_timeout_seconds: int = arg(
        900,
        ge=1,
        le=7200,
        description="How long create waits for the rental to run; on timeout it is destroyed.",
    )

    # Changed on the live rental(s).
    label: str | None = arg(
        None, max_length=MAX_USER_LABEL, description="Human label shown on the marketplace."
    )
    bid_price: MoneyPerHour | None = arg(
        None,
        description="Interruptible only: a fixed bid, $/h, instead of the headroom rule.",
    )

    # A field validator (not a model one) so that the failure names bid_price; the fields it
    # compares with are declared earlier and absent from ``info.data`` while still unknown.
    @field_validator("bid_price")
    @classmethod
    def _bid_fits(cls, bid: float | None, info: ValidationInfo) -> float | None:
        if bid is None:
            return bid
        if info.data.get("interruptible") is False:
            raise ValueError("a bid applies only when interruptible is true")
        cap = info.data.get("max_price_per_hour")
        if cap is not None and bid > cap:
            raise ValueError(f"the bid is above max_price_per_hour {cap}")
        return bid
