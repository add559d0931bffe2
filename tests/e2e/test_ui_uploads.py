"""Scanned documents on the task page: uploaded with the form, refused with a message on the field when
empty, too large or not what they claim to be, kept across a failed submit, opened by the claims roles."""

from __future__ import annotations

import html
import io
import json
import re
from itertools import count
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from engine.workflow.models import HumanTaskModel
from services.demo.data import demo_identity
from tasks.records import ClaimDocumentRecord, ClaimRecord
from tests.conftest import ROOT
from tests.e2e.api_support import days_ago, open_task, shared_site
from tests.e2e.conftest import Site
from webui import forms_posted, forms_render

__all__ = ["shared_site"]

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_days = count(30)


def claim_form(**changes: Any) -> dict[str, Any]:
    """A register-claim form for demo policy PDEMO0001; each call a different incident day (no duplicates)."""
    name, id_number, _phone = demo_identity(0)
    incident = days_ago(next(_days))
    return {"policy_number": "PDEMO0001", "claimant_name": name, "claimant_id_number": id_number,
            "incident_date": incident, "claim_type": "hospitalization", "cause_of_loss": "illness",
            "description": "Appendectomy",
            "claimed_amount": "6800", "documents": ["claim_form", "id_copy", "bank_card"],
            "payee_account": "6222020200112233445", "region": "beijing", **changes}


def clerk(site: Site, lang: str = "en") -> FlaskClient:
    client = site.signed_in("claims.clerk")
    client.post("/language", data={"lang": lang})
    return client


def start_claim(client: FlaskClient) -> tuple[str, int]:
    """(task page, instance id) of a new claims case's register-claim task."""
    response = client.post("/start/claims")
    assert response.status_code == 302 and response.location.startswith("/tasks/")
    return response.location, instance_of(client, response.location)


def instance_of(client: FlaskClient, page: str) -> int:
    found = re.search(r'href="/cases/(\d+)"', client.get(page).get_data(as_text=True))
    assert found is not None
    return int(found[1])


def files(*items: tuple[bytes, str, str]) -> list[FileStorage]:
    return [FileStorage(io.BytesIO(content), name, content_type=kind) for content, name, kind in items]


def post(client: FlaskClient, page: str, form: dict[str, Any], action: str = "complete", **fields: Any) -> Any:
    """A multipart post of the task form; the body is built in memory (the test client would spool a large
    one to a temporary file it never closes)."""
    values = MultiDict()
    for key, value in {**form, **fields, "action": action}.items():
        for item in value if isinstance(value, list) else [value]:
            values.add(key, item)
    boundary, body = encode_multipart(values)
    return client.post(page, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'id="err-{name}">([^<]*)<', page)
    return html.unescape(found[1]) if found else None


def posted_refs(page: str, name: str) -> list[str]:
    """The references the page posts again for an upload field (hidden inputs)."""
    return [html.unescape(v) for v in re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)]


def stored_files(site: Site, instance_id: int) -> list[ClaimDocumentRecord]:
    with site.wired.runtime.uow() as uow:
        return list(uow.session.scalars(select(ClaimDocumentRecord).where(
            ClaimDocumentRecord.instance_id == instance_id, ClaimDocumentRecord.content_enc.is_not(None))
            .order_by(ClaimDocumentRecord.id)))


def still_open(site: Site, instance_id: int, task_key: str = "register_claim") -> bool:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.task_key == task_key,
            HumanTaskModel.status == "open")) == 1


def registered_case(site: Site) -> tuple[int, int]:
    """(instance id, document id) of a claim registered with one uploaded invoice."""
    client = clerk(site)
    page, case = start_claim(client)
    response = post(client, page, claim_form(documents=["claim_form", "id_copy", "bank_card", "discharge_summary"]),
                    document_files__kind="medical_invoice",
                    document_files__files=files((PDF, "invoice.pdf", "application/pdf")))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return case, stored_files(site, case)[0].id


def test_uploaded_files_count_as_their_kind_and_the_claim_is_verified(shared_site: Site) -> None:
    client = clerk(shared_site)
    page, case = start_claim(client)
    first = post(client, page, claim_form(), "upload", document_files__kind="discharge_summary",
                 document_files__files=files((PNG, "summary.png", "image/png")))
    assert first.status_code == 200 and "The files are uploaded" in first.get_data(as_text=True)
    kept = posted_refs(first.get_data(as_text=True), "document_files")
    assert [json.loads(r)["kind"] for r in kept] == ["discharge_summary"]

    done = post(client, page, claim_form(), document_files=kept, document_files__kind="medical_invoice",
                document_files__files=files((PDF, "invoice-1.pdf", "application/pdf"),
                                            (PDF + b" ", "invoice-2.pdf", "application/pdf")))

    assert done.status_code == 302, done.get_data(as_text=True)[:800]
    assert open_task(shared_site, case, "assess_amount")  # verified: every required document is on file
    stored = stored_files(shared_site, case)
    assert [(d.kind, d.filename) for d in stored] == [("discharge_summary", "summary.png"),
                                                      ("medical_invoice", "invoice-1.pdf"),
                                                      ("medical_invoice", "invoice-2.pdf")]
    with shared_site.wired.runtime.uow() as uow:
        claim_id = uow.session.scalar(select(ClaimRecord.id).where(ClaimRecord.instance_id == case))
    assert claim_id is not None and {d.claim_id for d in stored} == {claim_id}


def test_a_file_that_is_not_a_pdf_jpeg_or_png_is_refused_on_its_field_and_the_form_is_kept(shared_site: Site) -> None:
    client = clerk(shared_site)
    page, case = start_claim(client)
    response = post(client, page, claim_form(description="Kept text"), document_files__kind="medical_invoice",
                    document_files__files=files((b"MZ\x90\x00 not a document", "invoice.pdf", "application/pdf")))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(body, "document_files") == "invoice.pdf is not a PDF, JPEG or PNG file."
    assert "Kept text" in body and still_open(shared_site, case) and stored_files(shared_site, case) == []


def test_a_renamed_file_and_an_empty_file_are_refused_in_the_users_language(shared_site: Site) -> None:
    client = clerk(shared_site, "zh")
    page, case = start_claim(client)
    renamed = post(client, page, claim_form(), document_files__kind="photos",
                   document_files__files=files((PNG, "photo.pdf", "application/pdf")))
    assert renamed.status_code == 422
    assert field_error(renamed.get_data(as_text=True), "document_files") == "photo.pdf：文件名或文件类型与内容不符。"
    empty = post(client, page, claim_form(), document_files__kind="photos",
                 document_files__files=files((b"", "photo.png", "image/png")))
    assert field_error(empty.get_data(as_text=True), "document_files") == "photo.png 是空文件。"
    assert stored_files(shared_site, case) == []


def test_a_file_above_the_limit_is_refused_and_nothing_is_kept(shared_site: Site) -> None:
    client = clerk(shared_site)
    page, case = start_claim(client)
    large = PDF + b"0" * (10 * 1024 * 1024 + 1 - len(PDF))
    response = post(client, page, claim_form(), document_files__kind="medical_invoice",
                    document_files__files=files((large, "huge.pdf", "application/pdf")))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "document_files") == "huge.pdf is larger than 10.0 MB."
    assert stored_files(shared_site, case) == [] and still_open(shared_site, case)


def test_a_failed_submit_keeps_the_uploaded_files_and_the_next_submit_needs_no_new_upload(shared_site: Site) -> None:
    client = clerk(shared_site)
    page, case = start_claim(client)
    form = claim_form(documents=["claim_form", "id_copy", "bank_card", "discharge_summary"])
    failed = post(client, page, {**form, "policy_number": ""}, document_files__kind="medical_invoice",
                  document_files__files=files((PDF, "invoice.pdf", "application/pdf")))
    body = failed.get_data(as_text=True)
    assert failed.status_code == 422 and field_error(body, "policy_number") == "This field is required."
    kept = posted_refs(body, "document_files")
    assert len(kept) == 1 and "invoice.pdf" in body and len(stored_files(shared_site, case)) == 1

    again = post(client, page, form, document_files=kept)

    assert again.status_code == 302, again.get_data(as_text=True)[:800]
    assert open_task(shared_site, case, "assess_amount")
    assert len(stored_files(shared_site, case)) == 1  # not uploaded twice


def test_a_forged_reference_to_another_cases_file_is_refused_and_nothing_changes(shared_site: Site) -> None:
    _other, other_doc = registered_case(shared_site)
    client = clerk(shared_site)
    page, case = start_claim(client)
    forged = json.dumps({"document_id": other_doc, "kind": "medical_invoice", "filename": "invoice.pdf"})
    response = post(client, page, claim_form(), document_files=[forged])
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "document_files") == (
        "This file was not uploaded for this case; upload it again.")
    assert still_open(shared_site, case)
    with shared_site.wired.runtime.uow() as uow:
        assert uow.session.scalar(select(ClaimRecord.id).where(ClaimRecord.instance_id == case)) is None


def test_the_case_page_lists_the_documents_and_the_claims_roles_open_them(shared_site: Site) -> None:
    case, doc = registered_case(shared_site)
    page = clerk(shared_site).get(f"/cases/{case}").get_data(as_text=True)
    listed = re.search(r'id="case-documents".*?</ul>', page, re.S)
    assert listed is not None
    assert f'href="/cases/{case}/documents/{doc}"' in listed[0] and "invoice.pdf" in listed[0]
    assert "Medical invoice" in listed[0] and "claims.clerk" in listed[0]
    for user in ("claims.clerk", "auditor"):
        response = shared_site.signed_in(user).get(f"/cases/{case}/documents/{doc}")
        assert response.status_code == 200, user
        assert response.data == PDF and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == "attachment; filename=invoice.pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_roles_outside_claims_may_not_open_a_document(shared_site: Site) -> None:
    case, doc = registered_case(shared_site)
    for user in ("admin", "analyst", "agent", "underwriter"):
        response = shared_site.signed_in(user).get(f"/cases/{case}/documents/{doc}")
        assert response.status_code == 403, user
        assert response.data != PDF
    assert 'id="case-documents"' not in shared_site.signed_in("admin").get(f"/cases/{case}").get_data(as_text=True)
    assert shared_site.signed_in("claims.clerk").get(f"/cases/{case}/documents/{doc + 10_000}").status_code == 404
    assert shared_site.client().get(f"/cases/{case}/documents/{doc}").status_code in (302, 401)


def test_an_uploaded_file_ticks_its_kind_on_the_checklist_its_field_names() -> None:
    schema = json.loads((ROOT / "bpmn" / "forms" / "claims_request_documents.json").read_text(encoding="utf-8"))
    ref = {"document_id": 5, "kind": "police_report", "filename": "report.pdf", "size": 10, "sha256": "0" * 64}
    raw = forms_posted.raw_values(schema, MultiDict([("documents_received", "photos"),
                                                     ("files_received", json.dumps(ref))]))
    data = forms_posted.to_data(schema, raw)
    assert data == {"documents_received": ["photos", "police_report"], "files_received": [ref]}
    field = next(f for f in forms_render.fields(schema, raw, {}, "zh") if f.name == "files_received")
    assert field.kind == "upload" and field.attrs["max_bytes"] == 10 * 1024 * 1024
    assert [(f.filename, f.kind, f.size) for f in field.value] == [("report.pdf", "公安机关事故证明", "10 B")]
    assert ".pdf" in field.attrs["accept"] and "image/png" in field.attrs["accept"]
