"""The two runners of the conformance suite.

`run_bare` plays a scenario on bare SpiffWorkflow 3.2, parsed with the spiff parser as the engine parses,
in memory, with the wall clock pinned (time-machine) — the reference. `run_engine` plays the same actions
through InsureFlow's public operations (deploy, start, complete as a user holding the lane's role, deliver
a message, fire timers through the worker with the engine clock moved by hand) and makes every step a
restart: each operation runs on a runtime with empty spec and workflow caches, so the case is saved,
reloaded from the database and the diagram parsed again; halfway a second Runtime (its own connection
pool, same database) takes over. `conformance.model.differences` then compares the two outcomes.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import time_machine
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import worker
from engine.errors import ConflictError, ForbiddenError
from engine.workflow import deployments, execution, incidents, instances, task_service
from engine.workflow.actors import OPERATOR, Actor
from engine.workflow.database import make_engine, make_session_factory
from engine.workflow.jsonutil import to_plain
from engine.workflow.models import HumanTaskModel
from engine.workflow.runtime import Runtime, SpecCache, WorkflowCache
from tests.conftest import World

from .model import Action, Advance, Complete, Message, Outcome, Scenario, describe

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Who does a task of each lane's role; tasks outside any lane belong to the starter.
ROLE_USERS = {"claims_clerk": "clerk", "adjuster": "adj", "claims_manager": "boss"}
STARTER = "clerk"
ENGINE_STATUS = {"completed": "completed", "running": "waiting", "waiting": "waiting", "incident": "error"}


def completed_ids(workflow: BpmnWorkflow) -> Counter[str]:
    """The BPMN ids of every completed task, in the process and all its subprocesses."""
    return Counter(
        task.task_spec.bpmn_id for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()
        if task.state == TaskState.COMPLETED and task.task_spec.bpmn_id)


def observed_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The process data: the workflow's when it ended, else the last task's."""
    if workflow.is_completed():
        data = workflow.data
    else:
        data = workflow.last_task.data if workflow.last_task else workflow.task_tree.data
    return to_plain({k: v for k, v in data.items() if not callable(v)})


def _matches(data: dict[str, Any], where: dict[str, Any] | None) -> bool:
    return not where or all(data.get(k) == v for k, v in where.items())


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".split("\n")[0][:300]


# --- bare SpiffWorkflow -------------------------------------------------------------------------


def parse_bare(scenario: Scenario) -> tuple[Any, dict[str, Any]]:
    """The process spec and its subprocess specs, parsed as the engine parses (spiff parser, DMN first)."""
    parser = SpiffBpmnParser()
    files = scenario.contents()
    for name in sorted(n for n in files if n.endswith(".dmn")):
        parser.add_dmn_xml(etree.fromstring(files[name]), filename=name)
    for name in sorted(n for n in files if n.endswith(".bpmn")):
        parser.add_bpmn_xml(etree.ElementTree(etree.fromstring(files[name])), filename=name)
    return parser.get_spec(scenario.process), parser.get_subprocess_specs(scenario.process)


class _Bare:
    """A workflow in memory and the outcome its steps are recorded in."""

    def __init__(self, workflow: BpmnWorkflow, outcome: Outcome):
        self.workflow, self.outcome = workflow, outcome

    def state(self) -> tuple[list[str], Counter[str], dict[str, Any]]:
        """The ready human tasks, the completed elements and the data."""
        ready = [t.task_spec.bpmn_id for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)]
        return ready, completed_ids(self.workflow), observed_data(self.workflow)

    def run(self, change: Callable[[], None]) -> str:
        """Apply one change and run the engine steps; an event nobody waits for is refused, any other exception
        is the case's error."""
        try:
            change()
        except WorkflowException as exc:
            if "is not waiting for" in str(exc):
                return "refused"
            self.outcome.status, self.outcome.error = "error", _error_text(exc)
            return "ok"
        try:
            self.workflow.do_engine_steps()
        except Exception as exc:
            self.outcome.status, self.outcome.error = "error", _error_text(exc)
            return "ok"
        self.outcome.status = "completed" if self.workflow.is_completed() else "waiting"
        return "ok"

    def complete(self, action: Complete) -> str:
        tasks = [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.bpmn_id == action.task and _matches(t.data, action.where)]
        if not tasks:
            return "no such ready task"

        def change() -> None:
            tasks[0].data.update(copy.deepcopy(action.data))
            tasks[0].run()

        return self.run(change)


def run_bare(scenario: Scenario, actions: list[Action]) -> Outcome:
    """Play the actions on bare SpiffWorkflow, in memory, with the wall clock pinned."""
    spec, subprocess_specs = parse_bare(scenario)
    outcome = Outcome()
    with time_machine.travel(START, tick=False) as clock:
        workflow = BpmnWorkflow(spec, subprocess_specs)
        workflow.task_tree.data.update(copy.deepcopy(scenario.start))
        bare = _Bare(workflow, outcome)
        outcome.note("start", bare.run(lambda: None), *bare.state())
        for action in actions:
            if outcome.status == "error":
                break
            if isinstance(action, Complete):
                result = bare.complete(action)
            elif isinstance(action, Advance):
                clock.shift(action.delta)
                result = bare.run(workflow.refresh_timers)
            else:
                definition = (MessageEventDefinition(action.name) if isinstance(action, Message)
                              else SignalEventDefinition(action.name))
                result = bare.run(lambda d=definition, a=action: workflow.send_event(BpmnEvent(d, payload=a.payload)))
            outcome.note(describe(action), result, *bare.state())
    return outcome


# --- the engine ---------------------------------------------------------------------------------


@dataclass
class EngineRun:
    """Two runtimes over one database, the users who act, and the operations the script calls."""

    world: World
    second: Runtime
    actors: dict[str, Actor]

    @classmethod
    def on(cls, world: World) -> EngineRun:
        """A second Runtime over the world's database: its own engine and pool, the same clock and registry."""
        second = replace(world.rt, session_factory=make_session_factory(make_engine(world.url)))
        names = {STARTER, *ROLE_USERS.values()}
        return cls(world, second, {name: world.actor(name) for name in names})

    def close(self) -> None:
        """Release the second runtime's connections."""
        self.second.session_factory.kw["bind"].dispose()

    def fresh(self, second: bool = False) -> Runtime:
        """A runtime with nothing in memory: the next step reloads the case and parses the diagram again."""
        return replace(self.second if second else self.world.rt, specs=SpecCache(), workflows=WorkflowCache())

    def open_rows(self, rt: Runtime, case: int) -> list[HumanTaskModel]:
        """The case's open human tasks, oldest first."""
        with rt.uow(read_only=True) as uow:
            return list(uow.session.scalars(select(HumanTaskModel).where(
                HumanTaskModel.instance_id == case, HumanTaskModel.status == "open").order_by(HumanTaskModel.id)))

    def complete(self, rt: Runtime, case: int, action: Complete) -> str:
        """Complete the first matching open task as a user holding its role."""
        for row in self.open_rows(rt, case):
            if row.task_key != action.task:
                continue
            actor = self.actors[ROLE_USERS[row.candidate_role] if row.candidate_role else STARTER]
            if action.where and not _matches(task_service.get_task(rt, row.id, actor).data or {}, action.where):
                continue
            task_service.complete(rt, row.id, actor, copy.deepcopy(action.data))
            return "ok"
        return "no such ready task"

    def step(self, rt: Runtime, case: int, action: Action) -> str:
        """Apply one action to the case; a refusal (conflict, forbidden) is a result, not an error."""
        starter = self.actors[STARTER]
        try:
            if isinstance(action, Complete):
                return self.complete(rt, case, action)
            if isinstance(action, Advance):
                self.world.clock.advance(seconds=action.delta.total_seconds())
                worker.tick(rt)
                return "ok"
            if isinstance(action, Message):
                instances.deliver_message(rt, case, action.name, action.payload, starter)
                return "ok"
            instances.deliver_signal(rt, case, action.name, action.payload, starter)
            return "ok"
        except (ConflictError, ForbiddenError):
            return "refused"


class EngineCase:
    """One case played through the engine. With `restart` every step runs on a runtime with nothing in
    memory, and the second half of the script on the second Runtime; without it every step shares the
    world's runtime and its caches (one cached spec for all cases, as in a long-running worker)."""

    def __init__(self, run: EngineRun, scenario: Scenario, *, restart: bool = True):
        self.run, self.scenario, self.restart = run, scenario, restart
        self.outcome = Outcome()
        self.case = 0

    def runtime(self, second: bool = False) -> Runtime:
        """The runtime the next operation runs on."""
        return self.run.fresh(second) if self.restart else self.run.world.rt

    def start(self) -> None:
        """Start the case as the starter and run it until it waits."""
        summary = instances.start_instance(self.runtime(), self.scenario.process, copy.deepcopy(self.scenario.start),
                                           self.run.actors[STARTER])
        self.case = summary.id
        self._note("start", "ok", self.runtime())

    def play(self, action: Action, second: bool = False) -> None:
        """Apply one action (nothing once the case is in error) and note what it left."""
        if self.outcome.status == "error":
            return
        rt = self.runtime(second)
        try:
            result = self.run.step(rt, self.case, action)
        except Exception as exc:  # an operation that fails instead of recording an incident: a difference too
            result = f"raised {_error_text(exc)}"
        self._note(describe(action), result, rt)

    def finish(self) -> Outcome:
        """The outcome, with the incidents the case holds."""
        rt = self.runtime(second=True)
        opened = [i for i in incidents.list_incidents(rt, OPERATOR) if i.instance_id == self.case]
        self.outcome.error = "; ".join(f"incident at {i.task_key or '<no task>'}: {i.error[:200]}" for i in opened)
        return self.outcome

    def _note(self, action: str, result: str, rt: Runtime) -> None:
        """Record the step as the database holds it: status and open tasks as shown, the rest from the saved state."""
        shown = instances.show_instance(rt, self.case, OPERATOR)
        self.outcome.status = ENGINE_STATUS[shown.status]
        with rt.uow(read_only=True) as uow:
            workflow = execution.load(rt, uow.session, self.case, None, lock=False).workflow
            completed, data = completed_ids(workflow), observed_data(workflow)
        self.outcome.note(action, result, [t["task"] for t in shown.open_tasks], completed, data)


def run_engine(world: World, scenario: Scenario, actions: list[Action]) -> Outcome:
    """Play the actions through the engine, every step on a freshly started runtime, the second half on a
    second Runtime; the process files must be deployed already."""
    run = EngineRun.on(world)
    world.clock.now = START
    try:
        case = EngineCase(run, scenario)
        case.start()
        for index, action in enumerate(actions):
            case.play(action, second=index >= len(actions) // 2)
        return case.finish()
    finally:
        run.close()


def deploy(world: World, scenario: Scenario) -> None:
    """Deploy the scenario's files (validation included); deploying the same files again is a no-op."""
    deployments.deploy(world.rt, scenario.contents(), OPERATOR)
