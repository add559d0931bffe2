"""WorkflowStateSerializer: running state round-trips onto the deployment's specs, without embedding them."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.workflow.parsing import ProcessSpecs, parse_deployment
from engine.workflow.serialization import WorkflowStateSerializer
from engine.workflow.service_results import with_exact_service_tasks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


@pytest.fixture(scope="module")
def process() -> ProcessSpecs:
    files = {p.relative_to(FIXTURES).as_posix(): p.read_bytes() for p in sorted(FIXTURES.rglob("*")) if p.is_file()}
    parsed, problems = parse_deployment(files)
    assert problems == []
    return parsed.processes["claim_review"]


@pytest.fixture
def workflow(process: ProcessSpecs) -> BpmnWorkflow:
    """The claim review, started and waiting at its first user task ("register")."""
    wf = BpmnWorkflow(process.spec, process.subprocess_specs)
    wf.do_engine_steps()
    assert [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY)] == ["register"]
    return wf


def ready_task(wf: BpmnWorkflow) -> Any:
    (task,) = wf.get_tasks(state=TaskState.READY)
    return task


def stored_json(state: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(state))


def task_states(wf: BpmnWorkflow) -> dict[str, tuple[str, int]]:
    return {str(t.id): (t.task_spec.name, t.state) for t in wf.get_tasks()}


def test_dumps_produces_zlib_compressed_json(workflow: BpmnWorkflow) -> None:
    state = WorkflowStateSerializer().dumps(workflow)
    assert isinstance(state, bytes)
    assert isinstance(stored_json(state), dict)


def test_round_trip_restores_every_task_and_its_state(process: ProcessSpecs, workflow: BpmnWorkflow) -> None:
    serializer = WorkflowStateSerializer()
    restored = serializer.loads(serializer.dumps(workflow), process.spec, process.subprocess_specs)
    assert task_states(restored) == task_states(workflow)
    assert ready_task(restored).id == ready_task(workflow).id


def test_loads_attaches_the_given_spec_objects(process: ProcessSpecs, workflow: BpmnWorkflow) -> None:
    serializer = WorkflowStateSerializer()
    restored = serializer.loads(serializer.dumps(workflow), process.spec, process.subprocess_specs)
    assert restored.spec is process.spec
    assert ready_task(restored).task_spec is process.spec.task_specs["register"]


def test_stored_state_holds_no_spec(workflow: BpmnWorkflow) -> None:
    dct = stored_json(WorkflowStateSerializer().dumps(workflow))
    assert "spec" not in dct
    assert "subprocess_specs" not in dct
    assert "tasks" in dct and "root" in dct


def test_serializer_version_is_recorded_in_the_state(workflow: BpmnWorkflow) -> None:
    serializer = WorkflowStateSerializer()
    assert serializer.version
    assert stored_json(serializer.dumps(workflow))["serializer_version"] == serializer.version


def test_decimal_and_date_in_task_data_survive_with_their_types(
    process: ProcessSpecs, workflow: BpmnWorkflow
) -> None:
    data = {"amount": Decimal("1234.50"), "loss_date": date(2026, 2, 28), "claimant": "Li"}
    ready_task(workflow).data.update(data)
    serializer = WorkflowStateSerializer()
    restored = ready_task(serializer.loads(serializer.dumps(workflow), process.spec, process.subprocess_specs))
    assert restored.data == data
    assert type(restored.data["amount"]) is Decimal
    assert str(restored.data["amount"]) == "1234.50"  # precision kept, not turned into a float
    assert type(restored.data["loss_date"]) is date


def test_nested_decimals_dates_and_datetimes_keep_their_types(process: ProcessSpecs, workflow: BpmnWorkflow) -> None:
    moment = datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    data = {"lines": [{"net": Decimal("0.10"), "on": date(2024, 2, 29)}], "at": moment}
    ready_task(workflow).data.update(data)
    serializer = WorkflowStateSerializer()
    restored = ready_task(serializer.loads(serializer.dumps(workflow), process.spec, process.subprocess_specs))
    assert restored.data["lines"] == [{"net": Decimal("0.10"), "on": date(2024, 2, 29)}]
    assert type(restored.data["lines"][0]["on"]) is date
    assert restored.data["at"] == moment
    assert type(restored.data["at"]) is datetime


def test_a_restored_workflow_can_be_dumped_again_identically(process: ProcessSpecs, workflow: BpmnWorkflow) -> None:
    serializer = WorkflowStateSerializer()
    ready_task(workflow).data.update({"amount": Decimal("5"), "loss_date": date(2026, 1, 1)})
    first = serializer.dumps(workflow)
    again = serializer.dumps(serializer.loads(first, process.spec, process.subprocess_specs))
    assert stored_json(again) == stored_json(first)


def test_state_is_much_smaller_than_spiffworkflows_default_serialization(workflow: BpmnWorkflow) -> None:
    ready_task(workflow).data.update({"claimant": "Li", "amount": 1234.5})
    config = BpmnWorkflowSerializer.configure(with_exact_service_tasks(SPIFF_CONFIG))
    default = BpmnWorkflowSerializer(config).serialize_json(workflow)
    ours = zlib.decompress(WorkflowStateSerializer().dumps(workflow))
    assert len(ours) * 2 < len(default.encode())
    assert len(WorkflowStateSerializer().dumps(workflow)) * 2 < len(zlib.compress(default.encode(), 1))


def test_data_to_json_converts_decimal_and_date_the_way_the_state_stores_them() -> None:
    converted = WorkflowStateSerializer().data_to_json({"a": Decimal("2.50"), "b": date(2026, 1, 2), "c": [1]})
    assert converted == {
        "a": {"typename": "Decimal", "value": "2.50"},
        "b": {"typename": "date", "value": "2026-01-02"},
        "c": [1],
    }
    json.dumps(converted)


def test_a_state_is_marked_as_holding_decimals_and_keeps_them_exact(process: ProcessSpecs,
                                                                     workflow: BpmnWorkflow) -> None:
    ready_task(workflow).data.update({"amount": Decimal("8192.03"), "ratio": Decimal("0.3333")})
    state = WorkflowStateSerializer().dumps(workflow)
    assert stored_json(state)["insureflow_numbers"] == "decimal"
    data = ready_task(WorkflowStateSerializer().loads(state, process.spec, process.subprocess_specs)).data
    assert (data["amount"], data["ratio"]) == (Decimal("8192.03"), Decimal("0.3333"))


def test_a_state_saved_with_float_amounts_is_read_with_decimals_and_the_engines_own_numbers_kept(
        process: ProcessSpecs, workflow: BpmnWorkflow) -> None:
    # A state from before money was Decimal: no mark, amounts as floats in the case data.
    ready_task(workflow).data.update({"amount": 8192.03, "items": [{"price": 0.1}], "count": 3})
    dct = stored_json(WorkflowStateSerializer().dumps(workflow))
    del dct["insureflow_numbers"]
    (task_id,) = [k for k, t in dct["tasks"].items() if t["task_spec"] == "register"]
    dct["tasks"][task_id]["last_state_change"] = 1733550000.25
    legacy = zlib.compress(json.dumps(dct).encode())

    loaded = WorkflowStateSerializer().loads(legacy, process.spec, process.subprocess_specs)

    task = ready_task(loaded)
    assert task.data["amount"] == Decimal("8192.03") and isinstance(task.data["amount"], Decimal)
    assert task.data["items"] == [{"price": Decimal("0.1")}] and task.data["count"] == 3
    assert task.last_state_change == 1733550000.25  # not case data: stays a float
