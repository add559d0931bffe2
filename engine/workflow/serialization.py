"""Workflow state ⇄ bytes, with the process spec stored by reference to its deployment.

SpiffWorkflow embeds the whole process definition in every serialized instance (about two thirds
of its size). The deployment already keeps the exact XML and a cache of parsed specs, so the
instance row stores only the running state; on load the cached specs are attached again.
"""

from __future__ import annotations

import json
import zlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .clock import ClockedDate, ClockedDatetime
from .service_results import with_exact_service_tasks

CODEC = "json+zlib"


# Money is Decimal end to end. A state saved before that holds its case data's amounts as floats: they are
# read as the Decimal of their shortest text (29000.0 → Decimal("29000.0")), so old and new cases compute alike.
_NUMBERS_KEY, _DECIMAL = "insureflow_numbers", "decimal"


def _as_decimals(value: Any) -> Any:
    if type(value) is float:
        return {"typename": "Decimal", "value": repr(value)}
    if isinstance(value, dict):
        return {key: _as_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_decimals(item) for item in value]
    return value


def _decimals_for_floats(dct: dict[str, Any]) -> None:
    """Case data only (the workflow's, its tasks', its subprocesses'): the engine's own numbers stay as they are
    (a cycle timer's duration in seconds, a task's last state change)."""
    for workflow in [dct, *dct.get("subprocesses", {}).values()]:
        if "data" in workflow:
            workflow["data"] = _as_decimals(workflow["data"])
        for task in workflow.get("tasks", {}).values():
            task["data"] = _as_decimals(task.get("data", {}))
            if task.get("delta", {}).get("updates"):
                task["delta"]["updates"] = _as_decimals(task["delta"]["updates"])


class _ByReferenceWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(  # type: ignore[override]
        self, dct: dict[str, Any], spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry() -> DefaultRegistry:
    registry = DefaultRegistry()
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    # Values scripts build with the offered (clock-aware) classes are stored as plain dates and times.
    registry.register(ClockedDatetime, lambda v: {"value": v.isoformat()},
                      lambda v: datetime.fromisoformat(v["value"]), typename="datetime")
    registry.register(ClockedDate, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]),
                      typename="date")
    config = with_exact_service_tasks(SPIFF_CONFIG)
    config[BpmnWorkflow] = _ByReferenceWorkflowConverter
    return BpmnWorkflowSerializer.configure(config, registry)


class WorkflowStateSerializer:
    """Dumps running state to compressed JSON and loads it onto cached specs."""

    def __init__(self) -> None:
        self._inner = BpmnWorkflowSerializer(_registry())
        self.version = self._inner.VERSION

    def dumps(self, workflow: BpmnWorkflow) -> bytes:
        """The workflow's running state (no spec) as compressed JSON, marked as holding its numbers with a
        fraction as Decimal (the serializer's text is an object: the mark goes in as its first key)."""
        text = self._inner.serialize_json(workflow)
        return zlib.compress(f'{{"{_NUMBERS_KEY}":"{_DECIMAL}",{text[1:]}'.encode(), 1)

    def loads(
        self, state: bytes, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        """Rebuild a workflow from `dumps` output, upgrading older serializer versions first."""
        dct = json.loads(zlib.decompress(state))
        if dct.pop(_NUMBERS_KEY, None) != _DECIMAL:
            _decimals_for_floats(dct)
        self._inner.migrate(dct)
        return self._inner.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)

    def data_to_json(self, data: Any) -> Any:
        """Task data as JSON-ready values, the way the serializer converts it."""
        return self._inner.registry.convert(self._inner.registry.clean(data))
