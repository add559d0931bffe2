"""SpiffWorkflow's script engine, sandboxed, with service tasks dispatched to the handler registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from sqlalchemy.orm import Session

from .clock import Clock
from .jsonutil import canonical_dumps, to_plain
from .registry import BpmnError, HandlerContext, HandlerRegistry
from .sandbox import Limits, RestrictedEnvironment


class HandlerMissingError(RuntimeError):
    """A diagram reached a service task whose operator is not registered (deployed before a removal)."""


@dataclass
class HandlerCall:
    """One handler execution, as history records it."""

    task_id: str
    task_key: str
    operator: str
    params: dict[str, Any]
    result: Any


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


class SandboxedScriptEngine(PythonScriptEngine):
    """Scripts and expressions under RestrictedPython; service tasks call registered handlers."""

    def __init__(self, registry: HandlerRegistry, limits: Limits, run: RunContext | None = None):
        super().__init__(environment=RestrictedEnvironment(limits=limits))
        self.registry = registry
        self.run = run

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
        """Run the handler for `operation_name` in a savepoint and return its result as JSON text."""
        if self.run is None:
            raise RuntimeError("service tasks run only inside an engine operation")
        handler = self.registry.get(operation_name)
        if handler is None:
            raise HandlerMissingError(f"no handler is registered for operator {operation_name!r}")
        params = {name: spec["value"] for name, spec in operation_params.items()}
        run = self.run
        ctx = HandlerContext(
            session=run.session,
            clock=run.clock,
            instance_id=run.instance_id,
            business_key=run.business_key,
            task_key=task.task_spec.bpmn_id,
            idempotency_key=f"{run.instance_id}:{task.id}",
            actor=run.actor,
            services=run.services,
        )
        # A savepoint: when the handler fails, what it wrote is undone, and the rest of the
        # operation (earlier steps, the incident record) still commits. A BpmnError is an outcome,
        # not a failure: its writes stay, and it is recorded like a result so replay can repeat it.
        savepoint = run.session.begin_nested()
        try:
            result = handler.func(ctx, **params)
        except BpmnError as exc:
            savepoint.commit()
            run.calls.append(HandlerCall(str(task.id), task.task_spec.bpmn_id, operation_name, to_plain(params),
                                         {"bpmn_error": exc.code, "message": exc.message,
                                          "data": to_plain(exc.data)}))
            raise
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        text = canonical_dumps(result)
        run.calls.append(HandlerCall(str(task.id), task.task_spec.bpmn_id, operation_name, to_plain(params),
                                     to_plain(result)))
        return text
