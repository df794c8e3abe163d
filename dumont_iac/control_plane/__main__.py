"""``python -m dumont_iac.control_plane``: the same as ``dumont-iac control-plane``."""

from dumont_iac.control_plane.cli import control_plane

control_plane(prog_name="dumont-iac control-plane")
