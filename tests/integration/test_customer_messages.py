"""A message the customer sends (`deliveredBy="customer"`, engine/workflow/access.py): validated at deploy, delivered
only by the customer of that one case (the public claim path builds that actor after checking the claim's
access code, tasks/claim_access.py); staff, even the starter, and the operator are refused, and the customer
delivers nothing else. A refused delivery changes nothing."""

from __future__ import annotations

import pytest

from engine.errors import DeploymentInvalidError, ForbiddenError
from engine.workflow import deployments, instances
from engine.workflow.actors import OPERATOR, Actor
from tests.conftest import World
from tests.integration.test_message_deliverers import case_file, events, registered


def customer_of(case: int) -> Actor:
    return Actor("claimant of C1", frozenset(), customer_of=case)


def test_only_the_customer_of_the_case_delivers_a_customer_message(world: World) -> None:
    deployments.deploy(world.rt, case_file("customer"), OPERATOR)
    case, other = registered(world), registered(world)
    before = events(world, case)
    for staff in (world.actor("clerk"), OPERATOR):  # the clerk started the case: still not theirs to send
        with pytest.raises(ForbiddenError, match="sent by the customer"):
            instances.deliver_message(world.rt, case, "customer_note", {"text": "x"}, staff)
    with pytest.raises(ForbiddenError, match="no part"):
        instances.deliver_message(world.rt, case, "customer_note", {"text": "x"}, customer_of(other))
    assert events(world, case) == before

    instances.deliver_message(world.rt, case, "customer_note", {"text": "from the claimant"}, customer_of(case))

    delivered = [e for e in instances.instance_history(world.rt, case, OPERATOR) if e["type"] == "message_delivered"]
    assert delivered[-1]["actor"] == "claimant of C1"


def test_the_customer_delivers_no_message_marked_for_others(world: World) -> None:
    deployments.deploy(world.rt, case_file("starter"), OPERATOR)
    case = registered(world)
    before = events(world, case)
    with pytest.raises(ForbiddenError, match="not one a customer sends"):
        instances.deliver_message(world.rt, case, "customer_note", {"text": "x"}, customer_of(case))
    assert events(world, case) == before


def test_deploy_refuses_customer_beside_other_deliverers(world: World) -> None:
    with pytest.raises(DeploymentInvalidError) as refused:
        deployments.deploy(world.rt, case_file("customer holder"), OPERATOR)
    [problem] = [p for p in refused.value.problems if p.element == "note_received"]
    assert "customer stands alone" in problem.message


def test_deploy_refuses_customer_on_a_process_start_event(world: World) -> None:
    files = case_file(None)
    text = files["case_file.bpmn"].decode().replace(
        '<bpmn:startEvent id="start" name="Claim reported">\n      <bpmn:outgoing>f1</bpmn:outgoing>',
        '<bpmn:startEvent id="start" name="Claim reported">\n      <bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="deliveredBy" value="customer" /></spiffworkflow:properties>'
        '</bpmn:extensionElements>\n      <bpmn:outgoing>f1</bpmn:outgoing>'
        '<bpmn:messageEventDefinition id="MsgDef_start" messageRef="Message_bank_notice" />')
    assert 'id="MsgDef_start"' in text
    with pytest.raises(DeploymentInvalidError) as refused:
        deployments.deploy(world.rt, {**files, "case_file.bpmn": text.encode()}, OPERATOR)
    assert any(p.element == "start" and "start event" in p.message for p in refused.value.problems)
