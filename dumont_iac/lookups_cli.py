"""``dumont-iac offers | pricing | recommend``: the lookups as tables, JSON or CSV.

The marketplace URL and key resolve as everywhere (``--url``/``--api-key``, then Pulumi config
when inside a program, then ``VAST_URL``/``VAST_API_KEY``, then the default URL). Problems end
the command with exit code 1 and the same one-sentence messages the library raises.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from dumont_iac import lookups
from dumont_iac.clients.marketplace import MarketplaceClient
from dumont_iac.clients.marketplace.models import Offer
from dumont_iac.clients.marketplace.offer_filter import ORDERS
from dumont_iac.config import marketplace_settings
from dumont_iac.errors import DumontError

F = TypeVar("F", bound=Callable[..., Any])

# Option names for the fields validation errors name.
OPTION_OF_FIELD = {
    "gpu_names": "--gpu",
    "regions": "--region",
    "num_gpus": "--num-gpus",
    "min_vram_gb": "--min-vram",
    "max_price_per_hour": "--max-price",
    "min_reliability": "--min-reliability",
    "min_cuda": "--min-cuda",
    "min_disk_gb": "--min-disk",
    "disk_gb": "--disk",
    "limit": "--limit",
    "params_billion": "--params",
    "vram_gb": "--vram",
    "precision": "--precision",
    "kind": "--workload",
    "max_num_gpus": "--max-gpus",
    "min_num_gpus": "--min-gpus",
}

Url = Annotated[
    str | None,
    typer.Option(
        "--url", help="Marketplace URL (else dumont:vastUrl, $VAST_URL, https://console.vast.ai)."
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="Marketplace API key (else dumont:vastApiKey, $VAST_API_KEY)."),
]
AsJson = Annotated[bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")]
AsCsv = Annotated[bool, typer.Option("--csv", metavar="", help="Print CSV instead of a table.")]
Regions = Annotated[
    list[str] | None,
    typer.Option("--region", help="Continent (EU NA SA AS OC AF) or country code; repeatable."),
]
MinReliability = Annotated[
    float | None, typer.Option("--min-reliability", help="Minimum host reliability, 0-1.")
]
IncludeUnverified = Annotated[
    bool,
    typer.Option(
        "--include-unverified/--verified-only", metavar="", help="Also list unverified hosts."
    ),
]


def _reports_errors(command: F) -> F:
    """Turn library errors and invalid input into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        err = Console(stderr=True, soft_wrap=True)
        try:
            return command(*args, **kwargs)
        except DumontError as exc:
            err.print(exc.message, markup=False, highlight=False)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            field = str(problem["loc"][0]) if problem["loc"] else ""
            message = problem["msg"].removeprefix("Value error, ")
            named, _, rest = message.partition(": ")
            if not field and named in OPTION_OF_FIELD:  # a model-level check names its field
                field, message = named, rest
            where = OPTION_OF_FIELD.get(field, field or "input")
            given = problem.get("input")
            shown = "" if isinstance(given, dict) else f" (got {given!r})"
            err.print(f"Invalid {where}: {message}{shown}.", markup=False, highlight=False)
        raise typer.Exit(1)

    return run  # type: ignore[return-value]


def client_from_options(url: str | None, api_key: str | None) -> MarketplaceClient:
    return MarketplaceClient(
        settings=marketplace_settings(url, api_key, url_given_as="--url", key_given_as="--api-key")
    )


def _emit(
    rows: Sequence[dict[str, Any]], as_json: bool, as_csv: bool, table: Callable[[], Table]
) -> None:
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    if as_json:
        typer.echo(json.dumps(list(rows), indent=2, default=str))
    elif as_csv:
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        typer.echo(buffer.getvalue(), nl=False)
    else:
        Console().print(table())


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _offer_row(offer: Offer, price: float) -> dict[str, Any]:
    return {
        "id": offer.id,
        "gpu_name": offer.gpu_name,
        "num_gpus": offer.num_gpus,
        "vram_gb": round(offer.gpu_ram_gb, 1),
        "price_per_hour": round(price, 4),
        "price_per_gpu_hour": round(price / max(offer.num_gpus, 1), 4),
        "reliability": offer.reliability_score,
        "geolocation": offer.geolocation,
        "cuda": offer.cuda_max_good,
        "disk_gb": offer.disk_space,
        "verified": offer.is_verified,
        "machine_id": offer.machine_id,
    }


@_reports_errors
def offers(
    gpu: Annotated[
        list[str] | None, typer.Option("--gpu", help='GPU model, e.g. "RTX 4090"; repeatable.')
    ] = None,
    num_gpus: Annotated[int | None, typer.Option("--num-gpus", help="Exact GPU count.")] = None,
    min_gpus: Annotated[int | None, typer.Option("--min-gpus", help="At least this many.")] = None,
    min_vram: Annotated[
        float | None, typer.Option("--min-vram", help="Minimum VRAM per GPU, GB.")
    ] = None,
    max_price: Annotated[
        float | None, typer.Option("--max-price", help="Maximum $/hour for the offer.")
    ] = None,
    interruptible: Annotated[
        bool,
        typer.Option(
            "--interruptible/--on-demand", metavar="", help="Price as interruptible (minimum bid)."
        ),
    ] = False,
    by_preference: Annotated[
        bool,
        typer.Option(
            "--by-preference/--cheapest",
            metavar="",
            help="With several --gpu: every offer of the first model before the next model's, "
            "as GpuInstance chooses; or all of them by price.",
        ),
    ] = True,
    region: Regions = None,
    min_reliability: MinReliability = None,
    include_unverified: IncludeUnverified = False,
    min_cuda: Annotated[float | None, typer.Option("--min-cuda", help="e.g. 12.1")] = None,
    min_disk: Annotated[
        float | None, typer.Option("--min-disk", help="Minimum free disk, GB.")
    ] = None,
    disk: Annotated[float, typer.Option("--disk", help="Disk priced into each offer, GB.")] = 10.0,
    order: Annotated[str, typer.Option("--order", help=f"One of: {', '.join(ORDERS)}.")] = "price",
    limit: Annotated[int, typer.Option("--limit", help="How many offers to show.")] = 20,
    url: Url = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """List rentable offers, cheapest first (of the first --gpu model first, by default)."""
    if order not in ORDERS:
        raise typer.BadParameter(f"--order {order!r}: choose one of {', '.join(ORDERS)}")
    found = lookups.find_offers(
        gpu or None,
        num_gpus=num_gpus,
        min_num_gpus=min_gpus,
        choice="preference" if by_preference else "cheapest",
        min_vram_gb=min_vram,
        max_price_per_hour=max_price,
        interruptible=interruptible,
        regions=region or None,
        min_reliability=min_reliability,
        verified_only=not include_unverified,
        min_cuda=min_cuda,
        min_disk_gb=min_disk,
        disk_gb=disk,
        order=order,  # type: ignore[arg-type]
        limit=limit,
        client=client_from_options(url, api_key),
    )
    rows = [
        _offer_row(o, o.price_per_hour(interruptible=interruptible, disk_gb=disk)) for o in found
    ]

    def table() -> Table:
        kind = "interruptible" if interruptible else "on demand"
        out = Table(title=f"{len(rows)} offers ({kind}, {disk:g} GB disk priced in)")
        for name in ("Offer", "GPU", "GPUs", "VRAM GB", "$/h", "$/GPU/h", "Reliab.", "Where"):
            out.add_column(name, justify="left" if name in ("GPU", "Where") else "right")
        for r in rows:
            out.add_row(
                str(r["id"]), r["gpu_name"], str(r["num_gpus"]), f"{r['vram_gb']:g}",
                _money(r["price_per_hour"]), _money(r["price_per_gpu_hour"]),
                "-" if r["reliability"] is None else f"{r['reliability']:.3f}",
                r["geolocation"] or "-",
            )  # fmt: skip
        return out

    _emit(rows, as_json, as_csv, table)


@_reports_errors
def pricing(
    gpu: Annotated[
        list[str] | None, typer.Option("--gpu", help="Only these GPU models; repeatable.")
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option("--compare", help="GPU models to compare side by side; repeatable."),
    ] = None,
    num_gpus: Annotated[
        int | None, typer.Option("--num-gpus", help="Only offers of this many GPUs.")
    ] = None,
    region: Regions = None,
    min_reliability: MinReliability = None,
    include_unverified: IncludeUnverified = False,
    url: Url = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Spot pricing per GPU model ($ per GPU-hour): on demand vs interruptible."""
    names = list(compare or []) + [g for g in gpu or [] if g not in (compare or [])]
    found = lookups.spot_pricing(
        names or None,
        num_gpus=num_gpus,
        regions=region or None,
        min_reliability=min_reliability,
        verified_only=not include_unverified,
        client=client_from_options(url, api_key),
    )
    rows = [p.model_dump() for p in found]
    metrics = [
        ("Offers", "offers"),
        ("Cheapest", "cheapest"),
        ("Median on demand", "median"),
        ("On demand", "on_demand"),
        ("Interruptible", "interruptible"),
        ("Savings %", "savings_pct"),
    ]

    def cell(row: dict[str, Any], field: str) -> str:
        value = row[field]
        if field == "offers":
            return str(value)
        if field == "savings_pct":
            return "-" if value is None else f"{value:.1f}%"
        return _money(value)

    def table() -> Table:
        if compare:
            out = Table(title="GPU comparison ($ per GPU-hour)")
            out.add_column("")
            for row in rows:
                out.add_column(row["gpu_name"], justify="right")
            for label, field in metrics:
                out.add_row(label, *(cell(row, field) for row in rows))
            return out
        out = Table(title=f"Spot pricing, {len(rows)} GPU models ($ per GPU-hour)")
        out.add_column("GPU")
        for label, _ in metrics:
            out.add_column(label, justify="right")
        for row in rows:
            out.add_row(row["gpu_name"], *(cell(row, field) for _, field in metrics))
        return out

    _emit(rows, as_json, as_csv, table)


@_reports_errors
def recommend(
    params: Annotated[
        float | None, typer.Option("--params", help="Model size, billions of parameters.")
    ] = None,
    workload: Annotated[
        str,
        typer.Option(
            "--workload", help="inference, lora, full-finetune, training, or vram (with --vram)."
        ),
    ] = "inference",
    precision: Annotated[
        str, typer.Option("--precision", help="fp32, fp16, bf16, int8 or int4.")
    ] = "fp16",
    vram: Annotated[
        float | None, typer.Option("--vram", help="GB of VRAM needed (instead of --params).")
    ] = None,
    max_gpus: Annotated[
        int, typer.Option("--max-gpus", help="Most GPUs one offer may have (1: single GPU).")
    ] = 8,
    interruptible: Annotated[
        bool,
        typer.Option(
            "--interruptible/--on-demand", metavar="", help="Price as interruptible (minimum bid)."
        ),
    ] = False,
    max_price: Annotated[float | None, typer.Option("--max-price", help="Maximum $/hour.")] = None,
    region: Regions = None,
    min_reliability: MinReliability = None,
    limit: Annotated[int, typer.Option("--limit", help="How many GPU models to list.")] = 10,
    url: Url = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Which GPU models fit a workload, ranked by their cheapest live offer."""
    kind = workload.strip().lower().replace("-", "_")
    if vram is not None and params is None:
        kind = "vram"
    spec = lookups.Workload(
        kind=kind,  # type: ignore[arg-type]
        params_billion=params,
        precision=precision.strip().lower(),  # type: ignore[arg-type]
        vram_gb=vram,
    )
    result = lookups.recommend_gpu(
        spec,
        max_gpus=max_gpus,
        interruptible=interruptible,
        max_price_per_hour=max_price,
        regions=region or None,
        min_reliability=min_reliability,
        limit=limit,
        client=client_from_options(url, api_key),
    )
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    rows: list[dict[str, Any]] = [
        {
            "rank": rank,
            "gpu_name": o.gpu_name,
            "num_gpus": o.num_gpus,
            "vram_per_gpu_gb": round(o.vram_per_gpu_gb, 1),
            "total_vram_gb": round(o.total_vram_gb, 1),
            "price_per_hour": o.price_per_hour,
            "offer_id": o.offer.id,
            "geolocation": o.offer.geolocation,
            "reliability": o.offer.reliability_score,
        }
        for rank, o in enumerate(result.options, 1)
    ]

    def table() -> Table:
        out = Table(
            title=f"Needs {result.vram_needed_gb:g} GB: {result.formula}",
            caption="Multi-GPU options split the model across GPUs (tensor/pipeline parallel)."
            if any(r["num_gpus"] > 1 for r in rows)
            else None,
        )
        for name in ("#", "GPU", "GPUs", "VRAM GB", "$/h", "Offer", "Where"):
            out.add_column(name, justify="left" if name in ("GPU", "Where") else "right")
        for r in rows:
            out.add_row(
                str(r["rank"]), r["gpu_name"], str(r["num_gpus"]), f"{r['total_vram_gb']:g}",
                _money(r["price_per_hour"]), str(r["offer_id"]), r["geolocation"] or "-",
            )  # fmt: skip
        if not rows:
            out.add_row("-", "no offer fits", "", "", "", "", "")
        return out

    _emit(rows, False, as_csv, table)
