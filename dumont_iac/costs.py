"""What one resource costs, as its provider prices it before anything is rented."""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 730  # a budget month: 365 days / 12, rounded


@dataclass(frozen=True)
class ResourceCost:
    """Per hour, in $: ``expected`` is what it would rent now (None when nothing fits), ``worst``
    what its caps allow (None when nothing bounds it: no price cap)."""

    expected_per_hour: float | None
    worst_per_hour: float | None
    basis: str
    """What was priced, in a few words: the offer it would rent, or why there is none."""
    gpus: int = 0
    """GPUs the resource declares (GPUs per machine x machines, standbys included)."""
