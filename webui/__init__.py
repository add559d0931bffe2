"""The Flask web app: application factory; one blueprint per area."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import text

from .extensions import babel, csrf, login_manager
from .input_hygiene import BoundedIntConverter, StrictJSONProvider
from .web_security import secure_app

LANGUAGES = ("zh", "en")
# Each area's module exposes `bp`; areas not written yet are skipped.
BLUEPRINTS = (
    "webui.api",
    "webui.auth",
    "webui.inbox",
    "webui.task_pages",
    "webui.cases",
    "webui.case_search",
    "webui.dashboard",
    "webui.policies",
    "webui.start",
    "webui.public",
    "webui.admin",
    "webui.audit",
    "webui.studio",
)


def _locale() -> str:
    from flask import session

    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else (request.accept_languages.best_match(LANGUAGES) or "zh")


def _request_limit(wired: Any) -> int:
    """The largest request body: 16 MB, or one claim document of the instance's largest size and the form."""
    services = wired.runtime.services if wired is not None else None
    largest = getattr(services, "max_document_bytes", 0)
    return max(16 * 1024 * 1024, largest + 1024 * 1024)


def create_app(wired: Any = None, config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app over a wired InsureFlow `App` (insureflow.bootstrap.build_app)."""
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = BoundedIntConverter  # an id beyond any column's range: 404, not an overflow
    secret = wired.config.secret_key_file.read_text().strip() if wired is not None else None
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        MAX_CONTENT_LENGTH=_request_limit(wired),
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES="translations",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update(config or {})
    secure_app(app, wired.config.web if wired is not None else {})
    app.extensions["insureflow"] = wired
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale)

    @app.get("/api/health")
    def health() -> Any:
        """Liveness and a database round trip."""
        try:
            with wired.db.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means unhealthy
            return jsonify({"status": "error", "database": str(exc).split("\n")[0]}), 503
        return jsonify({"status": "ok", "database": "ok"})

    for name in BLUEPRINTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area is not written yet
                continue
            raise
        module.register(app) if hasattr(module, "register") else app.register_blueprint(module.bp)
    return app
