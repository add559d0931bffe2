"""Two forms of one process may not write the same field unless each says it means to (`"x-shared": true`).
A form comes pre-filled with what the case holds, so a field another step wrote shows that step's value and
submitting the form overwrites it (the finance form once came pre-filled with the adjuster's note, and replaced
it). Forms that record one outcome from different steps (a denial code set at review, at assessment or by
compliance) mark the field shared; everything else gets a name of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.errors import Problem

from .parsing import ParsedDeployment

SHARED_KEYWORD = "x-shared"


def _fields(schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, dict):
        return {}
    return {k: v for k, v in properties.items() if isinstance(v, dict) and not v.get("readOnly")}


def shared_field_problems(file: str, tasks: Mapping[str, etree._Element], forms: Mapping[str, str | None],
                          parsed: ParsedDeployment) -> list[Problem]:
    """A problem for each field that forms of different user tasks of one process write without all of them
    marking it shared; `forms` maps a task id to its form file name."""
    writers: dict[str, dict[str, str]] = {}  # field → form → the first task that shows it
    for task_id, form in sorted(forms.items()):
        if form is not None:
            for field in _fields(parsed.form(form)):
                writers.setdefault(field, {}).setdefault(form, task_id)
    problems = []
    for field, by_form in sorted(writers.items()):
        if len(by_form) < 2:
            continue
        unmarked = [f for f in sorted(by_form) if _fields(parsed.form(f))[field].get(SHARED_KEYWORD) is not True]
        if unmarked:
            task_id = by_form[unmarked[0]]
            problems.append(Problem(
                file, f"forms {', '.join(sorted(by_form))} all write {field!r}: one step's value would come "
                f"pre-filled into another's form and be overwritten by it. Give each form its own name for it, or, "
                f"where they record one outcome, mark the field \"{SHARED_KEYWORD}\": true in each form (not in: "
                f"{', '.join(unmarked)})", task_id, tasks[task_id].sourceline))
    return problems
