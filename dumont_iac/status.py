"""How ready a stack's GPUs are to fail over: what the state says of each GPU, and what the
control plane says of its failover (strategy, warm pool, CPU standby, last failovers); and
what each of its budgets has spent so far.

The state is the test driver's state file or ``pulumi stack export`` JSON; without one, every
GPU the control plane knows for the caller (its own failover settings or a standby
association) is shown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dumont_iac import errors
from dumont_iac.clients.control_plane import ControlPlaneClient

# Resources that are one logical GPU each (a fleet is one per member).
GPU_KINDS = ("GpuInstance", "WarmPool")
FLEET_KIND = "GpuFleet"
DUMONT_TYPE = "pulumi-python:dynamic/dumont:"


@dataclass(frozen=True)
class StackResource:
    name: str
    kind: str  # the Dumont resource name (GpuInstance ...), or the type of any other resource
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class GpuReadiness:
    resource: str | None  # its name in the stack; None for a GPU only the control plane knows
    kind: str | None
    logical_id: str
    contract_id: int | None
    status: str | None
    effective_strategy: str
    warm_pool_state: str
    standby_state: str | None  # None: no CPU standby association
    last_failover_at: float | None
    failovers_last_24h: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BudgetSpending:
    resource: str
    budget_id: int
    limit_usd: float | None
    spend_usd: float | None  # None: the control plane has not accrued it yet
    action_taken: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spending(client: ControlPlaneClient, resources: list[StackResource]) -> list[BudgetSpending]:
    """Each Budget of the stack, with its spend so far as the control plane accrued it."""
    found = []
    for r in resources:
        budget_id = _int(r.outputs.get("budget_id"))
        if r.kind != "Budget" or budget_id is None:
            continue
        spent = client.budget_spend(budget_id)
        limit = r.outputs.get("limit_usd")
        found.append(
            BudgetSpending(
                resource=r.name,
                budget_id=budget_id,
                limit_usd=float(limit) if isinstance(limit, int | float) else None,
                spend_usd=None if spent is None else spent.spend_usd,
                action_taken=None if spent is None else spent.action_taken,
            )
        )
    return found


def read_state(path: Path) -> list[StackResource]:
    """The Dumont resources of a driver state file or of ``pulumi stack export`` JSON."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise errors.InvalidValue(
            f"--state {path}: cannot read it ({exc.strerror or exc}); give the file written by "
            "`pulumi stack export --file FILE` or by the test driver."
        ) from None
    except ValueError as exc:
        raise errors.InvalidValue(
            f"--state {path}: not JSON ({exc}); give the file written by `pulumi stack export "
            "--file FILE` or by the test driver."
        ) from None
    if isinstance(document, dict) and isinstance(document.get("resources"), dict):
        rows = list(document["resources"].values())  # the test driver's state
    elif isinstance(document, dict) and isinstance(document.get("deployment"), dict):
        rows = document["deployment"].get("resources") or []  # pulumi stack export
    else:
        raise errors.InvalidValue(
            f"--state {path}: neither a `pulumi stack export` document (a 'deployment' with "
            "'resources') nor a test-driver state (a 'resources' map)."
        )
    found = []
    for row in rows:
        kind = str(row.get("type", ""))
        if not kind.startswith(DUMONT_TYPE) or not row.get("id"):
            continue
        urn = str(row.get("urn", ""))
        found.append(
            StackResource(
                name=str(row.get("name") or urn.rsplit("::", 1)[-1]),
                kind=kind.removeprefix(DUMONT_TYPE),
                id=str(row["id"]),
                outputs=dict(row.get("outputs") or {}),
            )
        )
    return found


def _gpus_of(resource: StackResource) -> list[tuple[str, int | None, str | None]]:
    """(logical id, contract id, status) of each logical GPU of a resource."""
    if resource.kind in GPU_KINDS:
        out = resource.outputs
        return [(resource.id, _int(out.get("contract_id")), _str(out.get("status")))]
    if resource.kind == FLEET_KIND:
        members = resource.outputs.get("members")
        return [
            (str(m["logical_id"]), _int(m.get("contract_id")), _str(m.get("status")))
            for m in (members if isinstance(members, list) else [])
            if isinstance(m, dict) and m.get("logical_id")
        ]
    return []


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def readiness(
    client: ControlPlaneClient, resources: list[StackResource] | None
) -> list[GpuReadiness]:
    """Each GPU's readiness: of the stack's GPUs, or (None) of every GPU the control plane
    knows for the caller."""
    rows: list[tuple[str | None, str | None, str, int | None, str | None]]
    if resources is None:
        known = {g.gpu_id for g in client.gpus_with_settings()}
        known |= {a.gpu_id for a in client.associations().associations}
        rows = [(None, None, gpu_id, None, None) for gpu_id in sorted(known)]
    else:
        rows = [
            (r.name, r.kind, gpu_id, contract, status)
            for r in resources
            for gpu_id, contract, status in _gpus_of(r)
        ]
    return [_one(client, *row) for row in rows]


def _one(
    client: ControlPlaneClient,
    resource: str | None,
    kind: str | None,
    gpu_id: str,
    contract_id: int | None,
    status: str | None,
) -> GpuReadiness:
    settings = client.gpu_settings(gpu_id)
    association = client.association(gpu_id)
    return GpuReadiness(
        resource=resource,
        kind=kind,
        logical_id=gpu_id,
        contract_id=contract_id,
        status=status,
        effective_strategy=settings.effective_strategy,
        warm_pool_state=client.warm_pool(gpu_id).state,
        standby_state=None if association is None else association.state,
        last_failover_at=settings.stats.last_failover_at,
        failovers_last_24h=settings.stats.failovers_last_24h,
    )
