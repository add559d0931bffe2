"""The studio's API: handler catalogue, versions, drafts (get/put/delete), deploy of a draft, diff,
rollback — analysts and administrators only, with the contract's errors."""

from __future__ import annotations

import pytest

from tests.e2e.api_support import Caller, error, ok, shared_site
from tests.e2e.conftest import Site
from tests.e2e.test_api_processes import note_bpmn, note_files, upload

__all__ = ["shared_site"]

NOT_ANALYSTS = ("claims.clerk", "adjuster", "claims.manager", "auditor", "agent", "compliance", "underwriter",
                "siu", "finance")


@pytest.fixture(scope="module")
def analyst(shared_site: Site) -> Caller:
    return Caller(shared_site, "analyst")


def test_the_catalogue_lists_every_handler_with_its_parameter_names_and_the_known_roles(analyst: Caller) -> None:
    body = ok(analyst.get("/api/studio/operators"))
    open_claim = next(o for o in body["items"] if o["name"] == "open_claim")
    assert {"policy_number", "claimant_id_number", "payee_account"} <= set(open_claim["required"])
    assert {"claims_clerk", "siu", "analyst"} <= set(body["roles"])


@pytest.mark.parametrize("user", NOT_ANALYSTS)
def test_every_studio_call_is_forbidden_to_everyone_but_analysts_and_admins(shared_site: Site, user: str) -> None:
    caller = Caller(shared_site, user)
    for response in (caller.get("/api/studio/operators"), caller.get("/api/studio/processes/claims/versions"),
                     caller.get("/api/studio/drafts/claims"),
                     caller.client.put("/api/studio/drafts/claims", json={"files": {"a.bpmn": "<a/>"}},
                                       headers=caller.headers),
                     caller.client.delete("/api/studio/drafts/claims", headers=caller.headers),
                     caller.post("/api/studio/processes/claims/rollback", json={"version": 1}),
                     caller.post("/api/studio/drafts/claims/deploy", json={})):
        assert "use the studio" in error(response, 403)["message"]


def test_without_a_token_the_studio_answers_401(shared_site: Site) -> None:
    assert error(shared_site.client().get("/api/studio/operators"), 401)["code"] == "unauthorized"


def test_an_administrator_may_use_the_studio(shared_site: Site) -> None:
    assert ok(Caller(shared_site, "admin").get("/api/studio/processes/claims/versions"))["items"]


def test_versions_list_deployer_time_hash_comment_and_running_instances(analyst: Caller) -> None:
    items = ok(analyst.get("/api/studio/processes/claims/versions"))["items"]
    newest = items[0]
    assert newest["latest"] and newest["version"] >= 1 and len(newest["hash"]) == 64
    assert newest["file_name"] == "claims.bpmn" and newest["running"] >= 1 and newest["deployed_at"]
    assert error(analyst.get("/api/studio/processes/nope/versions"), 404)["code"] == "not_found"


def test_a_draft_is_saved_read_refused_when_stale_or_unsafe_and_discarded(analyst: Caller) -> None:
    path = "/api/studio/drafts/claims"
    assert error(analyst.get(path), 404)["code"] == "not_found"
    files = {"claims.bpmn": note_bpmn("claims").decode()}
    saved = ok(analyst.client.put(path, json={"files": files}, headers=analyst.headers))
    assert saved["revision"] == 1 and saved["files"] == files and saved["username"] == "analyst"
    assert ok(analyst.get(path))["files"] == files
    again = ok(analyst.client.put(path, json={"files": files, "revision": 1}, headers=analyst.headers))
    assert again["revision"] == 2
    stale = error(analyst.client.put(path, json={"files": files, "revision": 1}, headers=analyst.headers), 409)
    assert stale["details"]["revision"] == 2
    unsafe = {"claims.bpmn": '<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'}
    refused = error(analyst.client.put(path, json={"files": unsafe}, headers=analyst.headers), 422)
    assert refused["details"]["problems"][0]["file"] == "claims.bpmn" and "DOCTYPE" in refused["message"]
    malformed = error(analyst.client.put(path, json={"files": "nope"}, headers=analyst.headers), 422)
    assert "files" in malformed["details"]["fields"]
    assert ok(analyst.get(path))["revision"] == 2  # nothing refused was kept
    assert analyst.client.delete(path, headers=analyst.headers).status_code == 204
    assert error(analyst.get(path), 404)["code"] == "not_found"


def test_a_draft_deploys_with_its_comment_and_the_diff_and_rollback_follow(analyst: Caller) -> None:
    ok(analyst.post("/api/deployments", data=upload(note_files("studio_note"), comment="first")), 201)
    files = {name: content.decode() for name, content in note_files("studio_note").items()}
    files["studio_note.bpmn"] = files["studio_note.bpmn"].replace('name="Write a note"', 'name="Write the note"')
    ok(analyst.client.put("/api/studio/drafts/studio_note", json={"files": files}, headers=analyst.headers))
    deployed = ok(analyst.post("/api/studio/drafts/studio_note/deploy", json={"comment": "clearer name"}), 201)
    assert deployed["processes"] == [{"key": "studio_note", "version": 2}] and deployed["comment"] == "clearer name"
    assert error(analyst.get("/api/studio/drafts/studio_note"), 404)["code"] == "not_found"

    diff = ok(analyst.get("/api/studio/processes/studio_note/diff?from=1&to=2"))
    assert (diff["from"]["version"], diff["to"]["version"]) == (1, 2)
    assert diff["changes"] == [{"file": "studio_note.bpmn", "element": "write_note", "kind": "changed",
                                "type": "userTask", "name": "Write the note",
                                "details": [{"aspect": "name", "old": "Write a note", "new": "Write the note"}]}]
    assert "from" in error(analyst.get("/api/studio/processes/studio_note/diff?to=2"), 422)["details"]["fields"]
    assert error(analyst.get("/api/studio/processes/studio_note/diff?from=1&to=9"), 404)["code"] == "not_found"

    rolled = ok(analyst.post("/api/studio/processes/studio_note/rollback", json={"version": 1,
                                                                               "comment": "name was fine"}), 201)
    assert (rolled["version"], rolled["rolled_back_from"], rolled["comment"]) == (3, 1, "name was fine")
    assert rolled["deployed_by"] == "analyst" and rolled["latest"] is True
    assert error(analyst.post("/api/studio/processes/studio_note/rollback", json={"version": 1}), 409)["code"] == (
        "conflict")
    versions = ok(analyst.get("/api/studio/processes/studio_note/versions"))["items"]
    assert [(v["version"], v["deployment_id"] == versions[-1]["deployment_id"]) for v in versions] == [
        (3, True), (2, False), (1, True)]


def test_deploying_an_invalid_draft_answers_422_with_every_problem_and_keeps_the_draft(analyst: Caller) -> None:
    files = {"bad_note.bpmn": note_bpmn("bad_note", operator="no_such_operator").decode()}
    ok(analyst.client.put("/api/studio/drafts/bad_note", json={"files": files}, headers=analyst.headers))
    refused = error(analyst.post("/api/studio/drafts/bad_note/deploy", json={"comment": "x"}), 422)
    elements = {(p["element"], p["file"]) for p in refused["details"]["problems"]}
    assert ("svc_call", "bad_note.bpmn") in elements and ("write_note", "bad_note.bpmn") in elements
    assert ok(analyst.get("/api/studio/drafts/bad_note"))["files"] == files
