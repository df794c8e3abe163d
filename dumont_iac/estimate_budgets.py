"""Every ``Budget`` of a previewed program, held against its scope: the rule its ``check``
applies at preview (``provider.budget_rules``), with the prices the estimate found now standing
in for the program's own when the budget uses expected prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dumont_iac.costs import HOURS_PER_MONTH
from dumont_iac.provider.budget_rules import refusals, total_figure


@dataclass(frozen=True)
class BudgetCheck:
    name: str
    limit_usd: float
    worst_per_month: float | None
    expected_per_month: float | None
    use_expected_prices: bool
    refusals: list[str] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return bool(self.refusals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "limit_usd": self.limit_usd,
            "worst_per_month": self.worst_per_month,
            "expected_per_month": self.expected_per_month,
            "use_expected_prices": self.use_expected_prices,
            "within": not self.over,
            "refusals": self.refusals,
        }


def check_budget(
    name: str, inputs: Mapping[str, Any], expected_by_name: Mapping[str, float | None]
) -> BudgetCheck:
    costs = [dict(c) for c in inputs.get("scope_costs") or []]
    for cost in costs:  # the estimate's own price now, as `up` would rent
        hourly = expected_by_name.get(cost["name"])
        cost["expected_per_month"] = None if hourly is None else round(hourly * HOURS_PER_MONTH, 2)
    priced = {**inputs, "scope_costs": costs}
    expected = total_figure(costs, expected=True) if costs else 0.0
    return BudgetCheck(
        name=name,
        limit_usd=float(inputs["limit_usd"]),
        worst_per_month=total_figure(costs, expected=False) if costs else 0.0,
        expected_per_month=expected,
        use_expected_prices=bool(inputs.get("use_expected_prices")),
        refusals=[f"{f.property}: {f.reason}" for f in refusals(priced)],
    )
