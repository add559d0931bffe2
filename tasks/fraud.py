"""Confirmed claims fraud: the police report's reference and the policy's rescission review.

One row per claim denied for fraud (the SIU's finding, confirmed by a second person). It opens with the
rescission review pending; the underwriter's outcome (`rescind` or `keep`) and reason are recorded on it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .records import DomainBase, UTCDateTime


class FraudCaseRecord(DomainBase):
    """A claim denied for confirmed fraud, and what became of its policy."""

    __tablename__ = "fraud_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    finding: Mapped[str] = mapped_column(Text)
    police_report_reference: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # pending → rescind / keep, when the underwriter has reviewed the policy
    rescission_outcome: Mapped[str] = mapped_column(String(20))
    rescission_note: Mapped[str | None] = mapped_column(Text)
    rescission_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
