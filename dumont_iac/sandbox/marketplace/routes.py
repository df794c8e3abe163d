"""The marketplace's REST paths (``/api/v0`` and the paginated ``/api/v1/instances/``).

Thin on purpose: each route reads the request as the official client sends it (JSON bodies
parsed leniently here, JSON-encoded query-string values), calls one store method in a worker
thread, and answers the typed result it returns (``store.shapes``). Validation lives in the
store, so every mistake comes back in the marketplace's error envelope. Trailing slashes are
optional (the app serves both).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from dumont_iac.sandbox.core.responses import JSONResponse
from dumont_iac.sandbox.marketplace.deps import MaybeUser, StoreDep, User
from dumont_iac.sandbox.marketplace.errors import InvalidArgs

router = APIRouter(default_response_class=JSONResponse, tags=["marketplace"])


def _doc(summary: str, response: Any, request: Any = None, **extra: Any) -> dict[str, Any]:
    """Route metadata with a response example and, for bodies, a request example."""
    doc: dict[str, Any] = {
        "summary": summary,
        "responses": {200: {"content": {"application/json": {"example": response}}}},
        **extra,
    }
    if request is not None:
        doc["openapi_extra"] = {
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object"}, "example": request}},
            }
        }
    return doc


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgs(f"body: not valid JSON ({exc})", field="body") from None


def _json_param(request: Request, name: str) -> Any:
    """A query-string value the client sent as URL-encoded JSON (plain text passes through)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if name in ("after_token", "limit"):
            return raw
        raise InvalidArgs(f"{name}={raw!r} is not valid JSON.", field=name) from None


def _int(value: str, name: str) -> int:
    """A path or query id; the store refuses ids outside SQLite's 64-bit range."""
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidArgs(f"{name}={value!r} must be a whole number.", field=name) from None


async def _answer(call: Callable[[], object], key: str | None = None) -> JSONResponse:
    """``call()`` (a store method, its arguments bound) in a worker thread, answered as it
    returns or under ``key``."""
    result = await run_in_threadpool(call)
    return JSONResponse(result if key is None else {key: result})


# --- offers ---------------------------------------------------------------------------------------

OFFER_EXAMPLE = {
    "id": 12000345,
    "ask_contract_id": 12000345,
    "machine_id": 10457,
    "host_id": 1093,
    "num_gpus": 2,
    "gpu_name": "RTX 4090",
    "gpu_ram": 24564,
    "gpu_total_ram": 49128,
    "cpu_cores_effective": 16.0,
    "cpu_ram": 128450,
    "disk_space": 1000.0,
    "dph_base": 0.82,
    "dph_total": 0.8277,
    "min_bid": 0.41,
    "storage_cost": 0.112,
    "is_bid": False,
    "reliability": 0.9912,
    "reliability2": 0.9912,
    "verified": True,
    "rentable": True,
    "rented": False,
    "geolocation": "Dallas, US",
    "cuda_max_good": 12.4,
    "driver_version": "550.127.05",
    "compute_cap": 890,
    "direct_port_count": 100,
    "public_ipaddr": "198.18.7.21",
    "score": 212.5,
}
SEARCH_EXAMPLE = {
    "verified": {"eq": True},
    "external": {"eq": False},
    "rentable": {"eq": True},
    "gpu_name": {"eq": "RTX 4090"},
    "num_gpus": {"gte": "2"},
    "dph_total": {"lt": "1.0"},
    "order": [["dph_total", "asc"]],
    "type": "on-demand",
    "limit": 10,
    "allocated_storage": 5.0,
}
SEARCH_DOC = _doc(
    "Search offers with the query language", {"offers": [OFFER_EXAMPLE]}, SEARCH_EXAMPLE
)


@router.post("/api/v0/bundles/", **SEARCH_DOC)
async def search_offers(request: Request, user: MaybeUser, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.search_offers, await _body(request)), key="offers")


@router.put(
    "/api/v0/search/asks/",
    **_doc(
        "Search offers (the wrapped form the client's --new search sends)",
        {"offers": [OFFER_EXAMPLE]},
        {"select_cols": ["*"], "q": SEARCH_EXAMPLE},
    ),
)
async def search_asks(request: Request, user: MaybeUser, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.search_offers, await _body(request)), key="offers")


@router.get(
    "/api/v0/bundles/",
    **_doc("Search offers with the query as URL-encoded JSON in ?q=", {"offers": [OFFER_EXAMPLE]}),
)
async def search_offers_get(request: Request, user: MaybeUser, store: StoreDep) -> JSONResponse:
    return await _answer(
        partial(store.search_offers, _json_param(request, "q") or {}), key="offers"
    )


@router.get(
    "/api/v0/gpu_names/unique/",
    **_doc("The GPU model names on the market", {"gpu_names": ["RTX 3090", "RTX 4090"]}),
)
async def gpu_names(store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.gpu_names))


RENT_EXAMPLE = {
    "client_id": "me",
    "image": "pytorch/pytorch:latest",
    "disk": 20,
    "label": "train-a",
    "env": {"HF_HOME": "/workspace/hf", "-p 8000:8000": "1"},
    "onstart": "python serve.py",
    "runtype": "ssh_direc ssh_proxy",
    "price": 0.45,
}


@router.put(
    "/api/v0/asks/{ask_id}/",
    **_doc(
        "Rent an offer: on-demand, or interruptible with a bid `price`",
        {"success": True, "new_contract": 26000017},
        RENT_EXAMPLE,
    ),
)
async def rent(request: Request, ask_id: str, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.rent, user, _int(ask_id, "ask_id"), await _body(request)))


@router.post(
    "/api/v0/asks/bulk/",
    **_doc(
        "Rent several offers with one body (`vastai create instances`)",
        {
            "success": True,
            "new_contracts": [26000017, 26000018],
            "results": {
                "12000345": {"success": True, "new_contract": 26000017},
                "12000346": {"success": True, "new_contract": 26000018},
            },
        },
        {**RENT_EXAMPLE, "ids": [12000345, 12000346]},
    ),
)
async def rent_many(request: Request, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.rent_many, user, await _body(request)))


# --- instances ------------------------------------------------------------------------------------

INSTANCE_EXAMPLE = {
    "id": 26000017,
    "label": "train-a",
    "actual_status": "running",
    "intended_status": "running",
    "cur_state": "running",
    "next_state": "running",
    "status_msg": "success, running",
    "image_uuid": "pytorch/pytorch:latest",
    "machine_id": 10457,
    "host_id": 1093,
    "num_gpus": 1,
    "gpu_name": "RTX 4090",
    "gpu_ram": 24564,
    "disk_space": 20.0,
    "dph_base": 0.45,
    "dph_total": 0.4531,
    "min_bid": 0.2,
    "is_bid": True,
    "ssh_host": "ssh4.sandbox.invalid",
    "ssh_port": 45871,
    "public_ipaddr": "198.18.7.21",
    "ports": {
        "22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "10123"}],
        "8000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "10124"}],
    },
    "geolocation": "Dallas, US",
    "reliability2": 0.9912,
    "start_date": 1767225600.0,
    "extra_env": [["HF_HOME", "/workspace/hf"]],
    "volume_info": [],
}
SUCCESS = {"success": True}


@router.get(
    "/api/v0/instances/",
    **_doc("The caller's instances (owner=me)", {"instances": [INSTANCE_EXAMPLE]}),
)
async def list_instances(user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.list_instances, user), key="instances")


@router.put(
    "/api/v0/instances/",
    **_doc(
        "Start or stop several instances",
        {"success": True, "results": {"26000017": SUCCESS}},
        {"ids": [26000017], "state": "stopped"},
    ),
)
async def manage_instances(request: Request, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.manage_instances, user, await _body(request)))


@router.delete(
    "/api/v0/instances/",
    **_doc(
        "Destroy several instances",
        {"success": True, "results": {"26000017": SUCCESS}},
        {"instance_ids": [26000017]},
    ),
)
async def destroy_instances(request: Request, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.destroy_instances, user, await _body(request)))


@router.get(
    "/api/v0/instances/filters/",
    **_doc(
        "The distinct status, verification and GPU combinations of the caller's instances",
        {"filters": [{"actual_status": "running", "verification": "verified",
                      "gpu_name": "RTX 4090"}]},
    ),
)  # fmt: skip
async def instance_filters(user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.instance_filters, user))


@router.get(
    "/api/v1/instances/",
    **_doc(
        "One page of the caller's instances: select_filters, order_by, limit (<= 25), "
        "after_token (JSON-encoded in the query string)",
        {
            "success": True,
            "instances_found": 1,
            "total_instances": 1,
            "next_token": None,
            "label_counts": {"train-a": 1},
            "instances": [INSTANCE_EXAMPLE],
        },
    ),
)
async def list_instances_page(request: Request, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(
        partial(
            store.list_instances_page,
            user,
            _json_param(request, "select_filters"),
            _json_param(request, "order_by"),
            _json_param(request, "limit"),
            request.query_params.get("after_token"),
            _json_param(request, "select_cols"),
        )
    )


@router.get(
    "/api/v0/instances/{instance_id}/",
    **_doc(
        'One instance; a destroyed or unknown one answers {"instances": null}',
        {"instances": INSTANCE_EXAMPLE},
    ),
)
async def get_instance(
    request: Request, instance_id: str, user: User, store: StoreDep
) -> JSONResponse:
    return await _answer(
        partial(store.get_instance, user, _int(instance_id, "id")), key="instances"
    )


@router.put(
    "/api/v0/instances/{instance_id}/",
    **_doc("Start or stop an instance, or change its label", SUCCESS, {"state": "stopped"}),
)
async def manage_instance(
    request: Request, instance_id: str, user: User, store: StoreDep
) -> JSONResponse:
    return await _answer(
        partial(store.manage_instance, user, _int(instance_id, "id"), await _body(request))
    )


@router.delete("/api/v0/instances/{instance_id}/", **_doc("Destroy an instance", SUCCESS))
async def destroy(instance_id: str, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.destroy, user, _int(instance_id, "id")))


@router.put(
    "/api/v0/instances/bid_price/{instance_id}/",
    **_doc("Change an interruptible instance's bid", SUCCESS, {"client_id": "me", "price": 0.5}),
)
async def change_bid(
    request: Request, instance_id: str, user: User, store: StoreDep
) -> JSONResponse:
    return await _answer(
        partial(store.change_bid, user, _int(instance_id, "id"), await _body(request))
    )


@router.put(
    "/api/v0/instances/reboot/{instance_id}/",
    **_doc("Reboot a running instance (it keeps its GPUs)", SUCCESS, {}),
)
async def reboot(instance_id: str, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.reboot, user, _int(instance_id, "id")))


# --- volumes --------------------------------------------------------------------------------------

VOLUME_OFFER_EXAMPLE = {
    "id": 40000123,
    "machine_id": 10457,
    "host_id": 1093,
    "disk_space": 980.0,
    "storage_cost": 0.112,
    "dph_total": 0.000156,
    "reliability": 0.9912,
    "verified": True,
    "geolocation": "Dallas, US",
}
VOLUME_EXAMPLE = {
    "id": 35000001,
    "volume_name": "V.35000001",
    "label": "weights",
    "disk_space": 50.0,
    "status": "in_use",
    "instances": [26000017],
    "machine_id": 10457,
    "geolocation": "Dallas, US",
    "start_date": 1767225600.0,
}


@router.post(
    "/api/v0/volumes/search/",
    **_doc(
        "Search local-volume offers (one per machine, its free disk)",
        {"offers": [VOLUME_OFFER_EXAMPLE]},
        {"machine_id": {"eq": 10457}, "disk_space": {"gte": 50}, "allocated_storage": 50},
    ),
)
async def search_volumes(request: Request, user: MaybeUser, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.search_volume_offers, await _body(request)), key="offers")


@router.put(
    "/api/v0/volumes/",
    **_doc(
        "Create a local volume from a volume offer",
        {"success": True, "volume_name": "V.35000001"},
        {"id": 40000123, "size": 50, "name": "weights"},
    ),
)
async def create_volume(request: Request, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.create_volume, user, await _body(request)))


@router.get("/api/v0/volumes/", **_doc("The caller's volumes", {"volumes": [VOLUME_EXAMPLE]}))
async def list_volumes(user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.list_volumes, user))


@router.delete(
    "/api/v0/volumes/",
    **_doc(
        'Delete a volume (?id=N or {"id": N}); refused while instances use it',
        SUCCESS,
        {"id": 35000001},
    ),
)
async def delete_volume(request: Request, user: User, store: StoreDep) -> JSONResponse:
    given = request.query_params.get("id")
    if given is None:
        body = await _body(request)
        given = body.get("id") if isinstance(body, dict) else None
    if given is None:
        raise InvalidArgs('Give the volume id as ?id=N or in the body as {"id": N}.', field="id")
    return await _answer(partial(store.delete_volume, user, _int(str(given), "id")))


# --- account --------------------------------------------------------------------------------------


@router.get(
    "/api/v0/users/current/",
    **_doc(
        "The caller's account; credit falls as instances and volumes bill",
        {"id": 1, "email": "user1@sandbox.invalid", "credit": 987.65, "balance": 0.0},
    ),
)
async def current_user(user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.current_user, user))


SSH_KEY_EXAMPLE = {
    "id": 1001,
    "user_id": 1,
    "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF0o me@laptop",
    "created_at": 1767225600.0,
    "deleted_at": None,
}


@router.get("/api/v0/ssh/", **_doc("The caller's SSH public keys (a list)", [SSH_KEY_EXAMPLE]))
async def list_ssh_keys(user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.list_ssh_keys, user))


@router.post(
    "/api/v0/ssh/",
    **_doc(
        "Register an SSH public key",
        {"success": True, "key": SSH_KEY_EXAMPLE},
        {"ssh_key": SSH_KEY_EXAMPLE["public_key"]},
    ),
)
async def add_ssh_key(request: Request, user: User, store: StoreDep) -> JSONResponse:
    return await _answer(partial(store.add_ssh_key, user, await _body(request)))


@router.delete("/api/v0/ssh/{key_id}/", **_doc("Remove an SSH public key", SUCCESS))
async def delete_ssh_key(
    request: Request, key_id: str, user: User, store: StoreDep
) -> JSONResponse:
    return await _answer(partial(store.delete_ssh_key, user, _int(key_id, "id")))
