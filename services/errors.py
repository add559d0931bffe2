"""The refusals a service adds to the engine's own (engine/errors.py), so that a face can word them apart."""

from __future__ import annotations

from engine.errors import ForbiddenError, NotFoundError


class DocumentsClosedError(ForbiddenError):
    """The actor may read the case, but their role may not open its documents."""


class NoDocumentError(NotFoundError):
    """The case exists, but has no such document."""
