"""Dry runs of drafts (analysts): POST /api/dry-runs, and the scenarios saved with a process."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from flask import request
from marshmallow import Schema, fields, validate

from engine.authoring import DryRunResult, SavedScenario, dry_run, dry_run_scenarios
from engine.errors import InvalidInputError
from tasks.services import simulated

from ..context import runtime
from ..input_hygiene import strict_loads
from ..masking import mask, sees_personal_data
from .common import actor, blueprint
from .processes import _uploaded
from .schemas import ErrorSchema

bp = blueprint("dry_runs", __name__, "Dry runs of drafts and the scenarios saved with a process (analysts).")

_SCENARIO = {"type": "object", "description": 'JSON: {"process", "data", "steps": [{"task"|"timer"|"message", '
                                              '"data"}], "outcomes": {operator: [{"result"} or {"error"}]}}'}
_RUN_ON = {
    "files": {"type": "array", "items": {"type": "string", "format": "binary"},
              "description": "a draft: BPMN, DMN and form files (validated first)"},
    "deployment": {"type": "integer", "description": "a deployed file set instead of a draft"},
}
_RUN_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        **_RUN_ON, "scenario": {"type": "string", "description": "the scenario as JSON text"}}}},
    "application/json": {"schema": {"type": "object", "required": ["scenario"], "properties": {
        "deployment": _RUN_ON["deployment"], "scenario": _SCENARIO}}},
}}
_SAVED_RUN_BODY = {"required": False, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": _RUN_ON}}}}
_INVALID = {"description": "a bad scenario (`details.fields`) or a draft with problems (`details.problems`)",
            "content": {"application/json": {"schema": ErrorSchema}}}


class DryRunElementSchema(Schema):
    element = fields.String()
    name = fields.String()
    type = fields.String()
    process = fields.String(metadata={"description": "the process (or called process) of the element"})


class DryRunTaskSchema(Schema):
    task = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    answer = fields.Dict(allow_none=True, metadata={"description": "the scenario's answer (none: not answered)"})
    errors = fields.Dict(allow_none=True, metadata={"description": "field → message when the answer was invalid"})


class DryRunHandlerSchema(Schema):
    task = fields.String()
    operator = fields.String()
    simulated = fields.Boolean(metadata={"description": "answered from the scenario's outcomes, not run"})
    result = fields.Raw(allow_none=True)


class DryRunWaitSchema(DryRunElementSchema):
    kind = fields.String(metadata={"description": "task, timer or message"})
    due = fields.String(metadata={"description": "a timer's due time"})
    message = fields.String()


class DryRunResultSchema(Schema):
    process = fields.String()
    status = fields.String(metadata={"description": "completed, waiting, invalid_answer, scenario_mismatch or failed"})
    reason = fields.String()
    path = fields.List(fields.Nested(DryRunElementSchema), metadata={"description": "the elements run, in order"})
    tasks = fields.List(fields.Nested(DryRunTaskSchema), metadata={"description": "every human task met"})
    handlers = fields.List(fields.Nested(DryRunHandlerSchema))
    data = fields.Dict(metadata={"description": "the process data at the end (personal fields masked by role)"})
    waiting = fields.List(fields.Nested(DryRunWaitSchema), metadata={"description": "what it waits for at the end"})


class ScenarioArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scenario = fields.Dict(required=True, metadata={"description": _SCENARIO["description"]})


class SavedScenarioSchema(Schema):
    id = fields.Integer()
    process = fields.String(attribute="process_key")
    name = fields.String()
    scenario = fields.Dict()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SavedScenarioListSchema(Schema):
    items = fields.List(fields.Nested(SavedScenarioSchema), required=True)


def _run_on() -> dict[str, Any]:
    """The draft files or the deployment of a multipart request."""
    files = _uploaded()
    raw = request.form.get("deployment", "").strip()
    if raw and not raw.isdigit():
        raise InvalidInputError("deployment must be a deployment id", {"fields": {"deployment": "not an id"}})
    return {"files": files or None, "deployment_id": int(raw) if raw else None}


def _answer(result: DryRunResult) -> DryRunResult:
    return dataclasses.replace(result, data=mask(result.data, sees_personal_data(actor().roles)))


@bp.post("/dry-runs")
@bp.doc(requestBody=_RUN_BODY, responses={422: _INVALID})
@bp.response(200, DryRunResultSchema)
def run() -> DryRunResult:
    """Run a draft (multipart `files`) or a deployment on a scenario; nothing is kept, no real payment made."""
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInputError("the body must be a JSON object", {"fields": {"(body)": "not an object"}})
        deployment = body.get("deployment")
        if deployment is not None and (isinstance(deployment, bool) or not isinstance(deployment, int)):
            raise InvalidInputError("deployment must be a deployment id", {"fields": {"deployment": "not an id"}})
        where, scenario = {"files": None, "deployment_id": deployment}, body.get("scenario")
    else:
        where = _run_on()
        try:
            scenario = strict_loads(request.form.get("scenario") or "null")  # no NaN, no depth bomb
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"scenario is not valid JSON: {exc.msg}",
                                    {"fields": {"scenario": "not valid JSON"}}) from exc
    return _answer(dry_run.dry_run(runtime(), actor(), scenario, services=simulated(runtime().services), **where))


@bp.get("/processes/<key>/scenarios")
@bp.response(200, SavedScenarioListSchema)
def list_scenarios(key: str) -> dict[str, Any]:
    """The dry-run scenarios saved with a process."""
    return {"items": dry_run_scenarios.list_scenarios(runtime(), actor(), key)}


@bp.post("/processes/<key>/scenarios")
@bp.arguments(ScenarioArgsSchema)
@bp.response(201, SavedScenarioSchema)
@bp.doc(responses={409: {"description": "the process already has a scenario of that name",
                         "content": {"application/json": {"schema": ErrorSchema}}}})
def save_scenario(args: dict[str, Any], key: str) -> SavedScenario:
    """Save a scenario with a process (names are unique per process)."""
    return dry_run_scenarios.save_scenario(runtime(), actor(), key, args["name"], args["scenario"])


@bp.get("/processes/<key>/scenarios/<int:scenario_id>")
@bp.response(200, SavedScenarioSchema)
def get_scenario(key: str, scenario_id: int) -> SavedScenario:
    """One saved scenario."""
    return dry_run_scenarios.get_scenario(runtime(), actor(), key, scenario_id)


@bp.put("/processes/<key>/scenarios/<int:scenario_id>")
@bp.arguments(ScenarioArgsSchema)
@bp.response(200, SavedScenarioSchema)
def replace_scenario(args: dict[str, Any], key: str, scenario_id: int) -> SavedScenario:
    """Replace a saved scenario's name and steps."""
    return dry_run_scenarios.save_scenario(runtime(), actor(), key, args["name"], args["scenario"], scenario_id)


@bp.delete("/processes/<key>/scenarios/<int:scenario_id>")
@bp.response(204)
def delete_scenario(key: str, scenario_id: int) -> None:
    """Forget a saved scenario."""
    dry_run_scenarios.delete_scenario(runtime(), actor(), key, scenario_id)


@bp.post("/processes/<key>/scenarios/<int:scenario_id>/run")
@bp.doc(requestBody=_SAVED_RUN_BODY, responses={422: _INVALID})
@bp.response(200, DryRunResultSchema)
def run_saved(key: str, scenario_id: int) -> DryRunResult:
    """Run a saved scenario again: on a draft (`files`), a deployment, or the newest deployed version."""
    saved = dry_run_scenarios.get_scenario(runtime(), actor(), key, scenario_id)
    where = _run_on() if request.mimetype == "multipart/form-data" else {"files": None, "deployment_id": None}
    return _answer(dry_run.dry_run(runtime(), actor(), saved.scenario, services=simulated(runtime().services), **where))
