"""Who may claim, release, assign and complete a human task — checked by the engine itself."""

from __future__ import annotations

from collections.abc import Collection

from engine.errors import ConflictError, ForbiddenError

from .actors import Actor
from .models import HumanTaskModel
from .settings import EngineSettings


def _check_open(task: HumanTaskModel) -> None:
    if task.status == "completed":
        raise ConflictError(f"task {task.id} ({task.task_name}) was already completed by {task.completed_by}")
    if task.status != "open":
        raise ConflictError(f"task {task.id} ({task.task_name}) is {task.status}")


def _check_eligible(task: HumanTaskModel, actor: Actor, performers: Collection[str], who: str = "") -> None:
    name = who or actor.username
    if actor.is_operator:
        raise ForbiddenError("human tasks are done by a named user (use --as USER)")
    if task.candidate_role is None:
        if task.assignee != name:
            raise ForbiddenError(f"task {task.id} belongs to {task.assignee}, who started the case")
    elif task.candidate_role not in actor.roles:
        raise ForbiddenError(f"{name} may not work on task {task.id} ({task.task_name}): "
                             f"needs role {task.candidate_role}")
    if task.separate_from and name in performers:
        raise ForbiddenError(f"{name} performed {' or '.join(task.separate_from.split())} in this case and may "
                             f"not also do "
                             f"{task.task_key} (four-eyes rule)")


def check_claim(task: HumanTaskModel, actor: Actor, performers: Collection[str]) -> None:
    """The actor may take this open, unassigned task."""
    _check_open(task)
    _check_eligible(task, actor, performers)
    if task.assignee and task.assignee != actor.username:
        raise ConflictError(f"task {task.id} is already claimed by {task.assignee}")


def check_release(task: HumanTaskModel, actor: Actor, settings: EngineSettings) -> None:
    """The actor may give this task back to its role's pool."""
    _check_open(task)
    if task.candidate_role is None:
        raise ForbiddenError(f"task {task.id} belongs to the person who started the case and cannot be released")
    if task.assignee is None:
        raise ConflictError(f"task {task.id} is not claimed")
    if task.assignee != actor.username and not can_assign(task, actor, settings):
        raise ForbiddenError(f"{actor.username} may not release a task held by {task.assignee}")


def managed_roles(settings: EngineSettings, roles: Collection[str]) -> frozenset[str]:
    """The candidate roles whose tasks someone holding `roles` manages (may hand to a colleague)."""
    return frozenset().union(*(settings.assign_rights.get(role, frozenset()) for role in roles))


def can_assign(task: HumanTaskModel, actor: Actor, settings: EngineSettings) -> bool:
    """Whether the actor manages the task's role."""
    return task.candidate_role in managed_roles(settings, actor.roles)


def check_assign(
    task: HumanTaskModel, actor: Actor, target: Actor, settings: EngineSettings, performers: Collection[str]
) -> None:
    """The actor may hand this task to `target`, who must be able to do it."""
    _check_open(task)
    if actor.is_operator or task.candidate_role is None or not can_assign(task, actor, settings):
        raise ForbiddenError(f"{actor.username} may not assign tasks of role {task.candidate_role}")
    _check_eligible(task, target, performers, who=target.username)


def check_complete(task: HumanTaskModel, actor: Actor, performers: Collection[str]) -> None:
    """The actor may submit this task."""
    _check_open(task)
    _check_eligible(task, actor, performers)
    if task.assignee and task.assignee != actor.username:
        raise ForbiddenError(f"task {task.id} is claimed by {task.assignee}")
