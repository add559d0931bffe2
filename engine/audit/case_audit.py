"""What auditors do with cases: find them, step through their history on the diagram exactly as the engine
had it, and reveal masked personal data (a permission apart from roles; every reveal is itself recorded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from engine.authoring.migration import deployments_run_on, started_on
from engine.errors import ForbiddenError, InvalidInputError, NotFoundError
from engine.workflow import history, paths, store
from engine.workflow.actors import Actor, require
from engine.workflow.case_search import HIT_COLUMNS, CaseHit, hits
from engine.workflow.deployments import deployed_file
from engine.workflow.execution import current_data, load
from engine.workflow.instances import find_instance
from engine.workflow.jsonutil import to_plain
from engine.workflow.models import DeploymentModel, EventModel, InstanceModel, ProcessDefinitionModel
from engine.workflow.runtime import Runtime
from engine.workflow.translations import relabel

from .replay import replayed_steps

AUDITORS = {"auditor", "admin"}
# Who "did something" in a case, for the search by person.
ACTING_EVENTS = ("instance_started", "task_completed", "task_claimed")
MAX_REASON = 500


def search_cases(
    rt: Runtime, actor: Actor, *, business_key: str | None = None, process_key: str | None = None,
    status: str | None = None, started_from: datetime | None = None, started_to: datetime | None = None,
    person: str | None = None, limit: int = 20, offset: int = 0,
) -> tuple[list[CaseHit], int]:
    """Cases by business-key prefix, process, status, start-time range [from, to) and a person who started,
    claimed or completed something in them; newest first, with the total for paging (auditors, admins)."""
    require(actor, AUDITORS, "search every case")
    query = select(*HIT_COLUMNS)
    if business_key:
        escaped = business_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(InstanceModel.business_key.like(escaped + "%", escape="\\"))
    if process_key:
        query = query.where(InstanceModel.process_key == process_key)
    if status:
        query = query.where(InstanceModel.status == status)
    if started_from:
        query = query.where(InstanceModel.started_at >= started_from)
    if started_to:
        query = query.where(InstanceModel.started_at < started_to)
    if person:
        query = query.where(InstanceModel.id.in_(select(EventModel.instance_id).where(
            EventModel.actor == person, EventModel.type.in_(ACTING_EVENTS))))
    with rt.uow(read_only=True) as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = uow.session.execute(query.order_by(InstanceModel.started_at.desc(), InstanceModel.id.desc())
                                   .limit(limit).offset(offset))
        return hits(uow.session, rows.all()), total


@dataclass(frozen=True)
class CaseStep:
    """One engine step of a case as the slider shows it: its events, and the case right after it."""

    number: int
    first_seq: int
    last_seq: int
    at: datetime
    actor: str | None
    events: list[str]
    task: str | None
    elements: list[str]  # the diagram elements this step's events name
    path: list[str]  # every element passed up to and including this step, in the order first passed
    active: list[str]  # elements ready, waiting or failed after this step
    data: dict[str, Any]  # the workflow data exactly as the engine had it after this step (in clear)
    deployment_id: int = 0  # the deployment the case ran on after this step (a migration changes it)


@dataclass(frozen=True)
class CaseSteps:
    """A case's history as steps, replayed on the deployment it is pinned to."""

    instance_id: int
    process_key: str
    business_key: str | None
    status: str
    deployment_id: int
    deployment_hash: str
    diagram_file: str
    steps: list[CaseStep]
    # Why the walk stopped early (the history cannot be re-applied from this step on), else None.
    problem: str | None = None
    problem_seq: int | None = None


def case_steps(rt: Runtime, actor: Actor, instance_id: int) -> CaseSteps:
    """The case's steps with the path taken, what waits and the data after each, computed by replaying the
    recorded events on the pinned deployment (so the data is what the engine had, not a re-derivation)."""
    require(actor, AUDITORS, "audit cases")
    with rt.uow(read_only=True) as uow:
        session = uow.session
        instance = find_instance(uow, instance_id)
        events = history.events_of(session, instance_id)
        process = started_on(rt, session, instance, events)  # a migrated case replays from where it began
        digest = session.scalar(select(DeploymentModel.hash).where(DeploymentModel.id == instance.deployment_id))
        diagram = session.scalar(select(ProcessDefinitionModel.file_name).where(
            ProcessDefinitionModel.id == instance.definition_id))
    deployment_id = deployments_run_on(instance, events)[0]
    steps: list[CaseStep] = []
    path: list[str] = []
    problem = problem_seq = None
    for replayed in replayed_steps(rt, events, process):
        first, _payload = replayed.events[0]
        if replayed.workflow is None:
            problem, problem_seq = replayed.error, first.seq
            break
        workflow = replayed.workflow
        passed = paths.passed(workflow)
        path += sorted(passed - set(path))
        active = sorted(paths.waiting(workflow))
        elements = list(dict.fromkeys(e.task_key for e, _p in replayed.events if e.task_key))
        data = to_plain({k: v for k, v in current_data(workflow).items() if not callable(v)})
        for event, payload in replayed.events:
            if event.type == "instance_migrated":
                deployment_id = payload["to"]["deployment"]
        steps.append(CaseStep(replayed.number, first.seq, replayed.events[-1][0].seq, first.occurred_at,
                              first.actor, [e.type for e, _p in replayed.events], first.task_key, elements,
                              list(path), active, data, deployment_id))
    return CaseSteps(instance.id, instance.process_key, instance.business_key, instance.status,
                     instance.deployment_id, digest or "", diagram or "", steps, problem, problem_seq)


def case_diagram(rt: Runtime, actor: Actor, instance_id: int, deployment_id: int, lang: str | None = None) -> bytes:
    """The exact BPMN file of the case's process in one of the deployments it ran on (auditors and admins); with
    `lang`, its names in that language for drawing (engine/workflow/translations.py)."""
    require(actor, AUDITORS, "audit cases")
    with rt.uow(read_only=True) as uow:
        session = uow.session
        instance = find_instance(uow, instance_id)
        if deployment_id not in deployments_run_on(instance, history.events_of(session, instance_id)):
            raise NotFoundError(f"instance {instance_id} never ran on deployment {deployment_id}")
        name = session.scalar(select(ProcessDefinitionModel.file_name).where(
            ProcessDefinitionModel.deployment_id == deployment_id, ProcessDefinitionModel.key == instance.process_key))
    if name is None:
        raise NotFoundError(f"deployment {deployment_id} holds no process {instance.process_key}")
    content = deployed_file(rt, deployment_id, name)
    if lang is None:
        return content
    with rt.uow(read_only=True) as uow:
        texts = rt.specs.get(uow.session, deployment_id).texts.get(lang)
    return relabel(name, content, texts)


@dataclass(frozen=True)
class Unmasked:
    """Personal data revealed to one person for one reason (and recorded in the case's history)."""

    instance_id: int
    step: int | None
    fields: dict[str, Any] = field(default_factory=dict)  # field path ("policy.holder_phone") → clear value
    seq: int = 0  # the data_unmasked event


def _is_personal(rt: Runtime, key: str) -> bool:
    # One rule for what is personal, the composition root's: a field its protector would encrypt.
    probe = "probe"
    return rt.protect("data", {key: probe}).get(key) != probe


def _personal(rt: Runtime, data: Any, path: str = "") -> dict[str, Any]:
    """The personal fields of `data` by path (`policy.holder_phone`, `payees[0].bank_account`)."""
    found: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _is_personal(rt, key):
                found.update(_leaves(value, name))
            else:
                found.update(_personal(rt, value, name))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.update(_personal(rt, value, f"{path}[{index}]"))
    return found


def _leaves(value: Any, path: str) -> dict[str, Any]:
    # Personal data is text; a flag or an amount under such a name (shared_account: true) is not.
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value} if isinstance(value, str) else {}


def unmask(rt: Runtime, actor: Actor, instance_id: int, reason: str, *, step: int | None = None) -> Unmasked:
    """Reveal the personal fields of a case's current data (or of one step's) to someone holding the unmask
    permission, for a stated reason; appends a `data_unmasked` event (who, which fields, why) to its chain."""
    if not actor.may_unmask:
        raise ForbiddenError(f"{actor.username} may not reveal personal data: that needs the unmask permission")
    require(actor, AUDITORS, "audit cases")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError("a reason is required to reveal personal data", {"fields": {"reason": "required"}})
    if len(reason) > MAX_REASON:
        raise InvalidInputError(f"the reason is longer than {MAX_REASON} characters",
                                {"fields": {"reason": f"at most {MAX_REASON} characters"}})
    if step is None:
        with rt.uow(read_only=True) as uow:
            loaded = load(rt, uow.session, instance_id, actor.username, lock=False)
            data = to_plain({k: v for k, v in current_data(loaded.workflow).items() if not callable(v)})
    else:
        steps = case_steps(rt, actor, instance_id).steps
        if not 1 <= step <= len(steps):
            raise InvalidInputError(f"case {instance_id} has no step {step} (it has {len(steps)})",
                                    {"fields": {"step": f"between 1 and {len(steps)}"}})
        data = steps[step - 1].data
    fields = _personal(rt, data)
    rt = rt.frozen()
    with rt.uow() as uow:
        conn = uow.session.connection()
        instance = store.get_instance(conn, instance_id, lock=True)  # queue behind other writers of the case
        history.append(conn, instance, "data_unmasked", actor=actor.username, at=rt.clock(), protect=rt.protect,
                       keys=rt.audit_keys,
                       payload={"fields": sorted(fields), "reason": reason, "step": step})
        store.save_instance(conn, instance)
        uow.commit()
    return Unmasked(instance_id, step, fields, instance.last_seq)
