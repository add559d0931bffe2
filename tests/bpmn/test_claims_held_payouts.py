"""A payout held for a watch-list match has a next step (issue 12, items 13, 16 and 19): a second compliance
officer releases it once the authorities have answered, or closes the claim unpaid with a denial notice that never
tips off; while it waits, compliance is reminded every 30 days.

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
from tasks.records import ClaimRecord
from tests.bpmn.conftest import Insurer
from tests.bpmn.test_claims_controls import assert_no_tipping_off, claim_hit_at_payout, sent
from tests.bpmn.test_claims_decisions import (
    DENIED,
    instructions,
    letter,
    public_status,
    refused,
)
from tests.bpmn.test_claims_overrides import submitted
from tests.bpmn.test_claims_scenarios import (
    assert_replays,
    claim_payments,
    events,
    handlers_run,
    messages,
    open_keys,
    rows,
    the_claim,
    timeline,
)

STR_REFERENCE = "STR-2026-0091"


def held_payout(insurer: Insurer) -> int:
    """A payout held after compliance confirmed the watch-list match and reported it."""
    case = claim_hit_at_payout(insurer)
    insurer.complete(case, "review_payout_screening", "compliance", {
        "screening_decision": "confirmed_match", "screening_note": "Same account as the 2026-10 alert.",
        "str_reference": STR_REFERENCE})
    assert open_keys(insurer, case) == ["decide_held_payout"]
    return case


def held_decision(decision: str, note: str = "The authorities raised no objection in their answer of 2026-12-01.",
                  **fields: Any) -> dict[str, Any]:
    """Compliance's form on a held payout."""
    return {"held_payout_decision": decision, "held_payout_note": note, **fields}


def test_a_held_payout_waits_for_a_second_compliance_officer_who_releases_it(insurer: Insurer) -> None:
    case = held_payout(insurer)
    task = insurer.task(case, "decide_held_payout")
    assert (task.candidate_role, task.separate_from) == ("compliance", "review_payout_screening")
    assert STR_REFERENCE in instructions(insurer, case, "decide_held_payout")
    claim = the_claim(insurer, case)
    assert claim.status == "under_review" and public_status(insurer, claim)[-1] == "under_review"
    with pytest.raises(ForbiddenError, match="four-eyes"):
        insurer.complete(case, "decide_held_payout", "compliance", held_decision("release"))
    with pytest.raises(ForbiddenError, match="needs role compliance"):
        insurer.complete(case, "decide_held_payout", "finance", held_decision("release"))

    assert insurer.complete(case, "decide_held_payout", "compliance2", held_decision("release")) == "completed"

    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_paid"]
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount) == ("paid", Decimal("7500.00"))
    assert claim_payments(insurer, claim) == [("claim_payout", Decimal("7500.00"), "accepted")]
    assert timeline(insurer, claim)[-3:] == ["approved", "under_review", "paid"]
    [decided] = submitted(insurer, case, "decide_held_payout")
    assert (decided["actor"], decided["held_payout_decision"]) == ("compliance2", "release")
    assert "no objection" in decided["held_payout_note"]
    assert messages(insurer) == [("claim_acknowledged", claim.claimant_id), ("claim_paid", claim.claimant_id)]
    assert_no_tipping_off(insurer, claim)
    assert_replays(insurer, case)


@pytest.mark.parametrize(("code", "basis"), [
    ("payment_restricted", "A legal restriction on this payment prevents us from making it."),
    ("identity_unverified", "We could not verify the claimant's identity"),
])
def test_compliance_closes_a_held_claim_unpaid_with_a_notice_that_does_not_tip_off(
        insurer: Insurer, code: str, basis: str) -> None:
    case = held_payout(insurer)
    reason = "We are unable to make this payment. You may contact our service counter for help."

    insurer.complete(case, "decide_held_payout", "compliance2",
                     held_decision("deny", "Freeze order received.", denial_code=code, denial_reason=reason))

    assert events(insurer, case, "instance_completed")[0]["payload"]["end_events"] == ["end_denied"]
    assert handlers_run(insurer, case)[-2:] == DENIED
    claim = the_claim(insurer, case)
    assert (claim.status, claim.paid_amount, claim.rejection_reason) == ("rejected", None, f"{code}: {reason}")
    assert public_status(insurer, claim)[-1] == "rejected"
    assert rows(insurer, PaymentRecord) == [] and insurer.gateway.paid == {}
    [notice] = sent(insurer, "claim_denied")
    assert (notice.channel, notice.customer_id) == ("letter", claim.claimant_id)
    assert basis in letter(insurer, notice) and reason in letter(insurer, notice)
    assert letter(insurer, notice, "zh")
    assert_no_tipping_off(insurer, claim)
    assert_replays(insurer, case)


def test_a_held_payout_reminds_compliance_every_30_days_until_it_is_decided(insurer: Insurer) -> None:
    case = held_payout(insurer)
    assert insurer.wait(days=29).timers_fired == 0

    assert insurer.wait(days=1, minutes=1).timers_fired == 1

    assert open_keys(insurer, case) == ["decide_held_payout", "remind_held_payout"]
    assert insurer.task(case, "remind_held_payout").candidate_role == "compliance"
    assert STR_REFERENCE in instructions(insurer, case, "remind_held_payout")
    insurer.complete(case, "remind_held_payout", "compliance", {"held_reminder_note": "Asked; answer due in 2 weeks."})
    assert open_keys(insurer, case) == ["decide_held_payout"]
    assert insurer.wait(days=30).timers_fired == 1  # re-armed: reminded again
    assert open_keys(insurer, case) == ["decide_held_payout", "remind_held_payout"]
    assert [e["task"] for e in events(insurer, case, "timer_fired")] == ["held_payout_reminder"] * 2

    insurer.complete(case, "decide_held_payout", "compliance2", held_decision("release"))

    assert the_claim(insurer, case).status == "paid"
    assert insurer.wait(days=31).timers_fired == 0  # decided: no more reminders
    assert_replays(insurer, case)


@pytest.mark.parametrize(("data", "fields"), [
    ({}, {"held_payout_decision", "held_payout_note"}),
    (held_decision("deny"), {"denial_code", "denial_reason"}),
    (held_decision("deny", denial_code="fraud", denial_reason="x"), {"denial_code"}),
])
def test_an_incomplete_decision_on_a_held_payout_is_refused_with_the_fields_named(
        insurer: Insurer, data: dict[str, Any], fields: set[str]) -> None:
    case = held_payout(insurer)

    assert set(refused(insurer, case, "decide_held_payout", "compliance2", data)) == fields

    claim = the_claim(insurer, case)
    assert claim.status == "under_review" and rows(insurer, ClaimRecord, ClaimRecord.status == "rejected") == []
    assert_replays(insurer, case)
