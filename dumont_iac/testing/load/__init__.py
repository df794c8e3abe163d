"""Load runs against the local world: many concurrent clients on the marketplace and the
control plane, and an audit that every acknowledged write is still there (``bench/load.py``)."""

from dumont_iac.testing.load.run import LoadPlan, LoadReport, load_world, run_load

__all__ = ["LoadPlan", "LoadReport", "load_world", "run_load"]
