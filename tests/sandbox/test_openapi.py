"""The sandbox's OpenAPI document: every endpoint listed with an example, and no input is a 500.

The fuzz test generates requests from the document itself (schemathesis over hypothesis), valid
and invalid, against the real server, and fails on any 5xx. It is bounded to stay quick.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}

# Arming transport faults or rate limits would make later generated calls fail on purpose.
NOT_FUZZED = {("POST", "/_sandbox/faults"), ("PUT", "/_sandbox/rate-limits")}


@pytest.fixture
def openapi(sandbox) -> dict[str, Any]:
    with sandbox.client(anonymous=True) as http:
        response = http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _has_example(doc: dict[str, Any], media: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = _resolve(doc, media.get("schema", {}))
    return isinstance(schema, dict) and bool(schema.get("example") or schema.get("examples"))


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def test_every_operation_has_an_example(openapi):
    missing = []
    for method, path, operation in _operations(openapi):
        body = _resolve(openapi, operation.get("requestBody", {}))
        request_examples = any(
            _has_example(openapi, media) for media in body.get("content", {}).values()
        )
        response_examples = any(
            _has_example(openapi, media)
            for status, response in operation.get("responses", {}).items()
            if str(status).startswith("2")
            for media in _resolve(openapi, response).get("content", {}).values()
        )
        if not (request_examples or response_examples):
            missing.append(f"{method} {path}")
    assert not missing, "operations without any example: " + ", ".join(missing)


def test_the_document_lists_the_marketplace_and_the_fault_surface(openapi):
    listed = {(method, path.rstrip("/")) for method, path, _ in _operations(openapi)}
    expected = {
        ("GET", "/health"),
        ("POST", "/api/v0/bundles"),
        ("PUT", "/api/v0/asks/{ask_id}"),
        ("GET", "/api/v0/instances"),
        ("GET", "/api/v1/instances"),
        ("GET", "/api/v0/users/current"),
        ("GET", "/api/v0/gpu_names/unique"),
        ("POST", "/_sandbox/faults"),
        ("POST", "/_sandbox/offers/{ask_id}/take"),
        ("POST", "/_sandbox/instances/{instance_id}/outbid"),
        ("POST", "/_sandbox/machines/{machine_id}/fail"),
        ("POST", "/_sandbox/clock/advance"),
        ("PUT", "/_sandbox/rate-limits"),
        ("GET", "/_sandbox/instances/{instance_id}/workspace"),
        ("PUT", "/_sandbox/instances/{instance_id}/workspace/{path}"),
        ("GET", "/_sandbox/instances/{instance_id}/workspace/{path}"),
        ("DELETE", "/_sandbox/instances/{instance_id}/workspace/{path}"),
    }
    assert expected <= listed, f"not documented: {sorted(expected - listed)}"
    # The fault surface is described, not only listed.
    faults = openapi["paths"]["/_sandbox/faults"]["post"]
    examples = faults["requestBody"]["content"]["application/json"]["examples"]
    assert {"error", "hang", "drop"} <= set(examples)


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(sandbox, openapi):
    schema = schemathesis.openapi.from_dict(openapi)
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    failures: list[str] = []
    operations = 0
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue
        operations += 1
        valid_and_invalid = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @hypothesis.settings(
            max_examples=15,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=valid_and_invalid)
        def call(case: Any) -> None:
            response = case.call(base_url=sandbox.url, session=session, headers=headers, timeout=10)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code} "
                    f"{response.text[:200]}"
                )

        call()
    session.close()
    assert operations >= 20
    assert not failures, "\n".join(failures)
