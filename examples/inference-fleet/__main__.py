"""A fleet of GPUs serving one port under a monthly budget that stops them at its limit.

    pulumi config set dumont:vastUrl http://127.0.0.1:8000      # a sandbox; omit for Vast.ai
    pulumi config set --secret dumont:vastApiKey <key>
    pulumi config set dumont:apiUrl http://127.0.0.1:8001       # the control plane
    pulumi config set --secret dumont:apiKey <key>
    pulumi up
    pulumi stack output endpoints                                # ["ip:port", ...]
"""

import pulumi

from dumont_iac.components import InferenceFleet

config = pulumi.Config()

fleet = InferenceFleet(
    "serve",
    image=config.get("image") or "ubuntu:22.04",
    count=int(config.get("count") or 2),
    port=int(config.get("port") or 8000),
    max_price_per_hour=float(config.get("maxPricePerHour") or 0.40),
    budget_limit_usd=float(config.get("limitUsd") or 1000),
    budget_action="stop",
    budget_webhook_url=config.get_secret("webhookUrl"),
)

pulumi.export("endpoints", fleet.endpoints)
pulumi.export("ssh_commands", fleet.ssh_commands)
pulumi.export("total_price_per_hour", fleet.total_price_per_hour)
pulumi.export("budget_worst_per_month", fleet.budget_worst_per_month)
pulumi.export("spend_usd", fleet.spend_usd)
