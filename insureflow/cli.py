"""`insureflow`: the operator's and scripts' face of InsureFlow — a thin layer over the engine."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime
from typing import Any

import click

from engine import worker
from engine.errors import InvalidInputError
from engine.workflow import OPERATOR, deployments, incidents, instances, jsonutil, messages
from engine.workflow import describe as describe_decision

from . import (
    cli_admin,
    cli_audit,
    cli_calendar,
    cli_claims,
    cli_migrate,
    cli_payments,
    cli_tasks,
    instance_folder,
    schema,
)
from .bootstrap import build_app
from .cli_context import Context, as_option, handled, parse_data, pass_ctx, read_files
from .output import EXIT_INVALID, fail, instance_lines, short_time, table
from .progress_bar import progress_bar


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--instance", metavar="DIR", help="Instance folder (default: $INSUREFLOW_INSTANCE or ./instance).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on standard output.")
@click.pass_context
def cli(click_ctx: click.Context, instance: str | None, as_json: bool) -> None:
    """InsureFlow: an insurer's processes as BPMN, run by SpiffWorkflow."""
    click_ctx.obj = Context(instance, as_json)


@cli.command()
@click.option("--demo", is_flag=True, help="Also create demo users and deploy bpmn/.")
@click.option("--database-url", help="Use this database instead of the embedded SQLite file.")
@pass_ctx
@handled
def init(ctx: Context, demo: bool, database_url: str | None) -> None:
    """Create (or upgrade) an instance folder: configuration, keys, database schema."""
    config = instance_folder.create(ctx.folder, database_url)
    db = build_app(config).db
    try:
        revision = schema.upgrade(db)
    finally:
        db.dispose()
    result: dict[str, Any] = {"instance": str(ctx.folder), "database": config.database_url, "schema": revision}
    if demo:
        from services.demo import load_demo

        with progress_bar(ctx.out.as_json, "init --demo") as progress:
            result["demo"] = load_demo(ctx.app.runtime, progress)
    ctx.out.result(result, [f"instance folder {ctx.folder} ready (schema {revision})"]
                   + ([f"demo: {line}" for line in result["demo"]["summary"]] if demo else []))


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@pass_ctx
@handled
def validate(ctx: Context, paths: tuple[str, ...]) -> None:
    """Check BPMN/DMN/form files and report every problem; deploy nothing."""
    problems = deployments.validate(ctx.app.runtime, read_files(paths), OPERATOR)
    ctx.out.result({"ok": not problems, "problems": [p.to_dict() for p in problems]},
                   [str(p) for p in problems] + [f"{len(problems)} problem(s)" if problems else "valid"])
    if problems:
        sys.exit(EXIT_INVALID)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--comment", default="", help="Why this version is deployed.")
@pass_ctx
@handled
def deploy(ctx: Context, paths: tuple[str, ...], comment: str) -> None:
    """Validate and deploy a file set; identical content is a no-op."""
    info = deployments.deploy(ctx.app.runtime, read_files(paths), OPERATOR, comment)
    verb = "deployed" if info.created else "unchanged, already deployed as"
    ctx.out.result(info, [f"{verb} deployment {info.id} ({info.hash[:12]})"]
                   + [f"  {key} version {version}" for key, version in info.processes])


@cli.command()
@pass_ctx
@handled
def processes(ctx: Context) -> None:
    """List deployed process definitions (newest version of each)."""
    rows = deployments.list_processes(ctx.app.runtime)
    ctx.out.result(rows, table([[p.key, p.name, p.version, p.hash[:12], short_time(p.deployed_at)] for p in rows],
                               ["KEY", "NAME", "VERSION", "HASH", "DEPLOYED"]))


@cli.command()
@click.argument("key")
@click.option("--data", help="Initial data as a JSON object.")
@click.option("--business-key", help="Claim number, policy number… for look-up.")
@as_option
@pass_ctx
@handled
def start(ctx: Context, key: str, data: str | None, business_key: str | None, as_user: str) -> None:
    """Start an instance of a process."""
    summary = instances.start_instance(ctx.app.runtime, key, parse_data(data), ctx.actor(as_user), business_key)
    ctx.out.result(summary, instance_lines(summary))


@cli.command("instances")
@click.option("--status", type=click.Choice(["running", "waiting", "completed", "incident", "terminated"]))
@click.option("--process", "process_key", help="Only this process key.")
@click.option("--business-key", help="Only this business key.")
@pass_ctx
@handled
def instances_cmd(ctx: Context, status: str | None, process_key: str | None, business_key: str | None) -> None:
    """List instances, newest first."""
    rows, total = instances.list_instances(ctx.app.runtime, OPERATOR, status=status, process_key=process_key,
                                           business_key=business_key, limit=500)
    ctx.out.result({"total": total, "instances": rows}, table(
        [[r.id, r.process_key, r.version, r.business_key, r.status, r.started_by, short_time(r.updated_at)]
         for r in rows], ["ID", "PROCESS", "V", "KEY", "STATUS", "STARTED BY", "UPDATED"]))


@cli.command()
@click.argument("instance_id", type=int)
@pass_ctx
@handled
def show(ctx: Context, instance_id: int) -> None:
    """One instance: status, open tasks, data."""
    summary = instances.show_instance(ctx.app.runtime, instance_id, OPERATOR)
    data = jsonutil.dumps(summary.data, indent=2, sort_keys=True)
    ctx.out.result(summary, instance_lines(summary) + ["data:"] + ["  " + line for line in data.splitlines()])


@cli.command("history")
@click.argument("instance_id", type=int)
@pass_ctx
@handled
def history_cmd(ctx: Context, instance_id: int) -> None:
    """The event log of one instance."""
    events = instances.instance_history(ctx.app.runtime, instance_id, OPERATOR)
    ctx.out.result(events, table([[e["seq"], e["at"][:19], e["type"], e["actor"], e["task"], _brief(e)]
                                  for e in events], ["#", "AT", "EVENT", "ACTOR", "TASK", "DETAILS"]))


def _brief(event: dict[str, Any]) -> str:
    if event["type"] == "decision_evaluated":
        return describe_decision(event["payload"])
    payload = {k: v for k, v in event["payload"].items() if k not in ("fingerprint", "before")}
    text = jsonutil.dumps(payload, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


@cli.command()
@click.argument("instance_id", type=int, required=False)
@click.argument("name", required=False)
@click.option("--name", "by_name", metavar="NAME", help="Send the message by name: to the waiting case the "
              "correlation picks, or starting the process whose start event catches it.")
@click.option("--correlation", multiple=True, metavar="KEY=VALUE",
              help="With --name: a value the waiting case's data (or business_key) must hold; repeatable.")
@click.option("--data", help="The message payload as a JSON object.")
@click.option("--as", "as_user", metavar="USER", help="Act as this user (a new case is started by a named user).")
@pass_ctx
@handled
def message(ctx: Context, instance_id: int | None, name: str | None, by_name: str | None,
            correlation: tuple[str, ...], data: str | None, as_user: str | None) -> None:
    """Deliver a message: `message ID NAME` to one waiting instance, or `message --name NAME --correlation K=V`."""
    if by_name is None:
        if instance_id is None or name is None:
            fail("give ID NAME, or --name NAME [--correlation KEY=VALUE]")
        summary = instances.deliver_message(ctx.app.runtime, instance_id, name, parse_data(data), ctx.actor(as_user))
        ctx.out.result(summary, [f"message {name!r} delivered"] + instance_lines(summary))
        return
    if instance_id is not None:
        fail("--name sends by correlation: give no instance id")
    pairs = dict(item.partition("=")[::2] for item in correlation)
    if any("=" not in item or not item.partition("=")[0] for item in correlation):
        fail("--correlation takes KEY=VALUE")
    sent = messages.send_message(ctx.app.runtime, by_name, parse_data(data), pairs, ctx.actor(as_user))
    ctx.out.result(sent, [f"message {by_name!r} {sent.outcome} instance {sent.instance.id}"]
                   + instance_lines(sent.instance))


@cli.command("signal")
@click.argument("name")
@click.option("--data", help="The signal's data as a JSON object.")
@click.option("--as", "as_user", metavar="USER", help="Act as this user (an administrator).")
@pass_ctx
@handled
def signal_cmd(ctx: Context, name: str, data: str | None, as_user: str | None) -> None:
    """Broadcast a signal to every case waiting for it."""
    sent = messages.send_signal(ctx.app.runtime, name, parse_data(data), ctx.actor(as_user))
    lines = [f"signal {name!r} reached {len(sent.delivered)} case(s)"]
    lines += [f"  instance {s.id}: {s.status}" for s in sent.delivered]
    lines += [f"  instance {i}: not delivered — {why}" for i, why in sent.refused.items()]
    ctx.out.result(sent, lines)


@cli.group("incidents", invoke_without_command=True)
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved incidents.")
@click.pass_context
def incidents_group(click_ctx: click.Context, include_resolved: bool) -> None:
    """List open incidents (or retry one: `incidents retry ID`)."""
    if click_ctx.invoked_subcommand is None:
        _list_incidents(click_ctx.obj, include_resolved)


@handled
def _list_incidents(ctx: Context, include_resolved: bool) -> None:
    rows = incidents.list_incidents(ctx.app.runtime, OPERATOR, include_resolved=include_resolved)
    ctx.out.result(rows, table([[r.id, r.instance_id, r.task_key, r.status, r.attempts, short_time(r.next_retry_at),
                                 r.error[:60]] for r in rows],
                               ["ID", "INSTANCE", "TASK", "STATUS", "TRIES", "NEXT RETRY", "ERROR"]))


@incidents_group.command("retry")
@click.argument("incident_id", type=int)
@pass_ctx
@handled
def incidents_retry(ctx: Context, incident_id: int) -> None:
    """Run an incident's failed step again."""
    view = incidents.retry_incident(ctx.app.runtime, incident_id, OPERATOR)
    ctx.out.result(view, f"incident {view.id} {view.status}" + ("" if view.status == "resolved"
                                                                   else f": {view.error}"))


@cli.command("worker")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--now", "now_text", metavar="ISO", help="Act as if it were this moment (with --once).")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between passes.")
@click.option("--supervised", is_flag=True, help="Run the worker as a child and start it again whenever it dies.")
@pass_ctx
@handled
def worker_cmd(ctx: Context, once: bool, now_text: str | None, interval: float, supervised: bool) -> None:
    """Fire due timers, deliver messages, retry incidents."""
    if supervised:
        from .serving import supervise_timer_worker

        supervise_timer_worker(ctx.folder)
        return
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise InvalidInputError(f"--now {now_text!r} is not an ISO 8601 date-time") from None
        now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    if not once:
        if now is not None:
            fail("--now needs --once")
        click.echo(f"worker running on {ctx.folder} (Ctrl-C stops)", err=True)
        signal.signal(signal.SIGTERM, _stop)
        try:
            worker.run_forever(ctx.app.runtime, interval)
        except KeyboardInterrupt:
            return
    report = worker.tick(ctx.app.runtime, now)
    ctx.out.result(report, f"fired {report.timers_fired} timer(s), delivered {report.messages_delivered} "
                           f"message(s), retried {report.incidents_retried} incident(s), settled "
                           f"{report.effects_settled} abandoned external call(s)")


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # a pass in progress rolls back; nothing half-written


cli_admin.register(cli)
cli_tasks.register(cli)
cli_audit.register(cli)
cli_calendar.register(cli)
cli_migrate.register(cli)
cli_payments.register(cli)
cli_claims.register(cli)


def main() -> None:
    """Console entry point."""
    cli(prog_name="insureflow")
