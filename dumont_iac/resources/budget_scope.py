"""What a ``Budget`` covers, priced on the program side before anything is deployed.

The scope is the resources given (``resources=[...]``) or, by default, every Dumont resource the
program declared before the budget: declare a budget last. Each is priced by its own
provider's ``cost()`` through the registry, offline for the worst case (``provider.offline``)
and, with ``use_expected_prices``, against live offers for the price now; no resource kind is
named here, so every registered resource counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pydantic

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.costs import HOURS_PER_MONTH, ResourceCost
from dumont_iac.errors import DumontError
from dumont_iac.provider.offline import offline_cost
from dumont_iac.resources.base import DumontResource, declared_so_far
from dumont_iac.schema import is_unknown


def scope_of(resources: Sequence[Any] | None, owner: str) -> list[DumontResource[Any]]:
    """The resources given, or every one declared so far that bills (budgets do not)."""
    if resources is None:
        chosen = [r for r in declared_so_far() if offline_cost(r.provider, _arguments(r))]
    else:
        chosen = list(resources)
    for r in chosen:
        if not isinstance(r, DumontResource):
            raise TypeError(
                f"{owner}: resources must be Dumont resources of this program (GpuInstance, "
                f"GpuFleet, ...), got {type(r).__name__}"
            )
    if not chosen:
        raise TypeError(
            f"{owner}: nothing in scope; declare the budget after the resources it covers, or "
            "pass resources=[...]"
        )
    return chosen


def scope_inputs(
    resources: Sequence[DumontResource[Any]], use_expected_prices: bool
) -> dict[str, Any]:
    """The Budget's ``scope_ids`` and ``scope_costs`` inputs."""
    ids: list[Any] = []
    costs: list[dict[str, Any]] = []
    market = _market() if use_expected_prices else None
    for resource in resources:
        ids.append(resource.id)
        gpu_id = resource.declared_arguments.get("gpu_id")
        if gpu_id is not None:  # a policy resource (a standby): its VMs are tagged by GPU id
            ids.append(gpu_id)
        args = _arguments(resource)
        worst = offline_cost(resource.provider, args)
        if worst is None:
            continue  # bills nothing itself
        now = _priced_now(resource, args, market)
        costs.append(_priced(resource, worst, now))
    return {"scope_ids": ids, "scope_costs": costs}


def _market() -> MarketplaceClient | None:
    try:
        return MarketplaceClient()
    except DumontError as exc:
        pulumi.log.warn(f"budget priced at worst cases: no marketplace to price against: {exc}")
        return None


def _priced_now(
    resource: DumontResource[Any], args: Any, market: MarketplaceClient | None
) -> ResourceCost | None:
    """The price now, or None (the worst case stands in) when the marketplace cannot say."""
    if market is None:
        return None
    try:
        cost: ResourceCost | None = resource.provider.cost(args, market)
    except DumontError as exc:
        pulumi.log.warn(f"priced at its worst case: the marketplace could not price it: {exc}",
                        resource=resource)  # fmt: skip
        return None
    return cost


def _arguments(resource: DumontResource[Any]) -> Any:
    model = resource.model
    known = {k: v for k, v in resource.declared_arguments.items() if not is_unknown(v)}
    try:
        return model.model_validate(known)
    except pydantic.ValidationError:
        # An argument only known after deploy (a GPU id): the caps are known, price on those.
        return model.model_construct(**resource.declared_arguments)


def _priced(
    resource: DumontResource[Any], worst: ResourceCost, now: ResourceCost | None
) -> dict[str, Any]:
    def month(hourly: float | None) -> float | None:
        return None if hourly is None else round(hourly * HOURS_PER_MONTH, 2)

    basis = worst.basis
    if worst.worst_per_hour is not None:
        basis = f"{worst.worst_per_hour:g} $/h caps x {HOURS_PER_MONTH} h"
    elif not basis.startswith("not priced"):
        basis = "no price cap"
    return {
        "name": pulumi_name(resource),
        "kind": type(resource).__name__,
        "worst_per_month": month(worst.worst_per_hour),
        "expected_per_month": month(now.expected_per_hour) if now is not None else None,
        "gpus": max(worst.gpus, now.gpus if now is not None else 0),
        "basis": basis,
    }


def pulumi_name(resource: pulumi.Resource) -> str:
    return str(getattr(resource, "_name", type(resource).__name__))
