"""Program-side resources: one module per resource, each an Args schema and a Resource class."""

from dumont_iac.resources.gpu_instance import GpuInstanceArgs

SCHEMAS = (GpuInstanceArgs,)
"""Every resource schema, in the order the reference documents them."""
