"""Incidents of a step: a failing step (or one failing again while retried) and a case that can no longer move.

`execution.run_steps` and `persist` raise them; the worker and operators retry them (engine/workflow/incidents.py).
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from .models import IncidentModel
from .runtime import Runtime

if TYPE_CHECKING:
    from .execution import Loaded


def _error_text(exc: BaseException) -> tuple[str, str]:
    message = f"{type(exc).__name__}: {exc}".split("\n")[0][:2000]
    return message, "".join(traceback.format_exception(exc))[-20000:]


def incident_failed_again(rt: Runtime, loaded: Loaded, incident: IncidentModel,
                          exc: BaseException) -> IncidentModel:
    """The incident being retried failed again: its error now, and the next retry while retries are left."""
    now = rt.clock()
    incident.error, incident.traceback = _error_text(exc)
    failed = loaded.workflow.get_tasks(state=TaskState.ERROR)
    if failed:
        incident.spiff_task_id, incident.task_key = str(failed[0].id), failed[0].task_spec.bpmn_id
    if incident.attempts < rt.settings.incident_max_retries:
        incident.next_retry_at = now + timedelta(seconds=rt.settings.incident_backoff_seconds * 2**incident.attempts)
    else:
        incident.next_retry_at = None
    loaded.record("incident_failed_again", loaded.run.actor, incident.task_key,
                  {"incident": incident.id, "attempt": incident.attempts, "error": incident.error})
    return incident


def raise_incident(rt: Runtime, session: Session, loaded: Loaded, exc: BaseException,
                   task: Any = None) -> IncidentModel:
    """An open incident for the failed step (the task in ERROR, or `task`); the worker retries it unless
    retrying cannot help."""
    failed = loaded.workflow.get_tasks(state=TaskState.ERROR)
    task = failed[0] if failed else task
    now = rt.clock()
    message, trace = _error_text(exc)
    retry = rt.settings.incident_max_retries > 0
    if task is not None and isinstance(task.task_spec, ExclusiveGateway | InclusiveGateway):
        # The case's data decides, and a retry runs on the same data: it cannot help, so none is scheduled.
        message = (f"{message.rstrip()} — no outgoing condition of gateway {task.task_spec.bpmn_id!r} holds for "
                   "the case's data; retrying cannot change that: give the gateway a default flow or correct the "
                   "data, then retry")[:2000]
        retry = False
    incident = IncidentModel(
        instance_id=loaded.instance.id, spiff_task_id=str(task.id) if task else "",
        task_key=task.task_spec.bpmn_id if task else "", error=message,
        traceback=trace, status="open", attempts=0,
        next_retry_at=now + timedelta(seconds=rt.settings.incident_backoff_seconds) if retry else None,
        created_at=now,
    )
    session.add(incident)
    session.flush()
    loaded.record("incident_raised", loaded.run.actor, incident.task_key,
                  {"incident": incident.id, "error": message})
    return incident


STALLED = "stalled: the case has no task ready and waits for no timer, message or signal"


def raise_stall(rt: Runtime, session: Session, loaded: Loaded) -> None:
    """An incident for a case that cannot move on by itself or by anyone, naming the steps it holds."""
    held = sorted(
        f"{task.task_spec.bpmn_id or task.task_spec.name} ({TaskState.get_name(task.state)})"
        for wf in (loaded.workflow, *loaded.workflow.subprocesses.values()) for task in wf.tasks.values()
        if task.state & (TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR))
    message = f"{STALLED}; its unfinished steps: {', '.join(held) or 'none'}"
    incident = IncidentModel(instance_id=loaded.instance.id, spiff_task_id="", task_key="", error=message,
                             traceback="", status="open", attempts=0, next_retry_at=None, created_at=rt.clock())
    session.add(incident)
    session.flush()
    loaded.incident_open = True
    loaded.record("incident_raised", loaded.run.actor, None, {"incident": incident.id, "error": message})
