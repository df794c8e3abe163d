"""The marketplace's offer query language, compiled to parameterized SQL.

A query is ``{field: {op: value}, ...}`` with ops ``eq neq gt gte lt lte in notin``, plus control
keys in the same object: ``order`` (``[[field, "asc"|"desc"], ...]``), ``limit``, ``type``
(``on-demand``/``ondemand``, ``bid``/``interruptible``, ``reserved``) and ``allocated_storage``
(GiB priced into ``dph_total``; also a lower bound on ``disk_space``). The legacy wrapper
``{"select_cols": [...], "q": {...}}`` is unwrapped.

Values arrive as the official client sends them: numbers as strings (``"1"``), booleans as
``true`` or ``"true"``, GPU names with spaces (underscores are read as spaces), countries as
two-letter codes matched against ``geolocation`` ("City, CC"), driver versions dotted or as the
client's integer (535086005). Field names are whitelisted and map to fixed SQL; values are only
ever bound as parameters. Anything else is an ``InvalidArgs`` naming the field, the value and
what is allowed.

The same coercion rules filter instance rows in Python (``compile_row_filter``) for the
paginated instance list, whose filters and order travel in the query string.
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dumont_iac.sandbox.marketplace.errors import InvalidArgs
from dumont_iac.sandbox.marketplace.market import numeric_driver_version

OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "notin")
ORDER_OPS = ("gt", "gte", "lt", "lte")
ORDERING = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
SQL_OPS = {"eq": "=", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
OFFER_TYPES = {
    "on-demand": "on-demand",
    "ondemand": "on-demand",
    "bid": "bid",
    "interruptible": "bid",
    "reserved": "reserved",
}
DEFAULT_STORAGE_GB = 5.0
DEFAULT_LIMIT = 64
MAX_LIMIT = 100_000
CONTROL_KEYS = {"order", "limit", "type", "allocated_storage", "disable_bundling", "select_cols"}


@dataclass(frozen=True)
class Field:
    kind: str  # num | bool | str | gpu_name | geo | version
    sql: str  # a column or an expression over columns and :_bid, :_storage, :_now


@dataclass(frozen=True)
class Catalog:
    """What one searchable table accepts."""

    name: str
    fields: Mapping[str, Field]
    aliases: Mapping[str, str]
    defaults: Mapping[str, Mapping[str, Any]]
    default_order: tuple[tuple[str, bool], ...]  # (field, descending)


def _col(kind: str, name: str) -> Field:
    return Field(kind, name)


PRICE = "(CASE WHEN :_bid THEN min_bid ELSE dph_base END)"
STORAGE = "(:_storage * storage_cost / 720.0)"
DPH_TOTAL = f"({PRICE} + {STORAGE})"

_NUMERIC_OFFER_COLUMNS = (
    "id machine_id host_id num_gpus gpu_frac gpu_ram gpu_total_ram "
    "gpu_mem_bw gpu_max_power gpu_max_temp gpu_lanes compute_cap bw_nvlink dlperf total_flops "
    "min_bid storage_cost inet_up_cost inet_down_cost cpu_cores cpu_cores_effective cpu_ghz "
    "cpu_ram disk_space disk_bw pci_gen pcie_bw inet_up inet_down direct_port_count "
    "hosting_type reliability cuda_max_good score start_date end_date has_avx cluster_id"
).split()
_BOOL_OFFER_COLUMNS = (
    "gpu_display_active static_ip datacenter vms_enabled verified external rentable rented"
).split()
_STR_OFFER_COLUMNS = (
    "gpu_arch cpu_name cpu_arch disk_name mobo_name verification os_version public_ipaddr"
).split()

OFFER_FIELDS: dict[str, Field] = {
    **{name: _col("num", name) for name in _NUMERIC_OFFER_COLUMNS},
    **{name: _col("bool", name) for name in _BOOL_OFFER_COLUMNS},
    **{name: _col("str", name) for name in _STR_OFFER_COLUMNS},
    "gpu_name": _col("gpu_name", "gpu_name"),
    "geolocation": _col("geo", "geolocation"),
    "driver_version": _col("version", "driver_vers"),
    "ask_contract_id": Field("num", "id"),
    "bundle_id": Field("num", "id"),
    "dph_base": Field("num", PRICE),
    "dph_total": Field("num", DPH_TOTAL),
    "storage_total_cost": Field("num", STORAGE),
    "dlperf_per_dphtotal": Field("num", f"(dlperf / {DPH_TOTAL})"),
    "flops_per_dphtotal": Field("num", f"(total_flops / {DPH_TOTAL})"),
    "vram_costperhour": Field("num", f"({PRICE} / (gpu_total_ram / 1024.0))"),
    "duration": Field("num", "(end_date - :_now)"),
    "is_bid": Field("bool", ":_bid"),
}
OFFER_ALIASES = {
    "reliability2": "reliability",
    "cuda_vers": "cuda_max_good",
    "display_active": "gpu_display_active",
    "dlperf_usd": "dlperf_per_dphtotal",
    "dph": "dph_total",
    "dphtotal": "dph_total",
    "flops_usd": "flops_per_dphtotal",
    "gpu_totalram": "gpu_total_ram",
    "ubuntu_version": "os_version",
    "driver_vers": "driver_version",
    # gpuhunt (dstack) spells the compute capability filter this way.
    "compute_capability": "compute_cap",
}
OFFERS = Catalog(
    name="offer",
    fields=OFFER_FIELDS,
    aliases=OFFER_ALIASES,
    defaults={"rentable": {"eq": True}},
    default_order=(("score", True),),
)

_VOLUME_NUMERIC = (
    "id machine_id host_id disk_space disk_bw storage_cost inet_up inet_down reliability "
    "cuda_max_good pci_gen pcie_bw total_flops start_date end_date cluster_id score "
    "nw_disk_min_bw nw_disk_avg_bw nw_disk_max_bw has_avx"
).split()
VOLUME_OFFER_FIELDS: dict[str, Field] = {
    **{name: _col("num", name) for name in _VOLUME_NUMERIC},
    **{name: _col("bool", name) for name in ("verified", "static_ip", "datacenter", "external")},
    **{name: _col("str", name) for name in ("cpu_arch", "gpu_arch", "verification", "os_version")},
    "geolocation": _col("geo", "geolocation"),
    "driver_version": _col("version", "driver_vers"),
    "duration": Field("num", "(end_date - :_now)"),
    "dph_total": Field("num", STORAGE),
    "rentable": Field("bool", "(disk_space > 0)"),
}
VOLUME_OFFERS = Catalog(
    name="volume offer",
    fields=VOLUME_OFFER_FIELDS,
    aliases={
        "reliability2": "reliability",
        "cuda_vers": "cuda_max_good",
        "ubuntu_version": "os_version",
        "driver_vers": "driver_version",
    },
    defaults={},
    default_order=(("score", True),),
)


@dataclass
class Search:
    """A compiled search: bind ``params`` to ``where`` and ``order_by``."""

    where: str
    order_by: str
    params: dict[str, Any]
    limit: int
    offer_type: str
    storage_gb: float
    filters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def bid(self) -> bool:
        return self.offer_type == "bid"


def compile_search(body: Any, catalog: Catalog, now: float) -> Search:
    query = _unwrap(body)
    offer_type = _offer_type(query.get("type", "on-demand"))
    storage_given = query.get("allocated_storage") is not None
    storage = _number("allocated_storage", query["allocated_storage"]) if storage_given else None
    if storage is not None and not 0 <= storage <= 1_000_000:
        raise InvalidArgs(
            f"allocated_storage={query['allocated_storage']!r} is out of range: give the GiB "
            "to price, between 0 and 1000000.",
            field="allocated_storage",
        )
    limit = _limit(query.get("limit"), DEFAULT_LIMIT, MAX_LIMIT, "limit")

    filters: dict[str, dict[str, Any]] = {key: dict(ops) for key, ops in catalog.defaults.items()}
    for key, ops in query.items():
        if key in CONTROL_KEYS:
            continue
        name = _field_name(key, catalog)
        if not isinstance(ops, dict):
            raise InvalidArgs(
                f"{key}={ops!r}: a filter must be an object of operator to value, e.g. "
                f'{{"{key}": {{"eq": ...}}}}; operators: {", ".join(OPS)}.',
                field=key,
            )
        if name in catalog.defaults:
            filters[name] = {}
        filters.setdefault(name, {}).update(ops)

    params: dict[str, Any] = {
        "_bid": offer_type == "bid",
        "_storage": DEFAULT_STORAGE_GB if storage is None else storage,
        "_now": now,
    }
    clauses: list[str] = []
    for name, ops in filters.items():
        for op, value in ops.items():
            clauses.append(_clause(name, catalog.fields[name], op, value, params))
    if storage_given and "disk_space" in catalog.fields:
        params["_min_disk"] = storage
        clauses.append("disk_space >= :_min_disk")

    order = parse_order(query.get("order"), catalog) or list(catalog.default_order)
    order_sql = ", ".join(
        f"{catalog.fields[name].sql} {'DESC' if desc else 'ASC'}" for name, desc in order
    )
    return Search(
        where=" AND ".join(clauses) or "1",
        order_by=f"{order_sql}, id ASC",
        params=params,
        limit=limit,
        offer_type=offer_type,
        storage_gb=params["_storage"],
        filters=filters,
    )


def _unwrap(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidArgs(
            f"query={_short(body)}: the query must be a JSON object of filters, e.g. "
            '{"gpu_name": {"eq": "RTX 4090"}, "limit": 10}.',
            field="q",
        )
    if "q" in body:
        inner = body["q"]
        if not isinstance(inner, dict):
            raise InvalidArgs(f"q={_short(inner)}: q must be a JSON object of filters.", field="q")
        return inner
    return body


def _offer_type(value: Any) -> str:
    if isinstance(value, str) and value.lower() in OFFER_TYPES:
        return OFFER_TYPES[value.lower()]
    raise InvalidArgs(
        f"type={value!r} is not an offer type; allowed: on-demand, ondemand, bid, "
        "interruptible, reserved.",
        field="type",
    )


def _limit(value: Any, default: int, maximum: int, name: str) -> int:
    if value is None:
        return default
    number = _number(name, value)
    if number != int(number) or number < 1:
        raise InvalidArgs(
            f"{name}={value!r} must be a whole number of at least 1.", field=name, value=value
        )
    return min(int(number), maximum)


def _field_name(key: Any, catalog: Catalog) -> str:
    name = catalog.aliases.get(key, key)
    if isinstance(name, str) and name in catalog.fields:
        return name
    known = sorted(set(catalog.fields) | set(catalog.aliases))
    close = difflib.get_close_matches(str(key), known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InvalidArgs(
        f"Unknown {catalog.name} field {key!r}.{hint} Known fields: {', '.join(known)}.",
        field=str(key),
    )


def parse_order(order: Any, catalog: Catalog) -> list[tuple[str, bool]]:
    """``[[field, "asc"|"desc"], ...]``, ``[{"col": f, "dir": d}, ...]`` or the client's
    "score-,num_gpus" string, as (field, descending) pairs."""
    if order is None or order == []:
        return []
    if isinstance(order, str):
        order = [
            [part.strip("+-"), "desc" if part.strip().endswith("-") else "asc"]
            for part in (p.strip() for p in order.split(","))
            if part
        ]
    if not isinstance(order, list):
        raise InvalidArgs(
            f'order={_short(order)}: give a list of [field, "asc"|"desc"] pairs.', field="order"
        )
    result = []
    for item in order:
        if isinstance(item, dict):
            key, direction = item.get("col"), item.get("dir", "asc")
        elif isinstance(item, list | tuple) and 1 <= len(item) <= 2:
            key, direction = item[0], (item[1] if len(item) == 2 else "asc")
        elif isinstance(item, str):
            key, direction = item, "asc"
        else:
            raise InvalidArgs(
                f'order item {_short(item)}: give [field, "asc"|"desc"].', field="order"
            )
        if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
            raise InvalidArgs(
                f"order direction {direction!r} for {key!r}: allowed asc, desc.", field="order"
            )
        result.append((_field_name(key, catalog), direction.lower() == "desc"))
    return result


def _clause(name: str, spec: Field, op: Any, value: Any, params: dict[str, Any]) -> str:
    _check_op(name, spec, op, value)
    if value is None:
        return f"{spec.sql} IS NULL" if op == "eq" else f"{spec.sql} IS NOT NULL"
    if op in ("in", "notin"):
        values = [coerce(name, spec.kind, item) for item in value if item is not None]
        with_null = any(item is None for item in value)
        keys = _bind(params, values)
        if spec.kind == "geo":
            inner = f"(country IN ({keys}) OR geolocation IN ({keys}))" if keys else "0"
        else:
            inner = f"{spec.sql} IN ({keys})" if keys else "0"
        if with_null:
            inner = f"({inner} OR {spec.sql} IS NULL)"
        return inner if op == "in" else f"NOT {inner}"
    key = _bind(params, [coerce(name, spec.kind, value)])
    if spec.kind == "geo":
        match = f"(country = {key} OR geolocation = {key})"
        return match if op == "eq" else f"NOT {match}"
    return f"{spec.sql} {SQL_OPS[op]} {key}"


def _bind(params: dict[str, Any], values: list[Any]) -> str:
    keys = []
    for value in values:
        key = f"p{len(params)}"
        params[key] = value
        keys.append(f":{key}")
    return ", ".join(keys)


def _check_op(name: str, spec: Field, op: Any, value: Any) -> None:
    if op not in OPS:
        raise InvalidArgs(
            f"Unknown operator {op!r} for {name}; allowed: {', '.join(OPS)}.", field=name
        )
    if op in ORDER_OPS and spec.kind in ("bool", "geo"):
        raise InvalidArgs(
            f"{name} {op} {value!r}: {name} is compared with eq, neq, in or notin only.",
            field=name,
        )
    if op in ("in", "notin") and not isinstance(value, list | tuple):
        raise InvalidArgs(
            f"{name} {op} {_short(value)}: {op} needs a list of values, e.g. "
            f'{{"{name}": {{"{op}": [...]}}}}.',
            field=name,
        )
    if value is None and op not in ("eq", "neq"):
        raise InvalidArgs(f"{name} {op} null: null is compared with eq or neq only.", field=name)


def coerce(name: str, kind: str, value: Any) -> Any:
    """One filter value as the column holds it, or InvalidArgs naming what was expected."""
    if kind == "num":
        return _number(name, value)
    if kind == "bool":
        return _boolean(name, value)
    if kind == "version":
        return _version(name, value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidArgs(f"{name}={_short(value)} must be a string.", field=name)
    text = str(value).strip()
    if kind == "gpu_name":
        return text.replace("_", " ")
    if kind == "geo" and len(text) == 2:
        return text.upper()
    return text


def _number(name: str, value: Any) -> float | int:
    if isinstance(value, bool):
        raise InvalidArgs(f"{name}={value!r} must be a number, not a boolean.", field=name)
    if isinstance(value, int):
        return _int64(value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return _int64(int(text))
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise InvalidArgs(
        f'{name}={_short(value)} must be a number (or a numeric string such as "2").',
        field=name,
        value=value if isinstance(value, str | int | float) else None,
    )


def _int64(value: int) -> int | float:
    # SQLite integers are 64-bit; a larger number still compares correctly as a float.
    return value if -(2**63) <= value < 2**63 else float(value)


TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise InvalidArgs(f"{name}={_short(value)} must be true or false.", field=name)


def _version(name: str, value: Any) -> int | float:
    if isinstance(value, int) and not isinstance(value, bool):
        return _int64(value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        parts = text.split(".")
        if text and len(parts) <= 3 and all(p.isdigit() for p in parts):
            return _int64(numeric_driver_version(text) if len(parts) > 1 else int(text))
    raise InvalidArgs(
        f'{name}={_short(value)} must be a driver version such as "535.86.05" or 535086005.',
        field=name,
    )


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- instance rows, filtered in Python (a user has few instances) -----------------------------

INSTANCE_FIELD_KINDS = {
    **{
        name: "num"
        for name in (
            "id machine_id host_id num_gpus gpu_ram disk_space dph_total dph_base min_bid "
            "start_date end_date reliability2 cpu_cores cpu_ram inet_up inet_down ssh_port "
            "cuda_max_good compute_cap"
        ).split()
    },
    **{name: "bool" for name in ("is_bid",)},
    **{
        name: "str"
        for name in (
            "label actual_status intended_status cur_state next_state status_msg image_uuid "
            "verification public_ipaddr ssh_host"
        ).split()
    },
    "gpu_name": "gpu_name",
    "geolocation": "geo",
}
INSTANCES = Catalog(
    name="instance",
    fields={name: Field(kind, name) for name, kind in INSTANCE_FIELD_KINDS.items()},
    aliases={"reliability": "reliability2"},
    defaults={},
    default_order=(("id", False),),
)


def compile_row_filter(
    select_filters: Any, catalog: Catalog = INSTANCES
) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over API rows for ``{field: {op: value}}``."""
    if select_filters in (None, ""):
        return lambda row: True
    if not isinstance(select_filters, dict):
        raise InvalidArgs(
            f"select_filters={_short(select_filters)} must be a JSON object of filters.",
            field="select_filters",
        )
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for key, ops in select_filters.items():
        name = _field_name(key, catalog)
        spec = catalog.fields[name]
        if not isinstance(ops, dict):
            raise InvalidArgs(
                f"{key}={_short(ops)}: a filter must be an object of operator to value.",
                field=key,
            )
        for op, value in ops.items():
            _check_op(name, spec, op, value)
            tests.append(_row_test(name, spec.kind, op, value))
    return lambda row: all(test(row) for test in tests)


def _row_test(name: str, kind: str, op: str, value: Any) -> Callable[[Mapping[str, Any]], bool]:
    def matches(actual: Any, wanted: Any) -> bool:
        if kind == "geo" and isinstance(actual, str) and wanted is not None:
            return actual == wanted or actual.rsplit(", ", 1)[-1] == wanted
        return actual == wanted

    if op in ("in", "notin"):
        wanted = [None if v is None else coerce(name, kind, v) for v in value]
        inside = lambda row: any(matches(row.get(name), w) for w in wanted)  # noqa: E731
        return inside if op == "in" else (lambda row: not inside(row))
    target = None if value is None else coerce(name, kind, value)
    if op == "eq":
        return lambda row: matches(row.get(name), target)
    if op == "neq":
        return lambda row: not matches(row.get(name), target)

    compare_with = ORDERING[op]

    def compare(row: Mapping[str, Any]) -> bool:
        actual = row.get(name)
        if actual is None or target is None:
            return False
        try:
            return bool(compare_with(actual, target))
        except TypeError:  # e.g. a string field compared with a number
            return False

    return compare
