"""Checking submitted task data against the task's JSON Schema before anything changes; the form's
upload fields, and who may upload files for a task."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from sqlalchemy.orm import Session

from . import authorization, store
from .errors import InvalidInputError
from .form_patterns import bounded
from .identity import Actor
from .roles import separate_from_ids
from .runtime import Runtime

_FORMATS = FormatChecker()
# The schema keyword of a property whose items reference uploaded files (bpmn/README.md "Upload fields").
UPLOAD_KEYWORD = "x-upload"


@dataclass(frozen=True)
class SubmissionContext:
    """Where a submission goes: what a field checker may look up beyond the data itself."""

    session: Session
    instance_id: int
    task_id: int


# A check the schema cannot express (does a referenced file exist in this case?): field path → message.
# A check of a submission beyond its JSON Schema that needs the database (e.g. that a referenced uploaded
# file belongs to the case): given where the submission goes, the form and the data, the failing fields. The
# composition root hands the domain's checkers to the Runtime (`field_checkers`).
FieldChecker = Callable[[SubmissionContext, Mapping[str, Any], Mapping[str, Any]], Mapping[str, str]]


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
    schema = json.loads(schema_text)
    cls = bounded(validator_for(schema))  # patterns matched in linear time
    return cls(schema, format_checker=_FORMATS)


# C0 controls but tab and newline (and CR, which a browser's textarea sends with every newline), DEL, and C1.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_characters(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, complaint) for every text holding a character no form field should — PostgreSQL refuses
    NUL outright, and the others hide text from the people who read it — and every number that is not finite
    (NaN passes every comparison, a four-eyes limit included)."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            yield path or "(value)", "holds a NUL or control character"
    elif isinstance(value, float) and not math.isfinite(value):
        yield path or "(value)", "is not a finite number"
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
            "that is not finite", {"fields": controlled})


def check_submission(
    data: Any, schema: dict[str, Any] | None, context: SubmissionContext | None = None,
    checkers: Sequence[FieldChecker] = (),
) -> None:
    """Raise InvalidInputError listing every failing field; no schema accepts any JSON object. With a
    context, the field checkers run too."""
    if not isinstance(data, dict):
        raise InvalidInputError("task data must be a JSON object", {"fields": {"": "expected an object"}})
    bad_keys = [k for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad_keys:
        raise InvalidInputError(
            "field names must be identifiers not starting with '_'",
            {"fields": {str(k): "not an allowed field name" for k in bad_keys}},
        )
    refuse_control_characters(data)
    if schema is None:
        return
    validator = _validator(json.dumps(schema, sort_keys=True))
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = f"{path}.{missing}" if path else missing
            message = "is required"
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - known):
                fields.setdefault(f"{path}.{extra}" if path else extra, "is not a field of this form")
            continue
        else:
            message = error.message
        fields.setdefault(path or "(form)", message)
    if context is not None:
        for checker in checkers:
            for path, message in checker(context, schema, data).items():
                fields.setdefault(path, message)
    _raise_if_any(fields)


def _raise_if_any(fields: dict[str, str]) -> None:
    if fields:
        first = next(iter(fields.items()))
        raise InvalidInputError(
            f"{len(fields)} field{'s' if len(fields) != 1 else ''} invalid: {first[0]}: {first[1]}",
            {"fields": fields},
        )


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
        raise InvalidInputError(f"the form of task {task_id} has no upload field",
                                {"fields": {"files": "this task takes no files"}})
    return UploadTarget(task.id, task.instance_id, task.task_key, fields)
