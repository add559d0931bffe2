"""The customer's claim status look-up: claim number plus a second factor, answered with steps and dates only."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .common import BUSINESS_TZ
from .crypto import normalize
from .records import ClaimRecord, ClaimStatusRecord

# Compared against when no claim has the number, so that a wrong number costs the same as a wrong check.
_NO_CODE = "\0\0\0\0"
# What the claimant sees for a status staff see otherwise: a fraud investigation is never disclosed (no
# tipping-off), it reads "under review" like any other review.
PUBLIC_STATUS = {"under_investigation": "under_review"}


def claim_status(session: Session, claim_number: str, check: str) -> dict[str, Any] | None:
    """The claim's status steps with their dates, or None when the number or the check code does not match.

    `check` is the last four characters of the claimant's ID number (case-insensitive). A wrong number and
    a wrong check give the same None, so the answer never tells whether a claim number exists.
    """
    claim = session.scalar(select(ClaimRecord).where(ClaimRecord.number == claim_number.strip()))
    expected = normalize(claim.check_code) if claim is not None else _NO_CODE
    matches = hmac.compare_digest(normalize(check).encode("utf-8"), expected.encode("utf-8"))
    if claim is None or not matches:
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
    return {"claim_number": claim.number, "steps": steps}
