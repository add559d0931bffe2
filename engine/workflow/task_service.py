"""Human tasks: the inbox, and claim / release / assign / complete with the engine's own checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from engine.errors import ConflictError

from . import access, authorization, history, store
from .actors import Actor, actor_for
from .clock import using_clock
from .execution import current_data, load, persist, run_steps
from .forms import SubmissionContext, check_submission
from .inbox import InboxFilter, query_inbox
from .instances import InstanceSummary, summary_after_calls, summary_of, to_plain_safe
from .jsonutil import to_plain
from .models import HumanTaskModel
from .roles import separate_from_ids
from .runtime import Runtime
from .store import HumanTaskRecord, InstanceRecord
from .unit_of_work import UnitOfWork


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
    # Whether the person it was shown to sees the case's personal fields in clear (engine/workflow/access.py).
    clear: bool = False
    # The task's name and instructions in each staff language the deployment translates them to
    # (engine/workflow/translations.py): language → {"name": …, "instructions": …}.
    texts: dict[str, dict[str, str]] = field(default_factory=dict)


def _view(row: HumanTaskModel | HumanTaskRecord, **extra: Any) -> TaskView:
    return TaskView(
        row.id, row.instance_id, row.process_key, row.business_key, row.task_key, row.task_name, row.lane,
        row.candidate_role, row.assignee, row.status, row.priority, row.created_at, row.due_at, row.completed_by,
        row.form, **extra)


def _performers(conn: Connection, task: HumanTaskRecord) -> set[str]:
    keys = separate_from_ids(task.separate_from)
    return store.performers(conn, task.instance_id, keys) if keys else set()


def _locked_task(conn: Connection, task_id: int) -> tuple[HumanTaskRecord, InstanceRecord]:
    """The task and its case, with the case locked so that changes to one case queue up; the task
    is read again after the lock unless the database runs one writer at a time anyway (SQLite)."""
    task = store.get_task(conn, task_id)
    instance = store.get_instance(conn, task.instance_id, lock=True)
    if conn.dialect.name != "sqlite":
        task = store.get_task(conn, task_id)
    return task, instance


def _locked_task_with_case(conn: Connection, task_id: int) -> tuple[store.TaskWithCase, InstanceRecord]:
    """`_locked_task`, with the case's open task rows and its performers read together with the task (after the
    lock)."""
    if conn.dialect.name == "sqlite":  # one writer at a time: what is read now stays so until the commit
        found = store.task_with_case(conn, task_id)
        return found, store.get_instance(conn, found.task.instance_id, lock=True)
    instance = store.get_instance(conn, store.get_task(conn, task_id).instance_id, lock=True)
    return store.task_with_case(conn, task_id), instance


def inbox(
    rt: Runtime, actor: Actor, *, scope: str = "all", process_key: str | None = None, limit: int = 50,
    offset: int = 0,
) -> tuple[list[TaskView], int, bool]:
    """Open tasks assigned to the actor ('mine'), open to their roles ('role'), or both ('all'); the total
    (counted up to inbox.COUNT_CAP) and whether there are more than that."""
    result = query_inbox(rt, actor, InboxFilter(scope=scope, process_key=process_key, limit=limit, offset=offset))
    return [_view(task) for task, _deployment in result.rows], result.total, result.capped


def get_task(rt: Runtime, task_id: int, actor: Actor) -> TaskView:
    """One task with its form schema, instructions and the case's current data."""
    with rt.uow(read_only=True) as uow:
        return read_task(rt, uow.session, task_id, actor)


def read_task(rt: Runtime, session: Session, task_id: int, actor: Actor) -> TaskView:
    """`get_task` in the caller's transaction."""
    row = store.get_task(session.connection(), task_id)
    loaded = load(rt, session, row.instance_id, actor.username, lock=False)
    seen = access.check_read(session, rt.settings, loaded.instance, actor)
    spec_task = loaded.workflow.get_task_from_id(UUID(row.spiff_task_id))
    instructions = None
    data = to_plain_safe(current_data(loaded.workflow))
    if spec_task is not None:
        instructions = (spec_task.task_spec.extensions or {}).get("instructionsForEndUser")
        data = to_plain_safe(spec_task.data)
    schema = loaded.parsed.form(row.form) if row.form else None
    process = loaded.parsed.processes.get(row.process_key)
    file = process.file if process else None
    texts = {lang: {k: v for k, v in (("name", found.name(row.task_key, file)),
                                       ("instructions", found.instructions_of(row.task_key, file))) if v}
             for lang, found in loaded.parsed.texts.items()}
    return _view(row, form_schema=schema, instructions=instructions, data=data, clear=seen.clear, texts=texts)


def _change_ownership(rt: Runtime, task_id: int, actor: Actor, check: Any, event: str) -> TaskView:
    """Claim, release and assign: check, set the assignee, record the event — one transaction."""
    rt = rt.frozen()
    with rt.uow() as uow:
        conn = uow.session.connection()
        task, instance = _locked_task(conn, task_id)
        target = check(uow, conn, task)
        if target is _UNCHANGED:
            return _view(task)
        previous = task.assignee
        now = rt.clock()
        store.update_task(conn, task, assignee=target, claimed_at=now if target else None)
        payload = {"task": task.id, "from": previous, "to": target} if event == "task_assigned" else (
            {"task": task.id, "from": previous} if event == "task_released" else {"task": task.id})
        history.append(conn, instance, event, actor=actor.username, at=now, task_key=task.task_key,
                       payload=payload, protect=rt.protect, keys=rt.audit_keys)
        instance.updated_at = now
        store.save_instance(conn, instance)
        uow.commit()
        return _view(task)


_UNCHANGED = object()


def claim(rt: Runtime, task_id: int, actor: Actor) -> TaskView:
    """Take an open task from the role's pool."""

    def check(uow: UnitOfWork, conn: Connection, task: HumanTaskRecord) -> object:
        authorization.check_claim(task, actor, _performers(conn, task))
        return _UNCHANGED if task.assignee == actor.username else actor.username

    return _change_ownership(rt, task_id, actor, check, "task_claimed")


def release(rt: Runtime, task_id: int, actor: Actor) -> TaskView:
    """Give a claimed task back to the role's pool."""

    def check(uow: UnitOfWork, conn: Connection, task: HumanTaskRecord) -> object:
        authorization.check_release(task, actor, rt.settings)
        return None

    return _change_ownership(rt, task_id, actor, check, "task_released")


def assign(rt: Runtime, task_id: int, actor: Actor, to_username: str) -> TaskView:
    """Hand a task to a named colleague who holds its role (managers only)."""

    def check(uow: UnitOfWork, conn: Connection, task: HumanTaskRecord) -> object:
        target = actor_for(uow, to_username)
        authorization.check_assign(task, actor, target, rt.settings, _performers(conn, task))
        return target.username

    return _change_ownership(rt, task_id, actor, check, "task_assigned")


def check_may_complete(rt: Runtime, task_id: int, actor: Actor) -> None:
    """ForbiddenError unless the actor may complete the task now (lane, assignee, four eyes) — for work kept
    aside before submitting (a draft), which only the performer may keep."""
    with rt.uow(read_only=True) as uow:
        conn = uow.session.connection()
        task = store.get_task(conn, task_id)
        authorization.check_complete(task, actor, _performers(conn, task))


def complete(rt: Runtime, task_id: int, actor: Actor, data: dict[str, Any] | None) -> InstanceSummary:
    """Submit a task's data, run the process on, and save — or change nothing at all."""
    rt = rt.frozen()
    data = {} if data is None else data
    with rt.uow() as uow:
        session = uow.session
        conn = session.connection()
        found, instance = _locked_task_with_case(conn, task_id)
        row, open_rows = found.task, found.open_rows
        authorization.check_complete(row, actor, found.performers(separate_from_ids(row.separate_from)))
        loaded = load(rt, session, row.instance_id, actor.username, instance=instance)
        task = loaded.workflow.get_task_from_id(UUID(row.spiff_task_id))
        if task is None or task.state != TaskState.READY:
            raise ConflictError(f"task {task_id} is no longer waiting for input")
        check_submission(data, loaded.parsed.form(row.form) if row.form else None,
                         SubmissionContext(session, row.instance_id, row.id), rt.field_checkers)
        before = to_plain_safe(task.data)
        task.data.update(data)
        with using_clock(rt.clock):
            task.run()
        now = rt.clock()
        store.update_task(conn, row, status="completed", completed_by=actor.username, completed_at=now,
                          assignee=row.assignee or actor.username)
        loaded.open_rows = [r for r in open_rows if r.id != row.id]  # read under the lock: persist needs no reread
        submitted = to_plain(data)
        # What changed, without a second copy of the submission: the earlier value of each field whose
        # value the submission changed (its new value is in "data").
        changed = {k: before.get(k) for k, v in submitted.items() if before.get(k) != v}
        loaded.record("task_completed", actor.username, row.task_key, {
            "task": row.id, "data": submitted, "before": changed,
        })
        run_steps(rt, loaded)
        persist(rt, session, loaded)
        summary = summary_of(rt, session, loaded)
        uow.commit()
    return summary_after_calls(rt, loaded, summary)
