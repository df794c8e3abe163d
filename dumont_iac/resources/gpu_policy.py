"""The program-side base of policy resources that act on one GPU: ``gpu=`` is turned into the
``gpu_id`` and ``gpu_spec`` arguments (``gpu_reference``), so the policy depends on the GPU."""

from __future__ import annotations

from typing import Any, TypeVar

import pulumi

from dumont_iac import schema
from dumont_iac.resources.base import DumontResource
from dumont_iac.resources.gpu_reference import gpu_reference

ArgsT = TypeVar("ArgsT", bound=schema.ResourceSchema)


class GpuPolicyResource(DumontResource[ArgsT]):
    """Pass ``gpu=<GpuInstance|WarmPool>`` besides the model's own fields."""

    def __init__(
        self,
        resource_name: str,
        args: ArgsT | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        gpu: Any = None,
        **kwargs: Any,
    ) -> None:
        if gpu is not None:
            gpu_id, gpu_spec = gpu_reference(gpu)
            kwargs.setdefault("gpu_id", gpu_id)
            kwargs.setdefault("gpu_spec", gpu_spec)
        super().__init__(resource_name, args, opts, **kwargs)
