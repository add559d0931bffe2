"""Moving waiting instances to a newer deployment — only when nothing they did or wait for was changed.

For callers (API, CLI, the studio):

    plan_migration(rt, actor, from_deployment, to_deployment, process_key=None, instance_ids=None)
        -> MigrationReport   # what would move and, for what would not, why; changes nothing
    migrate(rt, actor, from_deployment, to_deployment, *, process_key=None, instance_ids=None,
            dry_run=False, expected_versions=None) -> MigrationReport

Each `InstanceOutcome.outcome` is "migrated", "can migrate", "cannot migrate" (with `reasons` in
words) or "conflict" (the instance changed while it was being moved, or since the version the caller
saw). Only analysts and administrators migrate.

A migration re-pins the instance (definition and deployment), moves its SpiffWorkflow state onto the
target's specs with SpiffWorkflow's diff utilities, re-syncs its task and wait rows, and appends an
`instance_migrated` event. `switch_workflow` is the one way a live workflow changes specs: a replay
that meets `instance_migrated` calls it too (`replay_migration`), so both end in the same state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, diff_dependencies, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import store
from .clock import using_clock
from .errors import ConflictError, InvalidInputError
from .execution import load, persist, run_steps
from .identity import Actor, require
from .models import DeploymentModel, EventModel, InstanceModel, ProcessDefinitionModel
from .parsing import ProcessSpecs
from .progress import Progress, quiet
from .runtime import Runtime
from .service_results import with_exact_service_tasks

MIGRATORS = {"analyst", "admin"}
MIGRATABLE = ("running", "waiting", "incident")
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


@dataclass(frozen=True)
class InstanceOutcome:
    """One instance of a migration (or its dry run)."""

    id: int
    process_key: str
    business_key: str | None
    status: str
    version: int
    outcome: str
    reasons: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeploymentRef:
    """A deployment as a migration names it."""

    id: int
    hash: str


@dataclass(frozen=True)
class MigrationReport:
    """What moved (or would move) and what did not, and why."""

    source: DeploymentRef
    target: DeploymentRef
    dry_run: bool
    instances: list[InstanceOutcome]

    def count(self, outcome: str) -> int:
        """How many instances had `outcome`."""
        return sum(1 for i in self.instances if i.outcome == outcome)


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


@dataclass(frozen=True)
class _Target:
    deployment: DeploymentModel
    definitions: dict[str, ProcessDefinitionModel]


def _deployment(session: Session, deployment_id: Any, field_name: str) -> _Target:
    if isinstance(deployment_id, bool) or not isinstance(deployment_id, int):
        raise InvalidInputError(f"'{field_name}' must be a deployment id", {"fields": {field_name: "not an id"}})
    row = session.get(DeploymentModel, deployment_id)
    if row is None:
        raise InvalidInputError(f"there is no deployment {deployment_id}",
                                {"fields": {field_name: f"no deployment {deployment_id}"}})
    defs = session.scalars(select(ProcessDefinitionModel).where(ProcessDefinitionModel.deployment_id == row.id))
    return _Target(row, {d.key: d for d in defs})


def _selection(session: Session, source: _Target, target: _Target, process_key: str | None,
               instance_ids: list[int] | None) -> list[InstanceModel]:
    """The instances to consider, after checking the request makes sense."""
    if source.deployment.id == target.deployment.id:
        raise InvalidInputError("the source and the target are the same deployment",
                                {"fields": {"to": "the same deployment as 'from'"}})
    if process_key is not None:
        for side in (source, target):
            if process_key not in side.definitions:
                raise InvalidInputError(f"deployment {side.deployment.id} has no process {process_key!r}",
                                        {"fields": {"process": f"not in deployment {side.deployment.id}"}})
    elif not set(source.definitions) & set(target.definitions):
        raise InvalidInputError(
            f"deployments {source.deployment.id} and {target.deployment.id} have no process in common",
            {"fields": {"to": "holds none of the source's processes"}})
    query = select(InstanceModel).where(InstanceModel.deployment_id == source.deployment.id)
    if process_key is not None:
        query = query.where(InstanceModel.process_key == process_key)
    if instance_ids is not None:
        rows = list(session.scalars(query.where(InstanceModel.id.in_(instance_ids))))
        missing = sorted(set(instance_ids) - {r.id for r in rows})
        if missing:
            raise InvalidInputError(
                f"instance(s) {', '.join(map(str, missing))} are not instances of deployment {source.deployment.id}"
                + (f" and process {process_key!r}" if process_key else ""),
                {"fields": {"instances": f"not in the source: {', '.join(map(str, missing))}"}})
        return sorted(rows, key=lambda r: r.id)
    return list(session.scalars(query.where(InstanceModel.status.in_(MIGRATABLE)).order_by(InstanceModel.id)))


def _outcome(instance: Any, outcome: str, reasons: list[str], changes: list[str] | None = None,
             version: int | None = None) -> InstanceOutcome:
    return InstanceOutcome(instance.id, instance.process_key, instance.business_key, instance.status,
                           instance.version if version is None else version, outcome, reasons, changes or [])


def _judge(rt: Runtime, session: Session, instance: Any, target: _Target, lock: bool) -> tuple[Any, Assessment]:
    """Load an instance and decide whether it can move; (loaded or None, assessment)."""
    found = Assessment()
    if instance.status not in MIGRATABLE:
        found.blockers.append(f"instance is {instance.status}")
        return None, found
    if instance.process_key not in target.definitions:
        found.blockers.append(f"the target deployment has no process '{instance.process_key}'")
        return None, found
    loaded = load(rt, session, instance.id, None, lock=lock, instance=instance if lock else None)
    found = assess(loaded.workflow, rt.specs.get(session, target.deployment.id).processes[instance.process_key])
    if instance.status == "incident":
        found.blockers.insert(0, "instance has an open incident: resolve or retry it first")
    return loaded, found


def plan_migration(rt: Runtime, actor: Actor, from_deployment: int, to_deployment: int,
                   process_key: str | None = None, instance_ids: list[int] | None = None) -> MigrationReport:
    """What would move from one deployment to another and, for what would not, why; changes nothing."""
    return migrate(rt, actor, from_deployment, to_deployment, process_key=process_key, instance_ids=instance_ids,
                   dry_run=True)


def migrate(rt: Runtime, actor: Actor, from_deployment: int, to_deployment: int, *, process_key: str | None = None,
            instance_ids: list[int] | None = None, dry_run: bool = False,
            expected_versions: Mapping[int, int] | None = None, progress: Progress = quiet) -> MigrationReport:
    """Move every movable instance, each in its own transaction; the report says what happened to each
    (`progress` is told after each instance)."""
    require(actor, MIGRATORS, "migrate instances")
    with rt.uow(read_only=True) as uow:
        session = uow.session
        source = _deployment(session, from_deployment, "from")
        target = _deployment(session, to_deployment, "to")
        chosen = _selection(session, source, target, process_key, instance_ids)
        report = MigrationReport(DeploymentRef(source.deployment.id, source.deployment.hash),
                                 DeploymentRef(target.deployment.id, target.deployment.hash), dry_run, [])
        if dry_run:
            for done, instance in enumerate(chosen, 1):
                _loaded, found = _judge(rt, session, instance, target, lock=False)
                outcome = "cannot migrate" if found.blockers else "can migrate"
                report.instances.append(_outcome(instance, outcome, found.blockers, found.changes))
                progress("dry run", done, len(chosen))
            return report
    seen = {i.id: i.version for i in chosen}
    seen.update(expected_versions or {})
    for done, instance in enumerate(chosen, 1):
        report.instances.append(_migrate_one(rt, actor, instance.id, seen[instance.id], source, target))
        progress("migrate", done, len(chosen))
    return report


def _migrate_one(rt: Runtime, actor: Actor, instance_id: int, seen_version: int, source: _Target,
                 target: _Target) -> InstanceOutcome:
    rt = rt.frozen()
    try:
        with rt.uow() as uow:
            session = uow.session
            instance = store.get_instance(session.connection(), instance_id, lock=True)
            if instance.version != seen_version or instance.deployment_id != source.deployment.id:
                return _outcome(instance, "conflict", [
                    f"instance changed meanwhile (version {seen_version} → {instance.version}); plan again"])
            loaded, found = _judge(rt, session, instance, target, lock=True)
            if found.blockers or loaded is None:
                return _outcome(instance, "cannot migrate", found.blockers, found.changes)
            new = rt.specs.get(session, target.deployment.id)
            definition = target.definitions[instance.process_key]
            with using_clock(rt.clock):
                switch_workflow(loaded.workflow, new.processes[instance.process_key])
            loaded.parsed, loaded.process = new, new.processes[instance.process_key]
            old_definition = source.definitions.get(instance.process_key)
            loaded.record("instance_migrated", actor.username, None, {
                "from": {"deployment": source.deployment.id, "hash": source.deployment.hash,
                         "version": old_definition.version if old_definition else None},
                "to": {"deployment": target.deployment.id, "hash": target.deployment.hash,
                       "version": definition.version},
                "changes": found.changes,
            })
            repinned = session.execute(
                update(InstanceModel).where(InstanceModel.id == instance.id, InstanceModel.version == seen_version)
                .values(definition_id=definition.id, deployment_id=target.deployment.id)).rowcount
            if repinned != 1:
                raise ConflictError(f"instance {instance.id} was changed by someone else meanwhile")
            instance.definition_id, instance.deployment_id = definition.id, target.deployment.id
            run_steps(rt, loaded)
            persist(rt, session, loaded)
            result = _outcome(instance, "migrated", [], found.changes)
            uow.commit()
            return result
    except ConflictError as exc:
        return InstanceOutcome(instance_id, "", None, "", seen_version, "conflict", [exc.message])


def started_on(rt: Runtime, session: Session, instance: InstanceModel, events: list[EventModel]) -> ProcessSpecs:
    """The process an instance started on: the source of its first migration, else its pinned one."""
    return rt.specs.get(session, deployments_run_on(instance, events)[0]).processes[instance.process_key]


def deployments_run_on(instance: InstanceModel, events: list[EventModel]) -> list[int]:
    """The deployments a case ran on, in order: where it started, then each migration's target."""
    ran_on: list[int] = []
    for event in events:
        if event.type == "instance_migrated":
            moved = json.loads(event.payload)
            ran_on = ran_on or [moved["from"]["deployment"]]
            ran_on.append(moved["to"]["deployment"])
    return ran_on or [instance.deployment_id]


def replay_migration(rt: Runtime, workflow: BpmnWorkflow, payload: dict[str, Any]) -> None:
    """Re-apply a recorded `instance_migrated` to a replayed workflow, exactly as the migration did."""
    with rt.uow(read_only=True) as uow:
        parsed = rt.specs.get(uow.session, payload["to"]["deployment"])
    spec: BpmnProcessSpec = workflow.spec
    process = next((p for p in parsed.processes.values() if p.spec.name == spec.name), None)
    if process is None:
        raise MigrationBlockedError(f"deployment {payload['to']['deployment']} has no process {spec.name!r}")
    switch_workflow(workflow, process)
