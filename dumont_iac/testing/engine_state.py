"""The state the engine-protocol driver keeps between runs: plain, JSON-able, inspectable.

Per resource URN it holds what the Pulumi engine keeps in a checkpoint: type, id, the checked
inputs and the outputs (both with the ``__provider`` blob), which outputs are secret, and the
dependencies used to order deletions. Nothing is encrypted: tests read it to prove that no
credential ever reaches it (``contains_text`` also looks inside the provider blobs).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pydantic

PROVIDER_KEY = "__provider"


class ResourceState(pydantic.BaseModel):
    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_outputs: list[str] = []
    dependencies: list[str] = []
    sequence: int = 0
    """Order of creation; later resources are deleted first."""
    protect: bool = False
    retain_on_delete: bool = False

    def visible_outputs(self) -> dict[str, Any]:
        """The outputs without the provider blob."""
        return {k: v for k, v in self.outputs.items() if k != PROVIDER_KEY}


class StackState(pydantic.BaseModel):
    version: int = 1
    project: str
    stack: str
    resources: dict[str, ResourceState] = {}
    outputs: dict[str, Any] = {}
    secret_outputs: list[str] = []
    next_sequence: int = 1

    def put(self, resource: ResourceState, *, new: bool) -> None:
        """Store a resource; ``new`` gives it the next creation sequence number."""
        if new:
            resource.sequence = self.next_sequence
            self.next_sequence += 1
        self.resources[resource.urn] = resource

    def by_name(self, name: str) -> ResourceState:
        """The one resource with this logical name; KeyError naming the choices otherwise."""
        found = [r for r in self.resources.values() if r.name == name]
        if len(found) != 1:
            names = ", ".join(sorted(r.name for r in self.resources.values())) or "none"
            what = "no resource" if not found else f"{len(found)} resources"
            raise KeyError(f"{what} named {name!r} in the state; resources: {names}")
        return found[0]

    def ids(self) -> dict[str, str]:
        """Resource name -> id."""
        return {r.name: r.id for r in self.resources.values()}

    def deletion_order(self) -> list[str]:
        """URNs in the order to delete them: dependents before what they depend on, then the
        most recently created first."""
        remaining = dict(self.resources)
        order: list[str] = []
        while remaining:
            needed = {d for r in remaining.values() for d in r.dependencies if d != r.urn}
            free = [u for u in remaining if u not in needed] or list(remaining)
            pick = max(free, key=lambda u: remaining[u].sequence)
            order.append(pick)
            del remaining[pick]
        return order

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def contains_text(self, text: str) -> bool:
        """True if ``text`` appears anywhere in the state, including inside decoded provider
        blobs (a credential pickled into a provider would be hidden by base64)."""
        if not text:
            raise ValueError("contains_text needs a non-empty text")
        if text in self.to_json():
            return True
        needle = text.encode()
        for resource in self.resources.values():
            for props in (resource.inputs, resource.outputs):
                blob = props.get(PROVIDER_KEY)
                if isinstance(blob, str):
                    try:
                        if needle in base64.b64decode(blob, validate=True):
                            return True
                    except (binascii.Error, ValueError):
                        continue
        return False

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state atomically, so a crash mid-write never leaves half a file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self.to_json())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StackState:
        return cls.model_validate_json(Path(path).read_text())
