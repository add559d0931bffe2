"""A progress bar on standard error for the commands that take a while (`replay --all`, `verify`, `migrate`,
`init --demo`): drawn only when standard error is a terminal and never with `--json`, so that what scripts
read on standard output — and what they see on standard error — stays as it was."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

from engine.workflow import Progress, quiet

# "always" draws the bar even when standard error is not a terminal (a recorded session, the tests); "never"
# leaves it out on a terminal too; anything else: only on a terminal.
SETTING = "INSUREFLOW_PROGRESS"


def wanted(as_json: bool) -> bool:
    """Whether a bar is drawn: not for --json, and on a terminal unless INSUREFLOW_PROGRESS says otherwise."""
    setting = os.environ.get(SETTING, "").strip().lower()
    if as_json or setting == "never":
        return False
    return setting == "always" or sys.stderr.isatty()


@contextmanager
def progress_bar(as_json: bool, what: str) -> Iterator[Progress]:
    """A callback for an engine operation's progress: one bar per stage while it runs, gone when it ends."""
    if not wanted(as_json):
        yield quiet
        return
    console = Console(file=sys.stderr, force_terminal=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Bars(*columns, console=console, transient=True) as bars:
        stages: dict[str, int] = {}

        def advance(stage: str, done: int, total: int | None) -> None:
            if stage not in stages:
                stages[stage] = bars.add_task(f"{what}: {stage}", total=total)
            bars.update(stages[stage], completed=done, total=total)

        yield advance
