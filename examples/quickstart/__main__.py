"""Rent the cheapest interruptible GPU with at least 24 GB of VRAM under a price cap.

    pulumi config set dumont:vastUrl http://127.0.0.1:8000      # or VAST_URL; omit for Vast.ai
    pulumi config set --secret dumont:vastApiKey <key>           # or VAST_API_KEY
    pulumi up
"""

import pulumi

from dumont_iac import GpuInstance

config = pulumi.Config()
max_price = float(config.get("maxPricePerHour") or "0.60")

gpu = GpuInstance(
    "quickstart",
    image="pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
    min_vram_gb=24,
    max_price_per_hour=max_price,
    interruptible=True,
    label="quickstart",
)

pulumi.export("ssh_command", gpu.ssh_command)
pulumi.export("price_per_hour", gpu.price_per_hour)
pulumi.export("gpu", gpu.gpu_name)
