"""The API's schemas for what reaches cases from outside or stops them: messages by name and correlation,
signals, incidents (the rest are in schemas.py)."""

from __future__ import annotations

from marshmallow import Schema, fields

from .schemas import InstanceSchema


class MessageSendSchema(Schema):
    """A message from outside: its data, and the correlation that picks the waiting case."""

    data = fields.Dict(load_default=None, allow_none=True,
                       metadata={"description": "the message's data: a JSON object"})
    correlation = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                              metadata={"description": "name → value every one of which the waiting case's data "
                                                       "(or `business_key`) must match"})


class MessageOutcomeSchema(Schema):
    outcome = fields.String(metadata={"description": "delivered (to a waiting case) or started (a new case)"})
    instance = fields.Nested(InstanceSchema)


class SignalSendSchema(Schema):
    """A signal from outside: its data."""

    data = fields.Dict(load_default=None, allow_none=True,
                       metadata={"description": "the signal's data: a JSON object"})


class SignalOutcomeSchema(Schema):
    delivered = fields.List(fields.Nested(InstanceSchema),
                            metadata={"description": "the cases that were waiting for it, as it left them"})
    refused = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "instance id → why it could not take the signal now"})


class IncidentArgsSchema(Schema):
    include_resolved = fields.Boolean(load_default=False)


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_key = fields.String(metadata={"description": "the failed step; empty for a stalled case"})
    error = fields.String()
    status = fields.String(metadata={"description": "open or resolved"})
    attempts = fields.Integer()
    next_retry_at = fields.DateTime(allow_none=True, metadata={"description": "when the worker retries it; "
                                                                              "null when retrying cannot help"})
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
