"""Issue 13 finding 2 through `insureflow verify`: an insider with write access to the database alone cannot
forge the history. A forged append with a recomputed unkeyed sha256, a flipped or swapped state, an edited
payment row and a rehashed actor edit are each reported with exit 6 and a plain message; the worker's signed
checkpoint is used automatically and catches a truncated chain; a chain from before the switch-over to the
keyed rule still verifies, and cannot be extended by the old rule once a signed checkpoint covers it."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.workflow.history import GENESIS, event_hash
from engine.workflow.models import EventModel, InstanceModel
from insureflow import instance_folder
from tasks.payment_records import PaymentRecord
from tests.cli.conftest import Cli
from tests.conftest import FIXTURES

EVENTS = EventModel.__table__


def _database(run: Cli) -> Engine:
    return create_engine(instance_folder.load(run.folder).database_url)


def _case(run: Cli) -> int:
    """A claim-review case with a few events: started, then its first task claimed and completed."""
    run.json("deploy", str(FIXTURES / "bpmn"))
    case = run.json("start", "claim_review", "--as", "clerk")["id"]
    task = run.json("tasks", "--as", "clerk")["tasks"][0]["id"]
    run.json("claim", str(task), "--as", "clerk")
    run.json("complete", str(task), "--as", "clerk", "--data", '{"amount": 5000, "claimant": "Li Lei"}')
    return case


def _verify_fails(run: Cli, *expected: str) -> str:
    result = run("verify")
    assert result.exit_code == 6, result.output
    assert "Traceback" not in result.output + result.stderr
    for line in expected:
        assert line in result.output, result.output
    assert "FAILED" in result.output
    return result.output


def _head(db: Engine, case: int) -> tuple[int, str]:
    with db.connect() as conn:
        row = conn.execute(select(InstanceModel.last_seq, InstanceModel.last_hash)
                           .where(InstanceModel.id == case)).one()
    return row.last_seq, row.last_hash


def _append_unkeyed(db: Engine, case: int, actor: str = "mallory") -> int:
    """What an insider with SQL access can do: append an event hashed by the legacy rule, and move the head."""
    seq, prev = _head(db, case)
    at = datetime.now(UTC)
    payload = json.dumps({"data": {"approved": True}}, separators=(",", ":"))
    digest = event_hash(prev, case, seq + 1, "task_completed", at, actor, "approve", payload)
    with db.begin() as conn:
        conn.execute(insert(EVENTS).values(instance_id=case, seq=seq + 1, type="task_completed", occurred_at=at,
                                           actor=actor, task_key="approve", payload=payload, prev_hash=prev,
                                           hash=digest))
        conn.execute(update(InstanceModel).where(InstanceModel.id == case).values(last_seq=seq + 1,
                                                                                   last_hash=digest))
    return seq + 1


def _rehash_unkeyed(db: Engine, case: int, edit=None) -> None:
    """Recompute every hash of the case by the legacy rule (key id and state hash cleared), after `edit`."""
    with Session(db) as session:
        prev = GENESIS
        for event in session.scalars(select(EventModel).where(EventModel.instance_id == case)
                                     .order_by(EventModel.seq)):
            if edit is not None:
                edit(event)
            event.key_id = event.state_hash = None
            event.prev_hash = prev
            event.hash = prev = event_hash(prev, case, event.seq, event.type, event.occurred_at, event.actor,
                                           event.task_key, event.payload)
        session.execute(update(InstanceModel).where(InstanceModel.id == case).values(last_hash=prev))
        session.commit()


# --- (a) a forged append ------------------------------------------------------------------------

def test_a_forged_event_appended_with_a_recomputed_unkeyed_sha256_is_reported(run: Cli) -> None:
    case = _case(run)
    assert run.json("verify")["ok"] is True
    db = _database(run)
    seq = _append_unkeyed(db, case)
    db.dispose()
    _verify_fails(run, f"BROKEN instance {case} event #{seq}: forged: an event without the audit key's seal after "
                       "the chain switched to keyed hashing")
    assert run.json("show", str(case))["id"] == case  # the case itself still opens: only its history is flagged


def test_a_forged_event_claiming_a_key_without_holding_it_is_reported(run: Cli) -> None:
    case = _case(run)
    db = _database(run)
    seq = _append_unkeyed(db, case)
    with db.begin() as conn:  # it even names the current key id, which is public (every event shows it)
        kid = conn.scalar(select(EventModel.key_id).where(EventModel.instance_id == case, EventModel.seq == 1))
        conn.execute(update(EventModel).where(EventModel.instance_id == case, EventModel.seq == seq)
                     .values(key_id=kid))
    db.dispose()
    _verify_fails(run, f"BROKEN instance {case} event #{seq}: content altered (hash mismatch)")


# --- (b) the stored state -----------------------------------------------------------------------

def test_a_flipped_state_byte_is_reported_and_show_is_a_plain_error(run: Cli) -> None:
    case = _case(run)
    db = _database(run)
    with db.begin() as conn:
        state = conn.scalar(select(InstanceModel.state).where(InstanceModel.id == case))
        middle = len(state) // 2
        conn.execute(update(InstanceModel).where(InstanceModel.id == case).values(
            state=state[:middle] + bytes([state[middle] ^ 0x01]) + state[middle + 1:]))
    db.dispose()
    _verify_fails(run, f"DAMAGED case {case}: the stored state is not the one its last history event recorded")
    shown = run("show", str(case))
    assert shown.exit_code != 0 and "Traceback" not in shown.output + shown.stderr
    assert "cannot be read: it was altered or damaged" in shown.stderr


def test_a_state_swapped_for_another_valid_one_is_reported(run: Cli) -> None:
    """A sealed state that still decrypts — another case's, or this case's older one — is caught by the keyed
    state hash, which the authenticated encryption alone cannot do."""
    case = _case(run)
    other = run.json("start", "claim_review", "--as", "clerk")["id"]
    db = _database(run)
    with db.begin() as conn:
        state = conn.scalar(select(InstanceModel.state).where(InstanceModel.id == other))
        conn.execute(update(InstanceModel).where(InstanceModel.id == case).values(state=state))
    db.dispose()
    output = _verify_fails(run, f"DAMAGED case {case}: the stored state is not the one its last history event "
                                "recorded (keyed hash mismatch)")
    assert f"DAMAGED case {other}" not in output


# --- (c) money rows -----------------------------------------------------------------------------

def _demo_with_a_paid_claim(folder: Path, db_url: str) -> Cli:
    tool = Cli(folder, {})
    assert tool("init", "--demo", "--database-url", db_url).exit_code == 0
    inbox = tool.json("tasks", "--as", "claims.manager")
    task = next(t["id"] for t in inbox["tasks"] if t["name"] == "Approve payout")
    tool.json("complete", str(task), "--as", "claims.manager", "--data", '{"approved": true, "reason": "ok"}')
    return tool


def test_an_edited_payment_row_is_reported(db_url: str, tmp_path: Path) -> None:
    run = _demo_with_a_paid_claim(tmp_path / "instance", db_url)
    verified = run.json("verify")
    assert verified["ok"] is True and verified["row_problems"] == [] and verified["sealed_rows"] >= 1
    db = _database(run)
    with db.begin() as conn:
        payment_id = conn.exec_driver_sql("SELECT id FROM payments WHERE status = 'accepted' ORDER BY id").scalar()
        conn.exec_driver_sql(f"UPDATE payments SET amount = amount + 10000 WHERE id = {payment_id}")
    db.dispose()
    _verify_fails(run, f"EDITED payments row {payment_id}: edited after it was recorded")


def test_a_payment_status_changed_in_sql_and_a_row_inserted_in_sql_are_reported(db_url: str, tmp_path: Path) -> None:
    run = _demo_with_a_paid_claim(tmp_path / "instance", db_url)
    db = _database(run)
    with db.begin() as conn:
        payment_id = conn.exec_driver_sql("SELECT id FROM payments WHERE status = 'accepted' ORDER BY id").scalar()
        conn.exec_driver_sql(f"UPDATE payments SET status = 'failed' WHERE id = {payment_id}")
        conn.exec_driver_sql(
            "INSERT INTO payments (idempotency_key, kind, claim_id, policy_id, amount, payee_account_enc, status, "
            "attempts, created_at, updated_at) SELECT 'forged:1', kind, claim_id, policy_id, amount, "
            f"payee_account_enc, 'pending', 0, created_at, updated_at FROM payments WHERE id = {payment_id}")
        forged = conn.exec_driver_sql("SELECT id FROM payments WHERE idempotency_key = 'forged:1'").scalar()
    db.dispose()
    _verify_fails(run, f"EDITED payments row {payment_id}: edited after it was recorded",
                  f"EDITED payments row {forged}: not recorded by any step of any case")


def test_a_payment_redirected_to_another_account_in_sql_is_reported(db_url: str, tmp_path: Path) -> None:
    """The gateway's ledger compares amounts and outcomes only: the payee's account, changed in SQL after the
    payment, was seen by nothing before the seal."""
    run = _demo_with_a_paid_claim(tmp_path / "instance", db_url)
    db = _database(run)
    with db.begin() as conn:
        payment_id = conn.exec_driver_sql("SELECT id FROM payments WHERE status = 'accepted' ORDER BY id").scalar()
        conn.execute(update(PaymentRecord).where(PaymentRecord.id == payment_id)
                     .values(payee_account_enc=b"gAAAA-the-insider's-own-account"))
    db.dispose()
    _verify_fails(run, f"EDITED payments row {payment_id}: edited after it was recorded")


# --- (d) rehashed edits, no manual checkpoint ---------------------------------------------------

def test_a_rehashed_actor_and_time_edit_is_caught_without_any_checkpoint(run: Cli) -> None:
    case = _case(run)
    db = _database(run)

    def edit(event: EventModel) -> None:
        if event.seq == 2:
            event.actor = "mallory"
            event.occurred_at = event.occurred_at - timedelta(days=3)

    _rehash_unkeyed(db, case, edit)
    db.dispose()
    assert not (run.folder / "checkpoints").exists()  # neither the worker's nor a manual one
    # Even rewritten entirely by the old rule, to pass for a chain from before the keyed one, it is refused:
    # its events were written after the switch-over.
    _verify_fails(run, f"BROKEN instance {case} event #1: forged: an event without the audit key's seal written "
                       "after the switch-over to the keyed chain")


def test_a_rehashed_edit_of_one_event_in_a_keyed_chain_is_caught(run: Cli) -> None:
    case = _case(run)
    db = _database(run)
    with Session(db) as session:  # keep every key id: the insider recomputes with sha256, as before
        prev = GENESIS
        for event in session.scalars(select(EventModel).where(EventModel.instance_id == case)
                                     .order_by(EventModel.seq)):
            if event.seq == 2:
                event.actor = "mallory"
            event.prev_hash = prev
            event.hash = prev = event_hash(prev, case, event.seq, event.type, event.occurred_at, event.actor,
                                           event.task_key, event.payload)
        session.execute(update(InstanceModel).where(InstanceModel.id == case).values(last_hash=prev))
        session.commit()
    db.dispose()
    _verify_fails(run, f"BROKEN instance {case} event #1: content altered (hash mismatch)")


# --- (e) the worker's signed checkpoints --------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_workers_signed_checkpoint_is_used_automatically_and_catches_a_truncated_chain(
        run: Cli, tmp_path: Path) -> None:
    ship = tmp_path / "shipped"
    config = run.folder / "insureflow.toml"
    config.write_text(config.read_text() + f'checkpoint_ship_folder = "{ship}"\n')  # [audit] is the last table
    case = _case(run)
    assert "no signed checkpoint yet" in run("verify").output
    worked = run.json("worker", "--once")
    (written,) = sorted((run.folder / "checkpoints").iterdir())
    assert worked["checkpoint"] == written.name
    assert _mode(run.folder / "checkpoints") == 0o700 and _mode(written) == 0o600
    assert (ship / written.name).read_bytes() == written.read_bytes()  # shipped elsewhere as well
    assert _mode(run.folder / "keys" / "checkpoint_ed25519.key") == 0o600
    assert (run.folder / "keys" / "checkpoint_ed25519.pub").exists()
    assert run.json("worker", "--once")["checkpoint"] is None  # the next is due in 10 minutes
    verified = run.json("verify")
    assert verified["ok"] and verified["signed_checkpoint"]["file"] == written.name
    assert verified["signed_checkpoint"]["problem"] is None
    assert f"signed checkpoint {written.name}: ok" in run("verify").output

    # Truncation: the last event removed and the head moved back — a chain consistent in itself.
    db = _database(run)
    seq, _ = _head(db, case)
    with db.begin() as conn:
        previous = conn.scalar(select(EventModel.hash).where(EventModel.instance_id == case,
                                                             EventModel.seq == seq - 1))
        conn.execute(delete(EventModel).where(EventModel.instance_id == case, EventModel.seq == seq))
        conn.execute(update(InstanceModel).where(InstanceModel.id == case).values(last_seq=seq - 1,
                                                                                   last_hash=previous))
    db.dispose()
    _verify_fails(run, f"CHECKPOINT instance {case} event #{seq}: its history now ends at event #{seq - 1}")


def test_a_checkpoint_whose_signature_does_not_verify_is_reported(run: Cli) -> None:
    _case(run)
    run.json("checkpoint")
    (written,) = sorted((run.folder / "checkpoints").iterdir())
    document = json.loads(written.read_text())
    document["checkpoint"]["heads"] = {}  # an edited checkpoint: the heads an attacker would like
    written.write_text(json.dumps(document))
    _verify_fails(run, f"SIGNED CHECKPOINT {written.name}: its signature does not verify")


# --- (f) chains from before the switch-over -----------------------------------------------------

def _upgraded(run: Cli, *cases: int) -> None:
    """As if `cases` were written before migration 0019 and this is the first start after the upgrade: every
    event of theirs by the legacy rule, and the switch-over recorded anew at the current last event."""
    db = _database(run)
    for case in cases:
        _rehash_unkeyed(db, case)
    db.dispose()
    (run.folder / "keys" / "audit-keyring" / "switch-over.json").unlink()


def test_a_chain_from_before_the_switch_over_still_verifies_and_is_not_extended_by_the_old_rule(run: Cli) -> None:
    case = _case(run)
    legacy = run.json("start", "claim_review", "--as", "clerk")["id"]
    _upgraded(run, case, legacy)
    verified = run.json("verify")
    assert verified["ok"] is True and verified["legacy_events"] == verified["events"]

    # The case goes on: its next events are keyed, from where the old rule stops.
    other = run.json("tasks", "--as", "mgr")["tasks"]
    assert other, "the fixture's approval waits for a manager"
    run.json("claim", str(other[0]["id"]), "--as", "mgr")
    verified = run.json("verify")
    assert verified["ok"] is True and 0 < verified["legacy_events"] < verified["events"]

    # A still-legacy chain cannot be extended by the old rule: its new event comes after the switch-over.
    run.json("checkpoint")
    assert run.json("verify")["ok"] is True
    db = _database(run)
    seq = _append_unkeyed(db, legacy)
    db.dispose()
    _verify_fails(run, f"BROKEN instance {legacy} event #{seq}: forged: an event without the audit key's seal "
                       "written after the switch-over to the keyed chain")


# --- the audit key ------------------------------------------------------------------------------

def test_the_audit_key_is_kept_apart_rotated_and_old_events_still_verify(run: Cli) -> None:
    keys = run.folder / "keys"
    assert _mode(keys / "audit.key") == 0o600 and (keys / "audit.key").read_bytes() != (keys / "data.key").read_bytes()
    case = _case(run)
    before = run.json("audit-key", "show")
    rotated = run.json("audit-key", "rotate")
    assert rotated["previous"] == before["current"] and rotated["current"] != before["current"]
    assert set(run.json("audit-key", "show")["ring"]) == {before["current"], rotated["current"]}
    assert all(_mode(p) == 0o600 for p in (keys / "audit-keyring").iterdir())
    run.json("claim", str(run.json("tasks", "--as", "mgr")["tasks"][0]["id"]), "--as", "mgr")
    db = _database(run)
    with db.connect() as conn:
        used = [k for (k,) in conn.execute(select(EventModel.key_id).where(EventModel.instance_id == case)
                                           .order_by(EventModel.seq))]
    db.dispose()
    assert used[0] == before["current"] and used[-1] == rotated["current"]
    assert run.json("verify")["ok"] is True

    (keys / "audit-keyring" / f"{before['current']}.key").unlink()  # a lost key ring: named, not a traceback
    _verify_fails(run, f"chained with audit key {before['current']}, which is not in the key ring")
