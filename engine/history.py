"""The history: append-only events, hash-chained per instance, and the check that proves it intact."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any

from sqlalchemy import Connection, DateTime, select, type_coerce
from sqlalchemy.orm import Session

from . import store
from .jsonutil import canonical_dumps
from .models import EventModel, InstanceModel

GENESIS = "0" * 64

# Fields of a payload that may carry personal data: the composition root supplies a function that
# protects them (encryption) before they are stored and hashed.
PayloadProtector = Callable[[str, dict[str, Any]], dict[str, Any]]


def no_protection(_event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The identity protector."""
    return payload


def event_hash(
    prev_hash: str, instance_id: int, seq: int, type_: str, occurred_at: datetime, actor: str | None,
    task_key: str | None, payload_text: str,
) -> str:
    """sha256 over the previous hash and the event's canonical JSON."""
    body = canonical_dumps({
        "instance": instance_id, "seq": seq, "type": type_, "at": occurred_at.astimezone(UTC).isoformat(),
        "actor": actor, "task": task_key, "payload": payload_text,
    })
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(
    conn: Connection, instance: Any, type_: str, *, actor: str | None, at: datetime,
    task_key: str | None = None, payload: dict[str, Any] | None = None,
    protect: PayloadProtector = no_protection,
) -> None:
    """Append one event to the instance's chain (in the caller's transaction)."""
    append_many(conn, instance, [(type_, actor, task_key, payload or {})], at=at, protect=protect)


def append_many(
    conn: Connection, instance: Any, events: list[tuple[str, str | None, str | None, dict[str, Any]]],
    *, at: datetime, protect: PayloadProtector = no_protection,
) -> None:
    """Append several events (type, actor, task key, payload) in order, in one statement."""
    if not events:
        return
    rows = []
    seq, prev = instance.last_seq, instance.last_hash or GENESIS
    for type_, actor, task_key, payload in events:
        payload_text = canonical_dumps(protect(type_, payload))
        seq += 1
        digest = event_hash(prev, instance.id, seq, type_, at, actor, task_key, payload_text)
        rows.append({"instance_id": instance.id, "seq": seq, "type": type_, "occurred_at": at, "actor": actor,
                     "task_key": task_key, "payload": payload_text, "prev_hash": prev, "hash": digest})
        prev = digest
    store.insert_events(conn, rows)
    instance.last_seq, instance.last_hash = seq, prev


def events_of(session: Session, instance_id: int) -> list[EventModel]:
    """One instance's events in order."""
    return list(session.scalars(
        select(EventModel).where(EventModel.instance_id == instance_id).order_by(EventModel.seq)
    ))


def event_dict(event: EventModel) -> dict[str, Any]:
    """An event as JSON-ready data."""
    return {
        "seq": event.seq, "type": event.type, "at": event.occurred_at.isoformat(), "actor": event.actor,
        "task": event.task_key, "payload": json.loads(event.payload), "hash": event.hash,
    }


@dataclass(frozen=True)
class ChainBreak:
    """The first event of an instance's chain that does not check out, and why."""

    instance_id: int
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"instance {self.instance_id}" + (f" event #{self.seq}" if self.seq is not None else "")
        return f"{where}: {self.reason}"


@dataclass
class VerifyReport:
    """The result of recomputing every chain."""

    instances: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    heads: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every chain is intact."""
        return not self.breaks


def _check_chain(
    instance_id: int, rows: Iterator[Any], head: tuple[int, str] | None
) -> tuple[int, ChainBreak | None, str]:
    # The hot loop of a whole-database check: rows are plain tuples and each event's canonical JSON is
    # assembled here, byte for byte what `event_hash` hashes (sorted keys, no spaces, UTF-8 kept), without
    # building a JSON encoder per event.
    prev, expected_seq, count = GENESIS, 1, 0
    enc, sha256, moment = _encode_string, hashlib.sha256, _moment_text
    for event_id, row_instance, seq, type_, occurred_at, actor, task_key, payload, prev_hash, digest in rows:
        count += 1
        if seq != expected_seq:
            kind = "missing or reordered" if seq > expected_seq else "duplicated or reordered"
            reason = f"expected event #{expected_seq} here ({kind})"
            return count, ChainBreak(instance_id, seq, event_id, reason), prev
        if prev_hash != prev:
            return count, ChainBreak(instance_id, seq, event_id, "does not link to the previous event (inserted, "
                                     "deleted or reordered before it)"), prev
        body = (f'{{"actor":{"null" if actor is None else enc(actor)},"at":{enc(moment(occurred_at))},'
                f'"instance":{row_instance},"payload":{enc(payload)},"seq":{seq},'
                f'"task":{"null" if task_key is None else enc(task_key)},"type":{enc(type_)}}}')
        if sha256((prev + body).encode("utf-8")).hexdigest() != digest:
            return count, ChainBreak(instance_id, seq, event_id, "content altered (hash mismatch)"), prev
        prev, expected_seq = digest, expected_seq + 1
    if head is None:
        return count, ChainBreak(instance_id, None, None, "events exist for an instance that does not"), prev
    last_seq, last_hash = head
    if expected_seq - 1 != last_seq or prev != (last_hash or GENESIS):
        return count, ChainBreak(instance_id, expected_seq, None,
                                 f"chain ends at event #{expected_seq - 1} but the instance records "
                                 f"#{last_seq}: events removed from the end"), prev
    return count, None, prev


@functools.lru_cache(maxsize=4096)
def _moment_text(stored: datetime | str) -> str:
    """A stored (naive UTC) time as `event_hash` writes it; the events of one step share their time, so the
    answer is remembered."""
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return moment.replace(tzinfo=UTC).isoformat()


def verify_chains(session: Session, instance_id: int | None = None) -> VerifyReport:
    """Recompute every chain (or one) and name the first broken event of each."""
    report = VerifyReport()
    heads_query = select(InstanceModel.id, InstanceModel.last_seq, InstanceModel.last_hash)
    # The time as the database stores it (naive UTC), formatted once per distinct value (one per step).
    events_query = select(
        EventModel.id, EventModel.instance_id, EventModel.seq, EventModel.type,
        type_coerce(EventModel.occurred_at, DateTime()),
        EventModel.actor, EventModel.task_key, EventModel.payload, EventModel.prev_hash, EventModel.hash,
    ).order_by(EventModel.instance_id, EventModel.seq, EventModel.id)
    if instance_id is not None:
        heads_query = heads_query.where(InstanceModel.id == instance_id)
        events_query = events_query.where(EventModel.instance_id == instance_id)
    heads = {row.id: (row.last_seq, row.last_hash) for row in session.execute(heads_query)}
    seen: set[int] = set()
    # Core rows straight from the connection: the ORM's result machinery would double the cost per event.
    rows = session.connection().execute(events_query.execution_options(yield_per=2000))
    current: list[Any] = []
    current_id: int | None = None

    def flush() -> None:
        if current_id is None:
            return
        count, broken, last = _check_chain(current_id, iter(current), heads.get(current_id))
        report.events += count
        report.instances += 1
        report.heads[current_id] = last
        if broken:
            report.breaks.append(broken)

    for row in rows:
        if row[1] != current_id:
            flush()
            current, current_id = [], row[1]
            seen.add(current_id)
        current.append(row)
    flush()
    for missing in sorted(set(heads) - seen):
        last_seq, _ = heads[missing]
        report.instances += 1
        if last_seq:
            report.breaks.append(ChainBreak(missing, 1, None, f"all {last_seq} events are missing"))
    return report
