"""The analysts' studio over HTTP: the handler catalogue, process versions, drafts, diff and rollback."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.authoring import drafts, version_diff
from engine.workflow import DEPLOYERS, deployments, require

from ..context import runtime
from .common import actor, blueprint
from .schemas import DeploymentSchema, ErrorSchema

bp = blueprint("studio", __name__, "The analysts' studio: handlers, versions, drafts, diff, rollback (analysts).")

_PROBLEMS = {"description": "the files cannot be kept: `details.problems` lists file, element, line, message",
             "content": {"application/json": {"schema": ErrorSchema}}}


@bp.before_request
def _analysts_only() -> None:
    """Every studio call is for analysts and administrators (the engine checks again where it changes data).
    Runs after the blueprint's sign-in check, which answers 401 without a caller."""
    require(actor(), DEPLOYERS, "use the studio")


# --- schemas --------------------------------------------------------------------------------------

class OperatorSchema(Schema):
    name = fields.String()
    description = fields.String()
    required = fields.List(fields.String(), metadata={"description": "parameters a diagram must give"})
    optional = fields.List(fields.String())


class OperatorListSchema(Schema):
    items = fields.List(fields.Nested(OperatorSchema), required=True)
    roles = fields.List(fields.String(), metadata={"description": "the roles a lane may name"})


class VersionSchema(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    deployment_id = fields.Integer()
    hash = fields.String()
    file_name = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    comment = fields.String()
    running = fields.Integer(metadata={"description": "instances on this version that have not ended"})
    latest = fields.Boolean()
    rolled_back_from = fields.Integer(allow_none=True, metadata={
        "description": "a rollback: the version whose content this one runs again"})


class VersionListSchema(Schema):
    items = fields.List(fields.Nested(VersionSchema), required=True)


class DiffArgsSchema(Schema):
    old = fields.Integer(required=True, data_key="from", metadata={"description": "the older version"})
    new = fields.Integer(required=True, data_key="to", metadata={"description": "the newer version"})


class ChangeDetailSchema(Schema):
    aspect = fields.String()
    old = fields.String(allow_none=True)
    new = fields.String(allow_none=True)


class ChangeSchema(Schema):
    file = fields.String()
    element = fields.String(allow_none=True, metadata={"description": "element id, form field, or none for a file"})
    kind = fields.String(metadata={"description": "added, removed or changed"})
    type = fields.String()
    name = fields.String()
    details = fields.List(fields.Nested(ChangeDetailSchema))


class DiffSchema(Schema):
    key = fields.String()
    old = fields.Nested(VersionSchema, data_key="from")
    new = fields.Nested(VersionSchema, data_key="to")
    changes = fields.List(fields.Nested(ChangeSchema))


class RollbackArgsSchema(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1),
                             metadata={"description": "the version whose content becomes the newest"})
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class DraftSchema(Schema):
    process_key = fields.String()
    username = fields.String()
    base_deployment_id = fields.Integer(allow_none=True)
    files = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "file name → text (BPMN, DMN, form JSON Schema)"})
    revision = fields.Integer(metadata={"description": "send it back when saving: a stale save is a 409"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DraftArgsSchema(Schema):
    files = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    base_deployment_id = fields.Integer(load_default=None, allow_none=True)
    revision = fields.Integer(load_default=None, allow_none=True,
                              metadata={"description": "the revision loaded; omitted, the save always wins"})


class DeployDraftArgsSchema(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


# --- views ----------------------------------------------------------------------------------------

@bp.get("/studio/operators")
@bp.response(200, OperatorListSchema)
def operators() -> dict[str, Any]:
    """The registered service-task handlers with their parameter names, and the roles lanes may name."""
    rt = runtime()
    return {"items": [{"name": h.name, "description": h.description, "required": sorted(h.required),
                       "optional": sorted(h.optional)} for h in rt.registry],
            "roles": sorted(rt.settings.known_roles)}


@bp.get("/studio/processes/<key>/versions")
@bp.response(200, VersionListSchema)
def versions(key: str) -> dict[str, Any]:
    """Every version of a process, newest first: deployer, time, hash, comment, running instances."""
    return {"items": deployments.list_versions(runtime(), key)}


@bp.get("/studio/processes/<key>/diff")
@bp.arguments(DiffArgsSchema, location="query")
@bp.response(200, DiffSchema)
def diff(args: dict[str, int], key: str) -> Any:
    """Elements added, removed and changed between two versions of a process."""
    return version_diff.diff_versions(runtime(), key, args["old"], args["new"])


@bp.post("/studio/processes/<key>/rollback")
@bp.arguments(RollbackArgsSchema)
@bp.response(201, VersionSchema, description="the new newest version, running the older version's content")
def rollback(args: dict[str, Any], key: str) -> Any:
    """Make an older version's content the newest version; running instances stay on theirs."""
    return deployments.rollback(runtime(), key, args["version"], actor(), args["comment"])


@bp.get("/studio/drafts/<key>")
@bp.response(200, DraftSchema)
def get_draft(key: str) -> Any:
    """The caller's draft of a process."""
    return drafts.get_draft(runtime(), actor(), key)


@bp.put("/studio/drafts/<key>")
@bp.arguments(DraftArgsSchema)
@bp.response(200, DraftSchema)
@bp.doc(responses={422: _PROBLEMS})
def put_draft(args: dict[str, Any], key: str) -> Any:
    """Save the caller's draft of a process (created when missing); a stale `revision` is a 409."""
    return drafts.save_draft(runtime(), actor(), key, args["files"], args["base_deployment_id"], args["revision"])


@bp.delete("/studio/drafts/<key>")
@bp.response(204)
def delete_draft(key: str) -> None:
    """Discard the caller's draft of a process."""
    drafts.discard_draft(runtime(), actor(), key)


@bp.post("/studio/drafts/<key>/deploy")
@bp.arguments(DeployDraftArgsSchema)
@bp.response(201, DeploymentSchema)
@bp.doc(responses={422: _PROBLEMS})
def deploy_draft(args: dict[str, Any], key: str) -> Any:
    """Deploy the caller's saved draft as a new version with a comment; the draft is then done with."""
    return drafts.deploy_draft(runtime(), actor(), key, args["comment"])

