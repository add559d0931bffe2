"""The claimant's access code: the second factor of the public claim-status page and of the claimant's own
messages into their claim (issue 13, finding 7). Checking it and acting on it is a use case of its own
(services/claim_access.py).

The code is random (10 characters of a 30-symbol alphabet without look-alikes: about 49 bits), sent on the
acknowledgement notice, and stored only as a keyed hash (tasks/crypto.py). A claim is looked up by its number,
case-insensitively and trimmed.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .crypto import PersonalDataCipher, normalize
from .records import ClaimRecord, PolicyRecord
from .timeline import queue_notification

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U: nothing to misread when typing it
CODE_LENGTH = 10  # 30**10 ≈ 2**49 codes
GROUP = 5  # printed as two groups: ABCDE-FGHJK
MAX_NOTE = 500
ACKNOWLEDGED = "claim_acknowledged"


def new_code() -> str:
    """A fresh access code, grouped for reading."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def code_form(code: str) -> str:
    """The form a code is hashed in: no spaces or dashes, upper case (the reader may type it either way)."""
    return normalize(code).replace("-", "")


def number_form(claim_number: str) -> str:
    """A claim number as looked up: trimmed, upper case."""
    return normalize(claim_number)


def issue_code(cipher: PersonalDataCipher, claim: ClaimRecord, now: datetime) -> str:
    """Give the claim a fresh code (the previous one stops working) and return it: only its hash is kept."""
    code = new_code()
    claim.access_code_hash = cipher.lookup_hash(code_form(code))
    claim.access_code_issued_at = now
    return code


def send_acknowledgement(session: Session, cipher: PersonalDataCipher, claim: ClaimRecord, key: str,
                         now: datetime) -> int:
    """Issue the claim a fresh access code and queue the acknowledgement that tells the claimant it (the code is
    kept in the outbox only encrypted); the notification's id."""
    policy = session.get(PolicyRecord, claim.policy_id)
    code = issue_code(cipher, claim, now)
    params = {"claim_number": claim.number, "policy_number": policy.number if policy else "", "access_code": code}
    record = queue_notification(session, key, claim.claimant_id, ACKNOWLEDGED, cipher.protect("notification", params),
                                now)
    return record.id


def refuse_bad_note(text: Any) -> str:
    """The claimant's short text, trimmed; ValueError for none, a too long one, or control characters."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("say in a few words what you sent")
    if len(text) > MAX_NOTE:
        raise ValueError(f"at most {MAX_NOTE} characters")
    if any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0 for c in text):
        raise ValueError("control characters are not allowed")
    return text.strip()


