"""Claims decide correctly (issue 12): four-eyes on payouts above the claim or the suggestion, payouts
within the remaining cover, denial with a coded reason and a written notice, a person reviewing a failed
verification, and no waiting period for accidents.

Each test walks one path through claims.bpmn with the real handlers and tables (see
test_claims_scenarios.py for the helpers and the demo world), checks the path, the records and the
claimant's messages, and ends with a consistent replay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select

from engine.errors import ForbiddenError, InvalidInputError
from engine.workflow import task_service
from services.demo.data import CUSTOMERS, demo_identity
from tasks.claim_status import claim_status
from tasks.notices import render_notice
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord
from tasks.records import ClaimRecord, CustomerRecord, PolicyRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import (
    DOCUMENTS,
    REJECTIONS,
    TO_ASSESSMENT,
    TO_PAID,
    after_start,
    approval,
    assert_replays,
    assessment,
    claim_at_assessment,
    claim_form,
    events,
    handlers_run,
    last_events,
    messages,
    open_keys,
    performers,
    policy,
    report_claim,
    rows,
    tasks_opened,
    the_claim,
    timeline,
)

TOLERANCE = 100  # approval_limits.dmn: how far above the suggestion an adjuster may pay alone (CNY)
APPEAL_DAYS = 60  # claim_denial.dmn: the days the claimant has to ask for a review of a denial
DENIED = ["svc_deny_claim", "svc_notify_denied"]


def denial(code: str, reason: str) -> dict[str, Any]:
    """The adjuster's assessment form when the claim is denied."""
    return {"decision": "deny", "denial_code": code, "denial_reason": reason}


def review(decision: str, **fields: Any) -> dict[str, Any]:
    """The reviewer's form after a failed verification."""
    return {"review_decision": decision, **fields}


def instructions(insurer: Insurer, case: int, task_key: str) -> str:
    """The task's instructions as its page shows them (filled from the case's data)."""
    view = task_service.get_task(insurer.rt, insurer.task(case, task_key).id, insurer.actor("auditor"))
    return ImmutableSandboxedEnvironment().from_string(view.instructions or "").render(view.data or {})


def refused(insurer: Insurer, case: int, task_key: str, user: str, data: dict[str, Any]) -> dict[str, str]:
    """Submit a form the engine must refuse; its field errors (and the case is unchanged)."""
    before = insurer.history(case)
    with pytest.raises(InvalidInputError) as caught:
        insurer.complete(case, task_key, user, data)
    assert insurer.history(case) == before
    assert task_key in open_keys(insurer, case)
    return caught.value.details["fields"]


def letter(insurer: Insurer, notification: NotificationRecord, language: str = "en") -> str:
    """A queued written notice as the claimant reads it."""
    return render_notice(notification.template, insurer.cipher.reveal("notification", notification.params),
                         language)


def public_status(insurer: Insurer, claim: ClaimRecord) -> list[str]:
    """The steps the customer's status page shows for the claim."""
    with insurer.rt.session_factory() as session:
        found = claim_status(session, claim.id)
    assert found is not None
    return [step["status"] for step in found["steps"]]


def young_policy(insurer: Insurer, product: str, insured: int, sum_insured: int, days: int,
                 beneficiary: int | None = None) -> str:
    """A policy of a demo customer that started `days` ago; its number."""
    start = insurer.clock.now.date() - timedelta(days=days)
    number = f"PYOUNG{len(rows(insurer, PolicyRecord)):04d}"
    with insurer.rt.session_factory() as session, session.begin():
        people = {}
        for who in {insured, beneficiary} - {None}:
            digest = insurer.cipher.lookup_hash(demo_identity(who)[1])
            people[who] = session.scalars(select(CustomerRecord).where(CustomerRecord.id_number_hash == digest)).one()
        session.add(PolicyRecord(
            number=number, product_code=product, holder_id=people[insured].id, insured_id=people[insured].id,
            beneficiary_ids=[people[beneficiary].id] if beneficiary is not None else [],
            sum_insured=Decimal(sum_insured), remaining_sum_insured=Decimal(sum_insured), annual_premium=Decimal(900),
            term_years=20, start_date=start, end_date=start.replace(year=start.year + 20), cooling_off_end=None,
            status="in_force", premiums_paid=Decimal(900), issued_at=datetime.combine(start, datetime.min.time(), UTC)))
    return number


def paid_earlier(insurer: Insurer, number: str, amount: int) -> None:
    """An earlier claim on the policy, paid `amount` a year ago: the remaining sum insured is that much less."""
    with insurer.rt.session_factory() as session, session.begin():
        cover = session.scalars(select(PolicyRecord).where(PolicyRecord.number == number)).one()
        account = "6222020200199999999"
        session.add(ClaimRecord(
            number="C20251101000001", policy_id=cover.id, claimant_id=cover.insured_id,
            incident_date=insurer.clock.now.date() - timedelta(days=400), claim_type="hospitalization",
            claimed_amount=Decimal(amount), payee_account_enc=insurer.cipher.encrypt(account),
            payee_account_hash=insurer.cipher.lookup_hash(account), region="beijing", status="paid",
            check_code="0000", paid_amount=Decimal(amount), reported_at=insurer.clock() - timedelta(days=400),
            closed_at=insurer.clock() - timedelta(days=390)))
        cover.remaining_sum_insured -= Decimal(amount)


# --- item 2: an adjuster alone pays no more than was claimed or suggested ----------------------------------

# PDEMO0002 (HOME01, 1,000 deductible): 30,000 claimed, 29,000 suggested — the case from the browser.
PROPERTY_30K = claim_form(2, claim_type="property_damage", amount=30_000, incident="2026-10-20")


@pytest.mark.parametrize(("payable", "why"), [(35_000, "above the claimed amount"),
                                              (29_500, "more than the tolerance above the suggestion")])
def test_a_payout_above_the_claim_or_the_suggestion_needs_the_managers_approval_and_reason(
        insurer: Insurer, payable: float, why: str) -> None:
    case = claim_at_assessment(insurer, PROPERTY_30K)
    assert insurer.data(case)["suggestion"]["suggested_amount"] == 29_000

    insurer.complete(case, "assess_amount", "adjuster", assessment(payable, "Contents were under-declared."))

    assert open_keys(insurer, case) == ["approve_payout"], why
    task = insurer.task(case, "approve_payout")
    assert (task.candidate_role, task.separate_from) == ("claims_manager", "assess_amount")
    shown = instructions(insurer, case, "approve_payout")
    assert f"The adjuster assessed {payable}" in shown and "claimed 30000" in shown and why in shown
    assert the_claim(insurer, case).status == "assessing"
    assert refused(insurer, case, "approve_payout", "manager2", {"approved": True}) == {"reason": "is required"}
    with pytest.raises(ForbiddenError, match="needs role claims_manager"):
        insurer.complete(case, "approve_payout", "adjuster", approval(True, "Fine."))

    assert insurer.complete(case, "approve_payout", "manager2",
                            approval(True, "Invoices for the extra contents are on file.")) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "approve_payout"]
    assert performers(insurer, case)[1:] == [("assess_amount", "adjuster"), ("approve_payout", "manager2")]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + TO_PAID
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal(payable))
    assert insurer.data(case)["reason"] == "Invoices for the extra contents are on file."
    assert_replays(insurer, case)


def test_a_payout_within_the_tolerance_of_the_suggestion_and_the_claim_is_paid_without_a_manager(
        insurer: Insurer) -> None:
    case = claim_at_assessment(insurer, PROPERTY_30K)

    status = insurer.complete(case, "assess_amount", "adjuster", assessment(29_000 + TOLERANCE, "Rounded up."))

    assert status == "completed"
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount"]
    assert insurer.data(case)["suggestion_tolerance"] == TOLERANCE
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal(29_000 + TOLERANCE))
    assert_replays(insurer, case)


def test_a_payout_of_exactly_the_suggestion_plus_the_tolerance_is_compared_in_exact_decimals(
        insurer: Insurer) -> None:
    # 9,092.03 claimed, 1,000 deductible: 8,092.03 suggested. In binary floating point 8092.03 + 100 is
    # 8192.029999999999, so 8,192.03 would look above the tolerance and wrongly need the manager.
    case = claim_at_assessment(insurer, claim_form(2, claim_type="property_damage", amount=9_092.03,
                                                   incident="2026-10-20"))
    suggestion = insurer.data(case)["suggestion"]
    assert suggestion["suggested_amount"] == Decimal("8092.03") and isinstance(suggestion["suggested_amount"], Decimal)

    status = insurer.complete(case, "assess_amount", "adjuster", assessment(Decimal("8192.03"), "Rounded up."))

    assert status == "completed"
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount"]
    assert (the_claim(insurer, case).status, the_claim(insurer, case).paid_amount) == ("paid", Decimal("8192.03"))
    assert_replays(insurer, case)


def test_the_manager_sends_an_override_back_and_the_adjuster_pays_the_suggestion(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer, PROPERTY_30K)
    insurer.complete(case, "assess_amount", "adjuster", assessment(35_000))

    insurer.complete(case, "approve_payout", "manager2", approval(False, "No evidence for more than claimed."))
    assert open_keys(insurer, case) == ["assess_amount"]
    assert insurer.complete(case, "assess_amount", "adjuster", assessment(29_000)) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "approve_payout", "assess_amount"]
    assert the_claim(insurer, case).paid_amount == Decimal("29000.00")
    assert_replays(insurer, case)


def test_a_payable_amount_above_the_remaining_sum_insured_is_refused_on_the_form(insurer: Insurer) -> None:
    paid_earlier(insurer, "PDEMO0001", 194_000)  # of its 200,000
    case = claim_at_assessment(insurer)  # 8,000 claimed; capped at 6,000
    assert insurer.data(case)["suggestion"]["suggested_amount"] == 6_000

    errors = refused(insurer, case, "assess_amount", "adjuster", assessment(6_000.01))

    assert list(errors) == ["payable_amount"]
    assert "remaining sum insured" in errors["payable_amount"] and "6000.00" in errors["payable_amount"]
    assert rows(insurer, PaymentRecord) == []
    assert insurer.complete(case, "assess_amount", "adjuster", assessment(6_000)) == "completed"
    assert the_claim(insurer, case).paid_amount == Decimal("6000.00")
    cover = policy(insurer, "PDEMO0001")
    assert (cover.status, cover.terminated_reason, cover.remaining_sum_insured) == (
        "terminated", "exhausted", Decimal("0.00"))
    assert_replays(insurer, case)


@pytest.mark.parametrize(("data", "fields"), [
    (assessment(0), {"payable_amount"}),  # nothing to pay is a denial, not a payment of 0
    ({"decision": "pay"}, {"payable_amount"}),
    ({"payable_amount": 7_500}, {"decision"}),
    ({"decision": "deny", "denial_reason": "Not covered."}, {"denial_code"}),
    ({"decision": "deny", "denial_code": "exclusion"}, {"denial_reason"}),
    ({"decision": "deny", "denial_code": "waiting_period", "denial_reason": "x"}, {"denial_code"}),
])
def test_an_incomplete_assessment_is_refused_with_the_fields_named(
        insurer: Insurer, data: dict[str, Any], fields: set[str]) -> None:
    case = claim_at_assessment(insurer)

    assert set(refused(insurer, case, "assess_amount", "adjuster", data)) == fields

    assert the_claim(insurer, case).status == "assessing"
    assert_replays(insurer, case)


# --- item 3: denial at adjudication, with a written notice ------------------------------------------------

def assert_denied(insurer: Insurer, case: int, code: str, reason: str) -> tuple[ClaimRecord, NotificationRecord]:
    """The case ended at the denial: claim rejected with the coded reason, nothing paid, the claimant sent a
    written denial notice; the claim and the notice."""
    assert insurer.status(case) == "completed"
    assert last_events(insurer, case, 3) == [("handler_executed", "svc_deny_claim"),
                                             ("handler_executed", "svc_notify_denied"), ("instance_completed", None)]
    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_denied"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount, claim.rejection_reason) == ("rejected", None, f"{code}: {reason}")
    assert public_status(insurer, claim)[-1] == "rejected"  # shown as 已拒赔 / Rejected
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    [sent] = rows(insurer, NotificationRecord, NotificationRecord.template != "claim_acknowledged")
    assert (sent.template, sent.channel, sent.customer_id) == ("claim_denied", "letter", claim.claimant_id)
    params = insurer.cipher.reveal("notification", sent.params)
    assert (params["claim_number"], params["denial_code"], params["denial_reason"], params["appeal_days"]) == (
        claim.number, code, reason, APPEAL_DAYS)
    text = letter(insurer, sent)
    assert claim.number in text and reason in text and params["denial_basis"] in text
    assert f"within {APPEAL_DAYS} days" in text and "12378" in text  # how to appeal
    chinese = letter(insurer, sent, "zh")
    assert "拒赔通知书" in chinese and params["denial_basis_zh"] in chinese and f"{APPEAL_DAYS}日内" in chinese
    return claim, sent


def test_a_loss_within_the_deductible_is_denied_with_a_written_notice_not_paid_0(insurer: Insurer) -> None:
    # PDEMO0002 (HOME01): 800 of damage against a 1,000 deductible leaves nothing to pay.
    case = claim_at_assessment(insurer, claim_form(2, claim_type="property_damage", amount=800, incident="2026-10-20"))
    assert insurer.data(case)["suggestion"]["suggested_amount"] == 0
    assert "deny" in instructions(insurer, case, "assess_amount")

    reason = "The repair estimate of 800 CNY is below the 1,000 CNY deductible of your policy."
    assert insurer.complete(case, "assess_amount", "adjuster", denial("below_deductible", reason)) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount"]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + DENIED
    claim, _sent = assert_denied(insurer, case, "below_deductible", reason)
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "rejected"]
    assert insurer.data(case)["denial_basis"] == "The loss does not exceed the deductible of your policy."
    cover = policy(insurer, "PDEMO0002")
    assert (cover.status, cover.remaining_sum_insured) == ("in_force", Decimal("1500000.00"))
    assert [e["task"] for e in events(insurer, case, "incident_raised")] == []
    assert_replays(insurer, case)


@pytest.mark.parametrize(("code", "basis"), [
    ("exclusion", "The loss falls under an exclusion of your policy"),
    ("non_disclosure", "did not disclose"),
    ("not_covered", "The loss is not covered by your policy"),
])
def test_the_adjuster_denies_a_claim_with_a_coded_reason(insurer: Insurer, code: str, basis: str) -> None:
    case = claim_at_assessment(insurer)

    reason = "The hospital stay was for a cosmetic procedure." if code != "non_disclosure" else (
        "Diabetes diagnosed in 2019 was not declared when applying.")
    assert insurer.complete(case, "assess_amount", "adjuster", denial(code, reason)) == "completed"

    claim, sent = assert_denied(insurer, case, code, reason)
    assert basis in insurer.cipher.reveal("notification", sent.params)["denial_basis"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_denied", claim.claimant_id)]
    assert_replays(insurer, case)


# --- item 10: a person reviews a failed verification -------------------------------------------------------

def claim_at_review(insurer: Insurer, reason: str) -> int:
    """A claim that failed verification for `reason`, waiting for an adjuster's review."""
    case = report_claim(insurer, REJECTIONS[reason])
    assert open_keys(insurer, case) == ["review_verification"]
    return case


@pytest.mark.parametrize("reason", REJECTIONS)
def test_a_claim_failing_verification_waits_for_a_review_that_shows_the_reasons(
        insurer: Insurer, reason: str) -> None:
    case = claim_at_review(insurer, reason)

    task = insurer.task(case, "review_verification")
    assert (task.candidate_role, task.assignee) == ("adjuster", None)
    assert reason in instructions(insurer, case, "review_verification")
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("under_review", None)
    assert timeline(insurer, claim) == ["registered", "under_review"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]  # nothing but the acknowledgement yet
    with pytest.raises(ForbiddenError, match="needs role adjuster"):
        insurer.complete(case, "review_verification", "clerk", review("deny", denial_code=reason,
                                                                       denial_reason="x"))
    assert_replays(insurer, case)


@pytest.mark.parametrize("reason", REJECTIONS)
def test_the_reviewer_denies_the_claim_and_the_claimant_gets_a_written_notice(insurer: Insurer, reason: str) -> None:
    case = claim_at_review(insurer, reason)

    written = "We checked the registration against the policy: the reason stands."
    insurer.complete(case, "review_verification", "adjuster", review("deny", denial_code=reason,
                                                                      denial_reason=written))

    assert tasks_opened(insurer, case) == ["register_claim", "review_verification"]
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim", *DENIED]
    claim, _sent = assert_denied(insurer, case, reason, written)
    assert timeline(insurer, claim) == ["registered", "under_review", "rejected"]
    assert_replays(insurer, case)


def test_the_reviewer_sends_a_mistyped_claim_back_and_the_corrected_claim_goes_on(insurer: Insurer) -> None:
    # MED01 does not cover accident_injury: the clerk picked the wrong claim type for a hospital stay.
    case = claim_at_review(insurer, "claim_type_not_covered")
    note = "The claimant was in hospital for pneumonia: claim type hospitalization, illness."

    insurer.complete(case, "review_verification", "adjuster", review("send_back", review_note=note))

    assert open_keys(insurer, case) == ["register_claim"]
    assert insurer.task(case, "register_claim").candidate_role == "claims_clerk"
    assert note in instructions(insurer, case, "register_claim")
    corrected = {**claim_form(1, amount=3_000), "documents": DOCUMENTS["hospitalization"]}
    insurer.complete(case, "register_claim", "clerk", corrected)

    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "review_verification", "register_claim",
                                           "assess_amount"]
    # The corrected claim is not acknowledged a second time.
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim",
                                           *[h for h in TO_ASSESSMENT if h != "svc_notify_acknowledged"]]
    [claim] = rows(insurer, ClaimRecord)  # the same claim, corrected — not a second one
    assert (claim.instance_id, claim.claim_type, claim.status) == (case, "hospitalization", "assessing")
    assert insurer.data(case)["claim"]["corrected"] == ["claim_type", "description"]
    assert insurer.data(case)["verification"]["verified"] is True
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing"]
    assert_replays(insurer, case)


@pytest.mark.parametrize(("data", "fields"), [
    ({}, {"review_decision"}),
    (review("send_back"), {"review_note"}),
    (review("deny", denial_reason="No."), {"denial_code"}),
    (review("deny", denial_code="waiting_period"), {"denial_reason"}),
    (review("deny", denial_code="below_deductible", denial_reason="x"), {"denial_code"}),
])
def test_an_incomplete_review_is_refused_with_the_fields_named(
        insurer: Insurer, data: dict[str, Any], fields: set[str]) -> None:
    case = claim_at_review(insurer, "waiting_period")

    assert set(refused(insurer, case, "review_verification", "adjuster", data)) == fields

    assert the_claim(insurer, case).status == "under_review"
    assert_replays(insurer, case)


# --- item 11: the waiting period applies to illness, not to accidents --------------------------------------

def test_an_accident_in_the_waiting_period_of_a_medical_policy_is_covered(insurer: Insurer) -> None:
    # PDEMO0006 (MED01) is 10 days old: a hospital stay 5 days after its start, after a fall.
    form = {**claim_form(6, incident=after_start(6, days=5), amount=3_000), "cause_of_loss": "accident"}

    case = report_claim(insurer, form)

    assert open_keys(insurer, case) == ["assess_amount"]
    data = insurer.data(case)
    assert (data["waiting_days"], data["verification"]["reasons"]) == (0, [])
    assert handlers_run(insurer, case) == TO_ASSESSMENT
    assert_replays(insurer, case)


@pytest.mark.parametrize(("cause", "waiting_days", "next_task"), [
    ("accident", 0, "siu_investigation"), ("illness", 90, "review_verification")])
def test_a_death_on_day_10_of_a_life_policy_waits_90_days_only_when_caused_by_illness(
        insurer: Insurer, cause: str, waiting_days: int, next_task: str) -> None:
    number = young_policy(insurer, "LIFE20", insured=2, sum_insured=500_000, days=10, beneficiary=1)
    incident = (insurer.clock.now.date() - timedelta(days=1)).isoformat()  # day 9 of the policy
    form = {**claim_form(3, claim_type="death", amount=500_000, incident=incident, claimant=1,
                         region=CUSTOMERS[2][5]), "policy_number": number, "cause_of_loss": cause}

    case = report_claim(insurer, form)

    data = insurer.data(case)
    assert data["waiting_days"] == waiting_days
    assert data["verification"]["reasons"] == ([] if cause == "accident" else ["waiting_period"])
    # A large claim so soon after the start still goes to the SIU: only the waiting period is lifted.
    assert open_keys(insurer, case) == [next_task]
    assert_replays(insurer, case)


def test_a_registration_without_the_cause_of_loss_is_refused_and_nothing_is_opened(insurer: Insurer) -> None:
    case = insurer.start("claims", "clerk")
    form = claim_form()
    del form["cause_of_loss"]

    assert refused(insurer, case, "register_claim", "clerk", form) == {"cause_of_loss": "is required"}
    assert refused(insurer, case, "register_claim", "clerk", {**form, "cause_of_loss": "act_of_god"}) == {
        "cause_of_loss": "'act_of_god' is not one of ['accident', 'illness']"}

    assert rows(insurer, ClaimRecord) == []
    assert insurer.complete(case, "register_claim", "clerk", claim_form()) == "running"
    assert open_keys(insurer, case) == ["assess_amount"]
    assert_replays(insurer, case)
