"""Claim documents as files: encrypted at rest, typed by their content, bounded in size, several per kind,
owned by the case until the claims handlers link them to the claim."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine.errors import InvalidInputError
from engine.workflow.forms import SubmissionContext, check_submission
from insureflow.bootstrap import check_document_references
from tasks.documents import (
    DocumentError,
    Upload,
    case_documents,
    file_limit,
    kinds_on_file,
    open_document,
    reference_problems,
    safe_filename,
    store_document,
)
from tasks.handlers.claims import record_documents, verify_claim
from tasks.records import ClaimDocumentRecord
from tests.conftest import ROOT
from tests.domain.test_claims_handlers import add_customer, add_policy, file_claim, make_id

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MARKER = b"INSUREFLOW-SECRET-SCAN-7f3a91"
PDF = b"%PDF-1.7\n" + MARKER + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + MARKER
JPEG = b"\xff\xd8\xff\xe0" + MARKER


@pytest.fixture
def session(domain) -> Iterator:
    with domain.session_factory() as s:
        yield s


def store(domain, session, upload: Upload, *, instance_id: int = 7, kind: str = "medical_invoice", **limits) -> dict:
    return store_document(session, domain.services.cipher, instance_id=instance_id, kind=kind, upload=upload,
                          uploaded_by="claims.clerk", at=AT, **limits)


def test_a_stored_file_is_encrypted_in_the_database_and_opens_as_it_was_sent(domain, session):
    ref = store(domain, session, Upload("invoice.pdf", "application/pdf", PDF))
    session.commit()
    sealed = session.execute(text("SELECT content_enc FROM claim_documents WHERE id = :id"),
                             {"id": ref["document_id"]}).scalar_one()
    assert MARKER not in bytes(sealed) and base64.b64encode(PDF) not in bytes(sealed)
    if domain.url.startswith("sqlite"):
        database = Path(domain.url.removeprefix("sqlite:///")).read_bytes()
        assert MARKER not in database and base64.b64encode(MARKER) not in database
    info, content = open_document(session, domain.services.cipher, 7, ref["document_id"])
    assert content == PDF
    assert (info.content_type, info.size, info.sha256, info.uploaded_by) == (
        "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest(), "claims.clerk")
    assert ref == {"document_id": info.id, "kind": "medical_invoice", "filename": "invoice.pdf", "size": len(PDF),
                   "sha256": hashlib.sha256(PDF).hexdigest()}


@pytest.mark.parametrize(("upload", "reason"), [
    (Upload("notes.pdf", "application/pdf", b"just some text, not a PDF"), "wrong_type"),
    (Upload("setup.exe", "application/octet-stream", b"MZ\x90\x00" + MARKER), "wrong_type"),
    (Upload("photo.pdf", "application/pdf", PNG), "type_mismatch"),
    (Upload("photo.png", "application/pdf", PNG), "type_mismatch"),
    (Upload("scan", "image/jpeg", JPEG), "type_mismatch"),
    (Upload("empty.pdf", "application/pdf", b""), "empty"),
])
def test_a_file_is_typed_by_its_magic_bytes_and_its_name_and_declared_type_must_agree(domain, session, upload, reason):
    with pytest.raises(DocumentError) as refused:
        store(domain, session, upload)
    assert refused.value.reason == reason and refused.value.filename == upload.filename
    assert session.scalar(select(ClaimDocumentRecord.id)) is None


def test_jpeg_and_png_pass_and_an_undeclared_type_is_checked_by_name_and_content(domain, session):
    assert store(domain, session, Upload("car.JPG", "image/jpeg", JPEG))["filename"] == "car.jpg"
    assert store(domain, session, Upload("car.png", "image/png", PNG))["size"] == len(PNG)
    assert store(domain, session, Upload("form.pdf", "application/octet-stream", PDF))["kind"] == "medical_invoice"


def test_a_field_may_accept_fewer_types_than_the_application(domain, session):
    with pytest.raises(DocumentError) as refused:
        store(domain, session, Upload("car.png", "image/png", PNG), accept=["application/pdf"])
    assert refused.value.reason == "wrong_type"


def test_the_size_limit_is_the_lower_of_the_form_and_the_instance_limit(domain, session):
    with pytest.raises(DocumentError) as refused:
        store(domain, session, Upload("big.pdf", "application/pdf", PDF + b"0" * 100), max_bytes=len(PDF) + 99)
    assert refused.value.reason == "too_large" and refused.value.limit == len(PDF) + 99
    assert store(domain, session, Upload("fits.pdf", "application/pdf", PDF), max_bytes=len(PDF))["size"] == len(PDF)
    ceiling = len(PDF) - 1  # the instance's setting
    assert file_limit({"maxBytes": 10 * len(PDF)}, ceiling) == ceiling  # a form cannot raise the instance's limit
    assert file_limit({"maxBytes": 5}, ceiling) == 5 and file_limit({}, ceiling) == ceiling
    with pytest.raises(DocumentError) as capped:
        store(domain, session, Upload("fits.pdf", "application/pdf", PDF), max_bytes=file_limit({}, ceiling))
    assert capped.value.reason == "too_large"


def test_file_names_lose_folders_and_unsafe_characters_but_keep_chinese(domain):
    assert safe_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert safe_filename("C:\\scans\\发票 2026.pdf") == "发票 2026.pdf"
    assert safe_filename('a"b<c>;rm -rf\r\n.png') == "a_b_c_rm -rf.png"
    assert safe_filename("....", "application/pdf") == "document.pdf"
    assert len(safe_filename("x" * 500 + ".jpeg")) == 120


def test_a_claim_holds_several_files_of_a_kind_and_they_count_as_that_kind(domain, session):
    cipher = domain.services.cipher
    id_number = make_id()
    policy = add_policy(session, add_customer(session, cipher, id_number=id_number))
    photos = [store(domain, session, Upload(f"damage{i}.jpg", "image/jpeg", JPEG + bytes([i])), instance_id=41,
                    kind="photos") for i in range(3)]
    other_case = store(domain, session, Upload("other.pdf", "application/pdf", PDF), instance_id=42,
                       kind="police_report")

    claim_id = file_claim(domain, session, policy, id_number, documents=("claim_form",), instance_id=41)["claim_id"]

    linked = session.scalars(select(ClaimDocumentRecord.id).where(ClaimDocumentRecord.claim_id == claim_id,
                                                                 ClaimDocumentRecord.kind == "photos"))
    assert sorted(linked) == sorted(p["document_id"] for p in photos)
    assert session.get(ClaimDocumentRecord, other_case["document_id"]).claim_id is None  # another case's file
    assert kinds_on_file(session, claim_id) == ["claim_form", "photos"]
    result = verify_claim(domain.ctx(session, instance_id=41), claim_id, 0, ["claim_form", "photos", "police_report"])
    assert result["missing_documents"] == ["police_report"]


def test_files_uploaded_when_documents_are_requested_are_linked_by_record_documents(domain, session):
    cipher = domain.services.cipher
    id_number = make_id()
    policy = add_policy(session, add_customer(session, cipher, id_number=id_number))
    claim_id = file_claim(domain, session, policy, id_number, documents=("claim_form",), instance_id=51)["claim_id"]
    report = store(domain, session, Upload("police.pdf", "application/pdf", PDF), instance_id=51, kind="police_report")

    result = record_documents(domain.ctx(session, instance_id=51), claim_id, ["police_report"])

    assert result == {"documents": ["claim_form", "police_report"]}
    assert session.get(ClaimDocumentRecord, report["document_id"]).claim_id == claim_id
    # The kind came with a file: no second, empty row for it.
    assert session.scalar(select(ClaimDocumentRecord.id).where(ClaimDocumentRecord.claim_id == claim_id,
                                                              ClaimDocumentRecord.content_enc.is_(None),
                                                              ClaimDocumentRecord.kind == "police_report")) is None
    assert [d.filename for d in case_documents(session, 51)] == ["police.pdf"]


def test_a_reference_must_name_a_file_of_this_case_exactly_as_stored(domain, session):
    mine = store(domain, session, Upload("invoice.pdf", "application/pdf", PDF), instance_id=61)
    theirs = store(domain, session, Upload("theirs.pdf", "application/pdf", PDF), instance_id=62)
    fields = ["document_files"]

    assert reference_problems(session, 61, fields, {"document_files": [mine]}) == {}
    problems = reference_problems(session, 61, fields, {"document_files": [
        mine, theirs, {"document_id": 999999, "kind": "photos"}, {**mine, "kind": "photos"}]})
    assert {path: str(problem) for path, problem in problems.items()} == {
        "document_files.1": f"document {theirs['document_id']} was not uploaded for this case",
        "document_files.2": "document 999999 was not uploaded for this case",
        "document_files.3": f"does not match the uploaded document {mine['document_id']}",
    }
    assert [p.kind for p in problems.values()] == ["document_not_uploaded", "document_not_uploaded",
                                                   "document_mismatch"]


def test_opening_a_file_of_another_case_fails_like_a_missing_one(domain, session):
    ref = store(domain, session, Upload("invoice.pdf", "application/pdf", PDF), instance_id=71)
    with pytest.raises(LookupError):
        open_document(session, domain.services.cipher, 72, ref["document_id"])
    with pytest.raises(LookupError):
        open_document(session, domain.services.cipher, 71, ref["document_id"] + 1000)


def test_the_engines_form_check_refuses_another_cases_file_once_it_knows_the_case(domain, session):
    form = json.loads((ROOT / "bpmn" / "forms" / "claims_register_claim.json").read_text(encoding="utf-8"))
    schema = {"type": "object", "properties": {"document_files": form["properties"]["document_files"]}}
    ref = store(domain, session, Upload("invoice.pdf", "application/pdf", PDF), instance_id=81)
    checkers = (check_document_references,)  # as insureflow.bootstrap wires them into the Runtime

    check_submission({"document_files": [ref]}, schema, SubmissionContext(session, 81, 1), checkers)
    with pytest.raises(InvalidInputError) as refused:
        check_submission({"document_files": [ref]}, schema, SubmissionContext(session, 82, 1), checkers)
    assert refused.value.details["fields"] == {
        "document_files.0": f"document {ref['document_id']} was not uploaded for this case"}
