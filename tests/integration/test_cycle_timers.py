"""A cycle timer (`R3/PT1H`) fires each repetition once, when it is due, as SpiffWorkflow fires it: through the
worker or inside another operation on the case, every repetition recorded as `timer_fired` with the timer's
own id, one wait row per waiting timer holding the next due time, closed once the cycle is exhausted; and
the case replays consistently."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import worker
from engine.audit.replay import replay_instance
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR
from engine.workflow.database import make_engine, make_session_factory
from engine.workflow.models import HumanTaskModel, WaitModel
from engine.workflow.runtime import SpecCache, WorkflowCache
from tests.conftest import FIXTURES, World, fixture_files

FOLDER = "bpmn_cycle_timers"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the TestClock's start
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)
# The repetitions of R3/PT1H for a case started at START.
DUES = [START + HOUR, START + 2 * HOUR, START + 3 * HOUR]


def start_case(world: World) -> int:
    deployments.deploy(world.rt, fixture_files(FOLDER), OPERATOR)
    return instances.start_instance(world.rt, "cycle_reminder", {}, world.actor("clerk")).id


def tick_at(world: World, after: timedelta) -> int:
    """Run the worker once at START + `after`; how many timer firings it reports."""
    world.clock.now = START + after
    return worker.tick(world.rt).timers_fired


def open_tasks(world: World, case: int) -> Counter[str]:
    with world.rt.uow(read_only=True) as uow:
        return Counter(uow.session.scalars(select(HumanTaskModel.task_key).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.status == "open")))


def timer_waits(world: World, case: int) -> list[tuple[str, datetime | None]]:
    with world.rt.uow(read_only=True) as uow:
        return [(w.status, w.due_at) for w in uow.session.scalars(select(WaitModel).where(
            WaitModel.instance_id == case, WaitModel.kind == "timer").order_by(WaitModel.id))]


def firings(world: World, case: int) -> list[dict]:
    return [e for e in instances.instance_history(world.rt, case, OPERATOR) if e["type"] == "timer_fired"]


def assert_recorded_once_each_when_due(world: World, case: int) -> None:
    """Every firing is the reminder's own, for a distinct repetition, recorded after that repetition was due."""
    fired = firings(world, case)
    assert {e["task"] for e in fired} <= {"remind"}
    dues = [datetime.fromisoformat(e["payload"]["due"]) for e in fired]
    assert dues == DUES[:len(dues)]
    assert all(datetime.fromisoformat(e["at"]) > due for e, due in zip(fired, dues, strict=True))
    assert len(fired) == open_tasks(world, case)["chase"]  # each repetition opened one chase task


def bare_chases(ticks: list[timedelta]) -> list[int]:
    """How many chase tasks bare SpiffWorkflow has ready after each tick (refresh_timers, then engine steps)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.parse(str(FIXTURES / FOLDER / "cycle_reminder.bpmn")))
    counts = []
    with time_machine.travel(START, tick=False) as clock:
        workflow = BpmnWorkflow(parser.get_spec("cycle_reminder"), {})
        workflow.do_engine_steps()
        for after in ticks:
            clock.move_to(START + after)
            workflow.refresh_timers()
            workflow.do_engine_steps()
            counts.append(sum(t.task_spec.bpmn_id == "chase"
                              for t in workflow.get_tasks(state=TaskState.READY, manual=True)))
    return counts


def test_each_repetition_fires_once_an_interval_apart_and_the_exhausted_cycle_closes_its_row(world: World) -> None:
    case = start_case(world)
    assert timer_waits(world, case) == [("pending", DUES[0])]

    assert tick_at(world, HOUR - timedelta(minutes=1)) == 0
    assert tick_at(world, HOUR) == 0  # due is not yet past: SpiffWorkflow fires strictly after the due time
    assert tick_at(world, HOUR + SECOND) == 1
    assert tick_at(world, HOUR + SECOND) == 0
    assert open_tasks(world, case) == Counter(respond=1, note_call=1, chase=1)
    assert timer_waits(world, case) == [("pending", DUES[1])]  # the same row, waiting for the next repetition

    assert tick_at(world, 2 * HOUR + SECOND) == 1
    assert tick_at(world, 3 * HOUR + SECOND) == 1
    assert timer_waits(world, case) == [("done", DUES[2])]  # R3: nothing left to wait for
    assert tick_at(world, 4 * HOUR + SECOND) == 0
    assert tick_at(world, 9 * HOUR) == 0

    assert open_tasks(world, case) == Counter(respond=1, note_call=1, chase=3)
    assert [datetime.fromisoformat(e["payload"]["due"]) for e in firings(world, case)] == DUES
    assert_recorded_once_each_when_due(world, case)
    assert replay_instance(world.rt, case, world.actor("auditor")).consistent


@pytest.mark.parametrize("ticks", [
    [HOUR / 2, HOUR + SECOND, 2 * HOUR + SECOND, 3 * HOUR + SECOND, 4 * HOUR],
    [2.5 * HOUR, 2.5 * HOUR, 5 * HOUR, 5 * HOUR],
    [5 * HOUR, 5 * HOUR, 5 * HOUR],
], ids=["on_time", "late", "very_late"])
def test_a_late_worker_fires_the_due_repetitions_as_spiffworkflow_does(world: World, ticks: list[timedelta]) -> None:
    case = start_case(world)
    chases, fired = [], 0
    for after in ticks:
        reported = tick_at(world, after)
        fired += reported
        chases.append(open_tasks(world, case)["chase"])
        assert fired == len(firings(world, case))  # the report counts every repetition recorded
        assert_recorded_once_each_when_due(world, case)

    assert chases == bare_chases(ticks)
    assert chases[-1] == 3  # none lost
    assert timer_waits(world, case) == [("done", DUES[2])]
    assert replay_instance(world.rt, case, world.actor("auditor")).consistent


def test_a_late_worker_fires_two_repetitions_in_one_step_each_recorded(world: World) -> None:
    case = start_case(world)
    assert tick_at(world, 2.5 * HOUR) == 2  # as SpiffWorkflow: one on refresh_timers, one when the steps end
    fired = firings(world, case)
    assert [(e["task"], e["payload"]["due"]) for e in fired] == [("remind", d.isoformat()) for d in DUES[:2]]
    assert timer_waits(world, case) == [("pending", DUES[2])]
    assert open_tasks(world, case)["chase"] == 2
    assert replay_instance(world.rt, case, world.actor("auditor")).consistent


def test_a_repetition_due_while_the_clerk_completes_another_task_fires_there(world: World) -> None:
    case = start_case(world)
    world.clock.now = START + 1.5 * HOUR  # due; the worker has not run
    with world.rt.uow(read_only=True) as uow:
        note = uow.session.scalar(select(HumanTaskModel.id).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.task_key == "note_call"))
    task_service.complete(world.rt, note, world.actor("clerk"), {})

    assert open_tasks(world, case) == Counter(respond=1, chase=1)
    assert [(e["task"], e["payload"]["due"]) for e in firings(world, case)] == [("remind", DUES[0].isoformat())]
    assert timer_waits(world, case) == [("pending", DUES[1])]
    assert tick_at(world, 1.5 * HOUR) == 0  # the worker has nothing left of that repetition
    assert tick_at(world, 2 * HOUR + SECOND) == 1
    assert_recorded_once_each_when_due(world, case)
    assert replay_instance(world.rt, case, world.actor("auditor")).consistent


def test_two_workers_together_fire_each_repetition_once(world: World) -> None:
    cases = [start_case(world) for _ in range(4)]
    world.clock.now = START + 2.5 * HOUR
    second = replace(world.rt, session_factory=make_session_factory(make_engine(world.url)), specs=SpecCache(),
                     workflows=WorkflowCache())
    reports: list[worker.TickReport] = []
    try:
        threads = [threading.Thread(target=lambda rt=rt: reports.append(worker.tick(rt)))
                   for rt in (world.rt, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        reports.append(worker.tick(world.rt))  # whatever a conflict left due
    finally:
        second.session_factory.kw["bind"].dispose()

    assert not any(r.errors for r in reports)
    assert sum(r.timers_fired for r in reports) == 2 * len(cases)
    for case in cases:
        assert len(firings(world, case)) == 2
        assert_recorded_once_each_when_due(world, case)
        assert timer_waits(world, case) == [("pending", DUES[2])]
