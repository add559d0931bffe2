"""External calls made exactly once: from a committed intent, asked about before they are repeated.

The life of one call (a payment), each stage its own transaction or none:
1. The step's handler writes its intent and returns an `Effect`; the step stays started, and the case
   commits with `effect_intended` in its history and an open row in `effects` (`engine/workflow/outbox.py`).
2. `make_call`, with no transaction open and within `effect_timeout_seconds`: the effect kind's `call`,
   which asks the outside party what it holds for the key before it calls — a call that reached it
   before a crash is read back (`reconciled`), never repeated.
3. The outcome is settled into the case: the step is run again with the outcome (`ctx.outcome`), the
   handler records it, `effect_settled` goes into the history, and the process moves on.
When the call gets no answer, the case gets an incident (retried by the worker, or by an operator) and
the intent stays open; when the process that committed the intent dies before settling it, the worker
takes the call over once its lease has run out (`settle_abandoned`). Whoever resumes it starts at 2.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CallTimeoutError
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.errors import ConflictError

from .execution import load, persist, run_steps
from .models import EffectModel, IncidentModel
from .runtime import Runtime
from .step_incidents import incident_failed_again, raise_incident

log = logging.getLogger("insureflow.effects")
# Calls run here so that one that outlives its timeout is left behind (its answer is asked for again
# later), not waited for; a process holds at most this many calls at once.
_CALLS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="insureflow-effect")


class NoAnswerError(Exception):
    """The outside party did not answer within the call's time limit."""


def make_call(rt: Runtime, effect_id: int, *, owner: bool = False, actor: str | None = None,
              taken: tuple[Any, str, Any] | None = None) -> str:
    """Make the call of an open effect and settle its outcome into its case. `owner`: the caller committed
    the intent (or an operator retries it) and need not wait for its lease. `taken`: the intent's transaction
    leased the effect to this process and read what to send (`outbox.add`), so no transaction of its own leases
    it first. Never raises for the call's own failures — they become the case's incident. Returns settled /
    failed / conflict / skipped."""
    rt = rt.frozen()
    try:
        taken = taken or _take(rt, effect_id, owner)
        if taken is None:
            return "skipped"
        kind, key, request = taken
        try:
            outcome = _call(rt, kind, key, request)
        except Exception as exc:  # no answer, or a refusal that is not an outcome: ask again later
            log.warning("effect %s (%s): %s", effect_id, key, exc)
            _failed(rt, effect_id, exc, actor)
            return "failed"
        return _settle(rt, effect_id, outcome, actor)
    except ConflictError as exc:  # the case moved meanwhile: the intent stays open for the worker
        log.info("effect %s: %s; the worker settles it later", effect_id, exc)
        return "conflict"


def _take(rt: Runtime, effect_id: int, owner: bool) -> tuple[Any, str, Any] | None:
    """Lease the open effect and read what to send; None when it is settled or another process holds it."""
    with rt.uow() as uow:
        session = uow.session
        effect = session.scalar(select(EffectModel).where(EffectModel.id == effect_id)
                                .with_for_update(skip_locked=True))
        now = rt.clock()
        if effect is None or effect.status != "open" or (not owner and effect.lease_until > now):
            return None
        kind = rt.registry.effect_kind(effect.kind)
        if kind is None:
            raise RuntimeError(f"effect kind {effect.kind!r} of effect {effect_id} is not registered")
        effect.lease_until = now + timedelta(seconds=rt.settings.effect_grace_seconds)
        effect.calls += 1
        request = kind.describe(session, rt.services, effect.key)
        key = effect.key
        uow.commit()
    return kind, key, request


def _call(rt: Runtime, kind: Any, key: str, request: Any) -> dict[str, Any]:
    limit = rt.settings.effect_timeout_seconds
    future = _CALLS.submit(kind.call, rt.services, key, request)
    try:
        return future.result(timeout=limit)
    except CallTimeoutError:
        raise NoAnswerError(f"{kind.name} {key}: no answer within {limit:g} s") from None


def _open(session: Any, effect_id: int) -> EffectModel | None:
    effect = session.get(EffectModel, effect_id)
    return effect if effect is not None and effect.status == "open" else None


def _incident_of(session: Any, effect: EffectModel) -> IncidentModel | None:
    return session.scalar(select(IncidentModel).where(
        IncidentModel.instance_id == effect.instance_id, IncidentModel.spiff_task_id == effect.spiff_task_id,
        IncidentModel.status == "open").order_by(IncidentModel.id.desc()).limit(1))


def _settle(rt: Runtime, effect_id: int, outcome: dict[str, Any], actor: str | None) -> str:
    """Run the step again with the outcome, so that its handler records it, and move the case on."""
    with rt.uow() as uow:
        session = uow.session
        effect = _open(session, effect_id)
        if effect is None:
            return "skipped"
        loaded = load(rt, session, effect.instance_id, actor)  # locks the case: settling is serialised
        if _open(session, effect_id) is None:
            return "skipped"
        now = rt.clock()
        task = loaded.workflow.get_task_from_id(UUID(effect.spiff_task_id))
        effect.status, effect.settled_at = "settled", now
        # An open incident of the case makes it `incident`: a case in any other status has none to look up.
        incident = _incident_of(session, effect) if loaded.incident_open else None
        if task is None or task.state != TaskState.STARTED:
            # The step was withdrawn (an interrupting event) while its call was out: the outcome has no
            # step to go to. Never silent: the case says what the outside party holds.
            effect.status = "orphaned"
            loaded.incident_open = True
            raise_incident(rt, session, loaded, RuntimeError(
                f"{effect.kind} {effect.key} came back {'accepted' if outcome.get('accepted') else 'declined'} after "
                f"its step {effect.task_key!r} was withdrawn: reconcile it by hand"))
        else:
            loaded.run.outcomes[str(task.id)] = outcome
            task._set_state(TaskState.READY)
            if run_steps(rt, loaded, retrying=incident) is None and incident is not None:
                _resolve(loaded, incident, actor, now)
            elif incident is not None:
                loaded.incident_open = True
        persist(rt, session, loaded)
        uow.commit()
    return "settled"


def _resolve(loaded: Any, incident: IncidentModel, actor: str | None, now: datetime) -> None:
    loaded.incident_open = False
    incident.status, incident.resolved_at, incident.next_retry_at = "resolved", now, None
    loaded.record("incident_resolved", actor, incident.task_key, {"incident": incident.id})


def _failed(rt: Runtime, effect_id: int, exc: BaseException, actor: str | None) -> None:
    """No answer: the case gets an incident (or its incident fails again), and the intent stays open."""
    with rt.uow() as uow:
        session = uow.session
        effect = _open(session, effect_id)
        if effect is None:
            return
        loaded = load(rt, session, effect.instance_id, actor)
        effect = _open(session, effect_id)
        if effect is None:
            return
        effect.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        task = loaded.workflow.get_task_from_id(UUID(effect.spiff_task_id))
        incident = _incident_of(session, effect)
        if incident is not None:
            incident_failed_again(rt, loaded, incident, exc)
            incident.spiff_task_id, incident.task_key = effect.spiff_task_id, effect.task_key
        else:
            raise_incident(rt, session, loaded, exc, task=task)
        loaded.incident_open = True
        persist(rt, session, loaded)
        uow.commit()


def retry(rt: Runtime, incident_id: int, effect_id: int, actor: str | None) -> None:
    """An operator's or the worker's retry of an incident whose step waits for its call: record the
    retry, then ask again (the outside party is asked what it holds before anything is sent)."""
    rt = rt.frozen()
    with rt.uow() as uow:
        session = uow.session
        incident = session.get(IncidentModel, incident_id)
        loaded = load(rt, session, incident.instance_id, actor)
        session.refresh(incident)
        if incident.status != "open":
            raise ConflictError(f"incident {incident_id} is already {incident.status}")
        incident.attempts += 1
        loaded.record("incident_retried", actor, incident.task_key,
                      {"incident": incident.id, "attempt": incident.attempts})
        loaded.incident_open = True
        persist(rt, session, loaded)
        uow.commit()
    make_call(rt, effect_id, owner=True, actor=actor)


def settle_abandoned(rt: Runtime, limit: int = 100) -> dict[str, int]:
    """The worker's part: make the calls whose committing process died before settling them (their lease
    ran out and no incident holds them), each asked about before anything is sent again."""
    now = rt.clock()
    with rt.uow(read_only=True) as uow:
        session = uow.session
        held = select(IncidentModel.id).where(
            IncidentModel.instance_id == EffectModel.instance_id,
            IncidentModel.spiff_task_id == EffectModel.spiff_task_id, IncidentModel.status == "open")
        ids = list(session.scalars(select(EffectModel.id).where(
            EffectModel.status == "open", EffectModel.lease_until <= now, ~held.exists())
            .order_by(EffectModel.lease_until).limit(limit)))
    counts: dict[str, int] = {}
    for effect_id in ids:
        result = make_call(rt, effect_id)
        counts[result] = counts.get(result, 0) + 1
    return counts
