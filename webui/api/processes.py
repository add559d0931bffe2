"""Process definitions and deployments: list, lint an upload, deploy, fetch a deployed file."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from engine.errors import DeploymentInvalidError, InvalidInputError
from engine.workflow import deployments

from ..context import runtime
from .common import actor, blueprint, page
from .schemas import DeploymentSchema, ErrorSchema, ProcessArgsSchema, ProcessPageSchema, ValidationOkSchema

bp = blueprint("processes", __name__, "Deployed process definitions and deployments (analysts).")

CONTENT_TYPES = {".bpmn": "application/xml", ".dmn": "application/xml", ".xml": "application/xml",
                 ".json": "application/json"}
_UPLOAD = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                             "description": "BPMN, DMN and form (JSON Schema) files; names may hold folders"},
                   "comment": {"type": "string", "description": "why this deployment (deployments only)"}}}}}
_PROBLEMS = {"description": "every problem found, in `details.problems` (file, element, line, message)",
             "content": {"application/json": {"schema": ErrorSchema}}}


def _uploaded() -> dict[str, bytes]:
    """The uploaded `files` by name (the name may hold folders: forms/claim.json)."""
    files: dict[str, bytes] = {}
    for storage in request.files.getlist("files"):
        name = (storage.filename or "").strip()
        if not name:
            continue  # a browser's empty file input
        if name in files:
            raise InvalidInputError(f"{name} was uploaded twice", {"fields": {"files": f"{name} was uploaded twice"}})
        files[name] = storage.read()
    return files


@bp.get("/processes")
@bp.arguments(ProcessArgsSchema, location="query")
@bp.response(200, ProcessPageSchema)
def list_processes(args: dict[str, Any]) -> dict[str, Any]:
    """Deployed process definitions: key, name, version, hash, deployed at (newest version per key)."""
    found = deployments.list_processes(runtime(), all_versions=args["all_versions"])
    start = (args["page"] - 1) * args["page_size"]
    return page(found[start:start + args["page_size"]], len(found), args)


@bp.post("/processes/validate")
@bp.doc(requestBody={"required": True, "content": _UPLOAD}, responses={422: _PROBLEMS})
@bp.response(200, ValidationOkSchema)
def validate_upload() -> Any:
    """Lint BPMN/DMN/form files without deploying anything (analysts and admins); 422 lists every problem."""
    problems = deployments.validate(runtime(), _uploaded(), actor())
    if problems:
        raise DeploymentInvalidError(problems=problems)
    return {"ok": True}


@bp.post("/deployments")
@bp.doc(requestBody={"required": True, "content": _UPLOAD}, responses={422: _PROBLEMS})
@bp.response(201, DeploymentSchema, description="deployed")
@bp.alt_response(200, schema=DeploymentSchema, description="identical content was deployed before: that deployment",
                 success=True)
def deploy() -> Any:
    """Deploy a file set (analysts); identical content answers 200 with the existing deployment."""
    comment = request.form.get("comment", "")
    info = deployments.deploy(runtime(), _uploaded(), actor(), comment)
    return info, 201 if info.created else 200


@bp.get("/deployments/<int:deployment_id>/files/<path:name>")
@bp.doc(responses={200: {"description": "the exact bytes that were deployed", "content": {
    "application/xml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def deployed_file(deployment_id: int, name: str) -> Response:
    """The exact file that was deployed (analysts, admins and auditors)."""
    content = deployments.deployed_file_for(runtime(), actor(), deployment_id, name)
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    response = Response(content, mimetype=CONTENT_TYPES.get(suffix, "application/octet-stream"))
    response.headers.set("Content-Disposition", "inline", filename=name.rsplit("/", 1)[-1])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
