"""Arguments and outputs of ``Budget``: a monthly spend limit over some of the stack's
resources, checked before deploying and enforced by the control plane after.

Before deploying, the program side prices each resource in scope at its worst case (each
provider's rule: price caps x count x 730 h, standbys and storage included) and hands the
figures in as ``scope_costs``; the provider's ``check`` refuses a plan whose worst case is over
``limit_usd``, naming each resource with its figure. After deploying, the control plane's
budgets agent accrues what the scope bills, alerts ``webhook_url`` at each threshold and applies
``action`` at the limit.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, NotRequired

import annotated_types
from typing_extensions import TypedDict

from dumont_iac.schema import ResourceSchema, arg, computed

DEFAULT_THRESHOLDS = (50.0, 80.0, 100.0)
Percent = Annotated[float, annotated_types.Gt(0), annotated_types.Le(1000)]


class ScopeCost(TypedDict):
    """One resource in scope, as the program side priced it."""

    name: str
    kind: str
    # Absent (the engine drops nulls): nothing bounds it (a GPU without a price cap).
    worst_per_month: NotRequired[float | None]
    # Only with use_expected_prices; absent: nothing fits now.
    expected_per_month: NotRequired[float | None]
    gpus: int
    basis: str


class BudgetArgs(ResourceSchema):
    """Arguments and outputs of a budget."""

    resource_name: ClassVar[str] = "Budget"
    # Create takes over a registered budget of the same logical name, so a forced replacement
    # must unregister the old one first or its delete would remove the new one.
    delete_before_replace: ClassVar[bool] = True

    limit_usd: float = arg(gt=0, le=10_000_000, description="Most the scope may cost a month, $.")
    alert_thresholds: list[Percent] = arg(
        default_factory=lambda: list(DEFAULT_THRESHOLDS),
        max_length=20,
        description="Percents of limit_usd at which an alert is posted to webhook_url, once "
        "each per month.",
    )
    action: Literal["alert", "stop", "destroy"] = arg(
        "alert",
        description="At the limit: alert only; stop every rental in scope (storage still "
        "bills); or destroy the rentals, their volumes and EC2 VMs in scope.",
    )
    webhook_url: str | None = arg(
        None,
        secret=True,
        pattern=r"^https?://",
        max_length=2000,
        description="Where alerts are POSTed, signed with signing_secret.",
    )
    signing_secret: str | None = arg(
        None,
        secret=True,
        min_length=16,
        max_length=200,
        description="HMAC key of the alerts' Dumont-Signature header; generated when not given "
        "(read it from this output).",
    )
    max_concurrent_gpus: int | None = arg(
        None, ge=1, le=100_000, description="Team quota: most GPUs the scope may declare."
    )
    max_gpu_hours_per_month: float | None = arg(
        None,
        gt=0,
        le=10_000_000,
        description="Team quota: GPU-hours a month; reaching it acts as the limit does.",
    )
    use_expected_prices: bool = arg(
        False,
        description="Budget on the prices offers have now instead of the price caps (a GPU "
        "without a price cap is then allowed).",
    )
    logical_name: str | None = arg(
        None, replaces=True, max_length=200, description="Defaults to project/stack/resource."
    )
    # Set by the program side (``dumont_iac.Budget``) from the resources in scope.
    scope_ids: list[str] = arg(
        default_factory=list,
        description="Set by Budget: ids of the resources in scope (their rentals, fleet "
        "members, standbys and tagged EC2 VMs count).",
    )
    scope_costs: list[ScopeCost] = arg(
        default_factory=list, description="Set by Budget: each resource in scope, priced."
    )

    # Computed by the provider.
    budget_id: int | None = computed(description="The control plane's budget id.")
    worst_per_month: float | None = computed(description="Worst case of the scope, $/month.")
    spend_usd: float | None = computed(description="Spend accrued this month (as of read), $.")
    gpu_hours: float | None = computed(description="GPU-hours accrued this month.")
    action_taken: str | None = computed(description="The action applied at the limit, if any.")
