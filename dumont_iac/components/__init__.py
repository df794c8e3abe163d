"""Components: several Dumont resources declared together, with defaults that fit a use.

    from dumont_iac.components import InferenceFleet, ResilientGpu

Each is a ``pulumi.ComponentResource`` (type ``dumont:components:<Name>``) whose children are
parented to it; its arguments are validated before anything is declared. ``docs/components.md``.
"""

from dumont_iac.components.inference_fleet import InferenceFleet, InferenceFleetArgs
from dumont_iac.components.resilient_gpu import ResilientGpu, ResilientGpuArgs

__all__ = ["InferenceFleet", "InferenceFleetArgs", "ResilientGpu", "ResilientGpuArgs"]
