"""The wait rows: one per timer, message or signal a workflow waits for, kept in step with it after every operation.

The worker finds due timers and waiting messages through these rows instead of deserializing instances.
A timer that fired inside an operation is recorded there as `timer_fired` with the timer's own id.

A cycle timer (`R3/PT1H`) keeps one row while it waits, with the due time of its next repetition.
SpiffWorkflow moves the cycle's `next` on by one interval for every repetition that fires, so the
repetitions an operation fired are the steps from the row's due time (the next repetition when the
previous operation ended) to the cycle's `next` now. An exhausted cycle no longer waits: its row closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection

from engine.workflow import store
from engine.workflow.store import WaitRecord

if TYPE_CHECKING:
    from engine.workflow.execution import Loaded


@dataclass(frozen=True)
class Waiting:
    """One thing a workflow waits for: a timer (with its due time), a message or a signal."""

    spiff_task_id: str
    kind: str
    name: str | None
    due: datetime | None
    task_key: str

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What identifies its wait row."""
        return self.spiff_task_id, self.kind, self.name


def _task(workflow: BpmnWorkflow, spiff_task_id: str) -> Any:
    """The workflow's task of a wait row; None once it is gone (a subprocess removed with its tasks)."""
    try:
        return workflow.get_task_from_id(UUID(spiff_task_id))
    except TaskNotFoundException:
        return None


def _definitions(task: Any) -> list[Any]:
    definition = getattr(task.task_spec, "event_definition", None)
    return definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]


def _cycle(task: Any) -> dict[str, Any] | None:
    """The cycle state SpiffWorkflow keeps on a cycle timer's task: repetitions left, next due, interval."""
    value = task.internal_data.get("event_value")
    return value if isinstance(value, dict) and {"cycles", "next", "duration"} <= value.keys() else None


def waiting(workflow: BpmnWorkflow) -> list[Waiting]:
    """Everything the workflow waits for; an exhausted cycle timer waits for nothing more."""
    result = []
    for task in list(workflow.event_manager.tasks.values()):
        for item in _definitions(task):
            if isinstance(item, TimerEventDefinition):
                value = item.details(task).value  # a cycle's next repetition, or its state once exhausted
                if isinstance(item, CycleTimerEventDefinition) and not isinstance(value, str):
                    continue
                due = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
                result.append(Waiting(str(task.id), "timer", item.name, due, task.task_spec.bpmn_id))
            elif isinstance(item, MessageEventDefinition):
                result.append(Waiting(str(task.id), "message", item.name, None, task.task_spec.bpmn_id))
            elif isinstance(item, SignalEventDefinition):
                result.append(Waiting(str(task.id), "signal", item.name, None, task.task_spec.bpmn_id))
    return result + _event_subprocess_triggers(workflow)


def _event_subprocess_triggers(workflow: BpmnWorkflow) -> list[Waiting]:
    """The messages and signals that would start one of the process's event subprocesses while the case runs
    (SpiffWorkflow keeps no waiting task for them: `trigger_specs` of the process start)."""
    result = []
    for start in _subprocess_starts(workflow):
        item = start.event_definition
        kind = ("message" if isinstance(item, MessageEventDefinition)
                else "signal" if isinstance(item, SignalEventDefinition) else None)
        if kind is not None:
            result.append(Waiting(str(workflow.task_tree.id), kind, item.name, None, start.bpmn_id))
    return result


def _subprocess_starts(workflow: BpmnWorkflow) -> list[Any]:
    if workflow.is_completed():
        return []
    return [start for name in getattr(workflow.spec.start, "trigger_specs", ())
            for start in getattr(workflow.subprocess_specs.get(name), "bpmn_start_events", ())]


def message_catchers(workflow: BpmnWorkflow, name: str) -> list[Any]:
    """The specs of the events that would catch message `name` now: waiting events and the start events of
    the process's event subprocesses."""
    def catches(definitions: list[Any]) -> bool:
        return any(isinstance(d, MessageEventDefinition) and d.name == name for d in definitions)
    found = []
    for task in list(workflow.event_manager.tasks.values()):
        if not catches(_definitions(task)):
            continue
        definition = task.task_spec.event_definition
        if isinstance(definition, MultipleEventDefinition):  # an event-based gateway: definitions moved onto it
            found += [output for output, item in zip(task.task_spec.outputs, definition.event_definitions,
                                                     strict=False) if catches([item])]
        else:
            found.append(task.task_spec)
    return found + [start for start in _subprocess_starts(workflow) if catches([start.event_definition])]


def sync_waits(conn: Connection, loaded: Loaded, now: datetime) -> bool:
    """Make the wait rows match what the workflow waits for, recording the timers that fired in this operation;
    whether the case has pending wait rows now. The rows are read only when some may exist."""
    instance, workflow = loaded.instance, loaded.workflow
    current = {w.key: w for w in waiting(workflow)}
    if loaded.fresh or (loaded.no_waits and not current):
        rows = {}
    else:
        rows = {(r.spiff_task_id, r.kind, r.name): r for r in store.pending_waits(conn, instance.id)}
    store.insert_waits(conn, [
        {"instance_id": instance.id, "spiff_task_id": w.spiff_task_id, "kind": w.kind, "name": w.name,
         "due_at": w.due, "task_key": w.task_key, "status": "pending", "created_at": now}
        for key, w in current.items() if key not in rows])
    for key, row in rows.items():
        cycle_dues = _cycle_repetitions(workflow, row)
        if cycle_dues is not None:
            _record_repetitions(loaded, row, cycle_dues)
        if key in current:
            if row.due_at != current[key].due:
                store.update_wait(conn, row.id, due_at=current[key].due)  # a cycle timer moved on
            continue
        store.update_wait(conn, row.id, status="done", done_at=now)
        if row.kind != "timer" or cycle_dues is not None:
            continue  # a message, or a cycle timer (its repetitions are recorded above)
        fired = fired_timer(workflow, row.spiff_task_id, row.name)
        if fired is None:
            continue  # cancelled with what it waited beside
        if row.id == loaded.firing_wait:
            loaded.fired_repetitions = 1
        else:  # due while someone did something else in this case: it fired here, not in the worker
            loaded.record("timer_fired", None, fired, {
                "due": row.due_at.isoformat() if row.due_at else None, "wait": row.id})
    return bool(current)


def _record_repetitions(loaded: Loaded, row: WaitRecord, dues: list[datetime]) -> None:
    """One `timer_fired` for every repetition of a cycle timer this operation fired; the worker has recorded
    the first of the one it fires already."""
    if row.id == loaded.firing_wait:
        loaded.fired_repetitions = len(dues)
        dues = dues[1:]
    for due in dues:
        loaded.record("timer_fired", None, row.task_key, {"due": due.isoformat(), "wait": row.id})


def _cycle_repetitions(workflow: BpmnWorkflow, row: WaitRecord) -> list[datetime] | None:
    """The due times of the repetitions a cycle timer's row saw fire since it was last synced; None when the
    row is not a cycle timer's."""
    if row.kind != "timer":
        return None
    task = _task(workflow, row.spiff_task_id)
    if task is None or not any(isinstance(d, CycleTimerEventDefinition) and d.name == row.name
                               for d in _definitions(task)):
        return None
    cycle = _cycle(task)
    if cycle is None or row.due_at is None:
        return []
    step = timedelta(seconds=cycle["duration"])
    next_due = TimerEventDefinition.get_datetime(cycle["next"])
    if step <= timedelta(0):  # a zero interval never moves on: nothing tells how often it fired
        return []
    dues, due = [], row.due_at
    while due < next_due:
        dues.append(due)
        due += step
    return dues


_WENT_ON = TaskState.READY | TaskState.COMPLETED


def fired_timer(workflow: BpmnWorkflow, spiff_task_id: str, name: str | None) -> str | None:
    """The id of the timer event that went on (fired) from this wait; None when it was cancelled with
    what it waited beside. An event-based gateway waits for all its events at once: its timer is the
    catch event after it that went on."""
    task = _task(workflow, spiff_task_id)
    if task is None:
        return None
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        # SpiffWorkflow moves the catch events' definitions onto the gateway, in the order of its outputs.
        for output, item in zip(task.task_spec.outputs, definition.event_definitions, strict=False):
            if not (isinstance(item, TimerEventDefinition) and item.name == name):
                continue
            if any(child.task_spec is output and child.state & _WENT_ON for child in task.children):
                return output.bpmn_id
        return None
    return task.task_spec.bpmn_id if task.state & _WENT_ON else None
