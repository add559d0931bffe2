"""Validating or deploying a diagram explains every problem with file, element and line, and refuses what
SpiffWorkflow cannot run (Camunda decision references, data stores) with the fix (issue 11, finding 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import DeploymentInvalidError, Problem
from engine.workflow import deployments
from engine.workflow.actors import OPERATOR
from engine.workflow.database import make_engine, make_session_factory
from engine.workflow.runtime import Runtime
from insureflow import schema
from tests.conftest import fresh_database, make_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn_validation"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rt(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime over a fresh database, shared by the module: a refused file set stores nothing."""
    for url in fresh_database(request.param, tmp_path_factory.mktemp(f"validation-{request.param}")):
        db = make_engine(url)
        schema.upgrade(db)
        yield Runtime(make_session_factory(db), make_registry())
        db.dispose()


def files(*names: str) -> dict[str, bytes]:
    """Fixture files as an upload names them."""
    return {name: (FIXTURES / name).read_bytes() for name in names}


def line_of(name: str, marker: str) -> int:
    """The line of fixture `name` holding `marker` (which must occur once)."""
    lines = [n for n, text in enumerate((FIXTURES / name).read_text().splitlines(), 1) if marker in text]
    assert len(lines) == 1, f"{marker!r} is on lines {lines} of {name}"
    return lines[0]


def only_problem(rt: Runtime, *names: str) -> Problem:
    """The one problem validation finds in a file set (a second one would be noise or a misleading echo)."""
    problems = deployments.validate(rt, files(*names), OPERATOR)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


def test_camunda_decision_ref_is_refused_at_its_task_with_the_spiffworkflow_form_to_use(rt: Runtime) -> None:
    found = only_problem(rt, "decision_ref.bpmn", "risk.dmn")

    assert (found.file, found.element, found.line) == (
        "decision_ref.bpmn", "rate_risk", line_of("decision_ref.bpmn", 'id="rate_risk"'))
    assert "camunda:decisionRef 'risk' is not supported" in found.message
    # exactly the form this project's own diagrams use (bpmn/claims.bpmn)
    assert ("<bpmn:extensionElements><spiffworkflow:calledDecisionId>risk</spiffworkflow:calledDecisionId>"
            "</bpmn:extensionElements>") in found.message
    assert "None" not in found.message


def test_a_business_rule_task_naming_no_decision_is_told_how_to_name_one(rt: Runtime) -> None:
    found = only_problem(rt, "missing_decision.bpmn")

    assert (found.element, found.line) == ("step", line_of("missing_decision.bpmn", "<bpmn:businessRuleTask"))
    assert "names no decision" in found.message
    assert "spiffworkflow:calledDecisionId" in found.message
    assert '"None"' not in found.message


def test_a_data_store_and_its_reference_are_each_refused_at_their_own_line(rt: Runtime) -> None:
    problems = deployments.validate(rt, files("data_store.bpmn"), OPERATOR)

    assert [(p.file, p.element, p.line) for p in problems] == [
        ("data_store.bpmn", "customer_db", line_of("data_store.bpmn", "<bpmn:dataStore ")),
        ("data_store.bpmn", "customers", line_of("data_store.bpmn", "<bpmn:dataStoreReference")),
    ]
    assert problems[0].message.startswith("data store 'Customer database' is not supported")
    assert problems[1].message.startswith("data store reference 'Customers' is not supported")
    assert all("process variables" in p.message and "service task" in p.message for p in problems)
    assert not any("has no implementation" in p.message or "Cannot resolve" in p.message for p in problems)


def test_a_call_to_a_process_not_in_the_deployment_names_the_call_activity_and_the_process(rt: Runtime) -> None:
    found = only_problem(rt, "call_missing.bpmn")

    assert (found.file, found.element, found.line) == (
        "call_missing.bpmn", "step", line_of("call_missing.bpmn", "<bpmn:callActivity"))
    assert "calls process 'underwriting_check', which no BPMN file of this deployment defines" in found.message
    assert "was not found" not in found.message


def test_a_missing_process_called_from_a_called_process_is_named_in_the_file_that_calls_it(rt: Runtime) -> None:
    found = only_problem(rt, "call_chain_caller.bpmn", "call_chain_callee.bpmn")

    assert (found.file, found.element, found.line) == (
        "call_chain_callee.bpmn", "step", line_of("call_chain_callee.bpmn", "<bpmn:callActivity"))
    assert "'fraud_screening'" in found.message


# Each fixture holds one mistake: (file, element, the text on the expected line, a fragment of the message).
PARSER_ERRORS = [
    pytest.param("flow_to_nowhere.bpmn", "f2", 'id="f2"', "sequence flow leads to 'archive', which is no element",
                 id="flow-to-a-missing-target"),
    pytest.param("gateway_dead_end.bpmn", "approved", 'id="approved"', "has no outgoing sequence flow",
                 id="gateway-without-outgoing-flow"),
    pytest.param("duplicate_ids.bpmn", "step", 'name="Check again"', "'step' is not a valid value of the atomic type",
                 id="duplicate-id"),
    pytest.param("timer_without_time.bpmn", "step", 'id="wait_definition"',
                 "timer has no timeDuration, timeDate or timeCycle", id="timer-without-time"),
    pytest.param("script_without_script.bpmn", "step", "<bpmn:scriptTask", "script task has no script",
                 id="script-task-without-script"),
    pytest.param("malformed.bpmn", None, "</bpmn:process>", "not well-formed XML", id="malformed-xml"),
    pytest.param("no_start_event.bpmn", "no_start_event", "<bpmn:process", "No start event found",
                 id="no-start-event"),
    pytest.param("loop_without_limit.bpmn", "step", "<bpmn:task", "A loopMaximum or loopCondition must be specified",
                 id="loop-without-limit"),
    pytest.param("two_flows_from_a_task.bpmn", "step", "<bpmn:task",
                 "2 outgoing sequence flows (f2, f3) leave this task", id="two-flows-out-of-a-task"),
    pytest.param("condition_missing.bpmn", "f3", 'id="f3"', "outgoing sequence flow without condition",
                 id="gateway-flow-without-condition"),
    pytest.param("message_ref_missing.bpmn", "step", 'messageRef="documents_in"',
                 "messageRef 'documents_in' names no bpmn:message of this deployment (defined: documents_received)",
                 id="message-ref-to-nothing"),
    pytest.param("complex_gateway.bpmn", "step", "<bpmn:complexGateway", "complexGateway is not supported",
                 id="unsupported-element"),
    pytest.param("subprocess_without_end.bpmn", "step", "<bpmn:subProcess", "A SubWorkflow Must contain an End event",
                 id="subprocess-without-end"),
    pytest.param("boundary_on_nowhere.bpmn", "too_late", 'id="too_late"', "attached to 'chekc', which is no element",
                 id="boundary-event-on-nothing"),
    pytest.param("message_without_id.bpmn", None, "<bpmn:message ", "Message identifier is missing",
                 id="message-without-id"),
]


@pytest.mark.parametrize("name,element,marker,fragment", PARSER_ERRORS)
def test_a_parser_error_names_file_element_and_line(
    rt: Runtime, name: str, element: str | None, marker: str, fragment: str
) -> None:
    found = only_problem(rt, name)

    assert (found.file, found.element, found.line) == (name, element, line_of(name, marker))
    assert fragment in found.message
    assert not found.message.endswith(" ")  # SpiffWorkflow's ". " tail is gone
    assert "Error(" not in found.message  # no repr of an exception SpiffWorkflow raised by mistake


def test_a_dmn_file_with_two_decisions_is_named_at_the_decision_spiffworkflow_would_miss(rt: Runtime) -> None:
    found = only_problem(rt, "pricing.bpmn", "two_decisions.dmn")

    assert (found.file, found.element, found.line) == (
        "two_decisions.dmn", "discount", line_of("two_decisions.dmn", '<decision id="discount"'))
    assert "one decision per DMN file" in found.message


def test_a_refused_deploy_hands_file_element_and_line_to_the_api_and_the_cli(rt: Runtime) -> None:
    with pytest.raises(DeploymentInvalidError) as caught:
        deployments.deploy(rt, files("decision_ref.bpmn", "risk.dmn"), OPERATOR)

    line = line_of("decision_ref.bpmn", 'id="rate_risk"')
    (problem,) = caught.value.details["problems"]  # the API's 422 body and `insureflow deploy --json`
    assert {k: problem[k] for k in ("file", "element", "line")} == {
        "file": "decision_ref.bpmn", "element": "rate_risk", "line": line}
    assert str(caught.value.problems[0]).startswith(  # what the CLI prints
        f"decision_ref.bpmn:{line} [rate_risk]: camunda:decisionRef 'risk' is not supported")
    assert "decision_ref" not in {p.key for p in deployments.list_processes(rt)}
