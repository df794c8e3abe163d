"""CpuStandby's arguments: defaults, what each change does, refused values, and its price."""

from __future__ import annotations

import pytest

from dumont_iac import CpuStandby, CpuStandbyArgs
from dumont_iac.clients.aws.pricing import ebs_hourly, ec2_hourly
from dumont_iac.errors import InvalidArgumentsError
from dumont_iac.provider.cpu_standby import CpuStandbyProvider, logical_id_for
from dumont_iac.schema import diff, fields_of, validate_arguments

GPU_SPEC = {"arguments": {"image": "ubuntu:22.04", "logical_name": "p/s/train"}, "label": None}


def args(**overrides):
    return CpuStandbyArgs.model_validate(
        {"gpu_id": "gpu-0123456789ab", "logical_name": "p/s/standby", **overrides}
    )


def test_defaults_follow_the_documented_standby():
    a = args()
    assert (a.instance_type, a.region, a.spot, a.disk_size_gb) == ("t3.medium", "us-east-1",
                                                                  True, 100)  # fmt: skip
    assert (a.sync_interval_seconds, a.health_check_interval_seconds, a.failure_threshold) == (
        30, 10, 3)  # fmt: skip
    assert a.auto_failover and a.auto_recovery


def test_what_picks_the_vm_replaces_and_the_failover_settings_update_in_place():
    policies = fields_of(CpuStandbyArgs).arguments
    replacing = {name for name, policy in policies.items() if policy.replaces}
    assert replacing == {"gpu_id", "instance_type", "region", "subnet_id", "security_group_ids",
                         "spot", "disk_size_gb", "image_id", "logical_name"}  # fmt: skip
    old = args().model_dump(mode="json")
    planned = diff(CpuStandbyArgs, old, {**old, "failure_threshold": 5, "tags": {"a": "b"}})
    assert planned.changes and not planned.replaces
    planned = diff(CpuStandbyArgs, old, {**old, "instance_type": "t3.large"})
    assert planned.replaces == ["instance_type"]


def test_the_logical_id_changes_with_what_replaces_only():
    assert logical_id_for(args()).startswith("standby-")
    assert logical_id_for(args()) == logical_id_for(args(failure_threshold=7))
    assert logical_id_for(args()) != logical_id_for(args(gpu_id="gpu-ba9876543210"))


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("tags", {"dumont:gpu": "x"}, "set by the provider"),
        ("tags", {"Name": "x"}, "set by the provider"),
        ("security_group_ids", ["default"], "is not a security group id"),
        ("subnet_id", "my-subnet", "subnet-"),
        ("region", "US East", "pattern"),
        ("failure_threshold", 0, "greater than or equal to 1"),
        ("sync_interval_seconds", 1, "greater than or equal to 5"),
        ("gpu_spec", {"arguments": {"image": ""}}, "image"),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value, said):
    with pytest.raises(InvalidArgumentsError) as failed:
        validate_arguments(CpuStandbyArgs, {"gpu_id": "gpu-1", field: value})
    assert field in str(failed.value) and said in str(failed.value)


def test_a_gpu_spec_from_a_declared_gpu_is_accepted():
    assert args(gpu_spec=GPU_SPEC).gpu_spec == GPU_SPEC


def test_gpu_must_be_a_gpu_of_the_program():
    with pytest.raises(TypeError, match="gpu: expected a GpuInstance or a WarmPool"):
        CpuStandby("standby", gpu="gpu-0123456789ab")
    with pytest.raises(TypeError, match="gpu= is required"):
        CpuStandby("standby")


def test_cost_is_the_vm_and_its_volume_with_on_demand_as_the_worst_case():
    cost = CpuStandbyProvider.cost(args(), market=None)  # type: ignore[arg-type]
    disk = ebs_hourly(100)
    assert cost.expected_per_hour == pytest.approx(ec2_hourly("t3.medium", True)[0] + disk)
    assert cost.worst_per_hour == pytest.approx(ec2_hourly("t3.medium", False)[0] + disk)
    assert "spot" in cost.basis and "100 GB gp3" in cost.basis
    on_demand = CpuStandbyProvider.cost(args(spot=False), market=None)  # type: ignore[arg-type]
    assert on_demand.expected_per_hour == on_demand.worst_per_hour


def test_a_program_with_a_standby_is_priced_before_deploy(tmp_path, sandbox):
    from dumont_iac.clients.marketplace import MarketplaceClient
    from dumont_iac.estimate import estimate_program

    (tmp_path / "Pulumi.yaml").write_text("name: standby\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "from dumont_iac import CpuStandby, GpuInstance\n"
        "gpu = GpuInstance('train', image='ubuntu:22.04', max_price_per_hour=0.5)\n"
        "CpuStandby('train-standby', gpu=gpu, spot=False, disk_size_gb=20)\n"
    )
    client = MarketplaceClient(sandbox.url, sandbox.api_key, pacing_scale=0)
    estimate = estimate_program(tmp_path, market=client)
    (standby,) = [r for r in estimate.resources if r.kind == "CpuStandby"]
    assert standby.cost.expected_per_hour == standby.cost.worst_per_hour
    assert standby.cost.worst_per_hour == pytest.approx(0.0416 + ebs_hourly(20))
    assert "t3.medium, on-demand" in standby.cost.basis
