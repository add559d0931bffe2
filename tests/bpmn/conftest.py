"""Scenario fixtures: the real diagrams, decision tables, forms and handlers on a demo-seeded database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from engine import worker
from engine.identity.users import add_user
from engine.registry import HandlerRegistry
from engine.workflow import deployments, instances, task_service
from engine.workflow.actors import OPERATOR, Actor, actor_for
from engine.workflow.audit_keys import AuditKeys
from engine.workflow.database import make_engine, make_session_factory
from engine.workflow.models import HumanTaskModel
from engine.workflow.runtime import Runtime
from engine.workflow.settings import EngineSettings
from insureflow import schema
from insureflow.bootstrap import FIELD_CHECKERS
from services.demo.data import seed_customers, seed_reference_data
from tasks import register_handlers
from tasks.crypto import PersonalDataCipher
from tasks.payment_gateway import SimulatedGateway
from tasks.services import DomainServices
from tests.conftest import TestClock

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
STAFF = {
    "agent": ["agent"], "agent2": ["agent"], "compliance": ["compliance"], "compliance2": ["compliance"],
    "agent.compliance": ["agent", "compliance"], "uw": ["underwriter"],
    "uw2": ["underwriter"], "senior": ["senior_underwriter", "underwriter"], "clerk": ["claims_clerk"],
    "adjuster": ["adjuster"], "manager": ["claims_manager", "adjuster"], "manager2": ["claims_manager"],
    "director": ["claims_director"], "director.acting": ["claims_director", "claims_manager"],
    "siu": ["siu"], "siu.lead": ["siu", "claims_manager"], "finance": ["finance"], "finance2": ["finance"],
    "finance.manager": ["finance", "claims_manager"],
    "auditor": ["auditor"],
    "surveyor.wang": ["surveyor"], "surveyor.li": ["surveyor"], "surveyor.zhang": ["surveyor"],
    "surveyor.chen": ["surveyor"], "surveyor.liu": ["surveyor"], "surveyor.zhao": ["surveyor"],
}


@dataclass
class Insurer:
    """The whole system on one database, driven through the engine API like the UI would."""

    rt: Runtime
    clock: TestClock
    gateway: SimulatedGateway
    cipher: PersonalDataCipher

    def actor(self, name: str) -> Actor:
        """A staff member."""
        with self.rt.uow() as uow:
            return actor_for(uow, name)

    def start(self, process: str, user: str, data: dict[str, Any] | None = None) -> int:
        """Start a process as a user; the instance id."""
        return instances.start_instance(self.rt, process, data or {}, self.actor(user)).id

    def open_tasks(self, instance_id: int) -> list[HumanTaskModel]:
        """The instance's open human tasks."""
        with self.rt.uow() as uow:
            return list(uow.session.scalars(select(HumanTaskModel).where(
                HumanTaskModel.instance_id == instance_id, HumanTaskModel.status == "open")
                .order_by(HumanTaskModel.id)))

    def task(self, instance_id: int, task_key: str) -> HumanTaskModel:
        """The open task `task_key` of the instance (fails the test when it is not open)."""
        found = [t for t in self.open_tasks(instance_id) if t.task_key == task_key]
        assert found, f"{task_key} is not open; open: {[t.task_key for t in self.open_tasks(instance_id)]}"
        return found[0]

    def complete(self, instance_id: int, task_key: str, user: str, data: dict[str, Any] | None = None) -> str:
        """Complete the open task `task_key` as `user`; the instance status after it."""
        task = self.task(instance_id, task_key)
        return task_service.complete(self.rt, task.id, self.actor(user), data or {}).status

    def status(self, instance_id: int) -> str:
        """The instance's status."""
        return instances.show_instance(self.rt, instance_id, OPERATOR).status

    def data(self, instance_id: int) -> dict[str, Any]:
        """The instance's process data."""
        return instances.show_instance(self.rt, instance_id, OPERATOR).data or {}

    def history(self, instance_id: int) -> list[dict[str, Any]]:
        """The instance's events."""
        return instances.instance_history(self.rt, instance_id, OPERATOR)

    def wait(self, **delta: float) -> worker.TickReport:
        """Let time pass and run the worker once."""
        self.clock.advance(**delta)
        return worker.tick(self.rt)

    def message(self, instance_id: int, name: str, payload: dict[str, Any]) -> str:
        """Deliver a message; the instance status after it."""
        return instances.deliver_message(self.rt, instance_id, name, payload, OPERATOR).status


@pytest.fixture
def insurer(db_url: str) -> Iterator[Insurer]:
    """Demo reference data, staff for every role, and bpmn/ deployed, on SQLite and PostgreSQL."""
    db = make_engine(db_url)
    schema.upgrade(db)
    clock = TestClock()
    cipher = PersonalDataCipher(Fernet.generate_key())
    gateway = SimulatedGateway()
    registry = HandlerRegistry()
    register_handlers(registry)
    rt = Runtime(make_session_factory(db), registry, EngineSettings(incident_backoff_seconds=60), clock,
                 protect=cipher.protect, reveal=cipher.reveal, seal=cipher.seal, unseal=cipher.unseal,
                 services=DomainServices(cipher=cipher, gateway=gateway), field_checkers=FIELD_CHECKERS,
                 audit_keys=AuditKeys.of(secrets.token_bytes(32)))
    with rt.uow() as uow:
        for name, roles in STAFF.items():
            add_user(uow.session, rt.settings, name, roles, None, clock())
        seed_reference_data(uow.session, clock())
        seed_customers(uow.session, cipher, clock())
        uow.commit()
    files = {p.relative_to(BPMN).as_posix(): p.read_bytes() for p in sorted(BPMN.rglob("*"))
             if p.suffix in (".bpmn", ".dmn", ".json")}
    deployments.deploy(rt, files, OPERATOR)
    yield Insurer(replace(rt), clock, gateway, cipher)
    db.dispose()
