"""The customer's claim status: steps and dates (and the amount paid, once paid); the number and access code are
checked before (tasks/claim_access.py, tests/domain/test_claim_access.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from tasks.claim_status import claim_status
from tasks.records import ClaimRecord, ClaimStatusRecord, CustomerRecord, PolicyRecord, ProductRecord

NUMBER = "C20261102000007"
ID_NUMBER = "11010519491231002X"
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# (status, moment): the last one is 23:30 UTC, already the next day in Shanghai.
STEPS = [("registered", AT), ("under_review", datetime(2026, 11, 3, 2, 0, tzinfo=UTC)),
         ("approved", datetime(2026, 11, 4, 23, 30, tzinfo=UTC))]


def add_claim(domain, *, number: str = NUMBER, check_code: str = "002X") -> None:
    """A claim with its product, claimant, policy and timeline."""
    cipher = domain.services.cipher
    with domain.session_factory() as s, s.begin():
        s.add(ProductRecord(code="MED01", name="Medical", name_zh="医疗险", line="medical", risk_level="low",
                            min_age=0, max_age=65, claim_types=["hospitalization"], deductible=Decimal("0")))
        customer = CustomerRecord(name="Wang Fang", id_number_enc=cipher.encrypt(ID_NUMBER),
                                  id_number_hash=cipher.lookup_hash(ID_NUMBER), birth_date=date(1949, 12, 31),
                                  consent_at=AT, created_at=AT)
        s.add(customer)
        s.flush()
        policy = PolicyRecord(number="P0001", product_code="MED01", holder_id=customer.id, insured_id=customer.id,
                              sum_insured=Decimal("100000"), remaining_sum_insured=Decimal("100000"),
                              annual_premium=Decimal("800"), term_years=1, start_date=date(2026, 1, 1),
                              end_date=date(2027, 1, 1), status="in_force", issued_at=AT)
        s.add(policy)
        s.flush()
        claim = ClaimRecord(number=number, policy_id=policy.id, claimant_id=customer.id,
                            incident_date=date(2026, 10, 30), claim_type="hospitalization",
                            claimed_amount=Decimal("5000"), payee_account_enc=cipher.encrypt("6222020000000001"),
                            payee_account_hash="h" * 64,
                            region="beijing", status=STEPS[-1][0], check_code=check_code, reported_at=AT)
        s.add(claim)
        s.flush()
        for status, moment in reversed(STEPS):  # stored out of order: the answer sorts by time
            s.add(ClaimStatusRecord(claim_id=claim.id, status=status, occurred_at=moment))


def look_up(domain, number: str = NUMBER) -> dict | None:
    with domain.session_factory() as s:
        claim = s.scalar(select(ClaimRecord).where(ClaimRecord.number == number))
        return claim_status(s, claim.id) if claim is not None else None


def test_the_steps_come_in_order_with_local_dates(domain) -> None:
    add_claim(domain)
    assert look_up(domain) == {"claim_number": NUMBER, "steps": [
        {"status": "registered", "date": "2026-11-02"},
        {"status": "under_review", "date": "2026-11-03"},
        {"status": "approved", "date": "2026-11-05"},  # 23:30 UTC on the 4th is the 5th in Shanghai
    ]}


def test_no_such_claim_gives_none(domain) -> None:
    with domain.session_factory() as s:
        assert claim_status(s, 999_999) is None


def test_the_answer_holds_only_the_claim_number_and_status_dates(domain) -> None:
    add_claim(domain)
    found = look_up(domain)
    assert found is not None
    assert set(found) == {"claim_number", "steps"}
    assert all(set(step) == {"status", "date"} for step in found["steps"])


def test_a_paid_claim_shows_the_amount_paid(domain) -> None:
    add_claim(domain)
    with domain.session_factory() as s, s.begin():
        claim = s.scalar(select(ClaimRecord).where(ClaimRecord.number == NUMBER))
        claim.status, claim.paid_amount = "paid", Decimal("4800.5")
        s.add(ClaimStatusRecord(claim_id=claim.id, status="paid", occurred_at=datetime(2026, 11, 6, 2, tzinfo=UTC)))
    found = look_up(domain)
    assert found is not None and found["paid_amount"] == "4800.50"
    assert found["steps"][-1] == {"status": "paid", "date": "2026-11-06"}
