"""The claimant's own path into their claim: a claim number and its access code (tasks/claim_access.py) open the
claim's status and the messages the diagram lets the customer send; staff re-send a code.

Wrong codes count per claim number across every address, in the shared rate-limit table: at the limit the
look-up is closed for that claim (even the right code) until the window passes, the claimant is told to call,
and the claim's case records the lock-out in its history. A number that matches no claim is counted and
answered exactly like a claim's wrong code, so the answers never tell whether a claim number exists.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ConflictError, NotFoundError
from engine.identity import RateLimit, rate_limits
from engine.workflow import Actor, InstanceSummary, Runtime, change_with_note, deliver_message, require
from tasks.claim_access import code_form, number_form, refuse_bad_note, send_acknowledgement
from tasks.claim_status import claim_status
from tasks.crypto import PersonalDataCipher
from tasks.records import ClaimRecord

# Wrong codes per claim number, across every address: 5 a day (README "Claim status"; the web app's
# STATUS_CLAIM_FAILURES / STATUS_CLAIM_WINDOW_SECONDS). NIST SP 800-63B 5.1.2.2: a look-up secret of fewer than
# 64 bits SHALL be rate limited (5.2.2: at most 100 consecutive failures); 49 bits and 5 a day is far inside.
WRONG_CODES = RateLimit("claim status wrong codes", 5, 24 * 3600)
# The public page acting on a claim's case: the lock-out event names it, never an address.
STATUS_PAGE = Actor("claim status page", frozenset())
# Compared against when no claim has the number (or it has no code yet): the same work as a real comparison.
_NO_HASH = "0" * 64
RESENDERS = {"claims_clerk", "claims_manager"}  # and the operator at the command line


def reissue_code(rt: Runtime, claim_number: str, actor: Actor) -> int:
    """Staff re-send the acknowledgement with a fresh code (a claim from before codes, or a claimant who lost
    theirs, or one locked out who called): the old code stops working, the claim's wrong codes are forgotten,
    the claim's case history records who did it; the notification's id."""
    require(actor, RESENDERS, "re-send a claim's access code")
    with rt.uow(read_only=True) as uow:
        claim = uow.session.scalar(select(ClaimRecord).where(ClaimRecord.number == number_form(claim_number)))
        if claim is None:
            raise NotFoundError(f"no claim {claim_number.strip()}")
        claim_id, number, instance_id = claim.id, claim.number, claim.instance_id

    def change(session: Session) -> tuple[int, dict[str, Any]]:
        record = session.get(ClaimRecord, claim_id)
        assert record is not None
        now = rt.clock()
        sent = send_acknowledgement(session, rt.services.cipher, record, f"claim-code:{claim_id}:{now.isoformat()}",
                                    now)
        rate_limits.reset(session, WRONG_CODES, f"claim:{number}")  # the claimant called: the look-up opens again
        return sent, {"reason": f"access code of claim {number} re-issued by {actor.username}: the acknowledgement "
                                "was sent again with a new code", "what": "claim_access_code_reissued",
                      "notification_id": sent}

    return change_with_note(rt, actor, instance_id, change)


@dataclass(frozen=True)
class ClaimAccess:
    """What a look-up proved: the claim (its id, number, case) when the code matched; `locked` when the
    claim number is at its limit of wrong codes (`locked_now`: this attempt reached it)."""

    claim_id: int | None = None
    claim_number: str | None = None
    instance_id: int | None = None
    locked: bool = False
    locked_now: bool = False

    @property
    def granted(self) -> bool:
        """Whether the number and code matched and the claim is not locked."""
        return self.claim_id is not None


def authenticate(session: Session, cipher: PersonalDataCipher, claim_number: str, code: str, now: datetime,
                 rule: RateLimit = WRONG_CODES) -> tuple[ClaimAccess, ClaimRecord | None]:
    """Check a claim number and code, counting a failure against the number (the caller commits); the access
    and the claim the number names (for the lock-out note: None when no claim has it)."""
    number = number_form(claim_number)
    key = f"claim:{number}"
    # Claim numbers are made upper case (C + date + sequence): the typed one is, too, and the unique index finds it.
    claim = session.scalar(select(ClaimRecord).where(ClaimRecord.number == number)) if number else None
    if rate_limits.wait_seconds(session, rule, (key,), now):
        return ClaimAccess(locked=True), claim
    expected = (claim.access_code_hash if claim is not None else None) or _NO_HASH
    matches = hmac.compare_digest(cipher.lookup_hash(code_form(code)), expected)
    if claim is not None and matches:
        rate_limits.reset(session, rule, key)
        return ClaimAccess(claim.id, claim.number, claim.instance_id), claim
    rate_limits.hit(session, rule, (key,), now)
    locked = bool(rate_limits.wait_seconds(session, rule, (key,), now))
    return ClaimAccess(locked=locked, locked_now=locked), claim


def check_access(rt: Runtime, claim_number: str, code: str, rule: RateLimit = WRONG_CODES) -> ClaimAccess:
    """`authenticate` in a transaction of its own; a lock-out it causes is recorded in the claim's history."""
    with rt.uow() as uow:
        access, claim = authenticate(uow.session, rt.services.cipher, claim_number, code, rt.clock(), rule)
        instance_id, number = (claim.instance_id, claim.number) if claim is not None else (None, None)
        uow.commit()
    if access.locked_now and instance_id is not None:
        record_lockout(rt, instance_id, number or "", rule)
    return access


def record_lockout(rt: Runtime, instance_id: int, claim_number: str, rule: RateLimit) -> None:
    """Note in the claim's case history that its status look-up is closed (staff see it on the case page)."""
    hours = round(rule.window_seconds / 3600)
    reason = (f"claim status look-up closed: {rule.limit} wrong access codes for claim {claim_number} within "
              f"{hours} hours; the claimant was told to call")

    def change(_session: Session) -> tuple[None, dict[str, Any]]:
        return None, {"reason": reason, "what": "claim_status_locked", "claim_number": claim_number}

    change_with_note(rt, STATUS_PAGE, instance_id, change)


def deliver_customer_message(rt: Runtime, access: ClaimAccess, name: str, note: str) -> InstanceSummary:
    """Deliver the claimant's message `name` into their claim's case as the customer of that one case: the
    engine refuses it unless the case's catching event says `deliveredBy="customer"` (engine/workflow/access.py)."""
    if not access.granted:
        raise PermissionError("the claimant was not authenticated for this claim")
    if access.instance_id is None:  # a claim recorded without a case (imported): nothing can wait for a message
        raise ConflictError(f"claim {access.claim_number} has no case waiting for message {name!r}")
    actor = Actor(f"claimant of {access.claim_number}", frozenset(), customer_of=access.instance_id)
    return deliver_message(rt, access.instance_id, name, {"note": refuse_bad_note(note)}, actor)


def claim_progress(rt: Runtime, access: ClaimAccess) -> dict[str, Any] | None:
    """The status steps and dates of the claim the access code opened (tasks/claim_status.py)."""
    with rt.uow(read_only=True) as uow:
        return claim_status(uow.session, access.claim_id or 0)
