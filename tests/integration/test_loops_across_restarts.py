"""Standard loops and multi-instance tasks run to their end when every step is taken by a freshly started
runtime (new spec cache, new workflow cache: another web worker, or the same after a restart)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from engine.workflow import deployments, incidents, instances, parsing, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel
from engine.workflow.runtime import Runtime, SpecCache, WorkflowCache
from tests.conftest import World, fixture_files


def restarted(world: World) -> Runtime:
    """The same database and settings, nothing in memory: what another worker process has."""
    return replace(world.rt, specs=SpecCache(), workflows=WorkflowCache())


def open_tasks(rt: Runtime, case: int) -> list[HumanTaskModel]:
    with rt.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.status == "open").order_by(HumanTaskModel.id)))


def complete_each(world: World, case: int, user: str, answers: list[dict]) -> None:
    """Complete the open tasks one by one, each by a runtime started afresh."""
    for answer in answers:
        rt = restarted(world)
        (task, *_others) = open_tasks(rt, case)
        task_service.complete(rt, task.id, world.actor(user), answer)


def test_a_standard_loop_repeats_until_its_condition_holds(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_loops"), OPERATOR)
    case = instances.start_instance(restarted(world), "review_until_done", {}, world.actor("clerk")).id
    complete_each(world, case, "clerk", [{"done": False}, {"done": False}, {"done": True}])
    shown = instances.show_instance(restarted(world), case, OPERATOR)
    assert shown.status == "completed"
    history = instances.instance_history(world.rt, case, OPERATOR)
    completed = [e["task"] for e in history if e["type"] == "task_completed"]
    assert completed == ["review", "review", "review"]


def test_a_sequential_multi_instance_visits_every_item_of_its_collection(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_loops"), OPERATOR)
    start = {"documents": ["invoice", "discharge summary", "id copy"]}
    case = instances.start_instance(restarted(world), "check_each_document", start, world.actor("clerk")).id
    complete_each(world, case, "clerk", [{"verdict": "ok"}, {"verdict": "unreadable"}, {"verdict": "ok"}])
    shown = instances.show_instance(restarted(world), case, OPERATOR)
    assert shown.status == "completed"
    assert shown.data["checked"] == ["ok", "unreadable", "ok"]


def test_a_parallel_multi_instance_collects_every_output(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_loops"), OPERATOR)
    case = instances.start_instance(restarted(world), "three_opinions", {}, world.actor("adj")).id
    assert len(open_tasks(world.rt, case)) == 3
    complete_each(world, case, "adj", [{"amount": 100}, {"amount": 120}, {"amount": 90}])
    shown = instances.show_instance(restarted(world), case, OPERATOR)
    assert shown.status == "completed"
    assert sorted(shown.data["opinions"]) == [90, 100, 120]


def test_a_case_that_can_no_longer_move_is_an_incident_naming_its_steps(world: World, monkeypatch) -> None:
    """Never silent: were a SpiffWorkflow link lost again (here: the loop link, undone on purpose), the case
    does not sit `waiting` with nothing to wait for — it becomes a `stalled` incident naming its steps."""
    monkeypatch.setattr(parsing, "link_loop_children", lambda spec: None)
    deployments.deploy(world.rt, fixture_files("bpmn_loops"), OPERATOR)
    case = instances.start_instance(restarted(world), "review_until_done", {}, world.actor("clerk")).id
    complete_each(world, case, "clerk", [{"done": False}])

    shown = instances.show_instance(restarted(world), case, OPERATOR)
    assert shown.status == "incident" and shown.open_tasks == []
    (incident,) = incidents.list_incidents(world.rt, OPERATOR)
    assert incident.instance_id == case
    assert incident.error.startswith("stalled: the case has no task ready and waits for no timer")
    assert "review (STARTED)" in incident.error
    raised = [e for e in instances.instance_history(world.rt, case, OPERATOR) if e["type"] == "incident_raised"]
    assert raised[-1]["payload"]["error"] == incident.error
