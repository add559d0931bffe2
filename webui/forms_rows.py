"""A form field that is a list of records (an array of objects with plain fields, e.g. named beneficiaries):
shown as a table of rows, one input per cell, posted as `<field>-<row>-<column>`; blank rows are left out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.workflow import UPLOAD_KEYWORD

PLAIN = ("string", "number", "integer")
# Rows a record list shows (at most its `maxItems`), and blank rows after those already filled.
SHOWN_ROWS = 5


@dataclass
class Column:
    """One field of the records: its name, label, kind (text, number, select) and choices."""

    name: str
    label: str
    kind: str
    options: list[Any]


def is_rows(spec: Mapping[str, Any]) -> bool:
    """Whether a property is a list of records with plain fields."""
    items = spec.get("items")
    if spec.get("type") != "array" or not isinstance(items, dict) or items.get("type") != "object":
        return False
    if UPLOAD_KEYWORD in spec:  # references to uploaded files have a field of their own
        return False
    props = items.get("properties") or {}
    return bool(props) and all(isinstance(p, dict) and p.get("type") in PLAIN for p in props.values())


def _props(spec: Mapping[str, Any]) -> dict[str, Any]:
    return dict(spec["items"].get("properties") or {})


def row_count(spec: Mapping[str, Any], filled: int) -> int:
    """How many rows to show."""
    limit = int(spec.get("maxItems") or SHOWN_ROWS)
    return max(filled, min(SHOWN_ROWS, limit))


def columns(spec: Mapping[str, Any], lang: str, title: Any, enum_options: Any) -> list[Column]:
    """The record's fields as columns (labels in the user's language)."""
    result = []
    for name, prop in _props(spec).items():
        kind = "select" if "enum" in prop else ("number" if prop.get("type") in ("number", "integer") else "text")
        result.append(Column(name, title(prop, lang, name), kind, enum_options(prop, lang) if kind == "select" else []))
    return result


def raw_rows(name: str, spec: Mapping[str, Any], posted: MultiDict[str, str]) -> list[dict[str, str]]:
    """What was entered in each row, as posted."""
    cols = list(_props(spec))
    count = row_count(spec, 0)
    while any(f"{name}-{count}-{c}" in posted for c in cols):
        count += 1
    return [{c: posted.get(f"{name}-{row}-{c}", "") for c in cols} for row in range(count)]


def rows_from_data(spec: Mapping[str, Any], value: Any) -> list[dict[str, str]]:
    """Records of the task's data as entered text."""
    cols = list(_props(spec))
    records = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    return [{c: "" if r.get(c) is None else str(r.get(c)) for c in cols} for r in records]


def to_records(spec: Mapping[str, Any], raw: Any, number: Any) -> tuple[bool, list[dict[str, Any]]]:
    """(present, records) of the entered rows: blank rows left out, numbers and choices typed."""
    props = _props(spec)
    records = []
    for row in raw if isinstance(raw, list) else []:
        if not isinstance(row, dict) or not any(str(row.get(c) or "").strip() for c in props):
            continue
        record: dict[str, Any] = {}
        for name, prop in props.items():
            text = str(row.get(name) or "").strip()
            if not text:
                continue  # the schema names a missing required field
            if "enum" in prop:
                record[name] = next((v for v in prop["enum"] if str(v) == text), text)
            elif prop.get("type") in ("number", "integer"):
                record[name] = number(text.replace("%", ""), prop.get("type") == "integer")
            else:
                record[name] = text
        records.append(record)
    return bool(records), records


def cell_errors(name: str, errors: Mapping[str, str]) -> dict[str, str]:
    """The messages of single cells (`<row>.<column>`), from the engine's paths `<field>.<row>.<column>`."""
    prefix = name + "."
    return {k[len(prefix):]: m for k, m in errors.items() if k.startswith(prefix) and k.count(".") == 2}
