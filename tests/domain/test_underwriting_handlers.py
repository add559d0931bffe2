"""Underwriting handlers: premium quotes from the rate table, and the record of decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tasks.handlers.underwriting import accepted_exclusion, price_quote, record_underwriting
from tasks.idcard import check_digit
from tasks.records import CustomerRecord, ProductRecord, RateRecord, UnderwritingOutcomeRecord

AT = datetime(2026, 1, 1, tzinfo=UTC)


def add_product(domain, code: str = "LIFE20", *, active: bool = True, min_age: int = 18, max_age: int = 70) -> None:
    with domain.session_factory() as s, s.begin():
        s.add(ProductRecord(code=code, name="Term life", name_zh="定期寿险", line="life", risk_level="low",
                            min_age=min_age, max_age=max_age, claim_types=["death"], deductible=Decimal("0"),
                            active=active))


def add_rate(domain, age_min: int, age_max: int, term_years: int, rate: str, code: str = "LIFE20") -> None:
    with domain.session_factory() as s, s.begin():
        s.add(RateRecord(product_code=code, age_min=age_min, age_max=age_max, term_years=term_years,
                         rate_per_thousand=Decimal(rate)))


def add_customer(domain, born: date) -> int:
    """A customer born on `born`, with a valid ID number carrying that birth date."""
    first17 = f"110105{born:%Y%m%d}001"
    id_number = first17 + check_digit(first17)
    cipher = domain.services.cipher
    with domain.session_factory() as s, s.begin():
        customer = CustomerRecord(name="Chen Jing", id_number_enc=cipher.encrypt(id_number),
                                  id_number_hash=cipher.lookup_hash(id_number), birth_date=born, consent_at=AT,
                                  created_at=AT)
        s.add(customer)
        s.flush()
        return customer.id


def quote(domain, customer_id: int, *, code: str = "LIFE20", sum_insured=100000, term=20, loading=1.0) -> dict:
    with domain.session_factory() as s:
        return price_quote(domain.ctx(s), code, customer_id, sum_insured, term, loading)


@pytest.fixture
def life(domain):
    """A product with two age bands for 20 years and one for 10 years."""
    add_product(domain)
    add_rate(domain, 18, 40, 20, "2.3456")
    add_rate(domain, 41, 60, 20, "4.1000")
    add_rate(domain, 18, 60, 10, "1.0005")
    return domain


# --- price_quote: arithmetic --------------------------------------------------------------------

def test_the_premium_is_sum_insured_per_thousand_times_rate_times_loading(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))  # 36
    result = quote(life, customer_id, sum_insured=300000, loading=1.25)
    # 300 × 2.3456 × 1.25 = 879.60
    assert result == {"available": True, "annual_premium": Decimal("879.60"), "rate_per_thousand": Decimal("2.3456"),
                      "age": 36, "reason": None, "line": "life"}


@pytest.mark.parametrize(("sum_insured", "loading", "premium"), [
    (10000, 1.0, "10.01"),    # 10 × 1.0005 = 10.005: a tie rounds up (half-even would give 10.00)
    (10000, 5.0, "50.03"),    # 10 × 1.0005 × 5 = 50.025: a tie with the loading applied
    (50000, 1.5, "75.04"),    # 50 × 1.0005 × 1.5 = 75.0375
    (30000, 1.35, "40.52"),   # 30 × 1.0005 × 1.35 = 40.52025
])
def test_the_premium_is_rounded_half_up_to_the_cent(life, sum_insured: int, loading: float, premium: str) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    quoted = quote(life, customer_id, sum_insured=sum_insured, term=10, loading=loading)
    assert quoted["annual_premium"] == Decimal(premium)


def test_a_term_sent_as_a_whole_float_is_accepted_and_a_fraction_of_a_year_is_a_fault(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    assert quote(life, customer_id, term=20.0)["available"] is True
    with pytest.raises(ValueError):
        quote(life, customer_id, term=20.5)


@pytest.mark.parametrize(("sum_insured", "loading"), [(0, 1.0), (-1000, 1.0), (100000, 0), (100000, -1.25)])
def test_a_non_positive_sum_insured_or_loading_is_a_fault(life, sum_insured: float, loading: float) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    with pytest.raises(ValueError):
        quote(life, customer_id, sum_insured=sum_insured, loading=loading)


# --- price_quote: age bands ---------------------------------------------------------------------

@pytest.mark.parametrize(("born", "age", "rate"), [
    (date(2008, 11, 2), 18, "2.3456"),   # 18th birthday today: lowest edge of the first band
    (date(1985, 11, 3), 40, "2.3456"),   # 41 tomorrow: still the first band
    (date(1985, 11, 2), 41, "4.1"),      # 41st birthday today: the second band
    (date(1965, 11, 3), 60, "4.1"),      # upper edge of the last band
])
def test_the_rate_comes_from_the_band_holding_the_age_on_today(life, born: date, age: int, rate: str) -> None:
    result = quote(life, add_customer(life, born))
    assert result["age"] == age
    assert result["rate_per_thousand"] == Decimal(rate)
    assert result["available"] is True


def test_an_age_past_every_band_has_no_rate(life) -> None:
    result = quote(life, add_customer(life, date(1965, 11, 2)))  # 61 today
    assert result == {"available": False, "annual_premium": 0, "rate_per_thousand": 0, "age": 61,
                      "reason": "no rate for age 61 and term 20 years", "line": "life"}


def test_a_term_without_rates_has_no_rate(life) -> None:
    result = quote(life, add_customer(life, date(1980, 1, 1)), term=15)
    assert result["available"] is False
    assert result["reason"] == "no rate for age 46 and term 15 years"


def test_an_age_outside_the_products_ages_has_no_rate_even_with_a_rate_row(life) -> None:
    add_product(life, "KIDS", min_age=0, max_age=17)
    add_rate(life, 0, 99, 20, "1.0000", code="KIDS")
    result = quote(life, add_customer(life, date(1990, 5, 1)), code="KIDS")
    assert result["available"] is False
    assert result["reason"].startswith("no rate for age 36")


def test_an_unknown_product_is_unavailable_not_an_error(life) -> None:
    result = quote(life, add_customer(life, date(1990, 5, 1)), code="NOPE")
    assert result["available"] is False
    assert result["reason"] == "no product NOPE"
    assert result["annual_premium"] == 0


def test_a_product_no_longer_sold_is_unavailable(domain) -> None:
    add_product(domain, "OLD", active=False)
    add_rate(domain, 18, 60, 20, "2.0000", code="OLD")
    result = quote(domain, add_customer(domain, date(1990, 5, 1)), code="OLD")
    assert result["available"] is False
    assert "no longer sold" in result["reason"]


# --- record_underwriting ------------------------------------------------------------------------

def outcomes(domain) -> list[UnderwritingOutcomeRecord]:
    with domain.session_factory() as s:
        return list(s.scalars(select(UnderwritingOutcomeRecord).order_by(UnderwritingOutcomeRecord.id)))


def record(domain, customer_id: int, decision: str, *, instance_id: int = 7, product: str = "LIFE20") -> dict:
    with domain.session_factory() as s, s.begin():
        return record_underwriting(domain.ctx(s, instance_id=instance_id, task_key="record"), customer_id, product,
                                   decision)


def test_a_decision_is_kept_under_the_persons_id_number_hash_and_the_case(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    assert record(life, customer_id, "decline") == {"recorded": True}
    (row,) = outcomes(life)
    with life.session_factory() as s:
        assert row.id_number_hash == s.get(CustomerRecord, customer_id).id_number_hash
    assert (row.product_code, row.decision, row.instance_id) == ("LIFE20", "decline", 7)
    assert row.decided_at == life.clock.now


def test_recording_the_same_step_twice_keeps_one_row(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    record(life, customer_id, "accept")
    record(life, customer_id, "accept")
    assert len(outcomes(life)) == 1


def test_another_case_or_another_decision_is_another_row(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    record(life, customer_id, "postpone")
    record(life, customer_id, "decline")
    record(life, customer_id, "decline", instance_id=8)
    assert [(r.instance_id, r.decision) for r in outcomes(life)] == [(7, "postpone"), (7, "decline"),
                                                                      (8, "decline")]


def test_a_decision_that_underwriting_cannot_end_in_is_a_fault_and_records_nothing(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    with pytest.raises(ValueError, match="refer"):
        record(life, customer_id, "refer")
    assert outcomes(life) == []


def test_an_acceptance_keeps_its_exclusion_for_the_policy(life) -> None:
    customer_id = add_customer(life, date(1990, 5, 1))
    with life.session_factory() as s, s.begin():
        record_underwriting(life.ctx(s, instance_id=9, task_key="record"), customer_id, "LIFE20", "accept",
                            "  Dangerous sports  ")
    with life.session_factory() as s:
        assert accepted_exclusion(s, 9, "LIFE20") == "Dangerous sports"
        assert accepted_exclusion(s, 10, "LIFE20") is None
