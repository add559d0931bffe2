"""Claim documents uploaded as files: checked (size, type by content), encrypted, kept per case, linked to
the claim when a handler records the documents, and opened again for the people working on the claim."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import FieldProblem

from .crypto import PersonalDataCipher
from .records import ClaimDocumentRecord

# The default ceiling of one file (an instance sets its own: `[documents] max_file_bytes` in insureflow.toml);
# a form's `x-upload.maxBytes` may only lower it.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def file_limit(settings: Mapping[str, Any], ceiling: int) -> int:
    """The largest file an upload field takes: its own `maxBytes`, never above the instance's ceiling."""
    return min(int(settings.get("maxBytes") or ceiling), ceiling)
# What a file's first bytes must be for each type we accept, and the file name extensions of the type.
SIGNATURES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",)}
# What browsers and tools declare for the same types; a declaration saying nothing is checked by extension only.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
            "application/x-pdf": "application/pdf"}
_UNDECLARED = frozenset({"", "application/octet-stream"})
# Who works on claims and may open their documents; a surveyor only in a case where they hold or did a task.
DOCUMENT_ROLES = frozenset({"claims_clerk", "adjuster", "claims_manager", "siu", "finance", "auditor"})
CASE_BOUND_ROLES = frozenset({"surveyor"})
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w.\-() （）]+")


class DocumentError(ValueError):
    """An uploaded file was refused; `reason` is empty, too_large, wrong_type, type_mismatch or bad_kind."""

    def __init__(self, reason: str, filename: str, message: str, limit: int | None = None):
        super().__init__(message)
        self.reason, self.filename, self.message, self.limit = reason, filename, message, limit


@dataclass(frozen=True)
class Upload:
    """One file as it arrived: the name and type the sender declared, and the bytes."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class DocumentInfo:
    """A stored file without its content, as a case page lists it."""

    id: int
    instance_id: int | None
    claim_id: int | None
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime


def detect_type(content: bytes) -> str | None:
    """The accepted type a file's magic bytes show, or None."""
    return next((kind for kind, magic in SIGNATURES.items() if content.startswith(magic)), None)


def safe_filename(name: str, content_type: str | None = None) -> str:
    """A file name safe to store and to send back: no folders, no control or shell characters, bounded."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" ._")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext[:10].lower()
    if not ext and content_type in EXTENSIONS:
        ext = EXTENSIONS[content_type][0][1:]
    stem = stem[:MAX_NAME - len(ext) - 1] or "document"
    return f"{stem}.{ext}" if ext else stem


def check_upload(upload: Upload, *, accept: Collection[str], max_bytes: int) -> str:
    """The file's type, when it is not empty, within `max_bytes`, and its content, declared type and
    extension all name the same accepted type; else DocumentError."""
    name = upload.filename or "?"
    size = len(upload.content)
    if size == 0:
        raise DocumentError("empty", name, f"{name}: the file is empty")
    if size > max_bytes:
        raise DocumentError("too_large", name, f"{name}: the file is larger than {max_bytes} bytes", max_bytes)
    detected = detect_type(upload.content)
    if detected is None or detected not in accept:
        raise DocumentError("wrong_type", name, f"{name}: the content is not one of {', '.join(sorted(accept))}")
    declared = upload.content_type.split(";")[0].strip().lower()
    declared = _ALIASES.get(declared, declared)
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if (declared not in _UNDECLARED and declared != detected) or suffix not in EXTENSIONS[detected]:
        raise DocumentError("type_mismatch", name,
                            f"{name}: the name or declared type does not match the content ({detected})")
    return detected


def store_document(
    session: Session, cipher: PersonalDataCipher, *, instance_id: int, kind: str, upload: Upload, uploaded_by: str,
    at: datetime, accept: Collection[str] = tuple(SIGNATURES), max_bytes: int = MAX_DOCUMENT_BYTES,
) -> dict[str, Any]:
    """Check and keep one file for a case, encrypted; the reference a form submission names it by."""
    detected = check_upload(upload, accept=accept, max_bytes=max_bytes)
    sealed = cipher.encrypt_bytes(upload.content)
    record = ClaimDocumentRecord(
        instance_id=instance_id, kind=kind, filename=safe_filename(upload.filename, detected),
        content_type=detected, size=len(upload.content), sha256=hashlib.sha256(upload.content).hexdigest(),
        content_enc=sealed, uploaded_by=uploaded_by, received_at=at)
    session.add(record)
    session.flush()
    return reference(record)


def reference(record: ClaimDocumentRecord) -> dict[str, Any]:
    """What a form's upload field holds for a stored file."""
    return {"document_id": record.id, "kind": record.kind, "filename": record.filename, "size": record.size,
            "sha256": record.sha256}


def reference_problems(
    session: Session, instance_id: int, upload_fields: Iterable[str], data: Mapping[str, Any],
) -> dict[str, FieldProblem]:
    """Field path → problem for every file reference of a submission that names no file uploaded for
    this case, or misstates the file it names."""
    problems: dict[str, FieldProblem] = {}
    for name in upload_fields:
        items = data.get(name)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            doc_id = item.get("document_id") if isinstance(item, dict) else None
            record = session.get(ClaimDocumentRecord, doc_id) if isinstance(doc_id, int) else None
            # A missing document and another case's read the same: the answer never tells which ids exist.
            if record is None or record.instance_id != instance_id or record.content_enc is None:
                problems[f"{name}.{index}"] = FieldProblem("document_not_uploaded",
                                                           f"document {doc_id} was not uploaded for this case")
            elif any(item.get(key, value) != value for key, value in reference(record).items()):
                problems[f"{name}.{index}"] = FieldProblem("document_mismatch",
                                                           f"does not match the uploaded document {doc_id}")
    return problems


def link_case_files(session: Session, claim_id: int, instance_id: int | None) -> None:
    """Give the case's uploaded files that belong to no claim yet to this claim (a claims case opens one claim)."""
    if instance_id is None:
        return
    for record in session.scalars(select(ClaimDocumentRecord).where(
            ClaimDocumentRecord.instance_id == instance_id, ClaimDocumentRecord.claim_id.is_(None),
            ClaimDocumentRecord.content_enc.is_not(None))):
        record.claim_id = claim_id
    session.flush()


def kinds_on_file(session: Session, claim_id: int) -> list[str]:
    """The kinds of document a claim holds: ticked on a checklist or uploaded as files."""
    kinds = session.scalars(select(ClaimDocumentRecord.kind).where(ClaimDocumentRecord.claim_id == claim_id))
    return sorted(set(kinds))


def case_documents(session: Session, instance_id: int) -> list[DocumentInfo]:
    """The files uploaded for a case, oldest first, without their content."""
    rows = session.scalars(select(ClaimDocumentRecord).where(
        ClaimDocumentRecord.instance_id == instance_id, ClaimDocumentRecord.content_enc.is_not(None))
        .order_by(ClaimDocumentRecord.id))
    return [_info(r) for r in rows]


def open_document(
    session: Session, cipher: PersonalDataCipher, instance_id: int, document_id: int,
) -> tuple[DocumentInfo, bytes]:
    """A case's file and its decrypted content; LookupError when the case has no such file."""
    record = session.get(ClaimDocumentRecord, document_id)
    if record is None or record.instance_id != instance_id or record.content_enc is None:
        raise LookupError(f"case {instance_id} has no document {document_id}")
    return _info(record), cipher.decrypt_bytes(record.content_enc)


def may_open_documents(roles: Collection[str], holds_task_in_case: bool) -> bool:
    """Whether someone with `roles` may open a case's documents (a surveyor only where they work)."""
    return bool(DOCUMENT_ROLES & set(roles)) or (bool(CASE_BOUND_ROLES & set(roles)) and holds_task_in_case)


def _info(record: ClaimDocumentRecord) -> DocumentInfo:
    return DocumentInfo(record.id, record.instance_id, record.claim_id, record.kind, record.filename or "",
                        record.content_type or "application/octet-stream", record.size or 0, record.sha256 or "",
                        record.uploaded_by, record.received_at)
