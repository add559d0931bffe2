"""Messages and signals from outside a case — an API call, the command line, another system, another case.

A message goes to the one case that waits for it and whose data matches every correlation key (the key
`business_key` matches the case's business key). When no case waits for it, it starts the newest version
of the process whose start event catches it. The answer says which happened. Nobody catching it is a
NotFoundError; a correlation that fits several waiting cases, or several processes starting on one
message, is a ConflictError — a message reaches exactly one case, never the first that happens to match.
Both routes go through the same operations as everything else (`deliver_message`, `start_instance`): the
actor's rights are checked there and the history records the delivery. A message thrown by a case that no
case waits for starts the process that catches it the same way (the worker, with `processes_started_by`).

A signal is a broadcast: it reaches every case waiting for it (`signal_received` in each history). Because
it reaches cases the sender may have no part in, only administrators and the local operator send one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import ConflictError, InvalidInputError, NotFoundError

from .actors import Actor, require
from .execution import current_data, load
from .instances import SIGNALLERS, InstanceSummary, deliver_message, deliver_signal, start_instance
from .models import ProcessDefinitionModel, WaitModel
from .runtime import Runtime


@dataclass(frozen=True)
class MessageOutcome:
    """What a message from outside did: `delivered` to a waiting case, or `started` a new one."""

    outcome: str
    instance: InstanceSummary


def send_message(rt: Runtime, name: str, payload: dict[str, Any] | None, correlation: dict[str, str],
                 actor: Actor) -> MessageOutcome:
    """Deliver the message to the one waiting case its correlation picks, or start the process it starts."""
    if payload is not None and not isinstance(payload, dict):
        raise InvalidInputError("message data must be a JSON object")
    if not isinstance(correlation, dict) or not all(isinstance(v, str) for v in correlation.values()):
        raise InvalidInputError("a correlation maps names to text values", {"fields": {"correlation": "key → text"}})
    with rt.uow(read_only=True) as uow:
        waiting = _waiting_cases(rt, uow.session, name, correlation)
        starts = [] if waiting else _processes_started_by(rt, uow.session, name)
    if len(waiting) > 1:
        raise ConflictError(f"{len(waiting)} cases wait for message {name!r}{_which(correlation)} "
                            f"(instances {', '.join(map(str, waiting[:10]))}): give a correlation that picks one")
    if waiting:
        return MessageOutcome("delivered", deliver_message(rt, waiting[0], name, payload, actor))
    if len(starts) > 1:
        raise ConflictError(f"processes {', '.join(starts)} all start on message {name!r}: it cannot choose")
    if not starts:
        raise NotFoundError(f"no case waits for message {name!r}{_which(correlation)}, and no process starts on it")
    return MessageOutcome("started", start_instance(rt, starts[0], None, actor, message=(name, payload)))


def _which(correlation: dict[str, str]) -> str:
    return " with " + ", ".join(f"{k}={v}" for k, v in sorted(correlation.items())) if correlation else ""


def _waiting_cases(rt: Runtime, session: Session, name: str, correlation: dict[str, str]) -> list[int]:
    """The cases waiting for message `name` whose data (and business key) match every correlation key."""
    ids = list(session.scalars(select(WaitModel.instance_id).where(
        WaitModel.kind == "message", WaitModel.status == "pending", WaitModel.name == name)
        .distinct().order_by(WaitModel.instance_id)))
    if not correlation:
        return ids
    matching = []
    for instance_id in ids:
        loaded = load(rt, session, instance_id, None, lock=False)
        data = current_data(loaded.workflow)
        values = {**{k: str(v) for k, v in data.items() if isinstance(v, str | int)},
                  "business_key": loaded.instance.business_key or ""}
        if all(values.get(key) == value for key, value in correlation.items()):
            matching.append(instance_id)
    return matching


def _processes_started_by(rt: Runtime, session: Session, name: str) -> list[str]:
    """The keys of the processes whose newest version starts on message `name`."""
    newest = (select(ProcessDefinitionModel.key, func.max(ProcessDefinitionModel.version).label("version"))
              .group_by(ProcessDefinitionModel.key).subquery())
    rows = session.execute(select(ProcessDefinitionModel.key, ProcessDefinitionModel.deployment_id).join(
        newest, (ProcessDefinitionModel.key == newest.c.key) & (ProcessDefinitionModel.version == newest.c.version))
        .order_by(ProcessDefinitionModel.key)).all()
    found = []
    for key, deployment_id in rows:
        process = rt.specs.get(session, deployment_id).processes.get(key)
        if process is not None and any(_catches(spec, name) for spec in process.spec.start.outputs):
            found.append(key)
    return found


def _catches(spec: Any, name: str) -> bool:
    definition = getattr(spec, "event_definition", None)
    return isinstance(definition, MessageEventDefinition) and definition.name == name


def processes_started_by(rt: Runtime, session: Session, name: str) -> list[str]:
    """The keys of the processes whose newest version starts on message `name`."""
    return _processes_started_by(rt, session, name)


@dataclass(frozen=True)
class SignalOutcome:
    """What a signal reached: the cases it was delivered to, and those that could not take it now (why)."""

    delivered: list[InstanceSummary]
    refused: dict[int, str]


def send_signal(rt: Runtime, name: str, payload: dict[str, Any] | None, actor: Actor) -> SignalOutcome:
    """Deliver a signal to every case waiting for it, in case order; NotFoundError when none waits. A case that
    changed meanwhile (a conflict) does not stop the others: it is named in `refused`."""
    require(actor, SIGNALLERS, "send signals")
    if payload is not None and not isinstance(payload, dict):
        raise InvalidInputError("signal data must be a JSON object")
    with rt.uow(read_only=True) as uow:
        ids = list(uow.session.scalars(select(WaitModel.instance_id).where(
            WaitModel.kind == "signal", WaitModel.status == "pending", WaitModel.name == name)
            .distinct().order_by(WaitModel.instance_id)))
    if not ids:
        raise NotFoundError(f"no case waits for signal {name!r}")
    delivered, refused = [], {}
    for instance_id in ids:
        try:
            delivered.append(deliver_signal(rt, instance_id, name, payload, actor))
        except ConflictError as exc:
            refused[instance_id] = str(exc)
    return SignalOutcome(delivered, refused)
