"""Checking submitted task data against the task's JSON Schema before anything changes."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from .errors import InvalidInputError

_FORMATS = FormatChecker()


@lru_cache(maxsize=512)
def _validator(schema_text: str) -> Any:
    schema = json.loads(schema_text)
    cls = validator_for(schema)
    return cls(schema, format_checker=_FORMATS)


def check_submission(data: Any, schema: dict[str, Any] | None) -> None:
    """Raise InvalidInputError listing every failing field; no schema accepts any JSON object."""
    if not isinstance(data, dict):
        raise InvalidInputError("task data must be a JSON object", {"fields": {"": "expected an object"}})
    bad_keys = [k for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad_keys:
        raise InvalidInputError(
            "field names must be identifiers not starting with '_'",
            {"fields": {str(k): "not an allowed field name" for k in bad_keys}},
        )
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
    if fields:
        first = next(iter(fields.items()))
        raise InvalidInputError(
            f"{len(fields)} field{'s' if len(fields) != 1 else ''} invalid: {first[0]}: {first[1]}",
            {"fields": fields},
        )
