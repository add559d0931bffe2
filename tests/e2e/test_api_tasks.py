"""The API's human tasks: the inbox, one task with its form, claim / release / assign, complete."""

from __future__ import annotations

import pytest

from tests.e2e.api_support import Caller, demo_task, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

USERS = ["claims.clerk", "adjuster", "claims.manager", "compliance", "agent", "surveyor", "surveyor.zhang", "siu"]


@pytest.fixture(scope="module")
def callers(shared_site: Site) -> dict[str, Caller]:
    return {name: Caller(shared_site, name) for name in USERS}


def test_the_inbox_holds_the_tasks_open_to_the_callers_roles_with_a_total(shared_site: Site,
                                                                          callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    body = ok(callers["claims.clerk"].get("/api/tasks?scope=role"))
    assert task_id in [t["id"] for t in body["items"]] and body["total"] == len(body["items"])
    task = next(t for t in body["items"] if t["id"] == task_id)
    assert (task["task"], task["role"], task["process_key"], task["assignee"]) == (
        "request_documents", "claims_clerk", "claims", None)
    assert task["business_key"].startswith("C") and task["due_at"] and task["form"] == "claims_request_documents.json"


def test_the_inbox_of_mine_holds_the_tasks_assigned_to_the_caller(shared_site: Site,
                                                                  callers: dict[str, Caller]) -> None:
    survey, _ = demo_task(shared_site, "conduct_survey")  # the demo books surveyor.zhang
    assert [t["id"] for t in ok(callers["surveyor.zhang"].get("/api/tasks?scope=mine"))["items"]] == [survey]
    assert ok(callers["surveyor"].get("/api/tasks?scope=mine"))["total"] == 0


def test_the_inbox_filters_by_process_and_pages(callers: dict[str, Caller]) -> None:
    adjuster = callers["adjuster"]
    assert ok(adjuster.get("/api/tasks?process=sales"))["total"] == 0
    assert ok(adjuster.get("/api/tasks?process=claims"))["total"] >= 1
    paged = ok(adjuster.get("/api/tasks?page_size=1&page=99"))
    assert paged["items"] == [] and (paged["page"], paged["page_size"]) == (99, 1) and paged["total"] >= 1


def test_an_unknown_inbox_scope_is_422(callers: dict[str, Caller]) -> None:
    assert "scope" in error(callers["adjuster"].get("/api/tasks?scope=everything"), 422)["details"]["fields"]


def test_a_task_shows_its_form_schema_instructions_data_and_context(shared_site: Site,
                                                                    callers: dict[str, Caller]) -> None:
    task_id, instance_id = demo_task(shared_site, "request_documents")
    body = ok(callers["claims.clerk"].get(f"/api/tasks/{task_id}"))
    assert body["form_schema"]["required"] == ["documents_received"] and "instructions" in body
    assert body["data"]["policy_number"] == "PDEMO0005" and not body["data"]["claimant_id_number"].startswith("••••")
    assert body["context"] == {
        "instance_id": instance_id, "process_key": "claims", "business_key": body["business_key"],
        "instance_url": f"/api/instances/{instance_id}", "history_url": f"/api/instances/{instance_id}/history"}


def test_a_task_shows_personal_data_masked_to_an_adjuster(shared_site: Site, callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "assess_amount")
    data = ok(callers["adjuster"].get(f"/api/tasks/{task_id}"))["data"]
    assert data["claimant_id_number"].startswith("••••") and data["payee_account"].startswith("••••")


def test_a_task_of_a_case_the_caller_has_no_part_in_is_403_and_an_unknown_task_404(
        shared_site: Site, callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    assert error(callers["agent"].get(f"/api/tasks/{task_id}"), 403)["code"] == "forbidden"
    assert error(callers["agent"].get("/api/tasks/99999"), 404)["code"] == "not_found"


def test_claim_takes_a_task_from_the_pool_and_release_gives_it_back(shared_site: Site,
                                                                    callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "assess_amount")
    adjuster = callers["adjuster"]
    assert ok(adjuster.post(f"/api/tasks/{task_id}/claim"))["assignee"] == "adjuster"
    assert ok(adjuster.post(f"/api/tasks/{task_id}/claim"))["assignee"] == "adjuster"  # claiming twice is harmless
    assert task_id in [t["id"] for t in ok(adjuster.get("/api/tasks?scope=mine"))["items"]]
    assert ok(adjuster.post(f"/api/tasks/{task_id}/release"))["assignee"] is None
    assert error(adjuster.post(f"/api/tasks/{task_id}/release"), 409)["code"] == "conflict"  # not claimed now


def test_claiming_a_task_of_another_role_is_403(shared_site: Site, callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "assess_amount")
    assert error(callers["claims.clerk"].post(f"/api/tasks/{task_id}/claim"), 403)["code"] == "forbidden"


def test_claiming_a_task_a_colleague_holds_is_409(shared_site: Site, callers: dict[str, Caller]) -> None:
    survey, _ = demo_task(shared_site, "conduct_survey")
    assert "surveyor.zhang" in error(callers["surveyor"].post(f"/api/tasks/{survey}/claim"), 409)["message"]


def test_a_claims_manager_assigns_a_task_to_a_colleague_with_its_role(shared_site: Site,
                                                                      callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "siu_investigation")
    manager = callers["claims.manager"]
    assert ok(manager.post(f"/api/tasks/{task_id}/assign", json={"to": "siu"}))["assignee"] == "siu"
    assert [t["id"] for t in ok(callers["siu"].get("/api/tasks?scope=mine"))["items"]] == [task_id]
    assert ok(manager.post(f"/api/tasks/{task_id}/release"))["assignee"] is None  # a manager may take it back


@pytest.mark.parametrize(("who", "to", "status"), [
    ("claims.clerk", "claims.clerk", 403),  # only managers assign
    ("claims.manager", "adjuster", 403),  # the colleague lacks the task's role
    ("claims.manager", "nobody", 404),
])
def test_assign_is_refused_to_non_managers_and_to_colleagues_without_the_role(
        shared_site: Site, callers: dict[str, Caller], who: str, to: str, status: int) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    error(callers[who].post(f"/api/tasks/{task_id}/assign", json={"to": to}), status)


def test_assign_without_a_colleague_is_422(shared_site: Site, callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    problem = error(callers["claims.manager"].post(f"/api/tasks/{task_id}/assign", json={}), 422)
    assert problem["details"]["fields"] == {"to": "Missing data for required field."}


def test_complete_names_every_failing_field(shared_site: Site, callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "compliance_approval")
    response = callers["compliance"].post(f"/api/tasks/{task_id}/complete",
                                          json={"data": {"approved": "yes", "extra": 1}})
    fields = error(response, 422)["details"]["fields"]
    assert set(fields) == {"approved", "comment", "extra"}


def test_an_adjuster_may_not_complete_a_claims_clerks_task(shared_site: Site, callers: dict[str, Caller]) -> None:
    task_id, _ = demo_task(shared_site, "request_documents")
    response = callers["adjuster"].post(f"/api/tasks/{task_id}/complete", json={"data": {
        "documents_received": ["medical_invoice"]}})
    assert error(response, 403)["code"] == "forbidden"


def test_complete_moves_the_case_on_and_a_second_completion_is_409(shared_site: Site,
                                                                   callers: dict[str, Caller]) -> None:
    task_id, instance_id = demo_task(shared_site, "compliance_approval")
    compliance = callers["compliance"]
    data = {"data": {"approved": True, "comment": "the customer understands the risk"}}
    case = ok(compliance.post(f"/api/tasks/{task_id}/complete", json=data))
    assert case["id"] == instance_id and "compliance_approval" not in [t["task"] for t in case["open_tasks"]]
    assert "already completed" in error(compliance.post(f"/api/tasks/{task_id}/complete", json=data), 409)["message"]
