"""Running a loaded instance and writing back everything that changed, in the caller's transaction.

Every service function follows the same shape: load the instance (`load`), change the workflow,
`run_steps`, then `persist`, which records history, keeps the human-task and wait rows in step with
the workflow, and saves the state under the instance's optimistic lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.errors import DamagedStateError

from . import history, outbox, sealed_rows, store
from .clock import using_clock
from .jsonutil import canonical_dumps, to_plain
from .models import IncidentModel, MessageModel
from .parsing import ParsedDeployment, ProcessSpecs
from .registry import BpmnError
from .runtime import Runtime
from .sandbox import SandboxError
from .script_engine import EffectDeferred, RunContext, SandboxedScriptEngine
from .step_incidents import incident_failed_again, raise_incident, raise_stall
from .store import HumanTaskRecord, InstanceRecord
from .task_rows import sync_human_tasks
from .unit_of_work import after_commit
from .waits import sync_waits

STARTER = "starter"  # assignTo: the task goes to whoever started the case


@dataclass
class Loaded:
    """An instance row with its live workflow."""

    instance: InstanceRecord
    workflow: BpmnWorkflow
    parsed: ParsedDeployment
    process: ProcessSpecs
    run: RunContext
    pending_events: list[tuple[str, str | None, str | None, dict[str, Any]]] = field(default_factory=list)
    incident_open: bool = False
    open_tasks: list[HumanTaskRecord] = field(default_factory=list)
    firing_wait: int | None = None  # the timer the worker fires in this operation (it records that one)
    fired_repetitions: int = 0  # how often that timer fired here: more than once for a cycle timer run late
    calls_asked: int = 0  # external calls its steps asked for, made once the operation has committed
    # What is known of the case's rows without reading them: `fresh`, its row was inserted by this operation (no
    # task or wait rows yet); `no_waits`, the cached workflow's last persist left no pending wait row (a cache hit
    # means no other operation persisted the case since, and only persisting writes wait rows).
    fresh: bool = False
    no_waits: bool = False
    # The case's open task rows as this operation read them under the case lock (None: not read yet).
    open_rows: list[HumanTaskRecord] | None = None

    def record(self, type_: str, actor: str | None, task_key: str | None, payload: dict[str, Any]) -> None:
        """Queue a history event; `persist` appends the queue in order."""
        self.pending_events.append((type_, actor, task_key, payload))


def new_engine(rt: Runtime, run: RunContext) -> SandboxedScriptEngine:
    """A script engine bound to one operation."""
    return SandboxedScriptEngine(rt.registry, rt.limits, run)


def load(
    rt: Runtime, session: Session, instance_id: int, actor: str | None, *, lock: bool = True,
    instance: InstanceRecord | None = None,
) -> Loaded:
    """Load an instance and its workflow onto the cached specs of its pinned deployment; writers
    lock the row first so that two changes to one case queue instead of colliding."""
    if instance is None:
        instance = store.get_instance(session.connection(), instance_id, lock=lock)
    parsed = rt.specs.get(session, instance.deployment_id)
    process = parsed.processes[instance.process_key]
    run = RunContext(session, rt.clock, instance.id, instance.business_key, actor, rt.services,
                     audit_keys=rt.audit_keys)
    workflow = rt.workflows.take(instance.id, instance.version) if lock else None
    no_waits = workflow is not None and getattr(workflow, _NO_WAITS, False)
    if workflow is None:
        workflow = read_state(rt, instance, process)
    workflow.script_engine = new_engine(rt, run)
    return Loaded(instance, workflow, parsed, process, run, incident_open=instance.status == "incident",
                  no_waits=no_waits)


_NO_WAITS = "insureflow_no_waits"  # set on a workflow as it is cached: its persist left no pending wait row


def read_state(rt: Runtime, instance: InstanceRecord, process: ProcessSpecs) -> BpmnWorkflow:
    """The case's workflow from its sealed state; DamagedStateError (never a traceback) when the stored bytes
    were altered or damaged — the seal is authenticated, so a single flipped byte is caught here."""
    try:
        return rt.serializer.loads(rt.unseal(instance.state), process.spec, process.subprocess_specs)
    except Exception as exc:
        raise DamagedStateError(
            f"the stored state of case {instance.id} cannot be read: it was altered or damaged after it was "
            f"written ({type(exc).__name__}); run `insureflow verify`, and restore the case from a backup") from exc


_SETTLED = (TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.ERROR | TaskState.STARTED
            | TaskState.CANCELLED)


def fingerprint(workflow: BpmnWorkflow) -> str:
    """A hash of the workflow's state that a replay can recompute: which steps are in which state,
    and the data; independent of task ids and times."""
    parts = sorted(
        (wf.spec.name, task.task_spec.name, task.state)
        for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()
        if task.state & _SETTLED
    )
    data = workflow.data if workflow.is_completed() else (workflow.last_task.data if workflow.last_task else {})
    text = canonical_dumps({"tasks": parts, "data": _plain_data(data)})
    return hashlib.sha256(text.encode()).hexdigest()


def _plain_data(data: dict[str, Any]) -> Any:
    try:
        return to_plain({k: v for k, v in data.items() if not callable(v)})
    except TypeError:
        return {k: repr(v) for k, v in data.items()}


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The process data as it stands now."""
    if workflow.is_completed():
        return dict(workflow.data)
    return dict(workflow.last_task.data) if workflow.last_task else dict(workflow.task_tree.data)


def run_steps(rt: Runtime, loaded: Loaded, retrying: IncidentModel | None = None) -> IncidentModel | None:
    """Run the engine until it waits; a failing step becomes an incident (or updates the one being
    retried) instead of an exception."""
    workflow = loaded.workflow
    session = loaded.run.session
    try:
        with using_clock(rt.clock):
            advance(workflow)
    except (Exception, SandboxError) as exc:
        _record_calls(rt, loaded)
        if retrying is not None:
            return incident_failed_again(rt, loaded, retrying, exc)
        loaded.incident_open = True
        return raise_incident(rt, session, loaded, exc)
    _record_calls(rt, loaded)
    return None


def advance(workflow: BpmnWorkflow) -> None:
    """Run engine steps until the workflow waits, handing handlers' BpmnErrors to boundary events; a
    step that asked for an external call stays started (its call is made after the commit)."""
    while True:
        try:
            workflow.do_engine_steps()
            return
        except BpmnError as exc:
            if not throw_bpmn_error(workflow, exc):
                raise
        except EffectDeferred as deferred:
            workflow.get_task_from_id(deferred.task_id)._set_state(TaskState.STARTED)


def throw_bpmn_error(workflow: BpmnWorkflow, error: BpmnError) -> bool:
    """Hand a handler's BpmnError to the error boundary events around the failed task; False when
    none catches it (then it is an incident)."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    if not failed:
        return False
    task = failed[0]
    pending = len(workflow.bpmn_events)
    event = BpmnEvent(ErrorEventDefinition(error.code, code=error.code),
                      payload={"code": error.code, "message": error.message, **error.data}, target=task.workflow)
    workflow.catch(event)
    if len(workflow.bpmn_events) > pending:  # nobody caught it
        workflow.bpmn_events = workflow.bpmn_events[:pending]
        return False
    task._set_state(TaskState.CANCELLED)  # the boundary event took over from the failed task
    return True


_CALL_EVENTS = {"executed": "handler_executed", "intended": "effect_intended", "settled": "effect_settled",
                "decision": "decision_evaluated"}


def _record_calls(rt: Runtime, loaded: Loaded) -> None:
    for call in loaded.run.calls:
        if call.phase == "decision":
            loaded.record("decision_evaluated", loaded.run.actor, call.task_key, dict(call.result))
            continue
        payload = {"operator": call.operator, "params": call.params, "result": call.result}
        if call.outcome is not None:
            payload["outcome"] = call.outcome
        if call.sealed:
            payload[sealed_rows.PAYLOAD_KEY] = call.sealed
        loaded.record(_CALL_EVENTS[call.phase], loaded.run.actor, call.task_key, payload)
        if call.phase == "intended":
            outbox.add(rt, loaded.run.session, loaded.instance.id, call)
            loaded.calls_asked += 1
    loaded.run.calls.clear()


def _ends_reached(workflow: BpmnWorkflow) -> list[str]:
    """The ids of the end events the main process finished on (one, unless parallel paths ended apart)."""
    return [t.task_spec.bpmn_id for t in workflow.tasks.values()
            if isinstance(t.task_spec, EndEvent) and t.state == TaskState.COMPLETED]


def persist(rt: Runtime, session: Session, loaded: Loaded) -> None:
    """Write back state, task rows, waits, thrown messages, status and history."""
    instance, workflow = loaded.instance, loaded.workflow
    conn = session.connection()
    now = rt.clock()
    _route_thrown_messages(rt, session, loaded, now)
    data = current_data(workflow)
    key = data.get("business_key")
    if isinstance(key, str) and key and key != instance.business_key:
        instance.business_key = key[:120]
    ready = sync_human_tasks(conn, loaded, now)
    setattr(workflow, _NO_WAITS, not sync_waits(conn, loaded, now))
    previous = instance.status
    if workflow.is_completed():
        instance.status = "completed"
        instance.ended_at = now
    elif loaded.incident_open:
        instance.status = "incident"
    elif ready:
        instance.status = "running"
    elif not workflow.event_manager.tasks and not outbox.started_tasks(workflow):
        # nothing to do, nothing to wait for: never silent
        raise_stall(rt, session, loaded)
        instance.status = "incident"
    else:
        instance.status = "waiting"
    if instance.status == "completed" and previous != "completed":
        # The final data is the sealed state's (and replay's); the event only marks the end.
        loaded.record("instance_completed", loaded.run.actor, None, {"end_events": _ends_reached(workflow)})
    instance.state = rt.seal(rt.serializer.dumps(workflow))
    instance.serializer_version = rt.serializer.version
    instance.updated_at = now
    if loaded.pending_events:
        loaded.pending_events[-1][3]["fingerprint"] = fingerprint(workflow)
        late = sealed_rows.take(session, rt.audit_keys)  # sealed rows written outside a handler call
        if late:
            loaded.pending_events[-1][3].setdefault(sealed_rows.PAYLOAD_KEY, {}).update(late)
        history.append_many(conn, instance, loaded.pending_events, at=now, protect=rt.protect, keys=rt.audit_keys)
    loaded.pending_events.clear()
    store.save_instance(conn, instance)
    # First: an external call queued by this step (a payout) then finds the case in the cache when it settles.
    after_commit(session, lambda: rt.workflows.put(instance.id, instance.version, workflow), first=True)


def _route_thrown_messages(rt: Runtime, session: Session, loaded: Loaded, now: datetime) -> None:
    for event in loaded.workflow.get_events():
        definition = event.event_definition
        if not isinstance(definition, MessageEventDefinition):
            continue
        payload = to_plain(event.payload) if event.payload is not None else None
        session.add(MessageModel(
            name=definition.name, payload=canonical_dumps(rt.protect("message", {"payload": payload})),
            correlations=canonical_dumps(
                to_plain(event.correlations or {})), source_instance_id=loaded.instance.id, status="pending",
            created_at=now))
        loaded.record("message_sent", loaded.run.actor, None, {"name": definition.name, "payload": payload})
