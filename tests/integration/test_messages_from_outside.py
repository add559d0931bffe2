"""Messages from outside a case, by name and correlation (`engine.workflow.messages.send_message`, the API's
`POST /api/messages/{name}` and `insureflow message --name`): a process whose start event catches the message
is started by it; a case waiting for it receives it when the correlation picks exactly that case; anything
else is refused with a reason and changes nothing."""

from __future__ import annotations

import pytest

from engine.audit.replay import replay_instance
from engine.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from engine.workflow import deployments, instances, messages, task_service
from engine.workflow.actors import OPERATOR
from tests.conftest import World, fixture_files


@pytest.fixture
def both(deployed: World) -> World:
    """The claim-review fixture (its cooling-off wait catches `cancel`) and the complaint process (started by
    the message `complaint_filed`)."""
    deployments.deploy(deployed.rt, fixture_files("bpmn_message_start"), OPERATOR)
    return deployed


def _waiting_for_cancel(world: World, claimant: str, key: str) -> int:
    """A small claim registered for `claimant`, waiting at the cooling-off gateway (timer or `cancel`)."""
    started = instances.start_instance(world.rt, "claim_review", {}, world.actor("clerk"), key)
    (task,) = started.open_tasks
    task_service.complete(world.rt, task["id"], world.actor("clerk"), {"amount": 900, "claimant": claimant})
    return started.id


def _count(world: World, process: str) -> int:
    return instances.list_instances(world.rt, OPERATOR, process_key=process)[1]


def test_a_message_start_event_starts_its_process_with_the_message_data(both: World) -> None:
    world = both
    sent = messages.send_message(world.rt, "complaint_filed", {"text": "late payout"}, {}, world.actor("clerk"))

    assert sent.outcome == "started"
    case = sent.instance
    assert (case.status, [t["task"] for t in case.open_tasks]) == ("running", ["review_complaint"])
    assert instances.show_instance(world.rt, case.id, OPERATOR).data["complaint"] == {"text": "late payout"}
    kinds = [e["type"] for e in instances.instance_history(world.rt, case.id, OPERATOR)]
    assert kinds[:2] == ["instance_started", "message_delivered"]
    assert replay_instance(world.rt, case.id, OPERATOR).consistent


def test_starting_by_message_needs_the_start_lanes_role(both: World) -> None:
    with pytest.raises(ForbiddenError, match="needs role claims_clerk"):
        messages.send_message(both.rt, "complaint_filed", {}, {}, both.actor("adj"))
    assert _count(both, "complaint") == 0


def test_the_correlation_picks_the_one_waiting_case(both: World) -> None:
    world = both
    li, wang = _waiting_for_cancel(world, "Li Lei", "CLM-1"), _waiting_for_cancel(world, "Wang Fang", "CLM-2")

    sent = messages.send_message(world.rt, "cancel", {"reason": "changed mind"}, {"claimant": "Wang Fang"},
                                 world.actor("clerk"))

    assert (sent.outcome, sent.instance.id, sent.instance.status) == ("delivered", wang, "completed")
    assert instances.show_instance(world.rt, li, OPERATOR).status == "waiting"
    by_key = messages.send_message(world.rt, "cancel", {}, {"business_key": "CLM-1"}, world.actor("clerk"))
    assert (by_key.outcome, by_key.instance.id) == ("delivered", li)


def test_a_correlation_that_fits_several_cases_is_refused_and_delivers_nothing(both: World) -> None:
    world = both
    first, second = _waiting_for_cancel(world, "Li Lei", "CLM-1"), _waiting_for_cancel(world, "Li Lei", "CLM-2")
    for correlation in ({}, {"claimant": "Li Lei"}):
        with pytest.raises(ConflictError, match=f"2 cases wait for message 'cancel'.*instances {first}, {second}"):
            messages.send_message(world.rt, "cancel", {}, correlation, world.actor("clerk"))
    assert {instances.show_instance(world.rt, i, OPERATOR).status for i in (first, second)} == {"waiting"}


def test_a_message_nobody_catches_is_not_found(both: World) -> None:
    world = both
    _waiting_for_cancel(world, "Li Lei", "CLM-1")
    with pytest.raises(NotFoundError, match="no case waits for message 'cancel' with claimant=Zhao, and no process"):
        messages.send_message(world.rt, "cancel", {}, {"claimant": "Zhao"}, world.actor("clerk"))
    with pytest.raises(NotFoundError, match="'no_such_message'"):
        messages.send_message(world.rt, "no_such_message", {}, {}, world.actor("clerk"))


@pytest.mark.parametrize(("payload", "correlation"), [([1, 2], {}), ({}, {"claimant": 3})])
def test_message_data_and_correlations_of_the_wrong_shape_are_refused(both: World, payload: object,
                                                                     correlation: dict) -> None:
    with pytest.raises(InvalidInputError):
        messages.send_message(both.rt, "complaint_filed", payload, correlation, both.actor("clerk"))  # type: ignore[arg-type]
    assert _count(both, "complaint") == 0
