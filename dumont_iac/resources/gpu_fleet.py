"""``GpuFleet``: N GPU machines of one kind from one declaration, rented in parallel.

    fleet = GpuFleet("workers", count=8, min_count=6, gpu_models=["RTX 4090"],
                     max_price_per_hour=0.5, image="pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime")
    pulumi.export("ssh", fleet.ssh_commands)

Arguments and outputs: ``dumont_iac.models.gpu_fleet``; what the provider does with them:
``dumont_iac.provider.gpu_fleet``.
"""

from __future__ import annotations

from dumont_iac.models.gpu_fleet import GpuFleetArgs
from dumont_iac.provider.gpu_fleet import GpuFleetProvider
from dumont_iac.resources.base import DumontResource


class GpuFleet(DumontResource[GpuFleetArgs], module="dumont", name="GpuFleet"):
    """GPUs rented together. Pass ``GpuFleetArgs`` or the same fields as keywords."""

    model = GpuFleetArgs
    provider = GpuFleetProvider
