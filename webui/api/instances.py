"""Process instances: start one, list them, show one (data masked by role), deliver a message to one, send
one by name and correlation, broadcast a signal."""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.workflow import InstanceSummary, instances, messages

from ..context import runtime
from ..masking import mask, shows_clear
from .case_event_schemas import MessageOutcomeSchema, MessageSendSchema, SignalOutcomeSchema, SignalSendSchema
from .common import actor, blueprint, page, window
from .schemas import (
    InstanceArgsSchema,
    InstanceDetailSchema,
    InstancePageSchema,
    InstanceSchema,
    MessagePayloadSchema,
    StartArgsSchema,
)

bp = blueprint("instances", __name__, "Process instances (cases).")


@bp.post("/processes/<key>/instances")
@bp.arguments(StartArgsSchema)
@bp.response(201, InstanceSchema)
def start(args: dict[str, Any], key: str) -> InstanceSummary:
    """Start the newest version of a process with initial data."""
    return instances.start_instance(runtime(), key, args["data"], actor(), args["business_key"])


@bp.get("/instances")
@bp.arguments(InstanceArgsSchema, location="query")
@bp.response(200, InstancePageSchema)
def list_instances(args: dict[str, Any]) -> dict[str, Any]:
    """Instances, newest first, filtered by status, process and business key (auditors and admins)."""
    limit, offset = window(args)
    found, total = instances.list_instances(
        runtime(), actor(), status=args.get("status"), process_key=args.get("process"),
        business_key=args.get("business_key"), limit=limit, offset=offset)
    return page(found, total, args)


@bp.get("/instances/<int:instance_id>")
@bp.response(200, InstanceDetailSchema)
def show(instance_id: int) -> InstanceSummary:
    """One instance with its open tasks and current data, personal fields masked for roles that do not need them."""
    caller = actor()
    summary = instances.show_instance(runtime(), instance_id, caller)
    return dataclasses.replace(summary, data=mask(summary.data or {}, shows_clear(caller.roles, summary.clear)))


@bp.post("/instances/<int:instance_id>/messages/<name>")
@bp.arguments(MessagePayloadSchema, required=False, description="the message's data: a JSON object")
@bp.response(200, InstanceSchema)
def deliver(payload: dict[str, Any], instance_id: int, name: str) -> InstanceSummary:
    """Deliver a message (e.g. a cooling-off cancellation) to an instance waiting for it; the body is its data."""
    return instances.deliver_message(runtime(), instance_id, name, payload, actor())


@bp.post("/messages/<name>")
@bp.arguments(MessageSendSchema)
@bp.response(200, MessageOutcomeSchema)
@bp.alt_response(404, description="no case waits for the message and no process starts on it")
@bp.alt_response(409, description="the correlation fits several waiting cases (or several processes start on it)")
def send(args: dict[str, Any], name: str) -> messages.MessageOutcome:
    """Deliver a message to the one case waiting for it that its correlation picks, or start the process whose
    start event catches it; the answer says which."""
    return messages.send_message(runtime(), name, args["data"], args["correlation"], actor())


@bp.post("/signals/<name>")
@bp.arguments(SignalSendSchema)
@bp.response(200, SignalOutcomeSchema)
@bp.alt_response(404, description="no case waits for the signal")
def signal(args: dict[str, Any], name: str) -> messages.SignalOutcome:
    """Broadcast a signal to every case waiting for it (administrators)."""
    return messages.send_signal(runtime(), name, args["data"], actor())
