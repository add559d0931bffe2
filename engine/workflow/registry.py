"""The handler registry: plain typed functions registered by the operator name diagrams use.

A handler is `def name(ctx: HandlerContext, param: type, ...) -> JSON-ready data`. Its parameters
without defaults are the ones a diagram must supply; validation refuses a diagram that names an
unknown operator or leaves out a required parameter.

The domain (tasks/) reaches it through engine/registry.py, its one door into the engine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .clock import Clock


class BpmnError(Exception):
    """Raised by a handler for a business failure the diagram handles: an error boundary event with
    this `code` on the service task (or a call activity around it) takes over. What the handler wrote
    before raising is kept; with no boundary event to catch it, it becomes an incident."""

    def __init__(self, code: str, message: str = "", data: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message or code
        self.data = data or {}


@dataclass(frozen=True)
class HandlerContext:
    """What a handler gets besides its parameters."""

    session: Session
    clock: Clock
    instance_id: int
    business_key: str | None
    task_key: str
    # Stable across retries of the same step: side-effecting handlers key their effect on it.
    idempotency_key: str
    actor: str | None = None
    # Whatever the composition root hands handlers (the domain's cipher, payment gateway…); the
    # engine passes it through without looking.
    services: Any = None
    # Set when the step is run again to settle an external effect it asked for: the outside party's
    # answer (`EffectKind.call`'s outcome). None on the step's first run.
    outcome: dict[str, Any] | None = None

    def now(self) -> datetime:
        """The engine's current time."""
        return self.clock()


@dataclass(frozen=True)
class Effect:
    """What a handler with an external side effect (a payment) returns instead of making the call:
    the call to make once its intent is committed. The handler has written the intent (e.g. a pending
    payment under `key`) in the case's transaction; the engine leaves the step started, commits, makes
    the call through the `EffectKind` named `kind`, and then runs the handler again with
    `ctx.outcome` set so that it records the outcome and returns the step's result."""

    kind: str
    key: str  # the effect's business identity: the outside party keys its idempotency on it


@dataclass(frozen=True)
class EffectKind:
    """How to make one kind of external call, exactly once per key.

    `describe(session, services, key)` reads the committed intent (in a read-only transaction that is
    closed before the call); `call(services, key, request)` makes the call with no transaction open and
    returns the outcome as JSON-ready data. `call` must first ask the outside party what it already
    holds for `key` and take that answer instead of calling again: a call that reached it before a crash
    is then read back, never repeated. It raises when there is no answer (a timeout); the intent then
    stays open, and the worker or an operator's retry asks again.
    """

    name: str
    describe: Callable[[Session, Any, str], Any]
    call: Callable[[Any, str, Any], dict[str, Any]]


@dataclass(frozen=True)
class Handler:
    """A registered handler and the parameters it declares."""

    name: str
    func: Callable[..., Any]
    required: frozenset[str]
    optional: frozenset[str]
    description: str = ""
    # Marked with `reads_only`: the engine runs it without a savepoint (nothing of it to undo); a write it
    # attempts anyway is refused before it reaches the database (engine/workflow/database.py), and the step fails.
    reads_only: bool = False


_READS_ONLY = "insureflow_reads_only"


def reads_only(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a handler that only reads: it needs no savepoint of its own, and may not write."""
    setattr(func, _READS_ONLY, True)
    return func


@dataclass
class HandlerRegistry:
    """Operator name → handler; the only thing the engine knows about `tasks/`."""

    _handlers: dict[str, Handler] = field(default_factory=dict)
    _effects: dict[str, EffectKind] = field(default_factory=dict)

    def register(self, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register `func` under `name` (default: the function's name)."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add(name or func.__name__, func)
            return func

        return decorate

    def add(self, name: str, func: Callable[..., Any]) -> None:
        """Register `func` under `name`; a name may be registered once."""
        if name in self._handlers:
            raise ValueError(f"handler {name!r} is already registered")
        params = list(inspect.signature(func).parameters.values())
        if not params or params[0].name != "ctx":
            raise TypeError(f"handler {name!r} must take `ctx: HandlerContext` as its first parameter")
        required, optional = set(), set()
        for p in params[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            (optional if p.default is not p.empty else required).add(p.name)
        doc = (inspect.getdoc(func) or "").splitlines()
        self._handlers[name] = Handler(name, func, frozenset(required), frozenset(optional), doc[0] if doc else "",
                                       getattr(func, _READS_ONLY, False))

    def add_effect_kind(self, kind: EffectKind) -> None:
        """Register how to make the external calls handlers ask for with `Effect(kind.name, …)`."""
        if kind.name in self._effects:
            raise ValueError(f"effect kind {kind.name!r} is already registered")
        self._effects[kind.name] = kind

    def effect_kind(self, name: str) -> EffectKind | None:
        """The registered effect kind `name`, if any."""
        return self._effects.get(name)

    def get(self, name: str) -> Handler | None:
        """The handler registered under `name`, if any."""
        return self._handlers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __iter__(self) -> Iterator[Handler]:
        return iter(sorted(self._handlers.values(), key=lambda h: h.name))

    def names(self) -> Iterable[str]:
        """Every registered operator name."""
        return sorted(self._handlers)
