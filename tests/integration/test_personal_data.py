"""Personal data is never stored in plaintext: not in the workflow state, the history or messages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

from engine import worker
from engine.audit.replay import replay_instance
from engine.workflow import deployments, instances
from engine.workflow.actors import OPERATOR
from tasks.crypto import PersonalDataCipher
from tests.conftest import World, fixture_files

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"
ACCOUNT = "6222020200112233445"


def _sealed(world: World) -> World:
    cipher = PersonalDataCipher(Fernet.generate_key())
    world.rt = replace(world.rt, protect=cipher.protect, reveal=cipher.reveal, seal=cipher.seal,
                       unseal=cipher.unseal)
    return world


def _all_bytes(world: World, tmp_path: Path) -> bytes:
    """Every byte the database holds: the SQLite files, or a dump of every PostgreSQL row."""
    if world.url.startswith("sqlite"):  # the database file and its write-ahead log
        folder = Path(world.url.removeprefix("sqlite:///")).parent
        return b"".join(p.read_bytes() for p in folder.glob("insureflow.db*"))
    dump = []
    with world.rt.uow() as uow:
        for table in ("instances", "events", "messages", "human_tasks", "waits", "incidents"):
            for row in uow.session.execute(text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)).encode())
    return b"\n".join(dump)


def test_personal_fields_never_reach_the_database_in_plaintext(deployed: World, tmp_path: Path) -> None:
    world = _sealed(deployed)
    deployments.deploy(world.rt, fixture_files("bpmn_messages"), OPERATOR)
    waiting = instances.start_instance(world.rt, "claim_review", {"id_number": ID_NUMBER, "payee_account": ACCOUNT,
                                                                  "contact": {"phone": PHONE}}, world.actor("clerk"))
    sender = instances.start_instance(world.rt, "canceller", {"reason": "r", "phone": PHONE}, world.actor("clerk"))
    worker.tick(world.rt)
    raw = _all_bytes(world, tmp_path)
    for secret in (ID_NUMBER, PHONE, ACCOUNT):
        assert secret.encode() not in raw, secret
    # …yet the case reads back whole for those who may see it, and replays from its sealed history.
    shown = instances.show_instance(world.rt, waiting.id, OPERATOR)
    assert shown.data["id_number"] == ID_NUMBER and shown.data["contact"] == {"phone": PHONE}
    history = instances.instance_history(world.rt, sender.id, OPERATOR)
    assert history[0]["payload"]["data"]["phone"].startswith("enc:")
    assert replay_instance(world.rt, waiting.id, OPERATOR).consistent
    assert replay_instance(world.rt, sender.id, OPERATOR).consistent
