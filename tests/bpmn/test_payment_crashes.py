"""A payment leaves the insurer once even when the process dies after the bank accepted it and before
its answer was recorded: every step that can pay is killed at that moment, and the case recovers.

The intent — the pending payment and the open external call — is committed with the step before the
gateway is called. The kill is a KeyboardInterrupt raised right after the simulated gateway took the
payment (or right before the answer's commit): a BaseException leaves the process's work without a
commit, as a SIGKILL or a failed commit would. The step itself is not lost and cannot be sent again;
the worker takes the call over once its lease has run out, asks the gateway what it holds for the key,
and records that answer: the claim is paid once, and the history says the answer was read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.errors import ConflictError
from engine.workflow import effects, incidents
from engine.workflow.actors import OPERATOR
from engine.workflow.models import EffectModel, IncidentModel
from tasks.payment_gateway import SimulatedGateway
from tasks.payment_records import PaymentRecord
from tasks.records import ClaimRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import (
    approval,
    assert_replays,
    assessment,
    claim_at_approval,
    claim_at_assessment,
    claim_payments,
    claim_with_declined_payment,
    events,
    open_keys,
    policy,
    resolution,
    the_claim,
)
from tests.bpmn.test_termination_scenarios import (
    BIG,
    BIG_SURRENDER_VALUE,
    LIFE,
    LIFE_SURRENDER_VALUE,
    assert_terminated,
    at_finance,
    decision,
    refund_at_approval,
    refund_declined,
    refunds,
)

LEASE = 45  # seconds: EngineSettings.effect_grace_seconds


class Killed(KeyboardInterrupt):
    """The process died: nothing it was doing is committed."""


@contextmanager
def killed_after_the_bank_accepts(gateway: SimulatedGateway) -> Iterator[None]:
    """The next payment is made at the gateway, then the process dies before the answer is recorded."""
    real_pay = gateway.pay

    def pay_then_die(key: str, amount: Decimal, account: str, purpose: str) -> object:
        real_pay(key, amount, account, purpose)
        raise Killed(f"killed after the gateway accepted {key}")

    gateway.pay = pay_then_die  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            yield
    finally:
        gateway.pay = real_pay  # type: ignore[method-assign]
    assert len(gateway.paid) >= 1


def paid_at_the_gateway(gateway: SimulatedGateway) -> list[tuple[str, Decimal]]:
    return sorted((key, amount) for key, (amount, _purpose) in gateway.paid.items())


def payout_key(claim: ClaimRecord, attempt: int) -> str:
    """The gateway key of a claim's payout attempt: its committed business identity."""
    return f"claim:{claim.number}:{claim.uid[:12]}:payout:{attempt}"


def refund_key(insurer: Insurer, number: str, attempt: int) -> str:
    """The gateway key of a policy's refund attempt."""
    return f"policy:{number}:{policy(insurer, number).uid[:12]}:refund:{attempt}"


def open_effects(insurer: Insurer, case: int) -> list[tuple[str, str]]:
    """(step, key) of the case's external calls not yet settled."""
    with insurer.rt.uow(read_only=True) as uow:
        return [(e.task_key, e.key) for e in uow.session.scalars(select(EffectModel).where(
            EffectModel.instance_id == case, EffectModel.status == "open"))]


def recovered_by_the_worker(insurer: Insurer, case: int, step: str, task: str) -> None:
    """After the kill: the step is committed and cannot be sent again, the case waits for its call, and
    the worker — only once the dead process's lease has run out — reads the gateway's answer back."""
    assert step not in open_keys(insurer, case)
    with pytest.raises(ConflictError):  # what a client resending the request gets: nothing runs twice
        _resend(insurer, case)
    assert insurer.status(case) == "waiting"
    assert [t for t, _key in open_effects(insurer, case)] == [task]
    assert insurer.wait(seconds=LEASE - 5).effects_settled == 0  # the committing process may still be at it
    assert insurer.wait(seconds=10).effects_settled == 1
    assert open_effects(insurer, case) == []
    (settled,) = [e for e in events(insurer, case, "effect_settled") if e["task"] == task][-1:]
    assert settled["payload"]["outcome"]["reconciled"] is True  # the history says it was read back
    assert settled["payload"]["result"]["reconciled"] is True


def _resend(insurer: Insurer, case: int) -> None:
    """Send the completed step's request again, as a client that lost the answer would."""
    from engine.workflow import task_service
    from engine.workflow.models import HumanTaskModel

    with insurer.rt.uow(read_only=True) as uow:
        done = uow.session.scalars(select(HumanTaskModel).where(
            HumanTaskModel.instance_id == case, HumanTaskModel.status == "completed")
            .order_by(HumanTaskModel.id.desc())).first()
    task_service.complete(insurer.rt, done.id, insurer.actor(done.completed_by), {})


# --- claims -------------------------------------------------------------------------------------

def test_the_intent_is_committed_before_the_gateway_is_called(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    seen = []
    real_pay = insurer.gateway.pay

    def pay_and_look(key: str, amount: Decimal, account: str, purpose: str) -> object:
        with insurer.rt.uow(read_only=True) as uow:  # another connection: only what is committed
            seen.append(([(p.idempotency_key, p.amount, p.status) for p in uow.session.scalars(select(PaymentRecord))],
                         [(e.key, e.status) for e in uow.session.scalars(select(EffectModel))]))
        return real_pay(key, amount, account, purpose)

    insurer.gateway.pay = pay_and_look  # type: ignore[method-assign]
    assert insurer.complete(case, "assess_amount", "adjuster", assessment(7_500)) == "completed"

    key = payout_key(the_claim(insurer, case), 1)
    assert seen == [([(key, Decimal("7500.00"), "pending")], [(key, "open")])]
    kinds = [e["type"] for e in insurer.history(case) if e["task"] == "svc_pay_claim"]
    assert kinds == ["effect_intended", "effect_settled"]
    assert_replays(insurer, case)


def test_an_assessment_killed_after_the_payout_pays_once(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    claim = the_claim(insurer, case)
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "pending")]  # the intent

    recovered_by_the_worker(insurer, case, "assess_amount", "svc_pay_claim")

    assert insurer.status(case) == "completed"
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7500.00"))]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert_replays(insurer, case)


def test_an_approval_killed_after_the_payout_pays_once(insurer: Insurer) -> None:
    case = claim_at_approval(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "approve_payout", "manager", approval(True))

    recovered_by_the_worker(insurer, case, "approve_payout", "svc_pay_claim")

    claim = the_claim(insurer, case)
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("59500.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("59500.00"), "accepted")]
    assert claim.status == "paid" and insurer.status(case) == "completed"
    assert_replays(insurer, case)


def test_a_finance_retry_killed_after_the_payout_pays_once(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)
    retry = resolution("retry", "Claimant reopened the account.")
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "resolve_payment_failure", "finance", retry)

    recovered_by_the_worker(insurer, case, "resolve_payment_failure", "svc_pay_claim")

    claim = the_claim(insurer, case)
    # attempt 1 was declined (its key is spent); the retry is attempt 2, paid once
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 2), Decimal("7500.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed"),
                                              ("claim_payout", Decimal("7500.00"), "accepted")]
    assert claim.status == "paid"
    assert_replays(insurer, case)


def test_a_process_killed_before_it_recorded_the_banks_answer_pays_once(
        insurer: Insurer, monkeypatch: pytest.MonkeyPatch) -> None:
    case = claim_at_assessment(insurer)
    real_settle = effects._settle

    def die_before_recording(*args: object, **kwargs: object) -> str:
        raise Killed("killed with the bank's answer in hand")

    monkeypatch.setattr(effects, "_settle", die_before_recording)
    with pytest.raises(Killed):
        insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    monkeypatch.setattr(effects, "_settle", real_settle)

    recovered_by_the_worker(insurer, case, "assess_amount", "svc_pay_claim")

    claim = the_claim(insurer, case)
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7500.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert_replays(insurer, case)


def test_an_operators_retry_after_no_answer_reads_the_payment_back(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    insurer.gateway.script = ["accept_then_timeout"]  # paid, and the answer lost
    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    assert insurer.status(case) == "incident"
    with insurer.rt.uow(read_only=True) as uow:
        incident = uow.session.scalars(select(IncidentModel).where(IncidentModel.instance_id == case)).one()

    view = incidents.retry_incident(insurer.rt, incident.id, OPERATOR)

    assert view.status == "resolved" and insurer.status(case) == "completed"
    claim = the_claim(insurer, case)
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7500.00"))]
    (settled,) = events(insurer, case, "effect_settled")
    assert settled["payload"]["outcome"]["reconciled"] is True
    assert [e["type"] for e in insurer.history(case)][-4:] == [
        "handler_executed", "handler_executed", "incident_resolved", "instance_completed"]
    assert_replays(insurer, case)


def test_an_answer_that_does_not_match_the_intent_is_an_incident_not_a_payment(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    claim = the_claim(insurer, case)
    # The gateway already holds this claim's key for another amount (booked by hand, or a bug elsewhere).
    insurer.gateway.paid[payout_key(claim, 1)] = (Decimal("7000.00"), "claim by hand")

    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))

    assert insurer.status(case) == "incident"
    (raised,) = events(insurer, case, "incident_raised")
    assert raised["task"] == "svc_pay_claim"
    assert "7000.00" in raised["payload"]["error"] and "7500.00" in raised["payload"]["error"]
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7000.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "pending")]
    assert the_claim(insurer, case).paid_amount is None
    assert_replays(insurer, case)


# --- refunds ------------------------------------------------------------------------------------

def test_a_small_refund_approval_killed_after_the_refund_pays_once(insurer: Insurer) -> None:
    case = at_finance(insurer)  # every refund is approved by finance: the payment starts there
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "approve_refund", "finance", decision(True))

    recovered_by_the_worker(insurer, case, "approve_refund", "svc_pay_refund")

    assert paid_at_the_gateway(insurer.gateway) == [(refund_key(insurer, LIFE, 1), Decimal(str(LIFE_SURRENDER_VALUE)))]
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "accepted")]
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


def test_a_refund_approval_killed_after_the_refund_pays_once(insurer: Insurer) -> None:
    case = refund_at_approval(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "approve_refund", "finance", decision(True))

    recovered_by_the_worker(insurer, case, "approve_refund", "svc_pay_refund")

    assert paid_at_the_gateway(insurer.gateway) == [(refund_key(insurer, BIG, 1), Decimal(str(BIG_SURRENDER_VALUE)))]
    assert refunds(insurer, BIG) == [(Decimal("184000.00"), "accepted")]
    assert_replays(insurer, case)


def test_a_refund_retry_killed_after_the_refund_pays_once(insurer: Insurer) -> None:
    case = refund_declined(insurer)
    retry = {"action": "retry", "note": "Holder reactivated the account."}  # the termination's finance form
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "resolve_refund_failure", "finance", retry)

    recovered_by_the_worker(insurer, case, "resolve_refund_failure", "svc_pay_refund")

    assert paid_at_the_gateway(insurer.gateway) == [(refund_key(insurer, LIFE, 2), Decimal("4560.00"))]
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed"), (Decimal("4560.00"), "accepted")]
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


# --- premiums -----------------------------------------------------------------------------------

def test_a_premium_payment_killed_before_its_commit_is_recorded_once_when_submitted_again(
        insurer: Insurer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Collecting a premium calls no one outside: the payment the agent took is recorded in the step's own
    transaction, so a crash undoes the record with the submission and the resubmission records it once."""
    from engine.workflow import task_service
    from tasks.payment_records import PremiumPaymentRecord
    from tests.bpmn.test_sales_scenarios import payment, sale_at_terms

    sale = sale_at_terms(insurer)
    insurer.complete(sale, "accept_terms", "agent", {"accepted": True})
    real_persist = task_service.persist

    def die_before_the_commit(*args: object) -> None:
        real_persist(*args)
        raise Killed("killed before the premium step committed")

    monkeypatch.setattr(task_service, "persist", die_before_the_commit)
    with pytest.raises(Killed):
        insurer.complete(sale, "premium_payment", "agent", payment())
    monkeypatch.setattr(task_service, "persist", real_persist)
    assert open_keys(insurer, sale) == ["premium_payment"]  # nothing of the step was committed

    insurer.complete(sale, "premium_payment", "agent", payment())

    with insurer.rt.uow(read_only=True) as uow:
        assert len(uow.session.scalars(select(PremiumPaymentRecord)).all()) == 1
    assert_replays(insurer, sale)


# --- a bank that does not answer in time --------------------------------------------------------

def test_a_call_that_outlives_its_time_limit_stays_an_open_intent_and_is_read_back_not_repeated(
        insurer: Insurer) -> None:
    import dataclasses
    import threading

    insurer.rt.settings = dataclasses.replace(insurer.rt.settings, effect_timeout_seconds=0.2)
    case = claim_at_assessment(insurer)
    released, real_pay = threading.Event(), insurer.gateway.pay

    def slow_pay(key: str, amount: Decimal, account: str, purpose: str) -> object:
        answer = real_pay(key, amount, account, purpose)  # the bank books it at once, and answers late
        released.wait(10)
        return answer

    insurer.gateway.pay = slow_pay  # type: ignore[method-assign]
    try:
        insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))  # returns after 0.2 s
        assert insurer.status(case) == "incident"
        (raised,) = events(insurer, case, "incident_raised")
        assert raised["task"] == "svc_pay_claim" and "no answer within 0.2 s" in raised["payload"]["error"]
        assert [t for t, _key in open_effects(insurer, case)] == ["svc_pay_claim"]
    finally:
        released.set()
        insurer.gateway.pay = real_pay  # type: ignore[method-assign]

    assert insurer.wait(seconds=61).incidents_retried == 1  # the worker asks again: the bank holds it
    assert insurer.status(case) == "completed"
    claim = the_claim(insurer, case)
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7500.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert events(insurer, case, "effect_settled")[0]["payload"]["outcome"]["reconciled"] is True
    assert_replays(insurer, case)
