"""Engine side of ``FailoverPolicy``: one GPU's failover settings on the control plane.

Create and update PUT the GPU's override (``use_global_settings=False``), delete removes it,
read reports the control plane's effective settings: an override removed out of band reads as
gone. The resource id is the GPU's logical id.
"""

from __future__ import annotations

import logging
from typing import Any

from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from dumont_iac import errors
from dumont_iac.clients.control_plane import ControlPlaneClient
from dumont_iac.control_plane.models.failover import GpuFailoverSettings
from dumont_iac.control_plane.models.responses import GpuSettingsOut
from dumont_iac.models.failover_policy import FailoverPolicyArgs
from dumont_iac.provider.base import SchemaProvider
from dumont_iac.schema import fields_of

log = logging.getLogger(__name__)


def settings_for(args: FailoverPolicyArgs) -> GpuFailoverSettings:
    return GpuFailoverSettings(
        use_global_settings=False,
        strategy=args.strategy,
        health_check_interval_seconds=args.health_check_interval_seconds,
        failure_threshold=args.failure_threshold,
        max_failovers_per_day=args.max_failovers_per_day,
        min_seconds_between_failovers=args.min_seconds_between_failovers,
        rebid_before_failover=args.rebid_before_failover,
    )


class FailoverPolicyProvider(SchemaProvider[FailoverPolicyArgs]):
    schema = FailoverPolicyArgs

    def create(self, props: dict) -> CreateResult:
        args = self.args(props)
        client = ControlPlaneClient()
        try:
            effective = client.put_gpu_settings(args.gpu_id, settings_for(args))
        except errors.NoResponse:
            # The PUT may have landed with its answer lost: take it back, so a failed create
            # leaves no override behind.
            _forget_quietly(client, args.gpu_id)
            raise
        return CreateResult(args.gpu_id, self._outs(args, effective))

    def read(self, id_: str, props: dict) -> ReadResult:
        effective = ControlPlaneClient().gpu_settings(id_)
        if effective.use_global_settings:  # the override is gone: the GPU follows the globals
            return self.gone()
        args = self.args(props)
        inputs = {k: v for k, v in props.items() if k in fields_of(FailoverPolicyArgs).arguments}
        return ReadResult(id_, self._outs(args, effective), inputs)

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        del olds
        args = self.args(news)
        effective = ControlPlaneClient().put_gpu_settings(id_, settings_for(args))
        return UpdateResult(self._outs(args, effective))

    def delete(self, id_: str, props: dict) -> None:
        del props
        ControlPlaneClient().delete_gpu_settings(id_)

    def _outs(self, args: FailoverPolicyArgs, effective: GpuSettingsOut) -> dict[str, Any]:
        return self.outs(
            args,
            effective_strategy=effective.effective_strategy,
            failovers_last_24h=effective.stats.failovers_last_24h,
            last_failover_at=effective.stats.last_failover_at,
        )


def _forget_quietly(client: ControlPlaneClient, gpu_id: str) -> None:
    try:
        client.delete_gpu_settings(gpu_id)
    except errors.DumontError as exc:
        log.warning("could not take back the failover settings of %s: %s", gpu_id, exc)
