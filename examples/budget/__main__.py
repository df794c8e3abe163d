"""A training GPU and a fleet of workers under one monthly budget, declared last so that it
covers both. `dumont-iac cost .` exits 1 when their worst case is over the limit; a preview
fails the same way, naming each resource with its figure.

    pulumi config set budget:limitUsd 2000
    pulumi config set --secret budget:webhookUrl https://hooks.example.com/budget   # optional
    pulumi up
"""

import pulumi

from dumont_iac import Budget, GpuFleet, GpuInstance

config = pulumi.Config()
image = "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"

train = GpuInstance("train", image=image, min_vram_gb=24, max_price_per_hour=0.60)
workers = GpuFleet(
    "workers", image=image, count=int(config.get("fleetCount") or 2), max_price_per_hour=0.40
)
budget = Budget(
    "monthly",
    limit_usd=float(config.get("limitUsd") or 2000),
    alert_thresholds=[50, 80, 100],
    action="stop",
    webhook_url=config.get_secret("webhookUrl"),
)

pulumi.export("budget_worst_per_month", budget.worst_per_month)
pulumi.export("spend_usd", budget.spend_usd)
