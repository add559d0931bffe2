"""`insureflow tasks / claim / release / assign / complete`: human tasks at the command line, through the same
service functions as the task page and the API (services/human_tasks.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from services import human_tasks

from .cli_context import Context, as_option, handled, parse_data, pass_ctx
from .output import instance_lines, short_time, table


def register(cli: click.Group) -> None:
    """Attach the task commands to the main group."""
    for command in (tasks_cmd, _ownership("claim", human_tasks.claim_task, "Claim a task from your role's pool."),
                    _ownership("release", human_tasks.release_task, "Give a claimed task back to its role's pool."),
                    assign, complete):
        cli.add_command(command)


@click.command("tasks")
@click.option("--scope", type=click.Choice(["all", "mine", "role"]), default="all", show_default=True)
@as_option
@pass_ctx
@handled
def tasks_cmd(ctx: Context, scope: str, as_user: str) -> None:
    """The user's inbox: tasks assigned to them or open to their roles."""
    rows, total, _capped = human_tasks.open_tasks(ctx.app.runtime, ctx.actor(as_user), scope=scope,
                                                  process_key=None, limit=200, offset=0)
    ctx.out.result({"total": total, "tasks": rows}, table(
        [[t.id, t.instance_id, t.business_key, t.name, t.role, t.assignee, short_time(t.due_at), t.priority]
         for t in rows], ["ID", "INSTANCE", "KEY", "TASK", "ROLE", "ASSIGNEE", "DUE", "PRIO"]))


def _ownership(name: str, action: Callable[..., Any], help_text: str) -> click.Command:
    """`claim TASK` / `release TASK`: one command body, two changes of who holds the task."""

    @click.command(name, help=help_text)
    @click.argument("task", type=int)
    @as_option
    @pass_ctx
    @handled
    def command(ctx: Context, task: int, as_user: str) -> None:
        view = action(ctx.app.runtime, ctx.actor(as_user), task)
        ctx.out.result(view, f"task {view.id} ({view.name}) {'held by ' + view.assignee if view.assignee else 'open'}")

    return command


@click.command()
@click.argument("task", type=int)
@click.option("--to", "to_user", required=True, metavar="USER", help="The colleague who gets the task.")
@as_option
@pass_ctx
@handled
def assign(ctx: Context, task: int, to_user: str, as_user: str) -> None:
    """Hand a task to a named colleague (managers)."""
    view = human_tasks.assign_task(ctx.app.runtime, ctx.actor(as_user), task, to_user)
    ctx.out.result(view, f"task {view.id} ({view.name}) assigned to {view.assignee}")


@click.command()
@click.argument("task", type=int)
@click.option("--data", help="The form data as a JSON object.")
@as_option
@pass_ctx
@handled
def complete(ctx: Context, task: int, data: str | None, as_user: str) -> None:
    """Submit a task's form data."""
    summary = human_tasks.complete_task(ctx.app.runtime, ctx.actor(as_user), task, parse_data(data))
    ctx.out.result(summary, [f"task {task} completed"] + instance_lines(summary))
