"""Inbox queries: open tasks assigned to someone, open to their roles, or (for managers) their team's —
with filters, sorting, counts per scope and paging, and no deserialization.

A scope is a union of *streams* — the tasks assigned to one person, or open to one role — each read
from a partial index over open tasks already in page order; the page is the merge of the streams'
heads, so a page costs the same with a hundred open tasks or a hundred thousand. Counts stop at
COUNT_CAP: an inbox of more than a thousand tasks shows "1000+" — nobody pages that far — not a full count.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select, text, union_all
from sqlalchemy.orm import Session

from .actors import Actor
from .authorization import managed_roles
from .models import HumanTaskModel, InstanceModel, ProcessDefinitionModel
from .roles import lane_role
from .runtime import Runtime

SCOPES = ("mine", "role", "team", "all")
COUNT_CAP = 1_000
_T = HumanTaskModel


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows and in which order."""

    scope: str = "all"
    process_key: str | None = None
    task_key: str | None = None
    due_before: datetime | None = None
    sort: str = "due"  # or "priority"
    limit: int = 50
    offset: int = 0


@dataclass
class InboxResult:
    """A page of tasks (each with its instance's deployment), the total (at most COUNT_CAP; `capped` says
    there are more), counts per scope and the process/task pairs the scope can hold (for filter menus)."""

    rows: list[tuple[HumanTaskModel, int]]
    total: int
    capped: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    choices: list[tuple[str, str, str]] = field(default_factory=list)


def team_roles(rt: Runtime, actor: Actor) -> frozenset[str]:
    """The candidate roles whose tasks the actor may hand to others."""
    return managed_roles(rt.settings, actor.roles)


@dataclass(frozen=True)
class _Shape:
    """What an inbox statement looks like, apart from its values: built once per shape (a few per deployment)
    with bound parameters, so a page only binds values — building and keying the statement cost more than
    running it."""

    scope: str
    roles: int  # how many role streams (pool or team)
    process: bool
    task: bool
    due: bool
    sort: str


def _shape(actor: Actor, wanted: InboxFilter, scope: str, team: frozenset[str]) -> tuple[_Shape, dict[str, Any]]:
    """The shape of the scope's statements and the values they bind."""
    roles = sorted(team) if scope == "team" else [] if scope == "mine" else sorted(actor.roles)
    values: dict[str, Any] = {f"role{i}": role for i, role in enumerate(roles)}
    values["me"] = actor.username
    values.update(process_key=wanted.process_key, task_key=wanted.task_key, due_before=wanted.due_before,
                  depth=wanted.offset + wanted.limit)
    return _Shape(scope, len(roles), bool(wanted.process_key), bool(wanted.task_key),
                  wanted.due_before is not None, wanted.sort), values


def _streams(shape: _Shape) -> list[ColumnElement[bool]]:
    """The conditions, one per index range, whose union is the scope."""
    roles = [bindparam(f"role{i}") for i in range(shape.roles)]
    if shape.scope == "team":
        return [_T.candidate_role == role for role in roles]  # assigned or not; disjoint by role
    mine = [_T.assignee == bindparam("me")]
    pool = [(_T.candidate_role == role) & _T.assignee.is_(None) for role in roles]
    if shape.scope == "mine":
        return mine
    if shape.scope == "role":
        return pool
    return mine + pool  # disjoint: pool tasks have no assignee


# A literal, not a bound parameter: only then may SQLite's planner use the partial indexes over open tasks.
_IS_OPEN = text("human_tasks.status = 'open'")


def _filtered(query: Select[Any], shape: _Shape) -> Select[Any]:
    query = query.where(_IS_OPEN)
    if shape.process:
        query = query.where(_T.process_key == bindparam("process_key"))
    if shape.task:
        query = query.where(_T.task_key == bindparam("task_key"))
    if shape.due:
        query = query.where(_T.due_at < bindparam("due_before"))
    return query


def _sort_key(shape: _Shape) -> tuple[Any, ...]:
    # Earliest due first (undated last), then the most urgent; or the reverse emphasis. The id breaks ties.
    if shape.sort == "priority":
        return (_T.priority.desc(), _T.due_sort, _T.id)
    return (_T.due_sort, _T.priority.desc(), _T.id)


@functools.lru_cache(maxsize=256)
def _heads_statement(shape: _Shape) -> Select[Any]:
    """Each stream's first `depth` tasks in page order (each its own index range), joined by UNION ALL."""
    heads = [_filtered(select(_T.id, _T.due_sort, _T.priority), shape).where(condition)
             .order_by(*_sort_key(shape)).limit(bindparam("depth")).subquery() for condition in _streams(shape)]
    return union_all(*(select(head.c.id, head.c.due_sort, head.c.priority) for head in heads)) \
        if len(heads) > 1 else select(heads[0].c.id, heads[0].c.due_sort, heads[0].c.priority)


def _page_ids(session: Session, shape: _Shape, values: dict[str, Any], wanted: InboxFilter) -> list[int]:
    """The ids of the page: the first offset+limit of each stream in order (one statement), merged."""
    by_priority = shape.sort == "priority"
    keys = sorted((-priority, due, id_) if by_priority else (due, -priority, id_)
                  for id_, due, priority in session.execute(_heads_statement(shape), values))
    return [key[2] for key in keys][wanted.offset:wanted.offset + wanted.limit]


def _count_of(shape: _Shape) -> ColumnElement[int]:
    """How many tasks the streams hold together (they never overlap), counting at most COUNT_CAP + 1 index
    entries of each: one expression, to ask for on its own or beside the page's rows."""
    counts = [select(func.count()).select_from(_filtered(select(_T.id), shape).where(condition)
                                               .limit(COUNT_CAP + 1).subquery()).scalar_subquery()
              for condition in _streams(shape)]
    total: ColumnElement[int] = counts[0]
    for count in counts[1:]:
        total = total + count
    return total


@functools.lru_cache(maxsize=256)
def _count_statement(shape: _Shape) -> Select[Any]:
    return select(_count_of(shape))


@functools.lru_cache(maxsize=256)
def _rows_statement(shape: _Shape) -> Select[Any]:
    """The page's task rows with their deployments, and the total beside them."""
    return (select(_T, InstanceModel.deployment_id, _count_of(shape))
            .join(InstanceModel, InstanceModel.id == _T.instance_id)
            .where(_T.id.in_(bindparam("ids", expanding=True))))


def _count(session: Session, shape: _Shape, values: dict[str, Any]) -> tuple[int, bool]:
    """The streams' total, capped at COUNT_CAP, and whether there are more."""
    total = session.scalar(_count_statement(shape), values) or 0 if _has_streams(shape) else 0
    return min(total, COUNT_CAP), total > COUNT_CAP


def _has_streams(shape: _Shape) -> bool:
    return shape.roles > 0 or shape.scope in ("mine", "all")


def _deployed_user_tasks(rt: Runtime, session: Session) -> list[tuple[str, str, str, str | None]]:
    """(process key, task key, task name, role) of every user task of every deployed process version,
    called processes' tasks under the calling process (as their task rows are); from the parsed specs the
    runtime keeps per deployment (deployments never change), so no query over tasks and no parsing per page."""
    result = []
    for (deployment_id,) in session.execute(select(ProcessDefinitionModel.deployment_id).distinct()):
        if deployment_id not in rt.deployment_user_tasks:
            parsed = rt.specs.get(session, deployment_id)
            rt.deployment_user_tasks[deployment_id] = [
                (process.key, spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, lane_role(spec.lane))
                for process in parsed.processes.values()
                for tree in (process.spec, *process.subprocess_specs.values())
                for spec in tree.task_specs.values() if spec.manual]  # what the engine makes task rows of
        result.extend(rt.deployment_user_tasks[deployment_id])
    return result


def _choices(
    rt: Runtime, session: Session, actor: Actor, scope: str, team: frozenset[str]
) -> list[tuple[str, str, str]]:
    """The process/task pairs the scope can hold: the deployed user tasks of its roles, and the actor's own."""
    roles = set(team) if scope == "team" else set() if scope == "mine" else set(actor.roles)
    found: dict[tuple[str, str], str] = {}
    if roles:
        for process_key, task_key, name, role in _deployed_user_tasks(rt, session):
            if role in roles:
                found.setdefault((process_key, task_key), name)
    if scope in ("mine", "all"):
        own = (select(_T.process_key, _T.task_key, func.min(_T.task_name))
               .where(_IS_OPEN, _T.assignee == actor.username).group_by(_T.process_key, _T.task_key))
        for process_key, task_key, name in session.execute(own):
            found.setdefault((process_key, task_key), name)
    return sorted((p, t, n) for (p, t), n in found.items())


def query_inbox(rt: Runtime, actor: Actor, wanted: InboxFilter, *, with_counts: bool = False) -> InboxResult:
    """The actor's inbox page."""
    team = team_roles(rt, actor)
    shape, values = _shape(actor, wanted, wanted.scope, team)
    with rt.uow(read_only=True) as uow:
        session = uow.session
        ids = _page_ids(session, shape, values, wanted) if _has_streams(shape) else []
        if ids:  # the page's rows and the total in one statement
            found = session.execute(_rows_statement(shape), {**values, "ids": ids}).all()
            by_id = {task.id: (task, deployment) for task, deployment, _total in found}
            counted = found[0][2] if found else 0
            total, capped = min(counted, COUNT_CAP), counted > COUNT_CAP
        else:
            by_id = {}
            total, capped = _count(session, shape, values)
        result = InboxResult([by_id[i] for i in ids if i in by_id], total, capped)
        if with_counts:
            unfiltered = InboxFilter()
            result.counts = {scope: _count(session, *_shape(actor, unfiltered, scope, team))[0]
                             for scope in ("mine", "role", "team") if scope != "team" or team}
            result.choices = _choices(rt, session, actor, wanted.scope, team)
    return result
