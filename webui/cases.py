"""The case page: status, current steps and who holds them, data (masked by role), timeline, diagram and
uploaded documents; the presentation of a case lives in case_text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import ForbiddenError, NotFoundError
from engine.workflow import Actor
from services.case_page import CaseFile, case_diagram, case_document, case_page
from services.errors import DocumentsClosedError, NoDocumentError

from .auth import acting, role_label
from .case_sections import Section, case_sections, entered_fields, form_sections
from .case_text import (
    PASSED_EVENTS,
    STATUS_LABELS,
    HistoryLine,
    Labels,
    labels_of,
    localtime,
    masked,
    node_history,
    process_label,
)
from .case_timeline import task_roles, timeline
from .context import runtime
from .diagram_texts import drawn, lang_arg
from .masking import shows_clear

bp = Blueprint("cases", __name__)

def now_utc() -> datetime:
    """The engine's clock (so that 'overdue' means the same everywhere)."""
    return runtime().clock()


bp.add_app_template_filter(localtime, "localtime")
bp.add_app_template_global(now_utc, "now_utc")
bp.add_app_template_global(process_label, "process_label")

@dataclass
class CaseView:
    """A case as the case page and the task page show it."""

    id: int
    process_key: str
    process: str
    business_key: str | None
    status: str
    status_label: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    open_steps: list[tuple[str, str]]  # (step, who holds it)
    sections: list[Section]  # the case data as a case file (internal values left out)
    history: list[HistoryLine]
    deployment_id: int
    diagram_file: str
    labels: Labels
    done: list[str]  # diagram elements the case has passed
    active: list[str]  # diagram elements it waits at
    # What holds the case that no person's step shows: open incidents (their error) and calls out of the
    # house still waiting for an answer (a payment the bank has not answered yet).
    incidents: list[str] = field(default_factory=list)
    calls_out: list[str] = field(default_factory=list)
    clear: bool = False  # personal fields shown in clear (engine/workflow/access.py: the actor holds a task of it now)


def case_view(file: CaseFile, actor: Actor, lang: str, recent: int | None = None) -> CaseView:
    """A case put into words for the case page and the task page, masked by the actor's roles."""
    clear = shows_clear(actor.roles, file.holder)
    events = list(file.events)
    active = sorted({s.task_key for s in file.open_steps} | set(file.waits))
    # Every element the workflow completed (scripts, rule tables and gateways too), and those the history
    # names (a step a loop has since reset is still a step taken).
    done = sorted((set(file.passed) | {e["task"] for e in events if e.get("task") and e["type"] in PASSED_EVENTS})
                  - set(active))
    labels = labels_of(file.parsed, file.process_key, lang)
    steps = [(labels.tasks.get(s.task_key, s.name), s.assignee or _("anyone with the role %(role)s",
                                                                    role=role_label(s.role)))
             for s in file.open_steps]
    lines = timeline(events, labels, clear, file.process_key, dict(file.people),
                     task_roles(file.parsed, file.process_key))
    return CaseView(
        file.id, file.process_key, process_label(file.process_key, file.process_name), file.business_key,
        file.status, str(STATUS_LABELS.get(file.status, file.status)), file.started_by, file.started_at,
        file.ended_at, steps,
        case_sections(masked(dict(file.data), clear), labels, form_sections(file.parsed, file.process_key),
                      file.process_key, lang, entered_fields(events)), lines[:recent] if recent else lines,
        file.deployment_id, file.diagram_file, labels, done, active, list(file.incidents),
        [labels.tasks.get(k, k) for k in file.calls_out], clear)


def _case_or_abort(instance_id: int) -> CaseFile:
    try:
        return case_page(runtime(), acting(), instance_id)
    except NotFoundError:
        abort(404, _("There is no case %(id)s.", id=instance_id))
    except ForbiddenError:
        abort(403, _("You have no part in case %(id)s.", id=instance_id))


@bp.get("/cases/<int:instance_id>")
@login_required
def case(instance_id: int) -> ResponseReturnValue:
    """A case: status, current steps and who holds them, data (masked by role), timeline, diagram."""
    file = _case_or_abort(instance_id)
    view = case_view(file, acting(), str(get_locale()))
    diagram = None
    if view.diagram_file and current_app.config.get("CASE_DIAGRAM", True):
        diagram = {"url": url_for("cases.diagram_xml", instance_id=instance_id, **lang_arg()), "done": view.done,
                   "active": view.active, "history": node_history(view.history)}
    documents = list(file.documents) if file.documents is not None else None
    return render_template("cases/case.html", case=view, diagram=diagram, documents=documents)


@bp.get("/cases/<int:instance_id>/documents/<int:document_id>")
@login_required
def document(instance_id: int, document_id: int) -> ResponseReturnValue:
    """A document of the case, decrypted, as a download — for the roles working on claims and auditors."""
    try:
        info, content = case_document(runtime(), acting(), instance_id, document_id)
    except NoDocumentError:
        abort(404, _("This case has no document %(id)s.", id=document_id))
    except DocumentsClosedError:
        abort(403, _("Your role may not open the documents of this case."))
    except NotFoundError:
        abort(404, _("There is no case %(id)s.", id=instance_id))
    except ForbiddenError:
        abort(403, _("You have no part in case %(id)s.", id=instance_id))
    response = Response(content, mimetype=info.content_type)
    # Always a download, never rendered by the browser: the bytes are what a customer sent in.
    response.headers.set("Content-Disposition", "attachment", filename=info.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cases/<int:instance_id>/diagram.xml")
@login_required
def diagram_xml(instance_id: int) -> ResponseReturnValue:
    """The exact BPMN file the case runs on (its pinned deployment), its names in `?lang=` when asked."""
    try:
        found = case_diagram(runtime(), acting(), instance_id)
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    return Response(drawn(found.parsed, found.name, found.content), mimetype="application/xml",
                    headers={"Cache-Control": "private, max-age=3600"})
