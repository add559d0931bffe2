"""Refunds and terminations are controlled (issue 12, items 5, 6, 7, 8, 16): a cooling-off cancellation goes
through the termination case; refunds go only to the premium's account or a verified account of the holder, never
to staff; finance corrects but never refuses; every end tells the holder; the holder confirms the amount with a
code texted to the registered phone, or withdraws; a second person on every refund. Real diagrams, tables and
handlers; each test ends with a consistent replay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ForbiddenError
from tasks.office_records import NotificationRecord
from tasks.payment_records import PaymentRecord
from tasks.records import PolicyRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_decisions import instructions, refused
from tests.bpmn.test_claims_scenarios import (
    assert_replays,
    handlers_run,
    last_events,
    messages,
    open_keys,
    policy,
    rows,
    tasks_opened,
)
from tests.bpmn.test_sales_scenarios import MED01_PREMIUM, id_number, payment, sale_at_terms, sold
from tests.bpmn.test_termination_scenarios import (
    BIG,
    CANCELLATION_FEE,
    CHECKS,
    LIFE,
    LIFE_HOLDER,
    REFUND_ACCOUNT,
    TO_TERMINATED,
    add_policy,
    approval,
    assert_in_force,
    assert_terminated,
    at_finance,
    big_policy,
    confirm,
    holder_account,
    identity_checked,
    quote_sent,
    refunds,
    request_form,
    request_termination,
    staff_account,
    terminated_through,
    texted_code,
)

PREMIUM_ACCOUNT = "6222020200155556666"  # the account the story's premium is paid from
AGENT_ACCOUNT = "6222020200177778888"  # the agent's own salary account


def refund_resolution(action: str, note: str) -> dict[str, str]:
    """Finance's form after a declined refund (the termination's own field names)."""
    return {"action": action, "note": note}


def sold_in_cooling_off(insurer: Insurer, paid_from: str = PREMIUM_ACCOUNT) -> tuple[int, PolicyRecord]:
    """A MED01 sale through sales.bpmn, the premium paid by transfer from `paid_from`, waiting in cooling-off."""
    sale = sale_at_terms(insurer)
    assert sold(insurer, sale, {**payment(), "payer_account": paid_from}) == "waiting"
    [issued] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    return sale, issued


def cancellation(number: str, request_date: str = "2026-11-05", request_type: str = "cancellation") -> dict[str, Any]:
    """The holder of the sales tests' policy (Sun Li) asks to end it, the refund to the premium's account."""
    return {"policy_number": number, "requester_id_number": id_number(), "request_type": request_type,
            "request_date": request_date, "refund_to": "premium_account"}


# --- item 5: a cooling-off cancellation goes through the controls -------------------------------------------

def test_a_cancel_policy_message_from_an_agent_pays_nothing_and_ends_nothing(insurer: Insurer) -> None:
    """The attack from the issue: an agent who never touched the sale delivers cancel_policy with his own account."""
    sale, issued = sold_in_cooling_off(insurer)
    insurer.wait(days=3)

    status = insurer.message(sale, "cancel_policy", {"request_date": "2026-11-05", "payee_account": AGENT_ACCOUNT})

    assert status == "waiting"  # the sale looked at its policy, found it in force and waits on
    assert last_events(insurer, sale, 2) == [("message_delivered", None), ("handler_executed", "svc_check_policy")]
    assert insurer.data(sale)["standing"]["in_force"] is True
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, issued.number)
    assert insurer.wait(days=13).timers_fired == 1  # the cooling-off period still ends as before
    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["confirmation"] == {"confirmed": True, "cancellation_pending": False}
    assert_replays(insurer, sale)


def test_a_cooling_off_cancellation_refunds_the_premium_less_the_fee_to_the_account_it_came_from(
        insurer: Insurer) -> None:
    sale, issued = sold_in_cooling_off(insurer)
    insurer.wait(days=3)

    case = request_termination(insurer, cancellation(issued.number))
    quoted = quote_sent(insurer)
    assert (quoted["refund"], quoted["basis"], quoted["cancellation_fee"]) == (
        MED01_PREMIUM - CANCELLATION_FEE, "premiums_paid_minus_fee", CANCELLATION_FEE)
    assert quoted["account_last4"] == PREMIUM_ACCOUNT[-4:]
    confirm(insurer, case)
    assert insurer.complete(case, "approve_refund", "finance", approval()) == "completed"

    refund = Decimal(str(MED01_PREMIUM)) - CANCELLATION_FEE
    assert refunds(insurer, issued.number) == [(refund, "accepted")]
    [paid] = rows(insurer, PaymentRecord)
    assert insurer.cipher.decrypt(paid.payee_account_enc) == PREMIUM_ACCOUNT
    assert insurer.data(case)["account_check"] == {"allowed": True, "source": "premium_account",
                                                   "account_last4": PREMIUM_ACCOUNT[-4:], "reasons": [],
                                                   "account_verification": None}
    assert_terminated(insurer, issued.number, "cooling_off_cancellation", date(2026, 11, 5))
    assert insurer.status(sale) == "waiting"
    # The sale ends when told to look (any cancel_policy message, whatever it carries): the record decides.
    assert insurer.message(sale, "cancel_policy", {}) == "completed"
    assert last_events(insurer, sale, 3) == [("message_delivered", None), ("handler_executed", "svc_check_policy"),
                                             ("instance_completed", None)]
    assert insurer.wait(days=20).timers_fired == 0
    assert len(insurer.gateway.paid) == 1
    assert_replays(insurer, case)
    assert_replays(insurer, sale)


def test_a_surrender_asked_for_within_cooling_off_is_refunded_as_a_cancellation(insurer: Insurer) -> None:
    _sale, issued = sold_in_cooling_off(insurer)

    case = terminated_through(insurer, cancellation(issued.number, "2026-11-02", request_type="surrender"))

    assert insurer.data(case)["refund"]["in_cooling_off"] is True
    assert refunds(insurer, issued.number) == [(Decimal(str(MED01_PREMIUM)) - CANCELLATION_FEE, "accepted")]
    assert_terminated(insurer, issued.number, "cooling_off_cancellation")
    assert_replays(insurer, case)


def test_the_sale_of_a_policy_cancelled_in_cooling_off_ends_cancelled_when_the_period_is_over(
        insurer: Insurer) -> None:
    sale, issued = sold_in_cooling_off(insurer)
    insurer.wait(days=3)
    case = request_termination(insurer, cancellation(issued.number))
    confirm(insurer, case)
    insurer.complete(case, "approve_refund", "finance", approval())

    assert insurer.wait(days=13).timers_fired == 1

    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["confirmation"] == {"confirmed": False, "cancellation_pending": False}
    assert last_events(insurer, sale, 3) == [("timer_fired", "cooling_off_over"),
                                             ("handler_executed", "svc_confirm_policy"), ("instance_completed", None)]
    assert "policy_confirmed" not in [template for template, _ in messages(insurer)]
    assert_replays(insurer, sale)


def test_a_declined_refund_is_paid_to_another_verified_account_of_the_holder(insurer: Insurer) -> None:
    holder_account(insurer, LIFE_HOLDER, "6217000011112222333")
    case = at_finance(insurer)
    insurer.gateway.script = ["decline"]
    insurer.complete(case, "approve_refund", "finance", approval())
    assert open_keys(insurer, case) == ["resolve_refund_failure"]

    # Finance cannot send it anywhere else: an account not verified as the holder's fails again.
    insurer.complete(case, "resolve_refund_failure", "finance",
                     {**refund_resolution("other_account", "Typed by the agent."),
                      "corrected_payee_account": AGENT_ACCOUNT})
    assert open_keys(insurer, case) == ["resolve_refund_failure"]
    assert insurer.data(case)["payment_error"]["message"] == "refund account refused: not_holders_account"
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed")]  # nothing was sent to it
    status = insurer.complete(case, "resolve_refund_failure", "finance",
                              {**refund_resolution("other_account",
                                                   "Holder's second account, verified at the counter."),
                               "corrected_payee_account": "6217000011112222333"})

    assert status == "completed"
    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "failed"), (Decimal("4560.00"), "accepted")]
    accepted = rows(insurer, PaymentRecord, PaymentRecord.status == "accepted")[0]
    assert insurer.cipher.decrypt(accepted.payee_account_enc) == "6217000011112222333"
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


# --- item 6: refunds go only to the holder -------------------------------------------------------------------

def test_a_refund_to_an_account_not_in_the_holders_name_is_refused_and_the_holder_told(insurer: Insurer) -> None:
    started = insurer.start("policy_termination", "agent")
    no_account = {k: v for k, v in request_form(account=AGENT_ACCOUNT).items() if k != "payee_account"}
    assert refused(insurer, started, "termination_request", "agent", no_account) == {
        "payee_account": "is required"}

    case = request_termination(insurer, request_form(account=AGENT_ACCOUNT))

    assert insurer.status(case) == "completed"
    assert handlers_run(insurer, case) == ["svc_verify_requester", "svc_compute_refund", "svc_check_refund_account",
                                           "svc_notify_account_refused", "svc_close_account_refused"]
    # not a verified account of the holder, and the bank knows no such account in the holder's name
    assert insurer.data(case)["account_check"]["reasons"] == ["no_such_account"]
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    [told] = rows(insurer, NotificationRecord)
    assert (told.template, told.params["reason"]) == ("termination_refused", "refund_account")
    assert_replays(insurer, case)


def test_a_premium_paid_from_an_agents_account_is_never_refunded_to_it(insurer: Insurer) -> None:
    staff_account(insurer, "agent", AGENT_ACCOUNT)
    _sale, issued = sold_in_cooling_off(insurer, paid_from=AGENT_ACCOUNT)

    case = request_termination(insurer, cancellation(issued.number))

    assert insurer.data(case)["account_check"]["reasons"] == ["staff_account"]
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, issued.number)
    assert_replays(insurer, case)


def test_a_refund_with_no_premium_account_on_record_is_refused(insurer: Insurer) -> None:
    case = request_termination(insurer, request_form(account=None))  # PDEMO0003 was not sold through a case

    assert insurer.data(case)["account_check"]["reasons"] == ["no_premium_account"]
    assert_replays(insurer, case)


def test_the_agent_cannot_confirm_without_the_code_texted_to_the_holder(insurer: Insurer) -> None:
    case = request_termination(insurer)
    right = texted_code(insurer)
    wrong = "000000" if right != "000000" else "111111"
    assert insurer.data(case)["quote"]["phone_last4"] == "5603"  # the holder's registered phone
    assert refused(insurer, case, "customer_confirmation", "agent", {"customer_decision": "confirm"}) == {
        "confirmation_code": "is required"}

    for _attempt in range(3):  # max_code_attempts in refund_rules.dmn
        confirm(insurer, case, code=wrong)

    assert insurer.status(case) == "completed"
    assert tasks_opened(insurer, case) == ["termination_request"] + ["customer_confirmation"] * 3
    assert last_events(insurer, case, 3) == [("handler_executed", "svc_notify_not_verified"),
                                             ("handler_executed", "svc_close_not_verified"),
                                             ("instance_completed", None)]
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    assert_in_force(insurer, LIFE)
    holder = policy(insurer, LIFE).holder_id
    assert messages(insurer) == [("termination_quote", holder), ("termination_refused", holder)]
    assert right not in str(insurer.data(case))  # only the code's keyed hash is in the case
    assert_replays(insurer, case)


def test_a_mistyped_code_may_be_given_again(insurer: Insurer) -> None:
    case = request_termination(insurer)
    right = texted_code(insurer)
    confirm(insurer, case, code="000000" if right != "000000" else "111111")
    assert open_keys(insurer, case) == ["customer_confirmation"]

    confirm(insurer, case, code=right)

    assert open_keys(insurer, case) == ["approve_refund"]
    assert insurer.data(case)["code_attempts"] == 2
    assert_replays(insurer, case)


def test_a_large_refund_needs_real_name_re_verification_by_someone_other_than_the_agent(insurer: Insurer) -> None:
    big_policy(insurer)  # agent.compliance (tests/bpmn/conftest.py STAFF) holds both roles
    case = request_termination(insurer, request_form(BIG, requester=4), agent="agent.compliance")
    task = insurer.task(case, "realname_verification")
    assert (task.candidate_role, task.separate_from) == ("compliance", "termination_request")
    assert "above 20000 CNY" in instructions(insurer, case, "realname_verification")
    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "realname_verification", "agent.compliance", identity_checked())

    insurer.complete(case, "realname_verification", "compliance", identity_checked(confirmed=False))

    assert insurer.status(case) == "completed"
    assert last_events(insurer, case, 4) == [("task_completed", "realname_verification"),
                                             ("handler_executed", "svc_notify_not_verified"),
                                             ("handler_executed", "svc_close_not_verified"),
                                             ("instance_completed", None)]
    assert rows(insurer, PaymentRecord) == []
    assert_in_force(insurer, BIG)
    assert messages(insurer) == [("termination_refused", policy(insurer, BIG).holder_id)]
    assert_replays(insurer, case)


# --- item 7: finance corrects, never refuses; every end tells the holder -------------------------------------

def test_finance_may_correct_a_surrender_with_a_reason_and_the_holder_confirms_the_new_amount(
        insurer: Insurer) -> None:
    case = at_finance(insurer)
    assert refused(insurer, case, "approve_refund", "finance", {"refund_decision": "refuse"})
    assert refused(insurer, case, "approve_refund", "finance", {"approved": False, "comment": "No."})
    assert refused(insurer, case, "approve_refund", "finance", {"refund_decision": "correct",
                                                                     "corrected_amount": 4500})

    insurer.complete(case, "approve_refund", "finance", approval(4500, "A policy loan of 60 CNY is outstanding."))

    assert open_keys(insurer, case) == ["customer_confirmation"]
    assert quote_sent(insurer)["refund"] == 4500
    shown = instructions(insurer, case, "customer_confirmation")
    assert "4500" in shown and "A policy loan of 60 CNY is outstanding." in shown
    confirm(insurer, case)
    assert insurer.complete(case, "approve_refund", "finance2", approval()) == "completed"

    assert tasks_opened(insurer, case) == ["termination_request", "customer_confirmation", "approve_refund",
                                           "customer_confirmation", "approve_refund"]
    assert refunds(insurer, LIFE) == [(Decimal("4500.00"), "accepted")]
    assert_terminated(insurer, LIFE, "surrender")
    assert_replays(insurer, case)


@pytest.mark.parametrize("end", ["not_verified", "account_refused", "withdrawn", "payment_cancelled", "terminated"])
def test_every_end_of_a_request_tells_the_holder(insurer: Insurer, end: str) -> None:
    if end == "not_verified":
        case = request_termination(insurer, request_form(requester=0))
    elif end == "account_refused":
        case = request_termination(insurer, request_form(account=AGENT_ACCOUNT))
    elif end == "withdrawn":
        case = request_termination(insurer)
        insurer.complete(case, "customer_confirmation", "agent", {"customer_decision": "withdraw"})
    elif end == "payment_cancelled":
        case = at_finance(insurer)
        insurer.gateway.script = ["decline"]
        insurer.complete(case, "approve_refund", "finance", approval())
        insurer.complete(case, "resolve_refund_failure", "finance", refund_resolution("cancel", "Holder withdrew."))
    else:
        case = terminated_through(insurer)

    assert insurer.status(case) == "completed"
    holder = policy(insurer, LIFE).holder_id
    last = {"not_verified": "termination_refused", "account_refused": "termination_refused",
            "withdrawn": "termination_withdrawn", "payment_cancelled": "termination_withdrawn",
            "terminated": "policy_terminated"}[end]
    assert messages(insurer)[-1] == (last, holder)
    assert_replays(insurer, case)


# --- item 8: the holder sees and confirms the amount, or withdraws ----------------------------------------

def test_a_year_one_life20_surrender_shows_nothing_is_refunded_and_the_holder_may_withdraw(insurer: Insurer) -> None:
    add_policy(insurer, "PTEST00003", LIFE_HOLDER, "LIFE20", date(2026, 3, 1), annual_premium="2280",
               premiums_paid="2280", term_years=20)
    case = request_termination(insurer, request_form("PTEST00003"))

    quoted = quote_sent(insurer)
    assert (quoted["refund"], quoted["basis"], quoted["policy_year"], quoted["premiums_paid"]) == (
        0.0, "surrender_value", 1, 2280.0)
    shown = instructions(insurer, case, "customer_confirmation")
    assert "the refund is 0.00 CNY" in shown and "policy year 1" in shown and "surrender value" in shown
    insurer.complete(case, "customer_confirmation", "agent",
                     {"customer_decision": "withdraw", "withdrawal_note": "Keeps the cover after all."})

    assert insurer.status(case) == "completed"
    assert last_events(insurer, case, 4) == [("task_completed", "customer_confirmation"),
                                             ("handler_executed", "svc_notify_withdrawn"),
                                             ("handler_executed", "svc_close_withdrawn"),
                                             ("instance_completed", None)]
    assert_in_force(insurer, "PTEST00003")
    assert rows(insurer, PaymentRecord) == []
    assert [t for t, _ in messages(insurer)] == ["termination_quote", "termination_withdrawn"]
    assert_replays(insurer, case)


def test_a_confirmed_zero_surrender_ends_the_policy_without_a_payment(insurer: Insurer) -> None:
    add_policy(insurer, "PTEST00003", LIFE_HOLDER, "LIFE20", date(2026, 3, 1), annual_premium="2280",
               premiums_paid="2280", term_years=20)

    case = terminated_through(insurer, request_form("PTEST00003"))

    assert insurer.data(case)["refund_payment"]["status"] == "nothing_to_pay"
    assert handlers_run(insurer, case) == CHECKS + TO_TERMINATED
    assert insurer.gateway.paid == {}
    assert_terminated(insurer, "PTEST00003", "surrender")
    assert_replays(insurer, case)


# --- item 16: a second person on every refund ----------------------------------------------------------------

def test_even_a_small_refund_waits_for_finance_and_the_agent_may_not_approve_it(insurer: Insurer) -> None:
    case = at_finance(insurer)  # 4,560: below any limit the old diagram had
    task = insurer.task(case, "approve_refund")
    assert task.candidate_role == "finance"
    assert rows(insurer, PaymentRecord) == []
    with pytest.raises(ForbiddenError, match="needs role finance"):
        insurer.complete(case, "approve_refund", "agent", approval())

    assert insurer.complete(case, "approve_refund", "finance", approval()) == "completed"

    assert refunds(insurer, LIFE) == [(Decimal("4560.00"), "accepted")]
    assert_replays(insurer, case)


def test_a_request_for_an_unknown_policy_ends_with_nobody_to_tell(insurer: Insurer) -> None:
    case = request_termination(insurer, request_form("PNOSUCH0001", account=REFUND_ACCOUNT))

    assert insurer.status(case) == "completed"
    assert last_events(insurer, case, 2) == [("handler_executed", "svc_verify_requester"),
                                             ("instance_completed", None)]
    assert messages(insurer) == [] and rows(insurer, PaymentRecord) == []
    assert_replays(insurer, case)
