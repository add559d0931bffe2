"""A payment leaves the insurer once even when the process dies after the bank accepted it and before
the commit: every step that can pay is killed at that moment and run again.

The kill is a KeyboardInterrupt raised right after the simulated gateway took the payment: a
BaseException leaves the unit of work without a commit, as a SIGKILL or a failed commit would. What the
step wrote is gone; only the gateway remembers. Running the step again must find the same payment
under the same key and pay nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest

from tasks.payment_gateway import SimulatedGateway
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
    decision,
    refund_at_approval,
    refund_declined,
    refunds,
    request_form,
)


class Killed(KeyboardInterrupt):
    """The process died: nothing the step did is committed."""


@contextmanager
def killed_after_the_bank_accepts(gateway: SimulatedGateway) -> Iterator[None]:
    """The next payment is made at the gateway, then the process dies before it can commit."""
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


# --- claims -------------------------------------------------------------------------------------

def test_an_assessment_killed_after_the_payout_pays_once_when_submitted_again(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    assert open_keys(insurer, case) == ["assess_amount"]  # nothing of the step was committed
    claim = the_claim(insurer, case)
    assert claim_payments(insurer, claim) == []

    assert insurer.complete(case, "assess_amount", "adjuster", assessment(7_500)) == "completed"

    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7500.00"))]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    (paid,) = [e for e in events(insurer, case, "handler_executed") if e["task"] == "svc_pay_claim"]
    assert paid["payload"]["result"]["reconciled"] is True  # the case's history says it was read back
    assert_replays(insurer, case)


def test_an_approval_killed_after_the_payout_pays_once_when_submitted_again(insurer: Insurer) -> None:
    case = claim_at_approval(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "approve_payout", "manager", approval(True))
    assert open_keys(insurer, case) == ["approve_payout"]

    assert insurer.complete(case, "approve_payout", "manager", approval(True)) == "completed"

    claim = the_claim(insurer, case)
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("59500.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("59500.00"), "accepted")]
    assert claim.status == "paid"
    assert_replays(insurer, case)


def test_a_finance_retry_killed_after_the_payout_pays_once_when_submitted_again(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)
    retry = resolution("retry", "Claimant reopened the account.")
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "resolve_payment_failure", "finance", retry)
    assert open_keys(insurer, case) == ["resolve_payment_failure"]

    assert insurer.complete(case, "resolve_payment_failure", "finance", retry) == "completed"

    claim = the_claim(insurer, case)
    # attempt 1 was declined (its key is spent); the retry is attempt 2, paid once
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 2), Decimal("7500.00"))]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed"),
                                              ("claim_payout", Decimal("7500.00"), "accepted")]
    assert claim.status == "paid"
    assert_replays(insurer, case)


def test_a_step_run_again_with_another_amount_after_a_payout_is_an_incident_not_a_second_payment(
        insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))

    insurer.complete(case, "assess_amount", "adjuster", assessment(7_000))

    assert insurer.status(case) == "incident"
    (raised,) = events(insurer, case, "incident_raised")
    assert raised["task"] == "svc_pay_claim"
    assert "already holds" in raised["payload"]["error"] and "7500.00" in raised["payload"]["error"]
    claim = the_claim(insurer, case)
    assert paid_at_the_gateway(insurer.gateway) == [(payout_key(claim, 1), Decimal("7500.00"))]
    assert claim_payments(insurer, claim) == []
    assert claim.paid_amount is None


# --- refunds ------------------------------------------------------------------------------------

def test_a_termination_request_killed_after_the_refund_pays_once_when_submitted_again(insurer: Insurer) -> None:
    case = insurer.start("policy_termination", "agent")
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "termination_request", "agent", request_form())
    assert open_keys(insurer, case) == ["termination_request"]

    assert insurer.complete(case, "termination_request", "agent", request_form()) == "completed"

    assert paid_at_the_gateway(insurer.gateway) == [(refund_key(insurer, LIFE, 1), Decimal(str(LIFE_SURRENDER_VALUE)))]
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "accepted")]
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


def test_a_refund_approval_killed_after_the_refund_pays_once_when_submitted_again(insurer: Insurer) -> None:
    case = refund_at_approval(insurer)
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "approve_refund", "finance", decision(True))
    assert open_keys(insurer, case) == ["approve_refund"]

    assert insurer.complete(case, "approve_refund", "finance", decision(True)) == "completed"

    assert paid_at_the_gateway(insurer.gateway) == [(refund_key(insurer, BIG, 1), Decimal(str(BIG_SURRENDER_VALUE)))]
    assert refunds(insurer, BIG) == [(Decimal("184000.00"), "accepted")]
    assert_replays(insurer, case)


def test_a_refund_retry_killed_after_the_refund_pays_once_when_submitted_again(insurer: Insurer) -> None:
    case = refund_declined(insurer)
    retry = resolution("retry", "Holder reactivated the account.")
    with killed_after_the_bank_accepts(insurer.gateway):
        insurer.complete(case, "resolve_refund_failure", "finance", retry)
    assert open_keys(insurer, case) == ["resolve_refund_failure"]

    assert insurer.complete(case, "resolve_refund_failure", "finance", retry) == "completed"

    assert paid_at_the_gateway(insurer.gateway) == [(refund_key(insurer, LIFE, 2), Decimal("4560.00"))]
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed"), (Decimal("4560.00"), "accepted")]
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)
