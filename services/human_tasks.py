"""Human tasks, for the task page, the inbox and the API alike: show one, take it, give it back, hand it to a
colleague, keep a draft of it, complete it. The engine checks lanes, assignee and four eyes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.workflow import Actor, InstanceSummary, Runtime, TaskView, task_service

from .case_page import CaseFile, read_case


@dataclass(frozen=True)
class TaskPage:
    """A task with its form, and the case around it (its recent history, the claimant's notes)."""

    task: TaskView
    case: CaseFile


def task_page(rt: Runtime, actor: Actor, task_id: int) -> TaskPage:
    """A task of a case the actor may read, with that case, in one transaction."""
    with rt.uow(read_only=True) as uow:
        task = task_service.read_task(rt, uow.session, task_id, actor)
        case = read_case(uow, rt, actor, task.instance_id, data=task.data or {}, holder=task.clear,
                         with_notes=True)
    return TaskPage(task, case)


def show_task(rt: Runtime, actor: Actor, task_id: int) -> TaskView:
    """A task of a case the actor may read: its form's schema, instructions and the case's data."""
    return task_service.get_task(rt, task_id, actor)


def open_tasks(rt: Runtime, actor: Actor, *, scope: str, process_key: str | None, limit: int,
               offset: int) -> tuple[list[TaskView], int, bool]:
    """Open tasks assigned to the actor ('mine'), open to their roles ('role'), or both ('all'); the total and
    whether it was capped."""
    return task_service.inbox(rt, actor, scope=scope, process_key=process_key, limit=limit, offset=offset)


def claim_task(rt: Runtime, actor: Actor, task_id: int) -> TaskView:
    """Take an open task from the role's pool."""
    return task_service.claim(rt, task_id, actor)


def release_task(rt: Runtime, actor: Actor, task_id: int) -> TaskView:
    """Give a claimed task back to the role's pool."""
    return task_service.release(rt, task_id, actor)


def assign_task(rt: Runtime, actor: Actor, task_id: int, to_username: str) -> TaskView:
    """Hand a task to a named colleague who holds its role (managers)."""
    return task_service.assign(rt, task_id, actor, to_username)


def check_may_keep_draft(rt: Runtime, actor: Actor, task_id: int) -> None:
    """ForbiddenError unless the actor may complete the task now (only its performer keeps a draft of it);
    ConflictError when it is no longer open."""
    task_service.check_may_complete(rt, task_id, actor)


def complete_task(rt: Runtime, actor: Actor, task_id: int, data: dict[str, Any] | None) -> InstanceSummary:
    """Submit a task's data and run the case on until it waits — the one way both the task page and the API
    complete a task; InvalidInputError names every failing field, ConflictError when it is no longer open."""
    return task_service.complete(rt, task_id, actor, data)
