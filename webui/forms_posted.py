"""A task form's values both ways: what the browser posted, as task data (blank fields left out, unreadable
numbers passed on as entered so that the engine's validation names them), and the task's data as form values."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.workflow import UPLOAD_KEYWORD, jsonutil, upload_fields

from . import forms_rows
from .forms_render import Raw, answer_required, field_kind


def raw_values(schema: Mapping[str, Any], posted: MultiDict[str, str]) -> Raw:
    """What the user entered in each field of the schema, for redisplay and drafts."""
    raw: Raw = {}
    for name, spec in (schema.get("properties") or {}).items():
        if isinstance(spec, dict) and forms_rows.is_rows(spec):
            raw[name] = forms_rows.raw_rows(name, spec, posted)
        elif isinstance(spec, dict) and spec.get("type") == "array":
            raw[name] = posted.getlist(name)
        elif name in posted:
            raw[name] = posted.get(name, "")
    return raw


def raw_from_data(schema: Mapping[str, Any], data: Mapping[str, Any]) -> Raw:
    """The task's current data as form values (a task that comes back shows what was entered before)."""
    raw: Raw = {}
    for name, spec in (schema.get("properties") or {}).items():
        if name not in data or data[name] is None or not isinstance(spec, dict):
            continue
        value = data[name]
        if forms_rows.is_rows(spec):
            raw[name] = forms_rows.rows_from_data(spec, value)
        elif isinstance(value, bool):
            raw[name] = "true" if value else "false"
        elif isinstance(value, list):
            raw[name] = [jsonutil.dumps(v) if isinstance(v, dict) else str(v) for v in value]
        elif isinstance(value, dict):
            raw[name] = jsonutil.dumps(value)
        else:
            raw[name] = str(value)
    return raw


def _number(text: str, integer: bool) -> Any:
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace(" ", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return text  # the engine names the field: not a number
    if not number.is_finite():
        return text
    if integer:
        return int(number) if number == number.to_integral_value() else text
    return int(number) if number == number.to_integral_value() and "." not in cleaned else number


def _enum_value(spec: Mapping[str, Any], text: str) -> Any:
    return next((v for v in spec.get("enum") or [] if str(v) == text), text)


def _convert(spec: Mapping[str, Any], kind: str, value: Any) -> tuple[bool, Any]:
    """(present, typed value) of one entered value."""
    if kind == "checkboxes":
        return True, [_enum_value(spec["items"], v) for v in (value or [])]
    if kind == "upload":
        return bool(value), [_json_or_text(v) for v in (value or [])]
    if kind == "rows":
        return forms_rows.to_records(spec, value, _number)
    if kind == "checkbox":
        ticked = value in ("true", "on", "1")
        return (ticked or "const" not in spec), ticked
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return False, None
    if kind == "yesno":
        return True, {"true": True, "false": False}.get(text, text)
    if kind in ("radios", "select"):
        return True, _enum_value(spec, text)
    if kind in ("number", "money", "integer"):
        return True, _number(text, kind == "integer")
    if kind == "json":
        try:
            return True, jsonutil.loads(text)
        except ValueError:
            return True, text
    return True, value.strip() if kind != "textarea" else value.rstrip()


def _json_or_text(text: Any) -> Any:
    try:
        return jsonutil.loads(text)
    except (TypeError, ValueError):
        return text  # the engine names the field: not a file reference


def to_data(schema: Mapping[str, Any], raw: Raw) -> dict[str, Any]:
    """The task data the entered values stand for; blank fields are left out, unreadable numbers are
    passed on as entered so that the engine's validation names them."""
    answered = answer_required(schema)
    data: dict[str, Any] = {}
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        present, value = _convert(spec, field_kind(spec, name in answered), raw.get(name))
        if present:
            data[name] = value
    _tick_uploaded_kinds(schema, data)
    return data


def _tick_uploaded_kinds(schema: Mapping[str, Any], data: dict[str, Any]) -> None:
    """An uploaded file of a kind is that kind provided: tick it on the checklist its field names."""
    for name, spec in upload_fields(schema).items():
        checklist = spec[UPLOAD_KEYWORD].get("checklist")
        if not checklist or checklist not in (schema.get("properties") or {}) or not data.get(name):
            continue
        allowed = {str(v) for v in ((schema["properties"][checklist].get("items") or {}).get("enum") or [])}
        ticked = list(data.get(checklist) or [])
        for ref in data[name]:
            kind = ref.get("kind") if isinstance(ref, dict) else None
            if isinstance(kind, str) and kind in allowed and kind not in ticked:
                ticked.append(kind)
        data[checklist] = ticked
