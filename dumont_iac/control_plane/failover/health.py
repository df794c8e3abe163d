"""Is a GPU's current contract serving, and if not, why: one rule for every strategy."""

from __future__ import annotations

from dataclasses import dataclass

from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.provider.rentals import outbid_by

# States a contract passes through on its way to running (or while rebooting).
COMING_UP = frozenset({"created", "loading", "running", "rebooting"})


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str | None = None
    outbid_by: float | None = None
    """The winning bid ($/h) when the GPU lost its machine to a higher bid."""
    final: bool = False
    """The contract can never serve again (it exited): no need to check it again to be sure."""


def check(instance: Instance | None) -> Health:
    if instance is None:
        return Health(False, "no rental carries the GPU's label marker")
    actual = (instance.actual_status or "").lower()
    intended = (instance.intended_status or "running").lower()
    if actual == "offline":
        return Health(False, f"its machine {instance.machine_id} is offline")
    if actual in ("exited", "unknown"):
        detail = f"contract {instance.id} {actual}: {instance.status_msg or ''}"
        return Health(False, detail.strip(" :"), final=True)
    if intended == "stopped":
        return Health(True)  # stopped on purpose (by the user or a policy): not a failure
    if actual in COMING_UP or not actual:
        return Health(True)
    message = instance.status_msg or ""
    winning = outbid_by(instance)  # the provider's reading of the same message
    if winning is not None:
        return Health(False, f"outbid: {message}", outbid_by=winning)
    return Health(False, f"contract {instance.id} is {actual}: {message}".strip())
