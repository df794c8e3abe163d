"""``GpuInstance``: one rented GPU machine, declared by what it must satisfy, not by offer id.

    gpu = GpuInstance("train", min_vram_gb=24, max_price_per_hour=0.40, interruptible=True,
                      image="pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime")
    pulumi.export("ssh", gpu.ssh_command)

Arguments and outputs: ``dumont_iac.models.gpu_instance``; what the provider does with them:
``dumont_iac.provider.gpu_instance``.
"""

from __future__ import annotations

from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.provider.gpu_instance import GpuInstanceProvider
from dumont_iac.resources.base import DumontResource


class GpuInstance(DumontResource[GpuInstanceArgs], module="dumont", name="GpuInstance"):
    """A rented GPU machine. Pass ``GpuInstanceArgs`` or the same fields as keywords."""

    model = GpuInstanceArgs
    provider = GpuInstanceProvider
