"""The managers' dashboard: its numbers are the ones a direct count of the database gives, it shows only the
work of the teams the manager manages, and someone who manages nobody may not open it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from engine.workflow.models import HumanTaskModel
from tasks.common import BUSINESS_TZ
from tasks.records import ClaimRecord
from tests.e2e.api_support import demo_task
from tests.e2e.conftest import Site

CLAIMS_TEAM = ("claims_clerk", "surveyor", "adjuster", "claims_manager", "siu", "finance")


def _english(site: Site, user: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def _page(client: FlaskClient) -> str:
    response = client.get("/dashboard")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _due_in(site: Site, task_id: int, **delta: float) -> None:
    due = site.wired.runtime.clock() + timedelta(**delta)
    with site.wired.runtime.uow() as uow:
        uow.session.execute(update(HumanTaskModel).where(HumanTaskModel.id == task_id).values(due_at=due, due_sort=due))
        uow.commit()


def _chart(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found[1])


def test_open_cases_per_step_are_the_direct_count_of_the_teams_open_tasks(site: Site) -> None:
    page = _page(_english(site, "claims.manager"))
    with site.wired.runtime.uow() as uow:
        expected = {f"{p}/{k}": n for p, k, n in uow.session.execute(
            select(HumanTaskModel.process_key, HumanTaskModel.task_key,
                   func.count(func.distinct(HumanTaskModel.instance_id)))
            .where(HumanTaskModel.status == "open", HumanTaskModel.candidate_role.in_(CLAIMS_TEAM))
            .group_by(HumanTaskModel.process_key, HumanTaskModel.task_key))}
    shown = {step: int(n) for step, n in re.findall(r'<tr data-step="([^"]+)">.*?data-count="cases">(\d+)<', page)}
    assert shown == expected and expected  # the demo has claims waiting at several steps
    assert not any(step.startswith("sales/") for step in shown)  # not the claims manager's team
    assert sum(_chart(page)["steps"]["cases"]) == sum(expected.values())


def test_overdue_tasks_are_counted_per_role_and_per_person_who_holds_them(site: Site) -> None:
    manager = _english(site, "claims.manager")
    assert 'id="overdue-total">0<' in _page(manager)
    pooled, _ = demo_task(site, "assess_amount")
    _due_in(site, pooled, hours=-3)
    with site.wired.runtime.uow() as uow:  # a clerk's task, held by the clerk
        held = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.status == "open", HumanTaskModel.candidate_role == "claims_clerk",
        ).order_by(HumanTaskModel.id))
        assert held is not None
        uow.session.execute(update(HumanTaskModel).where(HumanTaskModel.id == held).values(assignee="claims.clerk"))
        uow.commit()
    _due_in(site, held, days=-1)
    page = _page(manager)
    assert 'id="overdue-total">2<' in page
    assert re.search(r'<tr data-role="adjuster"><td>Adjuster</td><td class="text-end">1</td>', page)
    assert re.search(r'<tr data-role="claims_clerk"><td>Claims clerk</td><td class="text-end">1</td>', page)
    people = re.findall(r'<tr data-person="([^"]+)">', page)
    assert people == ["claims.clerk"]  # the pooled task is nobody's yet
    assert sorted(_chart(page)["overdue"]["tasks"]) == [1, 1]


def test_claims_paid_and_denied_this_week_match_the_claims_table(site: Site) -> None:
    rt = site.wired.runtime
    now = rt.clock()
    week_start = (now.astimezone(BUSINESS_TZ) - timedelta(days=now.astimezone(BUSINESS_TZ).weekday())).date()
    with rt.uow() as uow:
        claims = uow.session.scalars(select(ClaimRecord).order_by(ClaimRecord.id)).all()
        assert len(claims) >= 2
        paid, denied = claims[0], claims[1]
        paid.status, paid.closed_at, paid.paid_amount = "paid", now - timedelta(minutes=5), paid.claimed_amount
        paid.reported_at = now - timedelta(days=3, hours=2)
        denied.status, denied.closed_at = "rejected", now - timedelta(minutes=1)
        uow.commit()
    with rt.uow() as uow:
        counts = dict(uow.session.execute(
            select(ClaimRecord.status, func.count()).where(ClaimRecord.closed_at >= now - timedelta(days=7),
                                                         ClaimRecord.status.in_(("paid", "rejected")))
            .group_by(ClaimRecord.status)).all())
    page = _page(_english(site, "claims.manager"))
    row = re.search(rf'<tr data-week="{week_start.isoformat()}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert re.search(r'data-count="paid">(\d+)<', row[1])[1] == str(counts.get("paid", 0))
    assert re.search(r'data-count="denied">(\d+)<', row[1])[1] == str(counts.get("rejected", 0))
    assert "Median time from first notice of loss to payout" in page
    chart = _chart(page)["claims"]
    assert chart["labels"][-1] == week_start.isoformat() and len(chart["labels"]) == 8


def test_someone_who_manages_nobody_has_no_dashboard(site: Site) -> None:
    agent = _english(site, "agent")
    assert agent.get("/dashboard").status_code == 403
    assert 'href="/dashboard"' not in agent.get("/").get_data(as_text=True)
    assert 'href="/dashboard"' in _english(site, "claims.manager").get("/").get_data(as_text=True)


def test_an_underwriting_manager_sees_underwriting_only_and_no_claims_figures(site: Site) -> None:
    page = _page(_english(site, "senior.underwriter"))
    steps = re.findall(r'<tr data-step="([^"]+)">', page)
    assert all(step.split("/")[0] in ("underwriting", "sales") for step in steps)
    assert 'id="table-claims"' not in page
