"""The history: append-only events, hash-chained per instance, and the check that proves it intact.

Two chaining rules. The legacy rule (events written before the audit key existed, `key_id` empty): sha256 over
the previous hash and the event's canonical JSON — anyone with write access to the database could recompute it.
The keyed rule (`key_id` set): HMAC-SHA256 under the audit key named by `key_id` (engine/workflow/audit_keys.py, kept
outside the database) over the previous hash and the canonical JSON, which then also holds the key id and the
keyed hash of the sealed instance state the event left behind (`state_hash`). A chain switches to the keyed
rule at its first keyed event; after it, an unkeyed event is a forgery. So is an unkeyed event with an id above
the switch-over recorded in the key ring (the last event written before the audit key existed), or after a
signed checkpoint's head (engine/workflow/checkpoints.py): a chain from before the switch-over can neither be extended
nor rewritten by the legacy rule."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any

from sqlalchemy import Connection, DateTime, select, type_coerce
from sqlalchemy.orm import Session

from . import store
from .audit_keys import AuditKeys
from .jsonutil import canonical_dumps, loads
from .models import EventModel, InstanceModel
from .progress import Progress, quiet

GENESIS = "0" * 64

# Fields of a payload that may carry personal data: the composition root supplies a function that
# protects them (encryption) before they are stored and hashed.
PayloadProtector = Callable[[str, dict[str, Any]], dict[str, Any]]


def no_protection(_event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The identity protector."""
    return payload


def event_hash(
    prev_hash: str, instance_id: int, seq: int, type_: str, occurred_at: datetime, actor: str | None,
    task_key: str | None, payload_text: str, *, keys: AuditKeys | None = None, key_id: str | None = None,
    state_hash: str | None = None,
) -> str:
    """The legacy rule (no keys): sha256 over the previous hash and the event's canonical JSON. The keyed rule:
    HMAC-SHA256 under key `key_id` (default: the current key) over the same, the key id and state hash included."""
    fields: dict[str, Any] = {
        "instance": instance_id, "seq": seq, "type": type_, "at": occurred_at.astimezone(UTC).isoformat(),
        "actor": actor, "task": task_key, "payload": payload_text,
    }
    if keys is None:
        return hashlib.sha256((prev_hash + canonical_dumps(fields)).encode("utf-8")).hexdigest()
    kid = key_id or keys.current
    fields.update(key=kid, state=state_hash)
    return keys.mac((prev_hash + canonical_dumps(fields)).encode("utf-8"), kid)


def append(
    conn: Connection, instance: Any, type_: str, *, actor: str | None, at: datetime,
    task_key: str | None = None, payload: dict[str, Any] | None = None,
    protect: PayloadProtector = no_protection, keys: AuditKeys | None = None,
) -> None:
    """Append one event to the instance's chain (in the caller's transaction)."""
    append_many(conn, instance, [(type_, actor, task_key, payload or {})], at=at, protect=protect, keys=keys)


def append_many(
    conn: Connection, instance: Any, events: list[tuple[str, str | None, str | None, dict[str, Any]]],
    *, at: datetime, protect: PayloadProtector = no_protection, keys: AuditKeys | None = None,
) -> None:
    """Append several events (type, actor, task key, payload) in order, in one statement. With `keys`, they are
    chained by the keyed rule, each recording the keyed hash of the instance's sealed state as it is saved now
    (`instance.state`, hashed once for the batch)."""
    if not events:
        return
    rows = []
    seq, prev = instance.last_seq, instance.last_hash or GENESIS
    kid = keys.current if keys is not None else None
    state_hash = keys.mac(instance.state) if keys is not None else None
    for type_, actor, task_key, payload in events:
        payload_text = canonical_dumps(protect(type_, payload))
        seq += 1
        digest = event_hash(prev, instance.id, seq, type_, at, actor, task_key, payload_text, keys=keys,
                            key_id=kid, state_hash=state_hash)
        rows.append({"instance_id": instance.id, "seq": seq, "type": type_, "occurred_at": at, "actor": actor,
                     "task_key": task_key, "payload": payload_text, "prev_hash": prev, "hash": digest,
                     "key_id": kid, "state_hash": state_hash})
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
        "task": event.task_key, "payload": loads(event.payload), "hash": event.hash,
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
    # instance → (key id, keyed hash of the sealed state) recorded by its last event; legacy chains have none
    states: dict[int, tuple[str, str]] = field(default_factory=dict)
    legacy_events: int = 0  # events chained by the legacy (unkeyed) rule, before their chain's switch-over

    @property
    def ok(self) -> bool:
        """Whether every chain is intact."""
        return not self.breaks


@dataclass
class _Chain:
    """What one chain's check found: events read, the first break, the last hash, the last state seal."""

    count: int = 0
    legacy: int = 0
    broken: ChainBreak | None = None
    last: str = GENESIS
    state: tuple[str, str] | None = None


def _check_chain(
    instance_id: int, rows: Iterator[Any], head: tuple[int, str] | None, keys: AuditKeys | None,
    legacy_until: int | None,
) -> _Chain:
    # The hot loop of a whole-database check: rows are plain tuples and each event's canonical JSON is
    # assembled here, byte for byte what `event_hash` hashes (sorted keys, no spaces, UTF-8 kept), without
    # building a JSON encoder per event. `legacy_until`: the last seq that may still be unkeyed (None: any).
    out = _Chain()
    prev, expected_seq, keyed = GENESIS, 1, False
    enc, sha256, moment = _encode_string, hashlib.sha256, _moment_text
    ring = keys.keys if keys is not None else {}
    switch_over = keys.legacy_until if keys is not None else None
    for (event_id, row_instance, seq, type_, occurred_at, actor, task_key, payload, prev_hash, digest, kid,
         state_hash) in rows:
        out.count += 1
        if seq != expected_seq:
            kind = "missing or reordered" if seq > expected_seq else "duplicated or reordered"
            out.broken = ChainBreak(instance_id, seq, event_id, f"expected event #{expected_seq} here ({kind})")
            break
        if prev_hash != prev:
            out.broken = ChainBreak(instance_id, seq, event_id, "does not link to the previous event (inserted, "
                                    "deleted or reordered before it)")
            break
        head_text = (f'{{"actor":{"null" if actor is None else enc(actor)},"at":{enc(moment(occurred_at))},'
                     f'"instance":{row_instance},')
        tail_text = (f'"seq":{seq},"task":{"null" if task_key is None else enc(task_key)},"type":{enc(type_)}}}')
        if kid is None:
            if keyed:
                out.broken = ChainBreak(instance_id, seq, event_id, "forged: an event without the audit key's "
                                        "seal after the chain switched to keyed hashing")
                break
            if switch_over is not None and event_id > switch_over:
                out.broken = ChainBreak(instance_id, seq, event_id, "forged: an event without the audit key's "
                                        "seal written after the switch-over to the keyed chain")
                break
            if legacy_until is not None and seq > legacy_until:
                out.broken = ChainBreak(instance_id, seq, event_id, "forged: an event without the audit key's "
                                        "seal written after the last signed checkpoint")
                break
            body = f'{head_text}"payload":{enc(payload)},{tail_text}'
            ok = sha256((prev + body).encode("utf-8")).hexdigest() == digest
            out.legacy += 1
        else:
            key = ring.get(kid)
            if key is None:
                out.broken = ChainBreak(instance_id, seq, event_id, f"chained with audit key {kid}, which is not in "
                                        "the key ring: it cannot be checked (restore the key ring from its backup)")
                break
            state = "null" if state_hash is None else enc(state_hash)
            body = f'{head_text}"key":{enc(kid)},"payload":{enc(payload)},"seq":{seq},"state":{state},' + tail_text[
                len(f'"seq":{seq},'):]
            ok = hmac.compare_digest(hmac.new(key, (prev + body).encode("utf-8"), "sha256").hexdigest(), digest)
            keyed = True
            out.state = (kid, state_hash) if state_hash is not None else None
        if not ok:
            out.broken = ChainBreak(instance_id, seq, event_id, "content altered (hash mismatch)")
            break
        prev, expected_seq = digest, expected_seq + 1
    out.last = prev
    if out.broken is not None:
        return out
    if head is None:
        out.broken = ChainBreak(instance_id, None, None, "events exist for an instance that does not")
        return out
    last_seq, last_hash = head
    if expected_seq - 1 != last_seq or prev != (last_hash or GENESIS):
        out.broken = ChainBreak(instance_id, expected_seq, None, f"chain ends at event #{expected_seq - 1} but the "
                                f"instance records #{last_seq}: events removed from the end")
    return out


@functools.lru_cache(maxsize=4096)
def _moment_text(stored: datetime | str) -> str:
    """A stored (naive UTC) time as `event_hash` writes it; the events of one step share their time, so the
    answer is remembered."""
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return moment.replace(tzinfo=UTC).isoformat()


def verify_chains(
    session: Session, instance_id: int | None = None, keys: AuditKeys | None = None,
    legacy_heads: dict[int, int] | None = None, progress: Progress = quiet,
) -> VerifyReport:
    """Recompute every chain (or one) and name the first broken event of each. `keys`: the audit key ring
    (keyed events cannot be checked without it). `legacy_heads`: from the latest signed checkpoint, each
    instance's head seq then — events after it, and every event of a case not in it, must be keyed.
    `progress` is told after each chain."""
    report = VerifyReport()
    heads_query = select(InstanceModel.id, InstanceModel.last_seq, InstanceModel.last_hash)
    # The time as the database stores it (naive UTC), formatted once per distinct value (one per step).
    events_query = select(
        EventModel.id, EventModel.instance_id, EventModel.seq, EventModel.type,
        type_coerce(EventModel.occurred_at, DateTime()),
        EventModel.actor, EventModel.task_key, EventModel.payload, EventModel.prev_hash, EventModel.hash,
        EventModel.key_id, EventModel.state_hash,
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
        legacy_until = None if legacy_heads is None else legacy_heads.get(current_id, 0)
        chain = _check_chain(current_id, iter(current), heads.get(current_id), keys, legacy_until)
        report.events += chain.count
        report.legacy_events += chain.legacy
        report.instances += 1
        report.heads[current_id] = chain.last
        if chain.state is not None:
            report.states[current_id] = chain.state
        if chain.broken:
            report.breaks.append(chain.broken)
        progress("chains", report.instances, len(heads))

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
