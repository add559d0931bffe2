"""Handlers' business failures route through error boundary events; tasks can go to a named person."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine.audit.replay import replay_instance
from engine.errors import ForbiddenError
from engine.identity.users import add_user
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel, IncidentModel, InstanceModel
from tests.conftest import World, fixture_files


@pytest.fixture
def payments(world: World) -> World:
    deployments.deploy(world.rt, fixture_files("bpmn_error"), OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "adj2", ["adjuster"], None, world.clock())
        add_user(uow.session, world.rt.settings, "fin", ["finance"], None, world.clock())
        uow.commit()
    return world


def _open(world: World, instance_id: int) -> HumanTaskModel:
    with world.rt.uow() as uow:
        (task,) = uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open"))
    return task


def _to_payment(world: World) -> int:
    started = instances.start_instance(world.rt, "payment", {}, world.actor("clerk"))
    task_service.complete(world.rt, _open(world, started.id).id, world.actor("clerk"),
                          {"amount": 120.5, "preferred": "adj2"})
    check = _open(world, started.id)
    assert (check.task_key, check.assignee, check.candidate_role) == ("check", "adj2", "adjuster")
    with pytest.raises(ForbiddenError, match="claimed by adj2"):
        task_service.complete(world.rt, check.id, world.actor("adj"), {})
    task_service.complete(world.rt, check.id, world.actor("adj2"), {})
    return started.id


def test_a_bpmn_error_from_a_handler_is_caught_by_the_boundary_event(payments: World, tmp_path: Path) -> None:
    world = payments
    (tmp_path / "decline_payment").write_text("1")
    instance_id = _to_payment(world)
    resolve = _open(world, instance_id)
    assert (resolve.task_key, resolve.candidate_role) == ("resolve", "finance")
    shown = instances.show_instance(world.rt, instance_id, OPERATOR)
    assert shown.status == "running"
    assert shown.data["payment_error"]["message"] == "account closed"
    with world.rt.uow() as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM fixture_effects")) == 1  # the attempt is kept
        assert uow.session.scalar(select(IncidentModel.id)) is None
    task_service.complete(world.rt, resolve.id, world.actor("fin"), {"retry": True})
    assert instances.show_instance(world.rt, instance_id, OPERATOR).status == "completed"
    result = replay_instance(world.rt, instance_id, OPERATOR)
    assert result.consistent, str(result)


def test_a_bpmn_error_without_a_boundary_event_is_an_incident(payments: World, tmp_path: Path) -> None:
    world = payments
    files = fixture_files("bpmn_error")
    # The boundary event now waits for another error code only.
    files["payment.bpmn"] = files["payment.bpmn"].replace(b'errorCode="payment_failed"', b'errorCode="other"')
    deployments.deploy(world.rt, files, OPERATOR)
    (tmp_path / "decline_payment").write_text("1")
    instance_id = _to_payment(world)
    with world.rt.uow() as uow:
        assert uow.session.get(InstanceModel, instance_id).status == "incident"
        incident = uow.session.scalar(select(IncidentModel))
    assert incident.task_key == "pay" and "payment_failed" in incident.error
