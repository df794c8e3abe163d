"""The control plane (Dumont's ``/api/v1``, or a self-hosted ``dumont-iac control-plane``): a
typed client and the decoding of its error answers."""

from dumont_iac.clients.control_plane.client import ControlPlaneClient

__all__ = ["ControlPlaneClient"]
