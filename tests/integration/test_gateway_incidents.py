"""A gateway none of whose conditions holds is an incident the worker does not retry: the same data would
give the same answer. The incident says what to do instead."""

from __future__ import annotations

from engine import worker
from engine.workflow import deployments, incidents, instances, task_service
from engine.workflow.actors import OPERATOR
from tests.conftest import World, fixture_files


def test_no_matching_condition_is_an_incident_left_for_a_person_with_the_reason(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_gateway"), OPERATOR)
    case = instances.start_instance(world.rt, "route_by_amount", {}, world.actor("clerk"))

    done = task_service.complete(world.rt, case.open_tasks[0]["id"], world.actor("clerk"), {"amount": 75})

    assert done.status == "incident"
    (incident,) = incidents.list_incidents(world.rt, OPERATOR)
    assert incident.task_key == "route" and incident.next_retry_at is None
    assert "no outgoing condition of gateway 'route' holds" in incident.error
    assert "retrying cannot change that" in incident.error
    world.clock.advance(hours=1)
    assert worker.tick(world.rt).incidents_retried == 0


def test_a_condition_that_holds_takes_its_flow_without_an_incident(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_gateway"), OPERATOR)
    case = instances.start_instance(world.rt, "route_by_amount", {}, world.actor("clerk"))
    done = task_service.complete(world.rt, case.open_tasks[0]["id"], world.actor("clerk"), {"amount": 500})
    assert done.status == "completed"
    assert incidents.list_incidents(world.rt, OPERATOR) == []
