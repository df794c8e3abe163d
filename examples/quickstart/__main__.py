"""Rent the cheapest interruptible GPU with at least 24 GB of VRAM under a price cap.

    pulumi config set dumont:vastUrl http://127.0.0.1:8000      # or VAST_URL; omit for Vast.ai
    pulumi config set --secret dumont:vastApiKey <key>           # or VAST_API_KEY
    pulumi up

Optional settings: maxPricePerHour (default 0.60 $/h), image, label, desiredState
(running or stopped: stop the GPU and keep its disk, then start it again later).
"""

import pulumi

from dumont_iac import GpuInstance

config = pulumi.Config()

gpu = GpuInstance(
    "quickstart",
    image=config.get("image") or "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
    min_vram_gb=24,
    max_price_per_hour=config.get_float("maxPricePerHour") or 0.60,
    interruptible=True,
    label=config.get("label") or "quickstart",
    desired_state=config.get("desiredState") or "running",
)

pulumi.export("ssh_command", gpu.ssh_command)
pulumi.export("price_per_hour", gpu.price_per_hour)
pulumi.export("gpu", gpu.gpu_name)
pulumi.export("logical_id", gpu.logical_id)
