"""The worker: fires due timers, delivers queued messages, retries incidents — each exactly once.

Timers and messages are found through their rows, never by deserializing instances. With several
workers on PostgreSQL each picks rows with FOR UPDATE SKIP LOCKED; on SQLite every transaction
takes the single write lock first (see database.py), so a row one worker handled is seen as done by
the next (a cycle timer's row as due only at its next repetition). The instance's optimistic lock is the
last line: a stale write is a conflict, retried on the next tick.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.integrity import write_signed_checkpoint
from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.identity import rate_limits
from engine.workflow import effects, jsonutil, messages, store, waits
from engine.workflow.actors import Actor
from engine.workflow.clock import fixed_clock, using_clock
from engine.workflow.execution import Loaded, load, persist, run_steps
from engine.workflow.incidents import due_incidents, retry_incident
from engine.workflow.instances import receive, start_in
from engine.workflow.models import InstanceModel, MessageModel, RateLimitHitModel, WaitModel
from engine.workflow.runtime import Runtime

log = logging.getLogger("insureflow.worker")
# Longer than any rate-limit window (the longest is 15 minutes of failed sign-ins).
RATE_LIMIT_MEMORY = timedelta(days=1)


@dataclass
class TickReport:
    """What one pass of the worker did."""

    timers_fired: int = 0  # each repetition of a cycle timer counts
    messages_delivered: int = 0
    incidents_retried: int = 0
    effects_settled: int = 0  # external calls taken over from a process that died before settling them
    conflicts: int = 0
    rate_limit_hits_forgotten: int = 0
    errors: list[str] = field(default_factory=list)
    checkpoint: str | None = None  # the signed checkpoint file written by this pass, if one was due


def _at(rt: Runtime, now: datetime | None) -> Runtime:
    return rt.frozen() if now is None else dataclasses.replace(rt, clock=fixed_clock(now))


def fire_due_timers(rt: Runtime, report: TickReport, limit: int = 500) -> None:
    """Fire every timer due by the runtime's clock."""
    skip: set[int] = set()
    now = rt.clock()
    for _ in range(limit):
        with rt.uow() as uow, using_clock(rt.clock):
            session = uow.session
            conn = session.connection()
            # Strictly before now, as SpiffWorkflow decides that a timer has fired.
            query = (select(WaitModel.id).where(WaitModel.kind == "timer", WaitModel.status == "pending",
                                                WaitModel.due_at < now, WaitModel.id.not_in(skip))
                     .order_by(WaitModel.due_at, WaitModel.id).limit(1))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            wait_id = session.scalar(query)
            if wait_id is None:
                return
            skip.add(wait_id)
            wait = store.get_wait(conn, wait_id)
            instance = store.get_instance(conn, wait.instance_id, lock=True)
            if instance.status in ("completed", "terminated"):
                store.update_wait(conn, wait.id, status="done", done_at=now)
                uow.commit()
                continue
            loaded = load(rt, session, wait.instance_id, None, instance=instance)
            loaded.firing_wait = wait.id
            loaded.record("timer_fired", None, wait.task_key, {
                "due": wait.due_at.isoformat() if wait.due_at else None, "wait": wait.id})
            loaded.workflow.refresh_timers()
            run_steps(rt, loaded)
            _name_the_timer(loaded, wait)
            persist(rt, session, loaded)
            if not _fired(store.get_wait(conn, wait.id), wait):
                log.warning("timer %s of instance %s was due but did not fire", wait.id, wait.instance_id)
                continue  # leaves the transaction uncommitted: nothing recorded
            uow.commit()
            report.timers_fired += loaded.fired_repetitions or 1


def _name_the_timer(loaded: Loaded, wait: store.WaitRecord) -> None:
    """The `timer_fired` event names the timer that fired: an event-based gateway waits for all its events
    at once (its wait row is the gateway's), and the one that fired is the timer catch event after it."""
    fired = waits.fired_timer(loaded.workflow, wait.spiff_task_id, wait.name)
    kind, actor, task_key, payload = loaded.pending_events[0]
    if fired is not None and kind == "timer_fired" and task_key != fired:
        loaded.pending_events[0] = (kind, actor, fired, payload)


def _fired(after: store.WaitRecord | None, before: store.WaitRecord) -> bool:
    """Whether the timer of a wait row fired: its row is done, or (a cycle timer) it waits for the next
    repetition now."""
    return after is None or after.status != "pending" or after.due_at != before.due_at


def deliver_messages(rt: Runtime, report: TickReport, limit: int = 500) -> None:
    """Deliver each queued message to one instance waiting for it (correlation decides which)."""
    with rt.uow() as uow:
        pending = list(uow.session.scalars(select(MessageModel.id).where(MessageModel.status == "pending")
                                           .order_by(MessageModel.id).limit(limit)))
    for message_id in pending:
        with rt.uow() as uow:
            session = uow.session
            message = session.get(MessageModel, message_id)
            if message is None or message.status != "pending":
                continue
            candidates = list(session.scalars(
                select(WaitModel.instance_id).where(
                    WaitModel.kind == "message", WaitModel.status == "pending", WaitModel.name == message.name,
                    WaitModel.instance_id != (message.source_instance_id or 0))
                .distinct().order_by(WaitModel.instance_id)))
            payload = rt.reveal("message", jsonutil.loads(message.payload))["payload"]
            for instance_id in candidates:
                loaded = load(rt, session, instance_id, None)
                try:
                    with using_clock(rt.clock):
                        receive(loaded, message.name, payload, None)
                except ConflictError:
                    continue
                run_steps(rt, loaded)
                persist(rt, session, loaded)
                message.status = "delivered"
                message.delivered_at = rt.clock()
                message.delivered_to = instance_id
                uow.commit()
                report.messages_delivered += 1
                break
            else:
                try:
                    _start_by_thrown(rt, session, message, payload, report)
                except (NotFoundError, ForbiddenError, InvalidInputError) as exc:  # stays queued, and says why
                    log.warning("message %s (%s) starts no case: %s", message.id, message.name, exc)
                    continue
                uow.commit()


def _start_by_thrown(rt: Runtime, session: Session, message: MessageModel, payload: Any, report: TickReport) -> None:
    """A thrown message no case waits for starts the one process whose start event catches it, in the
    transaction that marks it delivered (for the throwing case's starter); otherwise it stays queued."""
    starts = messages.processes_started_by(rt, session, message.name)
    source = session.get(InstanceModel, message.source_instance_id) if message.source_instance_id else None
    if len(starts) != 1 or source is None:
        return
    loaded, _summary = start_in(rt, session, starts[0], None, Actor(source.started_by, frozenset()),
                                message=(message.name, payload), routed_from=source.id)
    message.status, message.delivered_at, message.delivered_to = "delivered", rt.clock(), loaded.instance.id
    report.messages_delivered += 1


def retry_incidents(rt: Runtime, report: TickReport) -> None:
    """Retry incidents whose back-off has passed."""
    for incident_id in due_incidents(rt, rt.clock()):
        try:
            retry_incident(rt, incident_id, None)
            report.incidents_retried += 1
        except (ConflictError, NotFoundError):
            report.conflicts += 1


def settle_abandoned_effects(rt: Runtime, report: TickReport) -> None:
    """Make the external calls whose committing process died before settling them (asked about first)."""
    counts = effects.settle_abandoned(rt)
    report.effects_settled += counts.get("settled", 0)
    report.conflicts += counts.get("conflict", 0)


def forget_old_rate_limit_hits(rt: Runtime, report: TickReport) -> None:
    """Delete rate-limit hits older than any window (keys that went quiet), when there are some."""
    before = rt.clock() - RATE_LIMIT_MEMORY
    with rt.uow(read_only=True) as uow:
        stale = uow.session.scalar(select(RateLimitHitModel.id).where(RateLimitHitModel.at < before).limit(1))
    if stale is not None:  # only then take the write lock
        with rt.uow() as uow:
            report.rate_limit_hits_forgotten += rate_limits.sweep(uow.session, before)
            uow.commit()


def write_checkpoint(rt: Runtime, report: TickReport, *, force: bool = False) -> None:
    """A signed checkpoint of every chain head when one is due (every `checkpoint_minutes`, the first at once;
    `force`: now, at shutdown)."""
    if rt.checkpoints is None or rt.checkpoints.signing_key is None or not (force or rt.checkpoints.due()):
        return
    report.checkpoint = write_signed_checkpoint(rt)
    log.info("signed checkpoint %s written", report.checkpoint)


def tick(rt: Runtime, now: datetime | None = None) -> TickReport:
    """One pass: timers, messages, incident retries, abandoned external calls, stale rate-limit hits, then a
    signed checkpoint when one is due."""
    rt = _at(rt, now)
    report = TickReport()
    for step in (fire_due_timers, deliver_messages, retry_incidents, settle_abandoned_effects,
                 forget_old_rate_limit_hits, write_checkpoint):
        try:
            step(rt, report)
        except ConflictError as exc:
            report.conflicts += 1
            log.info("conflict, retried next tick: %s", exc)
    return report


def run_forever(rt: Runtime, interval: float = 1.0, stop: object = None) -> None:
    """Tick until interrupted; a last signed checkpoint at shutdown."""
    try:
        while stop is None or not stop.is_set():
            report = tick(rt)
            if report.timers_fired or report.messages_delivered or report.incidents_retried or report.effects_settled:
                log.info("fired %d timers, delivered %d messages, retried %d incidents, settled %d abandoned calls",
                         report.timers_fired, report.messages_delivered, report.incidents_retried,
                         report.effects_settled)
            if interval > 0:  # (libfaketime's sleep refuses 0 with EINVAL; nothing to wait for anyway)
                time.sleep(interval)
    finally:
        write_checkpoint(rt, TickReport(), force=True)
