"""Moving a live workflow onto other specs, and whether it may move: the one way a migration and a replay of
`instance_migrated` change a workflow's specs (engine/authoring/migration.py chooses the cases and records the move).

A case may move only when nothing it did or waits for changed: an element a task ran or waits at keeps its
spec; the reasons are said in an analyst's words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, diff_dependencies, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.workflow.parsing import ProcessSpecs
from engine.workflow.service_results import with_exact_service_tasks

# A task in one of these states has run or is running: its element may not change under it.
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
_DONE = TaskState.COMPLETED
# Spec attributes in the words an analyst uses (anything else is shown with spaces for underscores).
_WORDS = {
    "bpmn_name": "name", "typename": "element type", "decision_table": "decision table",
    "cond_task_specs": "conditions", "default_task_spec": "default flow", "outputs": "outgoing flows",
    "inputs": "incoming flows", "extensions": "properties", "operation_name": "handler",
    "operation_params": "handler parameters", "script": "script", "prescript": "pre-script",
    "postscript": "post-script", "event_definition": "event", "lane": "lane", "spec": "called process",
    "cancel_activity": "interrupting", "data_input_associations": "inputs", "result_variable": "result variable",
}
# Spec diffs compare specs through a serializer registry; this one knows every spiff spec.
_REGISTRY = BpmnWorkflowSerializer.configure(with_exact_service_tasks(SPIFF_CONFIG))


class MigrationBlockedError(Exception):
    """The workflow cannot be moved onto the target specs (the reasons are in the message)."""


@dataclass
class Assessment:
    """Whether a live workflow can move onto a target, why not, and what changes along the way."""

    blockers: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    top: WorkflowDiff | None = None
    subprocesses: dict[Any, WorkflowDiff] = field(default_factory=dict)


def _label(spec: Any) -> str:
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name


def _what(changes: list[str]) -> str:
    return ", ".join(_WORDS.get(c, c.replace("_", " ")) for c in changes)


def _is_timer(spec: Any) -> bool:
    definition = getattr(spec, "event_definition", None)
    return definition is not None and "Timer" in type(definition).__name__


def _task_reason(task: Any, changes: list[str] | None, where: str) -> str:
    """One blocking reason, as an analyst reads it."""
    label = _label(task.task_spec)
    if changes is None:  # removed
        if task.state & _DONE:
            return f"completed task '{label}'{where} no longer exists"
        kind = "timer" if _is_timer(task.task_spec) else "waiting task"
        return f"the {kind} '{label}'{where} no longer exists"
    if _is_timer(task.task_spec) and task.state & TaskState.WAITING:
        return f"timer '{label}'{where} was changed ({_what(changes)}); its due time cannot carry over"
    if task.state & _DONE:
        return f"task '{label}'{where} was changed ({_what(changes)}) after it ran"
    return f"task '{label}'{where} was changed ({_what(changes)}) while the case waits at it"


def _check_diff(diff: WorkflowDiff, spec_diff: SpecDiff, where: str, found: Assessment) -> None:
    for task in diff.removed:
        if task.state & (_ACTIVE | _DONE) and task.task_spec.bpmn_id:
            found.blockers.append(_task_reason(task, None, where))
    for task in diff.changed:
        if task.state & (_ACTIVE | _DONE) and task.task_spec.bpmn_id:
            found.blockers.append(_task_reason(task, spec_diff.changed[task.task_spec], where))
    for spec, changes in spec_diff.changed.items():
        if spec.bpmn_id:
            found.changes.append(f"'{_label(spec)}'{where}: {_what(changes)} changed")
    for spec in spec_diff.removed:
        if spec.bpmn_id:
            found.changes.append(f"'{_label(spec)}'{where} removed")
    for spec in spec_diff.added:
        if spec.bpmn_id:
            found.changes.append(f"'{_label(spec)}'{where} added")


def assess(workflow: BpmnWorkflow, target: ProcessSpecs) -> Assessment:
    """Compare a live workflow (and its running call activities) with the target's specs."""
    found = Assessment()
    spec_diff = SpecDiff(_REGISTRY, workflow.spec, target.spec)
    try:
        found.top = WorkflowDiff(workflow, spec_diff)
    except KeyError as missing:
        # SpiffWorkflow's SpecDiff only reaches the specs linked from the process start; a triggered event
        # subprocess is not among them, and its task has nothing to be compared with.
        spec = missing.args[0] if missing.args else None
        found.blockers.append(f"its event subprocess '{_label(spec) if spec is not None else '?'}' is running: "
                              "a case is moved only when none runs — let it finish, then migrate")
        return found
    _check_diff(found.top, spec_diff, "", found)
    for sp_id, sp in workflow.subprocesses.items():
        name = sp.spec.name
        new = target.subprocess_specs.get(name)
        if new is None:
            found.blockers.append(f"the called process '{name}' it is running no longer exists")
            continue
        sp_diff = SpecDiff(_REGISTRY, sp.spec, new)
        found.subprocesses[sp_id] = WorkflowDiff(sp, sp_diff)
        _check_diff(found.subprocesses[sp_id], sp_diff, f" in '{name}'", found)
    running = {sp.spec.name for sp in workflow.subprocesses.values()}
    deps, added = diff_dependencies(_REGISTRY, workflow.subprocess_specs, target.subprocess_specs)
    for name, dep in sorted(deps.items()):
        if name in running:
            continue
        if dep is None:
            found.changes.append(f"called process '{name}' removed")
        elif dep.changed or dep.added or dep.removed:
            found.changes.append(f"called process '{name}' changed")
    found.changes += [f"called process '{name}' added" for name in sorted(added)]
    found.blockers = list(dict.fromkeys(found.blockers))
    found.changes = list(dict.fromkeys(found.changes))
    return found


def switch_workflow(workflow: BpmnWorkflow, target: ProcessSpecs) -> Assessment:
    """Move a live workflow onto the target's specs: the one way migration and replay both do it.

    SpiffWorkflow resets every ready or waiting task when it migrates; their data and timer due
    times are put back, so a migration never restarts a clock or loses what a task held."""
    found = assess(workflow, target)
    if found.blockers:
        raise MigrationBlockedError("; ".join(found.blockers))
    kept = {task.id: (task.task_spec.name, task.state, task.data, dict(task.internal_data))
            for wf in (workflow, *workflow.subprocesses.values())
            for task in wf.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True)}
    assert found.top is not None
    migrate_workflow(found.top, workflow, target.spec)
    for sp_id, diff in found.subprocesses.items():
        sp = workflow.subprocesses[sp_id]
        migrate_workflow(diff, sp, target.subprocess_specs[sp.spec.name])
    workflow.subprocess_specs = target.subprocess_specs
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            before = kept.get(task.id)
            if before is not None and before[0] == task.task_spec.name and task.state == before[1]:
                task.data, task.internal_data = before[2], before[3]
    return found
