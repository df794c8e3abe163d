"""What a Pulumi program will cost, before it is deployed: ``dumont-iac cost PROGRAM_DIR``.

The program runs as in a preview (``dumont_iac.testing``: the real provider's Check, nothing
created, no Pulumi CLI); each resource it declares is then priced by its own provider against
live offers: the expected price (what it would rent now) and the worst case (what its caps
allow, or unbounded when it has none), per hour and per 730-hour month. Each ``Budget`` is
held against its scope (``estimate_budgets``), and with a deployed state the change is shown
(``estimate_diff``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dumont_iac import estimate_diff
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.costs import HOURS_PER_MONTH, ResourceCost
from dumont_iac.estimate_budgets import BudgetCheck, check_budget
from dumont_iac.models.budget import BudgetArgs
from dumont_iac.provider.budget import CHECK_MODE_ENV
from dumont_iac.registry import RESOURCES
from dumont_iac.schema import arguments_of

_BY_TYPE = {entry.type_token: entry for entry in RESOURCES}
_BUDGET_TYPE = next(e.type_token for e in RESOURCES if e.model is BudgetArgs)


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
    budgets: list[BudgetCheck] = field(default_factory=list)
    changes: list[estimate_diff.Change] | None = None
    """Against a deployed state, when one was given."""
    past_expected_per_month: float | None = None

    @property
    def over_budget(self) -> bool:
        return any(b.over for b in self.budgets)

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
            "budgets": [b.to_dict() for b in self.budgets],
            "within_budgets": not self.over_budget,
            **self._diff_dict(),
        }

    def _diff_dict(self) -> dict[str, Any]:
        if self.changes is None or self.past_expected_per_month is None:
            return {}
        now = round(self.expected_per_hour * HOURS_PER_MONTH, 2)
        past = self.past_expected_per_month
        return {
            "totalMonthlyCost": now,
            "pastTotalMonthlyCost": past,
            "diffTotalMonthlyCost": round(now - past, 2),
            "changes": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "change": c.sign,
                    "past_per_month": c.past,
                    "per_month": c.now,
                    "amount": c.amount,
                }
                for c in self.changes
            ],  # fmt: skip
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
        if self.budgets:
            lines += [
                "",
                "| budget | limit $/month | budgeted on | $/month | |",
                "|---|---:|---|---:|---|",
            ]
            for b in self.budgets:
                basis = "prices now" if b.use_expected_prices else "worst case"
                figure = b.expected_per_month if b.use_expected_prices else b.worst_per_month
                verdict = "**over**" if b.over else "within"
                lines.append(
                    f"| `{b.name}` | {_money(b.limit_usd)} | {basis} | "
                    f"{_money(figure, unbounded=True)} | {verdict} |"
                )
            for b in self.budgets:
                lines += [f"- `{b.name}`: {r}" for r in b.refusals]
        text = "\n".join(lines) + "\n"
        if self.changes is not None and self.past_expected_per_month is not None:
            now = round(self.expected_per_hour * HOURS_PER_MONTH, 2)
            text += estimate_diff.markdown(self.changes, self.past_expected_per_month, now)
        return text


def estimate_program(
    project: str | Path,
    *,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
    market: MarketplaceClient | None = None,
    compare_to: str | Path | None = None,
) -> Estimate:
    """Run the project's program as a preview, price what it declares, hold every budget
    against its scope, and with ``compare_to`` (a deployed state) show the change."""
    from dumont_iac.testing import Deployment  # the Pulumi SDK loads only for this

    with Deployment(
        Path(project),
        stack=stack,
        config=dict(config or {}),
        env={CHECK_MODE_ENV: "report"},  # budgets are held here, not by a failed preview
    ) as deployment:
        planned = deployment.preview()
    client = market or MarketplaceClient()
    estimate = Estimate()
    priced: dict[tuple[str, str], ResourceCost] = {}
    planned_inputs: dict[tuple[str, str], Mapping[str, Any]] = {}
    budgets: list[tuple[str, dict[str, Any]]] = []
    for urn, inputs in planned.inputs.items():
        name = urn.rsplit("::", 1)[-1]
        token = _type_of(urn)
        if token == _BUDGET_TYPE:
            budgets.append((name, inputs))
        found = _price(token, inputs, client)
        if found is not None:
            estimate.resources.append(PricedResource(name, found[0], found[1]))
            priced[(name, found[0])] = found[1]
            planned_inputs[(name, found[0])] = inputs
    expected = {r.name: r.cost.expected_per_hour for r in estimate.resources}
    estimate.budgets = [check_budget(name, inputs, expected) for name, inputs in budgets]
    if compare_to is not None:
        deployed = estimate_diff.price_state(
            compare_to, lambda token, inputs: _price(token, inputs, client)
        )
        past = {key: cost for key, (cost, _) in deployed.items()}
        for key, (cost, inputs) in deployed.items():
            # Left as deployed, a resource keeps what it rents: the same figure on both sides.
            if key in priced and _same_arguments(key[1], inputs, planned_inputs[key]):
                priced[key] = cost
                for i, r in enumerate(estimate.resources):
                    if (r.name, r.kind) == key:
                        estimate.resources[i] = PricedResource(r.name, r.kind, cost)
        estimate.changes = estimate_diff.changes(priced, past)
        estimate.past_expected_per_month = round(
            sum((c.expected_per_hour or 0.0) for c in past.values()) * HOURS_PER_MONTH, 2
        )
    return estimate


def _type_of(urn: str) -> str:
    """The resource's own type: a component's child has its parents' types before a ``$``."""
    return urn.split("::")[2].split("$")[-1]


def _same_arguments(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    model = next(e.model for e in RESOURCES if e.name == kind)
    return bool(json.dumps(arguments_of(model, old), sort_keys=True, default=str)
                == json.dumps(arguments_of(model, new), sort_keys=True, default=str))  # fmt: skip


def _price(
    token: str, inputs: Mapping[str, Any], client: MarketplaceClient
) -> tuple[str, ResourceCost] | None:
    """``(kind, cost)`` of one resource by its provider; None when it is not ours or bills
    nothing itself."""
    entry = _BY_TYPE.get(token)
    if entry is None:
        return None  # not one of ours: another provider prices it, if anyone does
    args = entry.model.model_validate(arguments_of(entry.model, inputs))
    cost = entry.provider.cost(args, client)
    return None if cost is None else (entry.name, cost)


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
