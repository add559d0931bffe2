"""The inbox: tasks assigned to me, open for my roles and (for managers) my team's, filtered, sorted and paged;
each line says whether the person may take it, give it back or hand it to a colleague."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import Actor, InboxFilter, Runtime, can_assign, query_inbox, team_roles
from engine.workflow.models import UserModel, UserRoleModel
from tasks.common import BUSINESS_TZ

from .step_names import step_names

PAGE_SIZE = 20
SCOPES = ("mine", "role", "team")
SORTS = ("due", "priority")
DUE_FILTERS = ("", "overdue", "today")


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox is asked for; `scope` None: the person's own tasks, else those open to their roles."""

    scope: str | None = None
    process: str = ""
    task: str = ""
    due: str = ""
    sort: str = "due"
    page: int = 1


@dataclass(frozen=True)
class InboxLine:
    """One task of the inbox."""

    id: int
    instance_id: int
    process_key: str
    business_key: str | None
    title: str
    role: str | None
    assignee: str | None
    priority: int
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    can_claim: bool
    can_release: bool
    colleagues: tuple[str, ...]  # whom a manager may hand it to


@dataclass(frozen=True)
class InboxView:
    """A page of the inbox, its counts per scope and the choices of its filters."""

    scope: str
    page: int
    pages: int
    total: int
    capped: bool
    counts: dict[str, int]
    lines: tuple[InboxLine, ...]
    processes: tuple[str, ...]
    tasks: tuple[tuple[str, str], ...]  # (task key, name) of the steps the filter offers


def _local_day_end(now: datetime) -> datetime:
    local = now.astimezone(BUSINESS_TZ)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(now.tzinfo)


def _colleagues(session: Session, roles: set[str]) -> dict[str, list[str]]:
    if not roles:
        return {}
    rows = session.execute(select(UserRoleModel.role, UserModel.username).join(
        UserModel, UserModel.id == UserRoleModel.user_id).where(
        UserRoleModel.role.in_(sorted(roles)), UserModel.active.is_(True)).order_by(UserModel.username))
    found: dict[str, list[str]] = {}
    for role, username in rows:
        found.setdefault(role, []).append(username)
    return found


def inbox_page(rt: Runtime, actor: Actor, lang: str, query: InboxQuery) -> InboxView:
    """The actor's inbox page, its steps named in the language."""
    scope = query.scope if query.scope in SCOPES else "mine"
    if scope == "team" and not team_roles(rt, actor):
        scope = "mine"
    page = max(1, query.page)
    now = rt.clock()
    wanted = InboxFilter(scope=scope, process_key=query.process or None, task_key=query.task or None,
                         due_before={"overdue": now, "today": _local_day_end(now)}.get(query.due),
                         sort=query.sort if query.sort in SORTS else SORTS[0], limit=PAGE_SIZE,
                         offset=(page - 1) * PAGE_SIZE)
    result = query_inbox(rt, actor, wanted, with_counts=True)
    if query.scope is None and not result.counts["mine"] and result.counts["role"]:
        wanted = replace(wanted, scope="role")  # nothing assigned yet: show what may be taken
        scope = "role"
        result = query_inbox(rt, actor, wanted, with_counts=True)
    found = result.rows
    with rt.uow(read_only=True) as uow:
        session = uow.session
        assignable = {row.candidate_role for row, _d in found if row.candidate_role and can_assign(
            row, actor, rt.settings)}
        colleagues = _colleagues(session, assignable)
        names: dict[str, str] = {}
        lines = []
        for row, deployment_id in found:
            label = rt.specs.get(session, deployment_id).name_in(lang, row.process_key, row.task_key) or row.task_name
            names[row.task_key] = label
            manager = row.candidate_role in assignable
            lines.append(InboxLine(
                row.id, row.instance_id, row.process_key, row.business_key, label, row.candidate_role,
                row.assignee, row.priority, row.created_at, row.due_at, bool(row.due_at and row.due_at < now),
                row.assignee is None and row.candidate_role in actor.roles,
                row.assignee is not None and row.candidate_role is not None and (
                    row.assignee == actor.username or manager),
                tuple(u for u in colleagues.get(row.candidate_role or "", []) if u != row.assignee)
                if manager else ()))
    shown = [(p, t, n) for p, t, n in result.choices if not query.process or p == query.process]
    names.update({t: n for (_p, t), n in step_names(rt, lang, [(p, t) for p, t, _n in shown
                                                               if t not in names]).items()})
    return InboxView(scope, page, max(1, (result.total + PAGE_SIZE - 1) // PAGE_SIZE), result.total, result.capped,
                     dict(result.counts), tuple(lines), tuple(sorted({p for p, _t, _n in result.choices})),
                     tuple((t, names.get(t) or n) for _p, t, n in shown))
