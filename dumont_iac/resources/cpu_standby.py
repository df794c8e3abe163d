"""``CpuStandby``: a CPU VM on EC2 that receives a GPU's data and serves when the GPU fails.

    gpu = GpuInstance("train", image="pytorch/pytorch", max_price_per_hour=0.5)
    standby = CpuStandby("train-standby", gpu=gpu, instance_type="t3.medium")
    pulumi.export("standby_ip", standby.private_ip)

``gpu`` is a ``GpuInstance`` or a ``WarmPool`` of the program: it becomes the ``gpu_id`` and
``gpu_spec`` arguments (``dumont_iac.resources.gpu_reference``), so the standby is created after
the GPU and destroyed before it. Arguments and outputs: ``dumont_iac.models.cpu_standby``; what
the provider does with them: ``dumont_iac.provider.cpu_standby``.
"""

from __future__ import annotations

from typing import Any

import pulumi

from dumont_iac.models.cpu_standby import CpuStandbyArgs
from dumont_iac.provider.cpu_standby import CpuStandbyProvider
from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.gpu_reference import gpu_reference


class CpuStandby(DumontResource[CpuStandbyArgs], module="dumont", name="CpuStandby"):
    """A CPU standby VM for ``gpu``. Pass ``CpuStandbyArgs`` or the same fields as keywords."""

    model = CpuStandbyArgs
    provider = CpuStandbyProvider

    def __init__(
        self,
        resource_name: str,
        args: CpuStandbyArgs | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        gpu: Any = None,
        **kwargs: Any,
    ) -> None:
        given_id = kwargs.get("gpu_id") or (
            args.get("gpu_id") if isinstance(args, dict) else getattr(args, "gpu_id", None)
        )
        if gpu is None and not given_id:
            raise TypeError(
                f"CpuStandby {resource_name!r}: gpu= is required: the GpuInstance or WarmPool "
                "of this program that the standby protects"
            )
        if gpu is not None:
            gpu_id, gpu_spec = gpu_reference(gpu)
            if args is not None:  # the GPU's reference joins the other arguments
                given = (
                    args.model_dump(exclude_unset=True)
                    if isinstance(args, CpuStandbyArgs)
                    else args
                )
                kwargs, args = {**given, **kwargs}, None
            kwargs |= {"gpu_id": gpu_id, "gpu_spec": gpu_spec}
        super().__init__(resource_name, args, opts, **kwargs)
