"""Arguments and outputs of ``FailoverPolicy``: how the control plane fails one GPU over.

The policy is the GPU's own failover settings on the control plane (an override of the user's
global settings). Every argument but ``gpu_id`` changes in place; another GPU replaces the
policy. The resource id is the GPU's logical id: one policy per GPU.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from dumont_iac.control_plane.models.common import GPU_ID_PATTERN
from dumont_iac.schema import ResourceSchema, arg, computed

Strategy = Literal["warm_pool", "cpu_standby", "both", "disabled"]


class FailoverPolicyArgs(ResourceSchema):
    """Arguments and outputs of a GPU's failover policy."""

    resource_name: ClassVar[str] = "FailoverPolicy"

    gpu_id: str = arg(
        replaces=True,
        pattern=GPU_ID_PATTERN,
        description="Logical id of the GPU the policy protects (a GpuInstance's or a "
        "WarmPool's id; the program passes gpu=<resource>).",
    )
    strategy: Strategy | None = arg(
        None,
        description="warm_pool, cpu_standby, both or disabled. Default: the control plane's "
        "choice (both when the GPU has a warm pool and a CPU standby).",
    )
    health_check_interval_seconds: int = arg(
        10, ge=1, le=3_600, description="Seconds between two health checks of the GPU."
    )
    failure_threshold: int = arg(
        3, ge=1, le=100, description="Failed health checks in a row that start a failover."
    )
    max_failovers_per_day: int = arg(
        5, ge=0, le=100, description="At most this many failovers in 24 hours (0: none)."
    )
    min_seconds_between_failovers: int = arg(
        300, ge=0, le=86_400, description="At least this long between two failovers."
    )
    rebid_before_failover: bool = arg(
        True,
        description="An outbid interruptible GPU is first re-bid, up to its "
        "max_price_per_hour, before it is failed over.",
    )

    # Computed by the provider, from the control plane.
    effective_strategy: str | None = computed(
        description="The strategy the control plane applies (the default resolved)."
    )
    failovers_last_24h: int | None = computed(description="Failovers in the last 24 hours.")
    last_failover_at: float | None = computed(
        description="When the last failover finished (Unix time), or none yet."
    )
