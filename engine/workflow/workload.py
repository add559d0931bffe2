"""Where the work stands: open cases per step and overdue tasks per role and per person, counted from the
partial indexes over open tasks (no history is read, no state deserialized)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from .models import HumanTaskModel
from .unit_of_work import UnitOfWork

_T = HumanTaskModel


@dataclass(frozen=True)
class StepLoad:
    """How many cases wait at one step of a process, and how many of its tasks are overdue."""

    process_key: str
    task_key: str
    task_name: str
    cases: int
    overdue: int


@dataclass(frozen=True)
class Overdue:
    """Overdue open tasks of one role, or held by one person (`person` None: not yet claimed)."""

    role: str
    person: str | None
    tasks: int


def open_steps(uow: UnitOfWork, roles: Collection[str], now: datetime) -> list[StepLoad]:
    """The steps that open tasks of these roles wait at, busiest first."""
    session = uow.session
    if not roles:
        return []
    late = func.sum(case((_T.due_sort < now, 1), else_=0))  # due_sort: the due time, or far ahead when none
    rows = session.execute(
        select(_T.process_key, _T.task_key, func.min(_T.task_name), func.count(func.distinct(_T.instance_id)), late)
        .where(_T.status == "open", _T.candidate_role.in_(sorted(roles)))
        .group_by(_T.process_key, _T.task_key)
    ).all()
    loads = [StepLoad(p, k, n, int(c), int(o or 0)) for p, k, n, c, o in rows]
    return sorted(loads, key=lambda s: (-s.cases, s.process_key, s.task_name))


def overdue_tasks(uow: UnitOfWork, roles: Collection[str], now: datetime) -> list[Overdue]:
    """Overdue open tasks of these roles, per role and per person holding them (unclaimed ones per role)."""
    session = uow.session
    if not roles:
        return []
    rows = session.execute(
        select(_T.candidate_role, _T.assignee, func.count())
        .where(_T.status == "open", _T.candidate_role.in_(sorted(roles)), _T.due_sort < now)
        .group_by(_T.candidate_role, _T.assignee)
    ).all()
    return sorted((Overdue(role, person, int(n)) for role, person, n in rows),
                  key=lambda o: (-o.tasks, o.role, o.person or ""))

