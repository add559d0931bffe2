"""The inbox: what each role sees and how many; filters, sorting, paging, overdue tasks; claim,
release and reassign."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.workflow.models import HumanTaskModel
from tests.e2e.api_support import demo_task
from tests.e2e.conftest import Site


def _page(client: FlaskClient, url: str = "/") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _count(page: str, scope: str) -> int:
    found = re.search(rf'data-count="{scope}">(\d+)<', page)
    assert found is not None, f"no {scope} count on the page"
    return int(found[1])


def _listed(page: str) -> str:
    """The task list's rows (the filter menus name every task the roles can have, open or not)."""
    found = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return found[1] if found else ""


def _task_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', page)]


def _signed_in_english(site: Site, user: str) -> FlaskClient:
    client = site.signed_in(user)
    client.post("/language", data={"lang": "en"})
    return client


def _assignee(site: Site, task_id: int) -> str | None:
    with site.wired.runtime.uow() as uow:
        return uow.session.scalar(select(HumanTaskModel.assignee).where(HumanTaskModel.id == task_id))


def test_each_role_sees_its_own_open_tasks_with_counts(site: Site) -> None:
    expected = {"adjuster": "Assess amount", "claims.clerk": "Request missing documents", "siu":
                "Investigate suspected fraud", "finance": "Resolve payment failure", "compliance":
                "Compliance approval", "underwriter": "Manual underwriting", "agent": "Needs analysis"}
    # The adjuster has two claims to assess: an outpatient claim and a beneficiary's death claim.
    counts = {"adjuster": 2}
    mine = {"agent": 1}  # an agent's sale stays theirs (assignTo="starter"): in "mine", not in the role's pool
    for user, task in expected.items():
        page = _page(_signed_in_english(site, user), "/?scope=mine" if user in mine else "/?scope=role")
        assert task in _listed(page), user
        assert _count(page, "role") == (0 if user in mine else counts.get(user, 1)), user
        assert _count(page, "mine") == mine.get(user, 0), user
        others = set(expected.values()) - {task}
        assert not any(other in _listed(page) for other in others), user


def test_a_task_assigned_to_someone_is_in_their_mine_list(site: Site) -> None:
    page = _page(_signed_in_english(site, "surveyor.zhang"))
    assert _count(page, "mine") == 1 and "Conduct survey and report" in page
    assert "Conduct survey and report" not in _listed(_page(_signed_in_english(site, "surveyor.li"), "/?scope=role"))


def test_with_nothing_assigned_the_inbox_opens_on_the_roles_tasks(site: Site) -> None:
    page = _page(_signed_in_english(site, "adjuster"))
    assert re.search(r'aria-current="page"\s+href="/\?scope=role', page) and "Assess amount" in page


def test_claim_moves_a_task_to_mine_and_release_gives_it_back(site: Site) -> None:
    client = _signed_in_english(site, "adjuster")
    task_id, _instance = demo_task(site, "assess_amount")
    response = client.post(f"/tasks/{task_id}/claim", data={"next": "/?scope=mine"})
    assert response.status_code == 302 and response.location == f"/tasks/{task_id}"  # claiming opens the task
    assert "The task is yours now." in _page(client, response.location)
    page = _page(client, "/?scope=mine")
    assert _task_ids(page) == [task_id]
    # The demo's other claim to assess (a death claim) stays in the role's pool.
    assert _count(page, "mine") == 1 and _count(page, "role") == 1 and _assignee(site, task_id) == "adjuster"
    client.post(f"/tasks/{task_id}/release")
    page = _page(client, "/?scope=role")
    assert "The task is back in the pool of its role." in page and _assignee(site, task_id) is None
    assert _count(page, "mine") == 0 and _count(page, "role") == 2


def test_a_task_claimed_by_someone_else_cannot_be_claimed_again(site: Site) -> None:
    task_id, _instance = demo_task(site, "conduct_survey")  # the demo assigned it to surveyor.zhang
    client = _signed_in_english(site, "surveyor.li")
    client.post(f"/tasks/{task_id}/claim")
    assert "This task has changed meanwhile" in _page(client, "/?scope=mine")
    assert _assignee(site, task_id) == "surveyor.zhang"


def test_a_claims_manager_reassigns_a_task_to_a_named_colleague(site: Site) -> None:
    task_id, _instance = demo_task(site, "conduct_survey")
    manager = _signed_in_english(site, "claims.manager")
    team = _page(manager, "/?scope=team")
    assert _count(team, "team") == 7 and task_id in _task_ids(team)
    assert re.search(r'<option value="surveyor.li">surveyor.li</option>', team)
    response = manager.post(f"/tasks/{task_id}/assign", data={"to": "surveyor.li", "next": "/?scope=team"})
    assert response.location == "/?scope=team"
    assert "The task is assigned to surveyor.li." in _page(manager, "/?scope=team")
    assert _assignee(site, task_id) == "surveyor.li"
    assert task_id in _task_ids(_page(_signed_in_english(site, "surveyor.li"), "/?scope=mine"))


def test_reassigning_to_someone_without_the_role_is_refused(site: Site) -> None:
    task_id, _instance = demo_task(site, "conduct_survey")
    manager = _signed_in_english(site, "claims.manager")
    manager.post(f"/tasks/{task_id}/assign", data={"to": "agent"})
    assert "Not allowed" in _page(manager, "/?scope=team") and _assignee(site, task_id) == "surveyor.zhang"


def test_only_managers_have_a_team_and_may_reassign(site: Site) -> None:
    task_id, _instance = demo_task(site, "assess_amount")
    adjuster = _signed_in_english(site, "adjuster")
    assert 'data-count="team"' not in _page(adjuster)
    adjuster.post(f"/tasks/{task_id}/assign", data={"to": "adjuster"})
    assert "Not allowed" in _page(adjuster, "/?scope=role") and _assignee(site, task_id) is None


def test_filters_by_process_and_task(site: Site) -> None:
    manager = _signed_in_english(site, "claims.manager")
    survey, _ = demo_task(site, "conduct_survey")
    page = _page(manager, "/?scope=team&task=conduct_survey")
    assert _task_ids(page) == [survey]
    assert _task_ids(_page(manager, "/?scope=team&process=sales")) == []
    assert len(_task_ids(_page(manager, "/?scope=team&process=claims"))) == 7


def _due_in(site: Site, task_id: int, **delta: float) -> None:
    due = site.wired.runtime.clock() + timedelta(**delta)
    with site.wired.runtime.uow() as uow:
        uow.session.execute(update(HumanTaskModel).where(HumanTaskModel.id == task_id).values(
            due_at=due, due_sort=due))
        uow.commit()


def test_sorting_by_due_date_or_priority(site: Site) -> None:
    manager = _signed_in_english(site, "claims.manager")
    finance, _ = demo_task(site, "resolve_payment_failure")  # priority 90
    documents, _ = demo_task(site, "request_documents")  # priority 40
    _due_in(site, documents, hours=1)
    _due_in(site, finance, days=300)
    by_due = _task_ids(_page(manager, "/?scope=team&sort=due"))
    by_priority = _task_ids(_page(manager, "/?scope=team&sort=priority"))
    assert by_due[0] == documents and by_due[-1] == finance
    assert by_priority[0] == finance and by_priority[-1] == documents


def test_overdue_tasks_stand_out_and_can_be_filtered(site: Site) -> None:
    adjuster = _signed_in_english(site, "adjuster")
    task_id, _ = demo_task(site, "assess_amount")
    assert "Overdue</span>" not in _page(adjuster, "/?scope=role")
    _due_in(site, task_id, hours=-2)
    page = _page(adjuster, "/?scope=role")
    assert re.search(rf'<tr class="overdue" data-task-id="{task_id}">', page) and "Overdue</span>" in page
    assert _task_ids(_page(adjuster, "/?scope=role&due=overdue")) == [task_id]


def test_paging_shows_twenty_tasks_a_page(site: Site) -> None:
    clerk = _signed_in_english(site, "claims.clerk")
    already = _count(_page(clerk, "/?scope=mine"), "mine")  # a demo registration sent back to its clerk
    for _ in range(21 - already):
        assert clerk.post("/start/claims").status_code == 302  # each new claim's first task is the clerk's
    first, second = _page(clerk, "/?scope=mine&page=1"), _page(clerk, "/?scope=mine&page=2")
    assert _count(first, "mine") == 21 and "21 tasks" in first
    assert len(_task_ids(first)) == 20 and len(_task_ids(second)) == 1
    assert not set(_task_ids(first)) & set(_task_ids(second))
