"""The API's audit exports: a case's audit report (JSON, printable HTML, PDF), the whole-database verification
with deployments, checkpoints and their check, revealing personal data; masked by role like the screens."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from engine.workflow.models import DeploymentFileModel, UserModel
from services.demo.data import demo_identity
from tests.e2e.api_support import Caller, error, ok, shared_site
from tests.e2e.conftest import Site
from tests.e2e.test_ui_audit import pay_demo_claim

__all__ = ["shared_site"]
_NAME, ID_NUMBER, _PHONE = demo_identity(0)
MASKED = "••••" + ID_NUMBER[-4:]


@pytest.fixture(scope="module")
def callers(shared_site: Site) -> dict[str, Caller]:
    return {name: Caller(shared_site, name) for name in ["auditor", "admin", "claims.clerk", "analyst"]}


@pytest.fixture(scope="module")
def case(shared_site: Site) -> int:
    """A demo claim paid out: registered, assessed, approved."""
    return pay_demo_claim(shared_site)[0]


def test_the_report_as_json_holds_summary_steps_events_hashes_checks_and_who_made_it(
        callers: dict[str, Caller], case: int) -> None:
    response = callers["auditor"].get(f"/api/instances/{case}/report")
    body = ok(response)
    assert f'filename="case-{case}-audit-report.json"' in response.headers["Content-Disposition"]
    assert body["generated_by"] == "auditor" and body["generated_at"]
    assert body["case"]["id"] == case and body["case"]["status"] == "completed" and len(
        body["case"]["deployment_hash"]) == 64
    assert [s["number"] for s in body["steps"]] == [1, 2, 3, 4, 5]  # the bank's answer is a step of its own
    assert body["steps"][1]["data"]["claimant_id_number"] == MASKED and "svc_pay_claim" in body["steps"][4]["path"]
    assert [e["seq"] for e in body["events"]] == list(range(1, len(body["events"]) + 1))
    assert all(len(e["hash"]) == 64 for e in body["events"])
    assert body["verification"]["ok"] is True and body["verification"]["head"] == {
        "seq": len(body["events"]), "hash": body["events"][-1]["hash"]}
    assert body["replay"]["consistent"] is True and body["replay"]["steps"] == 5
    assert ID_NUMBER not in response.get_data(as_text=True)


def test_the_report_of_an_admin_is_masked_like_the_admins_screens(
        shared_site: Site, case: int) -> None:
    # Only auditors and admins get reports; the masking rules show neither role personal data in clear.
    body = ok(Caller(shared_site, "admin").get(f"/api/instances/{case}/report"))
    assert body["events"][1]["payload"]["data"]["claimant_id_number"] == MASKED


def test_the_printable_report_and_its_pdf(callers: dict[str, Caller], case: int) -> None:
    html = callers["auditor"].get(f"/api/instances/{case}/report?format=html")
    page = html.get_data(as_text=True)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert 'id="report-verification" class="ok"' in page and 'id="report-replay" class="ok"' in page
    assert "auditor" in page.split('id="report-generated">')[1][:80] and ID_NUMBER not in page and MASKED in page
    pdf = callers["auditor"].get(f"/api/instances/{case}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert f"case-{case}-audit-report.pdf" in pdf.headers["Content-Disposition"] and len(pdf.data) > 2000


def test_the_report_is_refused_to_staff_unknown_for_no_case_and_needs_a_known_format(
        shared_site: Site, callers: dict[str, Caller], case: int) -> None:
    assert error(callers["claims.clerk"].get(f"/api/instances/{case}/report"), 403)["code"] == "forbidden"
    assert error(callers["auditor"].get("/api/instances/99999/report"), 404)["code"] == "not_found"
    assert "format" in error(callers["auditor"].get(f"/api/instances/{case}/report?format=xml"), 422)["details"][
        "fields"]
    assert error(shared_site.client().get(f"/api/instances/{case}/report"), 401)["code"] == "unauthorized"


def test_verify_covers_deployments_and_names_an_altered_file(shared_site: Site, callers: dict[str, Caller]) -> None:
    body = ok(callers["auditor"].get("/api/audit/verify"))
    assert body["ok"] is True and body["deployments"] >= 1 and body["files"] > 10 and body["deployment_problems"] == []
    rt = shared_site.wired.runtime
    with rt.uow() as uow:
        row = uow.session.scalar(select(DeploymentFileModel).where(DeploymentFileModel.name == "claims.bpmn"))
        original = row.content
        uow.session.execute(update(DeploymentFileModel).where(DeploymentFileModel.name == "claims.bpmn").values(
            content=original.replace(b"Approve payout", b"Approve anything", 1)))
        uow.commit()
    try:
        body = ok(callers["auditor"].get("/api/audit/verify"))
        assert body["ok"] is False and body["breaks"] == []
        (problem,) = body["deployment_problems"]
        assert problem["file"] == "claims.bpmn" and "altered" in problem["reason"]
    finally:
        with rt.uow() as uow:
            uow.session.execute(update(DeploymentFileModel).where(DeploymentFileModel.name == "claims.bpmn")
                                .values(content=original))
            uow.commit()


def test_a_checkpoint_downloads_as_a_file_and_checks_out_later(callers: dict[str, Caller], case: int) -> None:
    response = callers["auditor"].get("/api/audit/checkpoint")
    checkpoint = ok(response)
    assert "attachment" in response.headers["Content-Disposition"] and ".json" in response.headers[
        "Content-Disposition"]
    assert checkpoint["format"] == "insureflow-checkpoint/1" and checkpoint["generated_by"] == "auditor"
    assert checkpoint["heads"][str(case)]["seq"] >= 10 and len(checkpoint["digest"]) == 64
    assert checkpoint["verification"]["ok"] is True
    result = ok(callers["admin"].post("/api/audit/checkpoint/verify", json=checkpoint))
    assert result["ok"] is True and result["problems"] == [] and result["instances_checked"] == len(
        checkpoint["heads"])


def test_a_checkpoint_whose_head_was_changed_does_not_check_out(callers: dict[str, Caller], case: int) -> None:
    checkpoint = ok(callers["auditor"].get("/api/audit/checkpoint"))
    checkpoint["heads"][str(case)]["hash"] = "f" * 64
    result = ok(callers["auditor"].post("/api/audit/checkpoint/verify", json=checkpoint))
    assert result["ok"] is False
    kinds = {(p["kind"], p["id"]) for p in result["problems"]}
    assert kinds == {("checkpoint", None), ("instance", case)}


@pytest.mark.parametrize("body", [{}, {"format": "insureflow-checkpoint/1", "heads": {}, "deployments": {}},
                                  {"format": "other", "heads": {}, "deployments": {}, "digest": "x"}])
def test_something_that_is_not_a_checkpoint_is_422(callers: dict[str, Caller], body: dict) -> None:
    assert error(callers["auditor"].post("/api/audit/checkpoint/verify", json=body), 422)["code"] == "invalid_input"


def test_checkpoints_are_refused_to_staff_and_to_strangers(shared_site: Site, callers: dict[str, Caller]) -> None:
    assert error(callers["analyst"].get("/api/audit/checkpoint"), 403)["code"] == "forbidden"
    assert error(callers["claims.clerk"].post("/api/audit/checkpoint/verify", json={
        "format": "insureflow-checkpoint/1", "heads": {}, "deployments": {}, "digest": ""}), 403)["code"] == "forbidden"
    assert error(shared_site.client().get("/api/audit/checkpoint"), 401)["code"] == "unauthorized"


def test_unmasking_through_the_api_needs_the_permission_and_a_reason(shared_site: Site, callers: dict[str, Caller],
                                                                     case: int) -> None:
    path = f"/api/instances/{case}/unmask"
    assert error(callers["admin"].post(path, json={"reason": "audit"}), 403)["code"] == "forbidden"
    with shared_site.wired.runtime.uow() as uow:
        uow.session.execute(update(UserModel).where(UserModel.username == "admin").values(may_unmask=True))
        uow.commit()
    try:
        assert "reason" in error(callers["admin"].post(path, json={}), 422)["details"]["fields"]
        assert "step" in error(callers["admin"].post(path, json={"reason": "x", "step": 0}), 422)["details"]["fields"]
        body = ok(callers["admin"].post(path, json={"reason": "regulator's request 7", "step": 2}))
        assert body["fields"]["claimant_id_number"] == ID_NUMBER and body["step"] == 2 and body["seq"] > 10
        last = ok(callers["auditor"].get(f"/api/instances/{case}/history?page_size=100"))["items"][-1]
        assert (last["type"], last["actor"], last["payload"]["reason"]) == ("data_unmasked", "admin",
                                                                            "regulator's request 7")
        assert ok(callers["auditor"].post(f"/api/instances/{case}/replay"))["consistent"] is True
    finally:
        with shared_site.wired.runtime.uow() as uow:
            uow.session.execute(update(UserModel).where(UserModel.username == "admin").values(may_unmask=False))
            uow.commit()


def test_the_openapi_document_lists_the_audit_exports(shared_site: Site) -> None:
    paths = json.loads(shared_site.client().get("/api/openapi.json").data)["paths"]
    assert {"/api/instances/{instance_id}/report", "/api/audit/checkpoint", "/api/audit/checkpoint/verify",
            "/api/instances/{instance_id}/unmask", "/api/audit/verify"} <= set(paths)
    report = paths["/api/instances/{instance_id}/report"]["get"]
    assert {"application/json", "text/html", "application/pdf"} <= set(report["responses"]["200"]["content"])
    verify = paths["/api/audit/verify"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert verify["$ref"].endswith("AuditVerify")
