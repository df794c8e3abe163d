"""Shapes shared by every router: identifiers, the error envelope, and example helpers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, StringConstraints

# Logical GPU ids are short printable tokens (the provider's are ``gpu-<12 hex digits>``).
GPU_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
GPU_ID_EXAMPLE = "gpu-3f9a1c0e7b2d"
MAX_ROW_ID = 2**31 - 1  # the integer columns' range on PostgreSQL

GpuId = Annotated[str, StringConstraints(pattern=GPU_ID_PATTERN)]
GpuIdPath = Annotated[
    str,
    Path(
        pattern=GPU_ID_PATTERN,
        description="The GPU's logical id (stable across failovers; not a contract id).",
        examples=[GPU_ID_EXAMPLE],
    ),
]
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, examples=[1])]


class Body(BaseModel):
    """Request bodies: unknown fields and wrong types are refused, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(BaseModel):
    error: str
    model_config = ConfigDict(json_schema_extra={"examples": [{"error": "Invalid API key."}]})


class ValidationErrorBody(BaseModel):
    error: str
    details: list[dict[str, Any]]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "Validation error",
                    "details": [
                        {
                            "loc": ["body", "strategy"],
                            "msg": "Input should be 'warm_pool', 'cpu_standby', 'both' or "
                            "'disabled'",
                            "type": "literal_error",
                        }
                    ],
                }
            ]
        }
    )


def answers(example: Any, status: int = 200, *extra: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation: its success with an example, plus ``extra`` errors."""
    described: dict[int | str, dict[str, Any]] = {
        status: {"content": {"application/json": {"example": example}}}
    }
    for code in extra:
        described[code] = {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]}
    return described


ERROR_DESCRIPTIONS = {
    404: "Not found (or not yours: other users' records are invisible).",
    409: "Conflicts with the current state.",
    502: "The marketplace or the snapshot store failed the request; nothing is left billing.",
}

# Every operation under /api/v1 can answer these; the app adds them to each one.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key: send `Authorization: Bearer <key>`."},
    403: {"model": ErrorBody, "description": "The key is unknown, or rotated out and expired."},
    422: {"model": ValidationErrorBody, "description": "The request does not validate."},
}
