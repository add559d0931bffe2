"""The OpenAPI document states every client error each operation can give, with the error body (issue 13,
finding 9): no catch-all `default` response hides an undocumented status from the fuzz run (scripts/fuzz_api.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from webui import create_app

METHODS = {"get", "post", "put", "patch", "delete"}
UNSAFE = {"post", "put", "patch", "delete"}
PUBLIC = {("get", "/api/health")}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app: Flask = create_app(None, {"TESTING": True, "SECRET_KEY": "test"})
    return app.test_client().get("/api/openapi.json").get_json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in document["paths"].items() for method, op in item.items()
            if method in METHODS]


def statuses(op: dict[str, Any]) -> set[int]:
    return {int(code) for code in op["responses"] if code != "default"}


def signed_in(document: dict[str, Any], op: dict[str, Any]) -> bool:
    return bool(op.get("security", document.get("security")))


def test_no_operation_hides_its_errors_behind_a_default_response(document: dict[str, Any]) -> None:
    assert [(m, p) for m, p, op in operations(document) if "default" in op["responses"]] == []


def test_every_signed_in_operation_states_401_and_403_and_every_change_also_400_and_409(
        document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(document):
        if signed_in(document, op):
            need = {401, 403} | ({400, 409} if method in UNSAFE else set())
            missing += [(method, path, code) for code in sorted(need - statuses(op))]
    assert missing == []


def test_open_operations_state_no_sign_in_errors(document: dict[str, Any]) -> None:
    open_ops = [(m, p, op) for m, p, op in operations(document) if not signed_in(document, op)]
    assert {(m, p) for m, p, _ in open_ops} >= PUBLIC
    assert [(m, p) for m, p, op in open_ops if 401 in statuses(op)] == []
    # 403 on an open operation only where the claimant's code opens a case but not every message of it.
    assert [(m, p) for m, p, op in open_ops if 403 in statuses(op)] == [
        ("post", "/api/public/claims/{claim_no}/messages/{name}")]


def test_every_operation_with_a_path_id_states_404(document: dict[str, Any]) -> None:
    assert [(m, p) for m, p, op in operations(document) if "{" in p and 404 not in statuses(op)] == []


def test_every_operation_with_a_body_states_400_413_422_and_a_json_body_also_415(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(document):
        body = op.get("requestBody")
        if body:
            need = {400, 413, 422} | ({415} if "application/json" in body["content"] else set())
            missing += [(method, path, code) for code in sorted(need - statuses(op))]
    assert missing == []


def test_every_operation_with_query_parameters_states_422(document: dict[str, Any]) -> None:
    queried = [(m, p) for m, p, op in operations(document)
               if any(param.get("in") == "query" for param in op.get("parameters", []))]
    assert queried and [(m, p) for m, p in queried
                        if 422 not in statuses(document["paths"][p][m])] == []


def test_the_public_claim_look_up_states_its_rate_limit(document: dict[str, Any]) -> None:
    public = [op for m, p, op in operations(document) if p.startswith("/api/public/")]
    assert public and all(429 in statuses(op) for op in public)


def test_every_client_error_has_the_error_body(document: dict[str, Any]) -> None:
    shared = document["components"].get("responses", {})
    bare = []
    for method, path, op in operations(document):
        for code, response in op["responses"].items():
            if not 400 <= int(code) < 500:
                continue
            if "$ref" in response:
                response = shared[response["$ref"].rsplit("/", 1)[-1]]
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": "#/components/schemas/Error"}:
                bare.append((method, path, code))
    assert bare == []


def test_a_start_requires_its_body(document: dict[str, Any]) -> None:
    start = document["paths"]["/api/processes/{key}/instances"]["post"]
    assert start["requestBody"]["required"] is True and {400, 415} <= statuses(start)
