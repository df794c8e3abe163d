"""A team's stack: a training GPU that survives failures (``ResilientGpu``: a warm pool, a CPU
standby, snapshots, hibernation and its own budget) and a cheap dev GPU, under one team budget
declared last, which stops every GPU of the stack at its limit and refuses a preview that
declares more GPUs than ``maxConcurrentGpus``.

    pulumi config set dumont:vastUrl http://127.0.0.1:8000      # a sandbox; omit for Vast.ai
    pulumi config set --secret dumont:vastApiKey <key>
    pulumi config set dumont:apiUrl http://127.0.0.1:8001       # the control plane
    pulumi config set --secret dumont:apiKey <key>
    pulumi up
"""

import pulumi

from dumont_iac import Budget, GpuInstance
from dumont_iac.components import ResilientGpu

config = pulumi.Config()
image = config.get("image") or "ubuntu:22.04"

trainer = ResilientGpu(
    "trainer",
    image=image,
    min_vram_gb=16,
    max_price_per_hour=0.80,
    snapshot_bucket=config.get("snapshotBucket") or "team-stack-snapshots",
    idle_minutes=int(config.get("idleMinutes") or 240),
    budget_limit_usd=2000,
)
dev = GpuInstance("dev", image=image, max_price_per_hour=0.30, label="team-dev")
team = Budget(
    "team",
    limit_usd=float(config.get("limitUsd") or 3000),
    action="stop",
    max_concurrent_gpus=int(config.get("maxConcurrentGpus") or 4),
    webhook_url=config.get_secret("webhookUrl"),
)

pulumi.export("trainer_gpu_id", trainer.gpu_id)
pulumi.export("trainer_ssh", trainer.ssh_command)
pulumi.export("trainer_pool_state", trainer.pool_state)
pulumi.export("trainer_standby_state", trainer.standby_state)
pulumi.export("dev_ssh", dev.ssh_command)
pulumi.export("team_worst_per_month", team.worst_per_month)
pulumi.export("team_spend_usd", team.spend_usd)
