"""Claims controls (issue 12, items 13, 14, 15, 16 and 19, claims part): fraud handled to its end with a second
person, a police report and a rescission review; survey findings referred to the SIU; no investigation ever
shown to the claimant; an exit for reports that match no policy; a survey escalation re-armed until the report
is in; the claimant told at registration and when documents are asked for; a third approval tier above the
claims manager; and a failed payout resolved without ever turning an approved claim into a rejected one.

Each test walks one path through claims.bpmn with the real handlers and tables (see test_claims_scenarios.py
for the helpers and the demo world), checks the path, the records and the claimant's messages, and ends with a
consistent replay.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ForbiddenError
from tasks.fraud import FraudCaseRecord
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord
from tasks.records import ClaimRecord, CustomerRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_decisions import instructions, letter, public_status, refused
from tests.bpmn.test_claims_scenarios import (
    PAYEE_ACCOUNT,
    approval,
    assert_replays,
    assessment,
    claim_at_assessment,
    claim_at_investigation,
    claim_form,
    claim_missing_documents,
    claim_payments,
    claim_with_declined_payment,
    events,
    handlers_run,
    investigation,
    messages,
    open_keys,
    performers,
    policy,
    report_claim,
    resolution,
    rows,
    survey_report,
    tasks_opened,
    the_claim,
    timeline,
    watch_list_account,
)

POLICE_REPORT = "JJ-2026-110-0457"
# Words that would tell a claimant about an investigation or a report to the police (tipping-off).
TIPPING_OFF = ("investigat", "police", "SIU", "suspic", "watch", "调查", "公安", "报案回执", "可疑", "名单")


def sent(insurer: Insurer, template: str) -> list[NotificationRecord]:
    """The queued messages of one template."""
    return [n for n in rows(insurer, NotificationRecord) if n.template == template]


def params(insurer: Insurer, notification: NotificationRecord) -> dict[str, Any]:
    """A queued message's params, as the sender reads them."""
    return insurer.cipher.reveal("notification", notification.params)


def assert_no_tipping_off(insurer: Insurer, claim: ClaimRecord) -> None:
    """Nothing the claimant can see — status page steps, any message in either language — names an
    investigation, a police report or the watch list."""
    assert "under_investigation" not in public_status(insurer, claim)
    for notification in rows(insurer, NotificationRecord):
        shown = [str(params(insurer, notification))]
        if notification.template in ("claim_denied", "claim_acknowledged", "claim_documents_requested",
                                     "claim_payment_cancelled"):
            shown += [letter(insurer, notification, "en"), letter(insurer, notification, "zh")]
        for text in shown:
            assert not [w for w in TIPPING_OFF if w.lower() in text.lower()], (notification.template, text)


# --- item 13: fraud handling to its end ---------------------------------------------------------------

def fraud_confirmed_by(insurer: Insurer, investigator: str = "siu") -> int:
    """A claim the SIU found fraudulent, with the police report's reference, waiting for the second person."""
    case = claim_at_investigation(insurer, "early_large_claim")
    finding = investigation(True, "Staged accident, witness paid.")
    insurer.complete(case, "siu_investigation", investigator, {**finding, "police_report_reference": POLICE_REPORT})
    assert open_keys(insurer, case) == ["confirm_fraud_denial"]
    return case


def deny_for_fraud(reason: str = "The accident did not happen as reported.") -> dict[str, Any]:
    """The second person's form when the claim is denied for fraud."""
    return {"denial_confirmed": True, "denial_reason": reason, "confirm_note": "Witness statement and bank trail hold."}


def test_a_fraud_denial_needs_a_second_person_and_ends_in_a_rescission_review(insurer: Insurer) -> None:
    case = fraud_confirmed_by(insurer, "siu.lead")  # siu.lead holds both siu and claims_manager

    task = insurer.task(case, "confirm_fraud_denial")
    assert (task.candidate_role, task.separate_from) == ("claims_manager", "siu_investigation")
    assert POLICE_REPORT in instructions(insurer, case, "confirm_fraud_denial")
    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "confirm_fraud_denial", "siu.lead", deny_for_fraud())
    with pytest.raises(ForbiddenError, match="needs role claims_manager"):
        insurer.complete(case, "confirm_fraud_denial", "siu", deny_for_fraud())
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("under_investigation", None)

    reason = "The accident did not happen as reported."
    insurer.complete(case, "confirm_fraud_denial", "manager2", deny_for_fraud(reason))

    assert open_keys(insurer, case) == ["rescission_review"]
    assert insurer.task(case, "rescission_review").candidate_role == "underwriter"
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("rejected", f"fraud: {reason}")
    [fraud] = rows(insurer, FraudCaseRecord)
    assert (fraud.claim_id, fraud.policy_id, fraud.police_report_reference, fraud.rescission_outcome) == (
        claim.id, claim.policy_id, POLICE_REPORT, "pending")
    assert fraud.finding == "Staged accident, witness paid."
    [denied] = sent(insurer, "claim_denied")
    assert (denied.channel, params(insurer, denied)["denial_code"]) == ("letter", "fraud")
    text = letter(insurer, denied)
    assert reason in text and "did not happen as reported" in text and "within 60 days" in text
    assert "第二十七条" in letter(insurer, denied, "zh")
    assert sent(insurer, "claim_rejected") == []  # the old one-line rejection is gone

    insurer.complete(case, "rescission_review", "uw", {"rescission_outcome": "rescind",
                                                        "rescission_note": "Fabricated insured event (art. 27)."})

    assert insurer.status(case) == "completed"
    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_rejected_fraud"]
    assert performers(insurer, case)[1:] == [("siu_investigation", "siu.lead"), ("confirm_fraud_denial", "manager2"),
                                             ("rescission_review", "uw")]
    [fraud] = rows(insurer, FraudCaseRecord)
    assert (fraud.rescission_outcome, fraud.rescission_note) == ("rescind", "Fabricated insured event (art. 27).")
    cover = policy(insurer, "PDEMO0004")
    assert (cover.status, cover.terminated_reason) == ("terminated", "rescinded")
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_denied", claim.claimant_id),
                                 ("policy_terminated", cover.holder_id)]
    assert rows(insurer, PaymentRecord) == []
    assert_no_tipping_off(insurer, claim)
    assert_replays(insurer, case)


def test_the_rescission_review_may_keep_the_policy_in_force(insurer: Insurer) -> None:
    case = fraud_confirmed_by(insurer)
    insurer.complete(case, "confirm_fraud_denial", "manager2", deny_for_fraud())

    insurer.complete(case, "rescission_review", "uw", {
        "rescission_outcome": "keep", "rescission_note": "The claimant is a beneficiary, not the holder."})

    assert insurer.status(case) == "completed"
    [fraud] = rows(insurer, FraudCaseRecord)
    assert fraud.rescission_outcome == "keep" and fraud.rescission_decided_at is not None
    assert policy(insurer, "PDEMO0004").status == "in_force"
    assert_replays(insurer, case)


def test_confirmed_fraud_without_the_police_report_reference_is_refused(insurer: Insurer) -> None:
    case = claim_at_investigation(insurer, "early_large_claim")

    assert refused(insurer, case, "siu_investigation", "siu", investigation(True, "Staged.")) == {
        "police_report_reference": "is required"}
    assert refused(insurer, case, "siu_investigation", "siu",
                   {**investigation(True, "Staged."), "police_report_reference": ""}) == {
        "police_report_reference": "'' should be non-empty"}

    assert rows(insurer, FraudCaseRecord) == []
    assert_replays(insurer, case)


def test_the_second_person_sends_the_finding_back_and_the_siu_clears_the_claim(insurer: Insurer) -> None:
    case = fraud_confirmed_by(insurer)
    assert refused(insurer, case, "confirm_fraud_denial", "manager2",
                   {"denial_confirmed": True, "confirm_note": "Agreed."}) == {"denial_reason": "is required"}

    insurer.complete(case, "confirm_fraud_denial", "manager2",
                     {"denial_confirmed": False, "confirm_note": "The witness statement is not on file."})

    assert open_keys(insurer, case) == ["siu_investigation"]
    assert "The witness statement is not on file." in instructions(insurer, case, "siu_investigation")
    insurer.complete(case, "siu_investigation", "siu", investigation(False, "Hospital and police confirm it."))
    assert open_keys(insurer, case) == ["conduct_survey"]  # accident above 50,000: a survey, as before
    assert tasks_opened(insurer, case) == ["register_claim", "siu_investigation", "confirm_fraud_denial",
                                           "siu_investigation", "conduct_survey"]
    assert rows(insurer, FraudCaseRecord) == []
    assert the_claim(insurer, case).rejection_reason is None
    assert_replays(insurer, case)


def property_claim_at_survey(insurer: Insurer, amount: float = 120_000) -> int:
    """PDEMO0005 (HOME01, hangzhou): property damage above 50,000 goes to a survey."""
    case = report_claim(insurer, claim_form(5, claim_type="property_damage", amount=amount, incident="2026-10-30"))
    assert open_keys(insurer, case) == ["conduct_survey"]
    return case


def test_a_surveyor_refers_the_claim_to_the_siu_and_a_cleared_claim_is_assessed_on_the_survey(
        insurer: Insurer) -> None:
    case = property_claim_at_survey(insurer)
    surveyor = insurer.data(case)["surveyor"]
    assert refused(insurer, case, "conduct_survey", surveyor, {**survey_report(100_000), "refer_to_siu": True}) == {
        "siu_referral_reason": "is required"}

    insurer.complete(case, "conduct_survey", surveyor, {
        **survey_report(100_000), "refer_to_siu": True, "siu_referral_reason": "Burn marks predate the reported fire."})

    assert open_keys(insurer, case) == ["siu_investigation"]
    assert insurer.data(case)["fraud_reason"] == "referred by the surveyor: Burn marks predate the reported fire."
    assert "Burn marks predate" in instructions(insurer, case, "siu_investigation")
    claim = the_claim(insurer, case)
    assert claim.status == "under_investigation"
    assert timeline(insurer, claim) == ["registered", "under_review", "survey_scheduled", "under_investigation"]
    assert public_status(insurer, claim) == ["registered", "under_review", "survey_scheduled", "under_review"]

    insurer.complete(case, "siu_investigation", "siu", investigation(False, "Old damage from a 2024 claim; repaired."))

    assert open_keys(insurer, case) == ["assess_amount"]  # no second survey: the surveyor's loss stands
    assert tasks_opened(insurer, case) == ["register_claim", "conduct_survey", "siu_investigation", "assess_amount"]
    assert insurer.data(case)["suggestion"]["suggested_amount"] == 99_000  # 100,000 surveyed − 1,000 deductible
    assert handlers_run(insurer, case).count("svc_schedule_survey") == 1
    assert_no_tipping_off(insurer, the_claim(insurer, case))
    assert_replays(insurer, case)


def test_a_survey_without_the_referral_choice_is_refused(insurer: Insurer) -> None:
    case = property_claim_at_survey(insurer)
    form = survey_report(100_000)
    del form["refer_to_siu"]

    assert refused(insurer, case, "conduct_survey", insurer.data(case)["surveyor"], form) == {
        "refer_to_siu": "is required"}
    assert_replays(insurer, case)


def test_the_status_page_shows_an_investigation_as_in_review(insurer: Insurer) -> None:
    case = claim_at_investigation(insurer, "watch_listed_payee")
    claim = the_claim(insurer, case)

    assert claim.status == "under_investigation"  # staff see it
    assert timeline(insurer, claim) == ["registered", "under_review", "under_investigation"]
    assert public_status(insurer, claim) == ["registered", "under_review"]  # the claimant does not
    from webui.public import STATUS_LABELS
    assert "under_investigation" not in STATUS_LABELS
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]
    assert_no_tipping_off(insurer, claim)
    assert_replays(insurer, case)


# --- item 14: an exit for a report that matches no policy; a survey escalation re-armed --------------------

UNKNOWN_POLICY = {**claim_form(), "policy_number": "PDEMO9999"}


def test_a_report_matching_no_policy_is_closed_after_the_clerk_confirms_it_and_the_claimant_is_told(
        insurer: Insurer) -> None:
    case = report_claim(insurer, UNKNOWN_POLICY)
    assert open_keys(insurer, case) == ["review_unmatched"]
    assert insurer.task(case, "review_unmatched").candidate_role == "claims_clerk"
    assert "no policy with number PDEMO9999" in instructions(insurer, case, "review_unmatched")
    assert refused(insurer, case, "review_unmatched", "clerk", {"unmatched_decision": "close"}) == {
        "unmatched_note": "is required"}

    status = insurer.complete(case, "review_unmatched", "clerk", {
        "unmatched_decision": "close", "unmatched_note": "The claimant has no policy with us; it was another insurer."})

    assert status == "completed"
    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_unmatched"]
    assert tasks_opened(insurer, case) == ["register_claim", "review_unmatched"]
    assert rows(insurer, ClaimRecord) == []
    digest = insurer.cipher.lookup_hash(UNKNOWN_POLICY["claimant_id_number"])
    [claimant] = rows(insurer, CustomerRecord, CustomerRecord.id_number_hash == digest)
    assert messages(insurer) == [("claim_not_matched", claimant.id)]
    [notice] = sent(insurer, "claim_not_matched")
    assert notice.channel == "letter"
    assert "PDEMO9999" in letter(insurer, notice) and "PDEMO9999" in letter(insurer, notice, "zh")
    assert_replays(insurer, case)


def test_the_clerk_corrects_a_report_matching_no_policy_and_the_claim_goes_on(insurer: Insurer) -> None:
    case = report_claim(insurer, UNKNOWN_POLICY)

    insurer.complete(case, "review_unmatched", "clerk", {"unmatched_decision": "correct",
                                                         "unmatched_note": "Claimant misread a digit."})
    assert open_keys(insurer, case) == ["register_claim"]
    assert "Claimant misread a digit." in instructions(insurer, case, "register_claim")
    insurer.complete(case, "register_claim", "clerk", claim_form())

    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "review_unmatched", "register_claim", "assess_amount"]
    claim = the_claim(insurer, case)
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]  # once, when the claim was opened
    assert_replays(insurer, case)


def test_a_report_with_an_invalid_id_number_is_closed_without_a_notice_to_nobody(insurer: Insurer) -> None:
    number = claim_form()["claimant_id_number"]
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")  # the check digit no longer matches
    case = report_claim(insurer, {**claim_form(), "claimant_id_number": wrong})
    assert "not valid" in insurer.data(case)["claim"]["reason"]

    insurer.complete(case, "review_unmatched", "clerk", {"unmatched_decision": "close",
                                                         "unmatched_note": "Claimant did not call back."})

    assert insurer.status(case) == "completed"
    assert insurer.data(case)["unmatched"] == {"customer_id": None}
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_close_unmatched"]
    assert messages(insurer) == [] and rows(insurer, ClaimRecord) == []
    assert_replays(insurer, case)


def test_an_overdue_survey_escalates_every_72_hours_until_the_report_is_in(insurer: Insurer) -> None:
    # PDEMO0002 (HOME01, shanghai): only surveyor.zhang covers shanghai.
    case = report_claim(insurer, claim_form(2, claim_type="property_damage", amount=80_000, incident="2026-10-30"))
    assert insurer.wait(hours=73).timers_fired == 1
    assert open_keys(insurer, case) == ["conduct_survey", "chase_survey"]
    insurer.complete(case, "chase_survey", "manager2",
                     {"chase_action": "contacted_surveyor", "chase_note": "Report tomorrow."})
    assert open_keys(insurer, case) == ["conduct_survey"]

    assert insurer.wait(hours=72).timers_fired == 1  # still no report: the manager is alerted again

    assert open_keys(insurer, case) == ["conduct_survey", "chase_survey"]
    assert insurer.wait(hours=72).timers_fired == 1  # and again, even with the last alert still open
    assert open_keys(insurer, case) == ["conduct_survey", "chase_survey", "chase_survey"]
    assert [e["task"] for e in events(insurer, case, "timer_fired")] == ["survey_overdue"] * 3

    insurer.complete(case, "conduct_survey", "surveyor.zhang", survey_report(60_000))

    assert "assess_amount" in open_keys(insurer, case)
    assert insurer.wait(hours=73).timers_fired == 0  # the report is in: no more alerts
    assert_replays(insurer, case)


# --- item 15: the claimant is told at registration and when documents are asked for ---------------------

def test_the_claimant_is_sent_an_acknowledgement_with_the_claim_number_once(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)

    claim = the_claim(insurer, case)
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]
    [ack] = sent(insurer, "claim_acknowledged")
    # It also carries the claimant's access code (issue 13, finding 7; tests/bpmn/test_claimant_access.py).
    told = params(insurer, ack)
    assert {k: v for k, v in told.items() if k != "access_code"} == {"claim_number": claim.number,
                                                                        "policy_number": "PDEMO0001"}
    assert claim.access_code_hash == insurer.cipher.lookup_hash(told["access_code"].replace("-", ""))
    assert claim.number in letter(insurer, ack) and claim.number in letter(insurer, ack, "zh")
    assert handlers_run(insurer, case)[:3] == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim"]
    assert_replays(insurer, case)


def test_the_claimant_is_told_which_documents_are_missing_and_by_when(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)

    claim = the_claim(insurer, case)
    due = (insurer.clock.now + timedelta(days=30)).date().isoformat()
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id),
                                 ("claim_documents_requested", claim.claimant_id)]
    [request] = sent(insurer, "claim_documents_requested")
    assert params(insurer, request) == {"claim_number": claim.number, "documents": ["discharge_summary"],
                                        "due_date": due}
    assert "discharge_summary" in letter(insurer, request) and due in letter(insurer, request)
    assert due in instructions(insurer, case, "request_documents")

    insurer.complete(case, "request_documents", "clerk", {"documents_received": ["discharge_summary"]})
    assert open_keys(insurer, case) == ["assess_amount"]
    assert len(sent(insurer, "claim_documents_requested")) == 1
    assert_replays(insurer, case)


# --- item 16: a third approval tier above the claims manager ------------------------------------------

def large_claim_at_manager(insurer: Insurer, manager: str = "manager2") -> int:
    """PDEMO0002 (HOME01, 1.5 million): 600,000 of property damage surveyed, 599,000 assessed and approved
    by a claims manager — above the manager's 500,000 limit."""
    case = report_claim(insurer, claim_form(2, claim_type="property_damage", amount=600_000, incident="2026-10-20"))
    insurer.complete(case, "conduct_survey", "surveyor.zhang", survey_report(600_000))
    insurer.complete(case, "assess_amount", "adjuster", assessment(599_000))
    assert insurer.data(case)["director_limit"] == 500_000
    insurer.complete(case, "approve_payout", manager, approval(True, "Survey and invoices agree."))
    assert open_keys(insurer, case) == ["approve_payout_director"]
    return case


def test_a_payout_above_the_managers_limit_needs_the_claims_director_after_the_manager(insurer: Insurer) -> None:
    case = large_claim_at_manager(insurer, manager="director.acting")  # holds claims_manager and claims_director

    task = insurer.task(case, "approve_payout_director")
    assert (task.candidate_role, task.separate_from) == ("claims_director", "assess_amount approve_payout")
    assert "500000" in instructions(insurer, case, "approve_payout_director")
    assert the_claim(insurer, case).status == "assessing"  # nothing paid before the director
    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "approve_payout_director", "director.acting", {"director_approved": True,
                                                                               "director_reason": "Fine."})
    with pytest.raises(ForbiddenError, match="needs role claims_director"):
        insurer.complete(case, "approve_payout_director", "manager2", {"director_approved": True,
                                                                        "director_reason": "Fine."})
    assert refused(insurer, case, "approve_payout_director", "director", {"director_approved": True}) == {
        "director_reason": "is required"}

    assert insurer.complete(case, "approve_payout_director", "director", {
        "director_approved": True, "director_reason": "Large fire loss, survey on file."}) == "completed"

    assert performers(insurer, case)[2:] == [("assess_amount", "adjuster"), ("approve_payout", "director.acting"),
                                             ("approve_payout_director", "director")]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("599000.00"))
    assert_replays(insurer, case)


def test_the_director_sends_the_payout_back_to_the_adjuster(insurer: Insurer) -> None:
    case = large_claim_at_manager(insurer)

    insurer.complete(case, "approve_payout_director", "director",
                     {"director_approved": False, "director_reason": "Deduct the salvage value."})

    assert open_keys(insurer, case) == ["assess_amount"]
    assert the_claim(insurer, case).status == "assessing"
    insurer.complete(case, "assess_amount", "adjuster", assessment(450_000, "Salvage value deducted."))
    assert open_keys(insurer, case) == ["approve_payout"]  # above the adjuster's limit, within the manager's
    assert insurer.complete(case, "approve_payout", "manager2", approval(True)) == "completed"
    assert tasks_opened(insurer, case).count("approve_payout_director") == 1
    assert the_claim(insurer, case).paid_amount == Decimal("450000.00")
    assert_replays(insurer, case)


# --- item 19: a failed payout never turns an approved claim into a rejected one ----------------------------

CORRECTED_ACCOUNT = "6222020200155667788"


def test_finance_pays_a_declined_claim_to_a_corrected_verified_account(insurer: Insurer) -> None:
    # The bank's account-name verification says the new account is the claimant's; a claims manager approves the
    # change (finance alone no longer changes the payee: test_claims_overrides.py has every branch).
    case = claim_with_declined_payment(insurer)
    assert public_status(insurer, the_claim(insurer, case))[-1] == "approved"  # while finance resolves it
    assert refused(insurer, case, "resolve_payment_failure", "finance",
                   resolution("new_account", "Claimant gave a new account.")) == {
        "corrected_payee_account": "is required"}
    with insurer.rt.session_factory() as session:
        insurer.gateway.account_names[CORRECTED_ACCOUNT] = session.get(
            CustomerRecord, the_claim(insurer, case).claimant_id).name

    insurer.complete(case, "resolve_payment_failure", "finance", {
        **resolution("new_account", "Old account closed; the claimant gave a new one in writing."),
        "corrected_payee_account": CORRECTED_ACCOUNT})
    status = insurer.complete(case, "approve_payee_change", "manager2",
                              {"payee_change_approved": True, "payee_change_reason": "Signed request on file."})

    assert status == "completed"
    assert handlers_run(insurer, case)[-6:] == ["svc_pay_claim", "svc_check_payee", "svc_change_payee",
                                                "svc_pay_claim", "svc_terminate_liability", "svc_notify_paid"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed"),
                                              ("claim_payout", Decimal("7500.00"), "accepted")]
    failed, accepted = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(failed.payee_account_enc) == PAYEE_ACCOUNT
    assert insurer.cipher.decrypt(accepted.payee_account_enc) == CORRECTED_ACCOUNT
    assert accepted.idempotency_key.endswith(":payout:2")  # a new attempt: the declined key is spent
    assert "rejected" not in timeline(insurer, claim)
    assert CORRECTED_ACCOUNT not in str(insurer.history(case))  # personal data only encrypted in history
    assert_replays(insurer, case)


def test_a_cancelled_payout_keeps_the_claim_approved_and_tells_the_claimant_how_to_be_paid(
        insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)

    insurer.complete(case, "resolve_payment_failure", "finance",
                     resolution("cancel", "Claimant cannot be reached at any address."))

    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_unpaid"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("unpaid", None)
    assert "rejected" not in timeline(insurer, claim) and public_status(insurer, claim)[-1] == "unpaid"
    [notice] = sent(insurer, "claim_payment_cancelled")
    assert (notice.channel, notice.customer_id) == ("letter", claim.claimant_id)
    text = letter(insurer, notice)
    assert "7500" in text and "still yours" in text and claim.number in text
    assert "7500" in letter(insurer, notice, "zh")
    assert sent(insurer, "claim_rejected") == []
    assert_replays(insurer, case)


def claim_hit_at_payout(insurer: Insurer) -> int:
    """A claim assessed on a clean payee whose account is put on the watch list before it is paid."""
    case = claim_at_assessment(insurer)
    watch_list_account(insurer, PAYEE_ACCOUNT)
    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    assert open_keys(insurer, case) == ["review_payout_screening"]
    assert insurer.task(case, "review_payout_screening").candidate_role == "compliance"
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}  # stopped before any money moved
    return case


def test_a_watch_list_hit_at_payout_goes_to_compliance_who_clear_a_false_positive(insurer: Insurer) -> None:
    case = claim_hit_at_payout(insurer)
    claim = the_claim(insurer, case)
    assert claim.status == "approved" and public_status(insurer, claim)[-1] == "approved"
    with pytest.raises(ForbiddenError, match="needs role compliance"):
        insurer.complete(case, "review_payout_screening", "finance",
                         {"screening_decision": "false_positive", "screening_note": "x"})

    insurer.complete(case, "review_payout_screening", "compliance", {
        "screening_decision": "false_positive", "screening_note": "Listed account belongs to a namesake."})

    assert insurer.status(case) == "completed"
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "review_payout_screening"]
    assert_no_tipping_off(insurer, claim)
    assert_replays(insurer, case)


def test_a_true_watch_list_match_holds_the_payout_and_the_claimant_is_not_told_why(insurer: Insurer) -> None:
    case = claim_hit_at_payout(insurer)
    assert refused(insurer, case, "review_payout_screening", "compliance", {
        "screening_decision": "confirmed_match", "screening_note": "Match confirmed."}) == {
        "str_reference": "is required"}

    insurer.complete(case, "review_payout_screening", "compliance", {
        "screening_decision": "confirmed_match", "screening_note": "Same account as the 2026-10 alert.",
        "str_reference": "STR-2026-0091"})

    # The payout stays held until compliance decides after the authorities' answer (test_claims_overrides.py).
    assert open_keys(insurer, case) == ["decide_held_payout"] and insurer.status(case) == "running"
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount, claim.rejection_reason) == ("under_review", None, None)
    assert public_status(insurer, claim)[-2:] == ["approved", "under_review"]  # "in review", never "rejected"
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]  # nothing about the hold
    assert insurer.data(case)["str_reference"] == "STR-2026-0091"
    assert_no_tipping_off(insurer, claim)
    assert_replays(insurer, case)
