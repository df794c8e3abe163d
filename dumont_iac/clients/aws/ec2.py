"""EC2 VMs for CPU standbys: run one (spot by default), describe it, find VMs by tag, retag and
terminate them, each call's errors translated into the ``AwsError`` tree.

    ec2 = Ec2("us-east-1")
    vm = ec2.launch(VmSpec("t3.medium"), identity=("dumont:standby", sid))
    vm = ec2.wait_running(vm.instance_id, timeout=300)
    ec2.terminate(vm.instance_id); ec2.wait_terminated(vm.instance_id, timeout=300)

Idempotency: a launch looks for a live VM carrying its ``identity`` tag first (a retried or
resumed create adopts it), and runs with a ``ClientToken`` derived from that tag, so
retries of the same call (boto3's own, or a lost answer) never start a second VM. EC2 keeps a
token for at least a day after its VM is terminated and answers a reused token with that
terminated VM; ``launch`` then moves on to the token's next generation.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dumont_iac.clients.aws.session import client as aws_client
from dumont_iac.clients.aws.session import region_or_default, translated
from dumont_iac.errors import AwsError, AwsNotFound

# Public SSM parameters AWS publishes in every commercial region (moto's server serves them
# too); Canonical's Ubuntu parameters exist on AWS but not in moto.
IMAGE_PARAMETERS = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}
LIVE_STATES = ("pending", "running", "stopping", "stopped")
GONE_STATES = ("shutting-down", "terminated")
POLL_SECONDS = 2.0
MAX_TOKEN_GENERATIONS = 20


@dataclass(frozen=True)
class VmSpec:
    """What to run. ``image_id`` None: the latest Amazon Linux 2023 for the type's CPU."""

    instance_type: str
    image_id: str | None = None
    spot: bool = True
    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    disk_size_gb: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Vm:
    instance_id: str
    state: str
    instance_type: str
    image_id: str | None
    private_ip: str | None
    public_ip: str | None
    zone: str | None
    spot: bool
    tags: dict[str, str]
    state_reason: str | None = None

    @property
    def gone(self) -> bool:
        return self.state in GONE_STATES


def architecture_of(instance_type: str) -> str:
    """Graviton families carry a ``g`` after the generation (t4g, m7g, c6gn): arm64."""
    family = instance_type.split(".", 1)[0]
    digits = family.lstrip("abcdefghijklmnopqrstuvwxyz")
    suffix = digits.lstrip("0123456789")
    return "arm64" if suffix.startswith("g") else "x86_64"


def client_token(token_base: str, generation: int = 0) -> str:
    """At most 64 ASCII characters, as RunInstances allows."""
    digest = hashlib.sha256(f"{token_base}/{generation}".encode()).hexdigest()[:40]
    return f"dumont-{digest}"


class Ec2:
    """EC2 calls in one region. ``ec2_client`` / ``ssm_client``: boto3 clients to use instead
    of building them (tests register botocore event hooks on them)."""

    def __init__(
        self, region: str | None = None, *, ec2_client: Any = None, ssm_client: Any = None
    ) -> None:
        self.region = region_or_default(region)
        self.client = ec2_client or aws_client("ec2", self.region)
        self._ssm = ssm_client

    # --- images -----------------------------------------------------------------------------

    def default_image(self, instance_type: str) -> str:
        """The latest Amazon Linux 2023 image for the type's CPU, from AWS's public parameter."""
        name = IMAGE_PARAMETERS[architecture_of(instance_type)]
        ssm = self._ssm or aws_client("ssm", self.region)
        try:
            with translated("GetParameter"):
                return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except AwsError as exc:
            raise AwsError(
                f"no default image for {instance_type} in {self.region}: the public SSM "
                f"parameter {name} could not be read ({exc.code or exc.message}); give "
                "image_id (an AMI id of that region) instead.",
                operation="GetParameter",
                code=exc.code,
            ) from exc

    # --- run --------------------------------------------------------------------------------

    def launch(self, spec: VmSpec, *, identity: tuple[str, str]) -> Vm:
        """The live VM tagged ``identity`` (key, value), or a new one carrying that tag."""
        key, value = identity
        found = self.find_by_tag(key, value)
        if found:
            return found[0]
        image_id = spec.image_id or self.default_image(spec.instance_type)
        for generation in range(MAX_TOKEN_GENERATIONS):
            token = client_token(f"{key}={value}", generation)
            vm = self.run(spec, image_id=image_id, token=token, extra_tags={key: value})
            if not vm.gone:
                return vm
            # The token launched a VM that was terminated since: EC2 answers with it again.
        raise AwsError(
            f"RunInstances: {MAX_TOKEN_GENERATIONS} client tokens for {value} all name "
            "terminated VMs; wait a day or rename the resource.",
            operation="RunInstances",
        )

    def run(
        self,
        spec: VmSpec,
        *,
        image_id: str,
        token: str,
        extra_tags: Mapping[str, str] | None = None,
    ) -> Vm:
        """One RunInstances call (boto3 retries it safely: the token makes repeats one VM)."""
        tags = {**spec.tags, **(extra_tags or {})}
        request: dict[str, Any] = {
            "ImageId": image_id,
            "InstanceType": spec.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "ClientToken": token,
        }
        if tags:
            request["TagSpecifications"] = [
                {"ResourceType": kind, "Tags": _tag_list(tags)} for kind in ("instance", "volume")
            ]
        if spec.spot:
            request["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {
                    "SpotInstanceType": "one-time",
                    "InstanceInterruptionBehavior": "terminate",
                },
            }
        if spec.subnet_id:
            request["SubnetId"] = spec.subnet_id
        if spec.security_group_ids:
            request["SecurityGroupIds"] = list(spec.security_group_ids)
        if spec.disk_size_gb:
            request["BlockDeviceMappings"] = [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": {
                        "VolumeSize": spec.disk_size_gb,
                        "DeleteOnTermination": True,
                        "VolumeType": "gp3",
                    },  # fmt: skip
                }
            ]
        with translated("RunInstances"):
            answer = self.client.run_instances(**request)
        return _vm(answer["Instances"][0])

    # --- look -------------------------------------------------------------------------------

    def describe(self, instance_id: str) -> Vm | None:
        """The VM, or None when EC2 no longer knows it (terminated long ago, or never was)."""
        try:
            with translated("DescribeInstances"):
                answer = self.client.describe_instances(InstanceIds=[instance_id])
        except AwsNotFound:
            return None
        vms = [_vm(i) for r in answer.get("Reservations", []) for i in r.get("Instances", [])]
        return vms[0] if vms else None

    def find_by_tag(self, key: str, value: str, *, include_gone: bool = False) -> list[Vm]:
        """VMs carrying tag ``key=value``, newest first; live ones only unless ``include_gone``
        (sweepers and tests look for leftovers with it)."""
        return self._find({"Name": f"tag:{key}", "Values": [value]}, include_gone)

    def find_by_tag_key(self, key: str) -> list[Vm]:
        """Live VMs carrying tag ``key`` with any value, newest first."""
        return self._find({"Name": "tag-key", "Values": [key]}, False)

    def _find(self, tag_filter: dict[str, Any], include_gone: bool) -> list[Vm]:
        states = [*LIVE_STATES, *GONE_STATES] if include_gone else list(LIVE_STATES)
        filters = [tag_filter, {"Name": "instance-state-name", "Values": states}]
        vms: list[tuple[Any, Vm]] = []
        with translated("DescribeInstances"):
            for page in self.client.get_paginator("describe_instances").paginate(Filters=filters):
                for reservation in page.get("Reservations", []):
                    for raw in reservation.get("Instances", []):
                        vms.append((raw.get("LaunchTime"), _vm(raw)))
        vms.sort(key=lambda pair: (pair[0] is not None, pair[0]), reverse=True)
        return [vm for _, vm in vms]

    # --- change -----------------------------------------------------------------------------

    def set_tags(
        self, instance_id: str, tags: Mapping[str, str], remove: Iterable[str] = ()
    ) -> None:
        gone = sorted(set(remove) - set(tags))
        with translated("CreateTags"):
            if tags:
                self.client.create_tags(Resources=[instance_id], Tags=_tag_list(tags))
            if gone:
                self.client.delete_tags(Resources=[instance_id], Tags=[{"Key": k} for k in gone])

    def terminate(self, instance_id: str) -> None:
        """Ask EC2 to terminate the VM; one already gone (or unknown) counts as done."""
        try:
            with translated("TerminateInstances"):
                self.client.terminate_instances(InstanceIds=[instance_id])
        except AwsNotFound:
            return

    # --- wait -------------------------------------------------------------------------------

    def wait_running(self, instance_id: str, *, timeout: float) -> Vm:
        """The VM once running; AwsError at once if it ends instead (a spot VM reclaimed while
        starting), TimeoutError past ``timeout``."""

        def running() -> Vm | None:
            vm = self.describe(instance_id)
            if vm is not None and vm.gone:
                raise AwsError(
                    f"VM {instance_id} ended before it ran ({vm.state_reason or vm.state}).",
                    operation="RunInstances",
                )
            # None: a VM just launched may not be visible yet (EC2 is eventually consistent).
            return vm if vm is not None and vm.state == "running" else None

        return _poll(running, timeout, f"VM {instance_id} to run")

    def wait_terminated(self, instance_id: str, *, timeout: float) -> None:
        def terminated() -> bool | None:
            vm = self.describe(instance_id)
            return True if vm is None or vm.state == "terminated" else None

        _poll(terminated, timeout, f"VM {instance_id} to be terminated")


def _poll(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up waiting after {timeout:g} s for {what}")
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _vm(raw: Mapping[str, Any]) -> Vm:
    return Vm(
        instance_id=raw["InstanceId"],
        state=raw.get("State", {}).get("Name", "unknown"),
        instance_type=raw.get("InstanceType", ""),
        image_id=raw.get("ImageId"),
        private_ip=raw.get("PrivateIpAddress") or None,
        public_ip=raw.get("PublicIpAddress") or None,
        zone=raw.get("Placement", {}).get("AvailabilityZone") or None,
        spot=raw.get("InstanceLifecycle") == "spot",
        tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
        state_reason=(raw.get("StateReason") or {}).get("Message"),
    )
