"""The customer's claim status look-up: the right number and check give steps and dates; anything else gives None."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

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


def look_up(domain, number: str, check: str) -> dict | None:
    with domain.session_factory() as s:
        return claim_status(s, number, check)


def test_right_number_and_check_give_the_steps_in_order_with_local_dates(domain) -> None:
    add_claim(domain)
    assert look_up(domain, NUMBER, "002X") == {"claim_number": NUMBER, "steps": [
        {"status": "registered", "date": "2026-11-02"},
        {"status": "under_review", "date": "2026-11-03"},
        {"status": "approved", "date": "2026-11-05"},  # 23:30 UTC on the 4th is the 5th in Shanghai
    ]}


@pytest.mark.parametrize("check", ["002x", " 002X ", "002X"])
def test_check_code_is_case_insensitive_and_ignores_spaces(domain, check: str) -> None:
    add_claim(domain)
    found = look_up(domain, NUMBER, check)
    assert found is not None and found["claim_number"] == NUMBER


@pytest.mark.parametrize(("number", "check"), [
    (NUMBER, "0021"),  # wrong check
    (NUMBER, "02X"),  # too short
    (NUMBER, ""),
    ("C20261102000008", "002X"),  # wrong number, right check of another claim
    ("", "002X"),
])
def test_a_wrong_number_or_a_wrong_check_gives_none(domain, number: str, check: str) -> None:
    add_claim(domain)
    assert look_up(domain, number, check) is None


def test_the_answer_holds_only_the_claim_number_and_status_dates(domain) -> None:
    add_claim(domain)
    found = look_up(domain, NUMBER, "002X")
    assert found is not None
    assert set(found) == {"claim_number", "steps"}
    assert all(set(step) == {"status", "date"} for step in found["steps"])
