"""The REST API under /api (DESIGN.md "API contract"), described by the OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..extensions import csrf
from . import audit, dry_runs, human_tasks, incidents, instances, migrations, policies, processes, public, studio
from .common import CODES, document_errors, error_response
from .schemas import ErrorSchema

__all__ = ["register"]

BLUEPRINTS = (processes.bp, instances.bp, human_tasks.bp, audit.bp, public.bp, studio.bp, migrations.bp, dry_runs.bp,
              incidents.bp, policies.bp)
API_VERSION = "1.0"


class InsureFlowApi(Api):
    """flask-smorest's Api whose errors stay inside /api: the UI's pages keep their own error pages."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # every operation states its own error statuses (webui.api.common)

    def _register_error_handlers(self) -> None:
        """Errors are handled per API blueprint (webui.api.common) and for unrouted /api paths below."""


def _routed_for(app: Flask, methods: list[str] | None) -> bool:
    """Whether this request's path has a route for one of `methods`: werkzeug answers 405 when the pattern
    of a route for another method matched, before that route's converter refused the value."""
    adapter = app.url_map.bind_to_environ(request.environ)
    for method in methods or ():
        try:
            adapter.match(method=method)
        except (NotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect: the path is routed
            return True
        return True
    return False


def _unrouted(app: Flask) -> None:
    """A 404 or 405 for a path under /api answers with the error body, not an HTML page."""

    @app.before_request
    def api_routing_error() -> Any:
        exc = request.routing_exception
        if exc is None or not (request.path == "/api" or request.path.startswith("/api/")):
            return None
        status = getattr(exc, "code", None) or 400
        if status not in (404, 405):
            return None  # a redirect (a missing trailing slash) keeps Flask's own answer
        if status == 405 and not _routed_for(app, exc.valid_methods):
            status = 404  # e.g. an id beyond MAX_ID: the route's pattern matched, its converter did not
        headers = {"Allow": ", ".join(exc.valid_methods)} if status == 405 else None
        message = f"no API endpoint {request.path}" if status == 404 else f"{request.method} is not allowed here"
        return error_response(status, CODES[status], message, None, headers)


def _document_health(app: Flask, api: Api) -> None:
    """GET /api/health is the app factory's own route: described here so the document lists every path."""
    rule = next((r for r in app.url_map.iter_rules() if r.rule == "/api/health"), None)
    if rule is None:
        return
    api.spec.path(rule=rule, operations={"get": {
        "summary": "Liveness and a database round trip.", "tags": ["health"], "security": [],
        "responses": {
            "200": {"description": "up", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"status": {"type": "string"}, "database": {"type": "string"}}}}}},
            "503": {"description": "the database does not answer"},
        },
    }})


def register(app: Flask) -> None:
    """Attach the API blueprints and the OpenAPI document to `app`."""
    app.config.setdefault("API_TITLE", "InsureFlow")
    app.config.setdefault("API_VERSION", API_VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "InsureFlow's processes, cases, tasks and audit over HTTP. Errors are "
                                "{\"error\": {\"code\", \"message\", \"details\"}}."},
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    })
    api = InsureFlowApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "an API token (insureflow tokens create)"})
    api.spec.components.security_scheme("cookieAuth", {
        "type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session"),
        "description": "the browser's session; unsafe methods also need the X-CSRFToken header"})
    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
        csrf.exempt(bp)  # a bearer token needs no CSRF token; cookie callers are checked in webui.api.common
    _document_health(app, api)
    document_errors(api.spec)
    _unrouted(app)
    app.extensions["insureflow.api"] = api
