"""Claims gaps after issue 12 (items 1, 10 and 19): a reviewer may accept a claim the machine check got wrong
(confirmed by a claims manager), a beneficiary is still paid no more than their share, and finance never changes
the payee alone (the bank confirms the name, a claims manager approves). test_claims_held_payouts.py has the
payout held for a watch-list match.

Each test walks one path through claims.bpmn with the real handlers and tables (see test_claims_scenarios.py
for the helpers and the demo world), checks the path, the records and the claimant's messages, and ends with a
consistent replay.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ForbiddenError
from tasks.payment_records import PaymentRecord
from tasks.records import CustomerRecord
from tasks.refund_accounts import HolderAccountRecord, StaffAccountRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_decisions import (
    DENIED,
    claim_at_review,
    instructions,
    refused,
    review,
)
from tests.bpmn.test_claims_scenarios import (
    PAYEE_ACCOUNT,
    approval,
    assert_replays,
    assessment,
    claim_payments,
    claim_with_declined_payment,
    events,
    handlers_run,
    messages,
    open_keys,
    performers,
    report_claim,
    resolution,
    rows,
    survey_report,
    tasks_opened,
    the_claim,
    timeline,
)
from tests.bpmn.test_death_claims import DAYS_LATER, SON, SUM_INSURED, WIFE, death_claim, sell_life_policy, who

CORRECTED_ACCOUNT = "6222020200155667788"


def submitted(insurer: Insurer, case: int, task_key: str) -> list[dict[str, Any]]:
    """What was submitted at each completion of a task, with who did it, from the case's history."""
    return [{"actor": e["actor"], **(e["payload"].get("data") or {})}
            for e in events(insurer, case, "task_completed") if e["task"] == task_key]


# --- item 10: the reviewer accepts a claim the check got wrong; a claims manager confirms ----------------------

ACCEPTANCE = ("The emergency-room report shows a fall on day 5: an accident, not an illness. The waiting period "
              "does not apply.")


def accepted_by(insurer: Insurer, reviewer: str = "adjuster") -> int:
    """A claim that failed verification (illness in the waiting period), accepted at the review."""
    case = claim_at_review(insurer, "waiting_period")
    insurer.complete(case, "review_verification", reviewer, review("accept", acceptance_reason=ACCEPTANCE))
    assert open_keys(insurer, case) == ["confirm_verification_override"]
    return case


def confirmation(confirmed: bool, note: str = "ER report checked: accident on day 5.") -> dict[str, Any]:
    """The claims manager's form on an accepted claim."""
    return {"override_confirmed": confirmed, "override_note": note}


def test_a_reviewer_accepts_a_claim_the_check_got_wrong_and_a_claims_manager_confirms_it(insurer: Insurer) -> None:
    case = accepted_by(insurer, "manager")  # manager holds the adjuster role too

    task = insurer.task(case, "confirm_verification_override")
    assert (task.candidate_role, task.separate_from) == ("claims_manager", "register_claim review_verification")
    assert ACCEPTANCE in instructions(insurer, case, "confirm_verification_override")
    assert the_claim(insurer, case).status == "under_review"  # nothing goes on before the second person
    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "confirm_verification_override", "manager", confirmation(True))
    with pytest.raises(ForbiddenError, match="needs role claims_manager"):
        insurer.complete(case, "confirm_verification_override", "adjuster", confirmation(True))

    insurer.complete(case, "confirm_verification_override", "manager2", confirmation(True))

    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "review_verification", "confirm_verification_override",
                                           "assess_amount"]
    # On to fraud screening and the suggestion, like a claim that passed verification.
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim",
                                           "svc_fraud_features", "svc_suggest_payout"]
    assert insurer.data(case)["fraud_level"] == "low"
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("assessing", None)
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing"]
    # Recorded: who accepted and why, who confirmed and why.
    [accepted] = submitted(insurer, case, "review_verification")
    assert (accepted["actor"], accepted["review_decision"], accepted["acceptance_reason"]) == (
        "manager", "accept", ACCEPTANCE)
    [confirmed] = submitted(insurer, case, "confirm_verification_override")
    assert (confirmed["actor"], confirmed["override_confirmed"]) == ("manager2", True)
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]
    assert_replays(insurer, case)


def test_a_claims_manager_who_does_not_confirm_sends_the_claim_back_to_the_review(insurer: Insurer) -> None:
    case = accepted_by(insurer)
    note = "The discharge summary says pneumonia: an illness. The waiting period applies."

    insurer.complete(case, "confirm_verification_override", "manager2", confirmation(False, note))

    assert open_keys(insurer, case) == ["review_verification"]
    assert note in instructions(insurer, case, "review_verification")
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim"]
    assert the_claim(insurer, case).status == "under_review"

    # The review goes on: this time the reason stands and the claim is denied.
    insurer.complete(case, "review_verification", "adjuster",
                     review("deny", denial_code="waiting_period", denial_reason="Pneumonia within 30 days."))

    assert handlers_run(insurer, case)[-2:] == DENIED
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("rejected", "waiting_period: Pneumonia within 30 days.")
    assert performers(insurer, case) == [("register_claim", "clerk"), ("review_verification", "adjuster"),
                                         ("confirm_verification_override", "manager2"),
                                         ("review_verification", "adjuster")]
    assert_replays(insurer, case)


def test_an_acceptance_without_a_reason_and_a_confirmation_without_a_note_are_refused(insurer: Insurer) -> None:
    case = claim_at_review(insurer, "waiting_period")
    assert refused(insurer, case, "review_verification", "adjuster", review("accept")) == {
        "acceptance_reason": "is required"}
    insurer.complete(case, "review_verification", "adjuster", review("accept", acceptance_reason=ACCEPTANCE))

    assert refused(insurer, case, "confirm_verification_override", "manager2", {"override_confirmed": True}) == {
        "override_note": "is required"}

    assert the_claim(insurer, case).status == "under_review"
    assert_replays(insurer, case)


# --- item 1 with item 10: an accepted claim is still paid no more than the beneficiary's share ----------------

def test_a_beneficiary_claim_accepted_above_the_share_is_still_paid_only_the_share(insurer: Insurer) -> None:
    _sale, policy = sell_life_policy(insurer, WIFE, SON)
    insurer.wait(days=DAYS_LATER)
    case = report_claim(insurer, death_claim(policy, who(SON), SUM_INSURED))  # 40 % is 160,000
    assert insurer.data(case)["verification"]["reasons"] == ["share_exceeded"]
    insurer.complete(case, "review_verification", "adjuster", review(
        "accept", acceptance_reason="The son claims for the whole family; his own share is what he is paid."))
    insurer.complete(case, "confirm_verification_override", "manager2", confirmation(True, "Share checked."))
    assert open_keys(insurer, case) == ["conduct_survey"]  # a death claim this large is surveyed
    surveyor = insurer.task(case, "conduct_survey").assignee
    insurer.complete(case, "conduct_survey", surveyor, survey_report(SUM_INSURED))
    assert open_keys(insurer, case) == ["assess_amount"]

    # The suggestion and the form both stop at the son's share, whatever was accepted at verification.
    assert insurer.data(case)["suggestion"]["suggested_amount"] == SUM_INSURED * 0.4
    assert refused(insurer, case, "assess_amount", "adjuster", assessment(SUM_INSURED * 0.5)) == {
        "payable_amount": "is more than the beneficiary's share of 160000.00 CNY: at most 160000.00 can be paid"}
    insurer.complete(case, "assess_amount", "adjuster", assessment(SUM_INSURED * 0.4, "His share."))
    assert insurer.complete(case, "approve_payout", "manager", approval(True)) == "completed"

    assert the_claim(insurer, case).paid_amount == Decimal("160000.00")
    assert_replays(insurer, case)


# --- item 19: finance never changes the payee alone ------------------------------------------------------------

def claimant_name(insurer: Insurer, case: int) -> str:
    """The name of the claim's claimant, as the customer record has it."""
    with insurer.rt.session_factory() as session:
        return session.get(CustomerRecord, the_claim(insurer, case).claimant_id).name


def new_account(note: str = "Old account closed; the claimant gave a new one in writing.",
                account: str = CORRECTED_ACCOUNT) -> dict[str, Any]:
    """Finance's form with a corrected account."""
    return {**resolution("new_account", note), "corrected_payee_account": account}


def payee_decision(approved: bool, reason: str = "Signed request and the bank's name check.") -> dict[str, Any]:
    """The claims manager's form on a change of payee."""
    return {"payee_change_approved": approved, "payee_change_reason": reason}


def change_entered(insurer: Insurer) -> int:
    """A declined payout for which finance entered a corrected account the bank says is the claimant's."""
    case = claim_with_declined_payment(insurer)
    insurer.gateway.account_names[CORRECTED_ACCOUNT] = claimant_name(insurer, case)
    insurer.complete(case, "resolve_payment_failure", "finance", new_account())
    assert open_keys(insurer, case) == ["approve_payee_change"]
    return case


def test_a_corrected_account_in_the_claimants_name_is_paid_once_a_claims_manager_approves(insurer: Insurer) -> None:
    case = change_entered(insurer)

    task = insurer.task(case, "approve_payee_change")
    assert (task.candidate_role, task.separate_from) == ("claims_manager", "resolve_payment_failure")
    assert "bank confirmed the account is held in the claimant's name" in instructions(
        insurer, case, "approve_payee_change")
    assert CORRECTED_ACCOUNT[-4:] in instructions(insurer, case, "approve_payee_change")
    claim = the_claim(insurer, case)
    assert claim.payee_account_hash == insurer.cipher.lookup_hash(PAYEE_ACCOUNT)  # unchanged until approved
    with pytest.raises(ForbiddenError, match="needs role claims_manager"):
        insurer.complete(case, "approve_payee_change", "finance2", payee_decision(True))

    assert insurer.complete(case, "approve_payee_change", "manager2", payee_decision(True)) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "resolve_payment_failure",
                                           "approve_payee_change"]
    assert handlers_run(insurer, case)[-6:] == ["svc_pay_claim", "svc_check_payee", "svc_change_payee",
                                                "svc_pay_claim", "svc_terminate_liability", "svc_notify_paid"]
    assert insurer.data(case)["payee_change"] == {"changed": True, "verified_by": "bank_name_check"}
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    failed, accepted = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(failed.payee_account_enc) == PAYEE_ACCOUNT
    assert insurer.cipher.decrypt(accepted.payee_account_enc) == CORRECTED_ACCOUNT
    assert accepted.idempotency_key.endswith(":payout:2")
    assert performers(insurer, case)[-2:] == [("resolve_payment_failure", "finance"),
                                              ("approve_payee_change", "manager2")]
    assert CORRECTED_ACCOUNT not in str(insurer.history(case))  # personal data only encrypted in history
    assert_replays(insurer, case)


def test_the_finance_user_who_entered_the_account_may_not_approve_it(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)
    insurer.gateway.account_names[CORRECTED_ACCOUNT] = claimant_name(insurer, case)
    insurer.complete(case, "resolve_payment_failure", "finance.manager", new_account())

    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "approve_payee_change", "finance.manager", payee_decision(True))

    assert open_keys(insurer, case) == ["approve_payee_change"]
    assert_replays(insurer, case)


def test_a_refused_change_of_payee_goes_back_to_finance_and_nothing_is_paid(insurer: Insurer) -> None:
    case = change_entered(insurer)
    reason = "No signed request from the claimant on file."

    insurer.complete(case, "approve_payee_change", "manager2", payee_decision(False, reason))

    assert open_keys(insurer, case) == ["resolve_payment_failure"]
    assert reason in instructions(insurer, case, "resolve_payment_failure")
    claim = the_claim(insurer, case)
    assert claim.payee_account_hash == insurer.cipher.lookup_hash(PAYEE_ACCOUNT)
    assert (claim.status, claim.paid_amount) == ("approved", None)
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed")]
    assert insurer.gateway.paid == {}
    assert "svc_change_payee" not in handlers_run(insurer, case)
    assert_replays(insurer, case)


@pytest.mark.parametrize(("bank_says", "reason", "words"), [
    ("Zhang Wei", "name_mismatch", "held in another name than the claimant's"),
    (None, "name_unconfirmed", "could not confirm whose name the account is in"),
])
def test_an_account_not_in_the_claimants_name_is_refused_with_a_plain_reason(
        insurer: Insurer, bank_says: str | None, reason: str, words: str) -> None:
    case = claim_with_declined_payment(insurer)
    if bank_says is not None:
        insurer.gateway.account_names[CORRECTED_ACCOUNT] = bank_says

    insurer.complete(case, "resolve_payment_failure", "finance", new_account())

    assert open_keys(insurer, case) == ["resolve_payment_failure"]  # straight back, no manager asked
    check = insurer.data(case)["payee_check"]
    assert (check["allowed"], check["reasons"], check["account_last4"]) == (False, [reason], "7788")
    text = instructions(insurer, case, "resolve_payment_failure")
    assert words in text and "ending 7788 was refused" in text
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "resolve_payment_failure",
                                           "resolve_payment_failure"]
    claim = the_claim(insurer, case)
    assert claim.payee_account_hash == insurer.cipher.lookup_hash(PAYEE_ACCOUNT)
    assert insurer.gateway.paid == {}
    # Told once: a retry the bank declines again comes back without the old refusal.
    insurer.gateway.script = ["decline"]
    insurer.complete(case, "resolve_payment_failure", "finance", resolution("retry", "Bank says try again."))
    assert open_keys(insurer, case) == ["resolve_payment_failure"]
    assert "was refused" not in instructions(insurer, case, "resolve_payment_failure")
    assert_replays(insurer, case)


def test_a_staff_members_account_is_refused_whatever_the_bank_says(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)
    insurer.gateway.account_names[CORRECTED_ACCOUNT] = claimant_name(insurer, case)
    with insurer.rt.session_factory() as session, session.begin():
        session.add(StaffAccountRecord(username="finance", account_enc=insurer.cipher.encrypt(CORRECTED_ACCOUNT),
                                       account_hash=insurer.cipher.lookup_hash(CORRECTED_ACCOUNT),
                                       registered_at=insurer.clock()))

    insurer.complete(case, "resolve_payment_failure", "finance", new_account())

    assert open_keys(insurer, case) == ["resolve_payment_failure"]
    assert insurer.data(case)["payee_check"]["reasons"] == ["staff_account"]
    assert "member of our staff" in instructions(insurer, case, "resolve_payment_failure")
    assert_replays(insurer, case)


def test_an_account_verified_at_a_counter_as_the_claimants_goes_to_the_claims_manager(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)  # the bank's name check knows nothing of this account
    with insurer.rt.session_factory() as session, session.begin():
        session.add(HolderAccountRecord(customer_id=the_claim(insurer, case).claimant_id,
                                        account_enc=insurer.cipher.encrypt(CORRECTED_ACCOUNT),
                                        account_hash=insurer.cipher.lookup_hash(CORRECTED_ACCOUNT),
                                        verified_by="counter", verified_at=insurer.clock()))

    insurer.complete(case, "resolve_payment_failure", "finance", new_account())
    insurer.complete(case, "approve_payee_change", "manager2", payee_decision(True))

    assert insurer.status(case) == "completed"
    assert insurer.data(case)["payee_change"] == {"changed": True, "verified_by": "holder_account"}
    assert the_claim(insurer, case).status == "paid"
    assert_replays(insurer, case)


def test_the_same_account_entered_again_is_retried_without_a_second_person(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)

    status = insurer.complete(case, "resolve_payment_failure", "finance",
                              new_account("Bank reopened the account.", PAYEE_ACCOUNT))

    assert status == "completed"
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "resolve_payment_failure"]
    assert handlers_run(insurer, case)[-5:] == ["svc_pay_claim", "svc_check_payee", "svc_pay_claim",
                                                "svc_terminate_liability", "svc_notify_paid"]
    assert the_claim(insurer, case).status == "paid"
    assert_replays(insurer, case)


def test_a_corrected_account_that_is_not_an_account_number_is_refused_on_the_form(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)

    assert set(refused(insurer, case, "resolve_payment_failure", "finance", new_account(account="6222-0202"))) == {
        "corrected_payee_account"}
    assert refused(insurer, case, "resolve_payment_failure", "finance", resolution("new_account", "x")) == {
        "corrected_payee_account": "is required"}
    assert_replays(insurer, case)
