"""The human-task rows of a case, kept in step with its workflow when a step is persisted."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import isodate
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection

from . import store
from .roles import lane_role

if TYPE_CHECKING:
    from .execution import Loaded

STARTER = "starter"  # assignTo: the task goes to whoever started the case


def sync_human_tasks(conn: Connection, loaded: Loaded, now: datetime) -> list[Any]:
    """A row for each newly ready user task, the rows of tasks no longer ready cancelled; the ready tasks."""
    instance = loaded.instance
    ready = loaded.workflow.get_tasks(state=TaskState.READY, manual=True)
    known = [] if loaded.fresh else loaded.open_rows
    open_rows = {row.spiff_task_id: row for row in (store.open_tasks(conn, instance.id) if known is None else known)}
    still_open = []
    for task in ready:
        task_id = str(task.id)
        row = open_rows.pop(task_id, None)
        if row is None:
            spec = task.task_spec
            props = (spec.extensions or {}).get("properties", {})
            role = lane_role(spec.lane)
            due = props.get("dueIn")
            # assignTo names a data variable holding the user who must do this task (e.g. the
            # surveyor a scheduling handler chose), or `starter`: whoever started the case (the agent's
            # own sale stays theirs: need to know). The lane's role is still required of them.
            assign_to = props.get("assignTo")
            named = (instance.started_by if assign_to == STARTER
                     else task.data.get(assign_to) if assign_to else None)
            row = store.insert_task(
                conn, instance_id=instance.id, spiff_task_id=task_id, process_key=instance.process_key,
                business_key=instance.business_key, task_key=spec.bpmn_id, task_name=spec.bpmn_name or spec.bpmn_id,
                lane=spec.lane, candidate_role=role, status="open",
                assignee=named if isinstance(named, str) and named else (None if role else instance.started_by),
                form=props.get("formJsonSchemaFilename"), separate_from=props.get("separateFrom"),
                priority=int(props.get("priority", 50)), created_at=now,
                due_at=now + isodate.parse_duration(due) if due else None,
            )
        still_open.append(row)
    for row in open_rows.values():  # no longer ready: withdrawn by a boundary event, a gateway…
        store.update_task(conn, row, status="cancelled", completed_at=now)
    loaded.open_tasks = still_open
    return ready
