"""Any edit, deletion, insertion or reordering of history events is detected and located."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from engine.workflow import instances, task_service
from engine.workflow.history import verify_chains
from engine.workflow.models import EventModel, HumanTaskModel
from tests.conftest import World


@pytest.fixture
def history(deployed: World) -> tuple[World, int]:
    """An instance with a few events (start, claim, completion, handler)."""
    world = deployed
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    with world.rt.uow() as uow:
        task = uow.session.scalar(select(HumanTaskModel).where(HumanTaskModel.instance_id == started.id))
    task_service.claim(world.rt, task.id, world.actor("clerk"))
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 5000, "claimant": "Li Lei"})
    instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))  # a second, untouched chain
    with world.rt.uow() as uow:
        assert verify_chains(uow.session, keys=world.rt.audit_keys).ok
    return world, started.id


def _events(world: World, instance_id: int) -> list[EventModel]:
    with world.rt.uow() as uow:
        return list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == instance_id)
                                        .order_by(EventModel.seq)))


def _tamper(world: World, statement) -> None:
    with world.rt.uow() as uow:
        uow.session.execute(statement)
        uow.commit()


def _first_break(world: World):
    with world.rt.uow() as uow:
        report = verify_chains(uow.session, keys=world.rt.audit_keys)
    assert not report.ok
    assert len(report.breaks) == 1, report.breaks
    return report.breaks[0]


@pytest.mark.parametrize("column,value", [
    ("payload", '{"data":{"amount":1,"claimant":"Li Lei"},"task":1}'),
    ("actor", "mallory"),
    ("type", "task_released"),
    ("task_key", "approve"),
])
def test_editing_any_field_of_an_event_is_located(history, column: str, value: str) -> None:
    world, instance_id = history
    target = _events(world, instance_id)[2]
    _tamper(world, update(EventModel).where(EventModel.id == target.id).values({column: value}))
    broken = _first_break(world)
    assert (broken.instance_id, broken.seq) == (instance_id, 3)
    assert "altered" in broken.reason


def test_editing_the_time_of_an_event_is_located(history) -> None:
    world, instance_id = history
    target = _events(world, instance_id)[1]
    _tamper(world, update(EventModel).where(EventModel.id == target.id)
            .values(occurred_at=target.occurred_at.replace(year=2020)))
    broken = _first_break(world)
    assert (broken.instance_id, broken.seq) == (instance_id, 2)


def test_rehashing_an_edited_event_breaks_the_next_link(history) -> None:
    """An attacker who recomputes the edited event's own hash (holding even the audit key) is caught at the
    following event."""
    from engine.workflow.history import event_hash

    world, instance_id = history
    events = _events(world, instance_id)
    target = events[1]
    forged = event_hash(target.prev_hash, target.instance_id, target.seq, target.type, target.occurred_at,
                        "mallory", target.task_key, target.payload, keys=world.rt.audit_keys, key_id=target.key_id,
                        state_hash=target.state_hash)
    _tamper(world, update(EventModel).where(EventModel.id == target.id).values(actor="mallory", hash=forged))
    broken = _first_break(world)
    assert (broken.instance_id, broken.seq) == (instance_id, 3)
    assert "does not link" in broken.reason


def test_deleting_an_event_is_located(history) -> None:
    world, instance_id = history
    target = _events(world, instance_id)[1]
    _tamper(world, text("DELETE FROM events WHERE id = :id").bindparams(id=target.id))
    broken = _first_break(world)
    assert broken.instance_id == instance_id and broken.seq == 3
    assert "expected event #2" in broken.reason


def test_deleting_the_last_event_is_detected(history) -> None:
    world, instance_id = history
    last = _events(world, instance_id)[-1]
    _tamper(world, text("DELETE FROM events WHERE id = :id").bindparams(id=last.id))
    broken = _first_break(world)
    assert broken.instance_id == instance_id and "removed from the end" in broken.reason


def test_inserting_an_event_is_located(history) -> None:
    world, instance_id = history
    events = _events(world, instance_id)
    # Shift the later events up by one and slip a forged event in at #2.
    with world.rt.uow() as uow:
        for event in reversed(events[1:]):
            uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(seq=event.seq + 1000))
        for event in events[1:]:
            uow.session.execute(update(EventModel).where(EventModel.id == event.id).values(seq=event.seq + 1))
        uow.session.add(EventModel(instance_id=instance_id, seq=2, type="task_completed", occurred_at=events[1]
                                   .occurred_at, actor="mallory", task_key="register", payload="{}",
                                   prev_hash=events[0].hash, hash="f" * 64))
        uow.commit()
    broken = _first_break(world)
    assert (broken.instance_id, broken.seq) == (instance_id, 2)


def test_swapping_two_events_is_located(history) -> None:
    world, instance_id = history
    events = _events(world, instance_id)
    a, b = events[1], events[2]
    with world.rt.uow() as uow:
        uow.session.execute(update(EventModel).where(EventModel.id == a.id).values(seq=-1))
        uow.session.execute(update(EventModel).where(EventModel.id == b.id).values(seq=a.seq))
        uow.session.execute(update(EventModel).where(EventModel.id == a.id).values(seq=b.seq))
        uow.commit()
    broken = _first_break(world)
    assert (broken.instance_id, broken.seq) == (instance_id, 2)


def test_removing_a_whole_chain_is_detected(history) -> None:
    world, instance_id = history
    _tamper(world, text("DELETE FROM events WHERE instance_id = :i").bindparams(i=instance_id))
    broken = _first_break(world)
    assert broken.instance_id == instance_id and "missing" in broken.reason
