"""Task forms from their JSON Schema: the fields to render, the messages that belong to no field and the
diagram's instructions (the posted form back to task data is webui/forms_posted.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from engine.workflow import UPLOAD_KEYWORD
from tasks.documents import EXTENSIONS, MAX_DOCUMENT_BYTES, SIGNATURES, file_limit

from . import forms_rows

ACCEPTED = tuple(SIGNATURES)

# Strings at least this long get a text area instead of a one-line input.
LONG_TEXT = 500
# Enums with at most this many options are shown as radio buttons, longer ones as a select.
FEW_OPTIONS = 4
Raw = dict[str, Any]  # what the user entered, as the browser posts it: str, or list[str] for checkboxes


@dataclass
class Option:
    """One choice of an enum: the posted value and its label."""

    value: str
    label: str


@dataclass
class Field:
    """One form field as the template renders it."""

    name: str
    kind: str  # text textarea number integer money date select radios yesno checkbox checkboxes upload rows json
    label: str
    required: bool
    value: Any = ""
    error: str | None = None
    help: str | None = None
    options: list[Option] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    columns: list[forms_rows.Column] = field(default_factory=list)  # a list of records: its fields


def title(spec: Mapping[str, Any] | None, lang: str, fallback: str = "") -> str:
    """A schema's (or property's) title in the language: `x-title-zh` for Chinese, else `title`."""
    spec = spec or {}
    if lang == "zh" and spec.get("x-title-zh"):
        return str(spec["x-title-zh"])
    return str(spec.get("title") or fallback.replace("_", " ").capitalize())


def enum_options(spec: Mapping[str, Any], lang: str) -> list[Option]:
    """The choices of an enum with their labels in the language."""
    values = spec.get("enum") or []
    titles = spec.get("x-enum-titles-zh") if lang == "zh" else None
    titles = titles or spec.get("x-enum-titles") or []
    return [Option(str(v), str(titles[i]) if i < len(titles) else str(v)) for i, v in enumerate(values)]


def is_money(spec: Mapping[str, Any]) -> bool:
    """Whether a form field holds an amount of money."""
    # Forms mark money by format, or by the currency in the title (README: money is a number in CNY).
    return spec.get("format") == "money" or spec.get("x-format") == "money" or "CNY" in str(spec.get("title", ""))


def answer_required(schema: Mapping[str, Any]) -> set[str]:
    """Fields that need an answer: required outright, or for some choice (`allOf` of `if`/`then`). A yes/no
    question of either kind is asked as yes/no, so that leaving it unanswered reads as missing, not as "no"."""
    names = set(schema.get("required") or [])
    for rule in schema.get("allOf") or []:
        then = rule.get("then") if isinstance(rule, dict) else None
        if isinstance(then, dict):
            names.update(then.get("required") or [])
    return names


def field_kind(spec: Mapping[str, Any], required: bool) -> str:
    kind = spec.get("type")
    if kind == "array" and isinstance(spec.get(UPLOAD_KEYWORD), dict):
        return "upload"
    if kind == "array" and isinstance(spec.get("items"), dict) and "enum" in spec["items"]:
        return "checkboxes"
    if forms_rows.is_rows(spec):
        return "rows"
    if "enum" in spec:
        return "radios" if len(spec["enum"]) <= FEW_OPTIONS else "select"
    if kind == "boolean":
        # A yes/no decision must be made explicitly; a box that must be ticked, or an optional flag, is a checkbox.
        return "yesno" if required and "const" not in spec else "checkbox"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "money" if is_money(spec) else "number"
    if kind == "string":
        if spec.get("format") == "date":
            return "date"
        return "textarea" if int(spec.get("maxLength", 0)) >= LONG_TEXT else "text"
    return "json"


# A text field that finds its value by a look-up (bpmn/README.md "Look-up fields"): "policy" finds a policy by
# number, the holder's ID number or name; `x-lookup-fill` maps what was found to other fields it fills.
LOOKUP_KEYWORD, LOOKUP_FILL_KEYWORD = "x-lookup", "x-lookup-fill"


def _attrs(spec: Mapping[str, Any], kind: str, file_ceiling: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if kind in ("number", "integer", "money"):
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if key in spec:
                attrs[attr] = spec[key]
        attrs["step"] = {"integer": 1, "money": "0.01"}.get(kind, "any")
        attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
    elif kind in ("text", "textarea") and "maxLength" in spec:
        attrs["maxlength"] = spec["maxLength"]
    if kind == "text" and spec.get(LOOKUP_KEYWORD) == "policy":  # static/js/policy_lookup.js adds the search
        attrs["data-lookup"] = "policy"
        fill = spec.get(LOOKUP_FILL_KEYWORD)
        attrs["data-lookup-fill"] = json.dumps(fill if isinstance(fill, dict) else {})
    elif kind == "upload":
        accept = [str(t) for t in spec[UPLOAD_KEYWORD].get("accept") or ACCEPTED]
        attrs["accept"] = ",".join(accept + [e for t in accept for e in EXTENSIONS.get(t, ())])
        attrs["max_bytes"] = file_limit(spec[UPLOAD_KEYWORD], file_ceiling)
    return attrs


def size_label(size: int) -> str:
    """A file size as people read it."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(size, 1) / 1024:.0f} KB" if size >= 1024 else f"{size} B"


@dataclass
class UploadedFile:
    """A file already uploaded for an upload field: its reference as posted, and what to show of it."""

    raw: str
    filename: str
    kind: str
    size: str


def uploaded_files(values: Any, options: list[Option]) -> list[UploadedFile]:
    """The posted references of an upload field, for listing them (and posting them again)."""
    labels = {o.value: o.label for o in options}
    files = []
    for raw in values if isinstance(values, list) else []:
        try:
            ref = json.loads(raw)
        except ValueError:
            ref = None
        if isinstance(ref, dict):
            size = ref.get("size")
            files.append(UploadedFile(raw, str(ref.get("filename") or ref.get("document_id")),
                                      labels.get(str(ref.get("kind")), str(ref.get("kind"))),
                                      size_label(size) if isinstance(size, int) else ""))
    return files


def fields(schema: Mapping[str, Any], raw: Raw, errors: Mapping[str, str], lang: str,
           file_ceiling: int = MAX_DOCUMENT_BYTES) -> list[Field]:
    """The fields of a form with the entered values and the messages that belong to each."""
    required = set(schema.get("required") or [])
    answered = answer_required(schema)
    result = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kind = field_kind(spec, name in answered)
        options = enum_options(spec["items"] if kind == "checkboxes" else spec, lang) if kind in (
            "checkboxes", "radios", "select") else []
        if kind == "upload":
            options = enum_options(spec["items"].get("properties", {}).get("kind", {}), lang)
        message = errors.get(name) or next((m for k, m in errors.items() if k.startswith(name + ".")), None)
        default = [] if kind in ("checkboxes", "upload", "rows") else ""
        value = raw.get(name, default)
        attrs = _attrs(spec, kind, file_ceiling)
        columns = forms_rows.columns(spec, lang, title, enum_options) if kind == "rows" else []
        if kind == "rows":
            value = list(value) + [{}] * (forms_rows.row_count(spec, len(value)) - len(value))
            attrs["cell_errors"] = forms_rows.cell_errors(name, errors)
            message = errors.get(name) or (_("Please correct the marked cells.") if attrs["cell_errors"] else None)
        result.append(Field(name, kind, title(spec, lang, name), name in required,
                            uploaded_files(value, options) if kind == "upload" else value, message,
                            spec.get("description"), options, attrs, columns))
    return result


def form_errors(errors: Mapping[str, str], schema: Mapping[str, Any]) -> list[str]:
    """Messages that belong to no single field (shown above the form)."""
    names = set(schema.get("properties") or {})
    return [m for k, m in errors.items() if k.split(".")[0] not in names]


_INSTRUCTIONS = ImmutableSandboxedEnvironment(autoescape=True)


def instructions(text: str | None, data: Mapping[str, Any]) -> Markup | None:
    """The diagram's instructions with `{{ var }}` filled from the task data, in a sandbox (the
    analysts' text is untrusted); text that does not render is shown as written."""
    if not text:
        return None
    try:
        return Markup(_INSTRUCTIONS.from_string(text).render(dict(data)))
    except Exception:  # any template error: show the text itself rather than nothing
        return Markup(escape(text))
