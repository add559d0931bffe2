"""The OpenAPI document at /api/openapi.json: valid OpenAPI 3, and it lists every API endpoint the app serves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from webui import create_app

# DESIGN.md's API contract, less POST /api/migrations (the engine has no migration service yet).
CONTRACT = {
    ("get", "/api/health"),
    ("get", "/api/processes"),
    ("post", "/api/processes/validate"),
    ("post", "/api/deployments"),
    ("get", "/api/deployments/{deployment_id}/files/{name}"),
    ("post", "/api/processes/{key}/instances"),
    ("get", "/api/instances"),
    ("get", "/api/instances/{instance_id}"),
    ("post", "/api/instances/{instance_id}/messages/{name}"),
    ("post", "/api/messages/{name}"),
    ("post", "/api/signals/{name}"),
    ("get", "/api/incidents"),
    ("post", "/api/incidents/{incident_id}/retry"),
    ("get", "/api/tasks"),
    ("get", "/api/tasks/{task_id}"),
    ("post", "/api/tasks/{task_id}/claim"),
    ("post", "/api/tasks/{task_id}/release"),
    ("post", "/api/tasks/{task_id}/assign"),
    ("post", "/api/tasks/{task_id}/complete"),
    ("get", "/api/instances/{instance_id}/history"),
    ("post", "/api/instances/{instance_id}/replay"),
    ("get", "/api/audit/verify"),
    # The check travels in the body now (issue 13, finding 7): a POST, never a query in the URL.
    ("post", "/api/public/claims/{claim_no}"),
    ("post", "/api/migrations"),
}
# Beyond DESIGN.md's table: uploads, the auditor's exports and checks, the analysts' studio and dry runs, a
# policy's beneficiaries, the policy look-up while reporting a claim.
EXTENSIONS = {
    ("post", "/api/policies/lookup"),
    ("post", "/api/public/claims/{claim_no}/messages/{name}"),  # the claimant's own messages (finding 7)
    ("post", "/api/tasks/{task_id}/documents"),
    ("get", "/api/instances/{instance_id}/report"),
    ("post", "/api/instances/{instance_id}/unmask"),
    ("get", "/api/audit/checkpoint"),
    ("post", "/api/audit/checkpoint/verify"),
    ("get", "/api/studio/operators"),
    ("get", "/api/studio/processes/{key}/versions"),
    ("get", "/api/studio/processes/{key}/diff"),
    ("post", "/api/studio/processes/{key}/rollback"),
    ("get", "/api/studio/drafts/{key}"),
    ("put", "/api/studio/drafts/{key}"),
    ("delete", "/api/studio/drafts/{key}"),
    ("post", "/api/studio/drafts/{key}/deploy"),
    ("post", "/api/dry-runs"),
    ("get", "/api/processes/{key}/scenarios"),
    ("post", "/api/processes/{key}/scenarios"),
    ("get", "/api/processes/{key}/scenarios/{scenario_id}"),
    ("put", "/api/processes/{key}/scenarios/{scenario_id}"),
    ("delete", "/api/processes/{key}/scenarios/{scenario_id}"),
    ("post", "/api/processes/{key}/scenarios/{scenario_id}/run"),
    ("get", "/api/policies/{number}/beneficiaries"),
    ("put", "/api/policies/{number}/beneficiaries"),
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def app() -> Flask:
    """The app without an instance behind it: the document needs no database."""
    return create_app(None, {"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3.0 schema
    assert document["openapi"] == "3.0.3" and document["info"]["title"] == "InsureFlow"


def test_the_document_lists_every_endpoint_of_the_contract_and_nothing_else(document: dict[str, Any]) -> None:
    assert operations(document) >= CONTRACT
    assert operations(document) - CONTRACT == EXTENSIONS


def test_every_api_route_the_app_serves_is_in_the_document(app: Flask, document: dict[str, Any]) -> None:
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # <int:task_id> → {task_id}
            served |= {(m.lower(), path) for m in rule.methods or () if m.lower() in METHODS}
    assert served == operations(document)


def test_signed_in_calls_take_a_bearer_token_or_the_session_cookie_and_the_public_page_neither(
        document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    assert (schemes["cookieAuth"]["type"], schemes["cookieAuth"]["in"]) == ("apiKey", "cookie")
    assert document["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert document["paths"]["/api/public/claims/{claim_no}"]["post"]["security"] == []
    assert document["paths"]["/api/public/claims/{claim_no}/messages/{name}"]["post"]["security"] == []
    assert document["paths"]["/api/health"]["get"]["security"] == []


def test_errors_are_documented_with_the_error_body(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"] == "#/components/schemas/ErrorDetail"
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "details"}
    validate_op = document["paths"]["/api/processes/validate"]["post"]
    assert validate_op["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
