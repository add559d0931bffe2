"""A case as its page shows it, read in one transaction: the engine checks that the actor may read it; the
case's row, data, open steps, waits, history, incidents, calls out and documents come back as one read-only
view that the web faces put into words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFoundError
from engine.workflow import (
    Actor,
    ParsedDeployment,
    Runtime,
    UnitOfWork,
    access,
    current_data,
    file_in,
    find_instance,
    history,
    load,
    paths,
    to_plain_safe,
)
from engine.workflow.models import (
    EffectModel,
    HumanTaskModel,
    IncidentModel,
    InstanceModel,
    ProcessDefinitionModel,
    UserModel,
    WaitModel,
)
from tasks.claimant_notes import notes_of_case
from tasks.documents import DocumentInfo, case_documents, may_open_documents, open_document

from .errors import DocumentsClosedError, NoDocumentError


@dataclass(frozen=True)
class OpenStep:
    """A step of the case waiting for a person."""

    task_key: str
    name: str
    role: str | None
    assignee: str | None


@dataclass(frozen=True)
class ClaimantNote:
    """What the claimant told the insurer through their own path (tasks/claimant_notes.py)."""

    text: str
    received_at: datetime
    kind: str


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page shows about a case, before it is put into words."""

    id: int
    process_key: str
    process_name: str
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    deployment_id: int
    diagram_file: str
    parsed: ParsedDeployment
    data: Mapping[str, Any]
    holder: bool  # the engine found the actor holding a task of the case (engine/workflow/access.py)
    passed: tuple[str, ...]  # diagram elements the workflow completed
    open_steps: tuple[OpenStep, ...]
    waits: tuple[str, ...]  # elements waiting for a message, a timer or an answer
    events: tuple[dict[str, Any], ...]  # the history, personal fields opened (the face masks them by role)
    people: Mapping[str, str]  # user name → display name of everyone the history names
    incidents: tuple[str, ...]  # open incidents' errors
    calls_out: tuple[str, ...]  # task keys of calls out of the house still waiting for an answer
    documents: tuple[DocumentInfo, ...] | None  # None: the actor's role may not open the case's documents
    claimant_notes: tuple[ClaimantNote, ...] = ()


def _instance(uow: UnitOfWork, rt: Runtime, actor: Actor, instance_id: int) -> tuple[InstanceModel, bool]:
    """The case and whether the actor holds a task of it; the engine's check that they may read it."""
    instance = find_instance(uow, instance_id)
    return instance, access.check_read(uow.session, rt.settings, instance, actor).clear


def _works_on(session: Session, actor: Actor, instance_id: int) -> bool:
    """Whether a task of the case is assigned to the actor or was completed by them."""
    return session.scalar(select(HumanTaskModel.id).where(
        HumanTaskModel.instance_id == instance_id,
        (HumanTaskModel.assignee == actor.username) | (HumanTaskModel.completed_by == actor.username)).limit(1)
    ) is not None


def read_case(uow: UnitOfWork, rt: Runtime, actor: Actor, instance_id: int, *, data: Mapping[str, Any] | None = None,
              holder: bool = False, with_notes: bool = False) -> CaseFile:
    """The case in the caller's unit of work; `data` (a task's, with `holder` as the engine found it for that
    task) stands in for the case's current data."""
    session = uow.session
    instance, clear = _instance(uow, rt, actor, instance_id)
    passed: tuple[str, ...] = ()
    if data is None:
        loaded = load(rt, session, instance_id, actor.username, lock=False)
        data, holder = to_plain_safe(current_data(loaded.workflow)), clear
        passed = tuple(sorted(paths.passed(loaded.workflow)))
    definition = session.get(ProcessDefinitionModel, instance.definition_id)
    events = tuple({**e, "payload": rt.reveal(e["type"], e["payload"])}
                   for e in map(history.event_dict, history.events_of(session, instance_id)))
    actors = {e["actor"] for e in events if e.get("actor")}
    people = dict(session.execute(select(UserModel.username, UserModel.display_name).where(
        UserModel.username.in_(actors))).all()) if actors else {}
    tasks = session.scalars(select(HumanTaskModel).where(
        HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open").order_by(HumanTaskModel.id))
    waits = session.scalars(select(WaitModel.task_key).where(
        WaitModel.instance_id == instance_id, WaitModel.status == "pending"))
    incidents = session.scalars(select(IncidentModel.error).where(
        IncidentModel.instance_id == instance_id, IncidentModel.status == "open").order_by(IncidentModel.id))
    calls_out = session.scalars(select(EffectModel.task_key).where(
        EffectModel.instance_id == instance_id, EffectModel.status == "open").order_by(EffectModel.id))
    documents = (tuple(case_documents(session, instance_id))
                 if may_open_documents(actor.roles, _works_on(session, actor, instance_id)) else None)
    notes = tuple(ClaimantNote(n.text, n.received_at, n.kind)
                  for n in notes_of_case(session, instance_id)) if with_notes else ()
    return CaseFile(
        instance.id, instance.process_key, definition.name if definition else "", instance.business_key,
        instance.status, instance.started_by, instance.started_at, instance.ended_at, instance.deployment_id,
        definition.file_name if definition else "", rt.specs.get(session, instance.deployment_id), data or {}, holder,
        passed, tuple(OpenStep(t.task_key, t.task_name, t.candidate_role, t.assignee) for t in tasks), tuple(waits),
        events, people, tuple(incidents), tuple(calls_out), documents, notes)


def case_page(rt: Runtime, actor: Actor, instance_id: int) -> CaseFile:
    """A case the actor may read (ForbiddenError, NotFoundError), in one transaction."""
    with rt.uow(read_only=True) as uow:
        return read_case(uow, rt, actor, instance_id)


def case_document(rt: Runtime, actor: Actor, instance_id: int, document_id: int) -> tuple[DocumentInfo, bytes]:
    """A document of a case the actor may read, decrypted — for the roles that open documents (ForbiddenError);
    NotFoundError for a case or document that is not there."""
    with rt.uow(read_only=True) as uow:
        session = uow.session
        _instance(uow, rt, actor, instance_id)
        if not may_open_documents(actor.roles, _works_on(session, actor, instance_id)):
            raise DocumentsClosedError(f"{actor.username} may not open the documents of instance {instance_id}")
        try:
            return open_document(session, rt.services.cipher, instance_id, document_id)
        except LookupError as exc:
            raise NoDocumentError(str(exc)) from exc


@dataclass(frozen=True)
class Diagram:
    """A case's BPMN file as deployed, and the deployment it belongs to."""

    deployment_id: int
    name: str
    content: bytes
    parsed: ParsedDeployment


def case_diagram(rt: Runtime, actor: Actor, instance_id: int) -> Diagram:
    """The exact BPMN file a case the actor may read runs on (its pinned deployment)."""
    with rt.uow(read_only=True) as uow:
        session = uow.session
        instance, _clear = _instance(uow, rt, actor, instance_id)
        definition = session.get(ProcessDefinitionModel, instance.definition_id)
        if definition is None:
            raise NotFoundError(f"instance {instance_id} has no process definition")
        return Diagram(instance.deployment_id, definition.file_name,
                       file_in(uow, instance.deployment_id, definition.file_name),
                       rt.specs.get(session, instance.deployment_id))
