"""Claims handlers: registering a claim once, every verification failure, fraud features, the payout suggestion."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import func, select

from tasks.handlers.claims import (
    close_claim,
    fraud_features,
    open_claim,
    record_documents,
    suggest_payout,
    update_claim_status,
    verify_claim,
)
from tasks.idcard import check_digit
from tasks.records import (
    ClaimDocumentRecord,
    ClaimRecord,
    ClaimStatusRecord,
    CustomerRecord,
    PolicyRecord,
    ProductRecord,
    WatchListRecord,
)

_seq = count(1)
ACCOUNT = "6222 0200 0000 0001"


def make_id(birth: date = date(1985, 6, 15)) -> str:
    """A valid resident ID number (GB 11643), different on every call."""
    body = f"110101{birth:%Y%m%d}{next(_seq) % 1000:03d}"
    return body + check_digit(body)


def add_customer(session, cipher, name: str = "Wang Fang", id_number: str | None = None) -> CustomerRecord:
    id_number = id_number or make_id()
    customer = CustomerRecord(name=name, id_number_enc=cipher.encrypt(id_number),
                              id_number_hash=cipher.lookup_hash(id_number), birth_date=date(1985, 6, 15),
                              consent_at=datetime(2025, 1, 1, tzinfo=UTC), created_at=datetime(2025, 1, 1, tzinfo=UTC))
    session.add(customer)
    session.flush()
    return customer


def add_policy(session, insured: CustomerRecord, *, beneficiaries: tuple[int, ...] = (), start: date = date(2025, 1, 1),
               end: date = date(2026, 12, 31), sum_insured: str = "100000", remaining: str | None = None,
               deductible: str = "100") -> PolicyRecord:
    code = f"ACC{next(_seq)}"
    session.add(ProductRecord(code=code, name="Accident", name_zh="意外险", line="accident", risk_level="low",
                              min_age=18, max_age=65, claim_types=["accident_medical", "death"],
                              deductible=Decimal(deductible)))
    session.flush()
    policy = PolicyRecord(number=f"P{next(_seq):09d}", product_code=code, holder_id=insured.id, insured_id=insured.id,
                          beneficiary_ids=list(beneficiaries), sum_insured=Decimal(sum_insured),
                          remaining_sum_insured=Decimal(remaining or sum_insured), annual_premium=Decimal("300"),
                          term_years=2, start_date=start, end_date=end, status="in_force",
                          issued_at=datetime(2025, 1, 1, tzinfo=UTC))
    session.add(policy)
    session.flush()
    return policy


def file_claim(domain, session, policy: PolicyRecord, id_number: str, *, name: str = "Wang Fang",
               incident: str = "2026-10-01", claim_type: str = "accident_medical", amount: float = 20000,
               documents: tuple[str, ...] = ("claim_form", "medical_invoice"), account: str = ACCOUNT,
               instance_id: int | None = None) -> dict:
    ctx = domain.ctx(session, instance_id=instance_id or next(_seq))
    return open_claim(ctx, policy.number, name, id_number, incident, claim_type, "fell down the stairs", amount,
                      list(documents), account, "shanghai")


@pytest.fixture
def session(domain) -> Iterator:
    with domain.session_factory() as s:
        yield s


@pytest.fixture
def insured(domain, session) -> tuple[CustomerRecord, str]:
    id_number = make_id()
    return add_customer(session, domain.services.cipher, id_number=id_number), id_number


def claim_of(session, result: dict) -> ClaimRecord:
    claim = session.get(ClaimRecord, result["claim_id"])
    assert claim is not None
    return claim


def timeline(session, claim_id: int) -> list[str]:
    return list(session.scalars(select(ClaimStatusRecord.status).where(ClaimStatusRecord.claim_id == claim_id)
                                .order_by(ClaimStatusRecord.id)))


# --- open_claim, record_documents ---------------------------------------------------------------


def test_open_claim_registers_the_claim_of_a_known_insured(domain, session, insured):
    customer, id_number = insured
    policy = add_policy(session, customer)
    result = file_claim(domain, session, policy, id_number)
    claim = claim_of(session, result)
    cipher = domain.services.cipher
    assert result == {"claim_id": claim.id, "claim_number": "C20261102000001", "business_key": "C20261102000001",
                      "product_line": "accident", "customer_id": customer.id, "reason": None}
    assert (claim.status, claim.claimed_amount, claim.incident_date) == ("registered", Decimal("20000.00"),
                                                                         date(2026, 10, 1))
    assert timeline(session, claim.id) == ["registered"]
    assert ACCOUNT.encode() not in claim.payee_account_enc
    assert cipher.decrypt(claim.payee_account_enc) == ACCOUNT
    assert claim.payee_account_hash == cipher.lookup_hash(ACCOUNT)
    assert claim.check_code == id_number[-4:].upper()
    assert sorted(session.scalars(select(ClaimDocumentRecord.kind))) == ["claim_form", "medical_invoice"]


def test_open_claim_creates_an_unknown_claimant_from_the_id_number(domain, session, insured):
    policy = add_policy(session, insured[0])
    id_number = make_id(date(1990, 2, 28))
    result = file_claim(domain, session, policy, id_number, name="Li Lei")
    claimant = session.get(CustomerRecord, result["customer_id"])
    assert claimant is not None and claimant.id != insured[0].id
    assert (claimant.name, claimant.birth_date, claimant.region) == ("Li Lei", date(1990, 2, 28), "shanghai")
    assert claimant.id_number_hash == domain.services.cipher.lookup_hash(id_number)
    assert domain.services.cipher.decrypt(claimant.id_number_enc) == id_number


def test_open_claim_opens_one_claim_per_instance_whatever_the_retries(domain, session, insured):
    policy = add_policy(session, insured[0])
    first = file_claim(domain, session, policy, insured[1], instance_id=7)
    again = file_claim(domain, session, policy, insured[1], instance_id=7)
    assert again == {**first, "corrected": []}
    assert session.scalar(select(func.count(ClaimRecord.id))) == 1
    assert timeline(session, first["claim_id"]) == ["registered"]


def test_a_registration_sent_back_corrects_the_claim_the_case_opened(domain, session, insured):
    """The adjuster sent the registration back: the clerk's corrections replace what the claim says."""
    policy = add_policy(session, insured[0])
    first = file_claim(domain, session, policy, insured[1], instance_id=8, incident="2026-09-01", amount=20000)
    other = add_customer(session, domain.services.cipher, name="Li Lei")
    other_id = domain.services.cipher.decrypt(other.id_number_enc)
    ctx = domain.ctx(session, instance_id=8)
    corrected = open_claim(ctx, policy.number, "Li Lei", other_id, "2026-10-01", "accident_medical",
                           "fell down the stairs", 18000, ["claim_form", "police_report"], "6222 0200 0000 0002",
                           "shanghai")
    assert corrected == {**first, "customer_id": other.id,
                         "corrected": ["claimant", "incident_date", "claimed_amount", "payee_account", "check_code"]}
    claim = claim_of(session, corrected)
    assert (claim.claimant_id, claim.incident_date, claim.claimed_amount) == (other.id, date(2026, 10, 1),
                                                                             Decimal("18000.00"))
    assert domain.services.cipher.decrypt(claim.payee_account_enc) == "6222 0200 0000 0002"
    assert claim.check_code == other_id[-4:]
    assert sorted(session.scalars(select(ClaimDocumentRecord.kind))) == ["claim_form", "medical_invoice",
                                                                          "police_report"]
    assert session.scalar(select(func.count(ClaimRecord.id))) == 1


def test_a_correction_naming_an_unknown_policy_changes_nothing(domain, session, insured):
    policy = add_policy(session, insured[0])
    first = file_claim(domain, session, policy, insured[1], instance_id=9)
    result = open_claim(domain.ctx(session, instance_id=9), "P-NOPE", "Wang Fang", insured[1], "2026-09-30",
                        "accident_medical", "", 1, [], ACCOUNT, "shanghai")
    assert (result["claim_id"], result["reason"]) == (None, "no policy with number P-NOPE")
    claim = session.get(ClaimRecord, first["claim_id"])
    assert (claim.policy_id, claim.incident_date) == (policy.id, date(2026, 10, 1))


def test_a_closed_claim_is_never_corrected(domain, session, insured):
    policy = add_policy(session, insured[0])
    first = file_claim(domain, session, policy, insured[1], instance_id=10)
    close_claim(domain.ctx(session), first["claim_id"], "rejected", "waiting_period: illness on day 5")
    again = file_claim(domain, session, policy, insured[1], instance_id=10, amount=1)
    assert again == first
    assert session.get(ClaimRecord, first["claim_id"]).claimed_amount == Decimal("20000.00")


def test_open_claim_for_an_unknown_policy_number_opens_nothing(domain, session, insured):
    result = open_claim(domain.ctx(session), "P-NOPE", "Wang Fang", insured[1], "2026-10-01", "death", "", 1,
                        [], ACCOUNT, "shanghai")
    assert result == {"claim_id": None, "claim_number": None, "product_line": None, "customer_id": None,
                      "reason": "no policy with number P-NOPE"}
    assert session.scalar(select(func.count(ClaimRecord.id))) == 0


def test_open_claim_with_an_invalid_claimant_id_opens_nothing_and_never_echoes_the_number(domain, session, insured):
    policy = add_policy(session, insured[0])
    bad = make_id()[:-1] + "Z"
    result = file_claim(domain, session, policy, bad)
    assert result["claim_id"] is None
    assert bad not in result["reason"]
    assert session.scalar(select(func.count(CustomerRecord.id))) == 1


def test_claim_numbers_count_up_within_a_day_and_restart_the_next(domain, session, insured):
    policy = add_policy(session, insured[0])
    numbers = [file_claim(domain, session, policy, insured[1])["claim_number"] for _ in range(2)]
    domain.clock.advance(days=1)
    numbers.append(file_claim(domain, session, policy, insured[1])["claim_number"])
    assert numbers == ["C20261102000001", "C20261102000002", "C20261103000001"]


def test_two_registrations_at_the_same_moment_get_two_numbers_and_neither_fails(domain, session, insured):
    """On PostgreSQL both read the same highest number of the day; the one that loses the unique key
    takes the next number inside its savepoint instead of failing the step (an incident)."""
    policy = add_policy(session, insured[0])
    session.commit()
    first_inserted, release = threading.Event(), threading.Event()
    results: dict[str, dict] = {}
    errors: list[BaseException] = []

    def register(name: str, hold: bool) -> None:
        try:
            with domain.session_factory() as s, s.begin():
                results[name] = file_claim(domain, s, s.get(PolicyRecord, policy.id), insured[1])
                if hold:  # keep the first transaction open with its number inserted
                    first_inserted.set()
                    release.wait(timeout=30)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            first_inserted.set()

    first = threading.Thread(target=register, args=("first", True))
    first.start()
    assert first_inserted.wait(timeout=30)
    second = threading.Thread(target=register, args=("second", False))
    second.start()
    second.join(timeout=2)  # PostgreSQL: waits on the first's uncommitted number; SQLite: on its write lock
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert not errors, errors
    assert sorted(r["claim_number"] for r in results.values()) == ["C20261102000001", "C20261102000002"]


def test_record_documents_adds_only_the_kinds_not_on_file(domain, session, insured):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1],
                          documents=("claim_form",))["claim_id"]
    result = record_documents(domain.ctx(session), claim_id, ["police_report", "claim_form", {"kind": "id_copy"}])
    assert result == {"documents": ["claim_form", "id_copy", "police_report"]}
    assert session.scalar(select(func.count(ClaimDocumentRecord.id))) == 3


# --- verify_claim ----------------------------------------------------------------------------------

REQUIRED = ["claim_form", "medical_invoice"]


def verify(domain, session, claim_id: int, waiting_days: int = 30, required: list[str] = REQUIRED) -> dict:
    return verify_claim(domain.ctx(session), claim_id, waiting_days, required)


def test_verify_claim_passes_a_covered_claim_and_puts_it_under_review(domain, session, insured):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1])["claim_id"]
    assert verify(domain, session, claim_id) == {"verified": True, "reasons": [], "missing_documents": [],
                                                 "only_documents_missing": False}
    assert timeline(session, claim_id) == ["registered", "under_review"]


@pytest.mark.parametrize("incident", ["2024-12-31", "2027-01-01"])
def test_verify_claim_rejects_an_incident_outside_the_policy_term(domain, session, insured, incident):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1], incident=incident)["claim_id"]
    assert verify(domain, session, claim_id)["reasons"] == ["policy_not_in_force"]


@pytest.mark.parametrize(("terminated_on", "in_force"), [(date(2026, 9, 30), False), (date(2026, 10, 1), True)])
def test_verify_claim_rejects_an_incident_after_the_policy_was_terminated(domain, session, insured, terminated_on,
                                                                           in_force):
    policy = add_policy(session, insured[0])
    policy.status, policy.terminated_on, policy.terminated_reason = "terminated", terminated_on, "surrender"
    claim_id = file_claim(domain, session, policy, insured[1], incident="2026-10-01")["claim_id"]
    assert ("policy_not_in_force" not in verify(domain, session, claim_id)["reasons"]) is in_force


@pytest.mark.parametrize(("incident", "waiting"), [("2026-01-30", True), ("2026-01-31", False)])
def test_verify_claim_rejects_an_incident_within_the_waiting_period(domain, session, insured, incident, waiting):
    policy = add_policy(session, insured[0], start=date(2026, 1, 1))
    claim_id = file_claim(domain, session, policy, insured[1], incident=incident)["claim_id"]
    assert verify(domain, session, claim_id, waiting_days=30)["reasons"] == (["waiting_period"] if waiting else [])


def test_verify_claim_rejects_a_claim_type_the_product_does_not_cover(domain, session, insured):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1],
                          claim_type="property_damage")["claim_id"]
    assert verify(domain, session, claim_id)["reasons"] == ["claim_type_not_covered"]


def test_verify_claim_accepts_a_beneficiary_and_rejects_anyone_else(domain, session, insured):
    cipher = domain.services.cipher
    beneficiary_id, stranger_id = make_id(), make_id()
    beneficiary = add_customer(session, cipher, "Zhang Wei", beneficiary_id)
    policy = add_policy(session, insured[0], beneficiaries=(beneficiary.id,))
    by_beneficiary = file_claim(domain, session, policy, beneficiary_id, claim_type="death")["claim_id"]
    by_stranger = file_claim(domain, session, policy, stranger_id, incident="2026-09-01")["claim_id"]
    assert verify(domain, session, by_beneficiary)["reasons"] == []
    assert verify(domain, session, by_stranger)["reasons"] == ["claimant_not_covered"]


def test_verify_claim_with_only_documents_missing_requests_them(domain, session, insured):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1],
                          documents=("claim_form",))["claim_id"]
    result = verify(domain, session, claim_id, required=["claim_form", "medical_invoice", "police_report"])
    assert result == {"verified": False, "reasons": ["documents_missing"],
                      "missing_documents": ["medical_invoice", "police_report"], "only_documents_missing": True}
    assert claim_of(session, {"claim_id": claim_id}).status == "documents_requested"
    record_documents(domain.ctx(session), claim_id, ["medical_invoice", "police_report"])
    assert verify(domain, session, claim_id, required=["claim_form", "medical_invoice", "police_report"])["verified"]


def test_verify_claim_lists_every_failed_check_not_just_the_first(domain, session, insured):
    policy = add_policy(session, insured[0], start=date(2026, 9, 20))
    claim_id = file_claim(domain, session, policy, make_id(), claim_type="theft", documents=())["claim_id"]
    result = verify(domain, session, claim_id)
    assert result["reasons"] == ["waiting_period", "claim_type_not_covered", "claimant_not_covered",
                                 "documents_missing"]
    assert result["only_documents_missing"] is False
    assert claim_of(session, {"claim_id": claim_id}).status == "under_review"


def test_verify_claim_flags_a_later_claim_for_the_same_loss_as_duplicate(domain, session, insured):
    policy = add_policy(session, insured[0])
    first = file_claim(domain, session, policy, insured[1])["claim_id"]
    second = file_claim(domain, session, policy, insured[1])["claim_id"]
    other_type = file_claim(domain, session, policy, insured[1], claim_type="death")["claim_id"]
    assert verify(domain, session, second)["reasons"] == ["duplicate"]
    assert verify(domain, session, first)["reasons"] == []
    assert verify(domain, session, other_type)["reasons"] == []


def test_verify_claim_ignores_a_closed_earlier_claim_for_the_same_loss(domain, session, insured):
    policy = add_policy(session, insured[0])
    first = file_claim(domain, session, policy, insured[1])["claim_id"]
    close_claim(domain.ctx(session), first, "withdrawn", "filed twice")
    second = file_claim(domain, session, policy, insured[1])["claim_id"]
    assert verify(domain, session, second)["reasons"] == []


# --- fraud_features ---------------------------------------------------------------------------------


def test_fraud_features_measure_days_since_start_and_amount_ratio(domain, session, insured):
    policy = add_policy(session, insured[0], start=date(2026, 9, 1))
    claim_id = file_claim(domain, session, policy, insured[1], amount=33333.33, incident="2026-10-01")["claim_id"]
    features = fraud_features(domain.ctx(session), claim_id)
    assert features == {"days_since_start": 30, "amount_ratio": Decimal("0.3333"), "claims_12m": 0,
                        "shared_account": False, "watch_listed": False}


def test_fraud_features_count_the_claimants_claims_in_the_365_days_up_to_the_incident(domain, session, insured):
    policy = add_policy(session, insured[0], start=date(2024, 1, 1))
    claim_id = file_claim(domain, session, policy, insured[1], incident="2026-10-01")["claim_id"]
    for incident in ("2025-10-01", "2026-03-01"):  # 365 days before, and well inside: counted
        file_claim(domain, session, policy, insured[1], incident=incident)
    for incident in ("2025-09-30", "2026-10-02"):  # 366 days before, and after: not counted
        file_claim(domain, session, policy, insured[1], incident=incident)
    file_claim(domain, session, policy, make_id(), incident="2026-05-01")  # someone else's
    assert fraud_features(domain.ctx(session), claim_id)["claims_12m"] == 2


def test_fraud_features_flag_a_payee_account_another_claimant_uses(domain, session, insured):
    policy = add_policy(session, insured[0])
    own = file_claim(domain, session, policy, insured[1])["claim_id"]
    file_claim(domain, session, policy, insured[1], incident="2026-06-01")  # same person, same account: fine
    assert fraud_features(domain.ctx(session), own)["shared_account"] is False
    other = file_claim(domain, session, policy, make_id(), account=ACCOUNT.replace(" ", ""))["claim_id"]
    assert fraud_features(domain.ctx(session), own)["shared_account"] is True
    assert fraud_features(domain.ctx(session), other)["shared_account"] is True


@pytest.mark.parametrize("listed_by", ["name", "id_number", "account"])
def test_fraud_features_flag_a_watch_listed_claimant_or_account(domain, session, insured, listed_by):
    cipher = domain.services.cipher
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1])["claim_id"]
    entry = {"name": {"name": "Wang Fang"}, "id_number": {"id_number_hash": cipher.lookup_hash(insured[1])},
             "account": {"account_hash": cipher.lookup_hash(ACCOUNT)}}[listed_by]
    session.add(WatchListRecord(reason="test", listed_on=date(2026, 1, 1), **entry))
    session.flush()
    assert fraud_features(domain.ctx(session), claim_id)["watch_listed"] is True


# --- suggest_payout, statuses -------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "remaining", "suggested"), [
    (20000, "100000", 19900.0),  # loss minus the deductible
    (20000, "5000", 5000.0),  # capped by the remaining sum insured
    (80, "100000", 0.0),  # below the deductible: nothing
])
def test_suggest_payout_takes_the_deductible_and_caps_at_the_remaining_sum_insured(domain, session, insured, loss,
                                                                                     remaining, suggested):
    policy = add_policy(session, insured[0], remaining=remaining, deductible="100")
    claim_id = file_claim(domain, session, policy, insured[1])["claim_id"]
    result = suggest_payout(domain.ctx(session), claim_id, loss)
    assert result == {"suggested_amount": suggested, "covered_loss": float(loss), "deductible": 100.0,
                      "remaining_sum_insured": float(remaining)}
    assert claim_of(session, {"claim_id": claim_id}).status == "assessing"


def test_update_claim_status_adds_one_timeline_row_per_change(domain, session, insured):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1])["claim_id"]
    ctx = domain.ctx(session)
    assert update_claim_status(ctx, claim_id, "under_investigation") == {"status": "under_investigation"}
    update_claim_status(ctx, claim_id, "under_investigation")
    assert timeline(session, claim_id) == ["registered", "under_investigation"]
    with pytest.raises(ValueError):
        update_claim_status(ctx, claim_id, "lost")


def test_close_claim_records_the_reason_and_a_closed_claim_stays_closed(domain, session, insured):
    claim_id = file_claim(domain, session, add_policy(session, insured[0]), insured[1])["claim_id"]
    ctx = domain.ctx(session)
    assert close_claim(ctx, claim_id, "rejected", "fraud confirmed by SIU") == {"status": "rejected"}
    assert close_claim(ctx, claim_id, "withdrawn", "documents never came") == {"status": "rejected"}
    claim = claim_of(session, {"claim_id": claim_id})
    assert (claim.rejection_reason, claim.closed_at) == ("fraud confirmed by SIU", domain.clock.now)
    assert timeline(session, claim_id) == ["registered", "rejected"]
    with pytest.raises(ValueError):
        close_claim(ctx, claim_id, "paid", "not a way to close")
