"""The control plane: a service that holds failover, budget and policy settings, and acts on them."""
