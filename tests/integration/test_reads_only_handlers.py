"""Handlers marked `reads_only` run without a savepoint of their own, and a write they attempt is refused before it
reaches the database (the step fails; nothing of it is written)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event, func, select, text

from engine.registry import HandlerContext, HandlerRegistry, reads_only
from engine.workflow.database import WriteWhileReadingError
from engine.workflow.models import UserModel
from engine.workflow.sandbox import Limits
from engine.workflow.script_engine import RunContext, SandboxedScriptEngine


@reads_only
def count_users(ctx: HandlerContext) -> dict[str, Any]:
    """Reads only."""
    return {"users": ctx.session.scalar(select(func.count(UserModel.username)))}


@reads_only
def sneaky(ctx: HandlerContext) -> dict[str, Any]:
    """Marked reads-only, but writes."""
    ctx.session.execute(text("DELETE FROM users"))
    return {}


def writes(ctx: HandlerContext) -> dict[str, Any]:
    """Not marked: runs in a savepoint."""
    return {"users": ctx.session.scalar(select(func.count(UserModel.username)))}


def _call(world: Any, operator: str, statements: list[str]) -> str:
    registry = HandlerRegistry()
    for handler in (count_users, sneaky, writes):
        registry.add(handler.__name__, handler)
    with world.rt.uow() as uow:
        run = RunContext(uow.session, world.rt.clock, 1, None, "tester")
        engine = SandboxedScriptEngine(registry, Limits(), run)
        task = SimpleNamespace(id=uuid4(), task_spec=SimpleNamespace(bpmn_id="svc"))
        uow.session.connection()  # the transaction's BEGIN before counting
        listen = lambda _c, _cur, sql, *_a: statements.append(sql.split()[0].upper())  # noqa: E731
        event.listen(world.rt.session_factory.kw["bind"], "before_cursor_execute", listen)
        try:
            return engine.call_service(task, operator, {})
        finally:
            event.remove(world.rt.session_factory.kw["bind"], "before_cursor_execute", listen)
            uow.commit()


def test_a_reads_only_handler_runs_without_a_savepoint(world: Any) -> None:
    statements: list[str] = []
    assert '"users"' in _call(world, "count_users", statements)
    assert statements == ["SELECT"]


def test_a_handler_not_marked_runs_in_a_savepoint(world: Any) -> None:
    statements: list[str] = []
    _call(world, "writes", statements)
    assert statements == ["SAVEPOINT", "SELECT", "RELEASE"]


def test_a_write_from_a_reads_only_handler_is_refused_before_it_reaches_the_database(world: Any) -> None:
    with pytest.raises(WriteWhileReadingError, match="sneaky is marked reads-only"):
        _call(world, "sneaky", [])
    with world.rt.uow(read_only=True) as uow:
        assert uow.session.scalar(select(func.count(UserModel.username))) > 0
    statements: list[str] = []
    _call(world, "count_users", statements)  # the connection is not left marked
    assert statements == ["SELECT"]
