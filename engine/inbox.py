"""Inbox queries: open tasks assigned to someone, open to their roles, or (for managers) their team's —
with filters, sorting, counts per scope and paging. One indexed query each, no deserialization."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select

from .identity import Actor
from .models import HumanTaskModel, InstanceModel
from .runtime import Runtime

SCOPES = ("mine", "role", "team", "all")


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
    """A page of tasks (each with its instance's deployment), the total, counts per scope and the
    process/task pairs present in the chosen scope (for filter menus)."""

    rows: list[tuple[HumanTaskModel, int]]
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    choices: list[tuple[str, str, str]] = field(default_factory=list)


def team_roles(rt: Runtime, actor: Actor) -> frozenset[str]:
    """The candidate roles whose tasks the actor may hand to others."""
    return frozenset().union(*(rt.settings.assign_rights.get(role, frozenset()) for role in actor.roles))


def scope_clause(actor: Actor, scope: str, team: frozenset[str]) -> ColumnElement[bool]:
    """Which open tasks a scope covers: assigned to me, unassigned for my roles, my team's, or mine + role."""
    mine = HumanTaskModel.assignee == actor.username
    pool = and_(HumanTaskModel.assignee.is_(None), HumanTaskModel.candidate_role.in_(sorted(actor.roles)))
    if scope == "mine":
        return mine
    if scope == "role":
        return pool
    if scope == "team":
        return HumanTaskModel.candidate_role.in_(sorted(team)) if team else false()
    return or_(mine, pool)


def query_inbox(rt: Runtime, actor: Actor, wanted: InboxFilter, *, with_counts: bool = False) -> InboxResult:
    """The actor's inbox page."""
    team = team_roles(rt, actor)
    open_ = HumanTaskModel.status == "open"
    where = scope_clause(actor, wanted.scope, team)
    query: Any = select(HumanTaskModel, InstanceModel.deployment_id).join(
        InstanceModel, InstanceModel.id == HumanTaskModel.instance_id).where(open_, where)
    if wanted.process_key:
        query = query.where(HumanTaskModel.process_key == wanted.process_key)
    if wanted.task_key:
        query = query.where(HumanTaskModel.task_key == wanted.task_key)
    if wanted.due_before is not None:
        query = query.where(HumanTaskModel.due_at < wanted.due_before)
    due_last = HumanTaskModel.due_at.is_(None)
    order = ((HumanTaskModel.priority.desc(), due_last, HumanTaskModel.due_at) if wanted.sort == "priority"
             else (due_last, HumanTaskModel.due_at, HumanTaskModel.priority.desc()))
    with rt.uow(read_only=True) as uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = [(task, deployment) for task, deployment in session.execute(
            query.order_by(*order, HumanTaskModel.id).limit(wanted.limit).offset(wanted.offset))]
        result = InboxResult(rows, total)
        if with_counts:
            result.counts = {
                scope: session.scalar(select(func.count(HumanTaskModel.id)).where(
                    open_, scope_clause(actor, scope, team))) or 0
                for scope in ("mine", "role", "team") if scope != "team" or team}
            result.choices = [tuple(row) for row in session.execute(
                select(HumanTaskModel.process_key, HumanTaskModel.task_key, func.min(HumanTaskModel.task_name))
                .where(open_, where).group_by(HumanTaskModel.process_key, HumanTaskModel.task_key)
                .order_by(HumanTaskModel.process_key, HumanTaskModel.task_key))]
    return result
