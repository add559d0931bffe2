"""The claimant's side of a claim: the acknowledgement that carries their access code, and the notes they send
through their own authenticated path (tasks/claim_access.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.registry import HandlerContext

from ..claim_access import issue_code, refuse_bad_note
from ..claimant_notes import ClaimantNoteRecord
from ..common import services
from ..crypto import PersonalDataCipher
from ..records import ClaimRecord, NotificationRecord, PolicyRecord
from ..timeline import queue_notification

ACKNOWLEDGED = "claim_acknowledged"


def send_acknowledgement(session: Any, cipher: PersonalDataCipher, claim: ClaimRecord, key: str, now: Any) -> int:
    """Issue the claim a fresh access code and queue the acknowledgement that tells the claimant it (the code is
    kept in the outbox only encrypted); the notification's id. Staff re-sending it (`insureflow claim-code`)
    call this too: the old code stops working."""
    policy = session.get(PolicyRecord, claim.policy_id)
    code = issue_code(cipher, claim, now)
    params = {"claim_number": claim.number, "policy_number": policy.number if policy else "", "access_code": code}
    record = queue_notification(session, key, claim.claimant_id, ACKNOWLEDGED,
                                cipher.protect("notification", params), now)
    return record.id


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
