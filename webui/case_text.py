"""How a case reads anywhere it is shown: process, status and event names in the user's language, its data
with the forms' labels (money as ¥, times in the staff's time zone to the minute, codes in words) masked by
role; the timeline's lines (their sentences: case_timeline)."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.workflow import ParsedDeployment
from tasks.common import BUSINESS_TZ

from .forms_render import enum_options, is_money, title
from .masking import mask

PROCESS_LABELS = {"sales": _l("Sales"), "claims": _l("Claims"), "underwriting": _l("Underwriting"),
                  "policy_termination": _l("Policy termination")}
STATUS_LABELS = {"running": _l("Running"), "waiting": _l("Waiting"), "completed": _l("Completed"),
                 "incident": _l("Incident"), "terminated": _l("Terminated")}
EVENT_LABELS = {
    "instance_started": _l("Case started"), "task_completed": _l("Completed"), "task_claimed": _l("Claimed"),
    "task_released": _l("Released"), "task_assigned": _l("Assigned"), "handler_executed": _l("System step"),
    "timer_fired": _l("Timer fired"), "message_delivered": _l("Message received"), "message_sent": _l("Message sent"),
    "incident_raised": _l("Incident"), "incident_retried": _l("Incident retried"),
    "incident_resolved": _l("Incident resolved"), "incident_failed_again": _l("Incident failed again"),
    "instance_completed": _l("Case completed"), "instance_migrated": _l("Moved to a new version"),
    "effect_intended": _l("Payment instruction recorded"), "effect_settled": _l("Bank's answer recorded"),
    "decision_evaluated": _l("Rule table decided"), "signal_received": _l("Signal received"),
    "record_changed": _l("Record changed"),
}
# Events that mean the case went through the element named by the event's task key.
PASSED_EVENTS = frozenset({"task_completed", "handler_executed", "effect_settled", "decision_evaluated", "timer_fired",
                           "message_delivered"})


def process_label(key: str, fallback: str = "") -> str:
    """A process's name in the user's language."""
    return str(PROCESS_LABELS.get(key, fallback or key))


def display_zone() -> Any:
    """The time zone staff read times in (`[web] timezone`, default the insurer's: Asia/Shanghai)."""
    return current_app.config.get("DISPLAY_TIMEZONE") or BUSINESS_TZ


def localtime(value: datetime | str | None) -> str:
    """A moment in the staff's time zone, to the minute."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(display_zone()).strftime("%Y-%m-%d %H:%M")




def masked(data: Any, clear: bool) -> Any:
    """Process data with personal fields masked unless shown in clear (nested too)."""
    return mask(data, clear)


# Amounts the engine and handlers compute (not asked in a form): shown as money too.
_MONEY_NAME = re.compile(r"(^|_)(amount|premium|sum_insured|refund|deductible|premiums_paid|covered_loss|"
                         r"approval_limit|director_limit|cash_today)$")
# A moment as the engine stores it (ISO 8601 with a time and an offset): shown in the staff's time zone.
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")


@dataclass
class Labels:
    """Field and choice labels in the user's language, from every form of a deployment."""

    fields: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)
    # Choice codes are the same across forms (documents, regions…): a label for a code outside its form.
    any_choice: dict[str, str] = field(default_factory=dict)
    money: set[str] = field(default_factory=set)  # fields holding CNY amounts (the forms' money fields)
    texts: Any = None  # the deployment's diagram texts in the user's language (engine/workflow/translations.py Texts)

    def decision(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A decision record with the table's name, rule annotations and outputs in the user's language."""
        return self.texts.decision(payload) if self.texts else payload

    def outputs_in_words(self, data: dict[str, Any]) -> dict[str, Any]:
        """Process data with the decision tables' outputs (a fraud reason, a risk class) in the user's language,
        for the instructions that quote them."""
        values = self.texts.values if self.texts else {}
        return {k: values.get(k, {}).get(v, v) if isinstance(v, str) else v for k, v in data.items()}

    def field(self, key: str) -> str:
        """The label of a data field."""
        return self.fields.get(key) or key.replace("_", " ").capitalize()

    def value(self, key: str, value: Any) -> str:
        """A value as the user reads it."""
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if value is None or value == "":
            return "—"
        if isinstance(value, list):
            return ", ".join(self.value(key, v) for v in value) or "—"
        if (key in self.money or _MONEY_NAME.search(key)) and isinstance(value, int | float | Decimal | str):
            with suppress(InvalidOperation, ValueError):
                return f"¥{Decimal(str(value)):,.2f}"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, str) and _MOMENT.match(value):
            with suppress(ValueError):
                return localtime(value)
        text = str(value)
        return self.choices.get(key, {}).get(text) or self.any_choice.get(text, text)


def labels_of(parsed: ParsedDeployment, process_key: str, lang: str) -> Labels:
    """The labels of a deployment's forms and task names."""
    labels = Labels()
    for schema in parsed.forms.values():
        for name, spec in (schema.get("properties") or {}).items():
            if not isinstance(spec, dict):
                continue
            labels.fields.setdefault(name, title(spec, lang, name))
            if is_money(spec):
                labels.money.add(name)
            choices = spec.get("items") if spec.get("type") == "array" else spec
            if isinstance(choices, dict) and "enum" in choices:
                options = {o.value: o.label for o in enum_options(choices, lang)}
                labels.choices.setdefault(name, options)
                for code, label in options.items():
                    if not code.isdigit():
                        labels.any_choice.setdefault(code, label)
    process = parsed.processes.get(process_key)
    specs = [process.spec, *process.subprocess_specs.values()] if process else []
    for spec in specs:  # step names: the deployment's translation (engine/workflow/translations.py), else the diagram's
        for key, task_spec in spec.task_specs.items():
            name = parsed.name_in(lang, process_key, key) or getattr(task_spec, "bpmn_name", None) or key
            labels.tasks.setdefault(key, name)
    labels.texts = texts = parsed.texts.get(lang)
    for output, values in (texts.values.items() if texts else ()):  # decision tables' outputs in words
        labels.choices.setdefault(output, {}).update(values)
    for output, label in (texts.outputs.items() if texts else ()):
        labels.fields.setdefault(output, label)
    return labels


@dataclass
class Row:
    """One line of case data; nested data has children instead of a value."""

    label: str
    value: str | None = None
    children: list[Row] = field(default_factory=list)


def data_rows(data: Any, labels: Labels) -> list[Row]:
    """Case data as labelled rows."""
    rows = []
    for key, value in (data or {}).items():
        if isinstance(value, dict):
            rows.append(Row(labels.field(key), children=data_rows(value, labels)))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            rows.append(Row(labels.field(key), children=[
                Row(str(i + 1), children=data_rows(v, labels)) if isinstance(v, dict) else Row(str(i + 1), str(v))
                for i, v in enumerate(value)]))
        else:
            rows.append(Row(labels.field(key), labels.value(key, value)))
    return rows


@dataclass
class HistoryLine:
    """One event of the timeline: when, who, what happened (a sentence, case_timeline.py), the step, the values
    that go with it, and the diagram element it happened at (if any)."""

    at: str
    who: str
    what: str
    task: str
    details: list[tuple[str, str]]
    element: str = ""


def node_history(lines: list[HistoryLine]) -> dict[str, list[dict[str, str]]]:
    """The timeline by diagram element, oldest first: what the diagram lists when a node is clicked."""
    found: dict[str, list[dict[str, str]]] = {}
    for line in reversed(lines):
        if line.element:
            found.setdefault(line.element, []).append({"at": line.at, "who": line.who, "what": line.what})
    return found
