"""Navigation that leads: each role lands where its work is, "Claim" opens the task taken, and after a task
is completed the message links to its case."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.workflow.models import HumanTaskModel
from services.demo import demo_password
from tests.e2e.api_support import demo_task
from tests.e2e.conftest import Site


@pytest.mark.parametrize(("user", "landing"), [
    ("auditor", "/audit"), ("analyst", "/studio"), ("admin", "/admin"), ("adjuster", "/"), ("claims.manager", "/"),
])
def test_each_role_lands_where_its_work_is(site: Site, user: str, landing: str) -> None:
    response = site.client().post("/login", data={"username": user, "password": demo_password(user.replace(".", "_"))})
    assert response.status_code in (302, 303)
    assert response.headers["Location"].rstrip("/") == landing.rstrip("/")


def test_a_requested_page_still_wins_over_the_landing_page(site: Site) -> None:
    response = site.client().post("/login", data={"username": "auditor", "password": demo_password("auditor"),
                                                  "next": "/audit/cases"})
    assert response.headers["Location"] == "/audit/cases"


def test_claiming_a_task_opens_it(site: Site) -> None:
    task_id, _ = demo_task(site, "assess_amount")
    adjuster = site.signed_in("adjuster")
    response = adjuster.post(f"/tasks/{task_id}/claim", data={"next": "/?scope=role"})
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == f"/tasks/{task_id}"
    assert adjuster.get(f"/tasks/{task_id}").status_code == 200


def test_after_a_task_is_completed_the_message_links_to_its_case(site: Site) -> None:
    clerk = site.signed_in("claims.clerk")
    clerk.post("/language", data={"lang": "en"})
    started = clerk.post("/start/claims")
    task_url = started.headers["Location"]
    task_id = int(task_url.rsplit("/", 1)[-1])
    with site.wired.runtime.uow() as uow:
        instance_id = uow.session.scalar(select(HumanTaskModel.instance_id).where(HumanTaskModel.id == task_id))
    done = clerk.post(task_url, data={"action": "complete", "policy_number": "PNOSUCH", "claimant_name": "Nobody",
                                      "claimant_id_number": "110105194912310021", "incident_date": "2026-01-05",
                                      "claim_type": "hospitalization", "cause_of_loss": "illness",
                                      "description": "a report for a policy nobody holds", "claimed_amount": "100",
                                      "payee_account": "6222020200100000000", "region": "beijing"},
                      follow_redirects=True)
    page = done.get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" class="alert-link" id="flash-case-link">Open the case</a>', page)
    assert link is not None, page[:3000]
    assert link[1] == f"/cases/{instance_id}"
