"""The vocabulary of the conformance suite: scenario scripts, what a run observes, and the comparison.

A scenario names a diagram, its start data and a script of outside actions (complete a human task,
deliver a message, move the clock and fire what is due, send a signal). Both runners play the same
flat list of actions; `Together` marks human tasks that are ready at the same time, whose order the
test lets Hypothesis choose (the same order for both runners).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

DIAGRAMS = Path(__file__).resolve().parent / "diagrams"


@dataclass(frozen=True)
class Complete:
    """Complete the ready human task `task` with `data`; `where` picks one instance of a multi-instance
    task by the values of its own data (e.g. its input item)."""

    task: str
    data: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Any] | None = None


@dataclass(frozen=True)
class Together:
    """Human tasks ready at the same time, completed in an order the test draws."""

    steps: tuple[Complete, ...]


@dataclass(frozen=True)
class Message:
    """Deliver the message `name` with `payload` to the running case."""

    name: str
    payload: Any = None


@dataclass(frozen=True)
class Advance:
    """Move the clock by `delta` and fire every timer that is then due."""

    delta: timedelta


@dataclass(frozen=True)
class Signal:
    """Send the signal `name` to the running case from outside."""

    name: str
    payload: Any = None


Action = Complete | Message | Advance | Signal


def together(*steps: Complete) -> Together:
    """A group of simultaneously ready tasks."""
    return Together(tuple(steps))


@dataclass(frozen=True)
class Scenario:
    """One diagram, one start, one script; `xfail` states the engine's observed difference, if any."""

    name: str
    files: tuple[str, ...]
    process: str
    start: dict[str, Any]
    script: tuple[Action | Together, ...] = ()
    xfail: str | None = None

    def contents(self) -> dict[str, bytes]:
        """The files to deploy, by name."""
        return {name: (DIAGRAMS / name).read_bytes() for name in self.files}

    def groups(self) -> list[int]:
        """The size of each `Together` group, in script order (what the test draws orders for)."""
        return [len(item.steps) for item in self.script if isinstance(item, Together)]

    def linear(self, orders: list[list[int]]) -> list[Action]:
        """The script as a flat list of actions, each `Together` group in the drawn order."""
        result: list[Action] = []
        drawn = iter(orders)
        for item in self.script:
            if isinstance(item, Together):
                result += [item.steps[i] for i in next(drawn)]
            else:
                result.append(item)
        return result


@dataclass
class Outcome:
    """What one run observed: after every action how it went, the status, the ready human tasks, the completed
    elements (a multiset) and the process data; at the end the same state, and the error if any."""

    status: str = "waiting"
    completed: Counter[str] = field(default_factory=Counter)
    data: dict[str, Any] = field(default_factory=dict)
    trace: list[tuple[Any, ...]] = field(default_factory=list)
    error: str = ""

    def note(self, action: str, result: str, ready: list[str], completed: Counter[str], data: dict[str, Any]) -> None:
        """Record one step and the state it left."""
        self.completed, self.data = completed, data
        self.trace.append((action, f"{self.status}: {result}", tuple(sorted(ready)), tuple(sorted(completed.items())),
                           data))


def describe(action: Action | str) -> str:
    """A short label for a trace line."""
    if isinstance(action, str):
        return action
    if isinstance(action, Complete):
        return f"complete {action.task}" + (f" where {action.where}" if action.where else "")
    if isinstance(action, Message):
        return f"message {action.name}"
    if isinstance(action, Signal):
        return f"signal {action.name}"
    return f"advance {action.delta}"


def differences(engine: Outcome, bare: Outcome) -> list[str]:
    """Every way the engine's run differs from bare SpiffWorkflow's; empty when they conform."""
    found = []
    for index, (mine, theirs) in enumerate(zip(engine.trace, bare.trace, strict=False)):
        if mine != theirs:
            found.append(f"step {index} ({theirs[0]}): engine {mine[1:]} vs spiff {theirs[1:]}")
            break
    if len(engine.trace) != len(bare.trace):
        found.append(f"engine ran {len(engine.trace)} steps, spiff {len(bare.trace)}")
    if engine.status != bare.status:
        found.append(f"status: engine {engine.status!r} ({engine.error}) vs spiff {bare.status!r} ({bare.error})")
    if engine.completed != bare.completed:
        extra, missing = engine.completed - bare.completed, bare.completed - engine.completed
        found.append(f"completed elements: engine has extra {dict(extra)} and lacks {dict(missing)}")
    if engine.data != bare.data:
        keys = sorted(k for k in engine.data.keys() | bare.data.keys() if engine.data.get(k) != bare.data.get(k))
        found.append("data differs in " + ", ".join(
            f"{k}: engine {engine.data.get(k, '<absent>')!r} vs spiff {bare.data.get(k, '<absent>')!r}" for k in keys))
    return found
