"""The outbox: the external calls a case's steps asked for, committed with the case before anyone makes them.

A service task whose handler returns an `Effect` is left started; its call gets an open row in
`effects` in the same transaction as the intent the handler wrote. Once that transaction has committed,
the process that committed it makes the call (`engine/workflow/effects.py`); should it die first, the worker
takes the call over when the row's lease runs out. Either way the call is made from committed state only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.models import EffectModel
from engine.workflow.runtime import Runtime
from engine.workflow.script_engine import HandlerCall
from engine.workflow.unit_of_work import after_commit


def add(rt: Runtime, session: Session, instance_id: int, call: HandlerCall) -> None:
    """Queue the call a step asked for (an open row, or the one already open for this step and key), leased to
    this process, and have it made once the case's transaction has committed. What to send is read here, from the
    intent this transaction writes: the call then needs no transaction of its own before it is made."""
    now, key = rt.clock(), call.result["key"]
    kind = rt.registry.effect_kind(call.result["effect"])
    if kind is None:
        raise RuntimeError(f"effect kind {call.result['effect']!r} of {call.operator} is not registered")
    effect = session.scalar(select(EffectModel).where(
        EffectModel.instance_id == instance_id, EffectModel.spiff_task_id == call.task_id,
        EffectModel.key == key, EffectModel.status == "open"))
    lease = now + timedelta(seconds=rt.settings.effect_grace_seconds)
    if effect is None:
        effect = EffectModel(instance_id=instance_id, spiff_task_id=call.task_id, task_key=call.task_key,
                             operator=call.operator, kind=kind.name, key=key, status="open",
                             calls=1, created_at=now, lease_until=lease)
        session.add(effect)
        session.flush()
    else:
        effect.lease_until = lease
        effect.calls += 1
    effect_id, request = effect.id, kind.describe(session, rt.services, key)
    after_commit(session, lambda: _make(rt, effect_id, (kind, key, request)))


def _make(rt: Runtime, effect_id: int, taken: tuple[Any, str, Any]) -> None:
    from engine.workflow.effects import make_call  # the outbox is written from execution, which effects builds on

    make_call(rt, effect_id, owner=True, taken=taken)


def started_tasks(workflow: Any) -> list[Any]:
    """The service tasks of the workflow that wait for their external call."""
    return [t for t in workflow.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, ServiceTask)]


def open_effect(session: Session, instance_id: int, spiff_task_id: str) -> EffectModel | None:
    """The open external call of one step, if it has one."""
    return session.scalar(select(EffectModel).where(
        EffectModel.instance_id == instance_id, EffectModel.spiff_task_id == spiff_task_id,
        EffectModel.status == "open").order_by(EffectModel.id.desc()).limit(1))
