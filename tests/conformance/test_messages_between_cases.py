"""Messages where the engine must go beyond bare SpiffWorkflow, which routes nothing between workflows.

A message thrown by one case and caught by a process's message start event starts a new case of that
process (BPMN's meaning; the worker routes thrown messages). And where the engine deliberately refuses
what bare SpiffWorkflow accepts — a message to a case that has already completed — the refusal is asserted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import worker
from engine.errors import ConflictError, InvalidInputError
from engine.workflow import instances
from engine.workflow.actors import OPERATOR
from engine.workflow.models import InstanceModel
from tests.conformance.driver import START, EngineCase, EngineRun, deploy, run_bare
from tests.conformance.model import Complete, Message
from tests.conformance.scenarios import s
from tests.conftest import World

FILED = s("claim_filed_by_another_case", ("message_sender.bpmn", "message_start.bpmn"), {"number": "C-9"},
          process="message_sender")
DOCUMENTS = s("documents_as_a_list", "message_intermediate.bpmn", {}, Complete("request", {}),
              Message("documents", ["invoice", "photo"]))
WITHDRAWAL = s("withdrawal_after_completion", "evsub_message_interrupting.bpmn", {}, Complete("work", {"worked": True}),
               Message("withdraw", {"why": "too late"}))


def test_a_thrown_message_starts_a_case_of_the_process_whose_start_event_catches_it(world: World) -> None:
    deploy(world, FILED)
    world.clock.now = START
    sender = instances.start_instance(world.rt, "message_sender", {"number": "C-9"}, world.actor("clerk"))
    assert sender.status == "completed"
    worker.tick(world.rt)
    with world.rt.uow(read_only=True) as uow:
        started = list(uow.session.scalars(
            select(InstanceModel.id).where(InstanceModel.process_key == "message_start")))
    assert len(started) == 1
    shown = instances.show_instance(world.rt, started[0], OPERATOR)
    assert shown.data["claim_number"] == "C-9" and [t["task"] for t in shown.open_tasks] == ["review"]


def test_a_completed_case_refuses_a_message_that_spiffworkflow_would_still_catch(world: World) -> None:
    """Bare SpiffWorkflow lets a completed workflow catch a message and run its event subprocess; the engine
    refuses to change a completed case (a conflict), which is deliberate."""
    bare = run_bare(WITHDRAWAL, list(WITHDRAWAL.script))
    assert bare.trace[-1][:2] == ("message withdraw", "completed: ok")
    assert bare.completed["react"] == 1

    deploy(world, WITHDRAWAL)
    world.clock.now = START
    run = EngineRun.on(world)
    try:
        case = EngineCase(run, WITHDRAWAL)
        case.start()
        case.play(Complete("work", {"worked": True}))
        with pytest.raises(ConflictError, match="is completed"):
            instances.deliver_message(world.rt, case.case, "withdraw", {"why": "too late"}, world.actor("clerk"))
        assert case.finish().completed["react"] == 0
    finally:
        run.close()


def test_message_data_that_is_not_an_object_is_refused(world: World) -> None:
    """Bare SpiffWorkflow hands any payload to the catching event; the engine takes only a JSON object as
    message data (its API contract), so a list is refused before anything changes."""
    bare = run_bare(DOCUMENTS, list(DOCUMENTS.script))
    assert bare.data["received"] == ["invoice", "photo"] and bare.trace[-1][1] == "waiting: ok"

    deploy(world, DOCUMENTS)
    world.clock.now = START
    run = EngineRun.on(world)
    try:
        case = EngineCase(run, DOCUMENTS)
        case.start()
        case.play(Complete("request", {}))
        with pytest.raises(InvalidInputError, match="must be a JSON object"):
            instances.deliver_message(world.rt, case.case, "documents", ["invoice", "photo"], world.actor("clerk"))
        assert "received" not in case.finish().data
    finally:
        run.close()
