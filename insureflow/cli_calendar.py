"""The business calendar's commands: see the days off and worked weekend days, set the company's own."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from services import business_days
from tasks.business_calendar import CalendarDay, statutory_years

from .cli_context import Context, handled, pass_ctx
from .output import EXIT_INVALID, EXIT_NOT_FOUND, fail, table

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def register(cli: click.Group) -> None:
    """Attach the calendar commands to the main group."""
    cli.add_command(calendar)


@click.group()
def calendar() -> None:
    """The business calendar: statutory holidays and 调休 (chinese-calendar) plus company days."""


def _row(answer: CalendarDay) -> list[str]:
    return [answer.day.isoformat(), answer.day.strftime("%a"), "worked" if answer.working else "off",
            answer.source, answer.name or ""]


@calendar.command("show")
@click.option("--from", "first", type=_DATE, help="First day (default: today).")
@click.option("--to", "last", type=_DATE, help="Last day (default: 365 days after the first).")
@pass_ctx
@handled
def calendar_show(ctx: Context, first: datetime | None, last: datetime | None) -> None:
    """List the days that break the Monday-to-Friday rule, and every company day, in a range."""
    rt = ctx.app.runtime
    start = first.date() if first else rt.clock().date()
    end = last.date() if last else start + timedelta(days=365)
    if end < start:
        fail("--to is before --from", EXIT_INVALID)
    days = business_days.exceptions(rt, start, end)
    known = statutory_years()
    unknown = sorted({y for y in range(start.year, end.year + 1) if y not in known})
    lines = table([_row(d) for d in days], ["DAY", "WEEKDAY", "STATUS", "SOURCE", "NAME"])
    lines.append(f"statutory holidays and adjusted working days known for {known.start}–{known.stop - 1}")
    if unknown:
        lines.append(f"WARNING: {', '.join(map(str, unknown))} not known: only weekends are days off there "
                     "unless set as company days")
    ctx.out.result({"days": days, "statutory_years": [known.start, known.stop - 1], "unknown_years": unknown}, lines)


@calendar.command("set")
@click.argument("day", type=_DATE)
@click.option("--closed/--open", "closed", required=True, help="The company is closed, or works, that day.")
@click.option("--name", required=True, help="What the day is (shown to staff and in the calendar).")
@pass_ctx
@handled
def calendar_set(ctx: Context, day: datetime, closed: bool, name: str) -> None:
    """Make a day a company day, closed or opened; it wins over the statutory calendar."""
    try:
        answer = business_days.set_company_day(ctx.app.runtime, day.date(), not closed, name)
    except ValueError as exc:
        fail(str(exc), EXIT_INVALID)
    ctx.out.result(answer, f"{answer.day.isoformat()} is a company day: {'worked' if answer.working else 'closed'} "
                           f"({answer.name})")


@calendar.command("unset")
@click.argument("day", type=_DATE)
@pass_ctx
@handled
def calendar_unset(ctx: Context, day: datetime) -> None:
    """Remove a company day; the statutory calendar applies to it again."""
    try:
        answer = business_days.remove_company_day(ctx.app.runtime, day.date())
    except LookupError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    ctx.out.result(answer, f"{answer.day.isoformat()} follows the {answer.source.replace('_', ' ')} calendar again: "
                           f"{'worked' if answer.working else 'off'}")
