"""Termination handlers: who may end a policy, what it refunds, ending it, and a claim's effect on the cover."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from engine.registry import HandlerContext

from ..beneficiaries import still_owed
from ..common import age_on, as_date, business_date, money, services
from ..records import ClaimRecord, CustomerRecord, PolicyRecord, SurrenderValueRecord
from ..termination_requests import close_request, open_request
from ..timeline import queue_notification
from .sales_receipt import receipt_pending

TERMINATION_REASONS = ("death", "total_loss", "exhausted", "cooling_off_cancellation", "surrender", "rescinded")


def verify_requester(ctx: HandlerContext, policy_number: str, requester_id_number: str) -> dict[str, Any]:
    """Check that a surrender or cancellation request comes from the holder of a policy in force."""
    session = ctx.session
    policy = session.scalar(select(PolicyRecord).where(PolicyRecord.number == policy_number.strip()))
    if policy is None:
        return {"verified": False, "policy_id": None, "customer_id": None, "reasons": ["policy_not_found"]}
    reasons = []
    if policy.status != "in_force" or policy.end_date < business_date(ctx):
        reasons.append("policy_not_in_force")
    holder = session.get(CustomerRecord, policy.holder_id)
    if holder is None or holder.id_number_hash != services(ctx).cipher.lookup_hash(requester_id_number):
        reasons.append("not_policyholder")
    return {"verified": not reasons, "policy_id": policy.id, "customer_id": policy.holder_id, "reasons": reasons}


def compute_refund(ctx: HandlerContext, policy_id: int, request_date: str, cancellation_fee: float,
                   track_request: bool = False) -> dict[str, Any]:
    """Within cooling-off: premiums paid minus the fee; after it: the surrender value of the policy year. With
    `track_request` (diagrams that end every request with `terminate_policy` or `close_termination_request`) the
    request is put on record until it ends: a cancellation in progress holds the sale's confirmation."""
    policy = _policy(ctx, policy_id)
    requested = as_date(request_date)
    paid = policy.premiums_paid or Decimal("0")
    # Policy year 1 runs from the start date to the day before its first anniversary.
    year = max(age_on(policy.start_date, requested) + 1, 1)
    # Before the holder has signed the receipt the period has not even begun: a cancellation is refunded in full.
    in_cooling_off = receipt_pending(policy) or (policy.cooling_off_end is not None
                                                 and requested <= policy.cooling_off_end)
    if in_cooling_off:
        refund = max(paid - money(cancellation_fee), Decimal("0"))
    else:
        refund = money(paid * _surrender_percent(ctx, policy.product_code, year) / 100)
    if track_request:
        open_request(ctx.session, policy, ctx.instance_id, requested, in_cooling_off, ctx.now())
    return {"refund": money(refund), "in_cooling_off": in_cooling_off, "premiums_paid": money(paid),
            "policy_year": year}


def terminate_policy(ctx: HandlerContext, policy_id: int, reason: str, effective_date: str) -> dict[str, Any]:
    """End a policy with a reason and date, once; the holder is told."""
    policy = _policy(ctx, policy_id)
    _terminate(ctx, policy, reason, as_date(effective_date))
    close_request(ctx.session, ctx.instance_id, "terminated", ctx.now())
    return {"terminated": True, "reason": policy.terminated_reason}


def terminate_liability(ctx: HandlerContext, claim_id: int, paid_amount: float, total_loss: bool) -> dict[str, Any]:
    """After a payout: end the policy on death, total loss or exhausted cover, else reduce the remaining cover."""
    session = ctx.session
    claim = session.get(ClaimRecord, int(claim_id))
    if claim is None:
        raise LookupError(f"no claim with id {claim_id}")
    policy = _policy(ctx, claim.policy_id)
    if claim.paid_amount is None:
        # Paid outside pay_claim (finance resolved a failed payment by hand): the diagram's amount
        # is what was paid. When pay_claim recorded it, the recorded payment wins.
        claim.paid_amount = money(paid_amount)
        session.flush()
    # Idempotent by construction, without a marker: the remaining cover is recomputed as the sum
    # insured minus everything paid on the policy's claims, so applying the same claim again (a
    # retry, a replayed step) yields the same figure instead of reducing it twice.
    paid_on_policy = session.scalar(select(func.coalesce(func.sum(ClaimRecord.paid_amount), 0))
                                    .where(ClaimRecord.policy_id == policy.id))
    remaining = max(policy.sum_insured - money(paid_on_policy or 0), Decimal("0"))
    reason = ("death" if claim.claim_type == "death" else "total_loss" if total_loss
              else "exhausted" if remaining <= 0 else None)
    if reason is None and policy.status != "terminated":
        policy.remaining_sum_insured = remaining
        session.flush()
        return {"policy_terminated": False, "remaining_sum_insured": money(remaining)}
    if reason is not None:
        _terminate(ctx, policy, reason, claim.incident_date)
    # A terminated policy carries no more liability, whatever was left of the sum insured — except, after a
    # death, the shares of the death benefit still owed to named beneficiaries, who each claim their own.
    owed = min(remaining, still_owed(session, policy)) if reason == "death" else Decimal("0")
    policy.remaining_sum_insured = money(owed)
    session.flush()
    return {"policy_terminated": True, "remaining_sum_insured": money(policy.remaining_sum_insured)}


def _policy(ctx: HandlerContext, policy_id: int) -> PolicyRecord:
    policy = ctx.session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    return policy


def _surrender_percent(ctx: HandlerContext, product_code: str, year: int) -> Decimal:
    """The surrender table's percent for the policy year, or of the latest year before it; 0 without one."""
    percent = ctx.session.scalar(
        select(SurrenderValueRecord.percent_of_premiums)
        .where(SurrenderValueRecord.product_code == product_code, SurrenderValueRecord.policy_year <= year)
        .order_by(SurrenderValueRecord.policy_year.desc()).limit(1))
    return percent if percent is not None else Decimal("0")


def _terminate(ctx: HandlerContext, policy: PolicyRecord, reason: str, effective: date) -> None:
    if reason not in TERMINATION_REASONS:
        raise ValueError(f"unknown termination reason {reason!r}")
    if policy.status == "terminated":  # the first termination stands: retries and later claims change nothing
        return
    policy.status, policy.terminated_reason, policy.terminated_on = "terminated", reason, effective
    ctx.session.flush()
    queue_notification(ctx.session, f"policy_terminated:{policy.id}", policy.holder_id, "policy_terminated",
                       {"policy_number": policy.number, "reason": reason, "effective_date": effective.isoformat()},
                       ctx.now())


HANDLERS = [verify_requester, compute_refund, terminate_policy, terminate_liability]
