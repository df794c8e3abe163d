"""A training GPU that keeps running when it fails.

- A warm pool: the primary GPU and stopped standbys on the same machine, sharing one volume.
  Losing the instance (a crash, a faulty GPU, an outbid) promotes a standby in under a minute.
- A CPU standby on AWS EC2 (spot) that receives the workspace every 30 s. Losing the whole
  machine makes it serve while a new GPU is rented elsewhere under the same constraints.
- Strategy ``both``: the warm pool first, the CPU standby when the pool cannot take over.

    pulumi config set dumont:vastUrl http://127.0.0.1:8000    # a sandbox; omit for Vast.ai
    pulumi config set --secret dumont:vastApiKey <key>
    pulumi config set dumont:apiUrl http://127.0.0.1:8001     # the control plane
    pulumi config set --secret dumont:apiKey <key>
    pulumi up
"""

import pulumi

from dumont_iac import CpuStandby, FailoverPolicy, WarmPool

config = pulumi.Config()

trainer = WarmPool(
    "trainer",
    image="pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime",
    min_vram_gb=16,
    max_price_per_hour=float(config.get("maxPricePerHour") or 0.80),
    standbys=int(config.get("standbys") or 1),
    volume_size_gb=50,
    label="trainer",
)
standby = CpuStandby(
    "trainer-standby",
    gpu=trainer,
    instance_type=config.get("standbyInstanceType") or "t3.medium",
)
policy = FailoverPolicy(
    "trainer-failover",
    gpu=trainer,
    strategy="both",
    failure_threshold=int(config.get("failureThreshold") or 3),
    opts=pulumi.ResourceOptions(depends_on=[standby]),
)

pulumi.export("gpu_id", trainer.logical_id)
pulumi.export("contract_id", trainer.contract_id)
pulumi.export("machine_id", trainer.machine_id)
pulumi.export("pool_state", trainer.state)
pulumi.export("standby_vm", standby.ec2_instance_id)
pulumi.export("standby_state", standby.state)
pulumi.export("strategy", policy.effective_strategy)
