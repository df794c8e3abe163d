"""No secret reaches an artefact: a stack of every resource type is deployed into the world
with distinctive secrets, goes up, is refreshed, fails an update and is destroyed, and then
everything the run left behind is searched for each secret, plain and encoded (``scan.py``):
the state file, the outputs, the provider logs, the exception texts, both services' databases
and the control plane's event log, and what this process printed and logged.

The control plane's database is the one place that must hold a budget's webhook URL and
signing secret (it signs each alert with them, see docs/security.md): it is searched for the
keys only.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import pulumi
import pytest

from dumont_iac import (
    Budget,
    CpuStandby,
    FailoverPolicy,
    GpuFleet,
    GpuInstance,
    HibernationPolicy,
    SnapshotPolicy,
    WarmPool,
)
from dumont_iac.control_plane.events import MAX_PAGE
from dumont_iac.testing import DeploymentError, Market

from .scan import Finding, files_under, scan_text, scan_tree

GPU = {"image": "ubuntu:22.04", "max_price_per_hour": 1.0, "disk_gb": 10}
# Where the control plane keeps what it needs to sign alerts: searched for the keys only.
CONTROL_PLANE_DB = "world-control-plane.db"


def program(hook_url: str, signing_secret: str, bucket: str, extra: bool) -> Any:
    def run() -> None:
        GpuInstance("dev", **GPU)
        GpuFleet("workers", count=2, **GPU)
        pool = WarmPool("trainer", standbys=1, volume_size_gb=20, **GPU)
        standby = CpuStandby("trainer-standby", gpu=pool)
        FailoverPolicy("trainer-failover", gpu=pool, strategy="both",
                       opts=pulumi.ResourceOptions(depends_on=[standby]))  # fmt: skip
        snapshots = SnapshotPolicy("trainer-snapshots", gpu=pool, bucket=bucket)
        HibernationPolicy("trainer-hibernation", gpu=pool, snapshots=snapshots)
        if extra:
            GpuInstance("extra", **GPU)
        Budget("team", limit_usd=1_000_000, action="stop", webhook_url=hook_url,
               signing_secret=signing_secret)  # fmt: skip
        pulumi.export("dev_gpus", 1)

    return run


def test_no_secret_reaches_any_artefact(deployment_factory, world, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    keys = {
        "control-plane key": world.control_plane_key,
        "marketplace key": world.marketplace.api_key,
        "AWS secret access key": f"DumontScanAwsSecret/{secrets.token_urlsafe(24)}",
    }
    hook_token = secrets.token_hex(16)
    webhook = {
        "webhook signing secret": f"whsec-scan-{secrets.token_urlsafe(24)}",
        "webhook URL token": hook_token,
    }
    everything = {**keys, **webhook}
    env = {
        **world.exports(),
        "AWS_ACCESS_KEY_ID": "AKIADUMONTSCAN0000001",  # moto takes any pair of credentials
        "AWS_SECRET_ACCESS_KEY": keys["AWS secret access key"],
        "DUMONT_PACING_SCALE": "0",
    }
    env.pop("VAST_API_KEY")
    env.pop("DUMONT_API_KEY")  # the keys come from the stack's secret config instead
    shape = {
        "hook_url": f"http://127.0.0.1:9/hooks/{hook_token}",
        "signing_secret": webhook["webhook signing secret"],
        "bucket": f"scan-{secrets.token_hex(4)}",
    }
    extra = {"value": False}
    stack = deployment_factory(
        lambda: program(**shape, extra=extra["value"])(),
        project="scan",
        stack="ci",
        secret_config={
            "dumont:vastApiKey": world.marketplace.api_key,
            "dumont:apiKey": world.control_plane_key,
        },
        env=env,
        call_timeout=120.0,
    )

    results = [stack.up(), stack.refresh()]
    extra["value"] = True
    with Market(world.marketplace) as market:
        market.arm(method="PUT", path="/api/v0/asks/*", kind="error", status=500, times=50)
        with pytest.raises(DeploymentError) as failed:
            stack.up()
        market.fault("faults", method="DELETE")
        extra["value"] = False
        results.append(stack.destroy())
        assert market.instances() == []
    with world.control_plane.client(world.control_plane_key, timeout=10) as http:
        events = http.get("/api/v1/events", params={"limit": MAX_PAGE}).text
    assert json.loads(events)["events"]  # the stack's doings are in the log searched

    told = [str(failed.value), repr(failed.value), *map(str, failed.value.errors)]
    if failed.value.result is not None:
        results.append(failed.value.result)
    out, err = capfd.readouterr()
    texts = {
        "outputs": json.dumps([r.outputs for r in results]),
        "exception": "\n".join(told),
        "provider logs": "\n".join(stack.provider_logs),
        "state": stack.state.to_json(),
        "event log": events,
        "stdout": out,
        "stderr": err,
        "log records": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
    }
    findings: list[Finding] = []
    for where, text in texts.items():
        findings += scan_text(where, text, everything)
    findings += [
        f
        for f in scan_tree(tmp_path, everything)
        if f.secret in keys or not f.where.startswith(CONTROL_PLANE_DB)
    ]
    assert not findings, "\n".join(map(str, findings))
    assert not any(stack.state.contains_text(value) for value in everything.values())
    searched = {path.name for path in files_under(tmp_path)}
    assert {CONTROL_PLANE_DB, "world-market.db"} <= searched  # both services' databases
    assert stack.state_file is not None and stack.state_file.name in searched
