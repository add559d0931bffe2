"""Scanned documents through the API: POST /api/tasks/{id}/documents stores them for whoever may complete the
task and answers the references that POST /api/tasks/{id}/complete then names; every refusal has its status."""

from __future__ import annotations

import io
from itertools import count
from typing import Any

from sqlalchemy import func, select

from services.demo.data import demo_identity
from tasks.records import ClaimDocumentRecord, ClaimRecord
from tests.e2e.api_support import Caller, days_ago, demo_task, error, ok, open_task, shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
_days = count(40)


def first_notice(**changes: Any) -> dict[str, Any]:
    """Register-claim data for demo policy PDEMO0001, a different incident day on every call."""
    name, id_number, _phone = demo_identity(0)
    incident = days_ago(next(_days))
    return {"policy_number": "PDEMO0001", "claimant_name": name, "claimant_id_number": id_number,
            "incident_date": incident, "claim_type": "hospitalization", "cause_of_loss": "illness",
            "description": "Two nights",
            "claimed_amount": 5200, "documents": ["claim_form", "id_copy", "bank_card"],
            "payee_account": "6222020200112233445", "region": "beijing", **changes}


def new_case(clerk: Caller) -> tuple[int, int]:
    """(instance id, register-claim task id) of a new claims case."""
    started = ok(clerk.post("/api/processes/claims/instances", json={"data": {}}), 201)
    return started["id"], next(t["id"] for t in started["open_tasks"] if t["task"] == "register_claim")


def upload(caller: Caller, task_id: int, kind: str | None, *files: tuple[bytes, str, str], **extra: str) -> Any:
    data: dict[str, Any] = {**extra, "files": [(io.BytesIO(c), name, ctype) for c, name, ctype in files]}
    if kind is not None:
        data["kind"] = kind
    return caller.post(f"/api/tasks/{task_id}/documents", data=data, content_type="multipart/form-data")


def files_of(site: Site, instance_id: int) -> int:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(func.count(ClaimDocumentRecord.id)).where(
            ClaimDocumentRecord.instance_id == instance_id, ClaimDocumentRecord.content_enc.is_not(None)))


def test_documents_uploaded_through_the_api_complete_the_claim(shared_site: Site) -> None:
    clerk = Caller(shared_site, "claims.clerk")
    case, task = new_case(clerk)
    invoices = ok(upload(clerk, task, "medical_invoice", (PDF, "invoice.pdf", "application/pdf"),
                         (JPEG, "receipt.jpg", "image/jpeg")), 201)
    summary = ok(upload(clerk, task, "discharge_summary", (PDF, "summary.pdf", "application/pdf")), 201)
    assert invoices["field"] == "document_files"
    assert [(d["kind"], d["filename"], d["size"]) for d in invoices["documents"]] == [
        ("medical_invoice", "invoice.pdf", len(PDF)), ("medical_invoice", "receipt.jpg", len(JPEG))]

    refs = invoices["documents"] + summary["documents"]
    after = ok(clerk.post(f"/api/tasks/{task}/complete", json={"data": first_notice(document_files=refs)}))

    assert [t["task"] for t in after["open_tasks"]] == ["assess_amount"]  # the uploaded kinds were on file
    with shared_site.wired.runtime.uow() as uow:
        claim_id = uow.session.scalar(select(ClaimRecord.id).where(ClaimRecord.instance_id == case))
        linked = uow.session.scalar(select(func.count(ClaimDocumentRecord.id)).where(
            ClaimDocumentRecord.claim_id == claim_id, ClaimDocumentRecord.content_enc.is_not(None)))
    assert linked == 3
    shown = ok(clerk.get(f"/api/instances/{case}"))["data"]["document_files"]
    assert [d["document_id"] for d in shown] == [d["document_id"] for d in refs]


def test_an_upload_needs_a_signed_in_caller(shared_site: Site) -> None:
    case, task = new_case(Caller(shared_site, "claims.clerk"))
    response = shared_site.client().post(f"/api/tasks/{task}/documents", content_type="multipart/form-data",
                                         data={"kind": "photos", "files": [(io.BytesIO(PDF), "a.pdf")]})
    assert error(response, 401)["code"] == "unauthorized"
    assert files_of(shared_site, case) == 0


def test_only_someone_who_may_complete_the_task_may_upload_for_it(shared_site: Site) -> None:
    case, task = new_case(Caller(shared_site, "claims.clerk"))
    for user in ("adjuster", "agent"):
        refused = error(upload(Caller(shared_site, user), task, "photos", (PDF, "a.pdf", "application/pdf")), 403)
        assert refused["code"] == "forbidden", user
    assert files_of(shared_site, case) == 0


def test_an_upload_for_a_missing_task_is_404_and_for_a_completed_one_409(shared_site: Site) -> None:
    clerk = Caller(shared_site, "claims.clerk")
    assert error(upload(clerk, 99_999_999, "photos", (PDF, "a.pdf", "application/pdf")), 404)["code"] == "not_found"
    case, task = new_case(clerk)
    ok(clerk.post(f"/api/tasks/{task}/complete", json={"data": first_notice(
        documents=["claim_form", "id_copy", "bank_card", "medical_invoice", "discharge_summary"])}))
    late = error(upload(clerk, task, "photos", (PDF, "late.pdf", "application/pdf")), 409)
    assert late["code"] == "conflict" and files_of(shared_site, case) == 0


def test_refused_uploads_are_422_with_the_field_and_keep_nothing(shared_site: Site) -> None:
    clerk = Caller(shared_site, "claims.clerk")
    case, task = new_case(clerk)
    wrong = error(upload(clerk, task, "photos", (PDF, "ok.pdf", "application/pdf"),
                         (b"GIF89a...", "photo.png", "image/png")), 422)
    assert wrong["details"]["files"] == [{"file": "photo.png", "reason": "wrong_type", "limit": None}]
    assert "document_files" in wrong["details"]["fields"]
    assert error(upload(clerk, task, None, (PDF, "a.pdf", "application/pdf")), 422)["details"]["fields"] == {
        "kind": "Missing data for required field."}
    assert error(upload(clerk, task, "selfie", (PDF, "a.pdf", "application/pdf")), 422)["details"]["fields"] == {
        "kind": "is not a document kind of this field"}
    assert error(upload(clerk, task, "photos"), 422)["details"]["fields"] == {"files": "no file was uploaded"}
    assert error(upload(clerk, task, "photos", (PDF, "a.pdf", "application/pdf"), field="documents"), 422)[
        "details"]["fields"] == {"field": "one of document_files"}
    assert files_of(shared_site, case) == 0  # the good file of the refused batch was not kept either


def test_a_task_whose_form_takes_no_files_refuses_uploads(shared_site: Site) -> None:
    task, _case = demo_task(shared_site, "assess_amount")
    refused = error(upload(Caller(shared_site, "adjuster"), task, "photos", (PDF, "a.pdf", "application/pdf")), 422)
    assert refused["details"]["fields"] == {"files": "this task takes no files"}


def test_completing_with_a_reference_to_another_cases_file_is_422_and_changes_nothing(shared_site: Site) -> None:
    clerk = Caller(shared_site, "claims.clerk")
    _other_case, other_task = new_case(clerk)
    theirs = ok(upload(clerk, other_task, "medical_invoice", (PDF, "theirs.pdf", "application/pdf")), 201)["documents"]
    case, task = new_case(clerk)
    mine = ok(upload(clerk, task, "photos", (JPEG, "mine.jpg", "image/jpeg")), 201)["documents"]
    tampered = [{**mine[0], "kind": "medical_invoice"}]

    for refs, message in ((theirs, "was not uploaded for this case"), (tampered, "does not match the uploaded")):
        refused = error(clerk.post(f"/api/tasks/{task}/complete", json={"data": first_notice(document_files=refs)}),
                        422)
        assert message in refused["details"]["fields"]["document_files.0"]
    assert open_task(shared_site, case, "register_claim")
    with shared_site.wired.runtime.uow() as uow:
        assert uow.session.scalar(select(ClaimRecord.id).where(ClaimRecord.instance_id == case)) is None


def test_the_openapi_document_describes_the_upload(shared_site: Site) -> None:
    document = ok(shared_site.client().get("/api/openapi.json"))
    operation = document["paths"]["/api/tasks/{task_id}/documents"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][body]["properties"]["files"]["items"] == {
        "type": "string", "format": "binary"}
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][answer]["properties"]) == {"field", "documents"}
