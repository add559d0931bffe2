"""Policy-termination scenarios: every branch of policy_termination.bpmn with the real handlers and tables.

Each test records a surrender or cancellation request the way an agent would, then checks the path taken
(which tasks opened, which handlers ran, how the history ends), the refund computed from refund_rules.dmn and
the surrender table, the payments, the policy's status and the policyholder's messages, and that a
deterministic replay agrees. The clock starts on Monday 2026-11-02 09:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import ForbiddenError
from engine.identity import add_user
from insureflow.demo_data import demo_identity
from tasks.records import CustomerRecord, NotificationRecord, PaymentRecord, PolicyRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_scenarios import (
    assert_replays,
    business_key,
    events,
    handlers_run,
    last_events,
    messages,
    open_keys,
    performers,
    policy,
    resolution,
    rows,
    tasks_opened,
)

REFUND_ACCOUNT = "6228480011223344556"
REFUND_APPROVAL_LIMIT = 20_000  # refund_rules.dmn
CHECKS = ["svc_verify_requester", "svc_compute_refund"]
TO_TERMINATED = ["svc_pay_refund", "svc_terminate_policy"]
# PDEMO0003: LIFE20 of Zhang Qiang (demo customer 2).
LIFE = "PDEMO0003"
LIFE_HOLDER = 2
# PDEMO0003 has been in force 1,190 days: policy year 4, four annual premiums of 2,280 paid, and the
# surrender table gives 50 % of the premiums paid in year 4.
LIFE_PREMIUMS_PAID = 9120.0
LIFE_SURRENDER_VALUE = 4560.0
# A unit-linked policy with five years of premiums, made by big_policy(): its surrender value needs approval.
BIG = "PTEST00001"
BIG_SURRENDER_VALUE = 184_000.0  # policy year 5: 92 % of 200,000


# --- records the scenarios need -----------------------------------------------------------------

def add_policy(insurer: Insurer, number: str, holder: int, product: str, start: date, *, annual_premium: str,
               premiums_paid: str, term_years: int, cooling_off_end: date | None = None) -> None:
    """A policy in force held (and insured) by the demo customer at index `holder`."""
    digest = insurer.cipher.lookup_hash(demo_identity(holder)[1])
    with insurer.rt.session_factory() as session, session.begin():
        person = session.scalars(select(CustomerRecord).where(CustomerRecord.id_number_hash == digest)).one()
        session.add(PolicyRecord(
            number=number, product_code=product, holder_id=person.id, insured_id=person.id, beneficiary_ids=[],
            sum_insured=Decimal("500000"), remaining_sum_insured=Decimal("500000"),
            annual_premium=Decimal(annual_premium), term_years=term_years,
            start_date=start, end_date=start.replace(year=start.year + term_years), cooling_off_end=cooling_off_end,
            status="in_force", premiums_paid=Decimal(premiums_paid),
            issued_at=datetime.combine(start, datetime.min.time(), tzinfo=UTC)))


def big_policy(insurer: Insurer) -> None:
    """INV01 for Chen Gang (demo customer 4) since 2022-03-01, 200,000 of premiums paid."""
    add_policy(insurer, BIG, 4, "INV01", date(2022, 3, 1), annual_premium="40000", premiums_paid="200000",
               term_years=10)


# --- form data ----------------------------------------------------------------------------------

def request_form(policy_number: str = LIFE, requester: int = LIFE_HOLDER, request_type: str = "surrender",
                 request_date: str = "2026-11-02") -> dict[str, Any]:
    """The agent's record of the request, made by the demo customer at index `requester`."""
    return {"policy_number": policy_number, "requester_id_number": demo_identity(requester)[1],
            "request_type": request_type, "request_date": request_date, "payee_account": REFUND_ACCOUNT}


def decision(approved: bool, comment: str = "") -> dict[str, Any]:
    """Finance's refund approval form (a refusal needs a comment)."""
    return {"approved": approved, **({"comment": comment} if comment else {})}


# --- driving and reading ------------------------------------------------------------------------

def request_termination(insurer: Insurer, form: dict[str, Any] | None = None, agent: str = "agent") -> int:
    """A termination case with the request recorded; the instance id."""
    case = insurer.start("policy_termination", agent)
    insurer.complete(case, "termination_request", agent, form or request_form())
    return case


def refund_at_approval(insurer: Insurer, agent: str = "agent") -> int:
    """A surrender whose refund is above the approval limit, waiting for finance."""
    big_policy(insurer)
    case = request_termination(insurer, request_form(BIG, requester=4), agent)
    assert open_keys(insurer, case) == ["approve_refund"]
    task = insurer.task(case, "approve_refund")
    assert (task.candidate_role, task.separate_from) == ("finance", "termination_request")
    assert insurer.data(case)["refund"]["refund"] == BIG_SURRENDER_VALUE
    return case


def refunds(insurer: Insurer, number: str) -> list[tuple[Decimal, str]]:
    """(amount, status) of the refund payments of a policy."""
    policy_id = policy(insurer, number).id
    return [(p.amount, p.status) for p in rows(insurer, PaymentRecord, PaymentRecord.policy_id == policy_id,
                                                 PaymentRecord.kind == "refund")]


def assert_terminated(insurer: Insurer, number: str, reason: str, on: date = date(2026, 11, 2)) -> None:
    """The policy ended with `reason` on `on`, and its holder was told."""
    ended = policy(insurer, number)
    assert (ended.status, ended.terminated_reason, ended.terminated_on) == ("terminated", reason, on)
    assert ("policy_terminated", ended.holder_id) in messages(insurer)


def assert_in_force(insurer: Insurer, number: str) -> None:
    """The policy was left as it was."""
    kept = policy(insurer, number)
    assert (kept.status, kept.terminated_reason, kept.terminated_on) == ("in_force", None, None)


# --- the straight path --------------------------------------------------------------------------

def test_surrender_after_cooling_off_pays_the_surrender_value_once_and_terminates(insurer: Insurer) -> None:
    case = request_termination(insurer)

    assert insurer.status(case) == "completed"
    assert tasks_opened(insurer, case) == ["termination_request"]
    assert handlers_run(insurer, case) == CHECKS + TO_TERMINATED
    assert last_events(insurer, case, 2) == [("handler_executed", "svc_terminate_policy"),
                                             ("instance_completed", None)]
    data = insurer.data(case)
    assert (data["cancellation_fee"], data["refund_approval_limit"]) == (0, REFUND_APPROVAL_LIMIT)
    assert data["refund"] == {"refund": LIFE_SURRENDER_VALUE, "in_cooling_off": False,
                              "premiums_paid": LIFE_PREMIUMS_PAID, "policy_year": 4}
    assert data["refund_payment"]["status"] == "accepted"
    assert data["termination"] == {"terminated": True, "reason": "surrender"}
    assert business_key(insurer, case) == LIFE
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "accepted")]
    assert [amount for amount, _purpose in insurer.gateway.paid.values()] == [Decimal("4560.00")]
    [paid] = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(paid.payee_account_enc) == REFUND_ACCOUNT
    assert_terminated(insurer, LIFE, "surrender")
    [confirmed] = rows(insurer, NotificationRecord, NotificationRecord.template == "policy_terminated")
    assert confirmed.params == {"policy_number": LIFE, "reason": "surrender", "effective_date": "2026-11-02"}
    assert_replays(insurer, case)


def test_cancellation_in_cooling_off_refunds_the_premiums_minus_the_fee(insurer: Insurer) -> None:
    # MED01 for Li Hua (demo customer 0) issued 2026-10-28, cooling off until 2026-11-12.
    add_policy(insurer, "PTEST00002", 0, "MED01", date(2026, 10, 28), annual_premium="491.40", premiums_paid="491.40",
               term_years=5, cooling_off_end=date(2026, 11, 12))

    case = request_termination(insurer, request_form("PTEST00002", requester=0, request_type="cancellation"))

    assert insurer.status(case) == "completed"
    assert handlers_run(insurer, case) == CHECKS + TO_TERMINATED
    data = insurer.data(case)
    assert data["cancellation_fee"] == 50
    assert data["refund"] == {"refund": 441.4, "in_cooling_off": True, "premiums_paid": 491.4, "policy_year": 1}
    assert data["termination"] == {"terminated": True, "reason": "cooling_off_cancellation"}
    assert refunds(insurer, "PTEST00002") == [(Decimal("441.40"), "accepted")]
    assert_terminated(insurer, "PTEST00002", "cooling_off_cancellation")
    assert_in_force(insurer, LIFE)
    assert_replays(insurer, case)


def test_surrender_tells_the_policyholder_once(insurer: Insurer) -> None:
    request_termination(insurer)

    assert len(messages(insurer)) == 1


# --- requester ----------------------------------------------------------------------------------

def test_request_not_made_by_the_policyholder_ends_not_verified_leaving_the_policy(insurer: Insurer) -> None:
    case = request_termination(insurer, request_form(requester=0))  # Li Hua asks to surrender Zhang Qiang's policy

    assert insurer.status(case) == "completed"
    assert handlers_run(insurer, case) == ["svc_verify_requester"]
    assert last_events(insurer, case, 3) == [("task_completed", "termination_request"),
                                             ("handler_executed", "svc_verify_requester"),
                                             ("instance_completed", None)]
    requester = insurer.data(case)["requester"]
    assert (requester["verified"], requester["reasons"]) == (False, ["not_policyholder"])
    assert "refund" not in insurer.data(case)
    assert business_key(insurer, case) is None
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    assert messages(insurer) == []
    assert_replays(insurer, case)


# --- approval -----------------------------------------------------------------------------------

def test_refund_above_the_limit_is_paid_after_finance_approves(insurer: Insurer) -> None:
    case = refund_at_approval(insurer)
    with pytest.raises(ForbiddenError, match="needs role finance"):  # the agent who recorded it has no such right
        insurer.complete(case, "approve_refund", "agent", decision(True))
    assert refunds(insurer, BIG) == []

    assert insurer.complete(case, "approve_refund", "finance", decision(True)) == "completed"

    assert tasks_opened(insurer, case) == ["termination_request", "approve_refund"]
    assert performers(insurer, case) == [("termination_request", "agent"), ("approve_refund", "finance")]
    assert handlers_run(insurer, case) == CHECKS + TO_TERMINATED
    assert refunds(insurer, BIG) == [(Decimal("184000.00"), "accepted")]
    assert len(insurer.gateway.paid) == 1
    assert_terminated(insurer, BIG, "surrender")
    assert_replays(insurer, case)


def test_finance_member_who_recorded_the_request_may_not_approve_its_refund(insurer: Insurer) -> None:
    with insurer.rt.uow() as uow:  # someone who sells and also works in finance
        add_user(uow.session, insurer.rt.settings, "agent.finance", ["agent", "finance"], None, insurer.clock())
        uow.commit()
    case = refund_at_approval(insurer, agent="agent.finance")

    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "approve_refund", "agent.finance", decision(True))
    assert open_keys(insurer, case) == ["approve_refund"]
    assert refunds(insurer, BIG) == []

    assert insurer.complete(case, "approve_refund", "finance2", decision(True)) == "completed"

    assert performers(insurer, case) == [("termination_request", "agent.finance"), ("approve_refund", "finance2")]
    assert refunds(insurer, BIG) == [(Decimal("184000.00"), "accepted")]
    assert_terminated(insurer, BIG, "surrender")
    assert_replays(insurer, case)


def test_refund_refused_by_finance_ends_refused_and_keeps_the_policy(insurer: Insurer) -> None:
    case = refund_at_approval(insurer)

    status = insurer.complete(case, "approve_refund", "finance", decision(False, "Policy is pledged as collateral."))

    assert status == "completed"
    assert last_events(insurer, case, 3) == [("task_completed", "approve_refund"),
                                             ("handler_executed", "svc_notify_refused"), ("instance_completed", None)]
    assert "svc_pay_refund" not in handlers_run(insurer, case)
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, BIG)
    holder = policy(insurer, BIG).holder_id
    assert messages(insurer) == [("refund_refused", holder)]
    [sent] = rows(insurer, NotificationRecord)
    assert sent.params == {"policy_number": BIG, "comment": "Policy is pledged as collateral."}
    assert_replays(insurer, case)


# --- refund payment -----------------------------------------------------------------------------

def refund_declined(insurer: Insurer) -> int:
    """A surrender whose refund the bank declined, waiting for finance."""
    insurer.gateway.script = ["decline"]
    case = request_termination(insurer)
    assert open_keys(insurer, case) == ["resolve_refund_failure"]
    assert insurer.task(case, "resolve_refund_failure").candidate_role == "finance"
    assert insurer.data(case)["payment_error"]["message"] == "account closed"
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed")]
    assert_in_force(insurer, LIFE)
    return case


def test_refund_payment_failure_retried_by_finance_pays_once_and_terminates(insurer: Insurer) -> None:
    case = refund_declined(insurer)
    with pytest.raises(ForbiddenError, match="needs role finance"):
        insurer.complete(case, "resolve_refund_failure", "agent", resolution("retry", "Retry."))

    status = insurer.complete(case, "resolve_refund_failure", "finance",
                              resolution("retry", "Holder reactivated the account."))

    assert status == "completed"
    assert tasks_opened(insurer, case) == ["termination_request", "resolve_refund_failure"]
    assert handlers_run(insurer, case) == CHECKS + ["svc_pay_refund"] + TO_TERMINATED
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed"), (Decimal("4560.00"), "accepted")]
    assert len(insurer.gateway.paid) == 1
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


def test_refund_payment_failure_cancelled_by_finance_keeps_the_policy_in_force(insurer: Insurer) -> None:
    case = refund_declined(insurer)

    status = insurer.complete(case, "resolve_refund_failure", "finance",
                              resolution("cancel", "Holder withdrew the request."))

    assert status == "completed"
    assert last_events(insurer, case, 2) == [("task_completed", "resolve_refund_failure"),
                                             ("instance_completed", None)]
    assert events(insurer, case, "task_completed")[-1]["payload"]["data"]["action"] == "cancel"
    assert handlers_run(insurer, case) == CHECKS + ["svc_pay_refund"]
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed")]
    assert insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    assert messages(insurer) == []
    assert_replays(insurer, case)
