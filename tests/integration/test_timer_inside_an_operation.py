"""A timer that falls due while someone completes another task of the case fires in that operation, runs
its path there, and is recorded as `timer_fired` with the timer's own id; the worker has nothing left."""

from __future__ import annotations

from sqlalchemy import select

from engine import worker
from engine.audit.replay import replay_instance
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel, WaitModel
from tests.conftest import World, fixture_files


def open_keys(world: World, case: int) -> list[str]:
    with world.rt.uow() as uow:
        return sorted(uow.session.scalars(select(HumanTaskModel.task_key).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.status == "open")))


def test_a_deadline_due_during_another_task_fires_there_and_is_recorded(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_timer_inside"), OPERATOR)
    case = instances.start_instance(world.rt, "collect_with_deadline", {}, world.actor("clerk")).id
    assert open_keys(world, case) == ["note_call", "upload"]

    world.clock.advance(hours=3)  # the 2-hour deadline passes; nobody ran the worker yet
    with world.rt.uow() as uow:
        note = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.task_key == "note_call"))
    task_service.complete(world.rt, note, world.actor("clerk"), {})

    assert open_keys(world, case) == ["too_late"]  # the deadline cancelled the upload and took its path
    fired = [e for e in instances.instance_history(world.rt, case, OPERATOR) if e["type"] == "timer_fired"]
    assert [e["task"] for e in fired] == ["deadline"]
    with world.rt.uow() as uow:
        waits = list(uow.session.scalars(select(WaitModel.status).where(WaitModel.instance_id == case)))
    assert waits == ["done"]
    assert worker.tick(world.rt).timers_fired == 0
    assert replay_instance(world.rt, case, world.actor("auditor")).consistent
