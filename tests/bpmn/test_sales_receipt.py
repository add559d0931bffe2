"""The policy receipt and the end of the cooling-off period (the term helper's items 3 and 4).

Item 3: after issue the sale waits for the policyholder's signed receipt (回执); the agent records the day it was
signed, the cooling-off period (cooling_off.dmn) counts from that day, and a receipt not returned is chased by text.
Item 4: a cancellation asked for within the cooling-off period and still in progress when the period ends holds the
sale: the policy is not confirmed, and the sale ends cancelled once the request has refunded the premium less the
fee — or confirms the policy if the holder withdraws. Real diagrams, tables and handlers, the test clock across the
boundary; every test ends with a consistent replay. The clock starts on Monday 2026-11-02 09:00 UTC.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import ForbiddenError
from tasks.records import PolicyRecord
from tasks.termination_requests import TerminationRequestRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_decisions import instructions, refused
from tests.bpmn.test_claims_scenarios import assert_replays, handlers_run, last_events, open_keys, rows
from tests.bpmn.test_sales_scenarios import MED01_PREMIUM, notifications, pay_premium, receive, sale_at_terms, sold
from tests.bpmn.test_termination_controls import AGENT_ACCOUNT, cancellation
from tests.bpmn.test_termination_scenarios import (
    CANCELLATION_FEE,
    approval,
    assert_in_force,
    assert_terminated,
    confirm,
    refunds,
    request_termination,
)

REFUND = Decimal(str(MED01_PREMIUM)) - CANCELLATION_FEE


def issued(insurer: Insurer) -> tuple[int, PolicyRecord]:
    """A MED01 sale paid and issued, waiting for the signed receipt."""
    sale = sale_at_terms(insurer)
    assert pay_premium(insurer, sale) == "running"
    assert open_keys(insurer, sale) == ["record_receipt"]
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    return sale, policy


def the_policy(insurer: Insurer, sale: int) -> PolicyRecord:
    """The policy the sale issued, as its record has it now."""
    [policy] = rows(insurer, PolicyRecord, PolicyRecord.instance_id == sale)
    return policy


# --- item 3: the signed receipt starts the cooling-off period ----------------------------------------------

def test_the_policy_waits_for_the_signed_receipt_and_cooling_off_counts_from_the_day_it_was_signed(
        insurer: Insurer) -> None:
    sale, policy = issued(insurer)
    assert (policy.status, policy.documents_received_on, policy.cooling_off_end) == ("in_force", None, None)
    assert insurer.data(sale)["policy"]["cooling_off_until"] is None
    assert notifications(insurer) == ["policy_receipt_requested"]  # asked to sign; no cooling-off notice yet
    task = insurer.task(sale, "record_receipt")
    assert (task.candidate_role, task.assignee) == ("agent", "agent")  # the seller's
    insurer.wait(days=16)  # longer than the period: without a receipt it has not begun, nothing is confirmed
    assert open_keys(insurer, sale) == ["record_receipt"]
    assert "policy_confirmed" not in notifications(insurer)

    assert receive(insurer, sale, "2026-11-18") == "waiting"  # signed today, 16 days after issue

    policy = the_policy(insurer, sale)
    assert (policy.documents_received_on, policy.cooling_off_end) == (date(2026, 11, 18), date(2026, 12, 3))
    assert insurer.data(sale)["receipt"] == {
        "recorded": True, "reason": None, "receipt_date": "2026-11-18", "cooling_off_end": "2026-12-03",
        "cooling_off_until": "2026-12-03T16:00:00+00:00"}  # local midnight after the last day
    assert notifications(insurer)[-1] == "policy_issued"  # the letter states the receipt date and the period
    assert insurer.wait(days=15, hours=6).timers_fired == 0  # 2026-12-03 15:00 UTC: the last day is not over
    assert insurer.wait(hours=2).timers_fired == 1
    assert insurer.status(sale) == "completed"
    assert last_events(insurer, sale, 3) == [("timer_fired", "cooling_off_over"),
                                             ("handler_executed", "svc_confirm_policy"), ("instance_completed", None)]
    assert notifications(insurer)[-1] == "policy_confirmed"
    assert_replays(insurer, sale)


def test_an_unreturned_receipt_is_chased_by_text_three_times_a_week_apart(insurer: Insurer) -> None:
    sale, _policy = issued(insurer)

    fired = [insurer.wait(days=7, hours=1).timers_fired for _week in range(4)]

    assert fired == [1, 1, 1, 0]  # cooling_off.dmn receipt_reminders: R3/P7D
    assert notifications(insurer) == ["policy_receipt_requested"] + ["policy_receipt_reminder"] * 3
    assert open_keys(insurer, sale) == ["record_receipt"]  # the task stays with the agent
    assert handlers_run(insurer, sale)[-3:] == ["svc_remind_receipt"] * 3
    assert receive(insurer, sale, "2026-11-30") == "waiting"
    assert the_policy(insurer, sale).cooling_off_end == date(2026, 12, 15)
    assert_replays(insurer, sale)


def test_a_receipt_date_before_issue_or_after_today_is_refused_and_asked_for_again(insurer: Insurer) -> None:
    sale, _policy = issued(insurer)
    insurer.wait(days=3)
    assert refused(insurer, sale, "record_receipt", "agent", {"receipt_form": "paper"}) == {
        "receipt_signed_on": "is required"}
    with pytest.raises(ForbiddenError):  # the seller's task: another agent may not record it
        insurer.complete(sale, "record_receipt", "agent2", {"receipt_signed_on": "2026-11-05", "receipt_form": "paper"})

    for wrong, reason in (("2026-11-01", "before_issue"), ("2026-11-06", "in_future")):
        assert receive(insurer, sale, wrong) == "running"
        assert open_keys(insurer, sale) == ["record_receipt"]
        assert (insurer.data(sale)["receipt"]["recorded"], insurer.data(sale)["receipt"]["reason"]) == (False, reason)
        assert f"The date given was refused ({reason})" in instructions(insurer, sale, "record_receipt")
        policy = the_policy(insurer, sale)
        assert (policy.documents_received_on, policy.cooling_off_end) == (None, None)  # nothing changed

    assert receive(insurer, sale, "2026-11-05") == "waiting"
    assert the_policy(insurer, sale).cooling_off_end == date(2026, 11, 20)
    assert "policy_issued" in notifications(insurer)
    assert_replays(insurer, sale)


def test_a_policy_cancelled_before_its_receipt_is_refunded_in_full_and_the_sale_ends_cancelled(
        insurer: Insurer) -> None:
    sale, policy = issued(insurer)
    insurer.wait(days=2)
    case = request_termination(insurer, cancellation(policy.number, "2026-11-04"))
    assert insurer.data(case)["refund"]["in_cooling_off"] is True  # the period has not even begun
    confirm(insurer, case)
    assert insurer.complete(case, "approve_refund", "finance", approval()) == "completed"
    assert refunds(insurer, policy.number) == [(REFUND, "accepted")]
    assert_terminated(insurer, policy.number, "cooling_off_cancellation", date(2026, 11, 4))

    assert receive(insurer, sale, "2026-11-04") == "completed"  # the agent comes back with the receipt

    assert insurer.data(sale)["receipt"]["reason"] == "policy_terminated"
    assert last_events(insurer, sale, 3) == [("task_completed", "record_receipt"),
                                             ("handler_executed", "svc_record_receipt"), ("instance_completed", None)]
    assert the_policy(insurer, sale).cooling_off_end is None
    assert "policy_confirmed" not in notifications(insurer)
    assert_replays(insurer, sale)
    assert_replays(insurer, case)


# --- item 4: a cancellation in progress at the end of the period -------------------------------------------

def pending_at_the_end(insurer: Insurer) -> tuple[int, int, PolicyRecord]:
    """A policy sold (receipt 2026-11-02, cooling off until 2026-11-17) whose holder asked to cancel on
    2026-11-12 and confirmed the amount; finance had not approved it when the period ended."""
    sale = sale_at_terms(insurer)
    assert sold(insurer, sale) == "waiting"
    policy = the_policy(insurer, sale)
    insurer.wait(days=10)
    case = request_termination(insurer, cancellation(policy.number, "2026-11-12"))
    confirm(insurer, case)
    assert open_keys(insurer, case) == ["approve_refund"]

    assert insurer.wait(days=6).timers_fired == 1  # 2026-11-18 09:00 UTC: the period is over

    assert insurer.status(sale) == "waiting"
    assert insurer.data(sale)["confirmation"] == {"confirmed": False, "cancellation_pending": True}
    assert last_events(insurer, sale, 2) == [("timer_fired", "cooling_off_over"),
                                             ("handler_executed", "svc_confirm_policy")]
    assert "policy_confirmed" not in notifications(insurer)
    assert_in_force(insurer, policy.number)
    [request] = rows(insurer, TerminationRequestRecord)
    assert (request.status, request.in_cooling_off, request.request_date) == ("open", True, date(2026, 11, 12))
    return sale, case, policy


def test_a_cancellation_in_progress_when_cooling_off_ends_holds_the_sale_which_ends_cancelled(
        insurer: Insurer) -> None:
    sale, case, policy = pending_at_the_end(insurer)
    assert insurer.wait(days=1, hours=1).timers_fired == 1  # looked again: still in progress
    assert insurer.status(sale) == "waiting"

    assert insurer.complete(case, "approve_refund", "finance", approval()) == "completed"  # after the period
    assert insurer.wait(days=1, hours=1).timers_fired == 1

    assert insurer.status(sale) == "completed"
    assert last_events(insurer, sale, 3) == [("timer_fired", "recheck_cancellation"),
                                             ("handler_executed", "svc_confirm_policy"), ("instance_completed", None)]
    assert insurer.data(sale)["confirmation"] == {"confirmed": False, "cancellation_pending": False}
    assert refunds(insurer, policy.number) == [(REFUND, "accepted")]  # the full premium less the fee
    assert_terminated(insurer, policy.number, "cooling_off_cancellation", date(2026, 11, 12))
    assert rows(insurer, TerminationRequestRecord)[0].status == "terminated"
    assert "policy_confirmed" not in notifications(insurer)
    assert insurer.wait(days=5).timers_fired == 0
    assert_replays(insurer, sale)
    assert_replays(insurer, case)


def test_the_sellers_nudge_ends_a_held_sale_as_soon_as_the_cancellation_is_done(insurer: Insurer) -> None:
    sale, case, policy = pending_at_the_end(insurer)
    assert insurer.message(sale, "cancel_policy", {}) == "waiting"  # nudged too early: still in progress

    insurer.complete(case, "approve_refund", "finance", approval())
    status = insurer.message(sale, "cancel_policy", {})

    assert status == "completed"
    assert last_events(insurer, sale, 3) == [("message_delivered", None), ("handler_executed", "svc_confirm_policy"),
                                             ("instance_completed", None)]
    assert_terminated(insurer, policy.number, "cooling_off_cancellation", date(2026, 11, 12))
    assert_replays(insurer, sale)


def test_a_held_cancellation_the_holder_withdraws_after_the_period_confirms_the_policy(insurer: Insurer) -> None:
    sale, case, policy = pending_at_the_end(insurer)
    insurer.complete(case, "approve_refund", "finance", approval(480, "The holder asked for 480 only."))
    assert open_keys(insurer, case) == ["customer_confirmation"]  # the corrected amount is confirmed again
    insurer.complete(case, "customer_confirmation", "agent", {"customer_decision": "withdraw"})
    assert rows(insurer, TerminationRequestRecord)[0].status == "withdrawn"

    assert insurer.wait(days=1, hours=1).timers_fired == 1

    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["confirmation"] == {"confirmed": True, "cancellation_pending": False}
    assert notifications(insurer)[-1] == "policy_confirmed"
    assert_in_force(insurer, policy.number)
    assert refunds(insurer, policy.number) == []
    assert_replays(insurer, sale)
    assert_replays(insurer, case)


def test_a_refused_cancellation_does_not_hold_the_sale(insurer: Insurer) -> None:
    sale = sale_at_terms(insurer)
    sold(insurer, sale)
    policy = the_policy(insurer, sale)
    insurer.wait(days=3)
    form = {**cancellation(policy.number), "refund_to": "holder_account", "payee_account": AGENT_ACCOUNT}
    case = request_termination(insurer, form)  # an account not in the holder's name: refused
    assert insurer.status(case) == "completed"
    assert rows(insurer, TerminationRequestRecord)[0].status == "refused"

    assert insurer.wait(days=13).timers_fired == 1

    assert insurer.status(sale) == "completed"
    assert insurer.data(sale)["confirmation"] == {"confirmed": True, "cancellation_pending": False}
    assert_in_force(insurer, policy.number)
    assert_replays(insurer, sale)
