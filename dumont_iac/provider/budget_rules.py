"""The plan-time rules of a ``Budget``: what its ``check`` refuses, with each resource's figure.

A worst case is what a resource's caps allow for a 730-hour month; a GPU with no price cap has
none, so a budget cannot be proven against it unless the budget trusts current prices
(``use_expected_prices``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.dynamic import CheckFailure

from dumont_iac.schema import is_unknown


def money(value: float) -> str:
    return f"${value:,.2f}"


def scope_figure(cost: Mapping[str, Any], expected: bool) -> float | None:
    """The monthly figure budgeted for one resource: its worst case, or with ``expected`` its
    price now (its worst case when nothing fits now)."""
    if expected and cost.get("expected_per_month") is not None:
        return float(cost["expected_per_month"])
    worst = cost.get("worst_per_month")
    return None if worst is None else float(worst)


def total_figure(costs: Sequence[Mapping[str, Any]], expected: bool) -> float | None:
    figures = [scope_figure(c, expected) for c in costs]
    if any(f is None for f in figures):
        return None
    return round(sum(f or 0.0 for f in figures), 2)


def refusals(inputs: Mapping[str, Any]) -> list[CheckFailure]:
    """Every reason the budget cannot hold its scope's plan; empty when it can."""
    costs = inputs.get("scope_costs") or []
    if is_unknown(costs) or is_unknown(inputs.get("limit_usd")):
        return []
    limit = float(inputs["limit_usd"])
    expected = bool(inputs.get("use_expected_prices"))
    failures: list[CheckFailure] = []
    unbounded = [c for c in costs if scope_figure(c, expected) is None]
    if unbounded:
        names = ", ".join(f"{c['name']} ({c['kind']})" for c in unbounded)
        failures.append(
            CheckFailure(
                "scope_costs",
                f"{names}: no price cap, so nothing bounds its monthly cost and the budget of "
                f"{money(limit)} cannot be checked; set max_price_per_hour on it, leave it out "
                "of resources=[...], or set use_expected_prices=True to budget on current prices.",
            )
        )
    bounded = [(c, scope_figure(c, expected)) for c in costs]
    total = round(sum(f for _, f in bounded if f is not None), 2)
    if total > limit:
        what = "price now" if expected else "worst case"
        parts = "; ".join(
            f"{c['name']} ({c['kind']}) {money(f)} [{c.get('basis', '')}]"
            for c, f in bounded
            if f is not None
        )
        failures.append(
            CheckFailure(
                "limit_usd",
                f"the {what} of the scope is {money(total)}/month, over limit_usd "
                f"{money(limit)}: {parts}; total {money(total)}. Lower the price caps or counts, "
                "or raise limit_usd.",
            )
        )
    quota = inputs.get("max_concurrent_gpus")
    gpus = sum(int(c.get("gpus") or 0) for c in costs)
    if quota is not None and not is_unknown(quota) and gpus > int(quota):
        parts = ", ".join(f"{c['name']} {int(c.get('gpus') or 0)}" for c in costs if c.get("gpus"))
        failures.append(
            CheckFailure(
                "max_concurrent_gpus",
                f"the scope declares {gpus} GPUs ({parts}), more than max_concurrent_gpus "
                f"{int(quota)}; declare fewer or raise the quota.",
            )
        )
    return failures
