"""``/failover/settings``: a user's global failover settings, and per-GPU overrides."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dumont_iac.control_plane import policy
from dumont_iac.control_plane.models.common import GPU_ID_EXAMPLE, GpuIdPath, answers
from dumont_iac.control_plane.models.failover import (
    GLOBAL_EXAMPLE,
    GPU_SETTINGS_EXAMPLE,
    GlobalFailoverSettings,
    GpuFailoverSettings,
)
from dumont_iac.control_plane.models.responses import (
    GpuSettingsDeleted,
    GpuSettingsList,
    GpuSettingsOut,
)
from dumont_iac.control_plane.routes.deps import CallerDep, StoreDep
from dumont_iac.control_plane.store.documents import FAILOVER_GLOBAL, FAILOVER_GPU

router = APIRouter(prefix="/failover/settings", tags=["failover settings"])


@router.get(
    "/global",
    response_model=GlobalFailoverSettings,
    summary="The caller's global failover settings (defaults until changed)",
    responses=answers(GLOBAL_EXAMPLE),
)
def get_global(store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    return policy.global_settings(store, caller.user_id).model_dump()


@router.put(
    "/global",
    response_model=GlobalFailoverSettings,
    summary="Replace the caller's global failover settings; fields left out take defaults",
    responses=answers(GLOBAL_EXAMPLE),
)
def put_global(body: GlobalFailoverSettings, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    store.documents.put(caller.user_id, FAILOVER_GLOBAL, body.model_dump())
    return body.model_dump()


@router.get(
    "/machines",
    response_model=GpuSettingsList,
    summary="Every GPU with its own failover settings, with its effective strategy",
    responses=answers({"gpus": [GPU_SETTINGS_EXAMPLE]}),
)
def list_gpus(store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    found = store.documents.list(caller.user_id, FAILOVER_GPU)
    return {"gpus": [policy.effective(store, caller.user_id, gpu_id) for gpu_id in found]}


@router.get(
    "/machines/{gpu_id}",
    response_model=GpuSettingsOut,
    summary="One GPU's failover settings and its effective strategy",
    responses=answers(GPU_SETTINGS_EXAMPLE),
)
def get_gpu(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    return policy.effective(store, caller.user_id, gpu_id)


@router.put(
    "/machines/{gpu_id}",
    response_model=GpuSettingsOut,
    summary="Set one GPU's own failover settings",
    responses=answers(GPU_SETTINGS_EXAMPLE),
)
def put_gpu(
    gpu_id: GpuIdPath, body: GpuFailoverSettings, store: StoreDep, caller: CallerDep
) -> dict[str, Any]:
    store.documents.put(caller.user_id, FAILOVER_GPU, body.model_dump(), key=gpu_id)
    return policy.effective(store, caller.user_id, gpu_id)


@router.delete(
    "/machines/{gpu_id}",
    response_model=GpuSettingsDeleted,
    summary="Drop one GPU's own settings: it follows the global settings again",
    responses=answers({**GPU_SETTINGS_EXAMPLE, "gpu_id": GPU_ID_EXAMPLE, "deleted": True}),
)
def delete_gpu(gpu_id: GpuIdPath, store: StoreDep, caller: CallerDep) -> dict[str, Any]:
    deleted = store.documents.delete(caller.user_id, FAILOVER_GPU, key=gpu_id)
    return {**policy.effective(store, caller.user_id, gpu_id), "deleted": deleted}
