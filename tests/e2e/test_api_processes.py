"""The API's processes and deployments: list, lint an upload, deploy (analysts), fetch the exact deployed file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.api_support import Caller, error, ok, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DEMO_KEYS = {"claims", "policy_termination", "sales", "underwriting"}
NOTE_FORM = {"type": "object", "required": ["note"], "properties": {"note": {"type": "string", "minLength": 1}}}


def note_bpmn(process_id: str = "api_note", *, operator: str | None = None) -> bytes:
    """A one-task process (no lane: the starter does the task); `operator` adds a service task naming it."""
    service = (f'<bpmn:serviceTask id="svc_call" name="Call"><bpmn:extensionElements>'
               f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="r"><spiffworkflow:parameters />'
               f'</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
               f'</bpmn:serviceTask>') if operator else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_{process_id}" targetNamespace="http://insureflow.example/test">
  <bpmn:process id="{process_id}" name="API note" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="write_note" name="Write a note">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="api_note.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    {service}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="write_note" />
    <bpmn:sequenceFlow id="f2" sourceRef="write_note" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def upload(files: dict[str, bytes], **form: str) -> dict[str, Any]:
    """A multipart body with every file under `files`."""
    return {"files": [(io.BytesIO(content), name) for name, content in files.items()], **form}


def note_files(process_id: str = "api_note") -> dict[str, bytes]:
    return {f"{process_id}.bpmn": note_bpmn(process_id), "forms/api_note.json": json.dumps(NOTE_FORM).encode()}


@pytest.fixture(scope="module")
def analyst(shared_site: Site) -> Caller:
    return Caller(shared_site, "analyst")


@pytest.fixture(scope="module")
def clerk(shared_site: Site) -> Caller:
    return Caller(shared_site, "claims.clerk")


def test_processes_lists_every_deployed_process_with_version_hash_and_deployment_time(clerk: Caller) -> None:
    body = ok(clerk.get("/api/processes"))
    assert {p["key"] for p in body["items"]} >= DEMO_KEYS
    assert body["total"] == len(body["items"]) and (body["page"], body["page_size"]) == (1, 20)
    claims = next(p for p in body["items"] if p["key"] == "claims")
    assert claims["name"] == "Claims" and claims["version"] >= 1 and claims["latest"] is True
    assert len(claims["hash"]) == 64 and claims["deployment_id"] >= 1 and claims["deployed_at"]


def test_processes_are_paged(clerk: Caller) -> None:
    first = ok(clerk.get("/api/processes?page_size=2"))
    second = ok(clerk.get("/api/processes?page_size=2&page=2"))
    assert len(first["items"]) == 2 and first["total"] >= 4 and second["page"] == 2
    assert not {p["key"] for p in first["items"]} & {p["key"] for p in second["items"]}


def test_a_page_size_above_100_is_refused_naming_the_field(clerk: Caller) -> None:
    problem = error(clerk.get("/api/processes?page_size=101"), 422)
    assert problem["code"] == "invalid_input" and "page_size" in problem["details"]["fields"]


def test_validate_answers_ok_for_a_clean_upload_and_deploys_nothing(analyst: Caller) -> None:
    assert ok(analyst.post("/api/processes/validate", data=upload(note_files("api_lint_only")))) == {"ok": True}
    assert "api_lint_only" not in {p["key"] for p in ok(analyst.get("/api/processes?page_size=100"))["items"]}


def test_validate_lists_every_problem_with_file_element_and_line(analyst: Caller) -> None:
    files = {"broken.bpmn": note_bpmn("broken", operator="no_such_operator"),
             "forms/api_note.json": json.dumps(NOTE_FORM).encode(), "forms/not_an_object.json": b'{"type": "string"}'}
    problem = error(analyst.post("/api/processes/validate", data=upload(files)), 422)
    problems = problem["details"]["problems"]
    assert problem["code"] == "invalid_input" and len(problems) >= 2
    assert all(set(p) == {"file", "element", "line", "message"} for p in problems)
    operator = next(p for p in problems if "no_such_operator" in p["message"])
    assert (operator["file"], operator["element"]) == ("broken.bpmn", "svc_call") and operator["line"] > 1
    assert any(p["file"] == "forms/not_an_object.json" for p in problems)


def test_validate_refuses_a_translation_with_a_missing_or_unknown_key_naming_file_and_element(
        analyst: Caller) -> None:
    files = {**note_files("api_zh"), "api_zh.zh.json": json.dumps(
        {"names": {"api_zh": "备注", "no_such_step": "多余"}}, ensure_ascii=False).encode()}
    problem = error(analyst.post("/api/processes/validate", data=upload(files)), 422)
    found = {(p["file"], p["element"]): p["message"] for p in problem["details"]["problems"]}
    assert "no zh name for userTask 'Write a note'" in found[("api_zh.zh.json", "write_note")]
    assert "is no named element" in found[("api_zh.zh.json", "no_such_step")]
    assert error(analyst.post("/api/deployments", data=upload(files)), 422)["details"]["problems"]


def test_a_deployed_translation_is_a_deployment_file_and_the_diagram_is_served_as_deployed(analyst: Caller) -> None:
    translation = json.dumps({"names": {"api_zh_ok": "备注流程", "write_note": "写备注"}}, ensure_ascii=False).encode()
    files = {**note_files("api_zh_ok"), "api_zh_ok.zh.json": translation}
    created = ok(analyst.post("/api/deployments", data=upload(files)), 201)
    assert "api_zh_ok.zh.json" in created["files"]
    served = analyst.get(f"/api/deployments/{created['id']}/files/api_zh_ok.bpmn")
    assert served.status_code == 200 and served.data == files["api_zh_ok.bpmn"]
    assert analyst.get(f"/api/deployments/{created['id']}/files/api_zh_ok.zh.json").data == translation


def test_validate_without_files_names_the_missing_upload(analyst: Caller) -> None:
    problem = error(analyst.post("/api/processes/validate", data={}), 422)
    assert problem["details"]["problems"][0]["file"] == "(upload)"


def test_the_same_file_uploaded_twice_is_refused(analyst: Caller) -> None:
    twice = {"files": [(io.BytesIO(b"<a/>"), "x.bpmn"), (io.BytesIO(b"<b/>"), "x.bpmn")]}
    problem = error(analyst.post("/api/processes/validate", data=twice), 422)
    assert "x.bpmn" in problem["details"]["fields"]["files"]


def test_an_analyst_deploys_new_content_201_and_identical_content_answers_200_with_it(analyst: Caller) -> None:
    created = ok(analyst.post("/api/deployments", data=upload(note_files(), comment="first note")), 201)
    assert created["created"] is True and created["comment"] == "first note"
    assert created["processes"] == [{"key": "api_note", "version": 1}]
    assert created["files"] == ["api_note.bpmn", "forms/api_note.json"]
    again = ok(analyst.post("/api/deployments", data=upload(note_files(), comment="again")), 200)
    assert (again["id"], again["hash"], again["created"]) == (created["id"], created["hash"], False)
    listed = {p["key"]: p for p in ok(analyst.get("/api/processes?page_size=100"))["items"]}
    assert listed["api_note"]["deployment_id"] == created["id"]


def test_staff_may_not_deploy(clerk: Caller) -> None:
    problem = error(clerk.post("/api/deployments", data=upload(note_files("api_clerk"))), 403)
    assert problem["code"] == "forbidden"


def test_an_invalid_deployment_is_refused_with_every_problem(analyst: Caller) -> None:
    files = {"bad.bpmn": note_bpmn("bad", operator="no_such_operator")}  # and its form is missing
    problem = error(analyst.post("/api/deployments", data=upload(files)), 422)
    assert len(problem["details"]["problems"]) >= 2
    assert "bad" not in {p["key"] for p in ok(analyst.get("/api/processes?page_size=100"))["items"]}


@pytest.mark.parametrize(("name", "content_type"), [
    ("claims.bpmn", "application/xml"), ("approval_limits.dmn", "application/xml"),
    ("forms/claims_register_claim.json", "application/json"),
])
def test_a_deployed_file_comes_back_byte_for_byte_with_its_content_type(shared_site: Site, name: str,
                                                                        content_type: str) -> None:
    auditor = Caller(shared_site, "auditor")
    deployment = next(p for p in ok(auditor.get("/api/processes"))["items"] if p["key"] == "claims")["deployment_id"]
    response = auditor.get(f"/api/deployments/{deployment}/files/{name}")
    assert response.status_code == 200 and response.mimetype == content_type
    assert response.get_data() == (BPMN_DIR / name).read_bytes()


@pytest.mark.parametrize("path", ["/api/deployments/1/files/no_such.bpmn", "/api/deployments/999/files/claims.bpmn"])
def test_an_unknown_deployed_file_is_404(analyst: Caller, path: str) -> None:
    assert error(analyst.get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize("user", ["claims.clerk", "agent", "adjuster", "finance"])
def test_staff_neither_lint_diagrams_nor_read_deployed_files(shared_site: Site, user: str) -> None:
    """Parsing untrusted diagrams is work the server does for analysts; staff see a diagram through their case."""
    caller = Caller(shared_site, user)
    assert error(caller.post("/api/processes/validate", data=upload(note_files("api_lint_only"))), 403)
    deployment = next(p for p in ok(caller.get("/api/processes"))["items"] if p["key"] == "claims")["deployment_id"]
    assert error(caller.get(f"/api/deployments/{deployment}/files/claims.bpmn"), 403)["code"] == "forbidden"
