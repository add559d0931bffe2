"""What every business rule task decided, recorded as a `decision_evaluated` history event.

Insurers must be able to explain each automated decision to a customer and a regulator (Camunda 7 keeps
historic decision instances for the same reason). `RecordingDMNEngine` is the DMN engine of every business
rule task the parser builds: it evaluates exactly as SpiffWorkflow's does, and hands the script engine a
`DecisionRecord` — the decision, its hit policy, the input values, the matched rules with their
annotations, and the outputs. The engine records it in the history; replay re-evaluates the table and
checks that it decides the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import HitPolicy

from .jsonutil import to_plain


@dataclass(frozen=True)
class DecisionRecord:
    """One evaluation of a decision table by one business rule task."""

    task_key: str
    decision: str
    hit_policy: str
    inputs: dict[str, Any]
    rules: list[dict[str, Any]]
    outputs: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        """The `decision_evaluated` event's payload."""
        return {"decision": self.decision, "hit_policy": self.hit_policy, "inputs": self.inputs,
                "rules": self.rules, "outputs": self.outputs}


class RecordingDMNEngine(DMNEngine):
    """SpiffWorkflow's DMN engine, telling the script engine what it decided (`note_decision`)."""

    def __init__(self, decision_table: Any, decision_id: str):
        super().__init__(decision_table)
        self.decision_id = decision_id

    def result(self, task: Any) -> dict[str, Any]:
        matched = self.decide(task)
        table = self.decision_table
        result: dict[str, Any] = {}
        if table.hit_policy == HitPolicy.COLLECT.value:  # every matched rule's outputs, as lists
            for rule in matched:
                for key, value in rule.output_as_dict(task).items():
                    result.setdefault(key, []).append(value)
        elif matched:
            result = matched[0].output_as_dict(task)
            matched = matched[:1]  # a single-hit table decides by its first matching rule; the others did not count
        note = getattr(task.workflow.script_engine, "note_decision", None)
        if note is not None:
            note(DecisionRecord(
                task.task_spec.bpmn_id, self.decision_id, table.hit_policy, _inputs(table, task),
                [{"id": rule.id, "row": rule.row_number, "annotation": rule.description or ""} for rule in matched],
                _plain(result)))
        return result


def _inputs(table: Any, task: Any) -> dict[str, Any]:
    """Each input column's value for this task, by the variable it reads when it reads one (so that personal
    fields keep their names and are sealed and masked as in the case data), else by its label."""
    engine = task.workflow.script_engine
    values = {}
    for column in table.inputs:
        expression = (column.expression or "").strip()
        name = expression if expression.isidentifier() else (column.label or column.name or expression or column.id)
        try:
            values[name] = _plain(engine.evaluate(task, column.expression)) if column.expression else None
        except Exception as exc:  # the table itself evaluated it; a value that cannot be shown is said so
            values[name] = f"<{type(exc).__name__}>"
    return values


def _plain(value: Any) -> Any:
    try:
        return to_plain(value)
    except TypeError:
        return repr(value)


def describe(payload: dict[str, Any]) -> str:
    """The decision in words, e.g. `fraud_screening: rule 3 'claim above half the sum insured' → level=high`."""
    rules = payload.get("rules") or []
    outputs = ", ".join(f"{k}={v}" for k, v in (payload.get("outputs") or {}).items()) or "no output"
    if not rules:
        return f"{payload.get('decision')}: no rule matched → {outputs}"
    matched = "; ".join(f"rule {r.get('row')}" + (f" '{r['annotation']}'" if r.get("annotation") else "")
                        for r in rules)
    return f"{payload.get('decision')}: {matched} → {outputs}"
