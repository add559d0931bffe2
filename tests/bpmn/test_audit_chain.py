"""The keyed audit chain on the real processes (issue 13 finding 2): every event names its audit key and the
keyed hash of the state it left; money leaving the insurer — a surrender refund, a premium refund, each
attempt and each bank answer — is sealed into the event of the step that wrote it, and `verify` names a row
edited afterwards."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sqlalchemy import select, update

from engine import worker
from engine.audit.integrity import verify_all
from engine.workflow.actors import OPERATOR
from engine.workflow.checkpoints import PUBLIC_NAME, CheckpointStore, load_signing_key
from engine.workflow.models import EventModel, InstanceModel
from engine.workflow.sealed_rows import PAYLOAD_KEY
from tasks.payment_records import PaymentRecord
from tasks.sales_records import PremiumRefundRecord
from tests.bpmn.conftest import Insurer, insurer
from tests.bpmn.test_sales_controls import THIRD_PARTY, refused_by_two_officers
from tests.bpmn.test_sales_scenarios import assert_replays
from tests.bpmn.test_termination_scenarios import terminated_through
from tests.tamper import rechain

__all__ = ["insurer"]


def _events(insurer: Insurer, case: int) -> list[EventModel]:
    with insurer.rt.uow() as uow:
        return list(uow.session.scalars(select(EventModel).where(EventModel.instance_id == case)
                                        .order_by(EventModel.seq)))


def _sealed(insurer: Insurer, case: int) -> list[tuple[str, str | None, dict[str, str]]]:
    """(event type, task, sealed rows) of every event of the case that sealed rows."""
    found = []
    for event in _events(insurer, case):
        rows = json.loads(event.payload).get(PAYLOAD_KEY)
        if rows:
            found.append((event.type, event.task_key, rows))
    return found


def test_every_event_names_its_audit_key_and_the_state_it_left(insurer: Insurer) -> None:
    case = terminated_through(insurer)
    keys = insurer.rt.audit_keys
    events = _events(insurer, case)
    assert {e.key_id for e in events} == {keys.current}
    with insurer.rt.uow() as uow:
        state = uow.session.scalar(select(InstanceModel.state).where(InstanceModel.id == case))
    assert events[-1].state_hash == keys.mac(state)  # the stored state is the one the last event left
    assert len({e.state_hash for e in events}) > 1  # each step records the state it produced
    assert verify_all(insurer.rt, OPERATOR).ok


def test_a_surrender_refund_is_sealed_by_its_intent_and_by_the_banks_answer_and_an_edit_is_reported(
        insurer: Insurer) -> None:
    case = terminated_through(insurer)
    [paid] = [p for p in _rows(insurer, PaymentRecord)]
    key = f"payments:{paid.id}"
    sealed = [(kind, task, rows[key]) for kind, task, rows in _sealed(insurer, case) if key in rows]
    assert [(kind, task) for kind, task, _seal in sealed] == [("effect_intended", "svc_pay_refund"),
                                                            ("effect_settled", "svc_pay_refund")]
    assert sealed[0][2] != sealed[1][2]  # pending, then accepted: the answer is sealed again
    report = verify_all(insurer.rt, OPERATOR)
    assert report.ok and report.rows.checked == 1 and report.rows.problems == []

    with insurer.rt.uow() as uow:
        uow.session.execute(update(PaymentRecord).where(PaymentRecord.id == paid.id)
                            .values(amount=paid.amount * 10))
        uow.commit()
    report = verify_all(insurer.rt, OPERATOR)
    assert not report.ok
    [problem] = report.rows.problems
    assert str(problem) == (f"payments row {paid.id}: edited after it was recorded: its amount, account, status or "
                            f"references are not what case {case} event #{_seq_of(insurer, case, 'effect_settled')} "
                            "sealed")
    assert_replays(insurer, case)  # replay is untouched by the seals


def test_each_premium_refund_attempt_is_sealed_and_a_failed_one_turned_accepted_is_reported(
        insurer: Insurer) -> None:
    sale = refused_by_two_officers(insurer, THIRD_PARTY)
    insurer.gateway.script = ["decline"]
    insurer.complete(sale, "file_str", "compliance", {"str_grounds": "A third party pays, no relation shown."})
    insurer.complete(sale, "resolve_premium_refund", "finance",
                     {"refund_action": "retry", "refund_note": "The bank reopened the account."})
    failed, accepted = _rows(insurer, PremiumRefundRecord)
    assert (failed.status, accepted.status) == ("failed", "accepted")
    keys = {key for _kind, _task, rows in _sealed(insurer, sale) for key in rows}
    assert {f"premium_refunds:{failed.id}", f"premium_refunds:{accepted.id}"} <= keys
    assert verify_all(insurer.rt, OPERATOR).ok

    with insurer.rt.uow() as uow:  # an insider books the declined attempt as paid
        uow.session.execute(update(PremiumRefundRecord).where(PremiumRefundRecord.id == failed.id)
                            .values(status="accepted", gateway_ref="GW-FORGED"))
        uow.commit()
    report = verify_all(insurer.rt, OPERATOR)
    assert [(p.table, p.row_id) for p in report.rows.problems] == [("premium_refunds", failed.id)]
    assert "edited after it was recorded" in report.rows.problems[0].reason
    assert_replays(insurer, sale)


def _rows(insurer: Insurer, model: type) -> list:
    with insurer.rt.uow() as uow:
        return list(uow.session.scalars(select(model).order_by(model.id)))


def _seq_of(insurer: Insurer, case: int, kind: str) -> int:
    return [e.seq for e in _events(insurer, case) if e.type == kind][-1]


class _StopAfterOneTick:
    """run_forever's stop: not set before the first tick, set after it (no clock, no thread)."""

    def __init__(self) -> None:
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked > 1


def test_the_worker_signs_a_checkpoint_when_it_starts_and_at_shutdown_and_verify_uses_the_latest(
        insurer: Insurer, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    store = CheckpointStore(tmp_path / "checkpoints", keys / PUBLIC_NAME, load_signing_key(keys), 10.0,
                            ship_folder=tmp_path / "shipped")
    rt = dataclasses.replace(insurer.rt, checkpoints=store)
    case = terminated_through(insurer)

    worker.run_forever(rt, interval=0, stop=_StopAfterOneTick())

    first, last = sorted(store.folder.iterdir())  # the start's (none was recent) and the shutdown's
    assert sorted(p.name for p in (tmp_path / "shipped").iterdir()) == [first.name, last.name]
    body = json.loads(last.read_text())["checkpoint"]
    assert body["heads"][str(case)]["seq"] == len(_events(insurer, case))
    assert body["audit_key"] == insurer.rt.audit_keys.current
    report = verify_all(rt, OPERATOR)
    assert report.ok and report.checkpoint_file == last.name and report.checkpoint is not None
    assert report.checkpoint.instances_checked >= 1 and report.checkpoint.problems == []


def test_a_history_rewritten_even_with_the_stolen_audit_key_is_caught_by_the_latest_signed_checkpoint(
        insurer: Insurer, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    store = CheckpointStore(tmp_path / "checkpoints", keys / PUBLIC_NAME, load_signing_key(keys))
    rt = dataclasses.replace(insurer.rt, checkpoints=store)
    case = terminated_through(insurer)
    worker.write_checkpoint(rt, worker.TickReport(), force=True)
    head = len(_events(insurer, case))

    def other_actor(event: EventModel, _payload: dict) -> None:
        if event.seq == 2:
            event.actor = "mallory"

    rechain(insurer.rt, case, other_actor)  # every hash recomputed with the audit key itself
    report = verify_all(rt, OPERATOR)
    assert report.chains.ok and not report.ok  # the chain alone cannot tell; the signed checkpoint can
    [problem] = report.checkpoint.problems
    assert (problem.kind, problem.id, problem.seq) == ("instance", case, head)
    assert "no longer has the hash the checkpoint recorded" in problem.reason
