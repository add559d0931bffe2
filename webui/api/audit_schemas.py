"""Marshmallow schemas of the audit API: a case's history, its verification, replay, checkpoints, the audit
report and revealing personal data (webui/api/schemas.py holds the rest)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from .schemas import PageArgsSchema, PageSchema


class HistoryArgsSchema(PageArgsSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]),
                           metadata={"description": "csv: every event as CSV with a header row"})


class EventSchema(Schema):
    seq = fields.Integer()
    type = fields.String()
    at = fields.String(metadata={"description": "ISO 8601 time"})
    actor = fields.String(allow_none=True)
    task = fields.String(allow_none=True)
    payload = fields.Dict(metadata={"description": "what the step recorded, personal fields masked by role"})
    hash = fields.String()


class EventPageSchema(PageSchema):
    items = fields.List(fields.Nested(EventSchema), required=True)


class ReplaySchema(Schema):
    instance_id = fields.Integer()
    consistent = fields.Boolean()
    steps = fields.Integer(metadata={"description": "steps replayed consistently"})
    seq = fields.Integer(allow_none=True, metadata={"description": "the first divergent event"})
    event = fields.String(allow_none=True)
    expected = fields.String(allow_none=True)
    actual = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class ChainBreakSchema(Schema):
    instance = fields.Integer(attribute="instance_id")
    seq = fields.Integer(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    reason = fields.String()


class VerifySchema(Schema):
    ok = fields.Boolean()
    instances = fields.Integer()
    events = fields.Integer()
    breaks = fields.List(fields.Nested(ChainBreakSchema))



class DeploymentProblemSchema(Schema):
    deployment = fields.Integer()
    file = fields.String(allow_none=True, metadata={"description": "the altered file, when it can be named"})
    reason = fields.String()


class AuditVerifySchema(VerifySchema):
    """Every history chain and every deployment's files."""

    deployments = fields.Integer(metadata={"description": "deployments checked"})
    files = fields.Integer(metadata={"description": "deployed files checked"})
    deployment_problems = fields.List(fields.Nested(DeploymentProblemSchema))
    damaged_states = fields.List(fields.Dict(), metadata={
        "description": "cases whose stored state is not the one their last event recorded (keyed hash), or no "
                       "longer opens: {instance, reason}"})
    legacy_events = fields.Integer(metadata={
        "description": "events chained by the legacy unkeyed rule, before their chain's switch-over to the audit key"})
    sealed_rows = fields.Integer(metadata={"description": "money rows (payments, refunds) checked"})
    unsealed_rows = fields.Integer(metadata={"description": "money rows written before the audit key: not checked"})
    row_problems = fields.List(fields.Dict(), metadata={
        "description": "money rows not as the step that wrote them sealed them: {table, row, reason}"})
    signed_checkpoint = fields.Dict(allow_none=True, metadata={
        "description": "the latest signed checkpoint, used automatically: {file, problem, generated_at, problems}; "
                       "null when the worker has written none yet"})


class CheckpointSchema(Schema):
    """The chain heads and deployment hashes at one moment, with the verification report; keep it outside."""

    class Meta:
        unknown = INCLUDE

    format = fields.String(required=True, metadata={"description": "insureflow-checkpoint/1"})
    generated_at = fields.String(metadata={"description": "ISO 8601 time"})
    generated_by = fields.String()
    verification = fields.Dict(metadata={"description": "the whole-database verification report at that moment"})
    heads = fields.Dict(required=True, metadata={"description": "instance id → {seq, hash} of its last event"})
    deployments = fields.Dict(required=True, metadata={"description": "deployment id → {hash, files: {name: sha256}}"})
    digest = fields.String(required=True, metadata={"description": "sha256 over the heads and deployments"})


class CheckpointProblemSchema(Schema):
    kind = fields.String(metadata={"description": "checkpoint, instance or deployment"})
    id = fields.Integer(allow_none=True)
    seq = fields.Integer(allow_none=True)
    file = fields.String(allow_none=True)
    reason = fields.String()


class CheckpointCheckSchema(Schema):
    ok = fields.Boolean()
    generated_at = fields.String()
    instances_checked = fields.Integer()
    deployments_checked = fields.Integer()
    instances_since = fields.Integer(metadata={"description": "cases started after the checkpoint"})
    problems = fields.List(fields.Nested(CheckpointProblemSchema))
    current = fields.Dict(metadata={"description": "the whole-database verification report now"})


class ReportArgsSchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html", "pdf"]),
                           metadata={"description": "json, a printable html page, or pdf"})


class AuditReportSchema(Schema):
    """A case's audit report: summary, steps, every event with its hash, the chain check and the replay."""

    generated_at = fields.String()
    generated_by = fields.String()
    case = fields.Dict()
    steps = fields.List(fields.Dict(), metadata={"description": "path, waiting elements and data after each step"})
    events = fields.List(fields.Nested(EventSchema))
    verification = fields.Dict()
    replay = fields.Dict()


class UnmaskArgsSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "why the personal data is needed (recorded)"})
    step = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                          metadata={"description": "reveal the data as it was after this step; default: now"})


class UnmaskSchema(Schema):
    instance_id = fields.Integer()
    step = fields.Integer(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields", metadata={"description": "field path → value"})
    seq = fields.Integer(metadata={"description": "the data_unmasked event recording this"})
