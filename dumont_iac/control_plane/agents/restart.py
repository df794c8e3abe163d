"""The ``restart`` action: find a GPU's current contract by its label marker, and bring it up.

A stopped contract is started, a running one rebooted. Starting is safe to repeat, which
matters: when a replica dies mid-action the next lease holder runs the action again from the
start. The contract is found through ``MarketplaceClient``, exactly as on the real marketplace.
"""

from __future__ import annotations

from typing import Any

from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Instance
from dumont_iac.control_plane.failover.context import GpuContext
from dumont_iac.provider.labels import LABEL_MARK, LABEL_SEPARATOR

STOPPED = frozenset({"stopped", "exited", "inactive"})


class NoContract(Exception):
    """The GPU has no rental carrying its marker: nothing to restart."""


def carries(label: str | None, gpu_id: str) -> bool:
    """True when ``label`` ends with the GPU's marker, as the provider writes it."""
    marker = LABEL_MARK + gpu_id
    return bool(label) and (label == marker or str(label).endswith(LABEL_SEPARATOR + marker))


def current_contract(client: MarketplaceClient, gpu_id: str) -> Instance:
    found = [instance for instance in client.instances() if carries(instance.label, gpu_id)]
    if not found:
        raise NoContract(
            f"No rental carries the label marker {LABEL_MARK}{gpu_id}; the GPU is not rented "
            "(deploy it first) or its label was changed."
        )
    return max(found, key=lambda instance: instance.id)  # the newest is the current one


def restart(ctx: GpuContext) -> dict[str, Any]:
    client = ctx.market
    contract = current_contract(client, ctx.gpu_id)
    state = (contract.actual_status or "").lower()
    if state in STOPPED or (contract.intended_status or "").lower() in STOPPED:
        client.start(contract.id)
        did = "start"
    else:
        client.reboot(contract.id)
        did = "reboot"
    return {"contract_id": contract.id, "did": did, "was": state or "unknown"}
