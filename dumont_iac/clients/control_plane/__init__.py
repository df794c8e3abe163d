"""The control plane (Dumont's ``/api/v1``, or a self-hosted ``dumont-iac control-plane``):
the decoding of its error answers."""
