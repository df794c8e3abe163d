"""``Budget``: a monthly limit over the stack's resources, refused at preview when the worst
case is over it, and enforced by the control plane after deploy.

    gpu = GpuInstance("train", max_price_per_hour=0.40, image="pytorch/pytorch")
    Budget("monthly", limit_usd=500, action="stop", webhook_url=hook)   # declared last

Without ``resources=[...]`` the scope is every Dumont resource declared before the budget.
Arguments and outputs: ``dumont_iac.models.budget``; the rules: ``dumont_iac.provider.budget``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from dumont_iac.models.budget import BudgetArgs
from dumont_iac.provider.budget import BudgetProvider
from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.budget_scope import scope_inputs, scope_of
from dumont_iac.schema import fields_of

SECRET_ARGUMENTS = ("webhook_url", "signing_secret")


class Budget(DumontResource[BudgetArgs], module="dumont", name="Budget"):
    """Pass ``BudgetArgs`` fields as keywords, and ``resources=[...]`` to narrow the scope."""

    model = BudgetArgs
    provider = BudgetProvider

    def __init__(
        self,
        resource_name: str,
        args: BudgetArgs | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        resources: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(args, BudgetArgs):
            args = {k: getattr(args, k) for k in fields_of(BudgetArgs).arguments}
        values = dict(args if args is not None else kwargs)
        scope = scope_of(resources, f"Budget {resource_name!r}")
        values.update(scope_inputs(scope, bool(values.get("use_expected_prices"))))
        for name in SECRET_ARGUMENTS:  # encrypted in the state by the engine
            if isinstance(values.get(name), str):
                values[name] = pulumi.Output.secret(values[name])
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=scope))
        super().__init__(resource_name, None, opts, **values)
