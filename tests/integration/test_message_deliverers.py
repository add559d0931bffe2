"""Who may deliver a message into a running case (README "Who sees a case", engine/workflow/access.py): the catching
event names them with `deliveredBy` (checked at deploy); an event naming nobody takes messages from the engine
only. A refused delivery changes nothing."""

from __future__ import annotations

import pytest

from engine.errors import DeploymentInvalidError, ForbiddenError
from engine.identity.users import add_user
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from tests.conftest import World, fixture_files

NOTE = '<spiffworkflow:property name="deliveredBy" value="starter" />'


def case_file(deliverers: str | None = "starter") -> dict[str, bytes]:
    """The need-to-know case file, its customer note delivered by `deliverers` (None: the property left out)."""
    files = fixture_files("bpmn_need_to_know")
    text = files["case_file.bpmn"].decode()
    assert NOTE in text
    if deliverers is None:
        text = text.replace(NOTE, "")
    else:
        text = text.replace(NOTE, f'<spiffworkflow:property name="deliveredBy" value="{deliverers}" />')
    return {**files, "case_file.bpmn": text.encode()}


def registered(world: World) -> int:
    """A claim registered by the clerk, its check open in the pool."""
    started = instances.start_instance(world.rt, "claims", {}, world.actor("clerk"))
    (task,) = started.open_tasks
    task_service.complete(world.rt, task["id"], world.actor("clerk"),
                          {"claimant_name": "Li Hua", "claimant_id_number": "110105198503141016"})
    return started.id


def events(world: World, case: int) -> list[str]:
    return [e["type"] for e in instances.instance_history(world.rt, case, OPERATOR)]


def test_a_role_named_by_the_event_may_deliver_and_others_with_a_part_in_the_case_may_not(world: World) -> None:
    deployments.deploy(world.rt, case_file("starter siu"), OPERATOR)
    with world.rt.uow() as uow:
        add_user(uow.session, world.rt.settings, "siu", ["siu"], None, world.clock())
        uow.commit()
    case = registered(world)

    instances.deliver_message(world.rt, case, "customer_note", {"text": "from SIU"}, world.actor("siu"))
    # The claims manager has a duty across every claim, but the note is not theirs to deliver.
    before = events(world, case)
    with pytest.raises(ForbiddenError, match="delivered by starter or siu"):
        instances.deliver_message(world.rt, case, "customer_note", {"text": "x"}, world.actor("boss"))
    assert events(world, case) == before


def test_a_message_whose_event_names_nobody_comes_from_the_engine_only(world: World) -> None:
    deployments.deploy(world.rt, case_file(None), OPERATOR)
    case = registered(world)
    before = events(world, case)

    with pytest.raises(ForbiddenError, match="taken from the engine only"):
        instances.deliver_message(world.rt, case, "customer_note", {"text": "x"}, world.actor("clerk"))
    assert events(world, case) == before
    instances.deliver_message(world.rt, case, "customer_note", {"text": "from the system"}, OPERATOR)
    assert events(world, case)[-1] != before[-1]


def test_an_auditor_reads_a_case_but_never_acts_on_it(world: World) -> None:
    deployments.deploy(world.rt, case_file("starter auditor"), OPERATOR)
    case = registered(world)
    with pytest.raises(ForbiddenError, match=r"may read instance \d+ but not act on it"):
        instances.deliver_message(world.rt, case, "customer_note", {"text": "x"}, world.actor("auditor"))


@pytest.mark.parametrize(("deliverers", "problem"), [
    ("starter cashier", "deliveredBy names 'cashier', which is neither starter, holder nor a known role"),
    ("   ", "deliveredBy names nobody"),
])
def test_deploy_refuses_a_deliverer_it_does_not_know(world: World, deliverers: str, problem: str) -> None:
    with pytest.raises(DeploymentInvalidError) as refused:
        deployments.deploy(world.rt, case_file(deliverers), OPERATOR)
    found = [p for p in refused.value.problems if p.element == "note_received"]
    assert found and problem in found[0].message and found[0].line
