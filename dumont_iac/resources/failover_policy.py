"""``FailoverPolicy``: how the control plane fails one GPU over, declared next to the GPU.

    gpu = GpuInstance("train", image="pytorch/pytorch", min_vram_gb=24, max_price_per_hour=0.6)
    FailoverPolicy("train-failover", gpu=gpu, strategy="cpu_standby", failure_threshold=5)

Arguments and outputs: ``dumont_iac.models.failover_policy``; what the provider does with them:
``dumont_iac.provider.failover_policy``.
"""

from __future__ import annotations

from dumont_iac.models.failover_policy import FailoverPolicyArgs
from dumont_iac.provider.failover_policy import FailoverPolicyProvider
from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.gpu_reference import TakesGpu


class FailoverPolicy(
    TakesGpu, DumontResource[FailoverPolicyArgs], module="dumont", name="FailoverPolicy"
):
    """A GPU's failover policy. Pass ``gpu=<GpuInstance|WarmPool>`` and the policy's fields."""

    model = FailoverPolicyArgs
    provider = FailoverPolicyProvider
