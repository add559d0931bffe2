"""How the command line prints: JSON with --json, readable text otherwise, errors as one line."""

from __future__ import annotations

import dataclasses
import sys
from datetime import date, datetime
from typing import Any

import click

from engine.errors import (
    ConflictError,
    DeploymentInvalidError,
    EngineError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from engine.workflow import InstanceSummary, jsonutil

EXIT_OK, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_FORBIDDEN, EXIT_CONFLICT, EXIT_INVALID = 0, 2, 3, 4, 5, 6


def exit_code(exc: EngineError) -> int:
    """The documented exit code for an engine error."""
    for kind, code in ((NotFoundError, EXIT_NOT_FOUND), (ForbiddenError, EXIT_FORBIDDEN),
                       (ConflictError, EXIT_CONFLICT), (InvalidInputError, EXIT_INVALID)):
        if isinstance(exc, kind):
            return code
    return 1


def plain(value: Any) -> Any:
    """Dataclasses, datetimes and friends as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


class Printer:
    """Prints results in the chosen format."""

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def result(self, value: Any, text: str | list[str] | None = None) -> None:
        """Print one result: JSON of `value`, or the human text."""
        if self.as_json:
            click.echo(jsonutil.dumps(plain(value), indent=2, sort_keys=True))  # money: exact numbers
        elif text is not None:
            click.echo(text if isinstance(text, str) else "\n".join(text))

    def error(self, exc: EngineError) -> int:
        """Print an engine error and return its exit code."""
        if self.as_json:
            body = {"error": {"code": exc.code, "message": exc.message, "details": plain(exc.details)}}
            click.echo(jsonutil.dumps(body, indent=2, sort_keys=True))
        if isinstance(exc, DeploymentInvalidError) and not self.as_json:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
        click.echo(f"error: {exc.message}", err=True)
        return exit_code(exc)


def table(rows: list[list[Any]], headers: list[str]) -> list[str]:
    """A plain text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def short_time(value: datetime | None) -> str:
    """A timestamp to the minute, UTC."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print one line on standard error and exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def instance_lines(summary: InstanceSummary) -> list[str]:
    """A case and its open tasks, a line each."""
    lines = [f"instance {summary.id} ({summary.process_key} v{summary.version}) {summary.status}"
             + (f", business key {summary.business_key}" if summary.business_key else "")]
    lines += [f"  task {t['id']}: {t['name']} [{t['role'] or 'starter'}]"
              + (f" held by {t['assignee']}" if t["assignee"] else "") for t in summary.open_tasks]
    return lines
