"""The history chain: deterministic event hashes, correct appends, and verify_chains naming each kind of tamper."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, update
from sqlalchemy.orm import Session

from engine.workflow import history
from engine.workflow.history import GENESIS, append, append_many, event_hash, events_of, verify_chains
from engine.workflow.jsonutil import canonical_dumps
from engine.workflow.models import Base, DeploymentModel, EventModel, InstanceModel, ProcessDefinitionModel

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HASH_ARGS: dict[str, Any] = {
    "prev_hash": GENESIS, "instance_id": 7, "seq": 1, "type_": "started", "occurred_at": T0,
    "actor": "clerk", "task_key": "register", "payload_text": '{"amount":100}',
}


@pytest.fixture
def session() -> Iterator[Session]:
    db = create_engine("sqlite://")
    Base.metadata.create_all(db)
    with Session(db) as s:
        yield s
    db.dispose()


def new_instance(session: Session) -> InstanceModel:
    """A running instance row (with the deployment and definition rows it refers to)."""
    definition = session.scalar(select(ProcessDefinitionModel))
    if definition is None:
        deployment = DeploymentModel(hash="d" * 64, comment="", deployed_by="operator", deployed_at=T0)
        session.add(deployment)
        session.flush()
        definition = ProcessDefinitionModel(deployment_id=deployment.id, key="claim_review", name="Claim review",
                                            version=1, file_name="claim_review.bpmn", deployed_at=T0)
        session.add(definition)
        session.flush()
    instance = InstanceModel(
        definition_id=definition.id, deployment_id=definition.deployment_id, process_key="claim_review",
        business_key=None, status="running", version=1, state=b"", serializer_version="1.5", started_by="clerk",
        started_at=T0, updated_at=T0,
    )
    session.add(instance)
    session.flush()
    return instance


def chained(session: Session, events: int = 4) -> InstanceModel:
    """An instance with `events` events appended and committed."""
    instance = new_instance(session)
    for n in range(events):
        append(session, instance, f"step{n + 1}", actor="clerk", at=T0 + timedelta(minutes=n), task_key="register",
               payload={"n": n + 1})
    session.commit()
    return instance


def stored(session: Session, instance: InstanceModel) -> list[EventModel]:
    """The instance's events as written to the database, in order."""
    session.flush()
    return events_of(session, instance.id)


def event_at(session: Session, instance: InstanceModel, seq: int) -> EventModel:
    return session.scalars(select(EventModel).where(EventModel.instance_id == instance.id,
                                                    EventModel.seq == seq)).one()


def only_break(session: Session) -> history.ChainBreak:
    report = verify_chains(session)
    assert not report.ok
    assert len(report.breaks) == 1
    return report.breaks[0]


# --- event_hash ---------------------------------------------------------------------------------

def test_event_hash_is_a_sha256_hex_digest() -> None:
    digest = event_hash(**HASH_ARGS)
    assert len(digest) == 64
    int(digest, 16)


def test_event_hash_is_deterministic() -> None:
    assert event_hash(**HASH_ARGS) == event_hash(**dict(HASH_ARGS))


@pytest.mark.parametrize(("field", "other"), [
    ("prev_hash", "1" * 64),
    ("instance_id", 8),
    ("seq", 2),
    ("type_", "completed"),
    ("occurred_at", T0 + timedelta(microseconds=1)),
    ("actor", "adj"),
    ("actor", None),
    ("task_key", "assess"),
    ("task_key", None),
    ("payload_text", '{"amount":101}'),
])
def test_event_hash_changes_with_every_field(field: str, other: Any) -> None:
    assert event_hash(**{**HASH_ARGS, field: other}) != event_hash(**HASH_ARGS)


def test_event_hash_depends_on_the_instant_not_the_time_zone_it_is_written_in() -> None:
    local = T0.astimezone(timezone(timedelta(hours=8)))
    assert event_hash(**{**HASH_ARGS, "occurred_at": local}) == event_hash(**HASH_ARGS)


def test_event_hash_covers_the_previous_hash_and_the_canonical_body() -> None:
    body = canonical_dumps({"instance": 7, "seq": 1, "type": "started", "at": T0.isoformat(), "actor": "clerk",
                            "task": "register", "payload": '{"amount":100}'})
    assert event_hash(**HASH_ARGS) == hashlib.sha256((GENESIS + body).encode()).hexdigest()


# --- append -------------------------------------------------------------------------------------

def test_the_first_event_links_to_genesis_and_has_seq_1(session: Session) -> None:
    instance = new_instance(session)
    append(session, instance, "started", actor="clerk", at=T0, payload={"a": 1})
    (event,) = stored(session, instance)
    assert event.seq == 1
    assert event.prev_hash == GENESIS
    assert event.hash == event_hash(GENESIS, instance.id, 1, "started", T0, "clerk", None, '{"a":1}')


def test_each_appended_event_links_to_the_previous_one(session: Session) -> None:
    instance = new_instance(session)
    for n in range(3):
        append(session, instance, "step", actor="clerk", at=T0, payload={"n": n})
    events = stored(session, instance)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash


def test_append_advances_the_instance_head(session: Session) -> None:
    instance = new_instance(session)
    append(session, instance, "one", actor=None, at=T0)
    append(session, instance, "two", actor=None, at=T0)
    last = stored(session, instance)[-1]
    assert instance.last_seq == 2
    assert instance.last_hash == last.hash


def test_append_stores_canonical_payload_and_an_empty_object_for_none(session: Session) -> None:
    instance = new_instance(session)
    append(session, instance, "started", actor=None, at=T0, payload={"b": 2, "a": "é"})
    append(session, instance, "nudged", actor=None, at=T0)
    assert [e.payload for e in stored(session, instance)] == ['{"a":"é","b":2}', "{}"]


def test_append_applies_the_protector_before_storing_and_hashing(session: Session) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def protect(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        seen.append((event_type, payload))
        return {**payload, "claimant": "ENC(" + payload["claimant"] + ")"}

    instance = new_instance(session)
    append(session, instance, "completed", actor="clerk", at=T0, payload={"claimant": "Li"}, protect=protect)
    (event,) = stored(session, instance)
    assert seen == [("completed", {"claimant": "Li"})]
    assert json.loads(event.payload) == {"claimant": "ENC(Li)"}
    assert event.hash == event_hash(GENESIS, instance.id, 1, "completed", T0, "clerk", None, event.payload)


# --- append_many --------------------------------------------------------------------------------

def test_append_many_chains_in_order_and_continues_an_existing_chain(session: Session) -> None:
    instance = new_instance(session)
    append(session, instance, "started", actor="clerk", at=T0)
    (first,) = stored(session, instance)
    append_many(session, instance, [("a", "clerk", "register", {"x": 1}), ("b", None, None, {})], at=T0)
    events = stored(session, instance)
    assert [(e.seq, e.type) for e in events] == [(1, "started"), (2, "a"), (3, "b")]
    assert events[1].prev_hash == first.hash
    assert events[2].prev_hash == events[1].hash
    assert events[1].hash == event_hash(first.hash, instance.id, 2, "a", T0, "clerk", "register", '{"x":1}')
    assert (instance.last_seq, instance.last_hash) == (3, events[2].hash)


def test_append_many_on_a_new_instance_starts_at_genesis(session: Session) -> None:
    instance = new_instance(session)
    append_many(session, instance, [("started", "clerk", None, {})], at=T0)
    (event,) = stored(session, instance)
    assert (event.seq, event.prev_hash) == (1, GENESIS)


def test_append_many_applies_the_protector_to_each_payload(session: Session) -> None:
    instance = new_instance(session)
    append_many(session, instance, [("a", None, None, {"v": 1}), ("b", None, None, {"v": 2})], at=T0,
                protect=lambda type_, payload: {"type": type_, "v": payload["v"] * 10})
    payloads = [json.loads(e.payload) for e in stored(session, instance)]
    assert payloads == [{"type": "a", "v": 10}, {"type": "b", "v": 20}]
    session.commit()
    assert verify_chains(session).ok


def test_append_many_stores_the_same_payload_text_as_append(session: Session) -> None:
    one, other = new_instance(session), new_instance(session)
    items = [("a", "clerk", "register", {"x": 1, "b": "é"}), ("b", None, None, {"y": [1, 2]})]
    for type_, actor, task_key, payload in items:
        append(session, one, type_, actor=actor, at=T0, task_key=task_key, payload=payload)
    append_many(session, other, items, at=T0)
    session.commit()
    assert [e.payload for e in events_of(session, one.id)] == [e.payload for e in events_of(session, other.id)]
    assert verify_chains(session).ok


def test_append_many_with_no_events_changes_nothing(session: Session) -> None:
    instance = chained(session, 2)
    head = (instance.last_seq, instance.last_hash)
    append_many(session, instance, [], at=T0)
    assert (instance.last_seq, instance.last_hash) == head
    assert len(stored(session, instance)) == 2


# --- verify_chains: intact ----------------------------------------------------------------------

def test_an_intact_chain_verifies(session: Session) -> None:
    instance = chained(session, 4)
    report = verify_chains(session)
    assert report.ok
    assert (report.instances, report.events) == (1, 4)
    assert report.heads == {instance.id: instance.last_hash}


def test_an_instance_without_events_verifies(session: Session) -> None:
    new_instance(session)
    session.commit()
    report = verify_chains(session)
    assert report.ok
    assert (report.instances, report.events) == (1, 0)


def test_several_instances_are_verified_separately(session: Session) -> None:
    first, second = chained(session, 2), chained(session, 3)
    report = verify_chains(session)
    assert report.ok
    assert (report.instances, report.events) == (2, 5)
    assert report.heads == {first.id: first.last_hash, second.id: second.last_hash}


def test_verify_can_be_limited_to_one_instance(session: Session) -> None:
    first, second = chained(session, 2), chained(session, 3)
    session.execute(update(EventModel).where(EventModel.instance_id == first.id).values(actor="mallory"))
    report = verify_chains(session, second.id)
    assert report.ok
    assert (report.instances, report.events) == (1, 3)
    assert not verify_chains(session, first.id).ok


def test_an_event_appended_at_a_non_utc_time_verifies(session: Session) -> None:
    instance = new_instance(session)
    append(session, instance, "fired", actor=None, at=datetime(2026, 12, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))))
    session.commit()
    assert verify_chains(session).ok


# --- verify_chains: each kind of tamper ---------------------------------------------------------

@pytest.mark.parametrize(("column", "value"), [
    ("payload", '{"n":99}'),
    ("actor", "mallory"),
    ("type", "approved"),
    ("task_key", "approve"),
    ("occurred_at", T0 - timedelta(days=1)),
])
def test_altered_content_is_reported_at_that_event(session: Session, column: str, value: Any) -> None:
    instance = chained(session, 4)
    session.execute(update(EventModel).where(EventModel.instance_id == instance.id, EventModel.seq == 3)
                    .values({column: value}))
    broken = only_break(session)
    assert (broken.instance_id, broken.seq) == (instance.id, 3)
    assert broken.event_id == event_at(session, instance, 3).id
    assert "content altered" in broken.reason


def test_altered_content_with_a_recomputed_hash_breaks_the_link_of_the_next_event(session: Session) -> None:
    instance = chained(session, 4)
    row = event_at(session, instance, 2)
    forged = event_hash(row.prev_hash, row.instance_id, 2, row.type, row.occurred_at, row.actor, row.task_key,
                        '{"n":1000}')
    session.execute(update(EventModel).where(EventModel.id == row.id).values(payload='{"n":1000}', hash=forged))
    broken = only_break(session)
    assert broken.seq == 3
    assert "does not link" in broken.reason


def test_an_altered_prev_hash_is_reported(session: Session) -> None:
    instance = chained(session, 3)
    session.execute(update(EventModel).where(EventModel.instance_id == instance.id, EventModel.seq == 2)
                    .values(prev_hash="f" * 64))
    broken = only_break(session)
    assert broken.seq == 2
    assert "does not link" in broken.reason


def test_a_deleted_event_in_the_middle_is_reported_as_missing(session: Session) -> None:
    instance = chained(session, 4)
    session.execute(delete(EventModel).where(EventModel.instance_id == instance.id, EventModel.seq == 2))
    broken = only_break(session)
    assert broken.seq == 3
    assert "expected event #2" in broken.reason
    assert "missing" in broken.reason


def test_deleting_the_first_event_is_reported(session: Session) -> None:
    instance = chained(session, 3)
    session.execute(delete(EventModel).where(EventModel.instance_id == instance.id, EventModel.seq == 1))
    broken = only_break(session)
    assert "expected event #1" in broken.reason


def test_events_removed_from_the_end_are_reported_against_the_instance_head(session: Session) -> None:
    instance = chained(session, 4)
    session.execute(delete(EventModel).where(EventModel.instance_id == instance.id, EventModel.seq >= 3))
    broken = only_break(session)
    assert broken.instance_id == instance.id
    assert broken.event_id is None
    assert "removed from the end" in broken.reason
    assert "#2" in broken.reason and "#4" in broken.reason


def test_an_event_appended_behind_the_instances_back_is_reported(session: Session) -> None:
    instance = chained(session, 2)
    head_seq, head_hash = instance.last_seq, instance.last_hash
    append(session, instance, "forged", actor="mallory", at=T0)
    session.flush()
    session.execute(update(InstanceModel).where(InstanceModel.id == instance.id)
                    .values(last_seq=head_seq, last_hash=head_hash))
    session.expire_all()
    broken = only_break(session)
    assert "instance records #2" in broken.reason


def test_an_altered_instance_head_hash_is_reported(session: Session) -> None:
    instance = chained(session, 2)
    session.execute(update(InstanceModel).where(InstanceModel.id == instance.id).values(last_hash="e" * 64))
    broken = only_break(session)
    assert broken.instance_id == instance.id


def test_all_events_of_an_instance_deleted_is_reported(session: Session) -> None:
    instance = chained(session, 3)
    session.execute(delete(EventModel).where(EventModel.instance_id == instance.id))
    broken = only_break(session)
    assert (broken.instance_id, broken.seq) == (instance.id, 1)
    assert "all 3 events are missing" in broken.reason


def test_events_of_a_deleted_instance_are_reported(session: Session) -> None:
    instance = chained(session, 2)
    orphan_id = instance.id
    session.execute(delete(InstanceModel).where(InstanceModel.id == orphan_id))
    broken = only_break(session)
    assert broken.instance_id == orphan_id
    assert "instance that does not" in broken.reason


def test_only_the_first_break_of_a_chain_is_reported_but_every_broken_chain_is(session: Session) -> None:
    first, second = chained(session, 4), chained(session, 4)
    for instance in (first, second):
        session.execute(update(EventModel).where(EventModel.instance_id == instance.id, EventModel.seq >= 2)
                        .values(actor="mallory"))
    report = verify_chains(session)
    assert sorted((b.instance_id, b.seq) for b in report.breaks) == [(first.id, 2), (second.id, 2)]


def test_a_chain_break_reads_as_instance_and_event() -> None:
    assert str(history.ChainBreak(5, 3, 11, "content altered")) == "instance 5 event #3: content altered"
    assert str(history.ChainBreak(5, None, None, "gone")) == "instance 5: gone"
