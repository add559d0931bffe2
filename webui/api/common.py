"""What every API blueprint shares: who is calling, the one error body, paging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import HTTPException, MethodNotAllowed, default_exceptions
from wtforms.validators import ValidationError

from engine.errors import EngineError
from engine.identity import Actor

from ..context import current_actor
from ..errors import engine_error_response, error_body
from ..input_hygiene import StrictBlueprint

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CODES = {
    400: "malformed", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited",
}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    """The API contract's error body with its status."""
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _flatten(messages: Any, path: str = "") -> dict[str, str]:
    """webargs' nested messages as `{"a.b": "message"}`, like the engine's `details["fields"]`."""
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            name = "(body)" if key == "_schema" else str(key)
            flat.update(_flatten(value, f"{path}.{name}" if path else name))
        return flat
    if isinstance(messages, Sequence) and not isinstance(messages, str):
        if all(isinstance(m, str) for m in messages):
            return {path: "; ".join(messages)}
        flat = {}
        for item in messages:
            flat.update(_flatten(item, path))
        return flat
    return {path: str(messages)}


def http_error(exc: HTTPException) -> Response:
    """An HTTP error raised in an API view (webargs validation, abort, too large…) as the error body."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    # webargs keys its messages by location (json, query…); the caller only needs the field.
    located = data.get("messages") or {}
    fields = ({k: v for loc in located.values() for k, v in _flatten(loc).items()}
              if isinstance(located, Mapping) else {})
    headers = dict(data.get("headers") or {})
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 422 and fields:
        first = next(iter(fields.items()))
        count = len(fields)
        return error_response(422, "invalid_input", f"{count} field{'s' if count != 1 else ''} invalid: "
                              f"{first[0]}: {first[1]}", {"fields": fields}, headers)
    if status >= 500:  # never show internals
        return error_response(status, "internal_error", "the server failed; the error was logged", None, headers)
    message = "; ".join(fields.values()) if status == 400 and fields else (exc.description or exc.name)
    return error_response(status, CODES.get(status, "http_error"), message, None, headers)


def _authenticate() -> Response | None:
    """Refuse a request without a user (401), and a browser's unsafe request without the CSRF token."""
    actor = current_actor()
    if actor is None:
        return error_response(401, "unauthorized", "sign in, or send an API token as 'Authorization: Bearer …'",
                              headers={"WWW-Authenticate": 'Bearer realm="InsureFlow"'})
    # The API is exempt from Flask-WTF's form check so scripts with a token can call it; a browser
    # sends its session cookie on its own, so a cookie-authenticated change must carry the token.
    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    if request.method not in SAFE_METHODS and not bearer and current_app.config.get("WTF_CSRF_ENABLED", True):
        names = current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
        token = next((request.headers[n] for n in names if request.headers.get(n)), None)
        try:
            validate_csrf(token)
        except ValidationError as exc:
            return error_response(400, "csrf_failed", f"{exc.args[0]} Send the page's token in the X-CSRFToken "
                                  "header, or use an API token.")
    return None


def blueprint(name: str, import_name: str, description: str, *, signed_in: bool = True) -> StrictBlueprint:
    """An API blueprint under /api with the error body for every error; `signed_in` requires a caller."""
    bp = StrictBlueprint(f"api_{name}", import_name, url_prefix="/api", description=description)
    bp.register_error_handler(EngineError, engine_error_response)
    bp.register_error_handler(HTTPException, http_error)
    # Flask prefers a handler for the status code, even the app's, over one for the class: the UI's
    # error pages are registered by code, so the API registers every code on its own blueprints too.
    for status in default_exceptions:
        bp.register_error_handler(status, http_error)
    if signed_in:
        bp.before_request(_authenticate)
    return bp


def actor() -> Actor:
    """The caller of this request (blueprints with `signed_in` refused requests without one)."""
    caller = current_actor()
    if caller is None:  # only reachable from a blueprint that does not authenticate
        raise RuntimeError("no caller: this view needs a signed-in blueprint")
    return caller


def window(args: Mapping[str, Any]) -> tuple[int, int]:
    """(limit, offset) of the requested page."""
    return args["page_size"], (args["page"] - 1) * args["page_size"]


def page(items: list[Any], total: int, args: Mapping[str, Any]) -> dict[str, Any]:
    """The paged list body: items, total, page, page_size."""
    return {"items": items, "total": total, "page": args["page"], "page_size": args["page_size"]}
