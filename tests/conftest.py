"""Shared fixtures: databases (SQLite and a real PostgreSQL), a wired runtime, users, test diagrams."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import werkzeug.test
from sqlalchemy import create_engine, text

from engine.identity.users import add_user
from engine.registry import HandlerRegistry
from engine.workflow.actors import OPERATOR, Actor, actor_for
from engine.workflow.audit_keys import AuditKeys
from engine.workflow.database import make_engine, make_session_factory
from engine.workflow.runtime import Runtime
from engine.workflow.settings import EngineSettings
from insureflow import schema
from tests.fixtures.handlers import register

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# werkzeug's test client writes a multipart body above 500 KB (a whole bpmn/ folder as a draft is more) to a
# temporary file that nothing closes: a ResourceWarning, which warnings-as-errors turns into a failure of
# whichever test the garbage collector happens to run in. Test bodies stay in memory instead.
werkzeug.test.stream_encode_multipart.__defaults__ = (False, 1024 * 500, None)


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


def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file in `folder`, or a PostgreSQL schema of its own (dropped
    afterwards). A generator, so fixtures of any scope can use it."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'insureflow.db'}"
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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind per test."""
    yield from fresh_database(request.param, tmp_path)


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
            return actor_for(uow, name)

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
    rt = Runtime(make_session_factory(db), make_registry(), EngineSettings(incident_backoff_seconds=10), clock,
                 audit_keys=AuditKeys.of(secrets.token_bytes(32)))
    with rt.uow() as uow:
        for name, roles in USERS.items():
            add_user(uow.session, rt.settings, name, roles, None, clock())
        uow.commit()
    yield World(rt, db_url, clock)
    db.dispose()


@pytest.fixture
def deployed(world: World) -> World:
    """The claim-review fixture deployed."""
    from engine.workflow.deployments import deploy

    deploy(world.rt, fixture_files(), OPERATOR)
    return world


@dataclass
class Domain:
    """A migrated database with the domain's services, for handler tests."""

    url: str
    session_factory: object
    services: object
    clock: TestClock

    def ctx(self, session, *, instance_id: int = 1, task_key: str = "task", key: str | None = None,
            business_key: str | None = None):
        """A HandlerContext as the engine would build it for one step."""
        from engine.registry import HandlerContext

        return HandlerContext(session=session, clock=self.clock, instance_id=instance_id, business_key=business_key,
                              task_key=task_key, idempotency_key=key or f"{instance_id}:{task_key}",
                              actor="tester", services=self.services)


@pytest.fixture
def domain(db_url: str) -> Iterator[Domain]:
    """Domain tables on a fresh database (SQLite and PostgreSQL), a cipher with a fresh key, a
    simulated gateway, and a hand-moved clock."""
    from cryptography.fernet import Fernet

    from tasks.crypto import PersonalDataCipher
    from tasks.payment_gateway import SimulatedGateway
    from tasks.services import DomainServices

    db = make_engine(db_url)
    schema.upgrade(db)
    services = DomainServices(cipher=PersonalDataCipher(Fernet.generate_key()), gateway=SimulatedGateway())
    yield Domain(db_url, make_session_factory(db), services, TestClock())
    db.dispose()
