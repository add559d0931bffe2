"""Replay re-runs an instance from its history alone and proves the recorded states; tampering shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import worker
from engine.audit.replay import replay_all, replay_instance
from engine.errors import ForbiddenError
from engine.identity.users import add_user
from engine.workflow import deployments, incidents, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel
from tests.conftest import World, fixture_files
from tests.tamper import rechain


def _open(world: World, instance_id: int) -> list[HumanTaskModel]:
    with world.rt.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open")))


def _claim_to_completion(world: World) -> int:
    started = instances.start_instance(world.rt, "claim_review", {"channel": "phone"}, world.actor("clerk"))
    (task,) = _open(world, started.id)
    task_service.claim(world.rt, task.id, world.actor("clerk"))
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 5000, "claimant": "Li Lei"})
    (assess,) = _open(world, started.id)
    task_service.complete(world.rt, assess.id, world.actor("mgr"), {"assessed_amount": 4000})
    (approve,) = _open(world, started.id)
    task_service.complete(world.rt, approve.id, world.actor("boss"), {})
    worker.tick(world.rt, world.clock.advance(days=16))
    return started.id


def test_a_completed_claim_with_a_timer_replays_consistently(deployed: World) -> None:
    world = deployed
    instance_id = _claim_to_completion(world)
    result = replay_instance(world.rt, instance_id, world.actor("auditor"))
    assert result.consistent, str(result)
    assert result.steps == 5  # start, register, assess, approve, timer
    assert str(result) == f"instance {instance_id}: consistent, 5 steps"


def test_a_message_and_a_waiting_instance_replay_consistently(deployed: World) -> None:
    world = deployed
    waiting = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    (task,) = _open(world, waiting.id)
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 500, "claimant": "x"})
    cancelled = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    (task,) = _open(world, cancelled.id)
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 500, "claimant": "y"})
    instances.deliver_message(world.rt, cancelled.id, "cancel", {"reason": "r"}, world.actor("clerk"))
    results = replay_all(world.rt, OPERATOR)
    assert [(r.instance_id, r.consistent, r.steps) for r in results] == [(waiting.id, True, 2),
                                                                          (cancelled.id, True, 3)]


def test_incidents_and_retries_replay_without_calling_handlers(deployed: World, tmp_path: Path) -> None:
    world = deployed
    (tmp_path / "fail_check").write_text("1")
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    (task,) = _open(world, started.id)
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 5000, "claimant": "Li"})
    (tmp_path / "fail_check").write_text("1")
    worker.tick(world.rt, world.clock.advance(seconds=11))  # fails again
    (incident,) = incidents.list_incidents(world.rt, OPERATOR)
    incidents.retry_incident(world.rt, incident.id, OPERATOR)
    # A replay that called the handler would trip over the failure flag; it must not call it.
    (tmp_path / "fail_check").write_text("1")
    result = replay_instance(world.rt, started.id, OPERATOR)
    assert result.consistent and result.steps == 4, str(result)
    assert (tmp_path / "fail_check").exists()


def test_call_activities_replay_consistently(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_call"), OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "agent", ["agent"], None, world.clock())
        add_user(uow.session, world.rt.settings, "uw", ["underwriter"], None, world.clock())
        uow.commit()
    started = instances.start_instance(world.rt, "application", {}, world.actor("agent"))
    for actor, data in (("agent", {"items": [1, 2]}), ("uw", {"decision": "accept"}), ("agent", {})):
        (task,) = _open(world, started.id)
        task_service.complete(world.rt, task.id, world.actor(actor), data)
    result = replay_instance(world.rt, started.id, OPERATOR)
    assert result.consistent and result.steps == 4, str(result)


def _rechain(world: World, instance_id: int, edit) -> None:
    """Tamper like an insider who also recomputes every hash, so the chain itself checks out."""
    rechain(world.rt, instance_id, edit)


def test_altered_inputs_rehashed_by_an_insider_are_caught_by_replay(deployed: World) -> None:
    from engine.workflow.history import verify_chains

    world = deployed
    instance_id = _claim_to_completion(world)

    def lower_amount(event, payload) -> None:
        if event.type == "task_completed" and event.task_key == "register":
            payload["data"]["amount"] = 900  # would have skipped assessment and approval

    _rechain(world, instance_id, lower_amount)
    with world.rt.uow() as uow:
        assert verify_chains(uow.session, keys=world.rt.audit_keys).ok  # the chain alone cannot tell
    result = replay_instance(world.rt, instance_id, OPERATOR)
    assert not result.consistent
    assert result.event == "handler_executed" and result.steps == 1
    assert result.expected and result.actual and result.expected != result.actual


def test_an_altered_handler_result_is_caught(deployed: World) -> None:
    world = deployed
    instance_id = _claim_to_completion(world)

    def richer(event, payload) -> None:
        if event.type == "handler_executed":
            payload["result"]["deductible"] = 0

    _rechain(world, instance_id, richer)
    result = replay_instance(world.rt, instance_id, OPERATOR)
    assert not result.consistent and result.steps == 1


def test_only_auditors_replay(deployed: World) -> None:
    with pytest.raises(ForbiddenError):
        replay_instance(deployed.rt, 1, deployed.actor("clerk"))
