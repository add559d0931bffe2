"""Event subprocesses started by a message run to their end when the case is saved and reloaded between steps (a
freshly started runtime: new spec cache, new workflow cache), and what one case triggers never reaches another case
of the same cached spec.

The data a case ends with is what bare SpiffWorkflow 3.2 ends the same case with: the main path's data. The event
subprocess's own data (its message variable, its tasks' answers) stays in its tasks, and an interrupting event
subprocess does not cancel the main path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from engine.audit.replay import replay_instance
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel, InstanceModel
from engine.workflow.runtime import Runtime, SpecCache, WorkflowCache
from tests.conftest import World, fixture_files

WITHDRAWAL = {"reason": "sold the car"}


def restarted(world: World) -> Runtime:
    """The same database and settings, nothing in memory: what another worker process has."""
    return replace(world.rt, specs=SpecCache(), workflows=WorkflowCache())


def open_rows(rt: Runtime, case: int) -> list[HumanTaskModel]:
    """The case's open human tasks, oldest first."""
    with rt.uow(read_only=True) as uow:
        return list(uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.status == "open").order_by(HumanTaskModel.id)))


def open_tasks(rt: Runtime, case: int) -> dict[str, HumanTaskModel]:
    """The case's open human tasks by task id, for cases where each task is open at most once."""
    return {row.task_key: row for row in open_rows(rt, case)}


def complete(rt: Runtime, world: World, case: int, task_key: str, answer: dict[str, Any]) -> None:
    """Complete the case's open task `task_key` as the clerk."""
    task_service.complete(rt, open_tasks(rt, case)[task_key].id, world.actor("clerk"), answer)


def completed_in_order(world: World, case: int) -> list[str]:
    """The human tasks the case's history records as completed, in order."""
    return [e["task"] for e in instances.instance_history(world.rt, case, OPERATOR) if e["type"] == "task_completed"]


def cached_links(rt: Runtime, case: int) -> dict[str, tuple[list[str], list[str]]]:
    """How the task specs of the case's cached process spec are connected: inputs and outputs by name."""
    with rt.uow(read_only=True) as uow:
        instance = uow.session.get(InstanceModel, case)
        process = rt.specs.get(uow.session, instance.deployment_id).processes[instance.process_key]
    specs = [process.spec, *process.subprocess_specs.values()]
    return {f"{spec.name}/{name}": ([t.name for t in ts.inputs], [t.name for t in ts.outputs])
            for spec in specs for name, ts in spec.task_specs.items()}


def withdraw_across_restarts(world: World) -> int:
    """A withdrawable claim, withdrawn and finished with every step on a freshly started runtime."""
    case = instances.start_instance(restarted(world), "withdrawable_claim", {"claim": "C-7"}, world.actor("clerk")).id
    instances.deliver_message(restarted(world), case, "withdrawn", WITHDRAWAL, world.actor("clerk"))
    complete(restarted(world), world, case, "confirm_withdrawal", {"confirmed": True})
    complete(restarted(world), world, case, "assess", {"assessed": True})
    return case


def test_an_interrupting_message_event_subprocess_finishes_after_a_restart(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_event_subprocess"), OPERATOR)
    case = instances.start_instance(restarted(world), "withdrawable_claim", {"claim": "C-7"}, world.actor("clerk")).id
    instances.deliver_message(restarted(world), case, "withdrawn", WITHDRAWAL, world.actor("clerk"))

    rt = restarted(world)
    opened = open_tasks(rt, case)
    assert sorted(opened) == ["assess", "confirm_withdrawal"]  # SpiffWorkflow 3.2 does not cancel the main path
    seen = task_service.get_task(rt, opened["confirm_withdrawal"].id, world.actor("clerk")).data
    assert seen == {"claim": "C-7", "withdrawal": WITHDRAWAL, "withdrawal_reason": "sold the car"}

    complete(restarted(world), world, case, "confirm_withdrawal", {"confirmed": True})
    assert instances.show_instance(restarted(world), case, OPERATOR).status == "running"
    complete(restarted(world), world, case, "assess", {"assessed": True})

    shown = instances.show_instance(restarted(world), case, OPERATOR)
    assert shown.status == "completed" and shown.open_tasks == []
    assert shown.data == {"claim": "C-7", "assessed": True}
    assert completed_in_order(world, case) == ["confirm_withdrawal", "assess"]


def test_a_non_interrupting_message_event_subprocess_runs_once_per_message_across_restarts(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_event_subprocess"), OPERATOR)
    clerk = world.actor("clerk")
    case = instances.start_instance(restarted(world), "claim_taking_notes", {"claim": "C-8"}, clerk).id
    instances.deliver_message(restarted(world), case, "customer_note", {"text": "call me back"}, clerk)
    complete(restarted(world), world, case, "handle_claim", {"handled": True})
    # The main path has ended; the case waits for its event subprocess, which takes a second note as well.
    assert instances.show_instance(restarted(world), case, OPERATOR).status == "running"
    instances.deliver_message(restarted(world), case, "customer_note", {"text": "photos sent"}, clerk)

    rt = restarted(world)
    rows = open_rows(rt, case)
    notes = [task_service.get_task(rt, row.id, clerk).data["note"] for row in rows]
    assert [row.task_key for row in rows] == ["read_note", "read_note"]
    assert notes == [{"text": "call me back"}, {"text": "photos sent"}]
    for row in rows:
        task_service.complete(restarted(world), row.id, clerk, {"read": True})

    shown = instances.show_instance(restarted(world), case, OPERATOR)
    assert shown.status == "completed" and shown.open_tasks == []
    assert shown.data == {"claim": "C-8", "handled": True}
    assert completed_in_order(world, case) == ["handle_claim", "read_note", "read_note"]


def test_cases_on_one_cached_spec_do_not_affect_each_other(world: World) -> None:
    """One long-running runtime, its caches kept: a case started after another was withdrawn runs as if alone,
    and the spec every case shares is connected exactly as parsed."""
    deployments.deploy(world.rt, fixture_files("bpmn_event_subprocess"), OPERATOR)
    rt, clerk = world.rt, world.actor("clerk")
    withdrawn = instances.start_instance(rt, "withdrawable_claim", {"claim": "A"}, clerk).id
    as_parsed = cached_links(rt, withdrawn)
    instances.deliver_message(rt, withdrawn, "withdrawn", WITHDRAWAL, clerk)
    later = instances.start_instance(rt, "withdrawable_claim", {"claim": "B"}, clerk).id
    assert sorted(open_tasks(rt, later)) == ["assess"]

    complete(rt, world, later, "assess", {"assessed": True})
    complete(rt, world, withdrawn, "assess", {"assessed": True})
    complete(rt, world, withdrawn, "confirm_withdrawal", {"confirmed": True})

    for case, claim in ((withdrawn, "A"), (later, "B")):
        shown = instances.show_instance(rt, case, OPERATOR)
        assert (shown.status, shown.data) == ("completed", {"claim": claim, "assessed": True})
    assert completed_in_order(world, later) == ["assess"]
    assert completed_in_order(world, withdrawn) == ["assess", "confirm_withdrawal"]
    assert cached_links(rt, withdrawn) == as_parsed


def test_a_case_whose_event_subprocess_ran_replays_consistently(world: World) -> None:
    """Replayed on a fresh runtime, and on the long-running one whose cached spec another case's message reached."""
    deployments.deploy(world.rt, fixture_files("bpmn_event_subprocess"), OPERATOR)
    case = withdraw_across_restarts(world)
    assert instances.show_instance(world.rt, case, OPERATOR).status == "completed"
    other = instances.start_instance(world.rt, "withdrawable_claim", {"claim": "D"}, world.actor("clerk")).id
    instances.deliver_message(world.rt, other, "withdrawn", WITHDRAWAL, world.actor("clerk"))

    for rt in (restarted(world), world.rt):
        result = replay_instance(rt, case, world.actor("auditor"))
        assert result.consistent, str(result)
        assert result.steps == 4  # start, message, confirm_withdrawal, assess


def test_a_case_whose_event_subprocess_runs_is_assessed_for_migration_with_a_reason_not_a_crash(world: World) -> None:
    from engine.authoring.migration import plan_migration

    files = fixture_files("bpmn_event_subprocess")
    old = deployments.deploy(world.rt, files, OPERATOR).id
    clerk = world.actor("clerk")
    case = instances.start_instance(world.rt, "claim_taking_notes", {"claim": "C-9"}, clerk).id
    untouched = instances.start_instance(world.rt, "claim_taking_notes", {"claim": "C-10"}, clerk).id
    instances.deliver_message(restarted(world), case, "customer_note", {"text": "call me back"}, clerk)
    changed = {**files, "customer_note.bpmn": files["customer_note.bpmn"].replace(
        b'name="Read the note"', b'name="Read the customer note"')}
    new = deployments.deploy(world.rt, changed, OPERATOR).id

    plan = {item.id: item for item in plan_migration(
        restarted(world), world.actor("analyst"), old, new, "claim_taking_notes").instances}

    assert plan[case].outcome == "cannot migrate"
    assert plan[case].reasons == ["its event subprocess 'Customer note' is running: a case is moved only "
                                  "when none runs — let it finish, then migrate"]
    assert plan[untouched].outcome == "can migrate"
