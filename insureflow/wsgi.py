"""The WSGI entry point: `gunicorn 'insureflow.wsgi:create()'` with INSUREFLOW_INSTANCE set."""

from __future__ import annotations

from flask import Flask

from . import instance_folder, sql_count
from .bootstrap import build_app


def create(folder: str | None = None) -> Flask:
    """The web app over the instance folder (each server worker builds its own: no shared connections)."""
    from webui import create_app

    wired = build_app(instance_folder.load(instance_folder.resolve(folder)))
    app = create_app(wired)
    if sql_count.enabled():  # the benchmarks' statement count (bench/http_bench.py); off in production
        sql_count.count_statements(app, wired.db, wired.runtime.workflows)
    return app
