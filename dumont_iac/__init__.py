"""dumont-iac: rented GPUs, their failover and their budgets as Pulumi code."""

__version__ = "0.1.0"

__all__ = ["__version__"]
