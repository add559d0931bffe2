"""The checks of a deployment's form schemas (forms/*.json) before anything is stored: a valid JSON Schema of an
object, upload fields' settings, patterns the engine can match in linear time, known case-page sections."""

from __future__ import annotations

from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from engine.errors import Problem

from .form_patterns import pattern_problems
from .forms import SECTION_KEYWORD, SECTIONS, UPLOAD_KEYWORD


def form_problems(name: str, schema: object) -> list[Problem]:
    """What is wrong with a form schema: JSON Schema itself, upload fields, patterns and case-page sections."""
    if not isinstance(schema, dict):
        return [Problem(name, "a form schema must be a JSON object")]
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.path) or None
        return [Problem(name, f"invalid JSON Schema: {exc.message}", element=path)]
    if schema.get("type", "object") != "object":
        return [Problem(name, "a form schema must describe an object (\"type\": \"object\")")]
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    return [Problem(name, f"upload field: {message}", element=field)
            for field, spec in properties.items() if isinstance(spec, dict) and UPLOAD_KEYWORD in spec
            for message in _upload_problems(spec, properties)] + [
        Problem(name, message, element=where) for where, message in pattern_problems(schema)] + [
        Problem(name, f"{SECTION_KEYWORD} {spec[SECTION_KEYWORD]!r} is not a case-page section (known: "
                      f"{', '.join(SECTIONS)})", element=field)
        for field, spec in properties.items()
        if isinstance(spec, dict) and SECTION_KEYWORD in spec and spec[SECTION_KEYWORD] not in SECTIONS]


def _upload_problems(spec: dict[str, Any], properties: dict[str, Any]) -> list[str]:
    """What is wrong with an upload field's `x-upload` settings (see bpmn/README.md, "Upload fields")."""
    settings = spec[UPLOAD_KEYWORD]
    if not isinstance(settings, dict):
        return [f"{UPLOAD_KEYWORD} must be an object"]
    problems = []
    if spec.get("type") != "array" or not isinstance(spec.get("items"), dict):
        problems.append('an upload field must be an array ("type": "array") of file references ("items": {…})')
    accept = settings.get("accept")
    if accept is not None and (not isinstance(accept, list) or not accept or not all(
            isinstance(t, str) and t.count("/") == 1 and all(t.split("/")) for t in accept)):
        problems.append('"accept" must be a non-empty list of media types such as "application/pdf"')
    size = settings.get("maxBytes")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        problems.append('"maxBytes" must be a positive whole number')
    checklist = settings.get("checklist")
    if checklist is not None and not (isinstance(checklist, str) and isinstance(properties.get(checklist), dict)
                                      and properties[checklist].get("type") == "array"):
        problems.append(f'"checklist" must name a list field of the same form, not {checklist!r}')
    unknown = sorted(set(settings) - {"accept", "maxBytes", "checklist"})
    if unknown:
        problems.append(f"unknown setting(s) {', '.join(unknown)} (known: accept, maxBytes, checklist)")
    return problems
