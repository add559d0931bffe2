"""Issue 12, underwriting: item 9 (data-entry errors go back to the agent; the watch list matches keyed hash plus
name and hits go to compliance, the customer never told why), item 12 (suitability re-checked on a loaded premium)
and items 14-15 (the exam is notified, booked again once when missed, then postponed with a letter). Item 17 (each
product line its own questions and rules) is in test_underwriting_product_lines.py. Real diagrams, tables, forms
and handlers on both databases; every scenario ends with a consistent replay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ForbiddenError
from engine.workflow import task_service
from tasks.notices import render_notice
from tasks.office_records import NotificationRecord
from tasks.records import PolicyRecord, UnderwritingOutcomeRecord, WatchListRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_decisions import instructions, refused
from tests.bpmn.test_sales_scenarios import (
    MED01_PREMIUM,
    application,
    assert_replays,
    handlers_run,
    id_number,
    needs,
    notifications,
    open_keys,
    registration,
    rows,
    sale_at_application,
    sold,
    tasks_opened,
)
from tests.bpmn.test_underwriting_scenarios import (
    earlier_declines,
    handed_back,
    manual,
    outcome,
    result_of,
    underwrite,
    underwriting_handlers,
)

LISTED = "Hu Heiming 胡黑名"
LISTED_BIRTH = date(1980, 6, 1)


def sent(insurer: Insurer) -> list[tuple[str, str, dict[str, Any]]]:
    """The customer messages queued: (template, channel, params as sent)."""
    return [(n.template, n.channel, insurer.cipher.reveal("notification", n.params))
            for n in rows(insurer, NotificationRecord)]


def watch(insurer: Insurer, name: str, number: str) -> None:
    """A watch-list entry naming a person and their ID number (kept as its keyed hash)."""
    with insurer.rt.session_factory() as session, session.begin():
        session.add(WatchListRecord(name=name, id_number_hash=insurer.cipher.lookup_hash(number),
                                    reason="sanctions list (test)", listed_on=date(2025, 1, 1)))


def decided(insurer: Insurer, case: int, task_key: str) -> dict[str, Any]:
    """What a business rule task's table decided (its outputs, the last time it ran)."""
    return [e for e in insurer.history(case) if e["type"] == "decision_evaluated"
            and e["task"] == task_key][-1]["payload"]["outputs"]


def task_data(insurer: Insurer, case: int, task_key: str) -> dict[str, Any]:
    """What the open task's page holds (its form is prefilled from it)."""
    return task_service.get_task(insurer.rt, insurer.task(case, task_key).id, insurer.actor("auditor")).data or {}


# --- item 9: verification failures go back to the agent ------------------------------------------

def test_a_registration_error_goes_back_to_the_agent_and_the_corrected_application_is_accepted(
        insurer: Insurer) -> None:
    # The agent typed 1990-01-02 as the birth date; the ID number says 1990-01-01.
    sale = sale_at_application(insurer, registration(birth=date(1990, 1, 2), number=id_number()))

    insurer.complete(sale, "application", "agent", application())

    assert open_keys(insurer, sale) == ["application"]  # back to the agent, not declined
    assert insurer.data(sale)["uw_reasons"] == ["birth_date_mismatch"]
    assert "birth_date_mismatch" in instructions(insurer, sale, "application")
    assert outcome(insurer, sale) == []  # nothing on the applicant's record
    assert notifications(insurer) == []  # and nothing told to the customer
    assert insurer.task(sale, "application").candidate_role == "agent"

    insurer.complete(sale, "application", "agent", {**application(), "corrected_birth_date": "1990-01-01"})

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert "svc_correct_registration" in handlers_run(insurer, sale)
    assert result_of(insurer, sale, "svc_verify_applicant")["verified"] is True
    assert handed_back(insurer, sale) == ("accept", 1, MED01_PREMIUM)
    assert outcome(insurer, sale) == ["accept"]
    assert_replays(insurer, sale)


def test_returned_applications_never_count_as_declines_and_two_declines_refer_to_an_underwriter(
        insurer: Insurer) -> None:
    for _ in range(2):  # two cases sent back for a birth date the ID number contradicts
        returned = sale_at_application(insurer, registration(birth=date(1990, 1, 2), number=id_number()))
        insurer.complete(returned, "application", "agent", application())
        assert open_keys(insurer, returned) == ["application"]
    assert rows(insurer, UnderwritingOutcomeRecord) == []

    earlier_declines(insurer, 2)  # two real declines on the record: an underwriter reads them
    sale = underwrite(insurer)

    assert result_of(insurer, sale, "svc_anti_fraud_lookup")["prior_declines"] == 2
    assert decided(insurer, sale, "score_risk") == {"risk_class": "refer"}
    assert open_keys(insurer, sale) == ["manual_underwriting"]
    insurer.complete(sale, "manual_underwriting", "uw", manual("accept", note="Earlier declines were for ACC01."))
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert_replays(insurer, sale)


def test_a_declared_product_line_that_is_not_the_products_goes_back_to_the_agent(insurer: Insurer) -> None:
    sale = sale_at_application(insurer)  # MED01: the medical line

    insurer.complete(sale, "application", "agent", application(product_line="life"))

    assert open_keys(insurer, sale) == ["application"]
    assert insurer.data(sale)["uw_reasons"] == ["product_line"]
    assert task_data(insurer, sale, "application")["product_line"] == "medical"  # prefilled again from the quote
    assert outcome(insurer, sale) == []
    insurer.complete(sale, "application", "agent", application())
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert_replays(insurer, sale)


# --- item 9: the watch list -----------------------------------------------------------------------

def test_a_namesake_of_a_listed_person_is_not_a_watch_list_hit(insurer: Insurer) -> None:
    watch(insurer, LISTED, id_number(LISTED_BIRTH, 555))
    sale = underwrite(insurer, customer=registration(name=LISTED))  # same name, another person

    verification = result_of(insurer, sale, "svc_verify_applicant")
    assert (verification["verified"], verification["watch_listed"]) == (True, False)
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert "screening_review" not in tasks_opened(insurer, sale)
    assert_replays(insurer, sale)


def listed_applicant(insurer: Insurer) -> int:
    """A sale whose applicant is on the watch list by ID number and name, waiting for compliance."""
    number = id_number(LISTED_BIRTH, 555)
    watch(insurer, LISTED, number)
    sale = underwrite(insurer, customer=registration(name=LISTED, birth=LISTED_BIRTH, number=number))
    assert open_keys(insurer, sale) == ["screening_review"]
    assert insurer.task(sale, "screening_review").candidate_role == "compliance"
    assert result_of(insurer, sale, "svc_verify_applicant")["watch_listed"] is True
    return sale


def test_a_watch_list_hit_goes_to_compliance_who_may_clear_it(insurer: Insurer) -> None:
    sale = listed_applicant(insurer)
    with pytest.raises(ForbiddenError):  # not the agent's nor the underwriter's decision
        insurer.complete(sale, "screening_review", "uw", {"watch_list_confirmed": False, "screening_note": "x"})

    insurer.complete(sale, "screening_review", "compliance",
                     {"watch_list_confirmed": False, "screening_note": "Different person: other address, age."})

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert underwriting_handlers(insurer, sale)[:2] == ["svc_verify_applicant", "svc_anti_fraud_lookup"]
    assert outcome(insurer, sale) == ["accept"]
    assert notifications(insurer) == []
    assert_replays(insurer, sale)


def test_a_confirmed_watch_list_hit_ends_the_sale_without_telling_the_customer_why(insurer: Insurer) -> None:
    sale = listed_applicant(insurer)

    insurer.complete(sale, "screening_review", "compliance",
                     {"watch_list_confirmed": True, "screening_note": "Matches the sanctions entry."})

    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["uw_decision"] == "refused"
    assert outcome(insurer, sale) == []  # no underwriting decline on the record
    assert sent(insurer) == [("application_not_proceeding", "sms", {"product_code": "MED01"})]
    for language in ("en", "zh"):
        text = render_notice("application_not_proceeding", {"product_code": "MED01"}, language).lower()
        assert not any(word in text for word in ("watch", "sanction", "list", "名单", "制裁"))
    assert "accept_terms" not in tasks_opened(insurer, sale)
    assert_replays(insurer, sale)


def test_a_cleared_watch_list_hit_with_a_registration_error_goes_back_to_the_agent(insurer: Insurer) -> None:
    number = id_number(LISTED_BIRTH, 555)
    watch(insurer, LISTED, number)
    sale = underwrite(insurer, customer=registration(name=LISTED, birth=date(1980, 6, 2), number=number))
    assert result_of(insurer, sale, "svc_verify_applicant")["reasons"] == ["birth_date_mismatch", "watch_list"]

    insurer.complete(sale, "screening_review", "compliance",
                     {"watch_list_confirmed": False, "screening_note": "Not the listed person."})

    assert open_keys(insurer, sale) == ["application"]
    assert insurer.data(sale)["uw_reasons"] == ["birth_date_mismatch"]  # never the watch list
    assert (outcome(insurer, sale), notifications(insurer)) == ([], [])
    assert_replays(insurer, sale)


# --- item 12: suitability after a loading ---------------------------------------------------------

LOW_INCOME = 2_000  # MED01 491.40 is 24.6 % of it (suitable); loaded ×1.5, 737.10 is 36.9 % (above 30 %)


def loaded_sale(insurer: Insurer, loading: float = 1.5, income: float = LOW_INCOME) -> int:
    """A referred sale the underwriter accepted with a loading."""
    sale = underwrite(insurer, application(chronic_disease=True), customer_needs=needs(income=income))
    insurer.complete(sale, "manual_underwriting", "uw", manual("accept_with_loading", loading, "Controlled asthma."))
    return sale


def test_a_loading_that_makes_the_premium_unsuitable_needs_the_customer_and_compliance(insurer: Insurer) -> None:
    sale = loaded_sale(insurer)

    data = insurer.data(sale)
    assert (data["suitable"], data["quote"]["annual_premium"]) == (False, Decimal("737.10"))
    assert data["suitability_reason"] == "The annual premium is above 30 % of the customer's income"
    assert open_keys(insurer, sale) == ["loaded_acknowledgement"]
    assert refused(insurer, sale, "loaded_acknowledgement", "agent", {"acknowledged": True}) == {
        "customer_statement": "is required"}
    insurer.complete(sale, "loaded_acknowledgement", "agent",
                     {"acknowledged": True, "customer_statement": "I can pay it from savings."})
    assert open_keys(insurer, sale) == ["loaded_compliance_approval"]
    with pytest.raises(ForbiddenError):
        insurer.complete(sale, "loaded_compliance_approval", "agent", {"approved": True, "comment": "ok"})

    insurer.complete(sale, "loaded_compliance_approval", "compliance", {"approved": True, "comment": "Savings."})

    assert open_keys(insurer, sale) == ["accept_terms"]
    assert sold(insurer, sale) == "waiting"
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert policy.annual_premium == Decimal("737.10")
    assert_replays(insurer, sale)


def test_the_customer_may_decline_the_loaded_premium(insurer: Insurer) -> None:
    sale = loaded_sale(insurer)

    insurer.complete(sale, "loaded_acknowledgement", "agent", {"acknowledged": False})

    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["acknowledged"] is False
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert "accept_terms" not in tasks_opened(insurer, sale)
    assert_replays(insurer, sale)


def test_compliance_refusing_the_loaded_sale_tells_the_customer(insurer: Insurer) -> None:
    sale = loaded_sale(insurer)
    insurer.complete(sale, "loaded_acknowledgement", "agent",
                     {"acknowledged": True, "customer_statement": "I want it anyway."})

    insurer.complete(sale, "loaded_compliance_approval", "compliance", {"approved": False, "comment": "Too dear."})

    assert insurer.status(sale) == "completed"
    assert notifications(insurer) == ["sale_refused_unsuitable"]
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert_replays(insurer, sale)


def test_a_loading_that_keeps_the_premium_suitable_goes_straight_to_the_terms(insurer: Insurer) -> None:
    sale = loaded_sale(insurer, income=200_000)

    assert insurer.data(sale)["suitable"] is True
    assert open_keys(insurer, sale) == ["accept_terms"]
    assert not {"loaded_acknowledgement", "loaded_compliance_approval"} & set(tasks_opened(insurer, sale))
    assert_replays(insurer, sale)


# --- items 14 and 15: the medical exam ------------------------------------------------------------

def at_exam(insurer: Insurer) -> int:
    """A referred sale whose underwriter asked for a medical exam."""
    sale = underwrite(insurer, application(height_cm=170, weight_kg=95))  # BMI 32.9 → refer
    insurer.complete(sale, "manual_underwriting", "uw", manual("medical_exam"))
    assert open_keys(insurer, sale) == ["review_exam_results"]
    return sale


def test_the_customer_is_told_the_time_and_place_of_the_exam(insurer: Insurer) -> None:
    sale = at_exam(insurer)

    booked = result_of(insurer, sale, "svc_schedule_exam")
    assert (booked["examiner_name"], booked["local_time"]) == ("Beijing Health Check Centre", "2026-11-03 08:30")
    assert sent(insurer) == [("medical_exam_scheduled", "sms", {
        "product_code": "MED01", "local_time": "2026-11-03 08:30", "examiner_name": "Beijing Health Check Centre"})]
    text = render_notice("medical_exam_scheduled", sent(insurer)[0][2], "zh")
    assert "2026-11-03 08:30" in text and "Beijing Health Check Centre" in text
    assert_replays(insurer, sale)


def test_a_missed_exam_is_booked_once_more_then_the_application_is_postponed_with_a_letter(
        insurer: Insurer) -> None:
    sale = at_exam(insurer)

    insurer.wait(days=14, minutes=1)  # exam_wait P14D (underwriting_limits.dmn): no results

    assert open_keys(insurer, sale) == ["review_exam_results"]
    assert handlers_run(insurer, sale).count("svc_schedule_exam") == 2
    assert notifications(insurer) == ["medical_exam_scheduled", "medical_exam_scheduled"]

    insurer.wait(days=14, minutes=1)  # missed again: exam_bookings is 2

    assert insurer.status(sale) == "completed"
    assert handed_back(insurer, sale) == ("postpone", 1.0, 0)
    assert outcome(insurer, sale) == ["postpone"]  # not a decline
    assert sent(insurer)[-1] == ("application_postponed", "letter", {"product_code": "MED01", "postpone_months": 3})
    assert "postpone" in render_notice("application_postponed", sent(insurer)[-1][2], "en")
    assert_replays(insurer, sale)
