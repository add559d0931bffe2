"""POST /api/migrations: analysts move waiting demo cases to a newer deployment; everyone else is refused."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from engine.workflow.settings import DEFAULT_ROLES
from tests.e2e.api_support import Caller, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
MIGRATORS = {"analyst", "admin"}


def bpmn_upload(old: bytes = b"", new: bytes = b"") -> dict[str, Any]:
    """bpmn/ as a multipart upload, with one replacement in approval_limits.dmn."""
    files = []
    for path in sorted(p for p in BPMN_DIR.rglob("*") if p.suffix in (".bpmn", ".dmn", ".json")):
        content = path.read_bytes()
        if path.name == "approval_limits.dmn" and old:
            assert old in content
            content = content.replace(old, new)
        files.append((io.BytesIO(content), path.relative_to(BPMN_DIR).as_posix()))
    return {"files": files}


@pytest.fixture(scope="module")
def versions(shared_site: Site) -> dict[str, int]:
    """The demo's deployment and a newer one with a lower approval limit."""
    analyst = Caller(shared_site, "analyst")
    demo = ok(analyst.get("/api/processes"))["items"][0]["deployment_id"]
    newer = ok(analyst.post("/api/deployments", data=bpmn_upload(b"<text>50000</text>", b"<text>5000</text>")), 201)
    return {"old": demo, "new": newer["id"]}


@pytest.mark.parametrize("role", DEFAULT_ROLES)
def test_only_analysts_and_admins_may_plan_a_migration(shared_site: Site, versions: dict[str, int], role: str) -> None:
    caller = Caller(shared_site, role.replace("_", "."))
    response = caller.post("/api/migrations", json={"from": versions["old"], "to": versions["new"], "dry_run": True})
    if role in MIGRATORS:
        body = ok(response)
        assert body["dry_run"] is True and body["from"]["id"] == versions["old"] and body["to"]["id"] == versions["new"]
        assert body["instances"] and {i["outcome"] for i in body["instances"]} <= {"can migrate", "cannot migrate"}
    else:
        assert error(response, 403)["code"] == "forbidden"


def test_signed_out_callers_get_401(shared_site: Site, versions: dict[str, int]) -> None:
    response = shared_site.client().post("/api/migrations", json={"from": versions["old"], "to": versions["new"],
                                                                  "dry_run": True})
    assert error(response, 401)["code"] == "unauthorized"


@pytest.mark.parametrize(("body", "field"), [
    ({"from": "old", "to": "old", "dry_run": True}, "to"),
    ({"from": "old", "to": 9999, "dry_run": True}, "to"),
    ({"from": "old", "to": "new"}, "dry_run"),
    ({"from": "one", "to": "new", "dry_run": True}, "from"),
    ({"from": "old", "to": "new", "dry_run": True, "process": "travel"}, "process"),
    ({"from": "old", "to": "new", "dry_run": True, "instances": [999999]}, "instances"),
])
def test_bad_requests_answer_422_with_the_field(shared_site: Site, versions: dict[str, int], body: dict[str, Any],
                                                field: str) -> None:
    sent = {k: versions.get(v, v) if isinstance(v, str) and k in ("from", "to") else v for k, v in body.items()}
    problem = error(Caller(shared_site, "analyst").post("/api/migrations", json=sent), 422)
    assert problem["code"] == "invalid_input" and field in problem["details"]["fields"]


def test_a_dry_run_then_the_migration_moves_what_it_said_and_reports_the_rest(
        shared_site: Site, versions: dict[str, int]) -> None:
    analyst = Caller(shared_site, "analyst")
    request = {"from": versions["old"], "to": versions["new"], "process": "claims"}
    plan = ok(analyst.post("/api/migrations", json={**request, "dry_run": True}))
    movable = sorted(i["id"] for i in plan["instances"] if i["outcome"] == "can migrate")
    assert movable, plan
    for item in plan["instances"]:
        assert item["process"] == "claims" and (item["outcome"] == "can migrate") == (not item["reasons"])
    blocked = [i for i in plan["instances"] if i["outcome"] == "cannot migrate"]
    assert all(r.startswith(("task '", "timer '", "completed task", "the waiting task", "instance"))
               for i in blocked for r in i["reasons"])

    # One of them changes after the plan: it is a conflict, the others move.
    stale, *rest = movable
    versions_seen = {str(i["id"]): i["version"] for i in plan["instances"]}
    versions_seen[str(stale)] -= 1
    done = ok(analyst.post("/api/migrations", json={**request, "dry_run": False, "instances": movable,
                                                     "versions": versions_seen}))
    by_id = {i["id"]: i for i in done["instances"]}
    assert by_id[stale]["outcome"] == "conflict" and "changed meanwhile" in by_id[stale]["reasons"][0]
    assert all(by_id[i]["outcome"] == "migrated" for i in rest)
    assert done["counts"] == {"conflict": 1, **({"migrated": len(rest)} if rest else {})}
    auditor = Caller(shared_site, "auditor")
    for instance_id in rest:
        events = ok(auditor.get(f"/api/instances/{instance_id}/history?page_size=100"))["items"]
        assert events[-1]["type"] == "instance_migrated"
        assert ok(auditor.post(f"/api/instances/{instance_id}/replay"))["consistent"] is True


def test_the_endpoint_is_in_the_openapi_document(shared_site: Site) -> None:
    document = ok(shared_site.client().get("/api/openapi.json"))
    validate(document)
    operation = document["paths"]["/api/migrations"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MigrationArgs"}
    args = document["components"]["schemas"]["MigrationArgs"]
    assert {"from", "to", "dry_run"} <= set(args["required"])
    assert set(operation["responses"]) >= {"200", "422"}
