"""Claims scenarios: every branch of claims.bpmn, driven through the engine with the real handlers and tables.

Each test walks one path the way clerks, surveyors, adjusters, managers, SIU and finance would, then checks
the path really taken (which human tasks opened, which handlers ran, how the history ends), the case data,
the domain records (claim and its customer-facing timeline, payments, appointments, the policy's cover,
the claimant's messages), and that a deterministic replay of the case agrees with its history.
The claims are made on the demo policies (services/demo/data.py); the clock starts on Monday
2026-11-02 09:00 UTC (17:00 in Shanghai). The reading helpers at the top are shared with
test_termination_scenarios.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.audit.replay import replay_instance
from engine.errors import ForbiddenError
from engine.workflow.actors import OPERATOR
from engine.workflow.instances import show_instance
from engine.workflow.models import HumanTaskModel
from services.demo.data import CUSTOMERS, POLICIES, demo_identity
from tasks.office_records import AppointmentRecord, NotificationRecord, SurveyorRecord
from tasks.payment_records import PaymentRecord
from tasks.records import ClaimRecord, ClaimStatusRecord, CustomerRecord, PolicyRecord, WatchListRecord
from tests.bpmn.conftest import Insurer
from tests.conftest import TestClock

PAYEE_ACCOUNT = "6222020200112233445"
# Documents claim_requirements.dmn asks for, per claim type (of the product line the demo policy has).
DOCUMENTS = {
    "hospitalization": ["claim_form", "id_copy", "bank_card", "medical_invoice", "discharge_summary"],
    "accident_injury": ["claim_form", "id_copy", "bank_card", "medical_invoice", "police_report"],
    "property_damage": ["claim_form", "id_copy", "bank_card", "photos", "repair_estimate"],
    "death": ["claim_form", "id_copy", "bank_card", "death_certificate"],
}
APPROVAL_LIMIT = 50_000  # approval_limits.dmn, every claim type but outpatient
# The automated steps of a claim that goes from verification straight to assessment, and from there to paid.
# The claimant is acknowledged when the claim is opened (issue 12, item 15).
TO_ASSESSMENT = ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim", "svc_fraud_features",
                 "svc_suggest_payout"]
TO_PAID = ["svc_status_approved", "svc_pay_claim", "svc_terminate_liability", "svc_notify_paid"]


# --- form data of each step ---------------------------------------------------------------------

def after_start(policy: int, days: int) -> str:
    """The day `days` after demo policy PDEMO000<policy> started: the demo counts its start back from the
    clock the scenarios start at."""
    start = TestClock().now.date() - timedelta(days=POLICIES[policy - 1][4])
    return (start + timedelta(days=days)).isoformat()


# The cause of loss a claim type has unless a test says otherwise: injuries and property losses are accidents.
ACCIDENTAL = ("accident_injury", "property_damage", "total_loss")


def claim_form(policy: int = 1, *, claim_type: str = "hospitalization", amount: float = 8_000,
               incident: str = "2026-10-26", claimant: int | None = None, documents: list[str] | None = None,
               region: str | None = None, payee_account: str = PAYEE_ACCOUNT, cause: str | None = None,
               ) -> dict[str, Any]:
    """The first notice of loss on demo policy PDEMO000<policy>, by its insured unless another claimant is named."""
    who = POLICIES[policy - 1][0] if claimant is None else claimant
    name, number, _phone = demo_identity(who)
    return {"policy_number": f"PDEMO{policy:04d}", "claimant_name": name, "claimant_id_number": number,
            "incident_date": incident, "claim_type": claim_type,
            "cause_of_loss": cause or ("accident" if claim_type in ACCIDENTAL else "illness"),
            "description": f"{claim_type} reported by {name}",
            "claimed_amount": amount, "documents": DOCUMENTS[claim_type] if documents is None else documents,
            "payee_account": payee_account, "region": region or CUSTOMERS[who][5]}


def survey_report(assessed_loss: float, total_loss: bool = False) -> dict[str, Any]:
    """The surveyor's report form (no referral to the SIU)."""
    return {"assessed_loss": assessed_loss, "total_loss": total_loss, "report": "Visited the site, photographed it.",
            "refer_to_siu": False}


def assessment(amount: float, note: str = "As suggested.") -> dict[str, Any]:
    """The adjuster's assessment form when the claim is paid."""
    return {"decision": "pay", "payable_amount": amount, "note": note}


def approval(approved: bool, reason: str = "Checked against the invoices and the survey.") -> dict[str, Any]:
    """The claims manager's approval form (either decision needs a written reason)."""
    return {"approved": approved, "reason": reason}


def investigation(confirmed: bool, finding: str) -> dict[str, Any]:
    """The SIU finding form."""
    return {"fraud_confirmed": confirmed, "finding": finding}


def resolution(action: str, note: str) -> dict[str, Any]:
    """Finance's form after a failed payment (claims and refunds alike)."""
    return {"payment_action": action, "payment_note": note}


# --- driving a claim ----------------------------------------------------------------------------

def report_claim(insurer: Insurer, form: dict[str, Any]) -> int:
    """A claims case with the first notice of loss registered by the clerk; the instance id."""
    case = insurer.start("claims", "clerk")
    insurer.complete(case, "register_claim", "clerk", form)
    return case


def claim_at_assessment(insurer: Insurer, form: dict[str, Any] | None = None) -> int:
    """A claim that needs no investigation and no survey, waiting for the adjuster."""
    case = report_claim(insurer, form or claim_form())
    assert open_keys(insurer, case) == ["assess_amount"]
    return case


def claim_at_approval(insurer: Insurer, assessor: str = "adjuster", amount: float = 59_500) -> int:
    """A claim assessed above the approval limit, waiting for a claims manager."""
    case = claim_at_assessment(insurer, claim_form(amount=60_000))  # 60,000 − 500 deductible = 59,500
    insurer.complete(case, "assess_amount", assessor, assessment(amount))
    assert open_keys(insurer, case) == ["approve_payout"]
    return case


def prebook(insurer: Insurer, surveyor: str, starts_at: datetime) -> None:
    """An appointment the surveyor already has (another case), so that they are the more loaded one."""
    with insurer.rt.session_factory() as session, session.begin():
        who = session.scalars(select(SurveyorRecord).where(SurveyorRecord.username == surveyor)).one()
        session.add(AppointmentRecord(surveyor_id=who.id, claim_id=None, purpose="survey",
                                      reference=f"other-case-{surveyor}", starts_at=starts_at,
                                      ends_at=starts_at + timedelta(hours=2), created_at=insurer.clock()))


def watch_list_account(insurer: Insurer, account: str) -> None:
    """Put a bank account on the watch list."""
    with insurer.rt.session_factory() as session, session.begin():
        session.add(WatchListRecord(account_hash=insurer.cipher.lookup_hash(account), reason="mule account (test)",
                                    listed_on=date(2026, 10, 1)))


def add_beneficiary(insurer: Insurer, policy_number: str, customer: int) -> int:
    """Name a demo customer as a policy's beneficiary; the customer's id."""
    digest = insurer.cipher.lookup_hash(demo_identity(customer)[1])
    with insurer.rt.session_factory() as session, session.begin():
        person = session.scalars(select(CustomerRecord).where(CustomerRecord.id_number_hash == digest)).one()
        session.scalars(select(PolicyRecord).where(PolicyRecord.number == policy_number)).one().beneficiary_ids = [
            person.id]
        return person.id


# --- what happened (shared with test_termination_scenarios.py) ----------------------------------

def open_keys(insurer: Insurer, instance_id: int) -> list[str]:
    """The task ids of the open human tasks."""
    return [t.task_key for t in insurer.open_tasks(instance_id)]


def tasks_opened(insurer: Insurer, instance_id: int) -> list[str]:
    """Every human task the case ever opened, in order."""
    with insurer.rt.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel.task_key).where(
            HumanTaskModel.instance_id == instance_id).order_by(HumanTaskModel.id)))


def events(insurer: Insurer, instance_id: int, kind: str) -> list[dict[str, Any]]:
    """The history events of one type."""
    return [e for e in insurer.history(instance_id) if e["type"] == kind]


def handlers_run(insurer: Insurer, instance_id: int) -> list[str]:
    """The service tasks that ran to their result, in order (a payment's when its outcome was settled)."""
    return [e["task"] for e in insurer.history(instance_id) if e["type"] in ("handler_executed", "effect_settled")]


def performers(insurer: Insurer, instance_id: int) -> list[tuple[str, str]]:
    """(task id, user) of every completed human task, in order."""
    return [(e["task"], e["actor"]) for e in events(insurer, instance_id, "task_completed")]


def last_events(insurer: Insurer, instance_id: int, count: int) -> list[tuple[str, str | None]]:
    """The last `count` history events as (type, task id)."""
    return [(e["type"], e["task"]) for e in insurer.history(instance_id)[-count:]]


def rows(insurer: Insurer, record: type, *where: Any) -> list[Any]:
    """Domain records matching the conditions, oldest first."""
    with insurer.rt.session_factory() as session:
        return list(session.scalars(select(record).where(*where).order_by(record.id)))


def business_key(insurer: Insurer, instance_id: int) -> str | None:
    """The case's business key."""
    return show_instance(insurer.rt, instance_id, OPERATOR).business_key


def policy(insurer: Insurer, number: str) -> PolicyRecord:
    """A policy by number."""
    [record] = rows(insurer, PolicyRecord, PolicyRecord.number == number)
    return record


def messages(insurer: Insurer) -> list[tuple[str, int | None]]:
    """(template, customer id) of every customer message queued, in order (the demo data queues none)."""
    return [(n.template, n.customer_id) for n in rows(insurer, NotificationRecord)]


def assert_replays(insurer: Insurer, instance_id: int) -> None:
    """A deterministic replay of the case agrees with its recorded history."""
    result = replay_instance(insurer.rt, instance_id, OPERATOR)
    assert result.consistent, str(result)


# --- claim records ------------------------------------------------------------------------------

def the_claim(insurer: Insurer, case: int) -> ClaimRecord:
    """The one claim the case opened."""
    [claim] = rows(insurer, ClaimRecord, ClaimRecord.instance_id == case)
    return claim


def timeline(insurer: Insurer, claim: ClaimRecord) -> list[str]:
    """The claim's customer-facing statuses, in order."""
    return [s.status for s in rows(insurer, ClaimStatusRecord, ClaimStatusRecord.claim_id == claim.id)]


def claim_payments(insurer: Insurer, claim: ClaimRecord) -> list[tuple[str, Decimal, str]]:
    """(kind, amount, status) of the claim's payment rows."""
    return [(p.kind, p.amount, p.status) for p in rows(insurer, PaymentRecord, PaymentRecord.claim_id == claim.id)]


# --- the straight path --------------------------------------------------------------------------

def test_claim_within_the_approval_limit_is_paid_without_a_manager(insurer: Insurer) -> None:
    case = claim_at_assessment(insurer)
    data = insurer.data(case)
    assert (data["waiting_days"], data["required_documents"]) == (30, DOCUMENTS["hospitalization"])
    assert (data["fraud_level"], data["survey_needed"]) == ("low", False)
    assert data["suggestion"] == {"suggested_amount": 7500.0, "covered_loss": 8000.0, "deductible": 500.0,
                                  "remaining_sum_insured": 200000.0}

    assert insurer.complete(case, "assess_amount", "adjuster", assessment(7_500)) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount"]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + TO_PAID
    assert last_events(insurer, case, 2) == [("handler_executed", "svc_notify_paid"), ("instance_completed", None)]
    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_paid"]
    data = insurer.data(case)
    assert (data["approval_limit"], data["payment"]["status"]) == (APPROVAL_LIMIT, "accepted")
    assert data["liability"] == {"policy_terminated": False, "remaining_sum_insured": 192500.0}
    claim = the_claim(insurer, case)
    assert business_key(insurer, case) == claim.number == data["claim"]["claim_number"]
    assert (claim.status, claim.paid_amount, claim.rejection_reason) == ("paid", Decimal("7500.00"), None)
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "approved", "paid"]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert len(insurer.gateway.paid) == 1
    [paid] = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(paid.payee_account_enc) == PAYEE_ACCOUNT
    cover = policy(insurer, "PDEMO0001")
    assert (cover.status, cover.remaining_sum_insured) == ("in_force", Decimal("192500.00"))
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_paid", claim.claimant_id)]
    [_ack, sent] = rows(insurer, NotificationRecord)
    assert sent.params == {"claim_number": claim.number, "amount": 7500}
    assert_replays(insurer, case)


# --- registration and verification --------------------------------------------------------------

def test_unknown_policy_number_goes_to_the_clerk_who_corrects_the_registration(insurer: Insurer) -> None:
    # Issue 12, item 14: no longer straight back to registration — the clerk chooses to correct or to close
    # (test_claims_controls.py closes it).
    case = report_claim(insurer, {**claim_form(), "policy_number": "PDEMO9999"})

    assert open_keys(insurer, case) == ["review_unmatched"]
    assert insurer.data(case)["claim"]["claim_id"] is None
    assert insurer.data(case)["claim"]["reason"] == "no policy with number PDEMO9999"
    assert rows(insurer, ClaimRecord) == []
    assert business_key(insurer, case) is None

    insurer.complete(case, "review_unmatched", "clerk", {"unmatched_decision": "correct",
                                                         "unmatched_note": "Mistyped policy number."})
    insurer.complete(case, "register_claim", "clerk", claim_form())

    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "review_unmatched", "register_claim", "assess_amount"]
    assert handlers_run(insurer, case) == ["svc_open_claim", *TO_ASSESSMENT]
    claim = the_claim(insurer, case)
    assert (claim.status, business_key(insurer, case)) == ("assessing", claim.number)
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing"]
    assert_replays(insurer, case)


# Claims verification fails for a reason other than documents: they wait for an adjuster's review
# (test_claims_decisions.py).
REJECTIONS = {
    # PDEMO0006 (MED01) is 10 days old: an illness 5 days after its start is inside the 30-day waiting period.
    "waiting_period": claim_form(6, incident=after_start(6, days=5), amount=3_000),
    # MED01 covers hospitalization and outpatient only.
    "claim_type_not_covered": claim_form(1, claim_type="accident_injury", amount=3_000),
}


def claim_missing_documents(insurer: Insurer) -> int:
    """A claim complete but for the discharge summary, waiting for the documents."""
    case = report_claim(insurer, claim_form(documents=DOCUMENTS["hospitalization"][:-1]))
    assert open_keys(insurer, case) == ["request_documents"]
    assert insurer.task(case, "request_documents").candidate_role == "claims_clerk"
    verification = insurer.data(case)["verification"]
    assert (verification["missing_documents"], verification["only_documents_missing"]) == (["discharge_summary"], True)
    assert the_claim(insurer, case).status == "documents_requested"
    return case


def test_missing_documents_are_requested_then_supplied_and_the_claim_verified_again(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)

    insurer.complete(case, "request_documents", "clerk", {"documents_received": ["discharge_summary"]})

    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "request_documents", "assess_amount"]
    assert handlers_run(insurer, case) == ["svc_open_claim", "svc_notify_acknowledged", "svc_verify_claim",
                                           "svc_notify_documents", "svc_record_documents", "svc_verify_claim",
                                           "svc_fraud_features", "svc_suggest_payout"]
    data = insurer.data(case)
    assert data["documents_on_file"] == {"documents": sorted(DOCUMENTS["hospitalization"])}
    assert data["verification"]["verified"] is True
    claim = the_claim(insurer, case)
    assert timeline(insurer, claim) == ["registered", "documents_requested", "under_review", "assessing"]
    assert insurer.wait(days=31).timers_fired == 0  # the deadline went with the request
    assert_replays(insurer, case)


def test_missing_documents_not_received_in_30_days_withdraw_the_claim(insurer: Insurer) -> None:
    case = claim_missing_documents(insurer)
    assert insurer.wait(days=29).timers_fired == 0

    assert insurer.wait(days=2).timers_fired == 1

    assert insurer.status(case) == "completed"
    assert tasks_opened(insurer, case) == ["register_claim", "request_documents"]
    assert open_keys(insurer, case) == []
    assert last_events(insurer, case, 4) == [
        ("timer_fired", "documents_deadline"), ("handler_executed", "svc_withdraw_claim"),
        ("handler_executed", "svc_notify_withdrawn"), ("instance_completed", None)]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("withdrawn", "documents not received within 30 days")
    assert timeline(insurer, claim) == ["registered", "documents_requested", "withdrawn"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id),
                                 ("claim_documents_requested", claim.claimant_id),
                                 ("claim_withdrawn", claim.claimant_id)]
    assert rows(insurer, PaymentRecord) == []
    assert_replays(insurer, case)


# --- fraud --------------------------------------------------------------------------------------

WATCHED_ACCOUNT = "6217000011112222333"
FRAUD_FLAGS = {
    # PDEMO0004 (ACC01, 500,000) is 20 days old: 300,000 eight days after its start.
    "early_large_claim": (claim_form(4, claim_type="accident_injury", amount=300_000, incident=after_start(4, days=8)),
                          "claim above half the sum insured within 30 days of the policy start"),
    "watch_listed_payee": (claim_form(payee_account=WATCHED_ACCOUNT), "claimant or payee account on the watch list"),
}


def claim_at_investigation(insurer: Insurer, flag: str) -> int:
    """A claim fraud screening scored high, waiting for SIU."""
    form, reason = FRAUD_FLAGS[flag]
    if flag == "watch_listed_payee":
        watch_list_account(insurer, WATCHED_ACCOUNT)
    case = report_claim(insurer, form)
    assert open_keys(insurer, case) == ["siu_investigation"]
    assert insurer.task(case, "siu_investigation").candidate_role == "siu"
    assert (insurer.data(case)["fraud_level"], insurer.data(case)["fraud_reason"]) == ("high", reason)
    assert the_claim(insurer, case).status == "under_investigation"
    return case


@pytest.mark.parametrize("flag", FRAUD_FLAGS)
def test_fraud_confirmed_by_siu_and_a_claims_manager_rejects_the_claim(insurer: Insurer, flag: str) -> None:
    # Issue 12, item 13: the SIU's finding needs a police report and a second person; the claimant gets the
    # written denial notice (test_claims_controls.py covers the rest of the path).
    case = claim_at_investigation(insurer, flag)
    with pytest.raises(ForbiddenError, match="needs role siu"):  # the clerk cannot record the SIU's finding
        insurer.complete(case, "siu_investigation", "clerk", investigation(False, "Looks fine."))

    insurer.complete(case, "siu_investigation", "siu", {**investigation(True, "Staged accident, witness paid."),
                                                        "police_report_reference": "JJ-2026-0001"})
    insurer.complete(case, "confirm_fraud_denial", "manager2", {
        "denial_confirmed": True, "denial_reason": "The loss did not happen as reported.", "confirm_note": "Agreed."})
    insurer.complete(case, "rescission_review", "uw", {"rescission_outcome": "keep", "rescission_note": "Kept."})

    assert insurer.status(case) == "completed"
    assert tasks_opened(insurer, case) == ["register_claim", "siu_investigation", "confirm_fraud_denial",
                                           "rescission_review"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("rejected", "fraud: The loss did not happen as reported.")
    assert timeline(insurer, claim) == ["registered", "under_review", "under_investigation", "rejected"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_denied", claim.claimant_id)]
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_replays(insurer, case)


def test_claim_cleared_by_siu_continues_to_the_survey(insurer: Insurer) -> None:
    case = claim_at_investigation(insurer, "early_large_claim")

    insurer.complete(case, "siu_investigation", "siu", investigation(False, "Hospital and police confirm it."))

    # accident_injury above 50,000 needs a survey (survey_rules.dmn); only surveyor.zhao covers chengdu.
    assert open_keys(insurer, case) == ["conduct_survey"]
    assert insurer.task(case, "conduct_survey").assignee == "surveyor.zhao"
    assert handlers_run(insurer, case)[-1] == "svc_schedule_survey"
    assert insurer.data(case)["survey_needed"] is True
    claim = the_claim(insurer, case)
    assert (claim.status, claim.rejection_reason) == ("survey_scheduled", None)
    assert timeline(insurer, claim) == ["registered", "under_review", "under_investigation", "survey_scheduled"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id)]
    assert_replays(insurer, case)


# --- survey -------------------------------------------------------------------------------------

TUESDAY_9_SHANGHAI = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # Monday's slots are over at 17:00 local


def test_survey_goes_to_the_least_loaded_covering_surveyor_whose_loss_drives_the_suggestion(
        insurer: Insurer) -> None:
    prebook(insurer, "surveyor.li", TUESDAY_9_SHANGHAI)  # li and zhang both cover hangzhou; li is busier
    # PDEMO0005 (HOME01, hangzhou): property damage above 50,000 needs a survey.
    case = report_claim(insurer, claim_form(5, claim_type="property_damage", amount=120_000, incident="2026-10-30"))

    assert open_keys(insurer, case) == ["conduct_survey"]
    claim = the_claim(insurer, case)
    [appointment] = rows(insurer, AppointmentRecord, AppointmentRecord.claim_id == claim.id)
    [zhang] = rows(insurer, SurveyorRecord, SurveyorRecord.username == "surveyor.zhang")
    assert (appointment.surveyor_id, appointment.purpose, appointment.starts_at) == (
        zhang.id, "survey", TUESDAY_9_SHANGHAI)
    survey = insurer.data(case)["survey"]
    assert (survey["surveyor"], survey["appointment_id"], survey["starts_at"]) == (
        "surveyor.zhang", appointment.id, "2026-11-03T01:00:00+00:00")
    task = insurer.task(case, "conduct_survey")
    assert (task.assignee, task.candidate_role) == ("surveyor.zhang", "surveyor")
    with pytest.raises(ForbiddenError, match=r"claimed by surveyor\.zhang"):  # not even another surveyor of the region
        insurer.complete(case, "conduct_survey", "surveyor.li", survey_report(100_000))

    insurer.complete(case, "conduct_survey", "surveyor.zhang", survey_report(100_000))

    assert open_keys(insurer, case) == ["assess_amount"]
    assert performers(insurer, case) == [("register_claim", "clerk"), ("conduct_survey", "surveyor.zhang")]
    data = insurer.data(case)
    assert data["loss_amount"] == 100_000  # the surveyor's figure, not the 120,000 claimed
    assert data["suggestion"] == {"suggested_amount": 99000.0, "covered_loss": 100000.0, "deductible": 1000.0,
                                  "remaining_sum_insured": 800000.0}
    assert timeline(insurer, the_claim(insurer, case)) == ["registered", "under_review", "survey_scheduled",
                                                           "assessing"]
    assert_replays(insurer, case)


def test_survey_overdue_72_hours_escalates_to_the_claims_manager_while_the_survey_stays_open(
        insurer: Insurer) -> None:
    # PDEMO0002 (HOME01, shanghai): only surveyor.zhang covers shanghai.
    case = report_claim(insurer, claim_form(2, claim_type="property_damage", amount=80_000, incident="2026-10-30"))
    assert insurer.task(case, "conduct_survey").assignee == "surveyor.zhang"
    assert insurer.wait(hours=71).timers_fired == 0

    assert insurer.wait(hours=2).timers_fired == 1

    assert open_keys(insurer, case) == ["conduct_survey", "chase_survey"]
    chase = insurer.task(case, "chase_survey")
    assert (chase.candidate_role, chase.assignee) == ("claims_manager", None)
    assert events(insurer, case, "timer_fired")[0]["task"] == "survey_overdue"
    with pytest.raises(ForbiddenError, match="needs role claims_manager"):
        insurer.complete(case, "chase_survey", "surveyor.zhang", {"chase_action": "extended"})
    insurer.complete(case, "chase_survey", "manager2",
                     {"chase_action": "contacted_surveyor", "chase_note": "Report tomorrow."})
    assert open_keys(insurer, case) == ["conduct_survey"]  # the escalation ended, the survey goes on

    insurer.complete(case, "conduct_survey", "surveyor.zhang", survey_report(60_000))

    assert open_keys(insurer, case) == ["assess_amount"]
    assert tasks_opened(insurer, case) == ["register_claim", "conduct_survey", "chase_survey", "assess_amount"]
    assert insurer.data(case)["suggestion"]["suggested_amount"] == 59000.0
    assert insurer.wait(hours=73).timers_fired == 0  # one escalation per survey
    assert_replays(insurer, case)


# --- approval -----------------------------------------------------------------------------------

def test_payout_above_the_approval_limit_needs_a_claims_managers_approval(insurer: Insurer) -> None:
    case = claim_at_approval(insurer)
    task = insurer.task(case, "approve_payout")
    assert (task.candidate_role, task.separate_from) == ("claims_manager", "assess_amount")
    with pytest.raises(ForbiddenError, match="needs role claims_manager"):  # an adjuster has no approval right
        insurer.complete(case, "approve_payout", "adjuster", approval(True))
    assert the_claim(insurer, case).status == "assessing"

    assert insurer.complete(case, "approve_payout", "manager", approval(True)) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "approve_payout"]
    assert performers(insurer, case)[1:] == [("assess_amount", "adjuster"), ("approve_payout", "manager")]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + TO_PAID
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("59500.00"))
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "approved", "paid"]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("59500.00"), "accepted")]
    assert_replays(insurer, case)


def test_rejected_approval_sends_the_claim_back_to_assessment_until_approved(insurer: Insurer) -> None:
    case = claim_at_approval(insurer)

    insurer.complete(case, "approve_payout", "manager2", approval(False, "The invoice includes a private room."))

    assert open_keys(insurer, case) == ["assess_amount"]
    assert insurer.data(case)["reason"] == "The invoice includes a private room."
    assert the_claim(insurer, case).status == "assessing"
    insurer.complete(case, "assess_amount", "adjuster", assessment(52_000, "Private room surcharge removed."))
    assert open_keys(insurer, case) == ["approve_payout"]  # still above the limit

    assert insurer.complete(case, "approve_payout", "manager2", approval(True)) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "approve_payout", "assess_amount",
                                           "approve_payout"]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + TO_PAID
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("52000.00"))
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "approved", "paid"]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("52000.00"), "accepted")]
    assert policy(insurer, "PDEMO0001").remaining_sum_insured == Decimal("148000.00")
    assert_replays(insurer, case)


def test_the_adjuster_who_assessed_may_not_approve_the_payout(insurer: Insurer) -> None:
    case = claim_at_approval(insurer, assessor="manager")  # manager holds adjuster and claims_manager

    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "approve_payout", "manager", approval(True))
    assert open_keys(insurer, case) == ["approve_payout"]
    assert the_claim(insurer, case).status == "assessing"

    assert insurer.complete(case, "approve_payout", "manager2", approval(True)) == "completed"

    assert performers(insurer, case)[1:] == [("assess_amount", "manager"), ("approve_payout", "manager2")]
    assert the_claim(insurer, case).status == "paid"
    assert_replays(insurer, case)


# --- payment ------------------------------------------------------------------------------------

def claim_with_declined_payment(insurer: Insurer) -> int:
    """A claim whose payout the bank declined, waiting for finance."""
    case = claim_at_assessment(insurer)
    insurer.gateway.script = ["decline"]
    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    assert open_keys(insurer, case) == ["resolve_payment_failure"]
    assert insurer.task(case, "resolve_payment_failure").candidate_role == "finance"
    assert insurer.data(case)["payment_error"]["message"] == "account closed"
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("approved", None)
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed")]
    assert insurer.gateway.paid == {}
    return case


def test_declined_payment_retried_by_finance_pays_the_claim_once(insurer: Insurer) -> None:
    case = claim_with_declined_payment(insurer)
    with pytest.raises(ForbiddenError, match="needs role finance"):
        insurer.complete(case, "resolve_payment_failure", "adjuster", resolution("retry", "Retry."))

    status = insurer.complete(case, "resolve_payment_failure", "finance",
                              resolution("retry", "Claimant reopened the account."))

    assert status == "completed"
    assert tasks_opened(insurer, case) == ["register_claim", "assess_amount", "resolve_payment_failure"]
    assert handlers_run(insurer, case) == TO_ASSESSMENT + ["svc_status_approved", "svc_pay_claim", "svc_pay_claim",
                                                           "svc_terminate_liability", "svc_notify_paid"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed"),
                                              ("claim_payout", Decimal("7500.00"), "accepted")]
    assert len(insurer.gateway.paid) == 1
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "approved", "paid"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_paid", claim.claimant_id)]
    assert_replays(insurer, case)


def cancel_declined_payment(insurer: Insurer) -> tuple[int, ClaimRecord]:
    """Finance cancels a declined payout; the case and its claim."""
    case = claim_with_declined_payment(insurer)
    status = insurer.complete(case, "resolve_payment_failure", "finance",
                              resolution("cancel", "Claimant has no account."))
    assert status == "completed"
    return case, the_claim(insurer, case)


def test_declined_payment_cancelled_by_finance_closes_the_claim_unpaid(insurer: Insurer) -> None:
    case, claim = cancel_declined_payment(insurer)

    assert last_events(insurer, case, 4) == [("task_completed", "resolve_payment_failure"),
                                             ("handler_executed", "svc_close_unpaid"),
                                             ("handler_executed", "svc_notify_unpaid"), ("instance_completed", None)]
    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_unpaid"]
    # Issue 12, item 19: an approved claim is never turned into "rejected" by a failed payment.
    assert (claim.status, claim.paid_amount) == ("unpaid", None)
    assert claim.rejection_reason == "payment cancelled by finance: Claimant has no account."
    assert timeline(insurer, claim) == ["registered", "under_review", "assessing", "approved", "unpaid"]
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "failed")]
    assert insurer.gateway.paid == {}
    cover = policy(insurer, "PDEMO0001")
    assert (cover.status, cover.remaining_sum_insured) == ("in_force", Decimal("200000.00"))
    assert_replays(insurer, case)


def test_cancelled_payout_tells_the_claimant(insurer: Insurer) -> None:
    _case, claim = cancel_declined_payment(insurer)

    assert ("claim_payment_cancelled", claim.claimant_id) in messages(insurer)


@pytest.mark.parametrize("behaviour", ["timeout", "accept_then_timeout"])
def test_gateway_timeout_is_an_incident_the_worker_retries_paying_exactly_once(
        insurer: Insurer, behaviour: str) -> None:
    case = claim_at_assessment(insurer)
    insurer.gateway.script = [behaviour]
    insurer.complete(case, "assess_amount", "adjuster", assessment(7_500))
    assert insurer.status(case) == "incident"
    assert [e["task"] for e in events(insurer, case, "incident_raised")] == ["svc_pay_claim"]
    claim = the_claim(insurer, case)
    # the intent stays committed and open: the retry asks the gateway about it before paying anything
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "pending")]
    assert insurer.wait(seconds=30).incidents_retried == 0  # the back-off is 60 seconds

    assert insurer.wait(seconds=31).incidents_retried == 1

    assert insurer.status(case) == "completed"
    assert len(insurer.gateway.paid) == 1
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert [e["task"] for e in events(insurer, case, "incident_resolved")] == ["svc_pay_claim"]
    assert handlers_run(insurer, case)[-3:] == ["svc_pay_claim", "svc_terminate_liability", "svc_notify_paid"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_paid", claim.claimant_id)]
    assert_replays(insurer, case)


# --- liability ----------------------------------------------------------------------------------

def test_death_claim_paid_to_the_beneficiary_terminates_the_life_policy(insurer: Insurer) -> None:
    beneficiary = add_beneficiary(insurer, "PDEMO0003", customer=1)
    # The whole sum insured: above 80 % of it is a medium fraud flag, which asks for a survey (guangzhou: chen).
    case = report_claim(insurer, claim_form(3, claim_type="death", amount=1_000_000, incident="2026-10-20",
                                            claimant=1, region="guangzhou"))
    assert (insurer.data(case)["fraud_level"], insurer.data(case)["survey_needed"]) == ("medium", True)
    insurer.complete(case, "conduct_survey", "surveyor.chen", survey_report(1_000_000))
    assert insurer.data(case)["suggestion"]["suggested_amount"] == 1_000_000
    insurer.complete(case, "assess_amount", "adjuster", assessment(1_000_000))

    insurer.complete(case, "approve_payout", "manager2", approval(True))
    # Above the claims manager's 500,000 limit the claims director approves too (issue 12, item 16).
    assert insurer.complete(case, "approve_payout_director", "director",
                            {"director_approved": True, "director_reason": "Death certificate on file."}) == "completed"

    assert tasks_opened(insurer, case) == ["register_claim", "conduct_survey", "assess_amount", "approve_payout",
                                           "approve_payout_director"]
    assert insurer.data(case)["liability"] == {"policy_terminated": True, "remaining_sum_insured": 0.0}
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount, claim.claimant_id) == ("paid", Decimal("1000000.00"), beneficiary)
    assert timeline(insurer, claim) == ["registered", "under_review", "survey_scheduled", "assessing", "approved",
                                        "paid"]
    life = policy(insurer, "PDEMO0003")
    assert (life.status, life.terminated_reason, life.terminated_on) == ("terminated", "death", date(2026, 10, 20))
    assert life.remaining_sum_insured == Decimal("0.00")
    assert messages(insurer) == [("claim_acknowledged", beneficiary), ("policy_terminated", life.holder_id),
                                 ("claim_paid", beneficiary)]
    assert_replays(insurer, case)


def test_partial_claim_reduces_the_remaining_sum_insured_for_the_next_claim(insurer: Insurer) -> None:
    form = claim_form(2, claim_type="property_damage", amount=30_000, incident="2026-10-20")
    first = claim_at_assessment(insurer, form)
    assert insurer.data(first)["suggestion"]["suggested_amount"] == 29_000  # minus the 1,000 deductible

    assert insurer.complete(first, "assess_amount", "adjuster", assessment(29_000)) == "completed"

    assert insurer.data(first)["liability"] == {"policy_terminated": False, "remaining_sum_insured": 1471000.0}
    home = policy(insurer, "PDEMO0002")
    assert (home.status, home.terminated_reason, home.remaining_sum_insured) == (
        "in_force", None, Decimal("1471000.00"))
    second = claim_at_assessment(insurer, {**form, "incident_date": "2026-10-28", "claimed_amount": 20_000})
    assert insurer.data(second)["suggestion"]["remaining_sum_insured"] == 1471000.0
    assert [c.status for c in rows(insurer, ClaimRecord)] == ["paid", "assessing"]
    assert_replays(insurer, first)
    assert_replays(insurer, second)
