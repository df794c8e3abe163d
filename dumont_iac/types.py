"""Field types shared by resources, the offer filter and the CLI, each validated in one place.

    gpu_models: GpuModels = arg(...)         # ["RTX 4090", "rtx_3090"] -> ["RTX 4090", "RTX 3090"]
    regions: Regions = arg(...)              # ["eu", "DE"] -> ["EU", "DE"]
    ports: Ports = arg(...)                  # [8080, 22, 8080] -> [22, 8080]
    max_price_per_hour: MoneyPerHour | None

Each list type validates the whole list, so a failure is reported against the field itself
("regions: region 'MARS' is neither ..."), and duplicates are dropped keeping the first.
``normalized(GpuModels, value)`` applies a type outside a model (the CLI's options).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import annotated_types
import pydantic
from pydantic import AfterValidator

from dumont_iac.clients import gpu_models
from dumont_iac.clients.regions import CONTINENTS, COUNTRIES

S = TypeVar("S", bound=Sequence[Any])


def gpu_model_name(name: str) -> str:
    """A GPU model as the marketplace spells it ("rtx_4090" is "RTX 4090") when it is a known
    one; another name is kept as written (a search for it finds nothing)."""
    cleaned = " ".join(name.replace("_", " ").split())
    if not cleaned:
        raise ValueError("a GPU model name is empty")
    return gpu_models.canonical(cleaned) or cleaned


def gpu_model(name: str) -> str:
    """A known GPU model as the marketplace spells it; an unknown name is refused with the
    closest known ones, so a typo fails in the program rather than at create."""
    cleaned = " ".join(name.replace("_", " ").split())
    if not cleaned:
        raise ValueError("a GPU model name is empty")
    found = gpu_models.canonical(cleaned)
    if found is None:
        near = gpu_models.closest(cleaned)
        hint = f"; the closest known: {', '.join(near)}" if near else ""
        raise ValueError(
            f"{cleaned!r} is not a GPU model the marketplace knows{hint} "
            "(`dumont-iac pricing` lists the models on offer)"
        )
    return found


def region(code: str) -> str:
    """A continent (EU, NA, SA, AS, OC, AF) or an ISO 3166-1 alpha-2 country code, upper case."""
    cleaned = code.strip().upper()
    if cleaned not in CONTINENTS and cleaned not in COUNTRIES:
        raise ValueError(
            f"region {cleaned!r} is neither a continent code ({', '.join(sorted(CONTINENTS))}) "
            "nor an ISO 3166-1 country code (DE, US, JP ...)"
        )
    return cleaned


def port(number: int) -> int:
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is outside 1-65535")
    return number


def _each(clean: Callable[[Any], Any], *, sort: bool = False) -> Callable[[S], S]:
    """A whole-sequence validator: clean every item, drop repeats, keep the container type."""

    def validate(items: S) -> S:
        cleaned = list(dict.fromkeys(clean(item) for item in items))
        return type(items)(sorted(cleaned) if sort else cleaned)  # type: ignore[call-arg]

    return validate


GpuModel = Annotated[str, AfterValidator(gpu_model)]
GpuModels = Annotated[list[str], AfterValidator(_each(gpu_model))]
Region = Annotated[str, AfterValidator(region)]
Regions = Annotated[list[str], AfterValidator(_each(region))]
Port = Annotated[int, AfterValidator(port)]
Ports = Annotated[list[int], AfterValidator(_each(port, sort=True))]
MoneyPerHour = Annotated[float, annotated_types.Gt(0)]
"""Dollars per hour, more than zero."""

GpuModelNames = Annotated[tuple[str, ...], AfterValidator(_each(gpu_model_name))]
"""Models to search for: known names spelled as the marketplace does, others kept."""
RegionTuple = Annotated[tuple[str, ...], AfterValidator(_each(region))]
PortTuple = Annotated[tuple[int, ...], AfterValidator(_each(port))]


def normalized(kind: Any, value: Any) -> Any:
    """``value`` validated as the type ``kind``; raises pydantic.ValidationError."""
    return pydantic.TypeAdapter(kind).validate_python(value)
