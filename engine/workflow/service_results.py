"""Service tasks take their handler's answer as exact JSON: an amount a handler returns as Decimal reaches the
case data as that Decimal, never as a float (SpiffWorkflow's own service task reads the answer with
`json.loads`)."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask

from .jsonutil import loads


class ServiceTask(SpiffServiceTask):
    """SpiffWorkflow's service task, reading the handler's answer with decimals kept."""

    def _execute(self, task: Any) -> bool:
        result = task.workflow.script_engine.call_service(
            task, operation_name=self.operation_name, operation_params=self.evaluate_params(task))
        task.data[self.result_variable] = loads(result)
        return True


def with_exact_service_tasks(config: dict[Any, Any]) -> dict[Any, Any]:
    """A serializer configuration that also knows this service task (converted like SpiffWorkflow's)."""
    return {**config, ServiceTask: config[SpiffServiceTask]}
