"""Files posted by the task page and the API, as the service layer takes them (services/documents.py)."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from tasks.documents import Upload


def uploads_of(files: list[FileStorage]) -> list[Upload]:
    """The chosen files (an empty file input sends one without a name: skipped), read into memory."""
    return [Upload(f.filename or "", f.mimetype or "", f.read()) for f in files if f.filename]
