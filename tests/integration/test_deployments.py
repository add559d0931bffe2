"""Deployments: content-addressed, immutable, versioned; instances stay pinned; call activities; sandbox."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DeploymentInvalidError, ForbiddenError, NotFoundError
from engine.identity.users import add_user
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.models import DeploymentModel, HumanTaskModel, IncidentModel, InstanceModel
from tests.conftest import World, fixture_files


def _open_tasks(world: World, instance_id: int) -> list[HumanTaskModel]:
    with world.rt.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open")))


def test_identical_content_is_a_no_op_returning_the_existing_deployment(world: World) -> None:
    first = deployments.deploy(world.rt, fixture_files(), OPERATOR, "first")
    again = deployments.deploy(world.rt, fixture_files(), world.actor("analyst"), "again")
    assert first.created and not again.created
    assert (again.id, again.hash) == (first.id, first.hash)
    with world.rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DeploymentModel)) == 1
    assert deployments.deployed_file(world.rt, first.id, "claim_review.bpmn") == fixture_files()["claim_review.bpmn"]
    with pytest.raises(NotFoundError):
        deployments.deployed_file(world.rt, first.id, "nope.bpmn")


def test_only_analysts_deploy(world: World) -> None:
    with pytest.raises(ForbiddenError, match="deploy"):
        deployments.deploy(world.rt, fixture_files(), world.actor("clerk"))


def test_invalid_sets_store_nothing(world: World) -> None:
    files = fixture_files()
    files["claim_review.bpmn"] = files["claim_review.bpmn"].replace(b'id="fixture_check"', b'id="nope"')
    with pytest.raises(DeploymentInvalidError) as caught:
        deployments.deploy(world.rt, files, OPERATOR)
    assert caught.value.problems[0].element == "check"
    with world.rt.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DeploymentModel)) == 0


def test_a_new_version_is_default_for_new_instances_while_running_ones_stay_pinned(world: World) -> None:
    v1 = deployments.deploy(world.rt, fixture_files(), OPERATOR)
    old = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    files = fixture_files()
    files["claim_review.bpmn"] = files["claim_review.bpmn"].replace(b'name="Register claim"',
                                                                    b'name="Register the claim"')
    v2 = deployments.deploy(world.rt, files, OPERATOR)
    assert v2.created and v2.processes == [("claim_review", 2)]
    new = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"))
    assert (old.version, new.version) == (1, 2)
    assert _open_tasks(world, old.id)[0].task_name == "Register claim"
    assert _open_tasks(world, new.id)[0].task_name == "Register the claim"
    listed = deployments.list_processes(world.rt)
    assert [(p.key, p.version, p.deployment_id) for p in listed] == [("claim_review", 2, v2.id)]
    # The old instance still runs on v1's spec after the cache is cold.
    world.rt.specs = type(world.rt.specs)()
    task = _open_tasks(world, old.id)[0]
    task_service.complete(world.rt, task.id, world.actor("clerk"), {"amount": 10, "claimant": "x"})
    with world.rt.uow() as uow:
        assert uow.session.get(InstanceModel, old.id).deployment_id == v1.id


def test_call_activity_tasks_get_their_lane_role_and_data_flows_back(world: World) -> None:
    deployments.deploy(world.rt, fixture_files("bpmn_call"), OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "agent", ["agent"], None, world.clock())
        add_user(uow.session, world.rt.settings, "uw", ["underwriter"], None, world.clock())
        uow.commit()
    started = instances.start_instance(world.rt, "application", {}, world.actor("agent"))
    (apply,) = _open_tasks(world, started.id)
    task_service.complete(world.rt, apply.id, world.actor("agent"), {"items": [1, 2, 3]})
    (decide,) = _open_tasks(world, started.id)
    assert (decide.task_key, decide.candidate_role) == ("decide", "underwriter")
    with pytest.raises(ForbiddenError):
        task_service.complete(world.rt, decide.id, world.actor("agent"), {})
    task_service.complete(world.rt, decide.id, world.actor("uw"), {"decision": "accept"})
    (review,) = _open_tasks(world, started.id)
    shown = instances.show_instance(world.rt, started.id, world.actor("agent"))
    assert shown.data["decision"] == "accept" and shown.data["total"] == 6
    task_service.complete(world.rt, review.id, world.actor("agent"), {})
    assert instances.show_instance(world.rt, started.id, world.actor("agent")).status == "completed"


def test_a_runaway_script_is_stopped_and_becomes_an_incident(world: World) -> None:
    files = fixture_files("bpmn_call")
    files["parent.bpmn"] = files["parent.bpmn"].replace(
        b"total = 0\nfor i in items:\n    total = total + i\n",
        b"total = 0\nwhile True:\n    try:\n        total = total + 1\n    except Exception:\n        pass\n")
    world.rt.settings = __import__("dataclasses").replace(world.rt.settings, script_max_steps=20_000)
    deployments.deploy(world.rt, files, OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "agent", ["agent"], None, world.clock())
        add_user(uow.session, world.rt.settings, "uw", ["underwriter"], None, world.clock())
        uow.commit()
    started = instances.start_instance(world.rt, "application", {}, world.actor("agent"))
    (apply,) = _open_tasks(world, started.id)
    task_service.complete(world.rt, apply.id, world.actor("agent"), {"items": []})
    (decide,) = _open_tasks(world, started.id)
    task_service.complete(world.rt, decide.id, world.actor("uw"), {})
    with world.rt.uow() as uow:
        incident = uow.session.scalar(select(IncidentModel).where(IncidentModel.instance_id == started.id))
        assert uow.session.get(InstanceModel, started.id).status == "incident"
    assert incident.task_key == "tally" and "limit" in incident.error.lower()
