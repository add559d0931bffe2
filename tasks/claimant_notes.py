"""What a claimant tells the insurer through their own authenticated path (the claim status page), kept for
the clerk: e.g. "the documents were sent" while the claim waits for them. The claims clerk's task page shows
a case's notes; the text is the claimant's own words, checked for length and control characters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .records import DomainBase, UTCDateTime


class ClaimantNoteRecord(DomainBase):
    """One message from the claimant about their claim."""

    __tablename__ = "claimant_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(40))  # documents_sent
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


def notes_of_case(session: Session, instance_id: int) -> list[ClaimantNoteRecord]:
    """The claimant's notes on a case, oldest first."""
    return list(session.scalars(select(ClaimantNoteRecord).where(ClaimantNoteRecord.instance_id == instance_id)
                                .order_by(ClaimantNoteRecord.received_at, ClaimantNoteRecord.id)))
