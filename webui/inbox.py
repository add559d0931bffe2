"""The inbox: tasks assigned to me, open for my roles, and (for managers) my team's; filters, sorting,
paging; claim, release and reassign."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from engine import task_service
from engine.authorization import can_assign
from engine.errors import ConflictError, EngineError, ForbiddenError, NotFoundError
from engine.inbox import COUNT_CAP, InboxFilter, query_inbox, team_roles
from engine.models import UserModel, UserRoleModel
from tasks.common import BUSINESS_TZ

from .auth import acting, safe_next
from .case_text import process_label
from .context import runtime
from .diagram_texts import names_in_latest

bp = Blueprint("inbox", __name__)

PAGE_SIZE = 20
SCOPES = ("mine", "role", "team")
SORTS = ("due", "priority")
DUE_FILTERS = ("", "overdue", "today")


@dataclass
class TaskRow:
    """One task line of the inbox."""

    id: int
    instance_id: int
    process: str
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
    colleagues: list[str]


def _local_day_end(now: datetime) -> datetime:
    local = now.astimezone(BUSINESS_TZ)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(now.tzinfo)


def _colleagues(session: Any, roles: set[str]) -> dict[str, list[str]]:
    if not roles:
        return {}
    rows = session.execute(select(UserRoleModel.role, UserModel.username).join(
        UserModel, UserModel.id == UserRoleModel.user_id).where(
        UserRoleModel.role.in_(sorted(roles)), UserModel.active.is_(True)).order_by(UserModel.username))
    found: dict[str, list[str]] = {}
    for role, username in rows:
        found.setdefault(role, []).append(username)
    return found


def _arg(name: str, allowed: tuple[str, ...] | None = None) -> str:
    value = request.args.get(name, "")
    return value if allowed is None or value in allowed else (allowed[0] if allowed else "")


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The signed-in user's inbox."""
    actor, rt = acting(), runtime()
    lang = str(get_locale())
    team = team_roles(rt, actor)
    scope = _arg("scope", SCOPES)
    if scope == "team" and not team:
        scope = "mine"
    process, task, due, sort = _arg("process"), _arg("task"), _arg("due", DUE_FILTERS), _arg("sort", SORTS)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    now = rt.clock()
    due_before = {"overdue": now, "today": _local_day_end(now)}.get(due)
    wanted = InboxFilter(scope=scope, process_key=process or None, task_key=task or None, due_before=due_before,
                         sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    result = query_inbox(rt, actor, wanted, with_counts=True)
    if "scope" not in request.args and not result.counts["mine"] and result.counts["role"]:
        wanted = replace(wanted, scope="role")  # nothing assigned yet: show what may be taken
        scope = "role"
        result = query_inbox(rt, actor, wanted, with_counts=True)
    counts, choices, total, found = result.counts, result.choices, result.total, result.rows
    with rt.uow() as uow:
        session = uow.session
        assignable = {row.candidate_role for row, _d in found if row.candidate_role and can_assign(
            row, actor, rt.settings)}
        colleagues = _colleagues(session, assignable)
        names: dict[str, str] = {}
        rows = []
        for row, deployment_id in found:
            label = rt.specs.get(session, deployment_id).name_in(lang, row.process_key, row.task_key) or row.task_name
            names[row.task_key] = label
            manager = row.candidate_role in assignable
            rows.append(TaskRow(
                row.id, row.instance_id, process_label(row.process_key), row.business_key, label, row.candidate_role,
                row.assignee, row.priority, row.created_at, row.due_at, bool(row.due_at and row.due_at < now),
                row.assignee is None and row.candidate_role in actor.roles,
                row.assignee is not None and row.candidate_role is not None and (
                    row.assignee == actor.username or manager),
                [u for u in colleagues.get(row.candidate_role or "", []) if u != row.assignee] if manager else []))
    processes = sorted({p for p, _t, _n in choices})
    shown = [(p, t, n) for p, t, n in choices if not process or p == process]
    names.update({t: n for (_p, t), n in names_in_latest(rt, lang, [(p, t) for p, t, _n in shown
                                                                    if t not in names]).items()})
    tasks = [(t, names.get(t) or n) for _p, t, n in shown]
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render_template(
        "inbox/index.html", rows=rows, counts=counts, scope=scope, process=process, task=task, due=due, sort=sort,
        page=page, pages=pages, total=total, capped=result.capped, count_cap=COUNT_CAP, processes=processes,
        tasks=tasks)


def _change(task_id: int, action: str) -> ResponseReturnValue:
    actor, rt = acting(), runtime()
    try:
        if action == "claim":
            task_service.claim(rt, task_id, actor)
            flash(_("The task is yours now."), "success")
            return redirect(url_for("task_pages.show", task_id=task_id))  # taking a task is to work on it
        elif action == "release":
            task_service.release(rt, task_id, actor)
            flash(_("The task is back in the pool of its role."), "success")
        else:
            colleague = request.form.get("to", "").strip()
            task_service.assign(rt, task_id, actor, colleague)
            flash(_("The task is assigned to %(name)s.", name=colleague), "success")
    except ConflictError as exc:
        flash(_("This task has changed meanwhile: %(reason)s", reason=exc.message), "warning")
    except (ForbiddenError, NotFoundError) as exc:
        flash(_("Not allowed: %(reason)s", reason=exc.message), "danger")
    except EngineError as exc:
        flash(exc.message, "danger")
    return redirect(safe_next(request.form.get("next") or url_for("inbox.index")))


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> ResponseReturnValue:
    """Take a task from the role's pool."""
    return _change(task_id, "claim")


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int) -> ResponseReturnValue:
    """Give a task back to the role's pool."""
    return _change(task_id, "release")


@bp.post("/tasks/<int:task_id>/assign")
@login_required
def assign(task_id: int) -> ResponseReturnValue:
    """Hand a task to a named colleague (managers)."""
    return _change(task_id, "assign")
