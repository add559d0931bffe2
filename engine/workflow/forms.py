"""Checking submitted task data against the task's JSON Schema before anything changes; the form's
upload fields, and who may upload files for a task."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from sqlalchemy.orm import Session

from engine.errors import FieldProblem, InvalidInputError

from . import authorization, jsonutil, store
from .actors import Actor
from .form_patterns import bounded
from .roles import separate_from_ids
from .runtime import Runtime

_FORMATS = FormatChecker()
# The schema keyword of a property whose items reference uploaded files (bpmn/README.md "Upload fields").
UPLOAD_KEYWORD = "x-upload"
# The schema keyword naming the case page's section a form field is shown in (bpmn/README.md, forms), and the
# sections there are; a field naming none is shown under "Other details".
SECTION_KEYWORD = "x-section"
SECTIONS = ("claim", "policy", "claimant", "customer", "application", "suitability", "underwriting", "assessment",
            "survey", "investigation", "approval", "aml", "payment", "request", "refund")


@dataclass(frozen=True)
class SubmissionContext:
    """Where a submission goes: what a field checker may look up beyond the data itself."""

    session: Session
    instance_id: int
    task_id: int


# A check of a submission beyond its JSON Schema that needs the database (e.g. that a referenced uploaded
# file belongs to the case): given where the submission goes, the form and the data, the failing fields. The
# composition root hands the domain's checkers to the Runtime (`field_checkers`).
FieldChecker = Callable[[SubmissionContext, Mapping[str, Any], Mapping[str, Any]], Mapping[str, str | FieldProblem]]


def upload_fields(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The form's upload fields by name (the property schemas carrying `x-upload`)."""
    props = (schema or {}).get("properties") or {}
    return {name: spec for name, spec in props.items()
            if isinstance(spec, dict) and isinstance(spec.get(UPLOAD_KEYWORD), dict)}


def upload_kinds(spec: Mapping[str, Any]) -> list[str]:
    """The document kinds an upload field's files may be given."""
    items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
    kind = (items.get("properties") or {}).get("kind") or {}
    return [str(k) for k in kind.get("enum") or []]


@lru_cache(maxsize=512)
def _validator(schema_text: str) -> Any:
    schema = jsonutil.loads(schema_text)
    cls = bounded(validator_for(schema))  # patterns matched in linear time
    return cls(schema, format_checker=_FORMATS)


# C0 controls but tab and newline (and CR, which a browser's textarea sends with every newline), DEL, and C1.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_characters(value: Any, path: str = "") -> Iterator[tuple[str, FieldProblem]]:
    """(field path, problem) for every text holding a character no form field should — PostgreSQL refuses
    NUL outright, and the others hide text from the people who read it — and every number that is not finite
    (NaN passes every comparison, a four-eyes limit included)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            yield path or "(value)", FieldProblem("control_character", "holds a NUL or control character")
    elif isinstance(value, float) and not math.isfinite(value):
        yield path or "(value)", FieldProblem("not_finite", "is not a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, f"{path}.{index}" if path else str(index))


def refuse_control_characters(data: Any) -> None:
    """InvalidInputError naming every text field that holds NUL or another control character, and every
    number that is not finite."""
    controlled = dict(_control_characters(data))
    if controlled:
        raise InvalidInputError(
            f"{len(controlled)} field(s) hold NUL or control characters (newline and tab are fine) or a number "
            "that is not finite", {"fields": {path: str(p) for path, p in controlled.items()},
                                   "codes": {path: p.as_code() for path, p in controlled.items()}})


def _json_ready(value: Any) -> Any:
    """A schema keyword's value as a translation may quote it (numbers, texts, lists of them)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return str(value)


def _schema_problem(error: Any) -> tuple[str, FieldProblem] | list[tuple[str, FieldProblem]]:
    """A jsonschema error as (field path, problem): its keyword (`validator`) is the kind, its keyword's value
    (`validator_value`) the parameter — never the English text, which a jsonschema release may reword."""
    path = ".".join(str(p) for p in error.absolute_path)
    keyword = error.validator
    if keyword == "required":  # jsonschema reports each missing name alike: name them all (duplicates merge)
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [(f"{path}.{name}" if path else name, FieldProblem("required", "is required"))
                for name in error.validator_value if name not in instance]
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        return [(f"{path}.{extra}" if path else extra, FieldProblem("unknown_field", "is not a field of this form"))
                for extra in sorted(set(error.instance) - known)]
    if keyword is None:  # the `false` schema: this answer rules the field out
        return path or "(form)", FieldProblem("not_allowed", error.message)
    return path or "(form)", FieldProblem(str(keyword), error.message, {"value": _json_ready(error.validator_value)})


def check_submission(
    data: Any, schema: dict[str, Any] | None, context: SubmissionContext | None = None,
    checkers: Sequence[FieldChecker] = (),
) -> None:
    """Raise InvalidInputError listing every failing field; no schema accepts any JSON object. With a
    context, the field checkers run too."""
    if not isinstance(data, dict):
        raise InvalidInputError.for_fields({"": FieldProblem("type", "expected an object", {"value": "object"})})
    bad_keys = [k for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad_keys:
        raise InvalidInputError.for_fields({str(k): FieldProblem("field_name", "not an allowed field name")
                                            for k in bad_keys}, "field names must be identifiers not starting with '_'")
    refuse_control_characters(data)
    if schema is None:
        return
    validator = _validator(jsonutil.canonical_dumps(schema))
    fields: dict[str, str | FieldProblem] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        found = _schema_problem(error)
        for path, problem in (found if isinstance(found, list) else [found]):
            fields.setdefault(path, problem)
    if context is not None:
        for checker in checkers:
            for path, problem in checker(context, schema, data).items():
                fields.setdefault(path, problem)
    if fields:
        raise InvalidInputError.for_fields(fields)


@dataclass(frozen=True)
class UploadTarget:
    """A task files may be uploaded for: its case and its form's upload fields."""

    task_id: int
    instance_id: int
    task_key: str
    fields: dict[str, dict[str, Any]]


def _open_task(rt: Runtime, session: Session, task_id: int, actor: Actor) -> tuple[Any, dict[str, Any] | None]:
    """The task row, when the actor may complete it (the engine's check), and its form's schema."""
    conn = session.connection()
    task = store.get_task(conn, task_id)
    keys = separate_from_ids(task.separate_from)
    authorization.check_complete(task, actor, store.performers(conn, task.instance_id, keys) if keys else set())
    instance = store.get_instance(conn, task.instance_id)
    return task, rt.specs.get(session, instance.deployment_id).form(task.form) if task.form else None


def authorize_upload(rt: Runtime, session: Session, task_id: int, actor: Actor) -> UploadTarget:
    """The task's upload fields, when the actor may complete the task: only they may upload for it."""
    task, schema = _open_task(rt, session, task_id, actor)
    fields = upload_fields(schema)
    if not fields:
        raise InvalidInputError.for_fields({"files": FieldProblem("no_upload", "this task takes no files")},
                                           f"the form of task {task_id} has no upload field")
    return UploadTarget(task.id, task.instance_id, task.task_key, fields)
