"""Messages thrown by one instance are queued and the worker delivers each to one waiting instance."""

from __future__ import annotations

from sqlalchemy import select

from engine import worker
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel, MessageModel
from tests.conftest import World, fixture_files


def _waiting_claim(world: World) -> int:
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    with world.rt.uow() as uow:
        (task,) = uow.session.scalars(select(HumanTaskModel).where(HumanTaskModel.instance_id == started.id))
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 500, "claimant": "x"})
    return started.id


def test_a_thrown_message_is_delivered_once_by_the_worker(deployed: World) -> None:
    world = deployed
    deployments.deploy(world.rt, fixture_files("bpmn_messages"), OPERATOR)
    first, second = _waiting_claim(world), _waiting_claim(world)
    sender = instances.start_instance(world.rt, "canceller", {"reason": "duplicate", "phone": "13800138000"},
                                      world.actor("clerk"))
    assert sender.status == "completed"
    with world.rt.uow() as uow:
        (queued,) = uow.session.scalars(select(MessageModel))
    assert queued.status == "pending" and queued.name == "cancel"
    report = worker.tick(world.rt)
    assert report.messages_delivered == 1
    statuses = {i: instances.show_instance(world.rt, i, OPERATOR).status for i in (first, second)}
    assert statuses == {first: "completed", second: "waiting"}
    shown = instances.show_instance(world.rt, first, OPERATOR)
    assert shown.data["cancellation"] == {"reason": "duplicate", "phone": "13800138000"}
    assert worker.tick(world.rt).messages_delivered == 0  # delivered once, not again
    with world.rt.uow() as uow:
        assert uow.session.get(MessageModel, queued.id).delivered_to == first
    types = [e["type"] for e in instances.instance_history(world.rt, sender.id, OPERATOR)]
    assert "message_sent" in types


def test_a_message_nobody_waits_for_stays_queued(deployed: World) -> None:
    world = deployed
    deployments.deploy(world.rt, fixture_files("bpmn_messages"), OPERATOR)
    instances.start_instance(world.rt, "canceller", {"reason": "r", "phone": ""}, world.actor("clerk"))
    assert worker.tick(world.rt).messages_delivered == 0
    first = _waiting_claim(world)
    assert worker.tick(world.rt).messages_delivered == 1
    assert instances.show_instance(world.rt, first, OPERATOR).status == "completed"
