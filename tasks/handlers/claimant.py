"""The claimant's side of a claim: the acknowledgement that carries their access code, and the notes they send
through their own authenticated path (tasks/claim_access.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.registry import HandlerContext

from ..claim_access import refuse_bad_note, send_acknowledgement
from ..claimant_notes import ClaimantNoteRecord
from ..common import services
from ..office_records import NotificationRecord
from ..records import ClaimRecord


def acknowledge_claim(ctx: HandlerContext, claim_id: int) -> dict[str, Any]:
    """Tell the claimant their claim is registered, with its number and their access code (once per step:
    a retried step finds its notice and issues no second code)."""
    session = ctx.session
    claim = session.get(ClaimRecord, claim_id)
    if claim is None:
        raise LookupError(f"no claim {claim_id}")
    queued = session.scalar(select(NotificationRecord.id).where(NotificationRecord.idempotency_key ==
                                                               ctx.idempotency_key))
    if queued is None:
        queued = send_acknowledgement(session, services(ctx).cipher, claim, ctx.idempotency_key, ctx.now())
    return {"notification_id": queued, "access_code_issued": True}


def note_claimant_message(ctx: HandlerContext, claim_id: int, kind: str, text: str) -> dict[str, Any]:
    """Keep what the claimant said for the clerk (their task page shows it)."""
    session = ctx.session
    claim = session.get(ClaimRecord, claim_id)
    if claim is None:
        raise LookupError(f"no claim {claim_id}")
    note = ClaimantNoteRecord(claim_id=claim.id, instance_id=ctx.instance_id, kind=kind, text=refuse_bad_note(text),
                              received_at=ctx.now())
    session.add(note)
    session.flush()
    return {"note_id": note.id, "kind": kind}


HANDLERS = [acknowledge_claim, note_claimant_message]
