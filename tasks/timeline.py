"""The customer-facing claim timeline and the outbox of customer messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .office_records import NotificationRecord
from .records import ClaimRecord, ClaimStatusRecord

# A claim denied — at the review of a failed verification, at the assessment, or after an SIU finding — is
# "rejected": the customer's status page shows it as 已拒赔 ("Rejected"); the coded reason is on the claim.
# "unpaid": approved, but finance cancelled the payout because the claimant could not be paid (the amount is
# still theirs). "under_investigation" is for staff only: the status page shows it as "under_review".
CLAIM_STATUSES = ("registered", "documents_requested", "under_review", "under_investigation", "survey_scheduled",
                  "assessing", "approved", "paid", "rejected", "withdrawn", "unpaid")
CLOSED_STATUSES = ("paid", "rejected", "withdrawn", "unpaid")
# How an outbox message reaches the customer; a written notice (tasks/notices.py) goes as a letter.
CHANNELS = ("sms", "email", "letter")


def set_claim_status(session: Session, claim: ClaimRecord, status: str, at: datetime) -> None:
    """Move a claim to `status` and add it to its timeline (once per status change)."""
    if status not in CLAIM_STATUSES:
        raise ValueError(f"unknown claim status {status!r}")
    if claim.status == status:
        return
    claim.status = status
    if status in CLOSED_STATUSES:
        claim.closed_at = at
    session.add(ClaimStatusRecord(claim_id=claim.id, status=status, occurred_at=at))


def queue_notification(
    session: Session, key: str, customer_id: int | None, template: str, params: dict[str, Any], at: datetime,
    channel: str = "sms",
) -> NotificationRecord:
    """Put a customer message in the outbox, once per idempotency key."""
    existing = session.scalar(select(NotificationRecord).where(NotificationRecord.idempotency_key == key))
    if existing is not None:
        return existing
    record = NotificationRecord(idempotency_key=key, customer_id=customer_id, channel=channel, template=template,
                                params=params, created_at=at)
    session.add(record)
    session.flush()
    return record
