"""Underwriting scenarios: every branch of underwriting.bpmn, reached through a sale (its only caller).

Each test drives a sale to the application, lets the call activity run, and checks the path taken inside
underwriting (which handlers ran, which underwriter tasks opened, who may do them), what it hands back to the
sale (uw_decision, uw_loading, annual_premium), the records it leaves, and that a replay agrees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ForbiddenError
from engine.identity.users import add_user
from engine.workflow import task_service
from tasks.office_records import AppointmentRecord, NotificationRecord, SurveyorRecord
from tasks.payment_records import PremiumPaymentRecord
from tasks.records import PolicyRecord, UnderwritingOutcomeRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_sales_scenarios import (
    MED01_PREMIUM,
    application,
    assert_replays,
    events,
    handlers_run,
    id_number,
    open_keys,
    quote,
    registration,
    rows,
    sale_at_application,
    sold,
    tasks_opened,
)

AUTO_LIMIT = 500_000  # underwriting_limits.dmn, every product but INV01
ABOVE_SENIOR_LIMIT = 3_000_000  # senior limit 2,000,000
# Underwriting's own steps before the risk decision, and on each way out.
CHECKS = ["svc_verify_applicant", "svc_anti_fraud_lookup"]
ACCEPTED = ["svc_price_policy", "svc_record_acceptance"]
DECLINED = ["svc_record_decline", "svc_notify_declined"]


# --- form data of the underwriters' steps -------------------------------------------------------

def manual(decision: str, loading: float | None = None, note: str = "Read the declaration.") -> dict[str, Any]:
    """The manual underwriting form."""
    return {"decision": decision, "note": note, **({"loading": loading} if loading is not None else {})}


def exam_review(decision: str = "accept", findings: str = "Blood pressure and ECG normal.") -> dict[str, Any]:
    """The exam results review form."""
    return {"decision": decision, "exam_findings": findings}


def senior_decision(approved: bool) -> dict[str, Any]:
    """The senior approval form."""
    return {"approved": approved, "comment": "Reviewed the file." if approved else "Risk too large for us."}


# --- driving and reading ------------------------------------------------------------------------

def underwrite(insurer: Insurer, applicant: dict[str, Any] | None = None, *, sum_insured: float = 200_000,
               customer: dict[str, Any] | None = None, customer_needs: dict[str, Any] | None = None,
               chosen: dict[str, Any] | None = None) -> int:
    """A sale whose application went into underwriting; the instance id."""
    sale = sale_at_application(insurer, customer, customer_needs, chosen or quote(sum_insured=sum_insured))
    insurer.complete(sale, "application", "agent", applicant or application())
    return sale


def underwriting_handlers(insurer: Insurer, sale: int) -> list[str]:
    """The service tasks that ran from the application on."""
    run = handlers_run(insurer, sale)
    return run[run.index("svc_verify_applicant"):]


def result_of(insurer: Insurer, sale: int, task_key: str) -> dict[str, Any]:
    """What the handler of a service task answered (the last time it ran)."""
    return [e for e in events(insurer, sale, "handler_executed") if e["task"] == task_key][-1]["payload"]["result"]


def outcome(insurer: Insurer, sale: int) -> list[str]:
    """The decisions kept on the applicant's record by this case."""
    return [o.decision for o in rows(insurer, UnderwritingOutcomeRecord, UnderwritingOutcomeRecord.instance_id == sale)]


def handed_back(insurer: Insurer, sale: int) -> tuple[str, float, float]:
    """What underwriting returned to the sale: (uw_decision, uw_loading, annual_premium)."""
    data = insurer.data(sale)
    return data["uw_decision"], data["uw_loading"], data["annual_premium"]


def assert_declined(insurer: Insurer, sale: int) -> None:
    """The sale ended declined: decision recorded, customer told."""
    assert insurer.status(sale) == "completed"
    assert handed_back(insurer, sale) == ("decline", 1.0, 0)
    assert underwriting_handlers(insurer, sale)[-2:] == DECLINED
    assert outcome(insurer, sale) == ["decline"]
    assert [n.template for n in rows(insurer, NotificationRecord)] == ["application_declined"]
    assert "accept_terms" not in tasks_opened(insurer, sale)


def at_senior_approval(insurer: Insurer, underwriter: str = "uw") -> int:
    """A standard risk above the senior limit, accepted by `underwriter`, waiting for senior approval."""
    sale = underwrite(insurer, sum_insured=ABOVE_SENIOR_LIMIT)
    insurer.complete(sale, "manual_underwriting", underwriter, manual("accept"))
    assert open_keys(insurer, sale) == ["senior_approval"]
    assert insurer.task(sale, "senior_approval").candidate_role == "senior_underwriter"
    return sale


# --- automatic decisions ------------------------------------------------------------------------

def test_standard_risk_within_the_auto_limit_is_accepted_without_an_underwriter(insurer: Insurer) -> None:
    sale = underwrite(insurer, sum_insured=AUTO_LIMIT)

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert not {"manual_underwriting", "senior_approval"} & set(tasks_opened(insurer, sale))
    assert underwriting_handlers(insurer, sale) == [*CHECKS, *ACCEPTED]
    assert result_of(insurer, sale, "svc_verify_applicant") == {"verified": True, "reasons": [], "age": 36,
                                                                "watch_listed": False}
    assert handed_back(insurer, sale) == ("accept", 1.0, 1228.50)  # 500,000 / 1,000 × 2.457
    assert outcome(insurer, sale) == ["accept"]
    assert_replays(insurer, sale)


RISK_DECLINES = {
    # case: (how the sale goes, declines already on the applicant's record)
    "bmi_40_with_chronic_disease": ({"applicant": application(height_cm=170, weight_kg=120, chronic_disease=True)},
                                    0),
    # Issue 12 changed two former cases, now in test_underwriting_controls.py: a 76-year-old HOME01 applicant is
    # accepted (the property line has no age rule; its rates cover 18-80), and two prior declines refer the
    # applicant to an underwriter instead of declining them for ever.
    "two_prior_declines_and_bmi_40_with_chronic_disease": (
        {"applicant": application(height_cm=170, weight_kg=120, chronic_disease=True)}, 2),
}


def earlier_declines(insurer: Insurer, count: int) -> None:
    """Applications of this applicant declined in earlier cases."""
    with insurer.rt.session_factory() as session, session.begin():
        for n in range(count):
            session.add(UnderwritingOutcomeRecord(id_number_hash=insurer.cipher.lookup_hash(id_number()),
                                                  product_code="ACC01", decision="decline",
                                                  decided_at=datetime(2025, 1 + n, 10, tzinfo=UTC)))


@pytest.mark.parametrize("case", RISK_DECLINES)
def test_risk_table_decline_ends_underwriting_declined_without_an_underwriter(insurer: Insurer, case: str) -> None:
    sale_kwargs, prior_declines = RISK_DECLINES[case]
    earlier_declines(insurer, prior_declines)

    sale = underwrite(insurer, **sale_kwargs)

    assert result_of(insurer, sale, "svc_anti_fraud_lookup")["prior_declines"] == prior_declines
    assert underwriting_handlers(insurer, sale) == [*CHECKS, *DECLINED]
    assert "manual_underwriting" not in tasks_opened(insurer, sale)
    assert_declined(insurer, sale)
    assert_replays(insurer, sale)


def wrong_check_digit() -> str:
    """A well-shaped ID number (the form's pattern takes it) whose check digit is wrong."""
    number = id_number()
    return number[:-1] + ("0" if number[-1] != "0" else "1")


VERIFICATION_FAILURES = {
    # (Issue 12 item 9: the watch-list case moved to test_underwriting_controls.py — a name alone is no hit, and a
    # hit goes to compliance.)
    "check_digit": (registration(number=wrong_check_digit()), ["check_digit"]),
    "birth_date_mismatch": (registration(birth=date(1990, 1, 2), number=id_number()), ["birth_date_mismatch"]),
}


@pytest.mark.parametrize("failure", VERIFICATION_FAILURES)
def test_failed_applicant_verification_goes_back_to_the_agent_before_any_risk_scoring(insurer: Insurer,
                                                                                     failure: str) -> None:
    # Issue 12 item 9 changed this: a data-entry error is no decline, it is sent back to the agent.
    customer, reasons = VERIFICATION_FAILURES[failure]
    sale = sale_at_application(insurer, customer)

    insurer.complete(sale, "application", "agent", application())

    assert result_of(insurer, sale, "svc_verify_applicant")["reasons"] == reasons
    assert underwriting_handlers(insurer, sale) == ["svc_verify_applicant"]  # no anti-fraud look-up, no record
    assert open_keys(insurer, sale) == ["application"]
    assert insurer.data(sale)["uw_reasons"] == reasons
    assert outcome(insurer, sale) == []
    assert rows(insurer, NotificationRecord) == []
    assert_replays(insurer, sale)


# --- manual underwriting ------------------------------------------------------------------------

def test_standard_risk_above_the_auto_limit_needs_an_underwriter_who_may_accept_it(insurer: Insurer) -> None:
    sale = underwrite(insurer, sum_insured=AUTO_LIMIT + 10_000)
    assert open_keys(insurer, sale) == ["manual_underwriting"]
    with pytest.raises(ForbiddenError):  # an underwriter's task, not the agent's
        insurer.complete(sale, "manual_underwriting", "agent", manual("accept"))

    insurer.complete(sale, "manual_underwriting", "uw", manual("accept"))

    assert open_keys(insurer, sale) == ["accept_terms"]  # within the senior limit: no senior approval
    assert handed_back(insurer, sale) == ("accept", 1, Decimal("1253.07"))  # 510,000 / 1,000 × 2.457
    assert underwriting_handlers(insurer, sale) == [*CHECKS, *ACCEPTED]
    assert_replays(insurer, sale)


def test_referred_risk_accepted_with_loading_prices_the_policy_with_the_loading(insurer: Insurer) -> None:
    sale = underwrite(insurer, application(chronic_disease=True))  # chronic disease → refer
    assert open_keys(insurer, sale) == ["manual_underwriting"]

    insurer.complete(sale, "manual_underwriting", "uw", manual("accept_with_loading", 1.5, "Controlled asthma."))

    loaded_premium = (MED01_PREMIUM * Decimal("1.5")).quantize(Decimal("0.01"))
    assert handed_back(insurer, sale) == ("accept", Decimal("1.5"), loaded_premium)
    assert result_of(insurer, sale, "svc_price_policy")["annual_premium"] == loaded_premium
    assert sold(insurer, sale) == "waiting"
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert (policy.loading, policy.annual_premium) == (Decimal("1.500"), Decimal("737.10"))
    assert [p.amount for p in rows(insurer, PremiumPaymentRecord)] == [Decimal("737.10")]
    assert outcome(insurer, sale) == ["accept"]
    assert_replays(insurer, sale)


def test_referred_risk_declined_by_the_underwriter_ends_the_sale_declined(insurer: Insurer) -> None:
    sale = underwrite(insurer, application(occupation_class=4))  # occupation class 4 → refer

    insurer.complete(sale, "manual_underwriting", "uw", manual("decline", note="Works underground with explosives."))

    assert underwriting_handlers(insurer, sale) == [*CHECKS, *DECLINED]
    assert_declined(insurer, sale)
    assert_replays(insurer, sale)


def test_medical_exam_is_booked_then_the_reviewed_results_accept_the_risk(insurer: Insurer) -> None:
    sale = underwrite(insurer, application(height_cm=170, weight_kg=95))  # BMI 32.9 → refer

    insurer.complete(sale, "manual_underwriting", "uw", manual("medical_exam"))

    assert open_keys(insurer, sale) == ["review_exam_results"]
    booked = result_of(insurer, sale, "svc_schedule_exam")
    [appointment] = rows(insurer, AppointmentRecord)
    [examiner] = rows(insurer, SurveyorRecord, SurveyorRecord.id == appointment.surveyor_id)
    assert (appointment.purpose, appointment.claim_id, booked["appointment_id"]) == ("medical_exam", None,
                                                                                     appointment.id)
    assert (examiner.username, examiner.kind, booked["examiner"]) == ("clinic.beijing", "examiner", "clinic.beijing")
    # Monday 17:00 in Beijing is after the clinic's hours: Tuesday 08:30 local, the first working slot.
    assert appointment.starts_at == datetime(2026, 11, 3, 0, 30, tzinfo=UTC)

    insurer.complete(sale, "review_exam_results", "uw2", exam_review())

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert handed_back(insurer, sale) == ("accept", 1, MED01_PREMIUM)
    assert underwriting_handlers(insurer, sale) == [*CHECKS, "svc_schedule_exam", "svc_notify_exam", *ACCEPTED]
    assert_replays(insurer, sale)


# --- senior approval and four eyes --------------------------------------------------------------

def test_above_the_senior_limit_a_senior_underwriter_approves_the_acceptance(insurer: Insurer) -> None:
    sale = at_senior_approval(insurer)
    with pytest.raises(ForbiddenError):  # an underwriter without the senior role
        insurer.complete(sale, "senior_approval", "uw2", senior_decision(True))

    insurer.complete(sale, "senior_approval", "senior", senior_decision(True))

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert handed_back(insurer, sale) == ("accept", 1.0, 7371.0)  # 3,000,000 / 1,000 × 2.457
    assert underwriting_handlers(insurer, sale) == [*CHECKS, *ACCEPTED]
    assert outcome(insurer, sale) == ["accept"]
    assert_replays(insurer, sale)


def test_senior_refusal_declines_the_application(insurer: Insurer) -> None:
    sale = at_senior_approval(insurer)

    insurer.complete(sale, "senior_approval", "senior", senior_decision(False))

    assert underwriting_handlers(insurer, sale) == [*CHECKS, *DECLINED]
    assert_declined(insurer, sale)
    assert_replays(insurer, sale)


def add_senior(insurer: Insurer, name: str) -> None:
    """Another staff member holding both underwriting roles."""
    with insurer.rt.uow() as uow:
        add_user(uow.session, insurer.rt.settings, name, ["senior_underwriter", "underwriter"], None, insurer.clock())
        uow.commit()


def test_the_manual_underwriter_may_not_give_the_senior_approval_even_with_the_senior_role(insurer: Insurer) -> None:
    add_senior(insurer, "senior2")
    sale = at_senior_approval(insurer, underwriter="senior2")
    approval = insurer.task(sale, "senior_approval")
    assert approval.separate_from.split() == ["manual_underwriting", "review_exam_results"]

    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(sale, "senior_approval", "senior2", senior_decision(True))
    with pytest.raises(ForbiddenError, match="four-eyes"):
        task_service.claim(insurer.rt, approval.id, insurer.actor("senior2"))

    assert open_keys(insurer, sale) == ["senior_approval"]
    assert insurer.task(sale, "senior_approval").assignee is None
    insurer.complete(sale, "senior_approval", "senior", senior_decision(True))
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert [(e["task"], e["actor"]) for e in events(insurer, sale, "task_completed")][-2:] == [
        ("manual_underwriting", "senior2"), ("senior_approval", "senior")]
    assert_replays(insurer, sale)


def test_the_underwriter_who_accepted_after_the_exam_may_not_give_the_senior_approval(insurer: Insurer) -> None:
    sale = underwrite(insurer, sum_insured=ABOVE_SENIOR_LIMIT)
    insurer.complete(sale, "manual_underwriting", "uw", manual("medical_exam"))
    insurer.complete(sale, "review_exam_results", "senior", exam_review())
    assert open_keys(insurer, sale) == ["senior_approval"]

    with pytest.raises(ForbiddenError):
        insurer.complete(sale, "senior_approval", "senior", senior_decision(True))
