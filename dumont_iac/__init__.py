"""dumont-iac: rented GPUs, their failover and their budgets as Pulumi code."""

from dumont_iac.resources.gpu_instance import GpuInstance, GpuInstanceArgs

__version__ = "0.1.0"

__all__ = ["GpuInstance", "GpuInstanceArgs", "__version__"]
