"""Incidents: failed steps, their retries with back-off, and the person who retries at the end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.errors import ConflictError, NotFoundError

from . import effects, outbox
from .actors import Actor, require
from .execution import load, persist, run_steps
from .models import IncidentModel
from .runtime import Runtime

OPERATORS = {"admin"}


@dataclass(frozen=True)
class IncidentView:
    """An incident as lists show it."""

    id: int
    instance_id: int
    task_key: str
    error: str
    status: str
    attempts: int
    next_retry_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None


def _view(row: IncidentModel) -> IncidentView:
    return IncidentView(row.id, row.instance_id, row.task_key, row.error, row.status, row.attempts,
                        row.next_retry_at, row.created_at, row.resolved_at)


def list_incidents(rt: Runtime, actor: Actor, *, include_resolved: bool = False) -> list[IncidentView]:
    """Open incidents (and resolved ones when asked), oldest first."""
    require(actor, OPERATORS | {"auditor"}, "see incidents")
    query = select(IncidentModel).order_by(IncidentModel.id)
    if not include_resolved:
        query = query.where(IncidentModel.status == "open")
    with rt.uow() as uow:
        return [_view(r) for r in uow.session.scalars(query)]


def retry_incident(rt: Runtime, incident_id: int, actor: Actor | None) -> IncidentView:
    """Run the failed step again; resolved when the process moves on, rescheduled when it fails again."""
    rt = rt.frozen()
    if actor is not None:
        require(actor, OPERATORS, "retry incidents")
    who = actor.username if actor else None
    with rt.uow(read_only=True) as uow:
        incident = uow.session.get(IncidentModel, incident_id)
        if incident is None:
            raise NotFoundError(f"no incident {incident_id}")
        effect = outbox.open_effect(uow.session, incident.instance_id, incident.spiff_task_id)
    if incident.status != "open":
        raise ConflictError(f"incident {incident_id} is already {incident.status}")
    if effect is not None:  # the step waits for an external call that got no answer: ask again
        effects.retry(rt, incident_id, effect.id, who)
        with rt.uow(read_only=True) as uow:
            return _view(uow.session.get(IncidentModel, incident_id))
    with rt.uow() as uow:
        session = uow.session
        incident = session.get(IncidentModel, incident_id)
        if incident.status != "open":
            raise ConflictError(f"incident {incident_id} is already {incident.status}")
        loaded = load(rt, session, incident.instance_id, who)
        workflow = loaded.workflow
        if incident.spiff_task_id:
            task = workflow.get_task_from_id(UUID(incident.spiff_task_id))
            if task is not None and task.state == TaskState.ERROR:
                workflow.reset_from_task_id(task.id)
        incident.attempts += 1
        loaded.record("incident_retried", who, incident.task_key,
                      {"incident": incident.id, "attempt": incident.attempts})
        if run_steps(rt, loaded, retrying=incident) is None:
            loaded.incident_open = False
            incident.status = "resolved"
            incident.resolved_at = rt.clock()
            incident.next_retry_at = None
            loaded.record("incident_resolved", who, incident.task_key, {"incident": incident.id})
        persist(rt, session, loaded)
        view = _view(incident)
        uow.commit()
    return view


def due_incidents(rt: Runtime, now: datetime, limit: int = 100) -> list[int]:
    """Open incidents whose automatic retry is due."""
    with rt.uow() as uow:
        return list(uow.session.scalars(
            select(IncidentModel.id).where(IncidentModel.status == "open", IncidentModel.next_retry_at <= now)
            .order_by(IncidentModel.next_retry_at).limit(limit)))
