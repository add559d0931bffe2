"""Claim documents uploaded for a task, by the task page and the API alike: the engine says whether the actor
may complete the task (only they may upload for it), the domain checks and keeps the files."""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidInputError
from engine.workflow import Actor, Runtime, forms
from tasks.documents import MAX_DOCUMENT_BYTES, SIGNATURES, DocumentError, Upload, file_limit, store_document


def file_ceiling(rt: Runtime) -> int:
    """The instance's largest claim document (its services' setting)."""
    services = rt.services
    return services.max_document_bytes if services is not None else MAX_DOCUMENT_BYTES


def upload_documents(rt: Runtime, actor: Actor, task_id: int, field: str | None, kind: str | None,
                     uploads: list[Upload]) -> tuple[str, list[dict[str, Any]]]:
    """Keep files for a task's upload field, encrypted, when the actor may complete the task (the
    engine's check): all of them or, when one is refused, none. (field, references)."""
    rt = rt.frozen()
    with rt.uow() as uow:
        target = forms.authorize_upload(rt, uow.session, task_id, actor)
        name = field or (next(iter(target.fields)) if len(target.fields) == 1 else "")
        if name not in target.fields:
            raise InvalidInputError(f"name the upload field: one of {', '.join(target.fields)}",
                                    {"fields": {"field": f"one of {', '.join(target.fields)}"}})
        spec = target.fields[name]
        if kind not in forms.upload_kinds(spec):
            raise InvalidInputError(f"kind must be one of {', '.join(forms.upload_kinds(spec))}",
                                    {"fields": {"kind": "is not a document kind of this field"}})
        if not uploads:
            raise InvalidInputError("no file was uploaded", {"fields": {"files": "no file was uploaded"}})
        settings = spec[forms.UPLOAD_KEYWORD]
        refs, refused = [], []
        for upload in uploads:
            try:
                refs.append(store_document(
                    uow.session, rt.services.cipher, instance_id=target.instance_id, kind=kind, upload=upload,
                    uploaded_by=actor.username, at=rt.clock(), accept=settings.get("accept") or tuple(SIGNATURES),
                    max_bytes=file_limit(settings, file_ceiling(rt))))
            except DocumentError as exc:
                refused.append(exc)
        if refused:
            raise InvalidInputError(f"{len(refused)} file{'s' if len(refused) != 1 else ''} refused: "
                                    f"{refused[0].message}", {
                                        "fields": {name: "; ".join(e.message for e in refused)},
                                        "files": [{"file": e.filename, "reason": e.reason, "limit": e.limit}
                                                  for e in refused]})
        uow.commit()
    return name, refs
