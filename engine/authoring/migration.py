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
`instance_migrated` event. `switch_workflow` (engine/authoring/workflow_switch.py) is the one way a live workflow
changes specs: a replay that meets `instance_migrated` calls it too (`replay_migration`), so both end in the
same state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError
from engine.workflow import store
from engine.workflow.actors import Actor, require
from engine.workflow.clock import using_clock
from engine.workflow.execution import load, persist, run_steps
from engine.workflow.models import DeploymentModel, EventModel, InstanceModel, ProcessDefinitionModel
from engine.workflow.parsing import ProcessSpecs
from engine.workflow.progress import Progress, quiet
from engine.workflow.runtime import Runtime

from .workflow_switch import Assessment, MigrationBlockedError, assess, switch_workflow

MIGRATORS = {"analyst", "admin"}
MIGRATABLE = ("running", "waiting", "incident")
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
