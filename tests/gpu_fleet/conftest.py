"""Fixtures of the GpuFleet tests: the GpuInstance tests' small, fast sandbox (clock x200, rate
limits off, pacing scaled to zero) and deployments pointed at it."""

from tests.gpu_instance.conftest import gpu_sandbox, market, stack_factory

__all__ = ["gpu_sandbox", "market", "stack_factory"]
