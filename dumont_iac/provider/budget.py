"""The engine side of ``Budget``: refuses a plan over its limit, and registers the budget with
the control plane, whose budgets agent accrues spend, alerts and acts at the limit.

The resource id is ``budget-<control plane id>``. Create first looks for a budget of the same
``logical_name`` (an interrupted deploy may have registered it) and takes it over. The webhook
URL and the signing secret are secrets: marked so in state, sent to the control plane only in
the request body, and never logged; the control plane never answers them back.
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.models.policies import Budget
from dumont_iac.errors import ProviderError
from dumont_iac.models.budget import BudgetArgs
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.provider.budget_rules import refusals, total_figure

ID_PREFIX = "budget-"
# ``dumont-iac cost`` previews with this set to "report": it reports budgets over their limit
# itself (exit code 1) and needs the rest of the plan priced rather than a failed preview.
CHECK_MODE_ENV = "DUMONT_BUDGET_CHECK"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9 ._:/-]")


class BudgetProvider(SchemaProvider[BudgetArgs]):
    schema = BudgetArgs

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = super().check(olds, news)
        if checked.failures or os.environ.get(CHECK_MODE_ENV) == "report":
            return checked
        return CheckResult(checked.inputs, refusals(checked.inputs))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if news.get("signing_secret") is None and olds.get("signing_secret") is not None:
            news = {**news, "signing_secret": olds["signing_secret"]}  # the generated one stays
        return super().diff(id_, olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        args = self._with_secret(self.args(props))
        client = ControlPlaneClient()
        body = _body(args)
        existing = next((b for b in client.budgets().budgets if b.name == body.name), None)
        if existing is not None:
            stored = client.put_budget(existing.id, body)
        else:
            stored = client.create_budget(body)
        return CreateResult(f"{ID_PREFIX}{stored.id}", self._outs(args, stored.id, None))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        budget_id = _budget_id(id_)
        client = ControlPlaneClient()
        if client.budget(budget_id) is None:
            return self.gone()
        args = self.args(props)
        spend = client.budget_spend(budget_id)
        inputs = {k: v for k, v in props.items() if k in type(args).model_fields}
        return ReadResult(id_, self._outs(args, budget_id, spend), inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = self.args(news)
        if args.signing_secret is None:
            args = args.model_copy(update={"signing_secret": olds.get("signing_secret")})
        args = self._with_secret(args)
        budget_id = _budget_id(id_)
        client = ControlPlaneClient()
        if client.budget(budget_id) is None:
            raise ProviderError(
                f"Budget {id_} is gone from the control plane (deleted outside this stack); run "
                "`pulumi refresh` to drop it, then deploy again to register it anew."
            )
        client.put_budget(budget_id, _body(args))
        return UpdateResult(self._outs(args, budget_id, client.budget_spend(budget_id)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        ControlPlaneClient().delete_budget(_budget_id(id_))

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _with_secret(args: BudgetArgs) -> BudgetArgs:
        if args.signing_secret:
            return args
        return args.model_copy(update={"signing_secret": secrets.token_urlsafe(32)})

    def _outs(self, args: BudgetArgs, budget_id: int, spend: Any) -> dict[str, Any]:
        return self.outs(
            args,
            budget_id=budget_id,
            worst_per_month=total_figure(args.scope_costs, expected=False),
            spend_usd=spend.spend_usd if spend is not None else 0.0,
            gpu_hours=spend.gpu_hours if spend is not None else 0.0,
            action_taken=spend.action_taken if spend is not None else None,
        )


def _body(args: BudgetArgs) -> Budget:
    name = _NAME_CHARS.sub("-", args.logical_name or "budget")[:100].lstrip(" ._:/-") or "budget"
    return Budget(
        name=name,
        threshold=args.limit_usd,
        action=args.action,
        alert_percents=[float(p) for p in args.alert_thresholds],
        gpu_ids=list(args.scope_ids),
        webhook_url=args.webhook_url,
        webhook_secret=args.signing_secret if args.webhook_url else None,
        max_concurrent_gpus=args.max_concurrent_gpus,
        max_gpu_hours_per_month=args.max_gpu_hours_per_month,
    )


def _budget_id(id_: str) -> int:
    if not id_.startswith(ID_PREFIX) or not id_[len(ID_PREFIX) :].isdigit():
        raise ProviderError(f"{id_!r} is not a budget id (budget-<number>)")
    return int(id_[len(ID_PREFIX) :])
