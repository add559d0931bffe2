"""Sales scenarios: every branch of sales.bpmn, driven through the engine with the real handlers and tables.

Each test walks one path the way agents and compliance officers would, then checks the path really taken
(which human tasks opened, which handlers ran, how the history ends), the data it wrote, the domain records,
and that a deterministic replay of the case agrees with its history. The step builders at the top are also
used by test_underwriting_scenarios.py, which reaches underwriting through a sale.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.audit.replay import replay_instance
from engine.errors import ForbiddenError, InvalidInputError
from engine.workflow.actors import OPERATOR
from engine.workflow.instances import show_instance
from engine.workflow.models import HumanTaskModel
from services.demo.data import CUSTOMERS
from tasks.handlers.sales import valid_policy_number
from tasks.idcard import check_digit
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord, PremiumPaymentRecord
from tasks.records import CustomerRecord, PolicyRecord, UnderwritingOutcomeRecord
from tests.bpmn.conftest import Insurer

APPLICANT = "Sun Li 孙丽"
BIRTH = date(1990, 1, 1)  # 36 on the clock's first day (2026-11-02): age band 31–40
PAYEE_ACCOUNT = "6222020200112233445"
# MED01, age band 31–40, 5 years: 1.80 × 1.3 × 1.05 = 2.457 per thousand.
MED01_PREMIUM = Decimal("491.40")  # for 200,000


# --- form data of each step ---------------------------------------------------------------------

def id_number(birth: date = BIRTH, sequence: int = 123, region_code: str = "110105") -> str:
    """A resident ID number with a correct check digit."""
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


def registration(name: str = APPLICANT, birth: date = BIRTH, number: str | None = None,
                 phone: str = "13800138000", region: str = "beijing") -> dict[str, Any]:
    """The registration form of a consenting customer."""
    return {"consent": True, "name": name, "id_number": number or id_number(birth), "birth_date": birth.isoformat(),
            "phone": phone, "region": region}


def needs(goal: str = "medical", risk_tolerance: str = "medium", income: float = 200_000) -> dict[str, Any]:
    """The needs analysis form."""
    return {"income": income, "dependents": 1, "existing_cover": 0, "goal": goal, "risk_tolerance": risk_tolerance}


def quote(product_code: str = "MED01", sum_insured: float = 200_000, term_years: int = 5) -> dict[str, Any]:
    """The product-and-quote form."""
    return {"product_code": product_code, "sum_insured": sum_insured, "term_years": term_years}


def application(height_cm: float = 175, weight_kg: float = 70, chronic_disease: bool = False, smoker: bool = False,
                occupation_class: int = 1, product_line: str = "medical") -> dict[str, Any]:
    """The application and health declaration form (defaults: a standard medical risk, BMI 22.9)."""
    return {"product_line": product_line, "smoker": smoker, "height_cm": height_cm, "weight_kg": weight_kg,
            "chronic_disease": chronic_disease, "occupation_class": occupation_class,
            "health_declaration": "No illnesses, no medication.",
            "beneficiary_designation": "legal_heirs"}


PAYER_ACCOUNT = "6222020200998877665"  # the account a transfer or card premium comes from


def payment(method: str = "transfer", payer_name: str = APPLICANT, payer_id_number: str = "",
            payer_account: str = PAYER_ACCOUNT) -> dict[str, Any]:
    """The premium payment form (no payer ID number: the policyholder pays; a transfer or card names the
    account the money comes from, where a refund goes back)."""
    data = {"method": method, "payer_name": payer_name}
    if method != "cash" and payer_account:
        data["payer_account"] = payer_account
    return {**data, "payer_id_number": payer_id_number} if payer_id_number else data


# --- driving a sale -----------------------------------------------------------------------------

def start_sale(insurer: Insurer, customer: dict[str, Any] | None = None, agent: str = "agent") -> int:
    """A sale by `agent` with the customer registered (consent given); the instance id."""
    sale = insurer.start("sales", agent)
    insurer.complete(sale, "customer_registration", agent, customer or registration())
    return sale


def sale_at_application(insurer: Insurer, customer: dict[str, Any] | None = None,
                        customer_needs: dict[str, Any] | None = None,
                        chosen: dict[str, Any] | None = None) -> int:
    """A sale of a suitable product with a premium, waiting for the application."""
    sale = start_sale(insurer, customer)
    insurer.complete(sale, "needs_analysis", "agent", customer_needs or needs())
    insurer.complete(sale, "present_quote", "agent", chosen or quote())
    assert open_keys(insurer, sale) == ["application"]
    return sale


def sale_at_terms(insurer: Insurer, **kwargs: Any) -> int:
    """A sale accepted by automatic underwriting, waiting for the customer to accept the terms."""
    sale = sale_at_application(insurer, **kwargs)
    insurer.complete(sale, "application", "agent", application())
    assert open_keys(insurer, sale) == ["accept_terms"]
    return sale


def pay_premium(insurer: Insurer, sale: int, paid: dict[str, Any] | None = None) -> str:
    """The customer accepts the terms and pays; the instance status after the payment."""
    insurer.complete(sale, "accept_terms", "agent", {"accepted": True})
    return insurer.complete(sale, "premium_payment", "agent", paid or payment())


def receive(insurer: Insurer, sale: int, on: str = "2026-11-02", agent: str = "agent") -> str:
    """The agent records the day the policyholder signed the policy receipt (the cooling-off period starts from
    it); the instance status after it."""
    return insurer.complete(sale, "record_receipt", agent, {"receipt_signed_on": on, "receipt_form": "paper"})


def sold(insurer: Insurer, sale: int, paid: dict[str, Any] | None = None, received_on: str = "2026-11-02") -> str:
    """The customer accepts the terms and pays, the policy is issued and its receipt signed on `received_on`;
    the status (waiting in the cooling-off period)."""
    assert pay_premium(insurer, sale, paid) == "running" and open_keys(insurer, sale) == ["record_receipt"]
    return receive(insurer, sale, received_on)


# --- what happened ------------------------------------------------------------------------------

def open_keys(insurer: Insurer, instance_id: int) -> list[str]:
    """The task ids of the open human tasks."""
    return [t.task_key for t in insurer.open_tasks(instance_id)]


def tasks_opened(insurer: Insurer, instance_id: int) -> list[str]:
    """Every human task the case ever opened, in order (sales and underwriting alike)."""
    with insurer.rt.uow() as uow:
        return list(uow.session.scalars(select(HumanTaskModel.task_key).where(
            HumanTaskModel.instance_id == instance_id).order_by(HumanTaskModel.id)))


def events(insurer: Insurer, instance_id: int, kind: str) -> list[dict[str, Any]]:
    """The history events of one type."""
    return [e for e in insurer.history(instance_id) if e["type"] == kind]


def handlers_run(insurer: Insurer, instance_id: int) -> list[str]:
    """The service tasks that ran to their result, in order (a payment's when its outcome was settled)."""
    return [e["task"] for e in insurer.history(instance_id) if e["type"] in ("handler_executed", "effect_settled")]


def last_events(insurer: Insurer, instance_id: int, count: int) -> list[tuple[str, str | None]]:
    """The last `count` history events as (type, task id)."""
    return [(e["type"], e["task"]) for e in insurer.history(instance_id)[-count:]]


def rows(insurer: Insurer, record: type, *where: Any) -> list[Any]:
    """Domain records matching the conditions."""
    with insurer.rt.session_factory() as session:
        return list(session.scalars(select(record).where(*where).order_by(record.id)))


def business_key(insurer: Insurer, instance_id: int) -> str | None:
    """The case's business key (the policy number once issued)."""
    return show_instance(insurer.rt, instance_id, OPERATOR).business_key


def notifications(insurer: Insurer) -> list[str]:
    """Templates of the customer messages queued, in order (the demo data queues none)."""
    return [n.template for n in rows(insurer, NotificationRecord)]


def assert_replays(insurer: Insurer, instance_id: int) -> None:
    """A deterministic replay of the case agrees with its recorded history."""
    result = replay_instance(insurer.rt, instance_id, OPERATOR)
    assert result.consistent, str(result)


# --- consent ------------------------------------------------------------------------------------

def test_sale_without_consent_ends_at_no_consent_keeping_nothing_personal(insurer: Insurer) -> None:
    sale = insurer.start("sales", "agent")
    with pytest.raises(InvalidInputError):  # without consent the form takes no personal field at all
        insurer.complete(sale, "customer_registration", "agent", {"consent": False, "name": APPLICANT})

    assert insurer.complete(sale, "customer_registration", "agent", {"consent": False}) == "completed"

    assert tasks_opened(insurer, sale) == ["customer_registration"]
    assert [(e["type"], e["task"]) for e in insurer.history(sale)] == [
        ("instance_started", None), ("task_completed", "customer_registration"), ("instance_completed", None)]
    assert events(insurer, sale, "task_completed")[0]["payload"]["data"] == {"consent": False}
    assert insurer.data(sale) == {"consent": False}
    with insurer.rt.session_factory() as session:
        # the demo customers only
        assert session.scalar(select(func.count()).select_from(CustomerRecord)) == len(CUSTOMERS)
    assert_replays(insurer, sale)


# --- suitability --------------------------------------------------------------------------------

def test_suitable_product_goes_straight_to_application_and_policy_without_compliance(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    data = insurer.data(sale)
    assert data["eligible_products"] == ["MED01", "ACC01"]
    assert (data["suitable"], data["uw_decision"], data["annual_premium"]) == (True, "accept", MED01_PREMIUM)

    assert sold(insurer, sale) == "waiting"  # in the cooling-off period

    assert tasks_opened(insurer, sale) == ["customer_registration", "needs_analysis", "present_quote",
                                           "application", "accept_terms", "premium_payment", "record_receipt"]
    # the premium is held in suspense, screened, and cleared as income before the policy is issued
    assert handlers_run(insurer, sale)[-5:] == ["svc_collect_premium", "svc_report_large_cash", "svc_clear_premium",
                                                "svc_issue_policy", "svc_record_receipt"]
    policy = insurer.data(sale)["policy"]
    assert valid_policy_number(policy["policy_number"])
    assert business_key(insurer, sale) == policy["policy_number"]
    [record] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert (record.number, record.status, record.product_code) == (policy["policy_number"], "in_force", "MED01")
    assert (record.annual_premium, record.sum_insured, record.loading) == (
        Decimal("491.40"), Decimal("200000.00"), Decimal("1.000"))
    assert record.cooling_off_end == date(2026, 11, 17)  # 15 days (cooling_off.dmn, term > 1 year)
    [paid] = rows(insurer, PremiumPaymentRecord)
    assert (paid.amount, paid.method, paid.holder_id, paid.status) == (
        Decimal("491.40"), "transfer", record.holder_id, "cleared")
    assert insurer.data(sale)["aml_hit"] is False
    assert_replays(insurer, sale)


def unsuitable_sale_at_compliance(insurer: Insurer) -> int:
    """A recommended product whose premium is above 30 % of the income, acknowledged by the customer."""
    sale = start_sale(insurer)
    insurer.complete(sale, "needs_analysis", "agent", needs(income=1_200))  # 491.40 / 1,200 = 41 %
    insurer.complete(sale, "present_quote", "agent", quote())
    assert open_keys(insurer, sale) == ["customer_acknowledgement"]
    assert insurer.data(sale)["suitability_reason"] == "The annual premium is above 30 % of the customer's income"
    insurer.complete(sale, "customer_acknowledgement", "agent",
                     {"acknowledged": True, "customer_statement": "My family pays the premium for me."})
    assert insurer.task(sale, "compliance_approval").candidate_role == "compliance"
    return sale


def test_unsuitable_product_approved_by_compliance_goes_on_to_application(insurer: Insurer) -> None:
    sale = unsuitable_sale_at_compliance(insurer)
    with pytest.raises(ForbiddenError):  # approval is the compliance lane's: the selling agent cannot give it
        insurer.complete(sale, "compliance_approval", "agent", {"approved": True, "comment": "fine"})

    insurer.complete(sale, "compliance_approval", "compliance",
                     {"approved": True, "comment": "Family support is documented."})
    # four eyes (issue 12, item 16): a second compliance officer countersigns the approval
    assert open_keys(insurer, sale) == ["compliance_countersign"]
    insurer.complete(sale, "compliance_countersign", "compliance2",
                     {"countersigned": True, "countersign_comment": "Agreed."})

    assert open_keys(insurer, sale) == ["application"]
    assert tasks_opened(insurer, sale)[3:] == ["customer_acknowledgement", "compliance_approval",
                                               "compliance_countersign", "application"]
    assert insurer.data(sale)["suitable"] is False
    assert notifications(insurer) == []
    assert_replays(insurer, sale)


def test_unsuitable_product_refused_by_compliance_ends_refused_and_tells_the_customer(insurer: Insurer) -> None:
    sale = unsuitable_sale_at_compliance(insurer)

    status = insurer.complete(sale, "compliance_approval", "compliance",
                              {"approved": False, "comment": "Mis-selling risk: unaffordable premium."})

    assert status == "completed"
    assert "application" not in tasks_opened(insurer, sale)
    assert last_events(insurer, sale, 3) == [
        ("task_completed", "compliance_approval"), ("handler_executed", "svc_notify_unsuitable"),
        ("instance_completed", None)]
    [sent] = rows(insurer, NotificationRecord)
    assert (sent.template, sent.params) == ("sale_refused_unsuitable", {"product_code": "MED01"})
    assert sent.customer_id == insurer.data(sale)["customer"]["customer_id"]
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert_replays(insurer, sale)


# --- pricing ------------------------------------------------------------------------------------

def test_quote_without_a_rate_goes_back_to_present_quote_until_a_quote_works(insurer: Insurer) -> None:
    sale = start_sale(insurer)
    insurer.complete(sale, "needs_analysis", "agent", needs())

    insurer.complete(sale, "present_quote", "agent", quote(term_years=3))  # the rate table has 1/5/10/20/30 years

    assert open_keys(insurer, sale) == ["present_quote"]
    assert insurer.data(sale)["quote"]["available"] is False
    assert insurer.data(sale)["quote"]["reason"] == "no rate for age 36 and term 3 years"

    insurer.complete(sale, "present_quote", "agent", quote(term_years=5))

    assert open_keys(insurer, sale) == ["application"]
    assert tasks_opened(insurer, sale) == ["customer_registration", "needs_analysis", "present_quote", "present_quote",
                                           "application"]
    assert handlers_run(insurer, sale) == ["svc_register_customer", "svc_price_quote", "svc_price_quote"]
    assert insurer.data(sale)["quote"]["annual_premium"] == MED01_PREMIUM
    assert_replays(insurer, sale)


# --- underwriting outcome and terms -------------------------------------------------------------

def test_underwriting_decline_ends_the_sale_with_an_application_declined_notice(insurer: Insurer) -> None:
    sale = sale_at_application(insurer)

    status = insurer.complete(sale, "application", "agent", application(height_cm=170, weight_kg=120,
                                                                        chronic_disease=True))

    assert status == "completed"
    data = insurer.data(sale)
    assert (data["bmi"], data["uw_decision"], data["annual_premium"]) == (41.5, "decline", 0)
    assert "accept_terms" not in tasks_opened(insurer, sale)
    assert last_events(insurer, sale, 3) == [("handler_executed", "svc_record_decline"),
                                             ("handler_executed", "svc_notify_declined"), ("instance_completed", None)]
    [sent] = rows(insurer, NotificationRecord)
    assert (sent.template, sent.params) == ("application_declined", {"product_code": "MED01"})
    [outcome] = rows(insurer, UnderwritingOutcomeRecord, UnderwritingOutcomeRecord.instance_id == sale)
    assert (outcome.decision, outcome.product_code) == ("decline", "MED01")
    assert_replays(insurer, sale)


def test_customer_rejecting_the_terms_ends_the_sale_without_payment(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)

    status = insurer.complete(sale, "accept_terms", "agent", {"accepted": False, "note": "Too expensive."})

    assert status == "completed"
    assert tasks_opened(insurer, sale)[-1] == "accept_terms"
    assert last_events(insurer, sale, 2) == [("task_completed", "accept_terms"), ("instance_completed", None)]
    assert rows(insurer, PremiumPaymentRecord) == []
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert notifications(insurer) == []
    assert_replays(insurer, sale)


# --- AML ----------------------------------------------------------------------------------------

def earlier_cash_today(insurer: Insurer, sale: int, amount: str) -> None:
    """Cash the applicant already paid today for another premium."""
    customer_id = insurer.data(sale)["customer"]["customer_id"]
    with insurer.rt.session_factory() as session, session.begin():
        session.add(PremiumPaymentRecord(
            idempotency_key="earlier-counter-payment", holder_id=customer_id,
            payer_hash=insurer.cipher.lookup_hash(id_number()), payer_name=APPLICANT, amount=Decimal(amount),
            method="cash", paid_on=date(2026, 11, 2), created_at=insurer.clock()))


AML_HITS = {
    # trigger: (payment form, cash already paid today, aml_reason)
    "cash_50000_a_day": (payment(method="cash"), "49600.00", "Cash payments of 50,000 CNY or more by this payer today"),
    "third_party_payer": (payment(payer_name="Zhou Bin 周斌", payer_id_number=id_number(date(1970, 5, 5), 331)), None,
                          "The payer is not the policyholder"),
    "watch_listed_payer": (payment(payer_name="Hu Heiming 胡黑名"), None, "The payer is on the sanctions / watch list"),
}


def sale_at_aml_review(insurer: Insurer, trigger: str) -> int:
    """A sale whose premium payment matched an AML rule."""
    paid, earlier_cash, reason = AML_HITS[trigger]
    sale = sale_at_terms(insurer)
    if earlier_cash:
        earlier_cash_today(insurer, sale, earlier_cash)
    pay_premium(insurer, sale, paid)
    assert open_keys(insurer, sale) == ["aml_review"]
    assert (insurer.data(sale)["aml_hit"], insurer.data(sale)["aml_reason"]) == (True, reason)
    return sale


@pytest.mark.parametrize("trigger", AML_HITS)
def test_aml_hit_cleared_by_compliance_goes_on_to_issue_the_policy(insurer: Insurer, trigger: str) -> None:
    sale = sale_at_aml_review(insurer, trigger)
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []  # nothing issued before the review

    insurer.complete(sale, "aml_review", "compliance", {"cleared": True, "aml_comment": "Source of funds shown."})
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []  # one officer alone cannot clear it
    status = insurer.complete(sale, "aml_approval", "compliance2",
                              {"aml_confirmed": True, "aml_approval_comment": "Agreed."})

    assert status == "running" and open_keys(insurer, sale) == ["record_receipt"]  # issued: its receipt awaited
    assert tasks_opened(insurer, sale)[-4:] == ["premium_payment", "aml_review", "aml_approval", "record_receipt"]
    assert handlers_run(insurer, sale)[-1] == "svc_issue_policy"
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert (policy.number, policy.status) == (insurer.data(sale)["policy"]["policy_number"], "in_force")
    assert_replays(insurer, sale)


def test_aml_review_refusal_ends_the_sale_without_a_policy(insurer: Insurer) -> None:
    # Issue 12, item 4: a refusal is confirmed by a second officer, reported, and the premium refunded;
    # the customer's notice says nothing about the review (tipping-off). More in test_sales_controls.py.
    sale = sale_at_aml_review(insurer, "third_party_payer")

    insurer.complete(sale, "aml_review", "compliance", {"cleared": False, "aml_comment": "Unexplained third party."})
    insurer.complete(sale, "aml_approval", "compliance2", {"aml_confirmed": True, "aml_approval_comment": "Agreed."})
    status = insurer.complete(sale, "file_str", "compliance", {"str_grounds": "Third party pays, no relation shown."})

    assert status == "completed"
    assert last_events(insurer, sale, 6) == [
        ("task_completed", "file_str"), ("handler_executed", "svc_file_str"),
        ("effect_intended", "svc_refund_premium"), ("effect_settled", "svc_refund_premium"),
        ("handler_executed", "svc_notify_aml"), ("instance_completed", None)]
    assert notifications(insurer) == ["sale_not_concluded"]
    assert rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale) == []
    assert_replays(insurer, sale)


# --- cooling-off --------------------------------------------------------------------------------

def test_a_cancellation_message_in_cooling_off_refunds_nothing_and_the_sale_waits_on(insurer: Insurer) -> None:
    """Issue 12, item 5: a cancellation is a request through policy_termination.bpmn (see
    test_termination_controls.py); the message only makes the sale read its policy record."""
    sale = sale_at_terms(insurer)
    sold(insurer, sale)
    insurer.wait(days=3)
    request = {"request_date": "2026-11-05", "payee_account": PAYEE_ACCOUNT}

    assert insurer.message(sale, "cancel_policy", request) == "waiting"

    assert last_events(insurer, sale, 2) == [("message_delivered", None), ("handler_executed", "svc_check_policy")]
    [delivered] = events(insurer, sale, "message_delivered")
    assert delivered["payload"]["payload"]["payee_account"] != PAYEE_ACCOUNT  # kept encrypted in the history
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert (policy.status, policy.terminated_reason) == ("in_force", None)
    assert notifications(insurer) == ["policy_receipt_requested", "policy_issued"]
    assert insurer.message(sale, "cancel_policy", request) == "waiting"  # the sale waits on, as often as told
    assert insurer.wait(days=20).timers_fired == 1  # and the cooling-off period ends as before
    assert notifications(insurer) == ["policy_receipt_requested", "policy_issued", "policy_confirmed"]
    assert_replays(insurer, sale)


def test_cooling_off_timer_confirms_the_policy_without_refund(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    sold(insurer, sale)
    assert insurer.data(sale)["receipt"]["cooling_off_until"] == "2026-11-17T16:00:00+00:00"  # midnight in Shanghai

    assert insurer.wait(days=15).timers_fired == 0  # 2026-11-17 09:00 UTC: the last cooling-off day is not over
    assert insurer.status(sale) == "waiting"
    assert insurer.wait(hours=8).timers_fired == 1

    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["confirmation"] == {"confirmed": True, "cancellation_pending": False}
    # the timer that fired is named, not the event-based gateway that waited for it or a cancellation
    assert last_events(insurer, sale, 3) == [("timer_fired", "cooling_off_over"),
                                             ("handler_executed", "svc_confirm_policy"), ("instance_completed", None)]
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    assert (policy.status, policy.terminated_reason) == ("in_force", None)
    assert notifications(insurer) == ["policy_receipt_requested", "policy_issued", "policy_confirmed"]
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_replays(insurer, sale)


def test_cooling_off_timer_fires_once_the_end_of_the_period_has_passed(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    sold(insurer, sale)

    at_the_end = insurer.wait(days=15, hours=7)  # 2026-11-17T16:00:00+00:00, local midnight after the last day
    assert at_the_end.timers_fired == 0 and insurer.status(sale) == "waiting"

    just_after = insurer.wait(seconds=1)
    assert just_after.timers_fired == 1
    assert insurer.status(sale) == "completed"
