"""The program-side base of every resource: validated arguments in, typed outputs out.

A resource module declares only what is its own::

    class GpuInstance(DumontResource[GpuInstanceArgs], module="dumont", name="GpuInstance"):
        model = GpuInstanceArgs
        provider = GpuInstanceProvider

The base validates the arguments in the program (a bad field fails before anything is sent),
gives every output an attribute, marks secret fields as secret outputs, defaults a
``logical_name`` argument to ``project/stack/resource``, and types each output from the model:
the engine sends every number as a float, so an ``int`` output is turned back into an int.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, ClassVar, Generic, TypeVar

import pulumi
import pydantic
from pulumi import dynamic

from dumont_iac import schema
from dumont_iac.provider.base import SchemaProvider

ArgsT = TypeVar("ArgsT", bound=schema.ResourceSchema)
LOGICAL_NAME = "logical_name"
# The Dumont resources each running program declared so far, in order, by the program's root
# stack resource (one process may run several programs, as the test driver does).
_DECLARED: weakref.WeakKeyDictionary[Any, list[DumontResource[Any]]] = weakref.WeakKeyDictionary()


class _NoRoot:
    """Stands for the root stack of a program run without one."""


_NO_ROOT = _NoRoot()


class DumontResource(dynamic.Resource, Generic[ArgsT]):
    """Pass the model's instance or the same fields as keywords; outputs are attributes."""

    model: ClassVar[type[schema.ResourceSchema]]
    provider: ClassVar[type[SchemaProvider[Any]]]

    def __init__(
        self,
        resource_name: str,
        args: ArgsT | dict[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        if args is not None and kwargs:
            raise TypeError(f"pass either {self.model.__name__} or keyword arguments, not both")
        kwargs = self.program_arguments(kwargs)
        values: Any = args if args is not None else kwargs
        kind = schema.fields_of(self.model).name
        props = schema.resource_properties(self.model, values, f"{kind} {resource_name!r}")
        if LOGICAL_NAME in schema.fields_of(self.model).arguments and not props.get(LOGICAL_NAME):
            props[LOGICAL_NAME] = f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
        secrets = schema.secret_output_names(self.model)
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=secrets)
        )
        names = list(props)  # before the SDK adds __provider to props
        # The validated arguments, for resources that refer to this one (a standby names the
        # GPU it protects and the constraints a replacement must satisfy).
        self.declared_arguments: dict[str, Any] = {
            name: props[name] for name in schema.fields_of(self.model).arguments if name in props
        }
        super().__init__(self.provider(), resource_name, props, opts)
        _DECLARED.setdefault(_root(), []).append(self)
        for name in names:  # every argument and output: the engine echoes numbers as floats
            output = getattr(self, name)
            setattr(self, name, output.apply(functools.partial(_typed, self.model, name)))
        outputs = pulumi.Output.all(**{name: getattr(self, name) for name in names})
        outputs.apply(functools.partial(_warn, self, self.model))

    @classmethod
    def program_arguments(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keywords as the model names them; a resource taking program-side references
        (a policy's ``gpu=``) converts them here."""
        return kwargs

    def __getattr__(self, name: str) -> pulumi.Output[Any]:
        # Every output is set as an attribute in __init__; this only tells type checkers that
        # outputs exist without declaring each one a second time.
        raise AttributeError(f"{type(self).__name__} has no output or attribute {name!r}")


def declared_so_far() -> list[DumontResource[Any]]:
    """The Dumont resources this program declared before now, in order (a budget's default
    scope is every one declared before it)."""
    return list(_DECLARED.get(_root(), []))


def _root() -> Any:
    root = pulumi.runtime.settings.get_root_resource()
    return root if root is not None else _NO_ROOT


def _warn(resource: pulumi.Resource, model: type[schema.ResourceSchema], outputs: Any) -> None:
    for warning in model.warnings(outputs):
        pulumi.log.warn(warning, resource=resource)


def _typed(model: type[schema.ResourceSchema], name: str, value: Any) -> Any:
    """An output value as the model types it (26000001.0 -> 26000001 for an int)."""
    if value is None:
        return None
    try:
        return _adapter(model, name).validate_python(value)
    except pydantic.ValidationError:
        return value  # shown as the provider sent it rather than failing the program


@functools.cache
def _adapter(model: type[schema.ResourceSchema], name: str) -> pydantic.TypeAdapter[Any]:
    if name == schema.SCHEMA_VERSION_KEY:
        return pydantic.TypeAdapter(int)
    annotation: Any = model.model_fields[name].annotation
    return pydantic.TypeAdapter(annotation)
