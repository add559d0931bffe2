"""Matching the gateway's ledger with the payments table: every kind of disagreement is named."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tasks.gateway_ledger import LedgerEntry
from tasks.payment_ledger import reconcile, subject_prefix
from tasks.payment_records import PaymentRecord
from tests.domain.test_payout import PAYOUT_1, PAYOUT_2, REFUND_1, case

__all__ = ["case"]


def booked(key: str, outcome: str = "accepted", amount: str = "100.00") -> LedgerEntry:
    return LedgerEntry(key, outcome, Decimal(amount), "p", "2026-11-02T09:00:00+00:00")


def record(domain, case, key: str, status: str, amount: str = "100.00", age: timedelta = timedelta()) -> None:
    at = domain.clock.now - age
    case.session.add(PaymentRecord(idempotency_key=key, kind="claim_payout", claim_id=case.claim.id,
                                   policy_id=case.policy.id, amount=Decimal(amount), payee_account_enc=b"x",
                                   status=status, attempts=1, created_at=at, updated_at=at))
    case.session.flush()


def problems(domain, case, entries: list[LedgerEntry], prefix: str = "") -> dict[str, str | None]:
    return {line.key: line.problem for line in reconcile(case.session, entries, domain.clock.now, prefix)}


def test_agreeing_sides_have_no_problem(domain, case) -> None:
    record(domain, case, PAYOUT_1, "failed")
    record(domain, case, PAYOUT_2, "accepted")
    entries = [booked(PAYOUT_1, "declined"), booked(PAYOUT_2)]
    assert problems(domain, case, entries) == {PAYOUT_1: None, PAYOUT_2: None}


def test_money_that_left_without_a_record_is_named(domain, case) -> None:
    assert problems(domain, case, [booked(PAYOUT_1)]) == {
        PAYOUT_1: "accepted at the gateway, no payment in the database"}
    assert problems(domain, case, [booked(PAYOUT_1, "declined")]) == {PAYOUT_1: None}  # nothing left


def test_a_recorded_payment_the_gateway_never_booked_is_named_unless_it_predates_the_ledger(domain, case) -> None:
    record(domain, case, PAYOUT_1, "accepted")
    record(domain, case, "41:0f4c2d9e-step-uuid", "accepted")
    assert problems(domain, case, []) == {PAYOUT_1: "recorded accepted, the gateway never booked it",
                                          "41:0f4c2d9e-step-uuid": None}


def test_different_outcomes_and_amounts_are_named(domain, case) -> None:
    record(domain, case, PAYOUT_1, "accepted", "100.00")
    record(domain, case, PAYOUT_2, "accepted", "100.00")
    entries = [booked(PAYOUT_1, "declined"), booked(PAYOUT_2, amount="90.00")]
    assert problems(domain, case, entries) == {PAYOUT_1: "recorded accepted, declined at the gateway",
                                               PAYOUT_2: "recorded 100.00, 90.00 at the gateway"}


def test_a_payment_pending_too_long_is_named(domain, case) -> None:
    record(domain, case, PAYOUT_1, "pending", age=timedelta(minutes=16))
    record(domain, case, PAYOUT_2, "pending", age=timedelta(minutes=1))
    found = problems(domain, case, [])
    assert found[PAYOUT_1].startswith("pending since") and found[PAYOUT_2] is None


def test_one_claim_or_policy_is_looked_at_by_its_prefix(domain, case) -> None:
    prefix = subject_prefix(case.session, claim_number="C20261001000001")
    assert PAYOUT_1.startswith(prefix) and not REFUND_1.startswith(prefix)
    assert REFUND_1.startswith(subject_prefix(case.session, policy_number="P000000001"))
    assert subject_prefix(case.session, claim_number="C0") is None
    entries = [booked(PAYOUT_1), booked(REFUND_1)]
    assert list(problems(domain, case, entries, prefix)) == [PAYOUT_1]
