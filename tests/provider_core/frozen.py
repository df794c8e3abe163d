"""What the tests of released versions' state share: each resource's frozen blobs of every
release as a parameter, where the recorded states are, and a provider process pointed at the
sandbox the resource lives in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from dumont_iac.testing import ProviderProcess, provider_blobs
from tests.gpu_instance.helpers import CLEAN_ENV

FIXTURES = Path(__file__).parent / "fixtures"
STATE = FIXTURES / "state"
"""Recorded states, one per resource and schema version (``<resource>-v<version>.json``)."""
PROJECT = "frozen"


def blob_files(stem: str) -> list[Path]:
    """Every release's frozen blob of one resource (``<stem>-<version>.json``)."""
    return sorted(FIXTURES.glob(f"{stem}-*.json"))


def each_blob(stem: str) -> pytest.MarkDecorator:
    """Run the test once per frozen blob of the resource, given as ``frozen``."""
    files = blob_files(stem)
    return pytest.mark.parametrize(
        "frozen", [provider_blobs.read(f) for f in files], ids=[f.stem for f in files]
    )


def marketplace_provider(factory: Callable[..., ProviderProcess], sandbox: Any) -> ProviderProcess:
    """A provider process reaching only ``sandbox``, through the stack's config."""
    process = factory(project=PROJECT, env=CLEAN_ENV)
    process.configure(
        {"dumont:vastUrl": sandbox.url, "dumont:vastApiKey": sandbox.api_key},
        ["dumont:vastApiKey"],
    )
    return process


def world_provider(factory: Callable[..., ProviderProcess], world: Any) -> ProviderProcess:
    """A provider process reaching the world's marketplace, control plane and moto through
    its environment, as a deployed stack's provider does. moto's backends live in this
    process, shared by every moto server in it: what earlier tests left there is reset."""
    httpx.post(f"{world.aws.url}/moto-api/reset", timeout=30).raise_for_status()
    process = factory(project=PROJECT, env={**world.exports(), "DUMONT_PACING_SCALE": "0"})
    process.configure({})
    return process
