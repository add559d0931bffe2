"""Which elements of its diagram a case has passed and which it waits at, read off the workflow — one answer
for the case page and for each step of the audit view (every executed script, rule table, gateway and event
included, not only the steps that wrote history)."""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def elements_in(workflow: BpmnWorkflow, states: TaskState) -> list[tuple[float, str]]:
    """(when its state last changed, BPMN id) of every task of the workflow and its subprocesses in `states`."""
    found = []
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id and task.state & states:
                found.append((task.last_state_change, bpmn_id))
    return found


def passed(workflow: BpmnWorkflow) -> set[str]:
    """The BPMN ids of the elements the case has completed."""
    return {bpmn_id for _t, bpmn_id in elements_in(workflow, TaskState.COMPLETED)}


def waiting(workflow: BpmnWorkflow) -> set[str]:
    """The BPMN ids of the elements the case is at now."""
    return {bpmn_id for _t, bpmn_id in elements_in(workflow, ACTIVE)}
