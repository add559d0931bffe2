"""The hot path's persistence, in SQLAlchemy Core: instance rows under optimistic locking, human-task
rows, waits and history rows. Every engine step goes through here, so it stays lean: prebuilt
statements, plain records, no ORM identity map."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from engine.errors import ConflictError, NotFoundError

from .models import NO_DUE_DATE, EventModel, HumanTaskModel, InstanceModel, WaitModel

INSTANCES = InstanceModel.__table__
TASKS = HumanTaskModel.__table__
WAITS = WaitModel.__table__
EVENTS = EventModel.__table__


@dataclass(slots=True)
class InstanceRecord:
    """One instance row; `version` is the version this transaction saw."""

    id: int
    definition_id: int
    deployment_id: int
    process_key: str
    business_key: str | None
    status: str
    version: int
    state: bytes
    serializer_version: str
    started_by: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    last_seq: int
    last_hash: str


@dataclass(slots=True)
class HumanTaskRecord:
    """One human-task row."""

    id: int
    instance_id: int
    spiff_task_id: str
    process_key: str
    business_key: str | None
    task_key: str
    task_name: str
    lane: str | None
    candidate_role: str | None
    assignee: str | None
    status: str
    form: str | None
    separate_from: str | None
    priority: int
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None
    due_sort: datetime


@dataclass(slots=True)
class WaitRecord:
    """One timer or message an instance waits for."""

    id: int
    instance_id: int
    spiff_task_id: str
    task_key: str
    kind: str
    name: str | None
    due_at: datetime | None
    status: str
    created_at: datetime
    done_at: datetime | None


_INSTANCE_SAVED = ("business_key", "status", "state", "serializer_version", "updated_at", "ended_at", "last_seq",
                   "last_hash")
_GET_INSTANCE = select(INSTANCES).where(INSTANCES.c.id == bindparam("id"))
_LOCK_INSTANCE = _GET_INSTANCE.with_for_update()
_SAVE_INSTANCE = (update(INSTANCES)
                  .where(INSTANCES.c.id == bindparam("b_id"), INSTANCES.c.version == bindparam("b_seen"))
                  .values(version=bindparam("b_next"), **{c: bindparam(c) for c in _INSTANCE_SAVED}))
_GET_TASK = select(TASKS).where(TASKS.c.id == bindparam("id"))
_OPEN_TASKS = (select(TASKS).where(TASKS.c.instance_id == bindparam("instance"), TASKS.c.status == "open")
               .order_by(TASKS.c.id))
# A task and its case's open and completed tasks (the task among them), in one statement.
_TASK_WITH_CASE = (select(TASKS).where(
    TASKS.c.instance_id == select(TASKS.c.instance_id).where(TASKS.c.id == bindparam("id")).scalar_subquery(),
    or_(TASKS.c.id == bindparam("id"), TASKS.c.status.in_(("open", "completed")))).order_by(TASKS.c.id))
_PERFORMERS = select(TASKS.c.completed_by).where(
    TASKS.c.instance_id == bindparam("instance"), TASKS.c.task_key.in_(bindparam("task_keys", expanding=True)),
    TASKS.c.status == "completed")
_INSERT_TASK = insert(TASKS).returning(TASKS.c.id)
_PENDING_WAITS = select(WAITS).where(WAITS.c.instance_id == bindparam("instance"), WAITS.c.status == "pending")
# The SET clause comes from the parameter names given; the statement itself is built once.
_UPDATE_TASK = update(TASKS).where(TASKS.c.id == bindparam("b_id"))
_UPDATE_WAIT = update(WAITS).where(WAITS.c.id == bindparam("b_id"))
_GET_WAIT = select(WAITS).where(WAITS.c.id == bindparam("id"))


def _record(cls: type, row: Any) -> Any:
    return cls(**row._mapping)


def get_instance(conn: Connection, instance_id: int, *, lock: bool = False) -> InstanceRecord:
    """The instance row; `lock` takes the case lock (FOR UPDATE; SQLite already holds the write lock)."""
    stmt = _LOCK_INSTANCE if lock and conn.dialect.name != "sqlite" else _GET_INSTANCE
    row = conn.execute(stmt, {"id": instance_id}).first()
    if row is None:
        raise NotFoundError(f"no instance {instance_id}")
    return _record(InstanceRecord, row)


def insert_instance(conn: Connection, **values: Any) -> InstanceRecord:
    """A new instance row at version 1."""
    values = {"version": 1, "last_seq": 0, "last_hash": "", "state": b"", "serializer_version": "", **values}
    new_id = conn.execute(insert(INSTANCES).returning(INSTANCES.c.id), values).scalar_one()
    return InstanceRecord(id=new_id, ended_at=values.get("ended_at"), **{
        f.name: values[f.name] for f in fields(InstanceRecord) if f.name not in ("id", "ended_at")})


def save_instance(conn: Connection, record: InstanceRecord) -> None:
    """`UPDATE … WHERE version = :seen`; a row changed meanwhile is a ConflictError, never a lost update."""
    params = {c: getattr(record, c) for c in _INSTANCE_SAVED}
    params.update(b_id=record.id, b_seen=record.version, b_next=record.version + 1)
    if conn.execute(_SAVE_INSTANCE, params).rowcount != 1:
        raise ConflictError(f"instance {record.id} was changed by someone else meanwhile; reload and try again")
    record.version += 1


def get_task(conn: Connection, task_id: int) -> HumanTaskRecord:
    """One human-task row."""
    row = conn.execute(_GET_TASK, {"id": task_id}).first()
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    return _record(HumanTaskRecord, row)


def open_tasks(conn: Connection, instance_id: int) -> list[HumanTaskRecord]:
    """The instance's open human tasks, oldest first."""
    return [_record(HumanTaskRecord, r) for r in conn.execute(_OPEN_TASKS, {"instance": instance_id})]


@dataclass(frozen=True)
class TaskWithCase:
    """A human-task row with its case's open task rows (oldest first) and who completed which of its tasks."""

    task: HumanTaskRecord
    open_rows: list[HumanTaskRecord]
    completed_by: dict[str, set[str]]  # task key → the users who completed it

    def performers(self, task_keys: list[str]) -> set[str]:
        """Who completed any of `task_keys` in this case (four eyes)."""
        return {user for key in task_keys for user in self.completed_by.get(key, ())}


def task_with_case(conn: Connection, task_id: int) -> TaskWithCase:
    """One human-task row, its case's open human-task rows and who completed what, read together."""
    rows = [_record(HumanTaskRecord, r) for r in conn.execute(_TASK_WITH_CASE, {"id": task_id})]
    task = next((r for r in rows if r.id == task_id), None)
    if task is None:
        raise NotFoundError(f"no task {task_id}")
    completed_by: dict[str, set[str]] = {}
    for row in rows:
        if row.status == "completed" and row.completed_by:
            completed_by.setdefault(row.task_key, set()).add(row.completed_by)
    return TaskWithCase(task, [r for r in rows if r.status == "open"], completed_by)


def performers(conn: Connection, instance_id: int, task_keys: list[str]) -> set[str]:
    """Who completed any of `task_keys` in this instance."""
    return {r for (r,) in conn.execute(_PERFORMERS, {"instance": instance_id, "task_keys": task_keys}) if r}


def insert_task(conn: Connection, **values: Any) -> HumanTaskRecord:
    """A new human-task row."""
    values = {"claimed_at": None, "completed_at": None, "completed_by": None, **values}
    values["due_sort"] = values.get("due_at") or NO_DUE_DATE
    new_id = conn.execute(_INSERT_TASK, values).scalar_one()
    return HumanTaskRecord(id=new_id, **values)


def update_task(conn: Connection, task: HumanTaskRecord, **values: Any) -> None:
    """Change columns of a human-task row (and the record)."""
    conn.execute(_UPDATE_TASK, {"b_id": task.id, **values})
    for key, value in values.items():
        setattr(task, key, value)


def pending_waits(conn: Connection, instance_id: int) -> list[WaitRecord]:
    """What the instance is recorded as waiting for."""
    return [_record(WaitRecord, r) for r in conn.execute(_PENDING_WAITS, {"instance": instance_id})]


def get_wait(conn: Connection, wait_id: int) -> WaitRecord | None:
    """One wait row."""
    row = conn.execute(_GET_WAIT, {"id": wait_id}).first()
    return _record(WaitRecord, row) if row else None


def insert_waits(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """New wait rows."""
    if rows:
        conn.execute(insert(WAITS), rows)


def update_wait(conn: Connection, wait_id: int, **values: Any) -> None:
    """Change columns of a wait row."""
    conn.execute(_UPDATE_WAIT, {"b_id": wait_id, **values})


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append history rows."""
    if rows:
        conn.execute(insert(EVENTS), rows)
