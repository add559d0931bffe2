"""Termination requests on record: a surrender or cancellation a verified holder asked for, from the moment its
refund is computed until the request ends (policy terminated, withdrawn or refused).

The sale reads it when the cooling-off period ends: a cancellation asked for within the period and not yet
finished holds the sale — the policy is not confirmed while the request is in progress."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .records import DomainBase, PolicyRecord, UTCDateTime

OPEN = "open"
OUTCOMES = ("terminated", "withdrawn", "refused")


class TerminationRequestRecord(DomainBase):
    """One termination case's request for one policy: what was asked, when, and how it ended."""

    __tablename__ = "termination_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True, unique=True)  # the termination case
    request_date: Mapped[date] = mapped_column(Date)
    in_cooling_off: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))  # open / terminated / withdrawn / refused
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def open_request(session: Session, policy: PolicyRecord, instance_id: int, requested: date, in_cooling_off: bool,
                 at: datetime) -> TerminationRequestRecord:
    """Record the request of termination case `instance_id` (once: a step run again updates the same row)."""
    record = session.scalar(select(TerminationRequestRecord).where(
        TerminationRequestRecord.instance_id == instance_id))
    if record is None:
        record = TerminationRequestRecord(policy_id=policy.id, instance_id=instance_id, request_date=requested,
                                          in_cooling_off=in_cooling_off, status=OPEN, opened_at=at)
        session.add(record)
    else:
        record.request_date, record.in_cooling_off = requested, in_cooling_off
    session.flush()
    return record


def close_request(session: Session, instance_id: int, outcome: str, at: datetime) -> str | None:
    """End the request of termination case `instance_id` with `outcome`; its status (None without a request:
    one refused before its refund was computed was never on record)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"a termination request ends {', '.join(OUTCOMES)}, not {outcome!r}")
    record = session.scalar(select(TerminationRequestRecord).where(
        TerminationRequestRecord.instance_id == instance_id))
    if record is None:
        return None
    if record.status == OPEN:
        record.status, record.closed_at = outcome, at
        session.flush()
    return record.status


def cancellation_pending(session: Session, policy_id: int) -> bool:
    """Whether a cancellation asked for within the policy's cooling-off period is still in progress."""
    return session.scalar(select(TerminationRequestRecord.id).where(
        TerminationRequestRecord.policy_id == policy_id, TerminationRequestRecord.status == OPEN,
        TerminationRequestRecord.in_cooling_off.is_(True)).limit(1)) is not None
