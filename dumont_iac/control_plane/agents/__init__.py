"""The control plane's background agents, ticking on its clock (see ``runner.py``)."""
