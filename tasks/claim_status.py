"""The customer's claim status: steps and dates only (and the amount paid, once paid), for a claim whose
number and access code the caller checked (tasks/claim_access.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .common import BUSINESS_TZ
from .records import ClaimRecord, ClaimStatusRecord

# What the claimant sees for a status staff see otherwise: a fraud investigation is never disclosed (no
# tipping-off), it reads "under review" like any other review.
PUBLIC_STATUS = {"under_investigation": "under_review"}


def claim_status(session: Session, claim_id: int) -> dict[str, Any] | None:
    """The claim's status steps with their dates, and `paid_amount` (text, 2 decimals) when it was paid; None
    when there is no such claim. The caller has checked the claimant's access code."""
    claim = session.get(ClaimRecord, claim_id)
    if claim is None:
        return None
    events = session.scalars(select(ClaimStatusRecord).where(ClaimStatusRecord.claim_id == claim.id)
                             .order_by(ClaimStatusRecord.occurred_at, ClaimStatusRecord.id))
    # Business dates are the insurer's local dates: a step at 23:00 UTC happened the next day in Shanghai.
    steps: list[dict[str, str]] = []
    for event in events:
        status = PUBLIC_STATUS.get(event.status, event.status)
        if steps and steps[-1]["status"] == status:
            continue  # "under review" then an investigation reads as one step, dated when the review began
        steps.append({"status": status, "date": event.occurred_at.astimezone(BUSINESS_TZ).date().isoformat()})
    found: dict[str, Any] = {"claim_number": claim.number, "steps": steps}
    if claim.status == "paid" and claim.paid_amount is not None:
        found["paid_amount"] = f"{claim.paid_amount:.2f}"
    return found
