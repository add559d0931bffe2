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
from engine.identity.users import add_user
from services.demo.data import demo_identity
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord
from tasks.records import CustomerRecord, PolicyRecord
from tasks.refund_accounts import HolderAccountRecord, StaffAccountRecord
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
    rows,
    tasks_opened,
)

REFUND_ACCOUNT = "6228480011223344556"  # verified as the policyholder's own (holder_account() registers it)
CANCELLATION_FEE = 10  # refund_rules.dmn: at most 10 CNY may be kept on a cooling-off cancellation
REVERIFY_ABOVE = 20_000  # refund_rules.dmn: real-name re-verification above this refund
CHECKS = ["svc_verify_requester", "svc_compute_refund", "svc_check_refund_account", "svc_send_quote",
          "svc_check_code"]
TO_TERMINATED = ["svc_pay_refund", "svc_terminate_policy"]
# PDEMO0003: LIFE20 of Zhang Qiang (demo customer 2).
LIFE = "PDEMO0003"
LIFE_HOLDER = 2
# PDEMO0003 has been in force 1,190 days: policy year 4, four annual premiums of 2,280 paid, and the
# surrender table gives 50 % of the premiums paid in year 4.
LIFE_PREMIUMS_PAID = 9120.0
LIFE_SURRENDER_VALUE = 4560.0
# A unit-linked policy with five years of premiums, made by big_policy(): its surrender value needs a real-name
# re-verification.
BIG = "PTEST00001"
BIG_SURRENDER_VALUE = 184_000.0  # policy year 5: 92 % of 200,000


def refund_resolution(action: str, note: str) -> dict[str, str]:
    """Finance's form after a declined refund (the termination's own field names)."""
    return {"action": action, "note": note}


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


def holder_account(insurer: Insurer, customer: int, account: str = REFUND_ACCOUNT) -> None:
    """Register `account` as verified to be in the name of the demo customer at index `customer`."""
    digest = insurer.cipher.lookup_hash(demo_identity(customer)[1])
    with insurer.rt.session_factory() as session, session.begin():
        person = session.scalars(select(CustomerRecord).where(CustomerRecord.id_number_hash == digest)).one()
        session.add(HolderAccountRecord(customer_id=person.id, account_enc=insurer.cipher.encrypt(account),
                                        account_hash=insurer.cipher.lookup_hash(account), verified_by="counter",
                                        verified_at=insurer.clock()))


def staff_account(insurer: Insurer, username: str, account: str) -> None:
    """Register a bank account to a member of staff."""
    with insurer.rt.session_factory() as session, session.begin():
        session.add(StaffAccountRecord(username=username, account_enc=insurer.cipher.encrypt(account),
                                       account_hash=insurer.cipher.lookup_hash(account), registered_at=insurer.clock()))


# --- form data ----------------------------------------------------------------------------------

def request_form(policy_number: str = LIFE, requester: int = LIFE_HOLDER, request_type: str = "surrender",
                 request_date: str = "2026-11-02", account: str | None = REFUND_ACCOUNT) -> dict[str, Any]:
    """The agent's record of the request, made by the demo customer at index `requester`: the refund to the
    given account in the holder's name, or (account None) back to the account the premium came from."""
    form = {"policy_number": policy_number, "requester_id_number": demo_identity(requester)[1],
            "request_type": request_type, "request_date": request_date}
    if account is None:
        return {**form, "refund_to": "premium_account"}
    return {**form, "refund_to": "holder_account", "payee_account": account}


def approval(corrected: float | None = None, reason: str = "") -> dict[str, Any]:
    """Finance's refund approval form: approve, or correct the amount with a reason (never refuse)."""
    if corrected is None:
        return {"refund_decision": "approve"}
    return {"refund_decision": "correct", "corrected_amount": corrected, "correction_reason": reason}


def decision(approved: bool = True) -> dict[str, Any]:
    """Finance approves the amount (kept for the crash tests: finance can no longer refuse)."""
    assert approved, "finance may correct a refund, never refuse it"
    return approval()


# --- driving and reading ------------------------------------------------------------------------

def texted_code(insurer: Insurer) -> str:
    """The one-time code last texted to a policyholder with a refund quote."""
    [*_, quote] = rows(insurer, NotificationRecord, NotificationRecord.template == "termination_quote")
    return insurer.cipher.reveal("notification", quote.params)["one_time_code"]


def quote_sent(insurer: Insurer) -> dict[str, Any]:
    """The params of the last refund quote texted to a policyholder."""
    [*_, quote] = rows(insurer, NotificationRecord, NotificationRecord.template == "termination_quote")
    return insurer.cipher.reveal("notification", quote.params)


def request_termination(insurer: Insurer, form: dict[str, Any] | None = None, agent: str = "agent") -> int:
    """A termination case with the request recorded (the refund account registered as the holder's); the id."""
    form = form or request_form()
    if form.get("refund_to") == "holder_account" and form["payee_account"] == REFUND_ACCOUNT:
        holder_account(insurer, _holder_index(insurer, form["policy_number"]))
    case = insurer.start("policy_termination", agent)
    insurer.complete(case, "termination_request", agent, form)
    return case


def confirm(insurer: Insurer, case: int, agent: str = "agent", code: str | None = None) -> str:
    """The holder confirms the amount with the texted code, recorded by the agent; the status after it."""
    return insurer.complete(case, "customer_confirmation", agent,
                            {"customer_decision": "confirm", "confirmation_code": code or texted_code(insurer)})


def at_finance(insurer: Insurer, form: dict[str, Any] | None = None, agent: str = "agent") -> int:
    """A request recorded and confirmed by the holder, waiting for finance's approval."""
    case = request_termination(insurer, form, agent)
    confirm(insurer, case, agent)
    assert open_keys(insurer, case) == ["approve_refund"]
    return case


def terminated_through(insurer: Insurer, form: dict[str, Any] | None = None, finance: str = "finance") -> int:
    """A request recorded, confirmed and approved: the refund paid and the policy ended (or failed)."""
    case = at_finance(insurer, form)
    insurer.complete(case, "approve_refund", finance, approval())
    return case


def refund_at_approval(insurer: Insurer, agent: str = "agent") -> int:
    """A surrender above the re-verification threshold, verified again and confirmed, waiting for finance."""
    big_policy(insurer)
    case = request_termination(insurer, request_form(BIG, requester=4), agent)
    assert open_keys(insurer, case) == ["realname_verification"]
    insurer.complete(case, "realname_verification", "compliance", identity_checked())
    confirm(insurer, case, agent)
    assert open_keys(insurer, case) == ["approve_refund"]
    task = insurer.task(case, "approve_refund")
    assert task.candidate_role == "finance"
    assert task.separate_from == "termination_request customer_confirmation realname_verification"
    assert insurer.data(case)["refund"]["refund"] == BIG_SURRENDER_VALUE
    return case


def identity_checked(confirmed: bool = True) -> dict[str, Any]:
    """The real-name re-verification form."""
    return {"identity_confirmed": confirmed, "verification_method": "counter",
            "verification_note": "Original ID card checked against the holder at the Hangzhou counter."}


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


def _holder_index(insurer: Insurer, number: str) -> int:
    """The demo customer index of a policy's holder."""
    found = rows(insurer, PolicyRecord, PolicyRecord.number == number)
    if not found:
        return LIFE_HOLDER
    with insurer.rt.session_factory() as session:
        holder = session.get(CustomerRecord, found[0].holder_id)
        digest = holder.id_number_hash
    return next(i for i in range(6) if insurer.cipher.lookup_hash(demo_identity(i)[1]) == digest)


# --- the straight path --------------------------------------------------------------------------

def test_surrender_after_cooling_off_pays_the_surrender_value_once_and_terminates(insurer: Insurer) -> None:
    case = terminated_through(insurer)

    assert insurer.status(case) == "completed"
    assert tasks_opened(insurer, case) == ["termination_request", "customer_confirmation", "approve_refund"]
    assert handlers_run(insurer, case) == CHECKS + TO_TERMINATED
    assert last_events(insurer, case, 2) == [("handler_executed", "svc_terminate_policy"),
                                             ("instance_completed", None)]
    data = insurer.data(case)
    assert (data["cancellation_fee"], data["reverify_above"]) == (CANCELLATION_FEE, REVERIFY_ABOVE)
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

    case = terminated_through(insurer, request_form("PTEST00002", requester=0, request_type="cancellation"))

    assert insurer.status(case) == "completed"
    assert handlers_run(insurer, case) == CHECKS + TO_TERMINATED
    data = insurer.data(case)
    assert data["cancellation_fee"] == CANCELLATION_FEE
    assert data["refund"] == {"refund": Decimal("481.40"), "in_cooling_off": True, "premiums_paid": Decimal("491.40"),
                              "policy_year": 1}
    assert data["termination"] == {"terminated": True, "reason": "cooling_off_cancellation"}
    assert refunds(insurer, "PTEST00002") == [(Decimal("481.40"), "accepted")]
    assert_terminated(insurer, "PTEST00002", "cooling_off_cancellation")
    assert_in_force(insurer, LIFE)
    assert_replays(insurer, case)


def test_surrender_tells_the_policyholder_the_quote_and_the_termination(insurer: Insurer) -> None:
    terminated_through(insurer)

    holder = policy(insurer, LIFE).holder_id
    assert messages(insurer) == [("termination_quote", holder), ("policy_terminated", holder)]


# --- requester ----------------------------------------------------------------------------------

def test_request_not_made_by_the_policyholder_ends_not_verified_and_the_holder_is_told(insurer: Insurer) -> None:
    case = request_termination(insurer, request_form(requester=0))  # Li Hua asks to surrender Zhang Qiang's policy

    assert insurer.status(case) == "completed"
    assert handlers_run(insurer, case) == ["svc_verify_requester", "svc_notify_not_verified", "svc_close_not_verified"]
    assert last_events(insurer, case, 5) == [("task_completed", "termination_request"),
                                             ("handler_executed", "svc_verify_requester"),
                                             ("handler_executed", "svc_notify_not_verified"),
                                             ("handler_executed", "svc_close_not_verified"),
                                             ("instance_completed", None)]
    requester = insurer.data(case)["requester"]
    assert (requester["verified"], requester["reasons"]) == (False, ["not_policyholder"])
    assert "refund" not in insurer.data(case)
    assert business_key(insurer, case) is None
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    # Someone asked to end the policy and was refused: its holder hears of it (it may not have been them).
    assert messages(insurer) == [("termination_refused", policy(insurer, LIFE).holder_id)]
    assert_replays(insurer, case)


# --- approval -----------------------------------------------------------------------------------

def test_refund_above_the_threshold_is_paid_after_re_verification_and_finance_approves(insurer: Insurer) -> None:
    case = refund_at_approval(insurer)
    with pytest.raises(ForbiddenError, match="needs role finance"):  # the agent who recorded it has no such right
        insurer.complete(case, "approve_refund", "agent", approval())
    assert refunds(insurer, BIG) == []

    assert insurer.complete(case, "approve_refund", "finance", approval()) == "completed"

    assert tasks_opened(insurer, case) == ["termination_request", "realname_verification", "customer_confirmation",
                                           "approve_refund"]
    assert performers(insurer, case) == [("termination_request", "agent"), ("realname_verification", "compliance"),
                                         ("customer_confirmation", "agent"), ("approve_refund", "finance")]
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
        insurer.complete(case, "approve_refund", "agent.finance", approval())
    assert open_keys(insurer, case) == ["approve_refund"]
    assert refunds(insurer, BIG) == []

    assert insurer.complete(case, "approve_refund", "finance2", approval()) == "completed"

    assert performers(insurer, case)[-1] == ("approve_refund", "finance2")
    assert refunds(insurer, BIG) == [(Decimal("184000.00"), "accepted")]
    assert_terminated(insurer, BIG, "surrender")
    assert_replays(insurer, case)


# --- refund payment -----------------------------------------------------------------------------

def refund_declined(insurer: Insurer) -> int:
    """A surrender whose refund the bank declined, waiting for finance."""
    case = at_finance(insurer)
    insurer.gateway.script = ["decline"]
    insurer.complete(case, "approve_refund", "finance", approval())
    assert open_keys(insurer, case) == ["resolve_refund_failure"]
    assert insurer.task(case, "resolve_refund_failure").candidate_role == "finance"
    assert insurer.data(case)["payment_error"]["message"] == "account closed"
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed")]
    assert_in_force(insurer, LIFE)
    return case


def test_refund_payment_failure_retried_by_finance_pays_once_and_terminates(insurer: Insurer) -> None:
    case = refund_declined(insurer)
    with pytest.raises(ForbiddenError, match="needs role finance"):
        insurer.complete(case, "resolve_refund_failure", "agent", refund_resolution("retry", "Retry."))

    status = insurer.complete(case, "resolve_refund_failure", "finance",
                              refund_resolution("retry", "Holder reactivated the account."))

    assert status == "completed"
    assert tasks_opened(insurer, case) == ["termination_request", "customer_confirmation", "approve_refund",
                                           "resolve_refund_failure"]
    assert handlers_run(insurer, case) == CHECKS + ["svc_pay_refund"] + TO_TERMINATED
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed"), (Decimal("4560.00"), "accepted")]
    assert len(insurer.gateway.paid) == 1
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


def test_refund_payment_failure_cancelled_by_finance_keeps_the_policy_in_force_and_tells_the_holder(
        insurer: Insurer) -> None:
    case = refund_declined(insurer)

    status = insurer.complete(case, "resolve_refund_failure", "finance",
                              refund_resolution("cancel", "Holder withdrew the request."))

    assert status == "completed"
    assert last_events(insurer, case, 4) == [("task_completed", "resolve_refund_failure"),
                                             ("handler_executed", "svc_notify_withdrawn"),
                                             ("handler_executed", "svc_close_withdrawn"),
                                             ("instance_completed", None)]
    assert events(insurer, case, "task_completed")[-1]["payload"]["data"]["action"] == "cancel"
    assert handlers_run(insurer, case) == CHECKS + ["svc_pay_refund", "svc_notify_withdrawn", "svc_close_withdrawn"]
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed")]
    assert insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    holder = policy(insurer, LIFE).holder_id
    assert messages(insurer) == [("termination_quote", holder), ("termination_withdrawn", holder)]
    assert_replays(insurer, case)
