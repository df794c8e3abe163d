"""Resource schemas declared once, and the generic ``check`` and ``diff`` derived from them.

A resource declares its arguments and outputs as one pydantic model. Each field says, through
``arg(...)`` or ``computed(...)``, what the engine needs to know about it::

    class RecordArgs(ResourceSchema):
        name: str = arg(replaces=True, description="Record name.")
        size: int = arg(1, ge=1, le=100, description="Size in units.")
        record_id: str | None = computed(description="Identifier assigned on creation.")

From that one declaration this module derives the provider's ``check`` (field-named validation
failures, defaults, numbers coerced back to ``int``, unknown values tolerated during preview), its
``diff`` (replace or update per field, ``__provider`` and outputs ignored), the names of secret
outputs, and a Markdown table documenting the fields. ``SchemaProvider`` wires ``check`` and
``diff`` into a ``pulumi.dynamic.ResourceProvider`` so a concrete provider writes only
create/read/update/delete.

Provider objects are pickled into every stack's state and unpickled in a fresh process, so
``SchemaProvider`` keeps nothing on the instance: the schema is a class attribute and the field
tables are cached at module level.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

import annotated_types
import pydantic
from pulumi.dynamic import CheckFailure, CheckResult, DiffResult
from pulumi.output import Output, Unknown
from pulumi.runtime.rpc import UNKNOWN as UNKNOWN_SENTINEL
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from dumont_iac.errors import InvalidArgumentsError, ProviderError, SchemaDeclarationError

PROVIDER_KEY = "__provider"
SCHEMA_VERSION_KEY = "schema_version"
_POLICY_KEY = "x-dumont"
_SECRET_SHOWN_AS = "<secret>"
_MAX_SHOWN = 80


@dataclass(frozen=True)
class FieldPolicy:
    """What the engine must know about one field of a resource schema."""

    replaces: bool = False
    secret: bool = False
    computed: bool = False
    env: str | None = None


def arg(
    default: Any = PydanticUndefined,
    *,
    description: str,
    replaces: bool = False,
    secret: bool = False,
    env: str | None = None,
    default_factory: Any = None,
    **constraints: Any,
) -> Any:
    """Declare an argument: ``replaces=True`` when changing it must replace the resource.

    ``env`` names an environment variable read (in the provider process) when the argument is
    not given. ``constraints`` are pydantic's (``ge``, ``le``, ``min_length``, ``pattern`` ...).
    """
    policy: dict[str, Any] = {"replaces": replaces, "secret": secret, "computed": False, "env": env}
    if default_factory is not None:
        return pydantic.Field(
            default_factory=default_factory,
            description=description,
            json_schema_extra={_POLICY_KEY: policy},
            **constraints,
        )
    return pydantic.Field(
        default, description=description, json_schema_extra={_POLICY_KEY: policy}, **constraints
    )


def computed(*, description: str, secret: bool = False) -> Any:
    """Declare an output the provider computes; it cannot be given as an argument."""
    policy: dict[str, Any] = {"replaces": False, "secret": secret, "computed": True, "env": None}
    return pydantic.Field(None, description=description, json_schema_extra={_POLICY_KEY: policy})


class ResourceSchema(pydantic.BaseModel):
    """Base of every resource schema: arguments and outputs of one resource type."""

    model_config = pydantic.ConfigDict(extra="forbid")

    resource_name: ClassVar[str] = ""
    """Name used in messages and docs; the class name without ``Args`` when empty."""
    schema_version: ClassVar[int] = 1
    """Stored as the ``schema_version`` output so newer code can migrate older state."""
    migrations: ClassVar[Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
    """``{version: step}``: each step turns state written at ``version`` into ``version + 1``;
    one for every version below ``schema_version``."""
    delete_before_replace: ClassVar[bool] = False
    """True when the old resource must be gone before its replacement can exist."""

    @classmethod
    def warnings(cls, outputs: Mapping[str, Any]) -> list[str]:
        """What ``pulumi up`` should warn about, seen in the resource's outputs (an outbid GPU)."""
        del outputs
        return []


@dataclass(frozen=True)
class SchemaFields:
    """A schema's fields split by role, computed once per schema class."""

    name: str
    arguments: dict[str, FieldPolicy]
    outputs: dict[str, FieldPolicy]
    infos: dict[str, FieldInfo]

    def policy(self, field: str) -> FieldPolicy:
        return self.arguments.get(field) or self.outputs[field]


@functools.cache
def fields_of(schema: type[ResourceSchema]) -> SchemaFields:
    """The roles of a schema's fields; raises SchemaDeclarationError for an unsound declaration."""
    owner = schema.__name__
    arguments: dict[str, FieldPolicy] = {}
    outputs: dict[str, FieldPolicy] = {}
    for field, info in schema.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        raw = extra.get(_POLICY_KEY)
        if not isinstance(raw, dict):
            raise SchemaDeclarationError(
                f"{owner}.{field} has no policy: declare it with arg(...) or computed(...)"
            )
        if field == SCHEMA_VERSION_KEY or field.startswith("__"):
            raise SchemaDeclarationError(f"{owner}.{field}: this name is reserved")
        if field != info.alias and info.alias is not None:
            raise SchemaDeclarationError(f"{owner}.{field}: aliases are not supported")
        policy = FieldPolicy(**typing.cast(dict[str, Any], raw))
        if policy.secret and policy.env:
            raise SchemaDeclarationError(
                f"{owner}.{field}: a secret argument cannot default from the environment, "
                "because the value would be written into the stack state; read it in "
                "configure() instead"
            )
        if policy.computed:
            if info.is_required() or info.default is not None:
                raise SchemaDeclarationError(f"{owner}.{field}: an output must default to None")
            outputs[field] = policy
        else:
            arguments[field] = policy
    missing = [v for v in range(1, schema.schema_version) if v not in schema.migrations]
    if missing:
        raise SchemaDeclarationError(
            f"{owner} is at schema_version {schema.schema_version} but declares no migration "
            f"from version {', '.join(map(str, missing))}"
        )
    name = schema.resource_name or schema.__name__.removesuffix("Args")
    return SchemaFields(name, arguments, outputs, dict(schema.model_fields))


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (preview) or a program-side Output."""
    if isinstance(value, Unknown | Output) or inspect.isawaitable(value):
        return True
    if isinstance(value, str):
        return value == UNKNOWN_SENTINEL
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


def check(
    schema: type[ResourceSchema], olds: Mapping[str, Any], news: Mapping[str, Any]
) -> CheckResult:
    """Validate ``news`` against the schema: failures name the field, the value and what is allowed.

    Returns the inputs to store: defaults filled, values coerced (``20.0`` -> ``20`` for ints),
    unknown values passed through untouched. ``olds`` is not consulted: arguments do not depend
    on the previous inputs.
    """
    del olds
    inputs, failures = _validate(schema, news, env=os.environ)
    if failures:
        return CheckResult({k: v for k, v in news.items() if k != PROVIDER_KEY}, failures)
    return CheckResult(inputs, [])


def validate_arguments(schema: type[ResourceSchema], args: Any, resource: str = "") -> dict:
    """Program-side validation: raise InvalidArgumentsError naming each bad field.

    ``args`` is a schema instance or a mapping; values that are Outputs are passed through and
    validated later, in the provider's ``check``.
    """
    if isinstance(args, ResourceSchema):
        args = {k: getattr(args, k) for k in fields_of(type(args)).arguments}
    inputs, failures = _validate(schema, dict(args), env=None)
    if failures:
        raise InvalidArgumentsError(resource or fields_of(schema).name, failures)
    return inputs


def resource_properties(schema: type[ResourceSchema], args: Any, resource: str = "") -> dict:
    """The property bag for ``dynamic.Resource``: validated arguments, plus every output as None
    so that the resource object gets an attribute for it."""
    props = validate_arguments(schema, args, resource)
    fields = fields_of(schema)
    props.update({name: None for name in fields.outputs})
    props[SCHEMA_VERSION_KEY] = None
    return props


def diff(
    schema: type[ResourceSchema], olds: Mapping[str, Any], news: Mapping[str, Any]
) -> DiffResult:
    """Compare prior outputs (``olds``) with checked inputs (``news``), field by field.

    Outputs and ``__provider`` are ignored, so a new provider version alone never shows as a
    change. An unknown value counts as a change (and a replacement for a replacing field). An
    argument missing from ``olds`` whose new value is its default is no change: the state was
    written before the argument existed, and adding an argument must not replace resources.
    """
    fields = fields_of(schema)
    changed: list[str] = []
    replaces: list[str] = []
    for name, policy in fields.arguments.items():
        new = news.get(name)
        if (
            not is_unknown(new)
            and name not in olds
            and _comparable(new) == _default_json(schema, name)
        ):
            continue
        if is_unknown(new) or _comparable(olds.get(name)) != _comparable(new):
            changed.append(name)
            if policy.replaces:
                replaces.append(name)
    return DiffResult(
        changes=bool(changed),
        replaces=replaces,
        stables=[],
        # Declared for every diff, not only when a field here replaces: the engine also
        # replaces for replace_on_changes and `--replace`, and reads this flag then too.
        delete_before_replace=schema.delete_before_replace,
    )


def secret_output_names(schema: type[ResourceSchema]) -> list[str]:
    """Names to pass as ``additional_secret_outputs``: every field declared secret."""
    fields = fields_of(schema)
    return [n for n, p in {**fields.arguments, **fields.outputs}.items() if p.secret]


def outputs_for(schema: type[ResourceSchema], inputs: Mapping[str, Any], **computed: Any) -> dict:
    """The outputs a provider returns: the inputs echoed, the computed values, the schema version.

    Raises SchemaDeclarationError for a computed name the schema does not declare, so a typo in
    a provider cannot silently drop an output.
    """
    fields = fields_of(schema)
    unknown = sorted(set(computed) - set(fields.outputs))
    if unknown:
        raise SchemaDeclarationError(
            f"{fields.name} declares no output named {', '.join(unknown)}; "
            f"outputs are: {', '.join(fields.outputs) or 'none'}"
        )
    outs = {k: v for k, v in inputs.items() if k in fields.arguments and v is not None}
    outs.update({k: v for k, v in computed.items() if v is not None})
    outs[SCHEMA_VERSION_KEY] = schema.schema_version
    return outs


def migrate(schema: type[ResourceSchema], state: Mapping[str, Any]) -> dict[str, Any]:
    """Prior state (outputs, or inputs) brought up to the schema's current version.

    State without a version predates versioning and counts as version 1. State from a newer
    version is refused: this code cannot know what the newer fields mean.
    """
    fields = fields_of(schema)
    raw = state.get(SCHEMA_VERSION_KEY)
    version = 1 if raw is None else int(raw)
    current = schema.schema_version
    if version > current:
        raise ProviderError(
            f"{fields.name} state was written by a newer dumont-iac (schema version {version}; "
            f"this one knows up to {current}): upgrade dumont-iac to manage this stack."
        )
    migrated = dict(state)
    for step in range(version, current):
        migrated = schema.migrations[step](migrated)
    if version != current or raw is not None:
        migrated[SCHEMA_VERSION_KEY] = current
    return migrated


def parse_arguments(schema: type[ResourceSchema], props: Mapping[str, Any]) -> Any:
    """The argument fields of ``props`` (inputs or prior outputs) as a schema instance; raises
    InvalidArgumentsError naming each bad field."""
    values = arguments_of(schema, props)
    try:
        return schema.model_validate(values)
    except pydantic.ValidationError as exc:
        raise InvalidArgumentsError(
            fields_of(schema).name, _failures(schema, exc, values, set())
        ) from None


def arguments_of(schema: type[ResourceSchema], props: Mapping[str, Any]) -> dict:
    """Only the argument fields of a property bag (drops outputs, ``__provider``, version)."""
    fields = fields_of(schema)
    return {k: v for k, v in props.items() if k in fields.arguments}


def markdown_table(schema: type[ResourceSchema]) -> str:
    """A Markdown reference of the schema: arguments (type, default, on change) and outputs."""
    fields = fields_of(schema)
    lines = [
        f"#### {fields.name} arguments",
        "",
        "| Argument | Type | Default | On change | Description |",
        "|---|---|---|---|---|",
    ]
    for name, policy in fields.arguments.items():
        info = fields.infos[name]
        default = _default_text(info, policy)
        note = "replaces the resource" if policy.replaces else "updated in place"
        desc = info.description or ""
        if policy.secret:
            desc += " Secret."
        lines.append(
            f"| `{name}` | {_cell(_type_text(info))} | {_cell(default)} | {note} | {_cell(desc)} |"
        )
    lines += [
        "",
        f"#### {fields.name} outputs",
        "",
        "| Output | Type | Description |",
        "|---|---|---|",
    ]
    for name, policy in fields.outputs.items():
        info = fields.infos[name]
        desc = (info.description or "") + (" Secret." if policy.secret else "")
        lines.append(f"| `{name}` | {_cell(_type_text(info, output=True))} | {_cell(desc)} |")
    lines.append(
        f"| `{SCHEMA_VERSION_KEY}` | `int` | Version of this schema that wrote the state "
        f"(now {schema.schema_version}). |"
    )
    return "\n".join(lines) + "\n"


# --- validation ---------------------------------------------------------------------------


def _validate(
    schema: type[ResourceSchema], news: Mapping[str, Any], env: Mapping[str, str] | None
) -> tuple[dict, list[CheckFailure]]:
    fields = fields_of(schema)
    failures: list[CheckFailure] = []
    known: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for name, value in news.items():
        if name in (PROVIDER_KEY, SCHEMA_VERSION_KEY):
            continue
        if name in fields.outputs:
            if value is not None:
                failures.append(CheckFailure(name, "is computed by the provider and cannot be set"))
        elif name not in fields.arguments:
            allowed = ", ".join(sorted(fields.arguments))
            failures.append(
                CheckFailure(name, f"is not an argument of {fields.name}; allowed: {allowed}")
            )
        elif is_unknown(value):
            unknown[name] = value
        elif value is not None:
            known[name] = value
    if env is not None:
        for name, policy in fields.arguments.items():
            if policy.env and name not in known and name not in unknown and policy.env in env:
                known[name] = env[policy.env]
    try:
        model = schema.model_validate(known)
    except pydantic.ValidationError as exc:
        failures += _failures(schema, exc, known, set(unknown))
        if failures:
            return {}, failures
        values = _validate_each(schema, known)
    else:
        if failures:
            return {}, failures
        values = model.model_dump(mode="json", include=set(fields.arguments))
    values = {k: v for k, v in values.items() if v is not None and k in fields.arguments}
    values.update(unknown)
    return values, []


def _validate_each(schema: type[ResourceSchema], known: Mapping[str, Any]) -> dict:
    """Field-by-field coercion, used when unknown values keep the whole model from validating."""
    fields = fields_of(schema)
    values = {}
    for name, info in fields.infos.items():
        if name not in fields.arguments:
            continue
        adapter = _adapter(schema, name)
        if name in known:
            values[name] = adapter.dump_python(adapter.validate_python(known[name]), mode="json")
        elif not info.is_required():
            values[name] = adapter.dump_python(
                info.get_default(call_default_factory=True), mode="json"
            )
    return values


_NO_DEFAULT = object()


@functools.cache
def _default_json(schema: type[ResourceSchema], name: str) -> Any:
    info = schema.model_fields[name]
    if info.is_required():
        return _NO_DEFAULT
    default = info.get_default(call_default_factory=True)
    return _comparable(_adapter(schema, name).dump_python(default, mode="json"))


@functools.cache
def _adapter(schema: type[ResourceSchema], name: str) -> pydantic.TypeAdapter:
    info = schema.model_fields[name]
    annotated: Any = typing.Annotated[info.annotation, info]
    return pydantic.TypeAdapter(annotated)


def _failures(
    schema: type[ResourceSchema],
    exc: pydantic.ValidationError,
    given: Mapping[str, Any],
    unknown: set[str],
) -> list[CheckFailure]:
    fields = fields_of(schema)
    failures = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        top = str(loc[0]) if loc else ""
        # A field that is unknown now may be valid once known; so may a cross-field rule.
        if top in unknown or (not loc and unknown):
            continue
        secret = top in fields.arguments and fields.arguments[top].secret
        failures.append(CheckFailure(_path(loc) or fields.name, _reason(err, fields, top, secret)))
    return failures


def _reason(err: Any, fields: SchemaFields, top: str, secret: bool) -> str:
    if err["type"] == "missing":
        info = fields.infos.get(top)
        about = f" ({info.description})" if info is not None and info.description else ""
        return f"is required{about}"
    msg = err["msg"]
    shown = _SECRET_SHOWN_AS if secret else _short_repr(err.get("input"))
    return f"{msg}; got {shown}"


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _short_repr(value: Any) -> str:
    # Numbers arrive from the engine as floats; show 20.0 as 20 so the message matches the program.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _comparable(value: Any) -> Any:
    """A wire value normalised for comparison: lists for tuples, enum values, no secret marks."""
    if is_rpc_secret(value):
        return _comparable(unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: _comparable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


# --- documentation ------------------------------------------------------------------------


_BOUNDS = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.MinLen, "min_length", "min length"),
    (annotated_types.MaxLen, "max_length", "max length"),
)


def _type_text(info: FieldInfo, output: bool = False) -> str:
    text = _annotation_text(info.annotation)
    if output:
        text = text.removesuffix(" | None")
    bounds = ", ".join(
        f"{label} {getattr(meta, attr)}"
        for meta in [*info.metadata, *_annotated_metadata(info.annotation)]
        for cls, attr, label in _BOUNDS
        if isinstance(meta, cls)
    )
    return f"`{text}`" + (f" ({bounds})" if bounds else "")


def _annotated_metadata(annotation: Any) -> list[Any]:
    """Constraints carried by a shared field type, also inside ``X | None``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return list(typing.get_args(annotation)[1:])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arm in typing.get_args(annotation) for m in _annotated_metadata(arm)]
    return []


def _annotation_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # a shared field type: its bounds are listed apart
        return _annotation_text(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_annotation_text(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_annotation_text(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(repr(m.value) for m in annotation)
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _default_text(info: FieldInfo, policy: FieldPolicy) -> str:
    if info.is_required():
        text = "required"
    else:
        default = info.get_default(call_default_factory=True)
        text = "none" if default is None else f"`{default!r}`"
    if policy.env:
        text += f", env `{policy.env}`"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
