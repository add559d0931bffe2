"""The Flask web app: application factory and blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text


def create_app(wired: Any = None, config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app over a wired InsureFlow `App` (from insureflow.bootstrap)."""
    app = Flask(__name__)
    app.config.update(config or {})
    app.extensions["insureflow"] = wired

    @app.get("/api/health")
    def health() -> Any:
        """Liveness and a database round trip."""
        try:
            with wired.db.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means unhealthy
            return jsonify({"status": "error", "database": str(exc).split("\n")[0]}), 503
        return jsonify({"status": "ok", "database": "ok"})

    return app
