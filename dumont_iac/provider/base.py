"""The engine-side base of every provider: check and diff from the schema, the stack's config
handed over, and older state migrated before a provider method sees it.

A concrete provider sets ``schema`` and writes create/read/update/delete with Pulumi's own
names and signatures. Provider objects are pickled into every stack's state and unpickled in a
fresh process, so the instance keeps nothing: the schema is a class attribute, clients are built
inside the methods.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pulumi.dynamic import CheckResult, ConfigureRequest, DiffResult, ReadResult, ResourceProvider

from dumont_iac import config, schema
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.costs import ResourceCost
from dumont_iac.provider.logs import log_to_stderr

ArgsT = TypeVar("ArgsT", bound=schema.ResourceSchema)

# Which positional parameters of each method hold prior state (after self).
_STATE_PARAMETERS = {"read": (1,), "update": (1,), "delete": (1,), "diff": (1,)}


class SchemaProvider(ResourceProvider, Generic[ArgsT]):
    """A dynamic provider whose ``check`` and ``diff`` come from its ``schema``."""

    schema: type[ArgsT]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Wrapping here, not asking each provider to call migrate(), means no read, update,
        # delete or diff can see state older than its schema.
        super().__init_subclass__(**kwargs)
        for name, positions in _STATE_PARAMETERS.items():
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_migrates", False):
                setattr(cls, name, _migrating(method, positions))

    def configure(self, req: ConfigureRequest) -> None:
        # The provider process has no Pulumi monitor: hand it the stack's dumont:* config.
        config.use_provider_config({k: req.config.get(f"dumont:{k}") for k in config.PULUMI_KEYS})
        log_to_stderr()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return schema.check(self.schema, olds, news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return schema.diff(self.schema, schema.migrate(self.schema, olds), news)

    def args(self, props: Mapping[str, Any]) -> ArgsT:
        """The props (inputs or prior outputs) as a validated schema instance."""
        parsed: ArgsT = schema.parse_arguments(self.schema, props)
        return parsed

    def outs(self, inputs: Any, **computed: Any) -> dict:
        """Outputs for CreateResult/UpdateResult/ReadResult: inputs echoed plus computed values."""
        if isinstance(inputs, schema.ResourceSchema):
            inputs = inputs.model_dump(mode="json")
        return schema.outputs_for(self.schema, inputs, **computed)

    @classmethod
    def cost(cls, args: ArgsT, market: MarketplaceClient) -> ResourceCost | None:
        """What the resource would cost, priced against live offers without renting anything;
        None for a resource that bills nothing itself."""
        del args, market
        return None

    @staticmethod
    def gone() -> ReadResult:
        """What ``read`` returns for a resource that no longer exists (refresh drops it).

        Outputs must be a dict, not None: the dynamic provider server adds ``__provider`` to them.
        """
        return ReadResult(id_="", outs={})


def _migrating(method: Callable[..., Any], positions: tuple[int, ...]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(self: SchemaProvider[Any], *args: Any) -> Any:
        migrated = list(args)
        for position in positions:
            if position < len(migrated) and isinstance(migrated[position], Mapping):
                migrated[position] = schema.migrate(self.schema, migrated[position])
        return method(self, *migrated)

    run._migrates = True  # type: ignore[attr-defined]
    return run
