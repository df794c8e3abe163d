"""``WarmPool``: a GPU with stopped standby GPUs on the same machine, sharing one volume, that
the control plane fails over to in seconds.

    pool = WarmPool("train", standbys=1, gpu_models=["RTX 4090"], max_price_per_hour=0.6,
                    image="pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime")
    pulumi.export("ssh", pool.ssh_command)

Arguments and outputs: ``dumont_iac.models.warm_pool``; what the provider does with them:
``dumont_iac.provider.warm_pool``.
"""

from __future__ import annotations

from dumont_iac.models.warm_pool import WarmPoolArgs
from dumont_iac.provider.warm_pool import WarmPoolProvider
from dumont_iac.resources.base import DumontResource


class WarmPool(DumontResource[WarmPoolArgs], module="dumont", name="WarmPool"):
    """A GPU and its same-machine standbys. Pass ``WarmPoolArgs`` or the same fields as keywords."""

    model = WarmPoolArgs
    provider = WarmPoolProvider
