"""The budget rule as a CrossGuard stack policy (``__main__.py`` here is the pack).

Every ``Budget`` in the stack is held to the rule its own ``check`` applies
(``provider.budget_rules``), from its inputs: the figures its program computed from the price
caps and counts of its scope, which are known at preview (a policy reading an unknown value is
skipped by the engine, so the rule uses no outputs). Needs ``pulumi-policy``.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from dumont_iac.models.budget import BudgetArgs
from dumont_iac.provider.budget_rules import refusals
from dumont_iac.registry import RESOURCES

POLICY_NAME = "dumont-budget-within-limit"
_BUDGET = next(e.type_token for e in RESOURCES if e.model is BudgetArgs)


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    budgets = [r for r in args.resources if r.resource_type == _BUDGET]
    for budget in budgets:
        props: dict[str, Any] = dict(budget.props)
        for failure in refusals(props):
            report_violation(f"Budget {budget.name}: {failure.property}: {failure.reason}",
                             budget.urn)  # fmt: skip


def budget_policy() -> StackValidationPolicy:
    return StackValidationPolicy(
        name=POLICY_NAME,
        description="Each Budget's scope must fit its limit at its worst case (price caps x "
        "count x 730 h), with no GPU left without a price cap unless it uses expected prices.",
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )
