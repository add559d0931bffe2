"""How a long engine operation tells its caller how far it got: an optional callback, called with the stage,
the items done and the items in all (None when not known yet). The engine prints nothing itself; the command
line draws a bar from it on a terminal (insureflow/progress_bar.py)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told after each item of a long operation."""

    def __call__(self, stage: str, done: int, total: int | None) -> None: ...


def quiet(stage: str, done: int, total: int | None) -> None:
    """The default: nobody is watching."""
