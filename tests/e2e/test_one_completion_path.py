"""Completing a task from the HTML task page and from the API takes one path: services.human_tasks.complete_task
(issue 14). One spy on that function counts a completion from each face."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services import human_tasks
from tests.e2e.api_support import Caller, ok, shared_site
from tests.e2e.conftest import Site
from tests.e2e.test_ui_task_page import CLAIM, _client, _start

__all__ = ["shared_site"]  # the fixture this module's `site` stands on


@pytest.fixture(scope="module")
def site(shared_site: Site) -> Site:
    """The demo site of the module: each test starts claims of its own."""
    return shared_site


def test_the_task_page_and_the_api_complete_a_task_through_the_same_service_function(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    real = human_tasks.complete_task

    def spy(rt: Any, actor: Any, task_id: int, data: Any) -> Any:
        calls.append((actor.username, task_id))
        return real(rt, actor, task_id, data)

    monkeypatch.setattr(human_tasks, "complete_task", spy)
    page = _client(site, "claims.clerk")
    by_page = int(re.sub(r"\D", "", _start(page, "claims")))
    response = page.post(f"/tasks/{by_page}", data=CLAIM)
    assert response.status_code == 302 and response.location == "/"
    by_api = int(re.sub(r"\D", "", _start(page, "claims")))
    api_data = {**{k: v for k, v in CLAIM.items() if k != "claimed_amount"}, "claimed_amount": 12500.5}
    case = ok(Caller(site, "claims.clerk").post(f"/api/tasks/{by_api}/complete", json={"data": api_data}))
    assert case["business_key"].startswith("C")
    assert calls == [("claims.clerk", by_page), ("claims.clerk", by_api)]
