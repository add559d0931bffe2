"""Start pages: each role sees what it may start; starting opens the first task, taken by the starter."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.workflow.models import HumanTaskModel
from tests.e2e.api_support import shared_site
from tests.e2e.conftest import Site

__all__ = ["shared_site"]  # the fixture this module's `site` stands on


@pytest.fixture
def site(shared_site: Site) -> Site:
    """One demo site for the whole module: its tests change nothing that another test here looks at."""
    return shared_site


def _task(site: Site, task_id: int) -> HumanTaskModel:
    with site.wired.runtime.uow() as uow:
        task = uow.session.scalar(select(HumanTaskModel).where(HumanTaskModel.id == task_id))
    assert task is not None
    return task


def test_each_role_sees_the_work_it_may_start(site: Site) -> None:
    pages = {}
    for user in ("agent", "claims.clerk", "adjuster"):
        client = site.signed_in(user)
        client.post("/language", data={"lang": "en"})
        pages[user] = client.get("/start").get_data(as_text=True)
    assert "New sales lead" in pages["agent"] and "Surrender request" in pages["agent"]
    assert "New claim" not in pages["agent"]
    assert "New claim (first notice of loss)" in pages["claims.clerk"] and "New sales lead" not in pages["claims.clerk"]
    assert "Your roles do not start new work" in pages["adjuster"]


def test_starting_a_claim_opens_its_first_task_taken_by_the_clerk(site: Site) -> None:
    client = site.signed_in("claims.clerk")
    response = client.post("/start/claims")
    assert response.status_code == 302 and response.location.startswith("/tasks/")
    task = _task(site, int(response.location.rsplit("/", 1)[1]))
    assert task.task_key == "register_claim" and task.assignee == "claims.clerk" and task.status == "open"
    assert client.get(response.location).status_code == 200


def test_starting_a_surrender_request_opens_the_request_form(site: Site) -> None:
    client = site.signed_in("agent")
    response = client.post("/start/policy_termination")
    task = _task(site, int(response.location.rsplit("/", 1)[1]))
    assert task.task_key == "termination_request" and task.assignee == "agent"


def test_a_role_may_not_start_work_of_another_role(site: Site) -> None:
    client = site.signed_in("claims.clerk")
    assert client.get("/start/sales").status_code == 403
    assert client.post("/start/sales").status_code == 403
    assert client.get("/start/nonsense").status_code == 404
    with site.wired.runtime.uow() as uow:
        assert uow.session.scalar(select(HumanTaskModel).where(
            HumanTaskModel.task_key == "customer_registration", HumanTaskModel.status == "open")) is None
