"""The inbox's order, paging and counts when a scope is several streams (own tasks + each role's pool),
compared with a plain sort of every row — and counts that stop at the cap."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.workflow import inbox, store
from engine.workflow.actors import OPERATOR
from engine.workflow.deployments import deploy
from engine.workflow.inbox import InboxFilter, query_inbox
from engine.workflow.models import ProcessDefinitionModel
from tests.conftest import World, fixture_files


def _seed(world: World, count: int, seed: int = 7) -> None:
    """`count` open tasks over two roles, some assigned to mgr or someone else, random due dates and priorities
    (a third undated), plus completed tasks that must never show."""
    deploy(world.rt, fixture_files(), OPERATOR)
    rng = random.Random(seed)
    now = world.clock()
    with world.rt.uow() as uow:
        conn = uow.session.connection()
        definition = uow.session.scalars(select(ProcessDefinitionModel)).first()
        instance = store.insert_instance(conn, definition_id=definition.id, deployment_id=definition.deployment_id,
                                         process_key=definition.key, business_key="B", status="waiting",
                                         started_by="clerk", started_at=now, updated_at=now)
        for i in range(count):
            due = None if i % 3 == 0 else now + timedelta(hours=rng.randint(-50, 500))
            store.insert_task(conn, instance_id=instance.id, spiff_task_id=f"t{i}", process_key=definition.key,
                              business_key="B", task_key=rng.choice(["review", "assess"]), task_name="Task", lane=None,
                              candidate_role=rng.choice(["claims_manager", "adjuster"]),
                              assignee=rng.choice([None, None, None, "mgr", "adj"]),
                              status=rng.choice(["open", "open", "open", "completed"]), form=None,
                              separate_from=None, priority=rng.choice([10, 50, 50, 90]), created_at=now, due_at=due)
        uow.commit()


def _expected(world: World, wanted: InboxFilter) -> list[int]:
    """Every row the scope covers, sorted in Python: what the merged streams must equal."""
    mgr = world.actor("mgr")
    with world.rt.uow(read_only=True) as uow:
        rows = list(uow.session.execute(select(
            inbox.HumanTaskModel.id, inbox.HumanTaskModel.assignee, inbox.HumanTaskModel.candidate_role,
            inbox.HumanTaskModel.status, inbox.HumanTaskModel.due_at, inbox.HumanTaskModel.priority,
            inbox.HumanTaskModel.task_key)))
    far = world.clock() + timedelta(days=365 * 1000)

    def covered(row) -> bool:
        mine = row.assignee == mgr.username
        pool = row.assignee is None and row.candidate_role in mgr.roles
        in_scope = {"mine": mine, "role": pool, "all": mine or pool}[wanted.scope]
        return row.status == "open" and in_scope and (wanted.task_key in (None, row.task_key))

    def key(row):
        due = row.due_at or far
        return (-row.priority, due, row.id) if wanted.sort == "priority" else (due, -row.priority, row.id)

    return [row.id for row in sorted(filter(covered, rows), key=key)]


@pytest.mark.parametrize("scope", ["all", "mine", "role"])
@pytest.mark.parametrize("sort", ["due", "priority"])
def test_every_page_is_the_slice_of_a_full_sort_of_the_scope(world: World, scope: str, sort: str) -> None:
    _seed(world, 400)
    mgr = world.actor("mgr")
    expected = _expected(world, InboxFilter(scope=scope, sort=sort))
    pages = []
    for offset in range(0, len(expected) + 30, 30):
        result = query_inbox(world.rt, mgr, InboxFilter(scope=scope, sort=sort, limit=30, offset=offset))
        assert result.total == len(expected) and not result.capped
        pages.extend(task.id for task, _deployment in result.rows)
    assert pages == expected and len(expected) > 30


def test_filters_apply_to_every_stream(world: World) -> None:
    _seed(world, 300, seed=11)
    mgr = world.actor("mgr")
    wanted = InboxFilter(scope="all", task_key="assess", limit=500)
    result = query_inbox(world.rt, mgr, wanted)
    assert [task.id for task, _ in result.rows] == _expected(world, wanted)
    assert {task.task_key for task, _ in result.rows} == {"assess"}


def test_undated_tasks_come_after_every_dated_one(world: World) -> None:
    _seed(world, 120, seed=3)
    rows = query_inbox(world.rt, world.actor("mgr"), InboxFilter(scope="all", limit=500)).rows
    dated = [task.due_at is not None for task, _ in rows]
    assert dated == sorted(dated, reverse=True) and True in dated and False in dated


def test_counts_stop_at_the_cap_and_say_so(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(world, 200, seed=5)
    mgr = world.actor("mgr")
    exact = query_inbox(world.rt, mgr, InboxFilter(scope="all"), with_counts=True)
    assert not exact.capped and exact.total == exact.counts["mine"] + exact.counts["role"] > 20
    monkeypatch.setattr(inbox, "COUNT_CAP", 20)
    capped = query_inbox(world.rt, mgr, InboxFilter(scope="all", limit=5), with_counts=True)
    assert capped.capped and capped.total == 20 and len(capped.rows) == 5
    assert [t.id for t, _ in capped.rows] == [t.id for t, _ in exact.rows][:5]


def test_filter_menus_list_the_deployed_tasks_of_the_roles_and_the_actors_own(world: World) -> None:
    _seed(world, 60)
    clerk = query_inbox(world.rt, world.actor("clerk"), InboxFilter(scope="role"), with_counts=True).choices
    assert clerk == [("claim_review", "register", "Register claim")]
    mgr = query_inbox(world.rt, world.actor("mgr"), InboxFilter(scope="all"), with_counts=True).choices
    # mgr's roles (claims manager, adjuster) plus the seeded tasks assigned to mgr ("review" is in no diagram)
    assert mgr == [("claim_review", "approve", "Approve payout"), ("claim_review", "assess", "Assess amount"),
                   ("claim_review", "review", "Task")]
