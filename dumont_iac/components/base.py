"""What every component shares: validated arguments, the budget fields, its children's options.

A component's arguments are a ``ResourceSchema`` like a resource's, so a bad value fails in the
program with the same message (the field, the value and what is allowed) before anything is
declared, and the defaults are documented from the same declaration.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi

from dumont_iac.schema import ResourceSchema, arg, fields_of, validate_arguments


class BudgetFields(ResourceSchema):
    """The component's own monthly budget over what it declares."""

    budget_limit_usd: float = arg(
        1000.0, gt=0, le=10_000_000, description="Most the component may cost a month, $."
    )
    budget_action: Literal["alert", "stop", "destroy"] = arg(
        "stop",
        description="At the limit: alert only, stop the rentals (storage still bills) or "
        "destroy them.",
    )
    budget_alert_thresholds: list[float] = arg(
        default_factory=lambda: [50.0, 80.0, 100.0],
        max_length=20,
        description="Percents of budget_limit_usd at which an alert is posted to "
        "budget_webhook_url.",
    )
    budget_webhook_url: str | None = arg(
        None, secret=True, max_length=2000, description="Where budget alerts are POSTed."
    )

    def budget_arguments(self) -> dict[str, Any]:
        return {
            "limit_usd": self.budget_limit_usd,
            "action": self.budget_action,
            "alert_thresholds": self.budget_alert_thresholds,
            "webhook_url": self.budget_webhook_url,
        }


def validated(model: type[ResourceSchema], values: dict[str, Any], owner: str) -> Any:
    """The arguments as ``model``, defaults filled; raises InvalidArgumentsError naming each bad
    field. Values only known after deploy (Outputs) are kept as given."""
    checked = validate_arguments(model, values, owner)
    return model.model_construct(**{**_defaults(model), **checked})


def _defaults(model: type[ResourceSchema]) -> dict[str, Any]:
    fields = fields_of(model)
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in fields.infos.items()
        if name in fields.arguments and not info.is_required()
    }


def child_options(parent: pulumi.Resource, **more: Any) -> pulumi.ResourceOptions:
    """Every child is parented to its component: it shows under it and goes with it."""
    return pulumi.ResourceOptions(parent=parent, **more)
