"""Administration commands: users, tokens, serving the web app, demo data."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from engine.audit import replay_all, replay_instance
from engine.identity import user_admin
from engine.workflow import OPERATOR
from services.users import (
    all_users,
    change_user,
    create_user,
    new_token,
    revoke_tokens,
    user_log,
    user_tokens,
)

from . import instance_folder
from .cli_context import Context, handled, pass_ctx
from .output import EXIT_INVALID, fail, short_time, table
from .progress_bar import progress_bar


def register(cli: click.Group) -> None:
    """Attach the administration commands to the main group."""
    cli.add_command(users)
    cli.add_command(tokens)
    cli.add_command(serve)
    cli.add_command(demo)
    cli.add_command(replay)


@click.group()
def users() -> None:
    """Manage users and their roles."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role (repeat for several).")
@click.option("--password", help="Password for signing in to the web UI.")
@click.option("--display-name", default="", help="Full name shown in the UI.")
@pass_ctx
@handled
def users_add(ctx: Context, name: str, roles: tuple[str, ...], password: str | None, display_name: str) -> None:
    """Add a user with one or more roles (a password must meet the policy: at least 10 characters, not the name)."""
    created = create_user(ctx.app.runtime, OPERATOR, name, list(roles), password, display_name)
    result = {"username": name, "roles": list(created)}
    ctx.out.result(result, f"user {name} added with roles {', '.join(result['roles'])}")


@users.command("list")
@pass_ctx
@handled
def users_list(ctx: Context) -> None:
    """List users and their roles."""
    rows = [{"username": u.username, "display_name": u.display_name, "active": u.active, "roles": list(u.roles)}
            for u in all_users(ctx.app.runtime)]
    ctx.out.result(rows, table([[r["username"], r["display_name"], ", ".join(r["roles"]),
                                 "yes" if r["active"] else "no"] for r in rows],
                               ["USER", "NAME", "ROLES", "ACTIVE"]))


def _change_user(ctx: Context, name: str, change: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Run one administration change as the operator; the result says what changed."""
    return {"username": name, "changed": change_user(ctx.app.runtime, OPERATOR, name, change, **kwargs)}


@users.command("roles")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role (repeat for several); replaces the roles.")
@pass_ctx
@handled
def users_roles(ctx: Context, name: str, roles: tuple[str, ...]) -> None:
    """Give user NAME exactly these roles."""
    result = _change_user(ctx, name, user_admin.set_roles, roles=list(roles))
    diff = result["changed"].get("roles")
    text = (f"user {name}: roles added: {', '.join(diff['added']) or '-'}; removed: {', '.join(diff['removed']) or '-'}"
            if diff else f"user {name} already has exactly these roles")
    ctx.out.result(result, text)


def _activation(active: bool, help_text: str) -> click.Command:
    """`users activate NAME` / `users deactivate NAME`: one command body, two directions."""
    word, already = ("activated", "active") if active else ("deactivated", "inactive")

    @pass_ctx
    @handled
    def command(ctx: Context, name: str) -> None:
        result = _change_user(ctx, name, user_admin.set_active, active=active)
        ctx.out.result(result, f"user {name} {word}" if result["changed"] else f"user {name} was already {already}")

    command.__doc__ = help_text
    return click.argument("name")(command)


users.command("deactivate")(_activation(
    False, "Deactivate user NAME: no sign-in, no API token works (the last active admin stays)."))
users.command("activate")(_activation(True, "Activate user NAME again."))


@users.command("password")
@click.argument("name")
@click.option("--password", help="The new password (prompted for twice when not given).")
@pass_ctx
@handled
def users_password(ctx: Context, name: str, password: str | None) -> None:
    """Set a new password for user NAME (at least 10 characters, not the user name)."""
    if password is None:  # prompts on standard error, so that --json output stays clean
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    result = _change_user(ctx, name, user_admin.set_password, password=password)
    ctx.out.result(result, f"new password of {name} set")


@users.command("unmask")
@click.argument("name")
@click.option("--grant/--withdraw", required=True, help="Grant or withdraw the permission.")
@pass_ctx
@handled
def users_unmask(ctx: Context, name: str, grant: bool) -> None:
    """Grant or withdraw user NAME's permission to reveal masked personal data."""
    result = _change_user(ctx, name, user_admin.set_may_unmask, allowed=grant)
    state = "may now" if grant else "may no longer"
    ctx.out.result(result, f"user {name} {state} reveal masked personal data"
                   + ("" if result["changed"] else " (unchanged)"))


@users.command("log")
@click.argument("name")
@pass_ctx
@handled
def users_log(ctx: Context, name: str) -> None:
    """What administrators changed on user NAME, newest first."""
    entries = user_log(ctx.app.runtime, OPERATOR, name)
    ctx.out.result(entries, table([[short_time(e.occurred_at), e.actor, json.dumps(e.change, ensure_ascii=False)]
                                   for e in entries], ["WHEN", "BY", "CHANGE"]))


@click.group()
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("name")
@pass_ctx
@handled
def tokens_create(ctx: Context, name: str) -> None:
    """Create a bearer token for user NAME; it is shown once and stored hashed."""
    token = new_token(ctx.app.runtime, name)
    ctx.out.result({"user": name, "token": token}, token)


@tokens.command("list")
@click.argument("name")
@pass_ctx
@handled
def tokens_list(ctx: Context, name: str) -> None:
    """User NAME's API tokens: created and revoked times (never the token)."""
    found = user_tokens(ctx.app.runtime, OPERATOR, name)
    ctx.out.result(found, table([[t.id, short_time(t.created_at), short_time(t.revoked_at) or "-"] for t in found],
                                ["ID", "CREATED", "REVOKED"]))


@tokens.command("revoke")
@click.argument("name")
@click.option("--id", "token_id", type=int, help="Revoke only this token (see `tokens list`); default: all of them.")
@pass_ctx
@handled
def tokens_revoke(ctx: Context, name: str, token_id: int | None) -> None:
    """Revoke user NAME's API tokens: every one that still works, or the one given with --id."""
    revoked = change_user(ctx.app.runtime, OPERATOR, name, revoke_tokens, token_id=token_id)
    ctx.out.result({"username": name, "revoked": revoked},
                   f"{len(revoked)} API token(s) of {name} revoked" + (f": {', '.join(map(str, revoked))}"
                                                                       if revoked else ""))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not start the timer worker beside the web server.")
@pass_ctx
@handled
def serve(ctx: Context, host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve the web app with gunicorn and run the timer worker beside it (Ctrl-C stops both)."""
    from .serving import serve as run_server

    instance_folder.load(ctx.folder)  # fail fast on a missing or broken instance folder
    click.echo(f"InsureFlow on http://{host}:{port}/ (instance {ctx.folder}, {workers} web workers"
               + ("" if no_worker else " + timer worker") + ")", err=True)
    run_server(ctx.folder, host, port, workers, with_worker=not no_worker)


@click.command()
@pass_ctx
@handled
def demo(ctx: Context) -> None:
    """Tell the story: a sale to an issued policy and a claim to payout, step by step, in this instance."""
    from services.demo import load_demo
    from services.demo.people import where_to_look
    from services.demo.story import tell_story

    with progress_bar(ctx.out.as_json, "demo") as progress:
        load_demo(ctx.app.runtime, progress)
    lines: list[str] = []
    say = lines.append if ctx.out.as_json else click.echo
    result = tell_story(ctx.app.runtime, say)
    for line in where_to_look():
        say(line)
    ctx.out.result({**result, "story": lines}, None)


@click.command()
@click.argument("instance_id", required=False, type=int)
@click.option("--all", "all_instances", is_flag=True, help="Replay every instance.")
@pass_ctx
@handled
def replay(ctx: Context, instance_id: int | None, all_instances: bool) -> None:
    """Re-run instances from their recorded inputs and compare the state after every step."""
    if (instance_id is None) == (not all_instances):
        fail("give an instance ID or --all")
    rt = ctx.app.runtime
    if all_instances:
        with progress_bar(ctx.out.as_json, "replay") as progress:
            results = replay_all(rt, OPERATOR, progress)
    else:
        results = [replay_instance(rt, instance_id, OPERATOR)]
    bad = [r for r in results if not r.consistent]
    ctx.out.result({"ok": not bad, "results": results},
                   [str(r) for r in results] + [f"{len(results) - len(bad)} of {len(results)} consistent"])
    if bad:
        sys.exit(EXIT_INVALID)
