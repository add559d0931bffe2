"""Version diff and rollback: elements added, removed and changed between deployed versions (diagram
attributes, extension properties, gateway conditions, decision-table rules, form fields); a rollback
makes an older content the newest version while running instances stay on theirs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.authoring import version_diff
from engine.errors import ConflictError, ForbiddenError, NotFoundError
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import HumanTaskModel, InstanceModel
from tests.conftest import FIXTURES, World, fixture_files

RISK_DMN = (FIXTURES / "hostile" / "risk.dmn").read_bytes()


def rated_bpmn(*, extra_step: bool = False) -> bytes:
    """A process whose business rule task calls the `risk` decision; `extra_step` adds a script task
    and drops the note task."""
    middle = ('<bpmn:scriptTask id="tag" name="Tag"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
              '<bpmn:script>tagged = True</bpmn:script></bpmn:scriptTask>') if extra_step else (
        '<bpmn:userTask id="note" name="Note"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
        '</bpmn:userTask>')
    target = "tag" if extra_step else "note"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_rated" targetNamespace="http://insureflow.example/test">
  <bpmn:process id="rated" name="Rated" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="rate" name="Rate">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>risk</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    {middle}
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rate" />
    <bpmn:sequenceFlow id="f2" sourceRef="rate" targetRef="{target}" />
    <bpmn:sequenceFlow id="f3" sourceRef="{target}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def review_v2() -> dict[str, bytes]:
    """claim_review with a higher limit at the gateway, a longer due date and one more form field."""
    files = fixture_files()
    files["claim_review.bpmn"] = (files["claim_review.bpmn"]
                                  .replace(b"payable &gt; 1000", b"payable &gt; 5000")
                                  .replace(b'name="dueIn" value="P2D"', b'name="dueIn" value="P5D"'))
    form = json.loads(files["forms/register.json"])
    form["properties"]["remark"] = {"type": "string", "title": "Remark"}
    files["forms/register.json"] = json.dumps(form).encode()
    return files


def _open(world: World, instance_id: int) -> list[str]:
    with world.rt.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel.task_key).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open")))


def _register(world: World, instance_id: int, amount: float) -> None:
    with world.rt.uow() as uow:
        task_id = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.task_key == "register"))
    task_service.complete(world.rt, task_id, world.actor("clerk"), {"claimant": "Li", "amount": amount})


def test_a_changed_gateway_condition_property_and_form_field_are_listed_with_both_values(world: World) -> None:
    deployments.deploy(world.rt, fixture_files(), OPERATOR, "first")
    deployments.deploy(world.rt, review_v2(), world.actor("analyst"), "higher limit")
    diff = version_diff.diff_versions(world.rt, "claim_review", 1, 2)
    assert (diff.old.version, diff.new.version, diff.new.comment) == (1, 2, "higher limit")
    found = {(c.file, c.element, c.kind): c.details for c in diff.changes}
    assert found == {
        ("claim_review.bpmn", "f_large", "changed"): [{"aspect": "condition", "old": "payable > 1000",
                                                      "new": "payable > 5000"}],
        ("claim_review.bpmn", "register", "changed"): [{"aspect": "property dueIn", "old": "P2D", "new": "P5D"}],
        ("forms/register.json", "remark", "added"): [],
    }


def test_added_and_removed_elements_and_a_changed_decision_rule_are_found(world: World) -> None:
    deployments.deploy(world.rt, {"rated.bpmn": rated_bpmn(), "risk.dmn": RISK_DMN}, OPERATOR)
    deployments.deploy(world.rt, {"rated.bpmn": rated_bpmn(extra_step=True),
                                  "risk.dmn": RISK_DMN.replace(b"&lt; 30", b"&lt; 40")}, OPERATOR)
    changes = version_diff.diff_versions(world.rt, "rated", 1, 2).changes
    summary = {(c.element, c.kind, c.type) for c in changes}
    assert {("tag", "added", "scriptTask"), ("note", "removed", "userTask"),
            ("f2", "changed", "sequenceFlow"), ("f3", "changed", "sequenceFlow"),
            ("Rule_young", "changed", "rule")} == summary
    rule = next(c for c in changes if c.element == "Rule_young")
    assert rule.file == "risk.dmn" and rule.details == [{"aspect": "inputEntry/text", "old": "< 30", "new": "< 40"}]


def test_moving_shapes_or_reformatting_is_no_change(world: World) -> None:
    original = fixture_files()["claim_review.bpmn"]
    moved = original.replace(b'x="', b'x="1').replace(b"  ", b"    ")
    assert version_diff.diff_files({"a.bpmn": original}, {"a.bpmn": moved}) == []


def test_a_diff_of_an_unknown_version_is_not_found(world: World) -> None:
    deployments.deploy(world.rt, fixture_files(), OPERATOR)
    with pytest.raises(NotFoundError, match="no version 7"):
        version_diff.diff_versions(world.rt, "claim_review", 1, 7)


def test_new_instances_follow_the_new_path_while_earlier_ones_finish_on_theirs_and_rollback_restores_the_old(
        world: World) -> None:
    v1 = deployments.deploy(world.rt, fixture_files(), OPERATOR, "first")
    before = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    v2 = deployments.deploy(world.rt, review_v2(), world.actor("analyst"), "higher limit")
    after = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    _register(world, before.id, 3000)
    _register(world, after.id, 3000)
    assert _open(world, before.id) == ["assess"]  # 2900 payable: above v1's limit
    assert _open(world, after.id) == []  # below v2's: straight on to the cooling-off wait

    rolled = deployments.rollback(world.rt, "claim_review", 1, world.actor("analyst"), "limit back to 1000")
    assert (rolled.version, rolled.deployment_id, rolled.rolled_back_from) == (3, v1.id, 1)
    assert (rolled.deployed_by, rolled.comment, rolled.latest) == ("analyst", "limit back to 1000", True)
    third = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    assert third.version == 3
    _register(world, third.id, 3000)
    assert _open(world, third.id) == ["assess"]

    with world.rt.uow() as uow:
        pinned = {i.id: i.deployment_id for i in uow.session.scalars(select(InstanceModel))}
    assert pinned == {before.id: v1.id, after.id: v2.id, third.id: v1.id}
    listed = deployments.list_versions(world.rt, "claim_review")
    assert [(v.version, v.running, v.latest) for v in listed] == [(3, 1, True), (2, 1, False), (1, 1, False)]
    assert [p.version for p in deployments.list_processes(world.rt)] == [3]


def test_rolling_back_to_the_content_already_newest_is_a_conflict_and_only_analysts_roll_back(world: World) -> None:
    deployments.deploy(world.rt, fixture_files(), OPERATOR)
    deployments.deploy(world.rt, review_v2(), OPERATOR)
    with pytest.raises(ForbiddenError, match="roll back"):
        deployments.rollback(world.rt, "claim_review", 1, world.actor("clerk"))
    with pytest.raises(ConflictError, match="already runs this content"):
        deployments.rollback(world.rt, "claim_review", 2, world.actor("analyst"))
    with pytest.raises(NotFoundError):
        deployments.rollback(world.rt, "claim_review", 9, world.actor("analyst"))
    assert len(deployments.list_versions(world.rt, "claim_review")) == 2
