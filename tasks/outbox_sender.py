"""Taking customer messages out of the outbox to send them.

A message may carry a secret for the customer alone (the one-time code of a refund quote): it waits in the
outbox encrypted (tasks/crypto.py) and, once the sender has taken it, is dropped from what stays stored, so no
table keeps it — only its keyed hash, in the case, for checking the code the customer gives back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .crypto import PersonalDataCipher
from .office_records import NotificationRecord

# Params a sent message no longer keeps: what only the customer may know.
SECRET_PARAMS = ("one_time_code",)


def take_notification(session: Session, cipher: PersonalDataCipher, notification_id: int,
                      at: datetime) -> dict[str, Any]:
    """The params to send message `notification_id` with (decrypted), marking it sent at `at` and dropping its
    secrets from the stored row; an empty dict when it was sent already (nothing is sent twice)."""
    record = session.get(NotificationRecord, int(notification_id), with_for_update=True)
    if record is None:
        raise LookupError(f"no message {notification_id} in the outbox")
    if record.sent_at is not None:
        return {}
    params = dict(cipher.reveal("notification", record.params or {}))
    record.params = {k: v for k, v in (record.params or {}).items() if k not in SECRET_PARAMS}
    record.sent_at = at
    session.flush()
    return params
