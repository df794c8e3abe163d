"""What a GPU must satisfy, as its resource declared it: registered with each policy that may
have to rent it anew (CPU standby recovery, hibernation wake, a warm pool's replacement
standby), so the control plane rents under the user's own constraints and caps."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from dumont_iac.control_plane.models.common import Body
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.models.gpu_instance import GpuInstanceArgs

GPU_SPEC_EXAMPLE: dict[str, Any] = {
    "arguments": {
        "logical_name": "ml/dev/train",
        "gpu_models": ["RTX 4090"],
        "max_price_per_hour": 0.5,
        "interruptible": True,
        "image": "pytorch/pytorch:latest",
        "disk_gb": 40,
    },
    "label": "train",
}


class GpuSpec(Body):
    """A GPU's arguments (those of ``GpuInstanceArgs``) and its user label."""

    arguments: dict[str, Any] = Field(
        description="The GPU's declared arguments, as GpuInstance takes them: a GPU rented "
        "for it satisfies every one, price caps included."
    )
    label: str | None = Field(default=None, max_length=200)

    model_config = ConfigDict(json_schema_extra={"examples": [GPU_SPEC_EXAMPLE]})

    @field_validator("arguments")
    @classmethod
    def _valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            GpuInstanceArgs.model_validate(value)
        except InvalidArgumentsError as exc:
            raise ValueError(str(exc)) from None
        return value

    def args(self) -> GpuInstanceArgs:
        return GpuInstanceArgs.model_validate(self.arguments)
