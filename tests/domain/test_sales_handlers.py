"""Sales handlers: premium collection with the AML facts, policy issue with its number, confirmation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from tasks.handlers.sales import (
    collect_premium,
    confirm_policy,
    issue_policy,
    policy_number,
    valid_policy_number,
)
from tasks.office_records import NotificationRecord
from tasks.payment_records import PremiumPaymentRecord
from tasks.records import CustomerRecord, PolicyRecord, ProductRecord, WatchListRecord

AT = datetime(2026, 1, 1, tzinfo=UTC)
HOLDER_ID = "11010519491231002X"
PAYER_ID = "440524188001010014"


def add_customer(domain, name: str = "Wang Fang", id_number: str = HOLDER_ID) -> int:
    cipher = domain.services.cipher
    with domain.session_factory() as s, s.begin():
        customer = CustomerRecord(name=name, id_number_enc=cipher.encrypt(id_number),
                                  id_number_hash=cipher.lookup_hash(id_number), birth_date=date(1949, 12, 31),
                                  consent_at=AT, created_at=AT)
        s.add(customer)
        s.flush()
        return customer.id


def add_product(domain, code: str = "LIFE20") -> None:
    with domain.session_factory() as s, s.begin():
        s.add(ProductRecord(code=code, name="Term life", name_zh="定期寿险", line="life", risk_level="low",
                            min_age=18, max_age=70, claim_types=["death"], deductible=Decimal("0")))


def watch(domain, *, name: str | None = None, id_number: str | None = None) -> None:
    digest = domain.services.cipher.lookup_hash(id_number) if id_number else None
    with domain.session_factory() as s, s.begin():
        s.add(WatchListRecord(name=name, id_number_hash=digest, reason="sanctions", listed_on=date(2025, 1, 1)))


def pay(domain, customer_id: int, amount: float, *, method: str = "cash", payer_name: str = "",
        payer_id_number: str = "", key: str = "1:collect") -> dict:
    with domain.session_factory() as s, s.begin():
        return collect_premium(domain.ctx(s, key=key), customer_id, amount, method, payer_name, payer_id_number)


def issue(domain, customer_id: int, *, instance_id: int = 1, term: int = 20, cooling_off_days: int = 15,
          product: str = "LIFE20") -> dict:
    with domain.session_factory() as s, s.begin():
        ctx = domain.ctx(s, instance_id=instance_id, task_key="issue")
        return issue_policy(ctx, customer_id, product, 300000, term, 879.6, 1.25, cooling_off_days)


# --- collect_premium ----------------------------------------------------------------------------

def test_the_holder_paying_by_transfer_is_recorded_with_no_cash_today(domain) -> None:
    holder = add_customer(domain)
    result = pay(domain, holder, 879.6, method="transfer")
    assert result["payer_is_holder"] is True
    assert result["cash_today"] == 0.0
    assert result["payer_watch_listed"] is False
    with domain.session_factory() as s:
        payment = s.get(PremiumPaymentRecord, result["payment_id"])
        assert (payment.amount, payment.method, payment.paid_on) == (Decimal("879.60"), "transfer", date(2026, 11, 2))
        assert payment.payer_name == "Wang Fang"  # the holder pays when no payer is named
        assert payment.payer_hash == domain.services.cipher.lookup_hash(HOLDER_ID)
        assert payment.holder_id == holder


def test_a_premium_is_held_in_suspense_with_the_account_it_came_from_kept_encrypted(domain) -> None:
    holder = add_customer(domain)
    with domain.session_factory() as s, s.begin():
        result = collect_premium(domain.ctx(s, key="1:collect"), holder, 879.6, "transfer", "", "",
                                 "6222020200998877665")
    assert result["status"] == "suspense"  # not income until AML screening clears it
    with domain.session_factory() as s:
        payment = s.get(PremiumPaymentRecord, result["payment_id"])
        assert payment.status == "suspense"
        assert domain.services.cipher.decrypt(payment.payer_account_enc) == "6222020200998877665"
        assert b"6222020200998877665" not in s.execute(text("SELECT payer_account_enc FROM premium_payments")).scalar()


def test_collecting_twice_in_the_same_step_records_one_payment(domain) -> None:
    holder = add_customer(domain)
    first = pay(domain, holder, 30000)
    second = pay(domain, holder, 30000)
    assert first == second
    assert second["cash_today"] == 30000.0
    with domain.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(PremiumPaymentRecord)) == 1


def test_cash_from_the_same_payer_adds_up_over_the_day_but_not_into_the_next(domain) -> None:
    holder = add_customer(domain)
    other_holder = add_customer(domain, "Zhao Lei", "11010119900307387X")
    assert pay(domain, holder, 30000, payer_id_number=PAYER_ID, key="1:collect")["cash_today"] == 30000.0
    # The same payer paying for someone else, later the same (Shanghai) day: AML looks at the payer.
    domain.clock.advance(hours=4)  # 13:00 UTC = 21:00 in Shanghai
    assert pay(domain, other_holder, 25000.5, payer_id_number=PAYER_ID.lower(), key="2:collect")["cash_today"] \
        == 55000.5
    assert pay(domain, holder, 1000, method="transfer", payer_id_number=PAYER_ID, key="3:collect")["cash_today"] \
        == 55000.5
    domain.clock.advance(hours=4)  # 17:00 UTC = 01:00 on 2026-11-03 in Shanghai: a new business day
    assert pay(domain, holder, 20000, payer_id_number=PAYER_ID, key="4:collect")["cash_today"] == 20000.0


def test_cash_of_another_payer_is_not_added(domain) -> None:
    holder = add_customer(domain)
    pay(domain, holder, 40000, key="1:collect")
    assert pay(domain, holder, 20000, payer_id_number=PAYER_ID, key="2:collect")["cash_today"] == 20000.0


def test_a_third_party_payer_is_not_the_holder(domain) -> None:
    holder = add_customer(domain)
    result = pay(domain, holder, 500, payer_name="Li Lei", payer_id_number=PAYER_ID)
    assert result["payer_is_holder"] is False
    with domain.session_factory() as s:
        assert s.get(PremiumPaymentRecord, result["payment_id"]).payer_name == "Li Lei"


def test_the_holder_named_as_payer_by_id_number_is_the_holder(domain) -> None:
    holder = add_customer(domain)
    result = pay(domain, holder, 500, payer_name="Wang Fang", payer_id_number=" " + HOLDER_ID.lower())
    assert result["payer_is_holder"] is True


def test_a_payer_on_the_watch_list_by_id_number_is_flagged(domain) -> None:
    watch(domain, id_number=PAYER_ID)
    holder = add_customer(domain)
    assert pay(domain, holder, 500, payer_name="Li Lei", payer_id_number=PAYER_ID)["payer_watch_listed"] is True


def test_a_payer_on_the_watch_list_by_exact_name_is_flagged_and_a_similar_name_is_not(domain) -> None:
    watch(domain, name="Li Lei")
    holder = add_customer(domain)
    assert pay(domain, holder, 500, payer_name="Li Lei", payer_id_number=PAYER_ID, key="1:c")["payer_watch_listed"]
    assert not pay(domain, holder, 500, payer_name="Li Leilei", payer_id_number=PAYER_ID,
                   key="2:c")["payer_watch_listed"]


def test_a_watch_listed_holder_paying_is_flagged(domain) -> None:
    watch(domain, id_number=HOLDER_ID)
    holder = add_customer(domain)
    assert pay(domain, holder, 500)["payer_watch_listed"] is True


def test_the_payers_id_number_is_not_stored_in_plaintext(domain) -> None:
    holder = add_customer(domain)
    pay(domain, holder, 500, payer_name="Li Lei", payer_id_number=PAYER_ID)
    with domain.session_factory() as s:
        row = s.execute(text("SELECT * FROM premium_payments")).one()
    stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
    assert PAYER_ID.encode() not in stored
    assert b"Li Lei" in stored


@pytest.mark.parametrize(("amount", "method"), [(500, "cheque"), (0, "cash"), (-10, "card")])
def test_an_unknown_method_or_a_non_positive_amount_is_a_fault(domain, amount: float, method: str) -> None:
    holder = add_customer(domain)
    with pytest.raises(ValueError):
        pay(domain, holder, amount, method=method)


# --- policy numbers -----------------------------------------------------------------------------

def test_a_policy_number_is_p_year_sequence_and_a_mod_11_2_check_character() -> None:
    number = policy_number(2026, 1)
    assert number[:11] == "P2600000001"
    # ISO 7064 MOD 11-2 over 2600000001: weights 2^10..2^1 mod 11 = 1,6,3,7,9,10,5,8,4,2 → sum 2+36+2 = 40,
    # (12 - 40 mod 11) mod 11 = 5.
    assert number == "P26000000015"
    assert valid_policy_number(number)


def test_a_policy_number_with_a_changed_digit_or_check_character_is_invalid() -> None:
    number = policy_number(2026, 12345)
    assert valid_policy_number(number)
    for i in range(1, len(number)):
        for c in "0123456789X":
            if c != number[i] and (c != "X" or i == len(number) - 1):
                assert not valid_policy_number(number[:i] + c + number[i + 1:])


@pytest.mark.parametrize("bad", ["", "P2600000001", "Q26000000014", "P260000000140", "P26-00000001-4", None])
def test_anything_not_shaped_like_a_policy_number_is_invalid(bad: str) -> None:
    assert valid_policy_number(bad) is False


def test_a_typed_policy_number_may_have_spaces_and_lower_case() -> None:
    assert valid_policy_number(" p26000000015 ")


def test_a_sequence_beyond_eight_digits_is_refused() -> None:
    with pytest.raises(ValueError):
        policy_number(2026, 10**8)


# --- issue_policy -------------------------------------------------------------------------------

def test_issuing_puts_a_policy_in_force_with_its_dates_and_cooling_off_deadline(domain) -> None:
    add_product(domain)
    holder = add_customer(domain)
    result = issue(domain, holder)
    assert valid_policy_number(result["policy_number"])
    assert result["policy_number"].startswith("P26")
    assert result["business_key"] == result["policy_number"]
    assert result["start_date"] == "2026-11-02"
    assert result["end_date"] == "2046-11-02"
    assert result["cooling_off_end"] == "2026-11-17"
    assert result["cooling_off_until"] == "2026-11-17T16:00:00+00:00"  # local midnight after the last day
    with domain.session_factory() as s:
        policy = s.get(PolicyRecord, result["policy_id"])
        assert policy.number == result["policy_number"]
        assert policy.holder_id == policy.insured_id == holder
        assert policy.status == "in_force"
        assert policy.sum_insured == policy.remaining_sum_insured == Decimal("300000.00")
        assert policy.annual_premium == policy.premiums_paid == Decimal("879.60")
        assert policy.loading == Decimal("1.25")
        assert policy.term_years == 20
        assert policy.instance_id == 1
        assert policy.issued_at == domain.clock.now


def test_issuing_delivers_the_documents_and_sends_the_policy_issued_notice_once(domain) -> None:
    add_product(domain)
    holder = add_customer(domain)
    result = issue(domain, holder)
    assert issue(domain, holder) == result
    assert result["receipt_date"] == "2026-11-02"  # the electronic policy reaches the holder at issue
    with domain.session_factory() as s:
        assert s.get(PolicyRecord, result["policy_id"]).documents_received_on == date(2026, 11, 2)
        (note,) = s.scalars(select(NotificationRecord)).all()
    assert (note.template, note.channel, note.customer_id) == ("policy_issued", "letter", holder)
    assert note.params == {"policy_number": result["policy_number"], "product_code": "LIFE20",
                           "start_date": "2026-11-02", "receipt_date": "2026-11-02", "cooling_off_days": 15,
                           "cooling_off_end": "2026-11-17"}


def test_issuing_twice_in_the_same_case_returns_the_same_policy(domain) -> None:
    add_product(domain)
    holder = add_customer(domain)
    assert issue(domain, holder) == issue(domain, holder)
    with domain.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(PolicyRecord)) == 1


def test_many_issues_get_distinct_valid_policy_numbers(domain) -> None:
    add_product(domain)
    holder = add_customer(domain)
    numbers = [issue(domain, holder, instance_id=i)["policy_number"] for i in range(1, 41)]
    assert len(set(numbers)) == 40
    assert all(valid_policy_number(n) for n in numbers)


def test_a_policy_started_on_29_february_ends_on_28_february(domain) -> None:
    add_product(domain)
    holder = add_customer(domain)
    domain.clock.now = datetime(2028, 2, 29, 10, 0, tzinfo=UTC)
    result = issue(domain, holder, term=1)
    assert result["end_date"] == "2029-02-28"
    assert result["policy_number"].startswith("P28")


def test_no_cooling_off_days_ends_the_cooling_off_with_the_start_day(domain) -> None:
    add_product(domain)
    result = issue(domain, add_customer(domain), term=1, cooling_off_days=0)
    assert result["cooling_off_end"] == result["start_date"] == "2026-11-02"
    assert result["cooling_off_until"] == "2026-11-02T16:00:00+00:00"  # local midnight after the start day


def test_issuing_an_unknown_product_is_a_fault(domain) -> None:
    with pytest.raises(LookupError):
        issue(domain, add_customer(domain), product="NOPE")


# --- confirm_policy -----------------------------------------------------------------------------

def confirm(domain, policy_id: int) -> dict:
    with domain.session_factory() as s, s.begin():
        return confirm_policy(domain.ctx(s, task_key="confirm"), policy_id)


def test_confirming_tells_the_holder_once(domain) -> None:
    add_product(domain)
    holder = add_customer(domain)
    issued = issue(domain, holder)
    assert confirm(domain, issued["policy_id"]) == {"confirmed": True}
    assert confirm(domain, issued["policy_id"]) == {"confirmed": True}
    with domain.session_factory() as s:
        (note,) = s.scalars(select(NotificationRecord).where(NotificationRecord.template == "policy_confirmed")).all()
        policy = s.get(PolicyRecord, issued["policy_id"])
        assert policy.status == "in_force"
    assert (note.template, note.customer_id) == ("policy_confirmed", holder)
    assert note.params == {"policy_number": issued["policy_number"]}


def test_a_cancelled_policy_is_not_confirmed_and_nobody_is_told(domain) -> None:
    add_product(domain)
    issued = issue(domain, add_customer(domain))
    with domain.session_factory() as s, s.begin():
        s.get(PolicyRecord, issued["policy_id"]).status = "terminated"
    assert confirm(domain, issued["policy_id"]) == {"confirmed": False}
    with domain.session_factory() as s:  # only the policy-issued notice of the issue
        assert s.scalars(select(NotificationRecord.template)).all() == ["policy_issued"]
