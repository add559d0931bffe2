"""A failing handler becomes an incident; retries run the step again without repeating side effects."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine import worker
from engine.errors import ConflictError, ForbiddenError
from engine.workflow import incidents, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import EventModel, HumanTaskModel, IncidentModel, InstanceModel
from tests.conftest import World


def _start_and_register(world: World) -> int:
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    with world.rt.uow() as uow:
        task = uow.session.scalar(select(HumanTaskModel).where(HumanTaskModel.instance_id == started.id))
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 5000, "claimant": "Li Lei"})
    return started.id


def _effects(world: World) -> int:
    with world.rt.uow() as uow:
        return uow.session.scalar(text("SELECT count(*) FROM fixture_effects"))


def _fail_next_check(world: World, tmp_path: Path) -> None:
    (tmp_path / "fail_check").write_text("1")


def test_handler_failure_keeps_the_submission_and_opens_an_incident(deployed: World, tmp_path: Path) -> None:
    world = deployed
    with world.rt.uow() as uow:  # the effects table exists before the failing run
        uow.session.execute(text("CREATE TABLE IF NOT EXISTS fixture_effects (key VARCHAR(80) PRIMARY KEY, "
                                 "amount FLOAT)"))
        uow.commit()
    _fail_next_check(world, tmp_path)
    instance_id = _start_and_register(world)
    with world.rt.uow() as uow:
        instance = uow.session.get(InstanceModel, instance_id)
        incident = uow.session.scalar(select(IncidentModel).where(IncidentModel.instance_id == instance_id))
        completed = uow.session.scalar(select(HumanTaskModel.status).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.task_key == "register"))
    assert instance.status == "incident"
    assert completed == "completed"  # the clerk's input is not lost
    assert incident.task_key == "check" and "gateway unreachable" in incident.error
    assert "RuntimeError" in incident.traceback
    assert incident.next_retry_at == world.clock() + __import__("datetime").timedelta(seconds=10)
    assert _effects(world) == 0  # the failed step's write was rolled back with it
    # Not yet due: the worker leaves it alone.
    assert worker.tick(world.rt, world.clock.advance(seconds=5)).incidents_retried == 0
    report = worker.tick(world.rt, world.clock.advance(seconds=10))
    assert report.incidents_retried == 1
    with world.rt.uow() as uow:
        assert uow.session.get(InstanceModel, instance_id).status == "running"
        assert uow.session.get(IncidentModel, incident.id).status == "resolved"
        types = list(uow.session.scalars(select(EventModel.type).where(EventModel.instance_id == instance_id)
                                         .order_by(EventModel.seq)))
    assert _effects(world) == 1
    assert types == ["instance_started", "task_completed", "incident_raised", "incident_retried",
                     "handler_executed", "incident_resolved"]


def test_retries_back_off_then_wait_for_a_person(deployed: World, tmp_path: Path) -> None:
    world = deployed
    world.rt.settings = __import__("dataclasses").replace(world.rt.settings, incident_max_retries=2)
    flag = tmp_path / "fail_check"
    flag.write_text("1")
    instance_id = _start_and_register(world)
    delays = []
    for _ in range(2):
        with world.rt.uow() as uow:
            incident = uow.session.scalar(select(IncidentModel).where(IncidentModel.instance_id == instance_id))
        delays.append((incident.next_retry_at - world.clock()).total_seconds())
        flag.write_text("1")
        world.clock.advance(seconds=delays[-1])
        assert worker.tick(world.rt).incidents_retried == 1
    assert delays == [10, 20]  # exponential back-off
    with world.rt.uow() as uow:
        incident = uow.session.scalar(select(IncidentModel).where(IncidentModel.instance_id == instance_id))
    assert incident.status == "open" and incident.attempts == 2 and incident.next_retry_at is None
    assert worker.tick(world.rt, world.clock.advance(days=1)).incidents_retried == 0
    with pytest.raises(ForbiddenError):
        incidents.retry_incident(world.rt, incident.id, world.actor("clerk"))
    flag.unlink(missing_ok=True)
    view = incidents.retry_incident(world.rt, incident.id, OPERATOR)
    assert view.status == "resolved"
    with pytest.raises(ConflictError):
        incidents.retry_incident(world.rt, incident.id, OPERATOR)
    assert [i.id for i in incidents.list_incidents(world.rt, OPERATOR)] == []
    assert _effects(world) == 1
