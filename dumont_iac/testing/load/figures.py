"""What a load run measured: request latencies per operation, refusals, errors, lost writes."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value at or above ``fraction`` of the sample."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float
    p95: float
    max: float


@dataclass
class Figures:
    """Shared by every client of a run (one event loop, so no lock is needed)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: int = 0  # 429 answers, each retried
    taken: int = 0  # rents of an offer another client got first (no_such_ask), retried
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def record(self, operation: str, seconds: float) -> None:
        self.latencies[operation].append(seconds)

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def latency(self) -> dict[str, Latency]:
        return {
            operation: Latency(
                len(values), percentile(values, 0.5), percentile(values, 0.95), max(values)
            )  # fmt: skip
            for operation, values in sorted(self.latencies.items())
        }
