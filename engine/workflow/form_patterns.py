"""Form patterns matched by RE2, in time linear in the input: no pattern a diagram's form declares can make
the server backtrack (`^(a+)+$` took 13.85 s on 29 characters with Python's `re`).

The form check (engine/workflow/forms.py) matches `pattern` and `patternProperties` with RE2 instead of `re`;
deployment refuses a pattern RE2 cannot compile — backreferences and lookaround, the constructs that need
backtracking — with the pattern and what to do (`pattern_problems`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import validators
from jsonschema.exceptions import ValidationError


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")  # jsonschema's own wording


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _compiled(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def bounded(cls: Any) -> Any:
    """The validator class `cls` with its pattern keywords matched by RE2."""
    return validators.extend(cls, {"pattern": _pattern, "patternProperties": _pattern_properties})


def pattern_problems(schema: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, what) for every pattern in a form schema that RE2 cannot match (so cannot bound)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            where = f"{path}/{key}" if path else key
            if key == "pattern" and isinstance(value, str):
                yield from _unbounded(value, where)
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern, subschema in value.items():
                    yield from _unbounded(pattern, f"{where}/{pattern}")
                    yield from pattern_problems(subschema, f"{where}/{pattern}")
            else:
                yield from pattern_problems(value, where)
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from pattern_problems(item, f"{path}/{index}")


def _unbounded(pattern: str, where: str) -> Iterator[tuple[str, str]]:
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        yield where, (f"pattern {pattern!r} cannot be matched in bounded time ({reason}): use RE2 syntax — "
                      "no backreferences, no lookahead or lookbehind")
