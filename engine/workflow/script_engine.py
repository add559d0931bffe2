"""SpiffWorkflow's script engine, sandboxed, with service tasks dispatched to the handler registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from sqlalchemy.orm import Session

from engine.workflow import sealed_rows
from engine.workflow.audit_keys import AuditKeys
from engine.workflow.clock import Clock
from engine.workflow.database import READS_ONLY_CALL
from engine.workflow.decisions import DecisionRecord
from engine.workflow.jsonutil import canonical_dumps, to_plain
from engine.workflow.registry import BpmnError, Effect, HandlerContext, HandlerRegistry
from engine.workflow.sandbox import Limits, RestrictedEnvironment


class HandlerMissingError(RuntimeError):
    """A diagram reached a service task whose operator is not registered (deployed before a removal)."""


class EffectDeferred(Exception):  # not a failure: the step waits for its external call
    """Raised out of a service task whose handler asked for an external call (an `Effect`): the engine
    leaves the task started, and the call is made once the intent is committed."""

    def __init__(self, effect: Effect, task_id: Any):
        super().__init__(f"{effect.kind} {effect.key} waits for its call")
        self.effect = effect
        self.task_id = task_id


@dataclass
class HandlerCall:
    """One handler execution, as history records it."""

    task_id: str
    task_key: str
    operator: str
    params: dict[str, Any]
    result: Any
    # "executed" (an ordinary call), "intended" (it asked for an external call: `result` names it),
    # "settled" (it recorded the outcome of that call, which `outcome` holds), or "decision" (a business rule
    # task's evaluation: `result` is the `decision_evaluated` payload)
    phase: str = "executed"
    outcome: dict[str, Any] | None = None
    # The sealed rows (money) the call wrote or changed: engine/workflow/sealed_rows.py, recorded in its event.
    sealed: dict[str, str] = field(default_factory=dict)


@dataclass
class RunContext:
    """Who and what one engine operation runs for; collects the handler calls it made."""

    session: Session
    clock: Clock
    instance_id: int
    business_key: str | None
    actor: str | None
    services: Any = None
    calls: list[HandlerCall] = field(default_factory=list)
    # Spiff task id → the outcome of the external call that task asked for, to settle in this operation
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    audit_keys: AuditKeys | None = None


class SandboxedScriptEngine(PythonScriptEngine):
    """Scripts and expressions under RestrictedPython; service tasks call registered handlers."""

    def __init__(self, registry: HandlerRegistry, limits: Limits, run: RunContext | None = None):
        super().__init__(environment=RestrictedEnvironment(limits=limits))
        self.registry = registry
        self.run = run

    def note_decision(self, record: DecisionRecord) -> None:
        """A business rule task decided: keep it for the history (`decision_evaluated`)."""
        if self.run is not None:
            self.run.calls.append(HandlerCall("", record.task_key, record.decision, {}, record.payload(), "decision"))

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
        """Run the handler for `operation_name` in a savepoint and return its result as JSON text."""
        if self.run is None:
            raise RuntimeError("service tasks run only inside an engine operation")
        handler = self.registry.get(operation_name)
        if handler is None:
            raise HandlerMissingError(f"no handler is registered for operator {operation_name!r}")
        params = {name: spec["value"] for name, spec in operation_params.items()}
        run = self.run
        outcome = run.outcomes.pop(str(task.id), None)
        phase = "executed" if outcome is None else "settled"
        ctx = HandlerContext(
            session=run.session,
            clock=run.clock,
            instance_id=run.instance_id,
            business_key=run.business_key,
            task_key=task.task_spec.bpmn_id,
            idempotency_key=f"{run.instance_id}:{task.id}",
            actor=run.actor,
            services=run.services,
            outcome=outcome,
        )

        def record(result: Any) -> None:
            run.calls.append(HandlerCall(str(task.id), task.task_spec.bpmn_id, operation_name, to_plain(params),
                                         result, phase, outcome, sealed_rows.take(run.session, run.audit_keys)))

        # A savepoint: when the handler fails, what it wrote is undone, and the rest of the
        # operation (earlier steps, the incident record) still commits. A BpmnError is an outcome,
        # not a failure: its writes stay, and it is recorded like a result so replay can repeat it.
        # A handler that only reads has nothing to undo: no savepoint (two statements a call saved), and a write
        # it attempts is refused before it reaches the database.
        savepoint = _NoSavepoint(run.session, operation_name) if handler.reads_only else run.session.begin_nested()
        try:
            result = handler.func(ctx, **params)
        except BpmnError as exc:
            savepoint.commit()
            record({"bpmn_error": exc.code, "message": exc.message, "data": to_plain(exc.data)})
            raise
        except BaseException as exc:
            savepoint.rollback()
            sealed_rows.forget(run.session)
            if outcome is not None:  # the outcome arrived and could not be recorded: replay must see the attempt
                record({"failed": f"{type(exc).__name__}: {exc}"[:2000]})
            raise
        savepoint.commit()
        if isinstance(result, Effect):
            if outcome is not None:
                raise RuntimeError(f"{operation_name} asked for another external call while settling {outcome}")
            run.calls.append(HandlerCall(str(task.id), task.task_spec.bpmn_id, operation_name, to_plain(params),
                                         {"effect": result.kind, "key": result.key}, "intended",
                                         sealed=sealed_rows.take(run.session, run.audit_keys)))
            raise EffectDeferred(result, task.id)
        text = canonical_dumps(result)
        record(to_plain(result))
        return text


class _NoSavepoint:
    """Stands in for a reads-only handler's savepoint: marks the connection while the handler runs."""

    def __init__(self, session: Session, operation_name: str):
        self.conn = session.connection()
        self.conn.info[READS_ONLY_CALL] = operation_name

    def commit(self) -> None:
        self.conn.info.pop(READS_ONLY_CALL, None)

    rollback = commit
