"""Signals from outside (`engine.workflow.messages.send_signal`, `POST /api/signals/{name}`, `insureflow signal NAME`):
a broadcast that reaches every case waiting for it and no other, recorded as `signal_received` in each history
and replayed; sent only by administrators (and the local operator), because it reaches cases the sender has no
part in."""

from __future__ import annotations

import pytest

from engine.audit.replay import replay_instance
from engine.errors import ForbiddenError, InvalidInputError, NotFoundError
from engine.identity.users import add_user
from engine.workflow import deployments, instances, messages, task_service
from engine.workflow.actors import OPERATOR
from tests.conftest import World, fixture_files


@pytest.fixture
def held(world: World) -> World:
    deployments.deploy(world.rt, fixture_files("bpmn_signals"), OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "root", ["admin"], None, world.clock())
        uow.commit()
    return world


def _case(world: World, *, prepared: bool) -> int:
    started = instances.start_instance(world.rt, "payout_hold", {}, world.actor("clerk"))
    if prepared:
        (task,) = started.open_tasks
        task_service.complete(world.rt, task["id"], world.actor("clerk"), {})
    return started.id


def test_a_signal_reaches_every_case_waiting_for_it_and_no_other(held: World) -> None:
    world = held
    first, not_yet, second = _case(world, prepared=True), _case(world, prepared=False), _case(world, prepared=True)

    sent = messages.send_signal(world.rt, "payouts_resumed", {"by": "treasury"}, world.actor("root"))

    assert [s.id for s in sent.delivered] == [first, second] and sent.refused == {}
    for case in (first, second):
        shown = instances.show_instance(world.rt, case, OPERATOR)
        assert shown.status == "completed" and shown.data["released"] is True
        (received,) = [e for e in instances.instance_history(world.rt, case, OPERATOR)
                       if e["type"] == "signal_received"]
        assert (received["actor"], received["payload"]["name"]) == ("root", "payouts_resumed")
        assert replay_instance(world.rt, case, OPERATOR).consistent
    assert instances.show_instance(world.rt, not_yet, OPERATOR).status == "running"
    with pytest.raises(NotFoundError, match="no case waits for signal 'payouts_resumed'"):
        messages.send_signal(world.rt, "payouts_resumed", {}, OPERATOR)  # nobody is left waiting


def test_only_administrators_broadcast_and_staff_signal_only_their_own_cases(held: World) -> None:
    world = held
    case = _case(world, prepared=True)
    with pytest.raises(ForbiddenError, match="may not send signals"):
        messages.send_signal(world.rt, "payouts_resumed", {}, world.actor("clerk"))
    with pytest.raises(ForbiddenError):
        instances.deliver_signal(world.rt, case, "payouts_resumed", {}, world.actor("adj"))  # no part in it
    assert instances.show_instance(world.rt, case, OPERATOR).status == "waiting"

    assert instances.deliver_signal(world.rt, case, "payouts_resumed", {}, world.actor("clerk")).status == "completed"


def test_a_signal_nobody_waits_for_or_with_malformed_data_changes_nothing(held: World) -> None:
    world = held
    case = _case(world, prepared=True)
    with pytest.raises(NotFoundError, match="'accounts_frozen'"):
        messages.send_signal(world.rt, "accounts_frozen", {}, world.actor("root"))
    with pytest.raises(InvalidInputError):
        messages.send_signal(world.rt, "payouts_resumed", ["x"], world.actor("root"))  # type: ignore[arg-type]
    assert instances.show_instance(world.rt, case, OPERATOR).status == "waiting"
