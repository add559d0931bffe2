"""The engine's clock: injectable, so a worker can fire what is due at a given moment.

SpiffWorkflow's timer events read `datetime.now()` from their own module and offer no clock
injection. The engine therefore points that module's `datetime` name at a subclass whose `now()`
asks the clock bound to the current context; unbound, it is the wall clock. This is the only
place the library is adjusted from outside.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always answers `moment` (UTC assumed when naive)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return lambda: moment


_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("insureflow_clock", default=system_clock)


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    """Make SpiffWorkflow's timers read `clock` inside the block."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


class ClockedDatetime(datetime):
    """`datetime` whose now() reads the engine's clock: timers and scripts see the step's time, so a
    replay sees the same time again."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        moment = _current.get()()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    @classmethod
    def today(cls):  # type: ignore[override]
        return cls.now()

    @classmethod
    def utcnow(cls):  # type: ignore[override]
        return _current.get()().astimezone(UTC).replace(tzinfo=None)


class ClockedDate(date):
    """`date` whose today() reads the engine's clock."""

    @classmethod
    def today(cls):  # type: ignore[override]
        return _current.get()().date()


_spiff_timer.datetime = ClockedDatetime  # type: ignore[misc]
