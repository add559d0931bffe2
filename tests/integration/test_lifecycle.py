"""A claim-review instance from start to completion through the engine API, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import worker
from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.workflow import instances, task_service
from engine.workflow.history import verify_chains
from engine.workflow.models import HumanTaskModel, InstanceModel, WaitModel
from tests.conftest import World


def _open_task(world: World, instance_id: int) -> HumanTaskModel:
    with world.rt.uow() as uow:
        rows = list(uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open")))
    assert len(rows) == 1, rows
    return rows[0]


def _register(world: World, amount: float = 5000) -> int:
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"), "CLM-1")
    task = _open_task(world, started.id)
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": amount, "claimant": "Li Lei"})
    return started.id


def test_large_claim_runs_assess_approve_timer_to_completion(deployed: World) -> None:
    """Register → check (handler) → assess → approve → cooling-off timer → completed."""
    world = deployed
    instance_id = _register(world)
    assess = _open_task(world, instance_id)
    assert (assess.task_key, assess.candidate_role) == ("assess", "adjuster")
    task_service.claim(world.rt, assess.id, world.actor("mgr"))
    task_service.complete(world.rt, assess.id, world.actor("mgr"), {"assessed_amount": 4000})
    approve = _open_task(world, instance_id)
    assert approve.task_key == "approve" and approve.priority == 80
    task_service.complete(world.rt, approve.id, world.actor("boss"), {})
    summary = instances.show_instance(world.rt, instance_id, world.actor("auditor"))
    assert summary.status == "waiting"
    assert summary.data["payable"] == 4900
    # Not due yet: nothing fires.
    assert worker.tick(world.rt, world.clock.advance(days=14)).timers_fired == 0
    report = worker.tick(world.rt, world.clock.advance(days=2))
    assert report.timers_fired == 1
    done = instances.show_instance(world.rt, instance_id, world.actor("auditor"))
    assert done.status == "completed"
    events = instances.instance_history(world.rt, instance_id, world.actor("auditor"))
    assert [e["type"] for e in events] == [
        "instance_started", "task_completed", "handler_executed", "task_claimed", "task_completed",
        "task_completed", "timer_fired", "instance_completed",
    ]
    handler = events[2]["payload"]
    assert handler["operator"] == "fixture_check"
    assert handler["params"] == {"amount": 5000, "claimant": "Li Lei"}
    assert handler["result"] == {"claimant_ok": True, "deductible": 100}
    with world.rt.uow() as uow:
        assert verify_chains(uow.session, keys=world.rt.audit_keys).ok


def test_small_claim_skips_assessment_and_a_cancellation_message_ends_it(deployed: World) -> None:
    """Payable up to 1000 goes straight to the cooling-off wait; a 'cancel' message ends it there."""
    world = deployed
    instance_id = _register(world, amount=900)
    with world.rt.uow() as uow:
        waits = list(uow.session.scalars(select(WaitModel).where(WaitModel.instance_id == instance_id)))
    assert sorted((w.kind, w.status) for w in waits) == [("message", "pending"), ("timer", "pending")]
    summary = instances.deliver_message(world.rt, instance_id, "cancel", {"reason": "changed mind"},
                                        world.actor("clerk"))
    assert summary.status == "completed"
    shown = instances.show_instance(world.rt, instance_id, world.actor("auditor"))
    assert shown.data["cancellation"] == {"reason": "changed mind"}
    with world.rt.uow() as uow:
        statuses = set(uow.session.scalars(select(WaitModel.status).where(WaitModel.instance_id == instance_id)))
    assert statuses == {"done"}
    # The timer was withdrawn with the gateway: the worker has nothing left to fire.
    assert worker.tick(world.rt, world.clock.advance(days=30)).timers_fired == 0


def test_message_to_an_instance_not_waiting_for_it_is_a_conflict(deployed: World) -> None:
    world = deployed
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    with pytest.raises(ConflictError, match="not waiting for message 'cancel'"):
        instances.deliver_message(world.rt, started.id, "cancel", {}, world.actor("clerk"))


def test_four_eyes_refuses_the_assessor_as_approver_even_by_assignment(deployed: World) -> None:
    world = deployed
    instance_id = _register(world)
    assess = _open_task(world, instance_id)
    task_service.complete(world.rt, assess.id, world.actor("mgr"), {"assessed_amount": 4000})
    approve = _open_task(world, instance_id)
    with pytest.raises(ForbiddenError, match="four-eyes"):
        task_service.complete(world.rt, approve.id, world.actor("mgr"), {})
    with pytest.raises(ForbiddenError, match="four-eyes"):
        task_service.claim(world.rt, approve.id, world.actor("mgr"))
    with pytest.raises(ForbiddenError, match="four-eyes"):
        task_service.assign(world.rt, approve.id, world.actor("boss"), "mgr")
    assert _open_task(world, instance_id).status == "open"


def test_role_and_assignee_are_checked_by_the_engine(deployed: World) -> None:
    world = deployed
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    task = _open_task(world, started.id)
    with pytest.raises(ForbiddenError, match="needs role claims_clerk"):
        task_service.complete(world.rt, task.id, world.actor("adj"), {"amount": 1, "claimant": "x"})
    with pytest.raises(ForbiddenError, match="needs role claims_clerk"):
        task_service.claim(world.rt, task.id, world.actor("auditor"))
    with pytest.raises(ForbiddenError, match="needs role claims_clerk"):
        instances.start_instance(world.rt, "claim_review", {}, world.actor("auditor"))


def test_claim_release_assign_and_claimed_by_another(deployed: World) -> None:
    world = deployed
    instance_id = _register(world)
    assess = _open_task(world, instance_id)
    task_service.claim(world.rt, assess.id, world.actor("adj"))
    with pytest.raises(ConflictError, match="already claimed by adj"):
        task_service.claim(world.rt, assess.id, world.actor("mgr"))
    with pytest.raises(ForbiddenError, match="claimed by adj"):
        task_service.complete(world.rt, assess.id, world.actor("mgr"), {"assessed_amount": 1})
    with pytest.raises(ForbiddenError):
        task_service.release(world.rt, assess.id, world.actor("clerk"))
    task_service.release(world.rt, assess.id, world.actor("adj"))
    view = task_service.assign(world.rt, assess.id, world.actor("boss"), "mgr")
    assert view.assignee == "mgr"
    with pytest.raises(ForbiddenError, match="may not assign"):
        task_service.assign(world.rt, assess.id, world.actor("adj"), "adj")
    inbox, total, _capped = task_service.inbox(world.rt, world.actor("mgr"), scope="mine")
    assert total == 1 and inbox[0].id == assess.id
    types = [e["type"] for e in instances.instance_history(world.rt, instance_id, world.actor("auditor"))]
    assert types[-3:] == ["task_claimed", "task_released", "task_assigned"]


def test_invalid_form_data_changes_nothing_and_names_every_field(deployed: World) -> None:
    world = deployed
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    task = _open_task(world, started.id)
    with world.rt.uow() as uow:
        before = uow.session.get(InstanceModel, started.id).version
    with pytest.raises(InvalidInputError) as caught:
        task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": -5, "extra": 1})
    fields = caught.value.details["fields"]
    assert set(fields) == {"amount", "claimant", "(form)"} or {"amount", "claimant"} <= set(fields)
    with world.rt.uow() as uow:
        assert uow.session.get(InstanceModel, started.id).version == before
    assert _open_task(world, started.id).status == "open"


def test_completing_twice_is_a_conflict_and_unknown_ids_are_not_found(deployed: World) -> None:
    world = deployed
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    task = _open_task(world, started.id)
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 10, "claimant": "x"})
    with pytest.raises(ConflictError, match="already completed by clerk"):
        task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 10, "claimant": "x"})
    with pytest.raises(NotFoundError):
        task_service.complete(world.rt, 999_999, world.actor("clerk"), {})
    with pytest.raises(NotFoundError):
        instances.start_instance(world.rt, "no_such_process", {}, world.actor("clerk"))


def test_state_is_stored_without_the_process_definition(deployed: World) -> None:
    """The instance row keeps running state only; the spec comes from the deployment."""
    import zlib

    world = deployed
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    with world.rt.uow() as uow:
        row = uow.session.get(InstanceModel, started.id)
        state = json.loads(zlib.decompress(row.state))
        assert row.serializer_version == state["serializer_version"]
    assert "spec" not in state and "subprocess_specs" not in state
    assert len(row.state) < 2000
