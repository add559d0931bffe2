"""The inbox: tasks assigned to me, open for my roles, and (for managers) my team's; filters, sorting,
paging; claim, release and reassign."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import ConflictError, EngineError, ForbiddenError, NotFoundError
from engine.workflow import COUNT_CAP
from services.human_tasks import assign_task, claim_task, release_task
from services.inbox import DUE_FILTERS, SCOPES, SORTS, InboxQuery, inbox_page

from .auth import acting, safe_next
from .context import runtime

bp = Blueprint("inbox", __name__)


def _arg(name: str, allowed: tuple[str, ...] | None = None) -> str:
    value = request.args.get(name, "")
    return value if allowed is None or value in allowed else (allowed[0] if allowed else "")


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The signed-in user's inbox."""
    process, task, due, sort = _arg("process"), _arg("task"), _arg("due", DUE_FILTERS), _arg("sort", SORTS)
    view = inbox_page(runtime(), acting(), str(get_locale()), InboxQuery(
        scope=_arg("scope", SCOPES) if "scope" in request.args else None, process=process, task=task, due=due,
        sort=sort, page=request.args.get("page", 1, type=int) or 1))
    return render_template(
        "inbox/index.html", rows=view.lines, counts=view.counts, scope=view.scope, process=process, task=task, due=due,
        sort=sort, page=view.page, pages=view.pages, total=view.total, capped=view.capped, count_cap=COUNT_CAP,
        processes=list(view.processes), tasks=list(view.tasks))


def _change(task_id: int, action: str) -> ResponseReturnValue:
    actor, rt = acting(), runtime()
    try:
        if action == "claim":
            claim_task(rt, actor, task_id)
            flash(_("The task is yours now."), "success")
            return redirect(url_for("task_pages.show", task_id=task_id))  # taking a task is to work on it
        elif action == "release":
            release_task(rt, actor, task_id)
            flash(_("The task is back in the pool of its role."), "success")
        else:
            colleague = request.form.get("to", "").strip()
            assign_task(rt, actor, task_id, colleague)
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
