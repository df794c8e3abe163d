"""Provider blobs frozen as test fixtures, so that moving or changing a provider class cannot
silently break the stacks already deployed with it.

Every deployed resource stores its provider as a dill pickle (``__provider``) that names the
provider's module and class. A fixture written by ``freeze`` keeps such a blob exactly as the SDK
serializes it; ``exercise`` then loads it in a fresh ``python -m pulumi.dynamic`` process and
takes a resource through Check, Create, Read and Delete with it. Regenerate fixtures only on
purpose (a new fixture per release; old ones stay and must keep passing)::

    python -m dumont_iac.testing.provider_blobs dumont_iac.testing.toy:ToyRecordProvider \\
        pulumi-python:dynamic/dumont-testing:ToyRecord tests/provider_core/fixtures/NAME.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider

from dumont_iac.testing.engine_process import PROVIDER_KEY, ProviderProcess


@dataclass(frozen=True)
class FrozenProvider:
    provider: str
    """``module:Class`` of the provider when the blob was written (for the reader only)."""
    resource_type: str
    blob: str
    versions: dict[str, str]
    """Versions of dumont-iac, pulumi, dill and Python that wrote the blob."""
    note: str = ""

    def urn(self, name: str, project: str = "project", stack: str = "fixture") -> str:
        return f"urn:pulumi:{stack}::{project}::{self.resource_type}::{name}"


@dataclass
class Exercise:
    """What a frozen blob did: the id it created, its outputs, the id read back before and
    after deletion (empty after: the resource is gone)."""

    id: str
    outputs: dict[str, Any]
    read_id: str
    read_id_after_delete: str


def freeze(provider: ResourceProvider, resource_type: str, note: str = "") -> FrozenProvider:
    """Serialize ``provider`` exactly as ``pulumi.dynamic.Resource`` does."""
    cls = type(provider)
    return FrozenProvider(
        provider=f"{cls.__module__}:{cls.__qualname__}",
        resource_type=resource_type,
        blob=serialize_provider(provider),
        versions={
            "dumont-iac": metadata.version("dumont-iac"),
            "pulumi": metadata.version("pulumi"),
            "dill": metadata.version("dill"),
            "python": platform.python_version(),
        },
        note=note,
    )


def write(frozen: FrozenProvider, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(
            f"{target} exists: a frozen blob is a record of a released version; write a new "
            "file, or pass force=True to replace it on purpose"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(asdict(frozen), indent=2, sort_keys=True) + "\n")
    return target


def read(path: str | os.PathLike[str]) -> FrozenProvider:
    data = json.loads(Path(path).read_text())
    return FrozenProvider(**data)


def exercise(
    process: ProviderProcess,
    frozen: FrozenProvider,
    inputs: Mapping[str, Any],
    *,
    name: str = "frozen",
) -> Exercise:
    """Check, Create, Read, Delete and Read again a resource through the frozen blob, in
    ``process`` (started and configured by the caller). Raises AssertionError naming the step
    that misbehaved; ProviderOperationError when the provider fails."""
    urn = frozen.urn(name, project=process.project)
    news = {**inputs, PROVIDER_KEY: frozen.blob}
    checked = process.check(urn, {}, news)
    if checked.failures:
        raise AssertionError(f"Check with the frozen blob failed: {checked.failures}")
    if checked.inputs.get(PROVIDER_KEY) != frozen.blob:
        raise AssertionError("Check did not keep the frozen blob as __provider")
    id_, outputs = process.create(urn, checked.inputs)
    if not id_:
        raise AssertionError("Create with the frozen blob returned no id")
    read_back = process.read(urn, id_, outputs, checked.inputs)
    process.delete(urn, id_, outputs, checked.inputs)
    after = process.read(urn, id_, outputs, checked.inputs)
    return Exercise(id_, outputs, read_back.id, after.id)


@dataclass
class Created:
    """A resource the current provider created: what its state holds."""

    urn: str
    id: str
    outputs: dict[str, Any]


def create_with(
    process: ProviderProcess,
    provider: ResourceProvider,
    frozen: FrozenProvider,
    inputs: Mapping[str, Any],
    *,
    name: str = "mixed",
) -> Created:
    """Create a resource through ``provider``'s own blob, in the frozen blob's resource type,
    so that ``delete_with`` can take it away with the frozen one: a stack whose resources were
    written by one version and are destroyed by another holds both."""
    urn = frozen.urn(name, project=process.project)
    news = {**inputs, PROVIDER_KEY: serialize_provider(provider)}
    checked = process.check(urn, {}, news)
    if checked.failures:
        raise AssertionError(f"Check with the current provider failed: {checked.failures}")
    id_, outputs = process.create(urn, checked.inputs)
    return Created(urn, id_, outputs)


def delete_with(process: ProviderProcess, frozen: FrozenProvider, created: Created) -> None:
    """Delete ``created`` with the frozen blob in its state instead of the one it was made by."""
    process.delete(created.urn, created.id, {**created.outputs, PROVIDER_KEY: frozen.blob})


def _load_provider(spec: str) -> ResourceProvider:
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise SystemExit(f"provider must be given as module:Class, got {spec!r}")
    target = getattr(importlib.import_module(module_name), attr)
    return target()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dumont_iac.testing.provider_blobs",
        description="Freeze a provider blob into a JSON fixture.",
    )
    parser.add_argument("provider", help="module:Class (or a factory) building the provider")
    parser.add_argument("resource_type", help="e.g. pulumi-python:dynamic/dumont:GpuInstance")
    parser.add_argument("output", help="the fixture file to write")
    parser.add_argument("--note", default="", help="why this blob was frozen")
    parser.add_argument("--force", action="store_true", help="replace an existing fixture")
    args = parser.parse_args(argv)
    frozen = freeze(_load_provider(args.provider), args.resource_type, args.note)
    path = write(frozen, args.output, force=args.force)
    print(f"wrote {path} ({len(frozen.blob)} base64 characters, {frozen.provider})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
