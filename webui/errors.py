"""Engine errors as HTTP: the status codes and the JSON error body of the API contract."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.errors import (
    ConflictError,
    DamagedStateError,
    EngineError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)

STATUS = ((NotFoundError, 404), (ForbiddenError, 403), (ConflictError, 409), (InvalidInputError, 422),
          (DamagedStateError, 500))


def status_of(exc: EngineError) -> int:
    """The HTTP status of an engine error."""
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"error": {"code", "message", "details"}}` as DESIGN.md's API contract has it."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def engine_error_response(exc: EngineError) -> ResponseReturnValue:
    """An engine error as a JSON response."""
    return jsonify(error_body(exc.code, exc.message, exc.details)), status_of(exc)
