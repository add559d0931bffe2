"""The benchmarks' SQL statement count: an answer says how many statements its request took only when the server
was started with INSUREFLOW_COUNT_SQL=1 (insureflow/sql_count.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from insureflow import instance_folder, schema, sql_count
from insureflow.bootstrap import build_app
from insureflow.wsgi import create


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An instance folder on a fresh SQLite database with the schema, nothing else."""
    config = instance_folder.create(tmp_path / "instance")
    wired = build_app(config)
    schema.upgrade(wired.db)
    wired.db.dispose()
    return config.path


def test_a_counting_server_says_how_many_statements_each_answer_took(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv(sql_count.ENVIRONMENT, "1")
    app = create(str(folder))
    answer = app.test_client().get("/api/health")
    assert answer.status_code == 200
    assert int(answer.headers[sql_count.HEADER]) >= 1  # at least its SELECT 1
    assert app.test_client().get("/api/openapi.json").headers[sql_count.HEADER] == "0"
    app.extensions["insureflow"].db.dispose()


@pytest.mark.parametrize("setting", [None, "", "0"])
def test_a_production_server_never_sends_the_count(folder: Path, monkeypatch, setting: str | None) -> None:
    if setting is None:
        monkeypatch.delenv(sql_count.ENVIRONMENT, raising=False)
    else:
        monkeypatch.setenv(sql_count.ENVIRONMENT, setting)
    app = create(str(folder))
    assert sql_count.HEADER not in app.test_client().get("/api/health").headers
    app.extensions["insureflow"].db.dispose()


def test_who_is_calling_is_one_statement_outside_any_transaction(folder: Path) -> None:
    """Every request asks who is calling: one SELECT on its own (no BEGIN, no session around it), whether the
    token is known or not."""
    app = create(str(folder))
    engine = app.extensions["insureflow"].db
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: seen.append(sql.split()[0].upper()))
    answer = app.test_client().get("/api/tasks", headers={"Authorization": "Bearer not-a-token-of-anyone"})
    assert answer.status_code == 401
    assert seen == ["SELECT"]
    engine.dispose()
