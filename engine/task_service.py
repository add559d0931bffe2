"""Human tasks: the inbox, and claim / release / assign / complete with the engine's own checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from . import authorization, history
from .clock import using_clock
from .errors import ConflictError, NotFoundError
from .execution import current_data, load, lock_instance, needs_refresh, persist, run_steps
from .forms import check_submission
from .identity import Actor, actor_for
from .instances import InstanceSummary, _check_can_read, _summary, _version_of, to_plain_safe
from .jsonutil import to_plain
from .models import HumanTaskModel, InstanceModel
from .runtime import Runtime


@dataclass(frozen=True)
class TaskView:
    """A human task as the inbox and the task page show it."""

    id: int
    instance_id: int
    process_key: str
    business_key: str | None
    task_key: str
    name: str
    lane: str | None
    role: str | None
    assignee: str | None
    status: str
    priority: int
    created_at: datetime
    due_at: datetime | None
    completed_by: str | None
    form: str | None
    form_schema: dict[str, Any] | None = None
    instructions: str | None = None
    data: dict[str, Any] | None = None


def _view(row: HumanTaskModel, **extra: Any) -> TaskView:
    return TaskView(
        row.id, row.instance_id, row.process_key, row.business_key, row.task_key, row.task_name, row.lane,
        row.candidate_role, row.assignee, row.status, row.priority, row.created_at, row.due_at, row.completed_by,
        row.form, **extra)


def _performers(session: Session, task: HumanTaskModel) -> set[str]:
    if not task.separate_from:
        return set()
    return set(session.scalars(select(HumanTaskModel.completed_by).where(
        HumanTaskModel.instance_id == task.instance_id, HumanTaskModel.task_key == task.separate_from,
        HumanTaskModel.status == "completed")))


def _task(session: Session, task_id: int, *, lock: bool = True) -> HumanTaskModel:
    row = session.get(HumanTaskModel, task_id)
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    if lock:  # serialize with every other change to the same case, then read the task afresh
        lock_instance(session, row.instance_id)
        if needs_refresh(session):
            session.refresh(row)
    return row


def inbox(
    rt: Runtime, actor: Actor, *, scope: str = "all", process_key: str | None = None, limit: int = 50,
    offset: int = 0,
) -> tuple[list[TaskView], int]:
    """Open tasks assigned to the actor ('mine'), open to their roles ('role'), or both ('all')."""
    mine = HumanTaskModel.assignee == actor.username
    pool = and_(HumanTaskModel.assignee.is_(None), HumanTaskModel.candidate_role.in_(sorted(actor.roles)))
    where = {"mine": mine, "role": pool}.get(scope, or_(mine, pool))
    query = select(HumanTaskModel).where(HumanTaskModel.status == "open", where)
    if process_key:
        query = query.where(HumanTaskModel.process_key == process_key)
    with rt.uow() as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = uow.session.scalars(query.order_by(
            HumanTaskModel.due_at.is_(None), HumanTaskModel.due_at, HumanTaskModel.priority.desc(),
            HumanTaskModel.id).limit(limit).offset(offset))
        return [_view(r) for r in rows], total


def get_task(rt: Runtime, task_id: int, actor: Actor) -> TaskView:
    """One task with its form schema, instructions and the case's current data."""
    with rt.uow() as uow:
        session = uow.session
        row = _task(session, task_id, lock=False)
        loaded = load(rt, session, row.instance_id, actor.username, lock=False)
        _check_can_read(session, loaded.instance, actor)
        spec_task = loaded.workflow.get_task_from_id(UUID(row.spiff_task_id))
        instructions = None
        data = to_plain_safe(current_data(loaded.workflow))
        if spec_task is not None:
            instructions = (spec_task.task_spec.extensions or {}).get("instructionsForEndUser")
            data = to_plain_safe(spec_task.data)
        schema = loaded.parsed.form(row.form) if row.form else None
        return _view(row, form_schema=schema, instructions=instructions, data=data)


def _touch(rt: Runtime, session: Session, row: HumanTaskModel, type_: str, actor: Actor,
           payload: dict[str, Any]) -> None:
    instance = session.get(InstanceModel, row.instance_id)
    assert instance is not None
    instance.updated_at = rt.clock()
    history.append(session, instance, type_, actor=actor.username, at=rt.clock(), task_key=row.task_key,
                   payload={"task": row.id, **payload}, protect=rt.protect)


def claim(rt: Runtime, task_id: int, actor: Actor) -> TaskView:
    """Take an open task from the role's pool."""
    rt = rt.frozen()
    with rt.uow() as uow:
        session = uow.session
        row = _task(session, task_id)
        authorization.check_claim(row, actor, _performers(session, row))
        if row.assignee == actor.username:
            return _view(row)
        row.assignee = actor.username
        row.claimed_at = rt.clock()
        _touch(rt, session, row, "task_claimed", actor, {})
        uow.commit()
        return _view(row)


def release(rt: Runtime, task_id: int, actor: Actor) -> TaskView:
    """Give a claimed task back to the role's pool."""
    rt = rt.frozen()
    with rt.uow() as uow:
        session = uow.session
        row = _task(session, task_id)
        authorization.check_release(row, actor, rt.settings)
        previous = row.assignee
        row.assignee = None
        row.claimed_at = None
        _touch(rt, session, row, "task_released", actor, {"from": previous})
        uow.commit()
        return _view(row)


def assign(rt: Runtime, task_id: int, actor: Actor, to_username: str) -> TaskView:
    """Hand a task to a named colleague who holds its role (managers only)."""
    rt = rt.frozen()
    with rt.uow() as uow:
        session = uow.session
        row = _task(session, task_id)
        target = actor_for(session, to_username)
        authorization.check_assign(row, actor, target, rt.settings, _performers(session, row))
        previous = row.assignee
        row.assignee = target.username
        row.claimed_at = rt.clock()
        _touch(rt, session, row, "task_assigned", actor, {"from": previous, "to": target.username})
        uow.commit()
        return _view(row)


def complete(rt: Runtime, task_id: int, actor: Actor, data: dict[str, Any] | None) -> InstanceSummary:
    """Submit a task's data, run the process on, and save — or change nothing at all."""
    rt = rt.frozen()
    data = {} if data is None else data
    with rt.uow() as uow:
        session = uow.session
        row = _task(session, task_id)
        authorization.check_complete(row, actor, _performers(session, row))
        loaded = load(rt, session, row.instance_id, actor.username)
        task = loaded.workflow.get_task_from_id(UUID(row.spiff_task_id))
        if task is None or task.state != TaskState.READY:
            raise ConflictError(f"task {task_id} is no longer waiting for input")
        check_submission(data, loaded.parsed.form(row.form) if row.form else None)
        before = to_plain_safe(task.data)
        task.data.update(data)
        with using_clock(rt.clock):
            task.run()
        now = rt.clock()
        row.status = "completed"
        row.completed_by = actor.username
        row.completed_at = now
        row.assignee = row.assignee or actor.username
        submitted = to_plain(data)
        delta = {k: {"before": before.get(k), "after": v} for k, v in submitted.items() if before.get(k) != v}
        loaded.record("task_completed", actor.username, row.task_key, {
            "task": row.id, "task_id": row.spiff_task_id, "data": submitted, "delta": delta,
        })
        run_steps(rt, loaded)
        persist(rt, session, loaded)
        summary = _summary(session, loaded.instance, _version_of(rt, session, loaded.instance), loaded.open_tasks)
        uow.commit()
    return summary
