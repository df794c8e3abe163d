"""What an EC2 VM bills per hour, for cost estimates and budget accrual.

AWS's Price List API is a separate service with its own credentials and a large download, and
moto does not serve it; a CPU standby uses a handful of small types, so their us-east-1 Linux
on-demand prices are listed here (checked against aws.amazon.com/ec2/pricing, 2026). Spot is
priced at ``SPOT_FRACTION`` of on-demand: spot prices float, and a budget's worst case must not
assume the cheapest moment. Unknown types are priced at the largest listed rate, so an estimate
errs on the expensive side and says so in its basis.
"""

from __future__ import annotations

from dumont_iac.costs import HOURS_PER_MONTH

ON_DEMAND_PER_HOUR = {
    "t3.nano": 0.0052,
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "t3a.medium": 0.0376,
    "t3a.large": 0.0752,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
    "m5.large": 0.096,
    "m5.xlarge": 0.192,
    "m6i.large": 0.096,
    "c5.large": 0.085,
    "c6i.large": 0.085,
    "r5.large": 0.126,
}
SPOT_FRACTION = 0.4
EBS_GP3_PER_GB_MONTH = 0.08


def ec2_hourly(instance_type: str, spot: bool) -> tuple[float, str]:
    """``(price per hour in $, basis)`` of one VM of ``instance_type``."""
    listed = ON_DEMAND_PER_HOUR.get(instance_type)
    if listed is None:
        rate, basis = max(ON_DEMAND_PER_HOUR.values()), f"{instance_type} (unlisted: priced high)"
    else:
        rate, basis = listed, instance_type
    if spot:
        return round(rate * SPOT_FRACTION, 6), f"{basis}, spot at {SPOT_FRACTION:.0%} of on-demand"
    return rate, f"{basis}, on-demand"


def ebs_hourly(size_gb: float) -> float:
    """What a gp3 volume of ``size_gb`` bills per hour, $ (it bills whether the VM runs or not)."""
    return round(size_gb * EBS_GP3_PER_GB_MONTH / HOURS_PER_MONTH, 6)
