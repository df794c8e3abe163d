"""Invalid input is a 422 in the envelope, never a 500; the document has an example for every
operation; a bounded schemathesis run over the whole API finds no server error."""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode

from .test_auth import operations

GLOBAL = "/api/v1/failover/settings/global"


@pytest.fixture
def alice(control_plane):
    with control_plane.client(control_plane.alice) as http:
        yield http


def _is_validation_error(response) -> bool:
    body = response.json()
    return (
        response.status_code == 422
        and body["error"] == "Validation error"
        and isinstance(body["details"], list)
        and body["details"]
    )


def test_an_invalid_strategy_is_a_422_naming_the_field(alice):
    response = alice.put(GLOBAL, json={"strategy": "teleport"})
    assert _is_validation_error(response), response.text
    assert response.json()["details"][0]["loc"] == ["body", "strategy"]
    machine = "/api/v1/failover/settings/machines/gpu-1"
    response = alice.put(machine, json={"use_global_settings": False, "strategy": "fast"})
    assert _is_validation_error(response)
    assert alice.get(GLOBAL).json()["strategy"] == "both"  # nothing was stored


@pytest.mark.parametrize(
    "path, body",
    [
        (GLOBAL, {"warm_pool": {"min_gpus_per_host": "two"}}),
        (GLOBAL, {"warm_pool": {"min_gpus_per_host": "2"}}),  # strings are not coerced
        (GLOBAL, {"warm_pool": {"min_gpus_per_host": 1}}),  # out of range
        (GLOBAL, {"cpu_standby": {"spot": "yes"}}),
        (GLOBAL, {"max_failovers_per_day": 5.5}),
        (GLOBAL, {"unknown_field": 1}),
        (GLOBAL, []),
        ("/api/v1/snapshots/retention-policy", {"retention_days": 366}),
        ("/api/v1/snapshots/retention-policy", {"min_snapshots_to_keep": 5,
                                                "max_snapshots_per_instance": 2}),
        ("/api/v1/standby/associations/gpu-1", {"cpu_instance_name": "vm", "zone": 3}),
        ("/api/v1/standby/associations/gpu-1",
         {"cpu_instance_name": "vm", "zone": "us-east-1a", "ip": "not-an-address"}),
        ("/api/v1/budgets/1", {"name": "b", "threshold": -1}),
        ("/api/v1/budgets/1", {"name": "b", "threshold": "ten"}),
    ],
)  # fmt: skip
def test_wrong_types_and_ranges_are_a_422(alice, path, body):
    assert _is_validation_error(alice.put(path, json=body))


def test_malformed_json_and_bad_path_parameters_are_a_422(alice):
    broken = alice.put(GLOBAL, content=b"{not json", headers={"Content-Type": "application/json"})
    assert _is_validation_error(broken)
    assert _is_validation_error(alice.get("/api/v1/budgets/0"))
    assert _is_validation_error(alice.get("/api/v1/budgets/99999999999"))
    assert _is_validation_error(alice.get("/api/v1/failover/status/bad%20id"))
    assert _is_validation_error(
        alice.post("/api/v1/failover/execute", json={"gpu_id": "x", "kind": "nuke"})
    )


def test_unknown_paths_and_methods_answer_in_the_envelope(alice):
    missing = alice.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "No such endpoint: GET /api/v1/nothing-here"}
    wrong_method = alice.patch(GLOBAL, json={})
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


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


@pytest.fixture
def openapi(control_plane) -> dict[str, Any]:
    with control_plane.client() as http:
        return http.get("/openapi.json").json()


def test_every_operation_has_request_and_response_examples_and_schemas(openapi):
    missing = []
    for method, path in operations(openapi):
        operation = openapi["paths"][path][method.lower()]
        body = _resolve(openapi, operation.get("requestBody", {}))
        for media in body.get("content", {}).values():
            if not _has_example(openapi, media):
                missing.append(f"{method} {path} request")
        answered = [
            media
            for status, response in operation["responses"].items()
            if str(status).startswith("2")
            for media in _resolve(openapi, response).get("content", {}).values()
        ]
        if not answered or not all(_has_example(openapi, media) for media in answered):
            missing.append(f"{method} {path} response")
        if not all(media.get("schema") for media in answered):
            missing.append(f"{method} {path} response schema")
    assert not missing, "missing: " + ", ".join(missing)


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(control_plane, openapi):
    schema = schemathesis.openapi.from_dict(openapi)
    failures: list[str] = []
    count = 0
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        count += 1
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @hypothesis.settings(
            max_examples=6,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=cases, key=st.sampled_from([control_plane.alice, "dcp_wrong"]))
        def call(case: Any, key: str) -> None:
            response = case.call(
                base_url=control_plane.url,
                session=session,
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code} "
                    f"{response.text[:200]}"
                )

        call()
    session.close()
    assert count >= 20
    assert not failures, "\n".join(failures)
