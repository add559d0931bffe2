"""Shared by the API tests: one demo site per test module and database, and small request helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.workflow.models import HumanTaskModel
from tasks.common import BUSINESS_TZ
from tests.conftest import fresh_database
from tests.e2e.conftest import Site, _site


def days_ago(days: int) -> str:
    """The business day `days` before today, ISO: the served app reads the system clock, so dates in
    test data are counted back from it (the demo's own dates are too)."""
    return (datetime.now(BUSINESS_TZ) - timedelta(days=days)).date().isoformat()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One demo site for the tests of a module that do not get in each other's way (SQLite and PostgreSQL)."""
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    for url in fresh_database(request.param, folder):
        yield from _site(url, folder / "instance")


class Caller:
    """A test client acting as one user through a bearer token."""

    def __init__(self, site: Site, username: str):
        self.site, self.username = site, username
        self.client: FlaskClient = site.client()
        self.headers = site.token(username)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET as this user."""
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        """POST as this user (json=… or data=…)."""
        return self.client.post(path, headers=self.headers, **kwargs)


def ok(response: TestResponse, status: int = 200) -> Any:
    """The JSON of a response that must have `status`."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    return response.get_json()


def error(response: TestResponse, status: int) -> dict[str, Any]:
    """The error object of a response that must be an API error with `status`."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


def open_task(site: Site, instance_id: int, task_key: str) -> int:
    """The id of the open task `task_key` of an instance."""
    with site.wired.runtime.uow() as uow:
        task_id = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.task_key == task_key,
            HumanTaskModel.status == "open"))
    assert task_id is not None, f"{task_key} is not open in instance {instance_id}"
    return task_id


def demo_task(site: Site, task_key: str) -> tuple[int, int]:
    """(task id, instance id) of an open demo task with this key, the oldest first."""
    with site.wired.runtime.uow() as uow:
        row = uow.session.execute(select(HumanTaskModel.id, HumanTaskModel.instance_id).where(
            HumanTaskModel.task_key == task_key, HumanTaskModel.status == "open").order_by(HumanTaskModel.id)).first()
    assert row is not None, f"the demo has no open {task_key}"
    return row.id, row.instance_id
