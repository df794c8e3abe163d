"""The engine side of ``HibernationPolicy``: the policy registered with the control plane,
whose agent pauses, destroys and (on ``wake``) rents the GPU again.

Create refuses a GPU with no snapshot policy registered: pausing snapshots the workspace first,
and that snapshot needs a bucket. Read reports the GPU's hibernation state; the GPU's own
resource reads a hibernated GPU as the policy's doing, not as drift.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.models.gpus import GpuSpec
from dumont_iac.control_plane.models.hibernation import HibernationPolicyOut, HibernationPolicySpec
from dumont_iac.errors import ProviderError
from dumont_iac.models.hibernation_policy import HibernationPolicyArgs
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.schema import fields_of

ID_PREFIX = "hibernation-"


def spec_of(args: HibernationPolicyArgs) -> HibernationPolicySpec:
    if not args.gpu_spec:
        raise ProviderError(
            f"HibernationPolicy for GPU {args.gpu_id}: gpu_spec is not set; declare the policy "
            "with gpu=<GpuInstance|WarmPool>, which sets what a GPU rented on wake must satisfy"
        )
    return HibernationPolicySpec(
        idle_threshold_percent=float(args.idle_threshold_percent),
        idle_minutes=args.idle_minutes,
        destroy_after_minutes=args.destroy_after_minutes,
        gpu_spec=GpuSpec.model_validate(args.gpu_spec),
    )


class HibernationPolicyProvider(SchemaProvider[HibernationPolicyArgs]):
    schema = HibernationPolicyArgs

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        client = ControlPlaneClient()
        spec = spec_of(args)
        if client.snapshot_policy(args.gpu_id) is None:
            raise ProviderError(
                f"HibernationPolicy for GPU {args.gpu_id}: the GPU has no snapshot policy, so "
                "pausing it would lose its data; declare SnapshotPolicy(..., gpu=<the GPU>) and "
                "pass it as snapshots=<that SnapshotPolicy>"
            )
        registered = client.put_hibernation_policy(args.gpu_id, spec)
        return CreateResult(ID_PREFIX + args.gpu_id, self.outs(args, **_outputs(registered)))

    def read(self, id_: str, props: dict) -> ReadResult:
        args = self.args(props)
        registered = ControlPlaneClient().hibernation_policy(args.gpu_id)
        if registered is None:
            return self.gone()
        inputs = {k: v for k, v in props.items() if k in fields_of(HibernationPolicyArgs).arguments}
        return ReadResult(id_, self.outs(args, **_outputs(registered)), inputs)

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        new = self.args(news)
        registered = ControlPlaneClient().put_hibernation_policy(new.gpu_id, spec_of(new))
        return UpdateResult(self.outs(new, **_outputs(registered)))

    def delete(self, id_: str, props: dict) -> None:
        ControlPlaneClient().delete_hibernation_policy(self.args(props).gpu_id)


def _outputs(registered: HibernationPolicyOut) -> dict[str, Any]:
    state = registered.hibernation
    return {
        "state": state.state,
        "state_since": state.since,
        "snapshot_key": state.snapshot_key,
        "reason": state.reason,
    }
