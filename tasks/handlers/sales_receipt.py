"""The policy receipt (保单回执): after issue the policy waits for the holder's signed receipt; the cooling-off
period counts from the day the holder signed it (the period from cooling_off.dmn), not from the issue date."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from engine.registry import HandlerContext

from ..common import BUSINESS_TZ, as_date, business_date
from ..records import PolicyRecord
from ..timeline import queue_notification


def receipt_pending(policy: PolicyRecord) -> bool:
    """Whether the policy, issued by a sale that waits for the holder's signed receipt, has none recorded yet
    (its cooling-off period has not begun). Policies issued before the receipt step have their receipt date."""
    return policy.instance_id is not None and policy.documents_received_on is None and policy.cooling_off_end is None


def cooling_off_dates(policy: PolicyRecord) -> dict[str, Any]:
    """The receipt date, the last cooling-off day and when the cooling-off timer fires (local midnight after
    the last day, in UTC); all None while the receipt is pending."""
    if receipt_pending(policy):
        return {"receipt_date": None, "cooling_off_end": None, "cooling_off_until": None}
    last_day = policy.cooling_off_end or policy.start_date  # a policy without cooling-off: none after its start
    until = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=BUSINESS_TZ).astimezone(UTC)
    return {"receipt_date": (policy.documents_received_on or policy.start_date).isoformat(),
            "cooling_off_end": last_day.isoformat(), "cooling_off_until": until.isoformat()}


def record_policy_receipt(ctx: HandlerContext, policy_id: int, receipt_date: str,
                          cooling_off_days: int) -> dict[str, Any]:
    """Record the day the holder signed the policy receipt and start the cooling-off period from it (once: the
    first recorded date stands), sending the written notice of receipt and cooling-off (`policy_issued`).
    Refused, with a reason and nothing changed: a date before the issue date or after today (`before_issue`,
    `in_future`), or a policy no longer in force (`policy_terminated`: cancelled before its receipt)."""
    policy = ctx.session.get(PolicyRecord, int(policy_id))
    if policy is None:
        raise LookupError(f"no policy with id {policy_id}")
    days = int(cooling_off_days)
    if days < 0:
        raise ValueError(f"cooling_off_days cannot be negative ({cooling_off_days!r})")
    if not receipt_pending(policy):
        return {"recorded": True, "reason": None, **cooling_off_dates(policy)}
    signed = as_date(receipt_date)
    reason = ("policy_terminated" if policy.status != "in_force" else "before_issue" if signed < policy.start_date
              else "in_future" if signed > business_date(ctx) else None)
    if reason is not None:
        return {"recorded": False, "reason": reason, **cooling_off_dates(policy)}
    policy.documents_received_on, policy.cooling_off_end = signed, signed + timedelta(days=days)
    ctx.session.flush()
    dates = cooling_off_dates(policy)
    # A written notice (tasks/notices.py): the receipt date and the cooling-off period counted from it.
    queue_notification(ctx.session, ctx.idempotency_key, policy.holder_id, "policy_issued", {
        "policy_number": policy.number, "product_code": policy.product_code,
        "start_date": policy.start_date.isoformat(), "receipt_date": dates["receipt_date"],
        "cooling_off_days": days, "cooling_off_end": dates["cooling_off_end"],
    }, ctx.now(), "letter")
    return {"recorded": True, "reason": None, **dates}


HANDLERS = [record_policy_receipt]
