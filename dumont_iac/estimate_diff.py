"""The change a plan makes to the monthly cost, against a deployed state: per resource added
(+), changed (~) or removed (-), and the total as "Amount: +$X ($A -> $B)", as infracost
shows it.

The state is this package's driver state (``Deployment(state_file=...)``) or ``pulumi stack
export`` output; each Dumont resource in it is priced by its provider from its recorded inputs,
the same way the plan is, so an unchanged resource shows no change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dumont_iac.costs import HOURS_PER_MONTH, ResourceCost
from dumont_iac.errors import ProjectError


@dataclass(frozen=True)
class Change:
    name: str
    kind: str
    past: float | None  # expected $/month; None: not deployed (added) or not priced
    now: float | None  # None: removed

    @property
    def sign(self) -> str:
        if self.past is None and self.now is not None:
            return "+"
        if self.now is None:
            return "-"
        return "~"

    @property
    def amount(self) -> float:
        return round((self.now or 0.0) - (self.past or 0.0), 2)


def deployed_resources(path: str | Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(name, type token, inputs)`` of each resource in a state file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ProjectError(f"--compare-to {path}: not a readable JSON state file ({exc})") from None
    if isinstance(data.get("resources"), Mapping):  # the driver's state
        for resource in data["resources"].values():
            yield resource["name"], resource["type"], resource.get("inputs") or {}
        return
    exported = (data.get("deployment") or {}).get("resources")
    if not isinstance(exported, list):
        raise ProjectError(
            f"--compare-to {path}: neither a dumont-iac state nor `pulumi stack export` output"
        )
    for resource in exported:
        urn = str(resource.get("urn", ""))
        yield urn.rsplit("::", 1)[-1], str(resource.get("type", "")), resource.get("inputs") or {}


def changes(
    now: Mapping[tuple[str, str], ResourceCost],
    past: Mapping[tuple[str, str], ResourceCost],
) -> list[Change]:
    """Resources that differ, keyed by (name, kind); unchanged ones are left out."""
    found: list[Change] = []
    for key in sorted(set(now) | set(past)):
        before, after = _month(past.get(key)), _month(now.get(key))
        if key in past and key in now and before == after:
            continue
        found.append(
            Change(key[0], key[1], before if key in past else None, after if key in now else None)
        )
    return found


def price_state(
    path: str | Path, price: Callable[[str, dict[str, Any]], tuple[str, ResourceCost] | None]
) -> dict[tuple[str, str], tuple[ResourceCost, dict[str, Any]]]:
    """Each deployed resource's cost and recorded inputs, by (name, kind)."""
    priced: dict[tuple[str, str], tuple[ResourceCost, dict[str, Any]]] = {}
    for name, token, inputs in deployed_resources(path):
        found = price(token, inputs)
        if found is not None:
            priced[(name, found[0])] = (found[1], inputs)
    return priced


def _month(cost: ResourceCost | None) -> float | None:
    if cost is None or cost.expected_per_hour is None:
        return None
    return round(cost.expected_per_hour * HOURS_PER_MONTH, 2)


def markdown(found: list[Change], past_total: float, now_total: float) -> str:
    lines = ["", "#### Change against the deployed state", "", "```diff"]
    for change in found:
        shown = f"{change.sign} {change.name} ({change.kind}): {_signed(change.amount)}"
        if change.sign == "~":
            shown += f" (${change.past or 0:,.2f} -> ${change.now or 0:,.2f})"
        lines.append(shown)
    if not found:
        lines.append("  no resource changes cost")
    lines.append("```")
    lines.append("")
    lines.append(
        f"Amount: {_signed(now_total - past_total)} (${past_total:,.2f} -> ${now_total:,.2f}) "
        "per month, at the prices offers have now"
    )
    return "\n".join(lines) + "\n"


def _signed(amount: float) -> str:
    amount = round(amount, 2)
    return f"+${amount:,.2f}" if amount >= 0 else f"-${-amount:,.2f}"
