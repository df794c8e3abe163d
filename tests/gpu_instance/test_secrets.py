"""The marketplace API key never shows: not in the driver's state (provider blobs included), not
in outputs, not in the provider's log lines, not in what the test process logs."""

from __future__ import annotations

from dumont_iac import GpuInstance, GpuInstanceArgs
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.provider.renting import offer_filter_for

ARGS = {"image": "ubuntu:22.04", "max_price_per_hour": 1.0, "label": "secret-check"}


def program() -> None:
    GpuInstance("only", **ARGS)


def test_no_api_key_in_the_state_or_the_outputs(stack_factory, gpu_sandbox):
    stack = stack_factory(program, project="secrets")
    result = stack.up()
    key = gpu_sandbox.api_key
    only = stack.state.by_name("only")
    assert only.inputs["__provider"] and only.outputs["contract_id"]  # a real, full state
    assert not stack.state.contains_text(key)
    assert key not in stack.state_file.read_text()
    assert key not in repr(result.outputs) and key not in repr(only.outputs)
    stack.refresh()
    assert stack.state.resources and not stack.state.contains_text(key)


def test_no_api_key_in_the_logs(stack_factory, gpu_sandbox, market, caplog):
    caplog.set_level("DEBUG", logger="dumont_iac")
    # A lost rent answer makes the provider log its recovery too.
    market.fault("faults", {"method": "PUT", "path": "/api/v0/asks/*", "kind": "drop"})
    stack = stack_factory(program, project="secrets", env={"DUMONT_LOG_LEVEL": "DEBUG"})
    stack.up()
    stack.refresh()
    stack.destroy()
    key = gpu_sandbox.api_key
    logs = "\n".join(stack.provider_logs)
    assert "dumont_iac.http" in logs and "PUT /api/v0/asks/" in logs  # logging did happen
    assert "recovered by label" in logs and "DELETE /api/v0/instances/" in logs
    assert key not in logs
    # The same client in this process, on the dumont_iac.http logger.
    client = MarketplaceClient(gpu_sandbox.url, key, pacing_scale=0)
    client.search_offers(offer_filter_for(GpuInstanceArgs(**ARGS)), cached=False)
    lines = [record.getMessage() for record in caplog.records]
    assert any("POST /api/v0/bundles/" in line for line in lines)
    assert all(key not in line for line in lines) and key not in repr(client)
