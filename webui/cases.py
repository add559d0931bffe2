"""The case page: status, current steps and who holds them, data (masked by role), timeline, diagram and
uploaded documents; the presentation of a case lives in case_text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from engine import instances
from engine.deployments import deployed_file
from engine.errors import ForbiddenError, NotFoundError
from engine.identity import Actor
from engine.models import (
    EffectModel,
    HumanTaskModel,
    IncidentModel,
    InstanceModel,
    ProcessDefinitionModel,
    UserModel,
    WaitModel,
)
from engine.runtime import Runtime
from tasks.documents import DocumentInfo, case_documents, may_open_documents, open_document

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
    clear: bool = False  # personal fields shown in clear (engine/access.py: the actor holds a task of it now)


def build_case(rt: Runtime, actor: Actor, instance_id: int, lang: str, data: dict[str, Any] | None = None,
               recent: int | None = None, holder: bool = False) -> CaseView:
    """Everything shown about a case; the engine checks that the actor may read it. `data` (a task's) comes
    with `holder`: whether the engine found the actor holding a task of the case."""
    # History keeps personal fields encrypted: opened here, then masked by role like the case data.
    events = [{**e, "payload": rt.reveal(e["type"], e["payload"])}
              for e in instances.instance_history(rt, instance_id, actor)]
    passed: tuple[str, ...] = ()
    if data is None:
        summary = instances.show_instance(rt, instance_id, actor)
        data, holder, passed = summary.data, summary.clear, summary.passed
    clear = shows_clear(actor.roles, holder)
    with rt.uow() as uow:
        session = uow.session
        instance = session.get(InstanceModel, instance_id)
        if instance is None:
            raise NotFoundError(f"no instance {instance_id}")
        definition = session.get(ProcessDefinitionModel, instance.definition_id)
        parsed = rt.specs.get(session, instance.deployment_id)
        tasks = list(session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open").order_by(HumanTaskModel.id)))
        waits = session.scalars(select(WaitModel.task_key).where(
            WaitModel.instance_id == instance_id, WaitModel.status == "pending"))
        active = sorted({t.task_key for t in tasks} | set(waits))
        # Every element the workflow completed (scripts, rule tables and gateways too), and those the history
        # names (a step a loop has since reset is still a step taken).
        done = sorted((set(passed) | {e["task"] for e in events if e.get("task") and e["type"] in PASSED_EVENTS})
                      - set(active))
        labels = labels_of(parsed, instance.process_key, lang)
        steps = [(labels.tasks.get(t.task_key, t.task_name), t.assignee or _("anyone with the role %(role)s",
                                                                               role=role_label(t.candidate_role)))
                 for t in tasks]
        actors = {e["actor"] for e in events if e.get("actor")}
        people = {name: shown for name, shown in session.execute(select(
            UserModel.username, UserModel.display_name).where(UserModel.username.in_(actors)))} if actors else {}
        lines = timeline(events, labels, clear, instance.process_key, people,
                         task_roles(parsed, instance.process_key))
        incidents = list(session.scalars(select(IncidentModel.error).where(
            IncidentModel.instance_id == instance_id, IncidentModel.status == "open").order_by(IncidentModel.id)))
        calls_out = [labels.tasks.get(e.task_key, e.task_key) for e in session.scalars(select(EffectModel).where(
            EffectModel.instance_id == instance_id, EffectModel.status == "open").order_by(EffectModel.id))]
        return CaseView(
            instance.id, instance.process_key, process_label(instance.process_key, definition.name if definition
                                                             else ""),
            instance.business_key, instance.status, str(STATUS_LABELS.get(instance.status, instance.status)),
            instance.started_by, instance.started_at, instance.ended_at, steps,
            case_sections(masked(data or {}, clear), labels, form_sections(parsed, instance.process_key),
                          instance.process_key, lang, entered_fields(events)), lines[:recent] if recent else lines,
            instance.deployment_id, definition.file_name if definition else "", labels, done, active,
            incidents, calls_out, clear)


def _case_or_abort(instance_id: int) -> CaseView:
    try:
        return build_case(runtime(), acting(), instance_id, str(get_locale()))
    except NotFoundError:
        abort(404, _("There is no case %(id)s.", id=instance_id))
    except ForbiddenError:
        abort(403, _("You have no part in case %(id)s.", id=instance_id))


@bp.get("/cases/<int:instance_id>")
@login_required
def case(instance_id: int) -> ResponseReturnValue:
    """A case: status, current steps and who holds them, data (masked by role), timeline, diagram."""
    view = _case_or_abort(instance_id)
    diagram = None
    if view.diagram_file and current_app.config.get("CASE_DIAGRAM", True):
        diagram = {"url": url_for("cases.diagram_xml", instance_id=instance_id, **lang_arg()), "done": view.done,
                   "active": view.active, "history": node_history(view.history)}
    return render_template("cases/case.html", case=view, diagram=diagram,
                           documents=documents_for(runtime(), acting(), instance_id))


def _may_open_documents(session: Any, actor: Actor, instance_id: int) -> bool:
    held = session.scalar(select(HumanTaskModel.id).where(
        HumanTaskModel.instance_id == instance_id,
        (HumanTaskModel.assignee == actor.username) | (HumanTaskModel.completed_by == actor.username)).limit(1))
    return may_open_documents(actor.roles, held is not None)


def documents_for(rt: Runtime, actor: Actor, instance_id: int) -> list[DocumentInfo] | None:
    """The files uploaded for a case the actor may read, or None when their role may not open them."""
    with rt.uow(read_only=True) as uow:
        if not _may_open_documents(uow.session, actor, instance_id):
            return None
        return case_documents(uow.session, instance_id)


@bp.get("/cases/<int:instance_id>/documents/<int:document_id>")
@login_required
def document(instance_id: int, document_id: int) -> ResponseReturnValue:
    """A document of the case, decrypted, as a download — for the roles working on claims and auditors."""
    rt, actor = runtime(), acting()
    try:
        instances.instance_history(rt, instance_id, actor)  # the engine's check that the user may read the case
    except NotFoundError:
        abort(404, _("There is no case %(id)s.", id=instance_id))
    except ForbiddenError:
        abort(403, _("You have no part in case %(id)s.", id=instance_id))
    with rt.uow(read_only=True) as uow:
        if not _may_open_documents(uow.session, actor, instance_id):
            abort(403, _("Your role may not open the documents of this case."))
        try:
            info, content = open_document(uow.session, rt.services.cipher, instance_id, document_id)
        except LookupError:
            abort(404, _("This case has no document %(id)s.", id=document_id))
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
    rt = runtime()
    try:
        instances.instance_history(rt, instance_id, acting())  # the engine's check that the user may read it
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)
    with rt.uow() as uow:
        instance = uow.session.get(InstanceModel, instance_id)
        definition = uow.session.get(ProcessDefinitionModel, instance.definition_id) if instance else None
        if instance is None or definition is None:
            abort(404)
        deployment_id, name = instance.deployment_id, definition.file_name
    return Response(drawn(rt, deployment_id, name, deployed_file(rt, deployment_id, name)), mimetype="application/xml",
                    headers={"Cache-Control": "private, max-age=3600"})
