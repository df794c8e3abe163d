"""The control plane's share of a load run: each client writes settings documents as the
resources register them (a GPU's failover settings, its snapshot policy, a budget scoped to
it), reads each back, overwrites two of them, and the audit then reads every one again.

Each write carries a value unique to it where the API shows one back (a snapshot policy's
``keep_at_most``, a budget's threshold) and the second write of a document differs from the
first (another failover strategy, another threshold), so an overwrite that is lost shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dumont_iac.testing.load.caller import Caller

STRATEGIES = ("warm_pool", "cpu_standby", "both", "disabled")
FAILOVER = "/api/v1/failover/settings/machines"
SNAPSHOTS = "/api/v1/snapshots/policies"
BUDGETS = "/api/v1/budgets"


@dataclass
class Expected:
    """One user's acknowledged writes: the value each document must show last."""

    strategies: dict[str, str] = field(default_factory=dict)  # GPU id -> effective strategy
    keep_at_most: dict[str, int] = field(default_factory=dict)  # GPU id -> snapshot policy's
    thresholds: dict[int, float] = field(default_factory=dict)  # budget id -> threshold
    budget_names: dict[int, str] = field(default_factory=dict)


def gpu_id(client: int, op: int) -> str:
    return f"load-c{client:03d}-o{op:02d}"


async def run_client(caller: Caller, client: int, ops: int, expected: Expected) -> None:
    for op in range(ops):
        gpu = gpu_id(client, op)
        serial = client * ops + op
        await _failover(caller, gpu, STRATEGIES[serial % 4], expected)
        await _snapshot_policy(caller, gpu, 1 + serial % 1000, expected)
        budget = await _budget(caller, gpu, 1000.0 + serial, expected)
        if budget is not None:
            await _rebudget(caller, budget, gpu, 5000.0 + serial, expected)
        await _failover(caller, gpu, STRATEGIES[(serial + 1) % 4], expected)


async def _failover(caller: Caller, gpu: str, strategy: str, expected: Expected) -> None:
    body = {"use_global_settings": False, "strategy": strategy, "failure_threshold": 3}
    answer = await caller.call("put failover settings", "PUT", f"{FAILOVER}/{gpu}", json=body)
    if answer is None or answer.status_code != 200:
        caller.unexpected("put failover settings", answer)
        return
    expected.strategies[gpu] = strategy
    await _check(caller, "get failover settings", f"{FAILOVER}/{gpu}", "effective_strategy",
                 strategy)  # fmt: skip


async def _snapshot_policy(caller: Caller, gpu: str, keep: int, expected: Expected) -> None:
    body = {"bucket": f"{gpu}-snapshots", "interval_minutes": 60, "keep_at_most": keep}
    answer = await caller.call("put snapshot policy", "PUT", f"{SNAPSHOTS}/{gpu}", json=body)
    if answer is None or answer.status_code != 200:
        caller.unexpected("put snapshot policy", answer)
        return
    expected.keep_at_most[gpu] = keep
    await _check(caller, "get snapshot policy", f"{SNAPSHOTS}/{gpu}", "keep_at_most", keep)


async def _budget(caller: Caller, gpu: str, threshold: float,
                  expected: Expected) -> int | None:  # fmt: skip
    body = {"name": gpu, "threshold": threshold, "gpu_ids": [gpu]}
    answer = await caller.call("create budget", "POST", BUDGETS, json=body)
    if answer is None or answer.status_code != 201:
        caller.unexpected("create budget", answer)
        return None
    budget = int(answer.json()["id"])
    expected.thresholds[budget] = threshold
    expected.budget_names[budget] = gpu
    await _check(caller, "get budget", f"{BUDGETS}/{budget}", "threshold", threshold)
    return budget


async def _rebudget(caller: Caller, budget: int, gpu: str, threshold: float,
                    expected: Expected) -> None:  # fmt: skip
    body = {"name": gpu, "threshold": threshold, "gpu_ids": [gpu]}
    answer = await caller.call("replace budget", "PUT", f"{BUDGETS}/{budget}", json=body)
    if answer is None or answer.status_code != 200:
        caller.unexpected("replace budget", answer)
        return
    expected.thresholds[budget] = threshold
    await _check(caller, "get budget", f"{BUDGETS}/{budget}", "threshold", threshold)


async def _check(caller: Caller, operation: str, path: str, name: str, wanted: Any) -> None:
    answer = await caller.call(operation, "GET", path)
    if answer is None or answer.status_code != 200:
        caller.unexpected(operation, answer)
        caller.figures.lost.append(f"{path}: written, then not readable")
        return
    shown = answer.json().get(name)
    if shown != wanted:
        caller.figures.lost.append(f"{path}: {name} written {wanted!r}, read back {shown!r}")


async def audit(caller: Caller, expected: Expected) -> None:
    """One user's documents, read again after every client is done: each shows its last
    acknowledged value, and the budget list holds exactly the budgets created."""
    lost = caller.figures.lost
    answer = await caller.call("list failover settings", "GET", FAILOVER)
    if answer is None or answer.status_code != 200:
        caller.unexpected("list failover settings", answer)
        lost.append(f"failover settings unreadable: {len(expected.strategies)} unchecked")
    else:
        shown = {g["gpu_id"]: g["effective_strategy"] for g in answer.json()["gpus"]}
        for gpu, strategy in expected.strategies.items():
            if shown.get(gpu) != strategy:
                lost.append(f"{FAILOVER}/{gpu}: strategy {strategy!r}, listed {shown.get(gpu)!r}")
    for gpu, keep in expected.keep_at_most.items():
        await _check(caller, "get snapshot policy", f"{SNAPSHOTS}/{gpu}", "keep_at_most", keep)
    answer = await caller.call("list budgets", "GET", BUDGETS)
    if answer is None or answer.status_code != 200:
        caller.unexpected("list budgets", answer)
        lost.append(f"budgets unreadable: {len(expected.thresholds)} unchecked")
        return
    listed = {b["id"]: b for b in answer.json()["budgets"] if b["name"].startswith("load-")}
    for budget, threshold in expected.thresholds.items():
        shown = listed.get(budget, {}).get("threshold")
        if shown != threshold:
            lost.append(f"{BUDGETS}/{budget}: threshold {threshold!r}, listed {shown!r}")
    for budget in listed.keys() - expected.thresholds.keys():
        lost.append(f"{BUDGETS}/{budget} ({listed[budget]['name']!r}) was never acknowledged")
