"""The engine's steps, played against a real provider process: what ``pulumi up``, ``preview``,
``refresh`` and ``destroy`` do with each resource.

Per registered resource: Check (olds = prior inputs) -> Diff (olds = prior outputs) -> nothing,
Update, or a replacement (Create then Delete, or Delete then Create when asked). After a
successful program, what the prior state holds and the program no longer registers is deleted,
dependents first. A preview makes the Check and Diff calls only and changes no state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc

from dumont_iac.errors import CheckFailedError, ProtectedResourceError
from dumont_iac.testing.engine_monitor import Registration
from dumont_iac.testing.engine_process import PROVIDER_KEY, ProviderProcess
from dumont_iac.testing.engine_state import ResourceState, StackState

KINDS = ("created", "updated", "replaced", "deleted", "unchanged")


@dataclass
class DeploymentResult:
    """What one run did: URNs per kind of step, and the stack outputs."""

    operation: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the program warned about (``pulumi.log.warn``), as ``pulumi up`` would show it."""
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each registered resource's inputs as the provider's Check returned them, by URN."""

    def names(self, kind: str) -> list[str]:
        """Sorted resource names (the last URN part) for one kind: created, updated, ..."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        return sorted(urn.rsplit("::", 1)[-1] for urn in getattr(self, kind))

    @property
    def counts(self) -> dict[str, int]:
        """Resources per kind, every kind present: ``{"created": 2, "updated": 0, ...}``."""
        return {kind: len(getattr(self, kind)) for kind in KINDS}

    @property
    def changed(self) -> bool:
        return any(getattr(self, kind) for kind in KINDS if kind != "unchanged")

    def record(self, kind: str, urn: str) -> None:
        getattr(self, kind).append(urn)


class Steps:
    """One run's steps over ``state``; ``provider()`` returns the started, configured process."""

    def __init__(
        self,
        operation: str,
        state: StackState,
        provider: Callable[[], ProviderProcess],
        *,
        preview: bool = False,
        persist: Callable[[StackState], None] = lambda state: None,
        parallel: int = 4,
    ) -> None:
        self.state = state
        self.provider = provider
        self.preview = preview
        self.persist = persist
        self.parallel = parallel
        self.result = DeploymentResult(operation)
        self.registered: set[str] = set()
        self._lock = threading.RLock()

    # --- up / preview -------------------------------------------------------------------

    def register(self, reg: Registration) -> tuple[str, dict[str, Any]]:
        """Bring one registered resource to its declared inputs; returns (id, outputs)."""
        with self._lock:
            if reg.urn in self.registered:
                raise RuntimeError(f"{reg.urn} was registered twice; resource names must be unique")
            self.registered.add(reg.urn)
            prior = self.state.resources.get(reg.urn)
        news = _ignoring_changes(reg, prior)
        proc = self.provider()
        checked = proc.check(reg.urn, prior.inputs if prior else {}, news)
        if checked.failures:
            raise CheckFailedError(reg.urn, checked.failures)
        inputs = checked.inputs
        with self._lock:
            self.result.inputs[reg.urn] = inputs
        if prior is None:
            if self.preview:
                return self._planned("created", reg, "", inputs)
            return self._create(reg, inputs, kind="created")
        diff = proc.diff(reg.urn, prior.id, prior.outputs, inputs, prior.inputs)
        changed_inputs = _changed_keys(prior.inputs, inputs)
        changes = diff.changes if diff.changes is not None else bool(changed_inputs)
        replace = bool(diff.replaces) or any(
            key in changed_inputs or key == "*" for key in reg.replace_on_changes
        )
        if not changes and not replace:
            # As the engine's "same" step: new inputs (new provider blob), old outputs.
            kept = prior.model_copy(update={"inputs": inputs, "dependencies": reg.dependencies})
            self._store("unchanged", kept, new=False)
            return prior.id, self._visible(kept)
        if replace:
            if prior.protect:
                raise ProtectedResourceError(f"{reg.urn} is protected and would be replaced")
            if self.preview:
                return self._planned("replaced", reg, "", inputs)
            if diff.delete_before_replace or reg.delete_before_replace:
                self._delete(prior, forget=False)
                self._forget(None, prior.urn)
                return self._create(reg, inputs, kind="replaced")
            created = self._create(reg, inputs, kind="replaced")
            self._delete(prior, forget=False)
            return created
        if self.preview:
            # Dynamic providers do not preview updates: outputs not among the inputs are unknown.
            return self._planned("updated", reg, prior.id, inputs)
        outputs = proc.update(reg.urn, prior.id, prior.outputs, inputs, prior.inputs)
        updated = self._resource(reg, prior.id, inputs, outputs)
        updated.sequence = prior.sequence
        self._store("updated", updated, new=False)
        return prior.id, self._visible(updated)

    def delete_unregistered(self) -> None:
        """Delete what the prior state holds and this run did not register."""
        order = [u for u in self.state.deletion_order() if u not in self.registered]
        self._refuse_protected(order, "is protected and the program no longer declares it")
        if self.preview:
            for urn in order:
                self.result.record("deleted", urn)
        else:
            self._delete_all(order)

    def _create(self, reg: Registration, inputs: dict, kind: str) -> tuple[str, dict[str, Any]]:
        id_, outputs = self.provider().create(reg.urn, inputs)
        resource = self._resource(reg, id_, inputs, outputs)
        self._store(kind, resource, new=True)
        return id_, self._visible(resource)

    def _planned(
        self, kind: str, reg: Registration, id_: str, outputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        with self._lock:
            self.result.record(kind, reg.urn)
        resource = self._resource(reg, id_, outputs, outputs)
        return id_, self._visible(resource)

    def _resource(
        self, reg: Registration, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> ResourceState:
        secret = sorted(reg.secret_inputs | set(reg.additional_secret_outputs))
        return ResourceState(
            urn=reg.urn,
            type=reg.type,
            name=reg.name,
            id=id_,
            inputs=inputs,
            outputs=outputs,
            secret_outputs=secret,
            dependencies=reg.dependencies,
            protect=reg.protect,
            retain_on_delete=reg.retain_on_delete,
        )

    @staticmethod
    def _visible(resource: ResourceState) -> dict[str, Any]:
        """Outputs as the program sees them: the engine marks secret ones (and the blob) secret."""
        secret = set(resource.secret_outputs) | {PROVIDER_KEY}
        return {
            k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in resource.outputs.items()
        }

    # --- refresh / destroy ----------------------------------------------------------------

    def refresh(self) -> None:
        """Read every resource: drop the gone, take the live outputs (and inputs) of the rest."""
        resources = list(self.state.resources.values())
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            for resource, outcome in zip(resources, pool.map(self._read, resources), strict=True):
                if not outcome.id:
                    self._forget("deleted", resource.urn)
                    continue
                refreshed = resource.model_copy(
                    update={
                        "id": outcome.id,
                        "outputs": outcome.outputs,
                        "inputs": outcome.inputs if outcome.inputs is not None else resource.inputs,
                    }
                )
                same = refreshed.outputs == resource.outputs and refreshed.id == resource.id
                self._store("unchanged" if same else "updated", refreshed, new=False)

    def _read(self, resource: ResourceState) -> Any:
        return self.provider().read(resource.urn, resource.id, resource.outputs, resource.inputs)

    def destroy(self) -> None:
        order = self.state.deletion_order()
        self._refuse_protected(order, "is protected; unprotect it before destroy")
        self._delete_all(order)

    def _delete_all(self, order: list[str]) -> None:
        """Delete as the engine does: up to ``parallel`` at once, and never a resource while
        another one still to delete depends on it. ``order`` is the sequential deletion order.
        After a failure the deletions under way finish, none starts, and the first error is
        raised."""
        remaining = list(order)
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            while remaining:
                needed = {
                    dep
                    for urn in remaining
                    for dep in self.state.resources[urn].dependencies
                    if dep != urn
                }
                wave = [u for u in remaining if u not in needed] or remaining[:1]
                futures = [pool.submit(self._delete, self.state.resources[u]) for u in wave]
                errors = [e for e in (f.exception() for f in futures) if e is not None]
                if errors:
                    raise errors[0]
                remaining = [u for u in remaining if u not in wave]

    def _refuse_protected(self, urns: list[str], why: str) -> None:
        """Fail before deleting anything, as the engine does, when one resource is protected."""
        protected = [u for u in urns if self.state.resources[u].protect]
        if protected:
            names = ", ".join(u.rsplit("::", 1)[-1] for u in protected)
            raise ProtectedResourceError(f"{names} {why}")

    # --- state ------------------------------------------------------------------------------

    def _delete(self, resource: ResourceState, forget: bool = True) -> None:
        if not resource.retain_on_delete:
            self.provider().delete(resource.urn, resource.id, resource.outputs, resource.inputs)
        if forget:
            self._forget("deleted", resource.urn)

    def _store(self, kind: str, resource: ResourceState, *, new: bool) -> None:
        with self._lock:
            self.state.put(resource, new=new)
            self.result.record(kind, resource.urn)
            self.persist(self.state)

    def _forget(self, kind: str | None, urn: str) -> None:
        with self._lock:
            self.state.resources.pop(urn, None)
            if kind:
                self.result.record(kind, urn)
            self.persist(self.state)


def _ignoring_changes(reg: Registration, prior: ResourceState | None) -> dict[str, Any]:
    """The inputs with ``ignore_changes`` properties taken from the prior inputs, as the engine
    does before Check."""
    news = dict(reg.inputs)
    if prior is None:
        return news
    for key in reg.ignore_changes:
        if key in prior.inputs:
            news[key] = prior.inputs[key]
        else:
            news.pop(key, None)
    return news


def _changed_keys(olds: dict[str, Any], news: dict[str, Any]) -> set[str]:
    keys = (set(olds) | set(news)) - {PROVIDER_KEY}
    return {k for k in keys if olds.get(k) != news.get(k)}
