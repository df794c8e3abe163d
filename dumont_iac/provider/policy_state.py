"""What the control plane is doing with a GPU, as a provider's read needs to know it.

A GPU whose marker is on no running contract may be moving (failover, recovery), asleep
(hibernation) or held (a budget). That is the policy's doing, not drift: read keeps the GPU
with its inputs unchanged, and its status says what is going on. Only when the control plane
says it is doing nothing with the GPU is a missing contract a GPU gone.
"""

from __future__ import annotations

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.config import DUMONT_API_KEY, DUMONT_API_URL
from dumont_iac.control_plane.models.responses import GpuStateOut
from dumont_iac.errors import DumontError, ProviderError

# Phases in which a GPU without a running contract is still the stack's GPU.
POLICY_PHASES = frozenset(
    {"failover", "recovering", "standby_active", "paused", "hibernated", "held"}
)


def policy_state(logical_id: str) -> GpuStateOut | None:
    """The control plane's answer; None when no control plane is configured (no key)."""
    if not DUMONT_API_KEY.resolve().is_set:
        return None
    try:
        return ControlPlaneClient().gpu_state(logical_id)
    except DumontError as exc:
        raise ProviderError(
            f"GPU {logical_id}: its contract is not running, and the control plane at "
            f"{DUMONT_API_URL.resolve().plain()} could not say whether a failover or a policy "
            f"has it ({exc}); run the refresh again once the control plane answers, so the GPU "
            "is not dropped or rented twice while it moves."
        ) from exc


def held_by_policy(logical_id: str) -> GpuStateOut | None:
    """The control plane's state when a policy has the GPU; None when none has."""
    state = policy_state(logical_id)
    return state if state is not None and state.phase in POLICY_PHASES else None
