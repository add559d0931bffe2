"""Dry runs: try a draft (or a deployed version) on a scenario before anyone depends on it.

For callers (API, CLI, the studio):

    dry_run(rt, actor, scenario, *, files=None, deployment_id=None, services=None) -> DryRunResult
        files: a draft file set (name → bytes, as deploy takes it), validated first — invalid raises
        DeploymentInvalidError with every problem; deployment_id: a deployed set instead; neither: the
        newest deployed version of the scenario's process. services: what handlers get as
        `ctx.services` — pass simulated ones (a simulated payment gateway); None gives them none.
    (scenarios saved with a process: engine.authoring.dry_run_scenarios)

A scenario is JSON: {"process": "claims", "data": {initial data}, "steps": [{"task": "register_claim",
"data": {form data}}, {"timer": "documents_deadline"}, {"message": "cancellation", "data": {…}}, …],
"outcomes": {"pay_claim": [{"error": "payment_failed", "data": {"reason": "declined"}}, {"result": {…}}]}}.
Steps run in order; "outcomes" answer a handler's next calls without running it (the rest run for real).

Everything happens in one transaction that is always rolled back: no deployment, instance, event or
record is ever kept. The result: the path taken, each human task met and the answer used (or why the
answer was refused), the data at the end, and where and why the run stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.errors import DeploymentInvalidError, InvalidInputError
from engine.workflow import Actor, ParsedDeployment, Runtime, require
from engine.workflow.clock import using_clock
from engine.workflow.execution import advance, current_data
from engine.workflow.forms import check_submission
from engine.workflow.jsonutil import canonical_dumps, to_plain
from engine.workflow.models import DeploymentModel, ProcessDefinitionModel
from engine.workflow.registry import BpmnError
from engine.workflow.roles import lane_role
from engine.workflow.sandbox import SandboxError
from engine.workflow.script_engine import EffectDeferred, RunContext, SandboxedScriptEngine
from engine.workflow.validation import validate_files

from .dry_run_scenarios import ANALYSTS, STEP_KINDS, check_scenario, scenario_error


@dataclass
class DryRunResult:
    """What a dry run did: `status` is completed, waiting (the scenario ran out), invalid_answer,
    scenario_mismatch (a step the process was not ready for) or failed (a handler or script error)."""

    process: str
    status: str = "waiting"
    reason: str = ""
    path: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    handlers: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    waiting: list[dict[str, Any]] = field(default_factory=list)


class _DryRunEngine(SandboxedScriptEngine):
    """Handlers answered from the scenario's outcomes first; the others run inside the rolled-back transaction."""

    def __init__(self, rt: Runtime, run: RunContext, outcomes: Mapping[str, list[dict[str, Any]]], log: list):
        super().__init__(rt.registry, rt.limits, run)
        self.outcomes = {k: list(v) for k, v in outcomes.items()}
        self.log = log

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
        planned = self.outcomes.get(operation_name)
        entry = {"task": task.task_spec.bpmn_id, "operator": operation_name, "simulated": bool(planned)}
        self.log.append(entry)
        if planned:
            outcome = planned.pop(0)
            entry["result"] = outcome
            if "error" in outcome:
                raise BpmnError(outcome["error"], outcome.get("message", ""), outcome.get("data"))
            return canonical_dumps(outcome["result"])
        calls = self.run.calls if self.run else []
        before = len(calls)
        try:
            try:
                return super().call_service(task, operation_name, operation_params)
            except EffectDeferred as deferred:
                # An external call (a payment): made at once against the simulated services the dry run was
                # given, then settled as the engine would; with none, the step waits for it.
                kind = self.registry.effect_kind(deferred.effect.kind)
                if self.run is None or self.run.services is None or kind is None:
                    raise
                key, services = deferred.effect.key, self.run.services
                self.run.outcomes[str(task.id)] = kind.call(services, key, kind.describe(
                    self.run.session, services, key))
                return super().call_service(task, operation_name, operation_params)
        finally:
            entry["result"] = calls[-1].result if len(calls) > before else None


def _parsed(rt: Runtime, session: Any, scenario: dict[str, Any], files: Mapping[str, bytes] | None,
            deployment_id: int | None) -> ParsedDeployment:
    if files is not None and deployment_id is not None:
        raise InvalidInputError("give draft files or a deployment, not both")
    if files is not None:
        parsed, problems = validate_files(files, rt.registry, rt.settings)
        if problems or parsed is None:
            raise DeploymentInvalidError(problems=problems)
        return parsed
    if deployment_id is None:
        key = scenario.get("process")
        deployment_id = session.scalar(select(ProcessDefinitionModel.deployment_id).where(
            ProcessDefinitionModel.key == key).order_by(ProcessDefinitionModel.version.desc()).limit(1))
        if deployment_id is None:
            raise InvalidInputError(f"no deployed process {key!r} to run", {"fields": {"process": "not deployed"}})
    elif session.get(DeploymentModel, deployment_id) is None:
        raise InvalidInputError(f"there is no deployment {deployment_id}",
                                {"fields": {"deployment": f"no deployment {deployment_id}"}})
    return rt.specs.get(session, deployment_id)


def _process_key(parsed: ParsedDeployment, scenario: dict[str, Any]) -> str:
    key = scenario.get("process")
    if key is None and len(parsed.processes) == 1:
        return next(iter(parsed.processes))
    if key not in parsed.processes:
        known = ", ".join(sorted(parsed.processes))
        raise scenario_error("process", f"name the process to run (one of: {known})" if key is None
                       else f"{key!r} is not in the file set (it has: {known})")
    return key


def _element(task: Any) -> dict[str, Any]:
    spec = task.task_spec
    return {"element": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id, "type": type(spec).__name__,
            "process": task.workflow.spec.name}


def _all_tasks(workflow: BpmnWorkflow, state: TaskState) -> list[Any]:
    return [t for wf in (workflow, *workflow.subprocesses.values())
            for t in wf.get_tasks(state=state, skip_subprocesses=True) if t.task_spec.bpmn_id]


class _Run:
    """One dry run's moving parts: the workflow, its clock, what it met."""

    def __init__(self, result: DryRunResult, workflow: BpmnWorkflow, parsed: ParsedDeployment, now: datetime):
        self.result, self.workflow, self.parsed, self.now = result, workflow, parsed, now
        self.seen: set[Any] = set()
        self.met: dict[Any, dict[str, Any]] = {}

    def clock(self) -> datetime:
        return self.now

    def advance(self) -> bool:
        """Run engine steps; False (and the result says why) when a step failed."""
        try:
            with using_clock(self.clock):
                advance(self.workflow)
        except (Exception, SandboxError) as exc:
            failed = _all_tasks(self.workflow, TaskState.ERROR)
            where = f" at '{failed[0].task_spec.bpmn_name or failed[0].task_spec.bpmn_id}'" if failed else ""
            self.result.status = "failed"
            self.result.reason = f"the process failed{where}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            return False
        finally:
            self._note()
        return True

    def _note(self) -> None:
        done = [t for t in _all_tasks(self.workflow, TaskState.COMPLETED) if t.id not in self.seen]
        for task in sorted(done, key=lambda t: t.last_state_change):
            self.seen.add(task.id)
            self.result.path.append(_element(task))
        for task in self.ready():
            if task.id not in self.met:
                spec = task.task_spec
                props = (spec.extensions or {}).get("properties", {})
                self.met[task.id] = {"task": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id,
                                     "role": lane_role(spec.lane), "form": props.get("formJsonSchemaFilename"),
                                     "answer": None, "errors": None}
                self.result.tasks.append(self.met[task.id])

    def ready(self) -> list[Any]:
        return [t for t in _all_tasks(self.workflow, TaskState.READY) if t.task_spec.manual]

    def waiting_for(self) -> list[dict[str, Any]]:
        found = [{**_element(t), "kind": "task"} for t in self.ready()]
        return found + _events(self.workflow)

    def mismatch(self, message: str) -> None:
        self.result.status, self.result.reason = "scenario_mismatch", message

    def answer(self, step: dict[str, Any]) -> bool:
        task = next((t for t in self.ready() if t.task_spec.bpmn_id == step["task"]), None)
        if task is None:
            waiting = ", ".join(f"'{w['element']}'" for w in self.waiting_for()) or "nothing"
            self.mismatch(f"the scenario answers '{step['task']}', but the process waits for {waiting}")
            return False
        data = step.get("data") or {}
        entry = self.met[task.id]
        entry["answer"] = to_plain(data)
        try:
            check_submission(data, self.parsed.form(entry["form"]) if entry["form"] else None)
        except InvalidInputError as exc:
            entry["errors"] = exc.details.get("fields") or {"": exc.message}
            self.result.status = "invalid_answer"
            self.result.reason = f"the answer for '{entry['name']}' is invalid: {exc.message}"
            return False
        task.data.update(data)
        with using_clock(self.clock):
            task.run()
        return self.advance()

    def fire(self, step: dict[str, Any]) -> bool:
        timer = next((w for w in _events(self.workflow) if w["kind"] == "timer" and w["element"] == step["timer"]
                      and w.get("due")), None)
        if timer is None:
            self.mismatch(f"no timer '{step['timer']}' is waiting at this point")
            return False
        self.now = max(self.now, datetime.fromisoformat(timer["due"]) + timedelta(seconds=1))
        with using_clock(self.clock):
            self.workflow.refresh_timers()
        return self.advance()

    def deliver(self, step: dict[str, Any]) -> bool:
        try:
            with using_clock(self.clock):
                self.workflow.send_event(BpmnEvent(MessageEventDefinition(step["message"]), payload=step.get("data")))
        except WorkflowException:
            self.mismatch(f"nothing waits for the message '{step['message']}' at this point")
            return False
        return self.advance()


def _events(workflow: BpmnWorkflow) -> list[dict[str, Any]]:
    """Timers and messages the workflow waits for, each under its own element (an event-based gateway's
    events under theirs)."""
    found = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        items = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        # An event-based gateway holds its events' definitions, in the order of its outgoing events.
        outputs = task.task_spec.outputs if len(items) > 1 and len(task.task_spec.outputs) == len(items) else []
        for number, item in enumerate(items):
            owner = outputs[number] if outputs else None
            element = {**_element(task), **({"element": owner.bpmn_id, "name": owner.bpmn_name or owner.bpmn_id}
                                            if owner is not None and owner.bpmn_id else {})}
            if isinstance(item, TimerEventDefinition):
                value = item.details(task).value
                due = TimerEventDefinition.get_datetime(value).isoformat() if isinstance(value, str) else None
                found.append({**element, "kind": "timer", "due": due})
            elif isinstance(item, BaseMessageDefinition):
                found.append({**element, "kind": "message", "message": item.name})
    return found


def dry_run(rt: Runtime, actor: Actor, scenario: Any, *, files: Mapping[str, bytes] | None = None,
            deployment_id: int | None = None, services: Any = None) -> DryRunResult:
    """Run a draft (or a deployed version) on a scenario inside a transaction that is always rolled back."""
    require(actor, ANALYSTS, "dry-run processes")
    scenario = check_scenario(scenario)
    rt = rt.frozen()
    with rt.uow() as uow:
        try:
            parsed = _parsed(rt, uow.session, scenario, files, deployment_id)
            key = _process_key(parsed, scenario)
            process = parsed.processes[key]
            result = DryRunResult(key)
            workflow = BpmnWorkflow(process.spec, process.subprocess_specs)
            run = _Run(result, workflow, parsed, rt.clock())
            context = RunContext(uow.session, run.clock, 0, None, actor.username, services)
            workflow.script_engine = _DryRunEngine(rt, context, scenario.get("outcomes", {}), result.handlers)
            workflow.task_tree.data.update(scenario.get("data") or {})
            going = run.advance()
            steps = {"task": run.answer, "timer": run.fire, "message": run.deliver}
            for number, step in enumerate(scenario.get("steps", [])):
                if not going or workflow.is_completed():
                    if going:
                        run.mismatch(f"the process ended before step {number + 1}")
                        going = False
                    break
                kind = next(k for k in STEP_KINDS if k in step)
                going = steps[kind](step)
            if workflow.is_completed() and going:
                result.status, result.reason = "completed", "the process reached its end"
            elif going:
                result.reason = "the scenario ran out of steps while the process waits"
            result.waiting = [] if workflow.is_completed() else run.waiting_for()
            result.data = to_plain({k: v for k, v in current_data(workflow).items() if not callable(v)})
            return result
        finally:
            uow.rollback()  # a dry run never keeps anything
