"""Start pages: a new sales lead, a new claim (first notice of loss), a surrender request — each starts
its process and goes straight to the first task."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import login_required

from engine.errors import EngineError, ForbiddenError, NotFoundError
from engine.workflow import Actor, instances
from services.human_tasks import claim_task

from .auth import acting
from .context import current_actor, runtime

bp = Blueprint("start", __name__)


@dataclass(frozen=True)
class StartPage:
    """A kind of work a role may start."""

    process: str
    title: LazyString
    text: LazyString
    role: str


START_PAGES = (
    StartPage("sales", _l("New sales lead"),
              _l("Register a prospective customer, analyse their needs and present a product and quote."), "agent"),
    StartPage("claims", _l("New claim (first notice of loss)"),
              _l("Record a claim as the claimant reports it: policy, incident, amount, documents, payee account."),
              "claims_clerk"),
    StartPage("policy_termination", _l("Surrender request"),
              _l("Record a policyholder's request to surrender or cancel a policy."), "agent"),
)


def startable(actor: Actor) -> list[StartPage]:
    """The start pages of the actor's roles."""
    return [page for page in START_PAGES if page.role in actor.roles]


@bp.app_context_processor
def _start_links() -> dict[str, Any]:
    actor = None if request.path.startswith("/static/") else current_actor()
    return {"start_pages": startable(actor) if actor else []}


def _page(process: str, actor: Actor) -> StartPage:
    page = next((p for p in START_PAGES if p.process == process), None)
    if page is None:
        abort(404, _("There is no start page for %(process)s.", process=process))
    if page.role not in actor.roles:
        abort(403, _("Your roles do not start this kind of work."))
    return page


@bp.get("/start")
@login_required
def index() -> ResponseReturnValue:
    """What the signed-in user may start."""
    return render_template("start/index.html", pages=startable(acting()))


@bp.get("/start/<process>")
@login_required
def page(process: str) -> ResponseReturnValue:
    """One start page."""
    return render_template("start/index.html", pages=[_page(process, acting())])


@bp.post("/start/<process>")
@login_required
def start(process: str) -> ResponseReturnValue:
    """Start the process and open its first task, taken by the one who started it."""
    actor, rt = acting(), runtime()
    _page(process, actor)
    try:
        summary = instances.start_instance(rt, process, {}, actor)
    except (ForbiddenError, NotFoundError) as exc:
        abort(403 if isinstance(exc, ForbiddenError) else 404, exc.message)
    first = next((t for t in summary.open_tasks if t["assignee"] == actor.username
                  or (t["assignee"] is None and t["role"] in actor.roles)), None)
    if first is None:
        flash(_("Started. The case waits for someone else now."), "info")
        return redirect(url_for("cases.case", instance_id=summary.id))
    if first["assignee"] is None:
        with suppress(EngineError):  # if someone was quicker, the task page says who holds it
            claim_task(rt, actor, first["id"])
    return redirect(url_for("task_pages.show", task_id=first["id"]))
