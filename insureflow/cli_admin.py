"""Administration commands: users, tokens, serving the web app, demo data."""

from __future__ import annotations

import sys

import click

from engine.identity import OPERATOR, add_user, create_token, list_users
from engine.replay import replay_all, replay_instance

from . import instance_folder
from .cli_context import Context, handled, pass_ctx
from .output import EXIT_INVALID, fail, table


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
    """Add a user with one or more roles."""
    rt = ctx.app.runtime
    with rt.uow() as uow:
        user = add_user(uow.session, rt.settings, name, list(roles), password, rt.clock(), display_name)
        result = {"username": user.username, "roles": sorted(r.role for r in user.roles)}
        uow.commit()
    ctx.out.result(result, f"user {name} added with roles {', '.join(result['roles'])}")


@users.command("list")
@pass_ctx
@handled
def users_list(ctx: Context) -> None:
    """List users and their roles."""
    with ctx.app.runtime.uow() as uow:
        rows = [{"username": u.username, "display_name": u.display_name, "active": u.active,
                 "roles": [r.role for r in u.roles]} for u in list_users(uow.session)]
    ctx.out.result(rows, table([[r["username"], r["display_name"], ", ".join(r["roles"]),
                                 "yes" if r["active"] else "no"] for r in rows],
                               ["USER", "NAME", "ROLES", "ACTIVE"]))


@click.group()
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("name")
@pass_ctx
@handled
def tokens_create(ctx: Context, name: str) -> None:
    """Create a bearer token for user NAME; it is shown once and stored hashed."""
    rt = ctx.app.runtime
    with rt.uow() as uow:
        token = create_token(uow.session, name, rt.clock())
        uow.commit()
    ctx.out.result({"user": name, "token": token}, token)


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
    from .demo import load_demo
    from .demo_story import tell_story

    load_demo(ctx.app)
    lines: list[str] = []
    say = lines.append if ctx.out.as_json else click.echo
    result = tell_story(ctx.app.runtime, say)
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
    results = replay_all(rt, OPERATOR) if all_instances else [replay_instance(rt, instance_id, OPERATOR)]
    bad = [r for r in results if not r.consistent]
    ctx.out.result({"ok": not bad, "results": results},
                   [str(r) for r in results] + [f"{len(results) - len(bad)} of {len(results)} consistent"])
    if bad:
        sys.exit(EXIT_INVALID)
