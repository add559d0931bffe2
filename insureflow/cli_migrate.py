"""Analysts' commands: move instances to a newer deployment, dry-run a draft on a scenario."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine.authoring import DryRunResult, MigrationReport, migrate
from engine.authoring.dry_run import dry_run
from engine.errors import InvalidInputError, NotFoundError
from tasks.services import simulated

from .cli_context import Context, handled, pass_ctx, read_files
from .output import EXIT_CONFLICT, EXIT_INVALID, table
from .progress_bar import progress_bar

# A dry run that did not get through its scenario as written (exit code 6).
_UNFINISHED = ("invalid_answer", "scenario_mismatch", "failed")


def register(cli: click.Group) -> None:
    """Attach the analysts' commands to the main group."""
    cli.add_command(migrate_cmd)
    cli.add_command(dry_run_cmd)


def _report_lines(report: MigrationReport) -> list[str]:
    rows = [[i.id, i.process_key, i.business_key, i.outcome, "; ".join(i.reasons)] for i in report.instances]
    verb = "would move" if report.dry_run else "moved"
    counted = report.count("can migrate" if report.dry_run else "migrated")
    return table(rows, ["INSTANCE", "PROCESS", "BUSINESS KEY", "OUTCOME", "WHY NOT"]) + [
        f"{counted} of {len(report.instances)} instance(s) {verb} from deployment {report.source.id} "
        f"to {report.target.id}"]


@click.command("migrate")
@click.option("--from", "source", type=int, required=True, metavar="ID", help="The deployment they run on.")
@click.option("--to", "target", type=int, required=True, metavar="ID", help="The deployment to move them to.")
@click.option("--dry-run", is_flag=True, help="Only say what would move, and why not; change nothing.")
@click.option("--process", "process_key", metavar="KEY", help="Only instances of this process.")
@click.option("--instance-id", "instance_ids", type=int, multiple=True, metavar="N",
              help="Only this instance (repeat for several).")
@click.option("--as", "as_user", metavar="USER", help="Act as this analyst (default: the operator).")
@pass_ctx
@handled
def migrate_cmd(ctx: Context, source: int, target: int, dry_run: bool, process_key: str | None,
                instance_ids: tuple[int, ...], as_user: str | None) -> None:
    """Move waiting instances to a newer deployment (exit 5 when one changed meanwhile)."""
    with progress_bar(ctx.out.as_json, "migrate") as progress:
        report = migrate(ctx.app.runtime, ctx.actor(as_user), source, target, process_key=process_key,
                         instance_ids=list(instance_ids) or None, dry_run=dry_run, progress=progress)
    ctx.out.result(report, _report_lines(report))
    if report.count("conflict"):
        sys.exit(EXIT_CONFLICT)


def _scenario(path: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"{path}: no such scenario file")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from exc


def _result_lines(result: DryRunResult) -> list[str]:
    lines = [f"{result.process}: {result.status} — {result.reason}", "path: " + " → ".join(
        p["element"] if p["process"] == result.process else f"{p['process']}:{p['element']}" for p in result.path)]
    for task in result.tasks:
        answered = "not answered" if task["answer"] is None else json.dumps(task["answer"], ensure_ascii=False)
        lines.append(f"task {task['task']} ({task['role'] or 'starter'}): {answered}")
        lines += [f"  {field or '(form)'}: {message}" for field, message in (task["errors"] or {}).items()]
    lines += [f"waits for {w['kind']} {w['element']}" for w in result.waiting]
    return lines


@click.command("dry-run")
@click.argument("paths", nargs=-1)
@click.option("--scenario", "scenario_file", required=True, metavar="FILE", help="The scenario (JSON).")
@click.option("--deployment", "deployment_id", type=int, metavar="ID", help="Run a deployment instead of files.")
@click.option("--as", "as_user", metavar="USER", help="Act as this analyst (default: the operator).")
@pass_ctx
@handled
def dry_run_cmd(ctx: Context, paths: tuple[str, ...], scenario_file: str, deployment_id: int | None,
                as_user: str | None) -> None:
    """Run draft files (or a deployment, or the newest version) on a scenario; nothing is kept."""
    rt = ctx.app.runtime
    result = dry_run(rt, ctx.actor(as_user), _scenario(scenario_file), files=read_files(paths) if paths else None,
                     deployment_id=deployment_id, services=simulated(rt.services))
    ctx.out.result(result, _result_lines(result))
    if result.status in _UNFINISHED:
        sys.exit(EXIT_INVALID)
