"""Deterministic replay: re-run an instance on its pinned deployment from the recorded inputs only.

Each step of the history (the events one engine operation wrote together, the last carrying the
state fingerprint) is re-applied: the recorded start data, form submissions, timer firings, messages
and incident retries, at the step's recorded time, with every handler answered from its recorded
result — no handler runs, no side effect happens. After each step the fingerprint of the replayed
state must equal the recorded one; the first step where it does not is reported.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.authoring.migration import replay_migration, started_on
from engine.workflow.actors import Actor, require
from engine.workflow.clock import fixed_clock, using_clock
from engine.workflow.decisions import DecisionRecord, describe
from engine.workflow.execution import advance, fingerprint
from engine.workflow.instances import find_instance
from engine.workflow.jsonutil import canonical_dumps, loads
from engine.workflow.models import EventModel, InstanceModel
from engine.workflow.progress import Progress, quiet
from engine.workflow.registry import BpmnError, Effect
from engine.workflow.runtime import Runtime
from engine.workflow.sandbox import RestrictedEnvironment, SandboxError
from engine.workflow.script_engine import EffectDeferred

REPLAYERS = {"auditor", "admin"}
# Events that change who holds a task but not the workflow: nothing to re-run.
_OWNERSHIP = {"task_claimed", "task_released", "task_assigned"}
# Events about the case that are not engine steps (an auditor revealing personal data): nothing to re-run.
_NOT_STEPS = _OWNERSHIP | {"data_unmasked", "record_changed"}


# History events that answer a service task: a handler's result, an external call asked for, its outcome.
_HANDLER_EVENTS = {"handler_executed", "effect_intended", "effect_settled"}


class ReplayDivergedError(Exception):
    """The recorded history cannot be re-applied at this point."""


@dataclass(frozen=True)
class ReplayResult:
    """'consistent, N steps', or the first step that differs."""

    instance_id: int
    consistent: bool
    steps: int
    seq: int | None = None
    event: str | None = None
    expected: str | None = None
    actual: str | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.consistent:
            return f"instance {self.instance_id}: consistent, {self.steps} steps"
        return (f"instance {self.instance_id}: diverges at event #{self.seq} ({self.event}): {self.reason}"
                + (f" — expected {self.expected[:12]}…, replay gave {self.actual[:12]}…" if self.actual else ""))


class _RecordedFailure(Exception):
    """Stands in for a handler that failed when the step first ran."""


class _ReplayScriptEngine(PythonScriptEngine):
    """Scripts run in the same sandbox; service tasks answer from the recorded results."""

    def __init__(self, rt: Runtime):
        super().__init__(environment=RestrictedEnvironment(limits=rt.limits))
        self.results: deque[dict[str, Any]] = deque()
        self.failure: str | None = None
        # The step's recorded decisions, checked against the re-evaluated ones; None for a history from before
        # decisions were recorded (it holds no decision_evaluated at all).
        self.decisions: deque[dict[str, Any]] | None = None
        self.check_decisions = True

    def note_decision(self, record: DecisionRecord) -> None:
        """The re-evaluated decision must be the recorded one, rule for rule."""
        if self.decisions is None:
            return
        if not self.decisions:
            raise ReplayDivergedError(f"{record.task_key} decided {describe(record.payload())}, but no decision "
                                      "was recorded")
        recorded = self.decisions.popleft()
        if canonical_dumps(recorded) != canonical_dumps(record.payload()):
            raise ReplayDivergedError(f"{record.task_key} decides {describe(record.payload())} now; the record says "
                                      f"{describe(recorded)}")

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
        if not self.results:
            if self.failure is not None:
                raise _RecordedFailure(self.failure)
            raise ReplayDivergedError(f"{task.task_spec.bpmn_id} calls {operation_name!r}, but no result was recorded")
        recorded = self.results.popleft()
        if recorded["operator"] != operation_name or recorded["task"] != task.task_spec.bpmn_id:
            raise ReplayDivergedError(f"{task.task_spec.bpmn_id} calls {operation_name!r}, but the record has "
                                      f"{recorded['operator']!r} at {recorded['task']}")
        result = recorded["result"]
        if isinstance(result, dict) and "bpmn_error" in result:
            raise BpmnError(result["bpmn_error"], result.get("message", ""), result.get("data"))
        if recorded["event"] == "effect_intended":  # the step asked for an external call and waited
            raise EffectDeferred(Effect(result["effect"], result["key"]), task.id)
        if recorded["event"] == "effect_settled" and isinstance(result, dict) and "failed" in result:
            raise _RecordedFailure(result["failed"])  # the outcome came back and could not be recorded
        return canonical_dumps(result)


def _records_decisions(events: list[EventModel]) -> bool:
    """Whether the history records its decisions (every case since decision_evaluated exists that ran a rule
    table); an older one is replayed without the check."""
    return any(event.type == "decision_evaluated" for event in events)


def _steps(rt: Runtime, events: list[EventModel]) -> list[list[tuple[EventModel, dict[str, Any]]]]:
    """Group the history into engine steps: each ends with the event that carries a fingerprint."""
    steps, current = [], []
    for event in events:
        if event.type in _NOT_STEPS:
            continue
        payload = rt.reveal(event.type, loads(event.payload))
        current.append((event, payload))
        if "fingerprint" in payload:
            steps.append(current)
            current = []
    if current:
        steps.append(current)
    return steps


def _diverged(exc: BaseException) -> ReplayDivergedError | None:
    while exc is not None:
        if isinstance(exc, ReplayDivergedError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _ready(workflow: BpmnWorkflow, task_key: str, state: TaskState = TaskState.READY) -> Any:
    for task in workflow.get_tasks(state=state):
        if task.task_spec.bpmn_id == task_key:
            return task
    raise ReplayDivergedError(f"no task {task_key!r} is {TaskState.get_name(state)} at this point")


def _started(workflow: BpmnWorkflow, task_key: str | None) -> bool:
    return any(t.task_spec.bpmn_id == task_key for t in workflow.get_tasks(state=TaskState.STARTED))


def _apply(rt: Runtime, workflow: BpmnWorkflow | None, first: EventModel, payload: dict[str, Any],
           process: Any, engine: _ReplayScriptEngine) -> BpmnWorkflow:
    kind = first.type
    if kind == "instance_started":
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=engine)
        workflow.task_tree.data.update(payload.get("data") or {})
        return workflow
    if workflow is None:
        raise ReplayDivergedError("the history does not begin with instance_started")
    if kind == "effect_settled":  # an external call's outcome: the waiting step runs again to record it
        _ready(workflow, first.task_key, TaskState.STARTED)._set_state(TaskState.READY)
    elif kind in ("incident_raised", "incident_failed_again") or (
            kind == "incident_retried" and _started(workflow, first.task_key)):
        pass  # an external call got no answer, or is asked again: the workflow waits as it did
    elif kind == "task_completed":
        task = _ready(workflow, first.task_key)
        task.data.update(payload.get("data") or {})
        task.run()
    elif kind == "message_delivered":
        workflow.send_event(BpmnEvent(MessageEventDefinition(payload["name"]), payload=payload.get("payload")))
    elif kind == "signal_received":
        workflow.send_event(BpmnEvent(SignalEventDefinition(payload["name"]), payload=payload.get("payload")))
    elif kind == "timer_fired":
        workflow.refresh_timers()
    elif kind == "incident_retried":
        workflow.reset_from_task_id(_ready(workflow, first.task_key, TaskState.ERROR).id)
    elif kind == "instance_migrated":
        replay_migration(rt, workflow, payload)
    else:
        raise ReplayDivergedError(f"a step cannot begin with {kind}")
    return workflow


def run_step(rt: Runtime, workflow: BpmnWorkflow | None, step: list[tuple[EventModel, dict[str, Any]]],
             process: Any, engine: _ReplayScriptEngine) -> BpmnWorkflow:
    """Re-apply one recorded step at its recorded time, handlers answered from the record; the workflow after it."""
    first, first_payload = step[0]
    engine.results = deque({"operator": p["operator"], "task": e.task_key, "result": p["result"], "event": e.type}
                           for e, p in step if e.type in _HANDLER_EVENTS)
    recorded = [{k: v for k, v in p.items() if k != "fingerprint"} for e, p in step if e.type == "decision_evaluated"]
    engine.decisions = deque(recorded) if engine.check_decisions else None
    failures = [p.get("error") for e, p in step if e.type in ("incident_raised", "incident_failed_again")]
    engine.failure = failures[0] if failures else None
    with using_clock(fixed_clock(first.occurred_at)):
        workflow = _apply(rt, workflow, first, first_payload, process, engine)
        workflow.script_engine = engine
        try:
            advance(workflow)
        except (Exception, SandboxError) as exc:
            if _diverged(exc) or engine.failure is None:
                raise
    return workflow


def replay_instance(rt: Runtime, instance_id: int, actor: Actor) -> ReplayResult:
    """Replay one instance and compare its state after every step with the recorded fingerprint."""
    require(actor, REPLAYERS, "replay instances")
    with rt.uow() as uow:
        instance = find_instance(uow, instance_id)
        events = list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == instance_id)
                                          .order_by(EventModel.seq)))
        process = started_on(rt, uow.session, instance, events)
    engine = _ReplayScriptEngine(rt)
    engine.check_decisions = _records_decisions(events)
    workflow: BpmnWorkflow | None = None
    steps = _steps(rt, events)
    for number, step in enumerate(steps, start=1):
        first, _first_payload = step[0]
        last, last_payload = step[-1]
        try:
            workflow = run_step(rt, workflow, step, process, engine)
        except (Exception, SandboxError) as exc:
            diverged = _diverged(exc)
            reason = str(diverged) if diverged else f"replay raised {type(exc).__name__}: {exc}"
            return ReplayResult(instance_id, False, number - 1, first.seq, first.type, reason=reason)
        recorded = last_payload.get("fingerprint")
        if engine.decisions:
            return ReplayResult(instance_id, False, number - 1, first.seq, first.type,
                                reason=f"{len(engine.decisions)} recorded decision(s) were never evaluated")
        if engine.results:
            return ReplayResult(instance_id, False, number - 1, first.seq, first.type,
                                reason=f"{len(engine.results)} recorded handler result(s) were never asked for")
        if recorded is None:
            return ReplayResult(instance_id, False, number - 1, last.seq, last.type,
                                reason="the step's recorded fingerprint is missing")
        actual = fingerprint(workflow)
        if actual != recorded:
            return ReplayResult(instance_id, False, number - 1, last.seq, last.type, recorded, actual,
                                "the replayed state differs from the recorded one")
    return ReplayResult(instance_id, True, len(steps))


@dataclass
class ReplayedStep:
    """One step of a case re-run from its history: its events (payloads revealed) and the workflow after it."""

    number: int
    events: list[tuple[EventModel, dict[str, Any]]]
    workflow: BpmnWorkflow | None
    error: str | None = None


def replayed_steps(rt: Runtime, events: list[EventModel], process: Any) -> Iterator[ReplayedStep]:
    """The case's steps re-run one by one on `process` (its pinned deployment's specs), each with the
    workflow exactly as the engine had it after that step; a step that cannot be re-applied ends the walk
    with its error (and no workflow)."""
    engine = _ReplayScriptEngine(rt)
    engine.check_decisions = _records_decisions(events)
    workflow: BpmnWorkflow | None = None
    for number, step in enumerate(_steps(rt, events), start=1):
        try:
            workflow = run_step(rt, workflow, step, process, engine)
        except (Exception, SandboxError) as exc:
            diverged = _diverged(exc)
            yield ReplayedStep(number, step, None, str(diverged) if diverged else f"{type(exc).__name__}: {exc}")
            return
        yield ReplayedStep(number, step, workflow)


def replay_all(rt: Runtime, actor: Actor, progress: Progress = quiet) -> list[ReplayResult]:
    """Replay every instance, telling `progress` after each."""
    require(actor, REPLAYERS, "replay instances")
    with rt.uow() as uow:
        ids = list(uow.session.scalars(select(InstanceModel.id).order_by(InstanceModel.id)))
    results = []
    for done, instance_id in enumerate(ids, 1):
        results.append(replay_instance(rt, instance_id, actor))
        progress("replay", done, len(ids))
    return results
