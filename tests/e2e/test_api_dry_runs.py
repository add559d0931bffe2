"""POST /api/dry-runs and the saved scenarios: analysts try drafts on scenarios; nothing is kept."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.workflow.models import EventModel, InstanceModel
from engine.workflow.settings import DEFAULT_ROLES
from tests.bpmn.test_claims_scenarios import assessment, claim_form
from tests.e2e.api_support import Caller, days_ago, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
ANALYSTS = {"analyst", "admin"}
CLAIM = claim_form(incident=days_ago(40))  # a day no demo claim is about: never a duplicate
SCENARIO = {"process": "claims", "steps": [{"task": "register_claim", "data": CLAIM},
                                           {"task": "assess_amount", "data": assessment(7_000)}]}


def draft(limit: bytes = b"5000") -> list[tuple[io.BytesIO, str]]:
    """bpmn/ with the approval limit changed, as multipart files."""
    files = []
    for path in sorted(p for p in BPMN_DIR.rglob("*") if p.suffix in (".bpmn", ".dmn", ".json")):
        content = path.read_bytes()
        if path.name == "approval_limits.dmn":
            content = content.replace(b"<text>50000</text>", b"<text>" + limit + b"</text>")
        files.append((io.BytesIO(content), path.relative_to(BPMN_DIR).as_posix()))
    return files


def counts(site: Site) -> tuple[int, int]:
    with site.wired.runtime.uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(InstanceModel)),
                uow.session.scalar(select(func.count()).select_from(EventModel)))


@pytest.mark.parametrize("role", DEFAULT_ROLES)
def test_only_analysts_and_admins_may_dry_run_and_keep_scenarios(shared_site: Site, role: str) -> None:
    caller = Caller(shared_site, role.replace("_", "."))
    run = caller.post("/api/dry-runs", json={"scenario": SCENARIO})
    listed = caller.get("/api/processes/claims/scenarios")
    saved = caller.post("/api/processes/claims/scenarios", json={"name": f"by {role}", "scenario": SCENARIO})
    if role in ANALYSTS:
        assert ok(run)["status"] == "completed"
        assert isinstance(ok(listed)["items"], list)
        assert ok(saved, 201)["created_by"] == role.replace("_", ".")
    else:
        for response in (run, listed, saved):
            assert error(response, 403)["code"] == "forbidden"


def test_signed_out_callers_get_401(shared_site: Site) -> None:
    client = shared_site.client()
    assert error(client.post("/api/dry-runs", json={"scenario": SCENARIO}), 401)["code"] == "unauthorized"
    assert error(client.get("/api/processes/claims/scenarios"), 401)["code"] == "unauthorized"


def test_a_draft_upload_takes_the_other_branch_and_nothing_is_kept(shared_site: Site) -> None:
    analyst = Caller(shared_site, "analyst")
    before = counts(shared_site)
    deployed = ok(analyst.post("/api/dry-runs", json={"scenario": SCENARIO}))
    changed = ok(analyst.post("/api/dry-runs", data={"files": draft(), "scenario": json.dumps(SCENARIO)}))
    assert "approve_payout" not in [p["element"] for p in deployed["path"]]
    assert (changed["status"], [w["element"] for w in changed["waiting"]]) == ("waiting", ["approve_payout"])
    assert changed["tasks"][0]["answer"]["claimant_id_number"] == CLAIM["claimant_id_number"]
    assert changed["data"]["claimant_id_number"].startswith("•")  # the end data is masked like any screen
    assert counts(shared_site) == before
    assert len(ok(analyst.get("/api/processes?all_versions=true"))["items"]) == 4  # no draft deployed


@pytest.mark.parametrize(("body", "status", "key"), [
    ({"scenario": {"process": "claims", "steps": "x"}}, 422, "fields"),
    ({"scenario": {"process": "claims"}, "deployment": 9999}, 422, "fields"),
    ({"scenario": {"process": "claims"}, "deployment": "one"}, 422, "fields"),
    ({"scenario": None}, 422, "fields"),
])
def test_bad_json_requests_answer_422(shared_site: Site, body: dict[str, Any], status: int, key: str) -> None:
    problem = error(Caller(shared_site, "analyst").post("/api/dry-runs", json=body), status)
    assert problem["code"] == "invalid_input" and key in problem["details"]


def test_a_broken_draft_or_scenario_text_answers_422(shared_site: Site) -> None:
    analyst = Caller(shared_site, "analyst")
    broken = [(io.BytesIO(b"<bpmn:definitions"), "claims.bpmn")]
    problem = error(analyst.post("/api/dry-runs", data={"files": broken, "scenario": json.dumps(SCENARIO)}), 422)
    assert problem["details"]["problems"][0]["file"] == "claims.bpmn"
    text = error(analyst.post("/api/dry-runs", data={"files": draft(), "scenario": "{oops"}), 422)
    assert text["details"]["fields"] == {"scenario": "not valid JSON"}


def test_an_invalid_answer_is_a_result_not_an_error(shared_site: Site) -> None:
    scenario = {**SCENARIO, "steps": [SCENARIO["steps"][0], {"task": "assess_amount", "data": {}}]}
    result = ok(Caller(shared_site, "analyst").post("/api/dry-runs", json={"scenario": scenario}))
    assert result["status"] == "invalid_answer" and "decision" in result["tasks"][1]["errors"]


def test_saved_scenarios_can_be_read_replaced_run_and_deleted(shared_site: Site) -> None:
    analyst = Caller(shared_site, "analyst")
    saved = ok(analyst.post("/api/processes/claims/scenarios", json={"name": "api small claim",
                                                                      "scenario": SCENARIO}), 201)
    path = f"/api/processes/claims/scenarios/{saved['id']}"
    assert ok(analyst.get(path))["scenario"]["steps"] == SCENARIO["steps"]
    clash = analyst.post("/api/processes/claims/scenarios", json={"name": "api small claim", "scenario": SCENARIO})
    assert error(clash, 409)["code"] == "conflict"
    assert ok(analyst.post(f"{path}/run"))["status"] == "completed"
    assert ok(analyst.post(f"{path}/run", data={"files": draft()}))["status"] == "waiting"
    replaced = ok(analyst.client.put(path, headers=analyst.headers, json={"name": "renamed", "scenario": SCENARIO}))
    assert replaced["name"] == "renamed"
    assert error(analyst.client.put(path, headers=analyst.headers, json={"scenario": SCENARIO}), 422)
    assert analyst.client.delete(path, headers=analyst.headers).status_code == 204
    assert error(analyst.get(path), 404)["code"] == "not_found"
    assert error(analyst.get(f"/api/processes/sales/scenarios/{saved['id']}"), 404)["code"] == "not_found"


def test_the_endpoints_are_in_the_openapi_document(shared_site: Site) -> None:
    paths = ok(shared_site.client().get("/api/openapi.json"))["paths"]
    assert set(paths["/api/dry-runs"]["post"]["requestBody"]["content"]) == {"multipart/form-data",
                                                                              "application/json"}
    assert {"get", "post"} <= set(paths["/api/processes/{key}/scenarios"])
    assert {"get", "put", "delete"} <= set(paths["/api/processes/{key}/scenarios/{scenario_id}"])
    assert "post" in paths["/api/processes/{key}/scenarios/{scenario_id}/run"]
