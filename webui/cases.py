"""The case page, and how a case is shown anywhere: its data masked by role with the forms' labels,
its timeline, its open steps, dates in the insurer's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from engine import instances
from engine.decisions import describe as describe_decision
from engine.deployments import deployed_file
from engine.errors import ForbiddenError, NotFoundError
from engine.identity import Actor
from engine.models import EffectModel, HumanTaskModel, IncidentModel, InstanceModel, ProcessDefinitionModel, WaitModel
from engine.parsing import ParsedDeployment
from engine.runtime import Runtime
from tasks.common import BUSINESS_TZ
from tasks.documents import DocumentInfo, case_documents, may_open_documents, open_document

from .auth import acting, role_label
from .context import runtime
from .forms_render import enum_options, title
from .masking import mask, shows_clear

bp = Blueprint("cases", __name__)

PROCESS_LABELS = {"sales": _l("Sales"), "claims": _l("Claims"), "underwriting": _l("Underwriting"),
                  "policy_termination": _l("Policy termination")}
STATUS_LABELS = {"running": _l("Running"), "waiting": _l("Waiting"), "completed": _l("Completed"),
                 "incident": _l("Incident"), "terminated": _l("Terminated")}
EVENT_LABELS = {
    "instance_started": _l("Case started"), "task_completed": _l("Completed"), "task_claimed": _l("Claimed"),
    "task_released": _l("Released"), "task_assigned": _l("Assigned"), "handler_executed": _l("System step"),
    "timer_fired": _l("Timer fired"), "message_delivered": _l("Message received"), "message_sent": _l("Message sent"),
    "incident_raised": _l("Incident"), "incident_retried": _l("Incident retried"),
    "incident_resolved": _l("Incident resolved"), "incident_failed_again": _l("Incident failed again"),
    "instance_completed": _l("Case completed"), "instance_migrated": _l("Moved to a new version"),
    "effect_intended": _l("Payment instruction recorded"), "effect_settled": _l("Bank's answer recorded"),
    "decision_evaluated": _l("Rule table decided"), "signal_received": _l("Signal received"),
    "record_changed": _l("Record changed"),
}
HISTORY_DETAIL_ITEMS = 8
# The one payload item worth a line for these events: (label, payload key).
DETAIL_OF = {"task_assigned": (_l("to"), "to"), "handler_executed": (_l("operation"), "operator"),
             "effect_intended": (_l("operation"), "operator"), "effect_settled": (_l("operation"), "operator"),
             "message_delivered": (_l("message"), "name"), "message_sent": (_l("message"), "name"),
             "incident_raised": (_l("error"), "error"), "record_changed": (_l("reason"), "reason")}
SYSTEM_EVENTS = frozenset({"handler_executed", "effect_intended", "effect_settled", "decision_evaluated", "timer_fired",
                           "incident_raised", "instance_completed"})
# Events that mean the case went through the element named by the event's task key.
PASSED_EVENTS = frozenset({"task_completed", "handler_executed", "effect_settled", "decision_evaluated", "timer_fired",
                           "message_delivered"})


def process_label(key: str, fallback: str = "") -> str:
    """A process's name in the user's language."""
    return str(PROCESS_LABELS.get(key, fallback or key))


def localtime(value: datetime | str | None) -> str:
    """A moment as the insurer's local date and time."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


def now_utc() -> datetime:
    """The engine's clock (so that 'overdue' means the same everywhere)."""
    return runtime().clock()


bp.add_app_template_filter(localtime, "localtime")
bp.add_app_template_global(now_utc, "now_utc")
bp.add_app_template_global(process_label, "process_label")


def masked(data: Any, clear: bool) -> Any:
    """Process data with personal fields masked unless shown in clear (nested too)."""
    return mask(data, clear)


@dataclass
class Labels:
    """Field and choice labels in the user's language, from every form of a deployment."""

    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)
    # Choice codes are the same across forms (documents, regions…): a label for a code outside its form.
    any_choice: dict[str, str] = field(default_factory=dict)

    def field(self, key: str) -> str:
        """The label of a data field."""
        return self.fields.get(key) or key.replace("_", " ").capitalize()

    def value(self, key: str, value: Any) -> str:
        """A value as the user reads it."""
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if value is None or value == "":
            return "—"
        if isinstance(value, list):
            return ", ".join(self.value(key, v) for v in value) or "—"
        text = str(value)
        return self.choices.get(key, {}).get(text) or self.any_choice.get(text, text)


def labels_of(parsed: ParsedDeployment, process_key: str, lang: str) -> Labels:
    """The labels of a deployment's forms and task names."""
    labels = Labels()
    for schema in parsed.forms.values():
        for name, spec in (schema.get("properties") or {}).items():
            if not isinstance(spec, dict):
                continue
            labels.fields.setdefault(name, title(spec, lang, name))
            choices = spec.get("items") if spec.get("type") == "array" else spec
            if isinstance(choices, dict) and "enum" in choices:
                options = {o.value: o.label for o in enum_options(choices, lang)}
                labels.choices.setdefault(name, options)
                for code, label in options.items():
                    if not code.isdigit():
                        labels.any_choice.setdefault(code, label)
    process = parsed.processes.get(process_key)
    specs = [process.spec, *process.subprocess_specs.values()] if process else []
    for spec in specs:
        for key, task_spec in spec.task_specs.items():
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            form = properties.get("formJsonSchemaFilename")
            name = getattr(task_spec, "bpmn_name", None) or key
            labels.tasks.setdefault(key, title(parsed.form(form), lang, name) if form and lang == "zh" else name)
    return labels


@dataclass
class Row:
    """One line of case data; nested data has children instead of a value."""

    label: str
    value: str | None = None
    children: list[Row] = field(default_factory=list)


def data_rows(data: Any, labels: Labels) -> list[Row]:
    """Case data as labelled rows."""
    rows = []
    for key, value in (data or {}).items():
        if isinstance(value, dict):
            rows.append(Row(labels.field(key), children=data_rows(value, labels)))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            rows.append(Row(labels.field(key), children=[
                Row(str(i + 1), children=data_rows(v, labels)) if isinstance(v, dict) else Row(str(i + 1), str(v))
                for i, v in enumerate(value)]))
        else:
            rows.append(Row(labels.field(key), labels.value(key, value)))
    return rows


@dataclass
class HistoryLine:
    """One event of the timeline: when, who, what (and the diagram element it happened at, if any)."""

    at: str
    who: str
    what: str
    task: str
    details: list[tuple[str, str]]
    element: str = ""


def _details(event: dict[str, Any], labels: Labels, clear: bool) -> list[tuple[str, str]]:
    payload = event.get("payload") or {}
    if event["type"] == "task_completed":
        submitted = payload.get("data") or {}
        changes = {k: submitted.get(k) for k in (payload.get("before") or {})}
        shown = masked(changes, clear)
        return [(labels.field(k), labels.value(k, v)[:80]) for k, v in list(shown.items())[:HISTORY_DETAIL_ITEMS]]
    if event["type"] == "decision_evaluated":  # what the table decided, in words (its inputs are in the audit view)
        return [(_("decision"), describe_decision(payload)[:300])]
    if event["type"] in DETAIL_OF:
        label, key = DETAIL_OF[event["type"]]
        return [(str(label), str(payload.get(key) or "")[:200])]
    return []


def node_history(lines: list[HistoryLine]) -> dict[str, list[dict[str, str]]]:
    """The timeline by diagram element, oldest first: what the diagram lists when a node is clicked."""
    found: dict[str, list[dict[str, str]]] = {}
    for line in reversed(lines):
        if line.element:
            found.setdefault(line.element, []).append({"at": line.at, "who": line.who, "what": line.what})
    return found


def history_lines(events: list[dict[str, Any]], labels: Labels, clear: bool) -> list[HistoryLine]:
    """The events of a case as timeline lines, newest first."""
    lines = []
    for event in reversed(events):
        task = labels.tasks.get(event.get("task") or "", event.get("task") or "")
        who = event.get("actor") or _("System")
        if event["type"] in SYSTEM_EVENTS:  # the system acted; the actor is who set it going
            who = _("System (after %(who)s)", who=who) if event.get("actor") else _("System")
        lines.append(HistoryLine(localtime(event["at"]), who,
                                 str(EVENT_LABELS.get(event["type"], event["type"])), task,
                                 _details(event, labels, clear), event.get("task") or ""))
    return lines


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
    rows: list[Row]
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
        lines = history_lines(events, labels, clear)
        incidents = list(session.scalars(select(IncidentModel.error).where(
            IncidentModel.instance_id == instance_id, IncidentModel.status == "open").order_by(IncidentModel.id)))
        calls_out = [labels.tasks.get(e.task_key, e.task_key) for e in session.scalars(select(EffectModel).where(
            EffectModel.instance_id == instance_id, EffectModel.status == "open").order_by(EffectModel.id))]
        return CaseView(
            instance.id, instance.process_key, process_label(instance.process_key, definition.name if definition
                                                             else ""),
            instance.business_key, instance.status, str(STATUS_LABELS.get(instance.status, instance.status)),
            instance.started_by, instance.started_at, instance.ended_at, steps,
            data_rows(masked(data or {}, clear), labels), lines[:recent] if recent else lines,
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
        diagram = {"url": url_for("cases.diagram_xml", instance_id=instance_id), "done": view.done,
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
    """The exact BPMN file the case runs on (its pinned deployment)."""
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
    return Response(deployed_file(rt, deployment_id, name), mimetype="application/xml",
                    headers={"Cache-Control": "private, max-age=3600"})
