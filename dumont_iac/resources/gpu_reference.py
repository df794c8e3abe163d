"""How a policy resource names the GPU it acts on: its logical id, and what a GPU rented in its
place must satisfy.

    standby = CpuStandby("train-standby", gpu=train, instance_type="t3.medium")

    class CpuStandby(TakesGpu, DumontResource[CpuStandbyArgs], module="dumont", ...): ...

``gpu`` is a ``GpuInstance`` or a ``WarmPool`` of the same program. The policy's ``gpu_id`` is the
GPU's resource id (so the policy depends on it, and is created after and destroyed before it),
and its ``gpu_spec`` is the GPU's declared arguments, which the control plane rents under when
it must replace the GPU (recovery, wake).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi

from dumont_iac.models.gpu_instance import GpuInstanceArgs
from dumont_iac.resources.base import DumontResource
from dumont_iac.schema import fields_of


def gpu_reference(gpu: Any, field: str = "gpu") -> tuple[pulumi.Output[str], dict[str, Any]]:
    """``(gpu_id, gpu_spec)`` of a declared GPU resource; a clear TypeError for anything else."""
    if not isinstance(gpu, DumontResource) or "logical_name" not in gpu.declared_arguments:
        raise TypeError(
            f"{field}: expected a GpuInstance or a WarmPool of this program, got "
            f"{type(gpu).__name__}"
        )
    wanted = fields_of(GpuInstanceArgs).arguments
    arguments = {k: v for k, v in gpu.declared_arguments.items() if k in wanted}
    arguments.pop("adopt_instance_id", None)  # a replacement is always rented anew
    return gpu.id, {"arguments": arguments, "label": arguments.get("label")}


class TakesGpu:
    """Mixin of a policy resource: its ``gpu=`` keyword becomes the model's ``gpu_id`` (and
    ``gpu_spec``, when the model has one). Put it before ``DumontResource`` in the bases."""

    model: ClassVar[Any]

    @classmethod
    def program_arguments(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        if "gpu" not in kwargs:
            return kwargs
        values = dict(kwargs)
        values["gpu_id"], gpu_spec = gpu_reference(values.pop("gpu"))
        if "gpu_spec" in fields_of(cls.model).arguments:
            values["gpu_spec"] = gpu_spec
        return values
