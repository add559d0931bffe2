"""Human tasks: the caller's inbox, one task with its form, and claim / release / assign / complete."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import request, url_for

from engine.workflow import InstanceSummary, TaskView
from services import documents, human_tasks
from services.human_tasks import assign_task, claim_task, open_tasks, release_task, show_task

from ..context import runtime
from ..masking import mask, shows_clear
from ..uploads import uploads_of
from .common import actor, blueprint, page, window
from .schemas import (
    AssignArgsSchema,
    CompleteArgsSchema,
    DocumentUploadArgsSchema,
    InboxArgsSchema,
    InstanceSchema,
    TaskDetailSchema,
    TaskPageSchema,
    TaskSchema,
    UploadedDocumentsSchema,
)

bp = blueprint("tasks", __name__, "Human tasks: inbox, ownership, completion (the engine checks lanes, "
               "assignee and four eyes).")


@bp.get("/tasks")
@bp.arguments(InboxArgsSchema, location="query")
@bp.response(200, TaskPageSchema)
def inbox(args: dict[str, Any]) -> dict[str, Any]:
    """Open tasks assigned to the caller ('mine'), open to their roles ('role'), or both ('all')."""
    limit, offset = window(args)
    found, total, capped = open_tasks(runtime(), actor(), scope=args["scope"],
                                              process_key=args.get("process"), limit=limit, offset=offset)
    return {**page(found, total, args), "total_capped": capped}


@bp.get("/tasks/<int:task_id>")
@bp.response(200, TaskDetailSchema)
def show(task_id: int) -> dict[str, Any]:
    """One task: its form's JSON Schema, instructions, the case's data (masked by role) and context."""
    caller = actor()
    view = show_task(runtime(), caller, task_id)
    context = {"instance_id": view.instance_id, "process_key": view.process_key, "business_key": view.business_key,
               "instance_url": url_for("api_instances.show", instance_id=view.instance_id),
               "history_url": url_for("api_audit.history", instance_id=view.instance_id)}
    shown = mask(view.data or {}, shows_clear(caller.roles, view.clear))
    return {**_fields(dataclasses.replace(view, data=shown)), "context": context}


def _fields(view: TaskView) -> dict[str, Any]:
    return {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}


@bp.post("/tasks/<int:task_id>/claim")
@bp.response(200, TaskSchema)
def claim(task_id: int) -> TaskView:
    """Take an open task from the role's pool."""
    return claim_task(runtime(), actor(), task_id)


@bp.post("/tasks/<int:task_id>/release")
@bp.response(200, TaskSchema)
def release(task_id: int) -> TaskView:
    """Give a claimed task back to the role's pool."""
    return release_task(runtime(), actor(), task_id)


@bp.post("/tasks/<int:task_id>/assign")
@bp.arguments(AssignArgsSchema)
@bp.response(200, TaskSchema)
def assign(args: dict[str, Any], task_id: int) -> TaskView:
    """Hand a task to a named colleague who holds its role (managers)."""
    return assign_task(runtime(), actor(), task_id, args["to"])


@bp.post("/tasks/<int:task_id>/complete")
@bp.arguments(CompleteArgsSchema)
@bp.response(200, InstanceSchema, description="the case after the task, run on until it waits")
def complete(args: dict[str, Any], task_id: int) -> InstanceSummary:
    """Submit the form data; 422 names every failing field (a file reference not uploaded for this case
    too), 409 when the task is no longer open."""
    return human_tasks.complete_task(runtime(), actor(), task_id, args["data"])


@bp.post("/tasks/<int:task_id>/documents")
@bp.arguments(DocumentUploadArgsSchema, location="form", content_type="multipart/form-data")
@bp.response(201, UploadedDocumentsSchema, description="stored, encrypted; put `documents` into the form's "
             "upload field `field` when completing the task")
def upload_documents(args: dict[str, Any], task_id: int) -> dict[str, Any]:
    """Upload scanned documents for a task's upload field (whoever may complete the task); 422 when a file
    is empty, too large, not a PDF/JPEG/PNG or named unlike its content — then none is kept."""
    field, refs = documents.upload_documents(runtime(), actor(), task_id, args.get("field"), args["kind"],
                                             uploads_of(request.files.getlist("files")))
    return {"field": field, "documents": refs}
