"""Process instances: start, look up, list, deliver messages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError

from . import access, history, paths, store
from .actors import Actor
from .clock import using_clock
from .execution import Loaded, current_data, load, new_engine, persist, run_steps
from .forms import check_submission, refuse_control_characters
from .jsonutil import to_plain
from .models import DeploymentModel, HumanTaskModel, InstanceModel, ProcessDefinitionModel
from .roles import lane_role
from .runtime import Runtime
from .script_engine import RunContext
from .store import InstanceRecord
from .unit_of_work import UnitOfWork
from .waits import message_catchers

READ_ALL_ROLES = access.READERS
# A signal is a broadcast that reaches cases the sender may have no part in: administrators (and the local
# operator) send them; anyone else only to a case they are involved in.
SIGNALLERS = {"admin"}


@dataclass(frozen=True)
class InstanceSummary:
    """An instance as lists and the CLI show it."""

    id: int
    process_key: str
    version: int
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    open_tasks: list[dict[str, Any]]
    data: dict[str, Any] | None = None
    # Whether the person it was shown to sees its personal fields in clear (engine/workflow/access.py).
    clear: bool = False
    # The diagram elements it has passed (engine/workflow/paths.py), when it was shown with its workflow.
    passed: tuple[str, ...] = ()


def _summary(
    session, instance: InstanceModel | InstanceRecord, version: int, open_tasks: list[Any] | None = None,
    data: dict[str, Any] | None = None,
) -> InstanceSummary:
    tasks = open_tasks if open_tasks is not None else session.scalars(select(HumanTaskModel).where(
        HumanTaskModel.instance_id == instance.id, HumanTaskModel.status == "open").order_by(HumanTaskModel.id))
    return InstanceSummary(
        instance.id, instance.process_key, version, instance.business_key, instance.status, instance.started_by,
        instance.started_at, instance.updated_at, instance.ended_at,
        [{"id": t.id, "task": t.task_key, "name": t.task_name, "role": t.candidate_role, "assignee": t.assignee}
         for t in tasks],
        data,
    )


def summary_after_calls(rt: Runtime, loaded: Loaded, summary: InstanceSummary) -> InstanceSummary:
    """The answer to an operation: `summary` as committed, or — when the operation asked for external calls,
    made after its commit — the case as those calls left it."""
    if not loaded.calls_asked:
        return summary
    with rt.uow(read_only=True) as uow:
        instance = uow.session.get(InstanceModel, loaded.instance.id)
        return _summary(uow.session, instance, summary.version)


def _start_role(workflow: BpmnWorkflow) -> str | None:
    start = workflow.spec.start
    for task_spec in start.outputs:
        role = lane_role(getattr(task_spec, "lane", None))
        if role:
            return role
    return None


def start_instance(
    rt: Runtime, process_key: str, data: dict[str, Any] | None, actor: Actor, business_key: str | None = None,
    message: tuple[str, dict[str, Any] | None] | None = None,
) -> InstanceSummary:
    """Start the newest version of a process with initial data and run it until it waits; `message`
    (name, payload) is then delivered to its message start event (see engine/workflow/messages.py)."""
    rt = rt.frozen()
    check_submission(data or {}, None)
    with rt.uow() as uow:
        loaded, summary = start_in(rt, uow.session, process_key, data, actor, business_key, message)
        uow.commit()
    return summary_after_calls(rt, loaded, summary)


def start_in(
    rt: Runtime, session: Any, process_key: str, data: dict[str, Any] | None, actor: Actor,
    business_key: str | None = None, message: tuple[str, dict[str, Any] | None] | None = None,
    routed_from: int | None = None,
) -> tuple[Loaded, InstanceSummary]:
    """`start_instance` inside the caller's transaction. `routed_from`: the case whose thrown message starts
    this one — the diagrams' collaboration decides then, not the roles of `actor` (that case's starter, named
    as the starter of this one)."""
    now = rt.clock()
    newest = session.execute(  # the newest version, with its deployment's digest for the history: one statement
        select(ProcessDefinitionModel, DeploymentModel.hash)
        .join(DeploymentModel, DeploymentModel.id == ProcessDefinitionModel.deployment_id)
        .where(ProcessDefinitionModel.key == process_key)
        .order_by(ProcessDefinitionModel.version.desc()).limit(1)).first()
    if newest is None:
        raise NotFoundError(f"no deployed process {process_key!r}")
    definition, digest = newest
    parsed = rt.specs.get(session, definition.deployment_id)
    process = parsed.processes[process_key]
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs)
    role = _start_role(workflow)
    if actor.is_operator:
        raise ForbiddenError("instances are started by a named user (use --as USER)")
    if role and role not in actor.roles and routed_from is None:
        raise ForbiddenError(f"{actor.username} may not start {process_key}: needs role {role}")
    instance = store.insert_instance(
        session.connection(), definition_id=definition.id, deployment_id=definition.deployment_id,
        process_key=process_key, business_key=business_key, status="running", started_by=actor.username,
        started_at=now, updated_at=now)
    run = RunContext(session, rt.clock, instance.id, business_key, actor.username, rt.services,
                     audit_keys=rt.audit_keys)
    workflow.script_engine = new_engine(rt, run)
    workflow.task_tree.data.update(data or {})
    loaded = Loaded(instance, workflow, parsed, process, run, fresh=True)
    loaded.record("instance_started", actor.username, None, {
        "process": process_key, "version": definition.version, "deployment": digest,
        "data": to_plain(data or {}), "business_key": business_key,
        **({"message_from": routed_from} if routed_from is not None else {}),
    })
    run_steps(rt, loaded)
    persist(rt, session, loaded)
    if message is not None:  # started by a message: its start event, waiting now, catches it as a step of its own
        with using_clock(rt.clock):
            receive(loaded, message[0], message[1], actor.username)
        run_steps(rt, loaded)
        persist(rt, session, loaded)
    return loaded, _summary(session, instance, definition.version, loaded.open_tasks)


def _version_of(rt: Runtime, session, instance: InstanceModel | InstanceRecord) -> int:
    """The version number of the instance's definition (immutable, so remembered)."""
    version = rt.definition_versions.get(instance.definition_id)
    if version is None:
        version = session.scalar(select(ProcessDefinitionModel.version).where(
            ProcessDefinitionModel.id == instance.definition_id)) or 0
        rt.definition_versions[instance.definition_id] = version
    return version


def summary_of(rt: Runtime, session: Session, loaded: Loaded) -> InstanceSummary:
    """The answer of an operation on a loaded case: the case with its open tasks as the step left them."""
    return _summary(session, loaded.instance, _version_of(rt, session, loaded.instance), loaded.open_tasks)


def find_instance(uow: UnitOfWork, instance_id: int) -> InstanceModel:
    """The case's row in the caller's unit of work, or NotFoundError."""
    instance = uow.session.get(InstanceModel, instance_id)
    if instance is None:
        raise NotFoundError(f"no instance {instance_id}")
    return instance


def show_instance(rt: Runtime, instance_id: int, actor: Actor) -> InstanceSummary:
    """One instance with its open tasks and current data."""
    with rt.uow(read_only=True) as uow:
        loaded = load(rt, uow.session, instance_id, actor.username, lock=False)
        seen = access.check_read(uow.session, rt.settings, loaded.instance, actor)
        data = to_plain_safe(current_data(loaded.workflow))
        summary = _summary(uow.session, loaded.instance, _version_of(rt, uow.session, loaded.instance), data=data)
        return replace(summary, clear=seen.clear, passed=tuple(sorted(paths.passed(loaded.workflow))))


def to_plain_safe(data: dict[str, Any]) -> dict[str, Any]:
    """Task data as JSON-ready values."""
    return to_plain({k: v for k, v in data.items() if not callable(v)})


def list_instances(
    rt: Runtime, actor: Actor, *, status: str | None = None, process_key: str | None = None,
    business_key: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[InstanceSummary], int]:
    """Instances, newest first, with the total count for paging."""
    if not (actor.is_operator or actor.has_any(READ_ALL_ROLES)):
        raise ForbiddenError(f"{actor.username} may not list all instances")
    query = select(InstanceModel)
    if status:
        query = query.where(InstanceModel.status == status)
    if process_key:
        query = query.where(InstanceModel.process_key == process_key)
    if business_key:
        query = query.where(InstanceModel.business_key == business_key)
    with rt.uow(read_only=True) as uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(InstanceModel.id.desc()).limit(limit).offset(offset))
        return [_summary(session, r, _version_of(rt, session, r)) for r in rows], total


def instance_history(rt: Runtime, instance_id: int, actor: Actor) -> list[dict[str, Any]]:
    """The event log of one instance."""
    with rt.uow(read_only=True) as uow:
        instance = find_instance(uow, instance_id)
        access.check_read(uow.session, rt.settings, instance, actor)
        return [history.event_dict(e) for e in history.events_of(uow.session, instance_id)]


def access_to(rt: Runtime, instance_id: int, actor: Actor) -> access.CaseAccess:
    """What the actor may do with the case and why (ForbiddenError when they have no part in it)."""
    with rt.uow(read_only=True) as uow:
        instance = find_instance(uow, instance_id)
        return access.check_read(uow.session, rt.settings, instance, actor)


def deliver_message(
    rt: Runtime, instance_id: int, name: str, payload: dict[str, Any] | None, actor: Actor
) -> InstanceSummary:
    """Deliver a message to one instance that is waiting for it."""
    rt = rt.frozen()
    if payload is not None and not isinstance(payload, dict):
        raise InvalidInputError("message data must be a JSON object")
    refuse_control_characters(payload)
    with rt.uow() as uow:
        session = uow.session
        loaded = load(rt, session, instance_id, actor.username)
        seen = access.check_act(session, rt.settings, loaded.instance, actor)
        access.check_deliver(seen, actor, message_catchers(loaded.workflow, name), name, instance_id)
        if loaded.instance.status in ("completed", "terminated"):
            raise ConflictError(f"instance {instance_id} is {loaded.instance.status}")
        with using_clock(rt.clock):
            receive(loaded, name, payload, actor.username)
        run_steps(rt, loaded)
        persist(rt, session, loaded)
        summary = summary_of(rt, session, loaded)
        uow.commit()
    return summary_after_calls(rt, loaded, summary)


def deliver_signal(
    rt: Runtime, instance_id: int, name: str, payload: dict[str, Any] | None, actor: Actor
) -> InstanceSummary:
    """Deliver a signal to one instance that is waiting for it (engine/workflow/messages.py broadcasts one)."""
    rt = rt.frozen()
    if payload is not None and not isinstance(payload, dict):
        raise InvalidInputError("signal data must be a JSON object")
    refuse_control_characters(payload)
    with rt.uow() as uow:
        session = uow.session
        loaded = load(rt, session, instance_id, actor.username)
        if not actor.has_any(SIGNALLERS):
            access.check_act(session, rt.settings, loaded.instance, actor)
        if loaded.instance.status in ("completed", "terminated"):
            raise ConflictError(f"instance {instance_id} is {loaded.instance.status}")
        try:
            with using_clock(rt.clock):
                loaded.workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        except WorkflowException as exc:
            raise ConflictError(f"instance {instance_id} is not waiting for signal {name!r}") from exc
        loaded.record("signal_received", actor.username, None, {"name": name, "payload": to_plain(payload)})
        run_steps(rt, loaded)
        persist(rt, session, loaded)
        summary = summary_of(rt, session, loaded)
        uow.commit()
    return summary_after_calls(rt, loaded, summary)


def receive(loaded: Loaded, name: str, payload: Any, actor: str | None) -> None:
    """Hand a message to the workflow and record it; ConflictError if nothing waits for it."""
    try:
        loaded.workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except WorkflowException as exc:
        raise ConflictError(f"instance {loaded.instance.id} is not waiting for message {name!r}") from exc
    loaded.record("message_delivered", actor, None, {"name": name, "payload": to_plain(payload)})
