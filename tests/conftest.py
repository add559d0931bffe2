"""Shared fixtures: databases (SQLite and a real PostgreSQL), a wired runtime, users, test diagrams."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.database import make_engine, make_session_factory
from engine.identity import OPERATOR, Actor, actor_for, add_user
from engine.registry import HandlerRegistry
from engine.runtime import Runtime
from engine.settings import EngineSettings
from insureflow import schema
from tests.fixtures.handlers import register

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def fixture_files(folder: str = "bpmn") -> dict[str, bytes]:
    """A test diagram set as a deploy call takes it."""
    base = FIXTURES / folder
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def pg_url() -> str:
    """The PostgreSQL the suite runs against; missing means the set-up did not run — fail, never skip."""
    url = os.environ.get("INSUREFLOW_TEST_PG_URL")
    if not url:
        pytest.fail("INSUREFLOW_TEST_PG_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'insureflow.db'}"
        return
    base = pg_url()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


class TestClock:
    """A clock tests move by hand."""

    __test__ = False

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        """Move the clock forward."""
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class World:
    """A wired runtime on a fresh database, with users."""

    rt: Runtime
    url: str
    clock: TestClock

    def actor(self, name: str) -> Actor:
        """The Actor of a test user."""
        with self.rt.uow() as uow:
            return actor_for(uow.session, name)

    def at(self, moment: datetime) -> Runtime:
        """The runtime with the clock fixed at `moment`."""
        return replace(self.rt, clock=lambda: moment)


USERS = {
    "clerk": ["claims_clerk"],
    "adj": ["adjuster"],
    "mgr": ["claims_manager", "adjuster"],
    "boss": ["claims_manager"],
    "auditor": ["auditor"],
    "analyst": ["analyst"],
}


def make_registry() -> HandlerRegistry:
    """The registry the test diagrams need."""
    registry = HandlerRegistry()
    register(registry)
    return registry


@pytest.fixture
def world(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A migrated database with the test users, and a runtime over it with a hand-moved clock."""
    monkeypatch.setenv("INSUREFLOW_FIXTURE_CONTROL", str(tmp_path))
    db = make_engine(db_url)
    schema.upgrade(db)
    clock = TestClock()
    rt = Runtime(make_session_factory(db), make_registry(), EngineSettings(incident_backoff_seconds=10), clock)
    with rt.uow() as uow:
        for name, roles in USERS.items():
            add_user(uow.session, rt.settings, name, roles, None, clock())
        uow.commit()
    yield World(rt, db_url, clock)
    db.dispose()


@pytest.fixture
def deployed(world: World) -> World:
    """The claim-review fixture deployed."""
    from engine.deployments import deploy

    deploy(world.rt, fixture_files(), OPERATOR)
    return world
