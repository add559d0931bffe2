"""Customer handlers: registration with encrypted personal data, applicant verification, anti-fraud look-up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from tasks.handlers.customers import anti_fraud_lookup, register_customer, verify_applicant
from tasks.idcard import check_digit
from tasks.records import (
    ClaimRecord,
    CustomerRecord,
    PolicyRecord,
    ProductRecord,
    UnderwritingOutcomeRecord,
    WatchListRecord,
)

ID_NUMBER = "11010519491231002X"  # born 1949-12-31, female
PHONE = "13812345678"
AT = datetime(2026, 1, 1, tzinfo=UTC)


def register(domain, *, name="Wang Fang", id_number=ID_NUMBER, birth_date="1949-12-31", phone=PHONE,
             region="Beijing", key="1:register") -> dict:
    """Run register_customer in a transaction of its own."""
    with domain.session_factory() as s, s.begin():
        return register_customer(domain.ctx(s, key=key), name, id_number, birth_date, phone, region)


def verify(domain, customer_id: int) -> dict:
    with domain.session_factory() as s, s.begin():
        return verify_applicant(domain.ctx(s), customer_id)


def watch(domain, *, name: str | None = None, id_number: str | None = None) -> None:
    """Put a person on the watch list."""
    digest = domain.services.cipher.lookup_hash(id_number) if id_number else None
    with domain.session_factory() as s, s.begin():
        s.add(WatchListRecord(name=name, id_number_hash=digest, reason="sanctions", listed_on=date(2025, 1, 1)))


def add_outcome(domain, id_number: str, decision: str) -> None:
    with domain.session_factory() as s, s.begin():
        s.add(UnderwritingOutcomeRecord(id_number_hash=domain.services.cipher.lookup_hash(id_number),
                                        product_code="LIFE20", decision=decision, decided_at=AT))


def add_claim(domain, claimant_id: int, number: str) -> None:
    """A claim by `claimant_id` on a policy (created with its product the first time)."""
    with domain.session_factory() as s, s.begin():
        if s.get(ProductRecord, "LIFE20") is None:
            s.add(ProductRecord(code="LIFE20", name="Term life", name_zh="定期寿险", line="life", risk_level="low",
                                min_age=18, max_age=80, claim_types=["death"], deductible=Decimal("0")))
            s.flush()
        policy = PolicyRecord(number=f"P-{number}", product_code="LIFE20", holder_id=claimant_id,
                              insured_id=claimant_id, sum_insured=Decimal("100000"),
                              remaining_sum_insured=Decimal("100000"), annual_premium=Decimal("500"),
                              term_years=20, start_date=date(2025, 1, 1), end_date=date(2045, 1, 1),
                              status="in_force", issued_at=AT)
        s.add(policy)
        s.flush()
        s.add(ClaimRecord(number=number, policy_id=policy.id, claimant_id=claimant_id, incident_date=date(2025, 6, 1),
                          claim_type="death", claimed_amount=Decimal("1000"), payee_account_enc=b"x",
                          payee_account_hash="h", region="Beijing", status="registered", check_code="002X",
                          reported_at=AT))


# --- register_customer --------------------------------------------------------------------------

def test_register_creates_a_customer_and_returns_the_age_on_the_clock_date(domain) -> None:
    result = register(domain)
    assert result["age"] == 76  # 1949-12-31 → 2026-11-02
    with domain.session_factory() as s:
        customer = s.get(CustomerRecord, result["customer_id"])
        assert customer is not None
        assert customer.name == "Wang Fang"
        assert customer.birth_date == date(1949, 12, 31)
        assert customer.gender == "F"
        assert customer.region == "Beijing"
        assert customer.consent_at == domain.clock.now
        assert domain.services.cipher.decrypt(customer.id_number_enc) == ID_NUMBER
        assert domain.services.cipher.decrypt(customer.phone_enc) == PHONE


def test_registering_the_same_step_twice_creates_one_customer(domain) -> None:
    first = register(domain)
    second = register(domain)
    assert first == second
    with domain.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CustomerRecord)) == 1


def test_a_returning_customer_is_found_by_id_number_and_their_new_details_and_consent_are_kept(domain) -> None:
    first = register(domain, key="1:register")
    domain.clock.advance(days=30)
    again = register(domain, id_number=ID_NUMBER.lower(), phone="+86 139 0000 1111", region="Shanghai",
                     key="2:register")
    assert again["customer_id"] == first["customer_id"]
    with domain.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CustomerRecord)) == 1
        customer = s.get(CustomerRecord, first["customer_id"])
        assert domain.services.cipher.decrypt(customer.phone_enc) == "+86 139 0000 1111"
        assert customer.region == "Shanghai"
        assert customer.consent_at == domain.clock.now


def test_the_customers_row_holds_neither_the_id_number_nor_the_phone_in_plaintext(domain) -> None:
    register(domain)
    with domain.session_factory() as s:
        row = s.execute(text("SELECT * FROM customers")).one()
    stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
    assert ID_NUMBER.encode() not in stored
    assert ID_NUMBER[:17].encode() not in stored
    assert PHONE.encode() not in stored
    assert b"Wang Fang" in stored  # the check reads the real row


# --- verify_applicant ---------------------------------------------------------------------------

def test_a_consistent_applicant_off_the_watch_list_is_verified(domain) -> None:
    customer_id = register(domain)["customer_id"]
    assert verify(domain, customer_id) == {"verified": True, "reasons": [], "age": 76, "watch_listed": False}


def test_an_id_number_with_a_wrong_check_digit_fails_with_the_parse_reason(domain) -> None:
    customer_id = register(domain, id_number="110105194912310021")["customer_id"]
    result = verify(domain, customer_id)
    assert result["verified"] is False
    assert result["reasons"] == ["check_digit"]


def test_an_id_number_of_the_wrong_length_fails_and_the_age_comes_from_the_declared_birth_date(domain) -> None:
    customer_id = register(domain, id_number="11010519491231002")["customer_id"]
    result = verify(domain, customer_id)
    assert result["reasons"] == ["length"]
    assert result["age"] == 76


def test_a_declared_birth_date_that_differs_from_the_id_number_is_a_mismatch(domain) -> None:
    customer_id = register(domain, birth_date="1950-12-31")["customer_id"]
    result = verify(domain, customer_id)
    assert result["verified"] is False
    assert result["reasons"] == ["birth_date_mismatch"]
    assert result["age"] == 76  # the ID number is the authority


def test_a_phone_that_is_not_a_mainland_mobile_fails(domain) -> None:
    customer_id = register(domain, phone="010-12345678")["customer_id"]
    assert verify(domain, customer_id)["reasons"] == ["phone"]


def test_a_missing_phone_fails(domain) -> None:
    customer_id = register(domain, phone="")["customer_id"]
    assert verify(domain, customer_id)["reasons"] == ["phone"]


def test_a_person_on_the_watch_list_by_id_number_and_name_fails(domain) -> None:
    watch(domain, name="Wang Fang", id_number=ID_NUMBER.lower())
    customer_id = register(domain)["customer_id"]
    assert verify(domain, customer_id) == {"verified": False, "reasons": ["watch_list"], "age": 76,
                                           "watch_listed": True}


def test_a_name_alone_or_an_id_number_under_another_name_is_no_watch_list_hit(domain) -> None:
    # Issue 12 item 9 changed this: a namesake was a hit (and, twice declined, declined for ever).
    watch(domain, name="Wang Fang")
    watch(domain, name="Someone Else", id_number=ID_NUMBER)
    listed = register(domain)["customer_id"]
    other = register(domain, name="Wang Fangfang", id_number="440524188001010014", birth_date="1880-01-01",
                     key="2:register")["customer_id"]
    assert verify(domain, listed) == {"verified": True, "reasons": [], "age": 76, "watch_listed": False}
    assert verify(domain, other)["verified"] is True


def test_every_failure_is_reported_together(domain) -> None:
    first17 = "11010520300101001"  # born 2030-01-01: after today
    watch(domain, name="Li Lei", id_number=first17 + check_digit(first17))
    customer_id = register(domain, name="Li Lei", id_number=first17 + check_digit(first17), birth_date="1990-01-01",
                           phone="12345")["customer_id"]
    result = verify(domain, customer_id)
    assert result["verified"] is False
    assert result["reasons"] == ["future_birth_date", "birth_date_mismatch", "phone", "watch_list"]


def test_verifying_an_unknown_customer_is_a_fault(domain) -> None:
    with pytest.raises(LookupError):
        verify(domain, 999)


# --- anti_fraud_lookup --------------------------------------------------------------------------

def test_a_new_person_has_no_prior_declines_or_claims(domain) -> None:
    customer_id = register(domain)["customer_id"]
    with domain.session_factory() as s:
        assert anti_fraud_lookup(domain.ctx(s), customer_id) == {"prior_declines": 0, "prior_claims": 0}


def test_prior_declines_count_only_this_persons_declines(domain) -> None:
    customer_id = register(domain)["customer_id"]
    add_outcome(domain, ID_NUMBER, "decline")
    add_outcome(domain, ID_NUMBER, "decline")
    add_outcome(domain, ID_NUMBER, "accept")
    add_outcome(domain, "440524188001010014", "decline")
    with domain.session_factory() as s:
        assert anti_fraud_lookup(domain.ctx(s), customer_id)["prior_declines"] == 2


def test_prior_claims_count_the_claims_this_customer_made(domain) -> None:
    customer_id = register(domain)["customer_id"]
    other_id = register(domain, name="Zhao Lei", id_number="440524188001010014", birth_date="1880-01-01",
                        key="2:register")["customer_id"]
    add_claim(domain, customer_id, "C1")
    add_claim(domain, customer_id, "C2")
    add_claim(domain, other_id, "C3")
    with domain.session_factory() as s:
        assert anti_fraud_lookup(domain.ctx(s), customer_id)["prior_claims"] == 2
        assert anti_fraud_lookup(domain.ctx(s), other_id)["prior_claims"] == 1
