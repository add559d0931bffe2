"""What every API blueprint shares: who is calling, the one error body, paging, and the error statuses every
operation states in the OpenAPI document (document_errors)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apispec import APISpec
from flask import Response, current_app, jsonify, request
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import HTTPException, MethodNotAllowed, default_exceptions
from wtforms.validators import ValidationError

from engine.errors import EngineError
from engine.workflow import Actor

from ..context import current_actor
from ..errors import engine_error_response, error_body
from ..input_hygiene import StrictBlueprint

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CODES = {
    400: "malformed", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited",
}

ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/Error"}
# What each client error means, as the OpenAPI document says it; document_errors states them per operation.
ERRORS = {
    400: "malformed: the body is not strict JSON (NaN, Infinity, nesting deeper than 64 levels, a lone "
         "surrogate), a required body is missing, or a browser's change lacks its CSRF token",
    401: "not signed in: send an API token as 'Authorization: Bearer …', or the session cookie",
    403: "signed in, but not allowed to do this (role, need to know, or four eyes)",
    404: "nothing by that id or name (ids beyond any id column included), or nothing the caller may see",
    409: "conflict: the state changed under the request (task completed or claimed, stale version, duplicate)",
    413: "the body is larger than the server accepts",
    415: "the body is not application/json",
    422: "invalid input: `details.fields` names every failing field and why",
    429: "too many requests: wait for the Retry-After seconds",
}
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
_OPERATIONS = frozenset({"get", "head", "options", "trace"}) | UNSAFE_METHODS


def errors_of(path: str, method: str, operation: Mapping[str, Any], signed_in: bool) -> set[int]:
    """The client errors the server can give for an operation, from its shape.

    Signed in: 401 without a caller, 403 for a caller without the right; an unsafe method also 400 (a
    browser's change without its CSRF token) and 409 (the state it changes moved on: a task completed or
    claimed meanwhile, a stale version — the unit of work turns every concurrent write into 409). A path
    parameter: 404. A body: 400 (malformed or missing),
    413 (too large), 422 (invalid), and 415 when it is JSON. Query parameters: 422. What an operation gives
    beyond its shape (a 429, a 404 for a name in the body) the view states with `alt_response` or `doc`.
    """
    found: set[int] = set()
    if signed_in:
        found |= {401, 403} | ({400, 409} if method in UNSAFE_METHODS else set())
    if "{" in path:
        found.add(404)
    body = operation.get("requestBody")
    if body:
        found |= {400, 413, 422} | ({415} if "application/json" in body.get("content", {}) else set())
    if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, Mapping)):
        found.add(422)
    return found


def document_errors(spec: APISpec) -> None:
    """State in every operation of `spec` each client error it can give (errors_of), with the error body.

    The one place the document's 4xx come from: flask-smorest's catch-all `default` response is off
    (webui.api.InsureFlowApi), so a status the server gives and the document does not state is a fault
    the fuzz run (scripts/fuzz_api.py) reports. Responses a view described keep their description and
    gain the error body when they had none.
    """
    secured_by_default = bool(spec.options.get("security"))
    for path, item in spec._paths.items():  # apispec keeps no public accessor for registered paths
        for method, operation in item.items():
            if method not in _OPERATIONS:
                continue
            signed_in = bool(operation.get("security", [{}] if secured_by_default else []))
            responses = operation.setdefault("responses", {})
            for status in sorted(errors_of(path, method, operation, signed_in)):
                responses.setdefault(str(status), {"description": ERRORS[status]})
            for status, response in list(responses.items()):
                if 400 <= int(status) < 500 and "$ref" not in response:
                    response.setdefault("description", ERRORS.get(int(status), "client error"))
                    response.setdefault("content", {"application/json": {"schema": ERROR_SCHEMA_REF}})
            operation["responses"] = dict(sorted(responses.items(), key=lambda entry: str(entry[0])))


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
