"""Marshmallow schemas of the API: what requests carry, what answers hold — and the OpenAPI document from both."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import INCLUDE, Schema, fields, pre_dump, validate

MAX_PAGE_SIZE = 100


# --- errors and paging ----------------------------------------------------------------------------

class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable name"})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "e.g. `fields` (path → message) or `problems`"})


class ErrorSchema(Schema):
    """The one error body of every API answer: `{"error": {"code", "message", "details"}}`."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class PageSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)


# --- processes and deployments --------------------------------------------------------------------

class ProcessArgsSchema(PageArgsSchema):
    all_versions = fields.Boolean(load_default=False, metadata={"description": "every version, not only the newest"})


class ProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    hash = fields.String(metadata={"description": "sha256 of the deployment's file set"})
    deployment_id = fields.Integer()
    deployed_at = fields.DateTime()
    latest = fields.Boolean()


class ProcessPageSchema(PageSchema):
    items = fields.List(fields.Nested(ProcessSchema), required=True)


class ProblemSchema(Schema):
    file = fields.String()
    element = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    message = fields.String()


class ValidationOkSchema(Schema):
    ok = fields.Boolean()


class DeployedProcessSchema(Schema):
    key = fields.String()
    version = fields.Integer()


class DeploymentSchema(Schema):
    id = fields.Integer()
    hash = fields.String()
    created = fields.Boolean(metadata={"description": "false when identical content was already deployed"})
    deployed_at = fields.DateTime()
    comment = fields.String()
    processes = fields.List(fields.Nested(DeployedProcessSchema), metadata={"description": "the processes it holds"})
    files = fields.List(fields.String())

    @pre_dump
    def _processes_as_objects(self, info: Any, **_kwargs: Any) -> dict[str, Any]:
        # The engine gives (key, version) pairs.
        return {**dataclasses.asdict(info), "processes": [{"key": k, "version": v} for k, v in info.processes]}


# --- instances ------------------------------------------------------------------------------------

class StartArgsSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "initial process data"})
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class MessagePayloadSchema(Schema):
    """The message's data: any JSON object (the diagram's message variable receives it)."""

    class Meta:
        unknown = INCLUDE


class InstanceArgsSchema(PageArgsSchema):
    status = fields.String(metadata={"description": "running, waiting, incident, completed…"})
    process = fields.String(metadata={"description": "process key"})
    business_key = fields.String()


class OpenTaskSchema(Schema):
    id = fields.Integer()
    task = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)


class InstanceSchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    started_by = fields.String()
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    open_tasks = fields.List(fields.Nested(OpenTaskSchema))


class InstanceDetailSchema(InstanceSchema):
    data = fields.Dict(metadata={"description": "the case's current data, personal fields masked by role"})


class InstancePageSchema(PageSchema):
    items = fields.List(fields.Nested(InstanceSchema), required=True)


# --- human tasks ----------------------------------------------------------------------------------

class InboxArgsSchema(PageArgsSchema):
    scope = fields.String(load_default="all", validate=validate.OneOf(["mine", "role", "all"]),
                          metadata={"description": "assigned to me, open to my roles, or both"})
    process = fields.String(metadata={"description": "process key"})


class TaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_key = fields.String()
    business_key = fields.String(allow_none=True)
    task = fields.String(attribute="task_key", metadata={"description": "the task's id in the diagram"})
    name = fields.String()
    lane = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    status = fields.String()
    priority = fields.Integer()
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    form = fields.String(allow_none=True)


class TaskContextSchema(Schema):
    instance_id = fields.Integer()
    process_key = fields.String()
    business_key = fields.String(allow_none=True)
    instance_url = fields.String()
    history_url = fields.String()


class TaskDetailSchema(TaskSchema):
    form_schema = fields.Dict(allow_none=True, metadata={"description": "the form's JSON Schema"})
    instructions = fields.String(allow_none=True)
    texts = fields.Dict(metadata={"description": "the task's name and instructions by staff language (`zh`: "
                                  "{name, instructions}), from the deployment's translation files"})
    data = fields.Dict(metadata={"description": "the case's data at this task, personal fields masked by role"})
    context = fields.Nested(TaskContextSchema)


class TaskPageSchema(PageSchema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total_capped = fields.Boolean(required=True, metadata={
        "description": "the inbox holds more tasks than `total` (counting stops at 1,000)"})


class AssignArgsSchema(Schema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=100),
                       metadata={"description": "user name of the colleague"})


class CompleteArgsSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "the form's data"})


class DocumentUploadArgsSchema(Schema):
    """The multipart body of a document upload (the files themselves arrive as `files`)."""

    files = fields.List(Upload(), metadata={"description": "one or more scanned documents: PDF, JPEG or PNG"})
    kind = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"description": "the document kind of every file, e.g. medical_invoice"})
    field = fields.String(validate=validate.Length(min=1, max=100),
                          metadata={"description": "the form's upload field (only when the form has several)"})


class DocumentRefSchema(Schema):
    document_id = fields.Integer()
    kind = fields.String()
    filename = fields.String(metadata={"description": "the stored (sanitized) file name"})
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String()


class UploadedDocumentsSchema(Schema):
    """What to put in the upload field of the data of `POST /api/tasks/{id}/complete`."""

    field = fields.String(metadata={"description": "the form's upload field the references belong in"})
    documents = fields.List(fields.Nested(DocumentRefSchema))


# --- public ---------------------------------------------------------------------------------------

class ClaimCheckSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=24),
                         metadata={"description": "the access code from the claim's acknowledgement (e.g. ABCDE-FGHJK; "
                                                  "case, spaces and dashes do not matter)"})


class CustomerMessageSchema(ClaimCheckSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500),
                         metadata={"description": "the claimant's few words (plain text: no control characters)"})


class CustomerMessageReceivedSchema(Schema):
    claim_number = fields.String()
    message = fields.String()
    received = fields.Boolean()


class ClaimStepSchema(Schema):
    status = fields.String()
    date = fields.String(metadata={"description": "ISO date (the insurer's local date)"})


class ClaimStatusSchema(Schema):
    claim_number = fields.String()
    steps = fields.List(fields.Nested(ClaimStepSchema))
    paid_amount = fields.String(metadata={"description": "the amount paid (CNY, 2 decimals), once the claim is paid"})
