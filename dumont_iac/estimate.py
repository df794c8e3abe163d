"""What a Pulumi program will cost, before it is deployed: ``dumont-iac cost PROGRAM_DIR``.

The program runs as in a preview (``dumont_iac.testing``: the real provider's Check, nothing
created, no Pulumi CLI); each resource it declares is then priced by its own provider against
live offers: the expected price (what it would rent now) and the worst case (what its caps
allow, or unbounded when it has none), per hour and per 730-hour month.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.costs import HOURS_PER_MONTH, ResourceCost
from dumont_iac.registry import RESOURCES
from dumont_iac.schema import arguments_of

_BY_TYPE = {entry.type_token: entry for entry in RESOURCES}


@dataclass(frozen=True)
class PricedResource:
    name: str
    kind: str
    cost: ResourceCost

    @property
    def unbounded(self) -> bool:
        return self.cost.worst_per_hour is None


@dataclass
class Estimate:
    resources: list[PricedResource] = field(default_factory=list)

    @property
    def expected_per_hour(self) -> float:
        return round(sum(r.cost.expected_per_hour or 0.0 for r in self.resources), 4)

    @property
    def worst_per_hour(self) -> float | None:
        """None when any resource has no bound."""
        if any(r.unbounded for r in self.resources):
            return None
        return round(sum(r.cost.worst_per_hour or 0.0 for r in self.resources), 4)

    def to_dict(self) -> dict[str, Any]:
        worst = self.worst_per_hour
        return {
            "resources": [
                {"name": r.name, "kind": r.kind, **asdict(r.cost), **_monthly(r.cost)}
                for r in self.resources
            ],
            "total": {
                "expected_per_hour": self.expected_per_hour,
                "expected_per_month": round(self.expected_per_hour * HOURS_PER_MONTH, 2),
                "worst_per_hour": worst,
                "worst_per_month": None if worst is None else round(worst * HOURS_PER_MONTH, 2),
            },
            "hours_per_month": HOURS_PER_MONTH,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        lines = [
            "| resource | kind | expected $/month | worst case $/month | priced |",
            "|---|---|---:|---:|---|",
        ]
        for r in self.resources:
            month = _monthly(r.cost)
            lines.append(
                f"| `{r.name}` | {r.kind} | {_money(month['expected_per_month'])} | "
                f"{_money(month['worst_per_month'], unbounded=True)} | {r.cost.basis} |"
            )
        total = self.to_dict()["total"]
        lines.append(
            f"| **total** | | **{_money(total['expected_per_month'])}** | "
            f"**{_money(total['worst_per_month'], unbounded=True)}** | |"
        )
        return "\n".join(lines) + "\n"


def estimate_program(
    project: str | Path,
    *,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
    market: MarketplaceClient | None = None,
) -> Estimate:
    """Run the project's program as a preview and price what it declares."""
    from dumont_iac.testing import Deployment  # the Pulumi SDK loads only for this

    with Deployment(Path(project), stack=stack, config=dict(config or {})) as deployment:
        planned = deployment.preview()
    client = market or MarketplaceClient()
    estimate = Estimate()
    for urn, inputs in planned.inputs.items():
        entry = _BY_TYPE.get(urn.split("::")[2])
        if entry is None:
            continue  # not one of ours: another provider prices it, if anyone does
        args = entry.model.model_validate(arguments_of(entry.model, inputs))
        cost = entry.provider.cost(args, client)
        if cost is not None:
            estimate.resources.append(PricedResource(urn.rsplit("::", 1)[-1], entry.name, cost))
    return estimate


def _monthly(cost: ResourceCost) -> dict[str, float | None]:
    def month(hourly: float | None) -> float | None:
        return None if hourly is None else round(hourly * HOURS_PER_MONTH, 2)

    return {
        "expected_per_month": month(cost.expected_per_hour),
        "worst_per_month": month(cost.worst_per_hour),
    }


def _money(value: float | None, *, unbounded: bool = False) -> str:
    if value is None:
        return "unbounded (no price cap)" if unbounded else "n/a"
    return f"${value:,.2f}"
