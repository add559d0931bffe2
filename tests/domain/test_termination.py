"""Policy termination: the requester check, refunds in and after cooling-off, ending a policy, and a claim's effect."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import func, select

from tasks.handlers.payout import pay_claim
from tasks.handlers.termination import compute_refund, terminate_liability, terminate_policy, verify_requester
from tasks.office_records import NotificationRecord
from tasks.records import ClaimRecord, CustomerRecord, PolicyRecord, ProductRecord, SurrenderValueRecord
from tests.domain.test_payout import as_engine_step

_seq = count(1)
HOLDER_ID = "110101198001010011"
JAN_1 = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass
class Book:
    """A holder, a product with a surrender table, and a way to add policies and claims."""

    session: object
    holder: CustomerRecord
    cipher: object

    def policy(self, *, start: date = date(2023, 3, 15), end: date = date(2043, 3, 14), sum_insured: str = "100000",
               premiums_paid: str = "10000", cooling_off_end: date | None = None,
               status: str = "in_force") -> PolicyRecord:
        policy = PolicyRecord(number=f"P{next(_seq):09d}", product_code="LIFE20", holder_id=self.holder.id,
                              insured_id=self.holder.id, sum_insured=Decimal(sum_insured),
                              remaining_sum_insured=Decimal(sum_insured), annual_premium=Decimal("2000"),
                              term_years=20, start_date=start, end_date=end, cooling_off_end=cooling_off_end,
                              status=status, premiums_paid=Decimal(premiums_paid), issued_at=JAN_1)
        self.session.add(policy)
        self.session.flush()
        return policy

    def claim(self, policy: PolicyRecord, *, claim_type: str = "accident_medical", paid: str | None = None,
              incident: date = date(2026, 8, 8)) -> ClaimRecord:
        claim = ClaimRecord(number=f"C{next(_seq):014d}", policy_id=policy.id, claimant_id=self.holder.id,
                            incident_date=incident, claim_type=claim_type, claimed_amount=Decimal("1"),
                            payee_account_enc=self.cipher.encrypt("6222020000000077"),
                            payee_account_hash="h" * 64, region="shanghai",
                            status="approved", check_code="0011", reported_at=JAN_1,
                            paid_amount=Decimal(paid) if paid else None)
        self.session.add(claim)
        self.session.flush()
        return claim


@pytest.fixture
def book(domain) -> Iterator[Book]:
    cipher = domain.services.cipher
    with domain.session_factory() as session:
        holder = CustomerRecord(name="Sun Li", id_number_enc=cipher.encrypt(HOLDER_ID),
                                id_number_hash=cipher.lookup_hash(HOLDER_ID), birth_date=date(1980, 1, 1),
                                consent_at=JAN_1, created_at=JAN_1)
        session.add_all([holder, ProductRecord(code="LIFE20", name="Life", name_zh="寿险", line="life",
                                               risk_level="low", min_age=18, max_age=60,
                                               claim_types=["death", "accident_medical"], deductible=Decimal("0"))])
        session.flush()
        # Year 4 is missing on purpose: it uses year 3's percent.
        session.add_all([SurrenderValueRecord(product_code="LIFE20", policy_year=year, percent_of_premiums=Decimal(p))
                         for year, p in ((1, "0"), (2, "50"), (3, "70"), (5, "90"))])
        session.flush()
        yield Book(session, holder, cipher)


def notifications(session, template: str) -> int:
    return session.scalar(select(func.count(NotificationRecord.id)).where(NotificationRecord.template == template))


# --- verify_requester ----------------------------------------------------------------------------------


def test_verify_requester_accepts_the_holder_of_a_policy_in_force(domain, book):
    policy = book.policy()
    result = verify_requester(domain.ctx(book.session), policy.number, HOLDER_ID.lower())
    assert result == {"verified": True, "policy_id": policy.id, "customer_id": book.holder.id, "reasons": []}


def test_verify_requester_names_an_unknown_policy(domain, book):
    assert verify_requester(domain.ctx(book.session), "P-NONE", HOLDER_ID) == {
        "verified": False, "policy_id": None, "customer_id": None, "reasons": ["policy_not_found"]}


def test_verify_requester_lists_every_reason_to_refuse(domain, book):
    terminated = book.policy(status="terminated")
    expired = book.policy(end=date(2026, 11, 1))  # the clock says 2026-11-02
    ctx = domain.ctx(book.session)
    assert verify_requester(ctx, terminated.number, HOLDER_ID)["reasons"] == ["policy_not_in_force"]
    assert verify_requester(ctx, expired.number, "110101199001010022")["reasons"] == ["policy_not_in_force",
                                                                                     "not_policyholder"]


# --- compute_refund -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("request_date", "fee", "refund"), [
    ("2026-10-25", 10, 1990.0),
    ("2026-11-04", 10, 1990.0),  # the last day of cooling-off still counts
    ("2026-10-25", 5000, 0.0),  # a fee above the premiums never makes the refund negative
])
def test_a_cancellation_within_cooling_off_refunds_the_premiums_less_the_fee(domain, book, request_date, fee, refund):
    policy = book.policy(start=date(2026, 10, 20), premiums_paid="2000", cooling_off_end=date(2026, 11, 4))
    assert compute_refund(domain.ctx(book.session), policy.id, request_date, fee) == {
        "refund": refund, "in_cooling_off": True, "premiums_paid": 2000.0, "policy_year": 1}


@pytest.mark.parametrize(("request_date", "year", "refund"), [
    ("2023-11-01", 1, 0.0),  # year 1: 0 %
    ("2024-03-15", 2, 5000.0),  # the first anniversary starts year 2: 50 %
    ("2026-03-14", 3, 7000.0),  # the day before the third anniversary is still year 3: 70 %
    ("2026-03-15", 4, 7000.0),  # year 4 has no row: year 3's 70 %
    ("2028-06-01", 6, 9000.0),  # beyond the table: the last year's 90 %
])
def test_a_surrender_after_cooling_off_refunds_the_surrender_value_of_the_policy_year(domain, book, request_date,
                                                                                     year, refund):
    policy = book.policy(start=date(2023, 3, 15), premiums_paid="10000", cooling_off_end=date(2023, 3, 30))
    assert compute_refund(domain.ctx(book.session), policy.id, request_date, 10) == {
        "refund": refund, "in_cooling_off": False, "premiums_paid": 10000.0, "policy_year": year}


def test_a_surrender_value_is_rounded_to_the_cent(domain, book):
    policy = book.policy(premiums_paid="3333.33")
    assert compute_refund(domain.ctx(book.session), policy.id, "2024-06-01", 0)["refund"] == Decimal("1666.67")


def test_a_product_without_a_surrender_table_refunds_nothing_after_cooling_off(domain, book):
    book.session.add(ProductRecord(code="TERM1", name="Term", name_zh="定期寿险", line="life", risk_level="low",
                                   min_age=18, max_age=60, claim_types=["death"], deductible=Decimal("0")))
    book.session.flush()
    policy = book.policy()
    policy.product_code = "TERM1"
    book.session.flush()
    assert compute_refund(domain.ctx(book.session), policy.id, "2026-06-01", 0)["refund"] == 0.0


# --- terminate_policy ---------------------------------------------------------------------------------


def test_terminate_policy_ends_it_once_and_tells_the_holder_once(domain, book):
    policy = book.policy()
    ctx = domain.ctx(book.session)
    assert terminate_policy(ctx, policy.id, "surrender", "2026-11-02") == {"terminated": True, "reason": "surrender"}
    assert terminate_policy(ctx, policy.id, "death", "2026-11-05") == {"terminated": True, "reason": "surrender"}
    assert (policy.status, policy.terminated_reason, policy.terminated_on) == ("terminated", "surrender",
                                                                              date(2026, 11, 2))
    [note] = book.session.scalars(select(NotificationRecord))
    assert (note.template, note.customer_id, note.params) == (
        "policy_terminated", book.holder.id,
        {"policy_number": policy.number, "reason": "surrender", "effective_date": "2026-11-02"})


def test_terminate_policy_refuses_an_unknown_reason(domain, book):
    policy = book.policy()
    with pytest.raises(ValueError):
        terminate_policy(domain.ctx(book.session), policy.id, "boredom", "2026-11-02")
    assert policy.status == "in_force"


# --- terminate_liability ------------------------------------------------------------------------------


@pytest.mark.parametrize(("claim_type", "total_loss", "reason"), [
    ("death", False, "death"),
    ("accident_medical", True, "total_loss"),
])
def test_death_or_total_loss_terminates_the_policy_on_the_incident_date(domain, book, claim_type, total_loss, reason):
    policy = book.policy()
    claim = book.claim(policy, claim_type=claim_type, paid="20000")
    ctx = domain.ctx(book.session)
    for _ in range(2):  # a retry changes nothing
        assert terminate_liability(ctx, claim.id, 20000, total_loss) == {"policy_terminated": True,
                                                                         "remaining_sum_insured": 0.0}
    assert (policy.status, policy.terminated_reason, policy.terminated_on) == ("terminated", reason,
                                                                              date(2026, 8, 8))
    assert policy.remaining_sum_insured == 0
    assert notifications(book.session, "policy_terminated") == 1


def test_payouts_that_exhaust_the_sum_insured_terminate_the_policy(domain, book):
    policy = book.policy(sum_insured="100000")
    book.claim(policy, paid="60000")
    claim = book.claim(policy, paid="40000", incident=date(2026, 9, 1))
    assert terminate_liability(domain.ctx(book.session), claim.id, 40000, False) == {
        "policy_terminated": True, "remaining_sum_insured": 0.0}
    assert (policy.terminated_reason, policy.terminated_on) == ("exhausted", date(2026, 9, 1))


def test_a_partial_payout_reduces_the_remaining_sum_insured_once_per_claim(domain, book):
    policy = book.policy(sum_insured="100000")
    first = book.claim(policy, paid="20000")
    ctx = domain.ctx(book.session)
    for _ in range(2):  # applying the same claim again must not reduce the cover twice
        assert terminate_liability(ctx, first.id, 20000, False) == {"policy_terminated": False,
                                                                    "remaining_sum_insured": 80000.0}
    second = book.claim(policy, paid="10000.50")
    assert terminate_liability(ctx, second.id, 10000.50, False)["remaining_sum_insured"] == 69999.5
    assert (policy.status, policy.remaining_sum_insured) == ("in_force", Decimal("69999.50"))
    assert notifications(book.session, "policy_terminated") == 0


def test_terminate_liability_uses_the_amount_pay_claim_recorded(domain, book):
    policy = book.policy(sum_insured="100000")
    claim = book.claim(policy)
    ctx = domain.ctx(book.session, key="9:pay")
    as_engine_step(ctx, pay_claim, claim.id, 30000)
    # A stale amount from process data does not override the payment that was actually made.
    assert terminate_liability(ctx, claim.id, 12345, False)["remaining_sum_insured"] == 70000.0
    assert terminate_liability(ctx, claim.id, 30000, False)["remaining_sum_insured"] == 70000.0


def test_terminate_liability_records_an_amount_paid_outside_pay_claim(domain, book):
    policy = book.policy(sum_insured="100000")
    claim = book.claim(policy)  # finance paid by hand after a payment failure: no paid amount on record
    assert terminate_liability(domain.ctx(book.session), claim.id, 25000, False)["remaining_sum_insured"] == 75000.0
    assert claim.paid_amount == Decimal("25000.00")
