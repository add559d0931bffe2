"""What the gateway holds beside what the database holds: every payment key on either side, matched.

A payment booked at the gateway and missing from the database is money that left without the case
knowing (a step that died after the bank's answer and was never run again); a payment recorded as
accepted that the gateway does not hold, or a different amount or outcome on the two sides, is as
wrong. A payment recorded as pending for longer than `stale_after` never learned its outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .gateway_ledger import LedgerEntry
from .payment_records import PaymentRecord
from .records import ClaimRecord, PolicyRecord
from .sales_records import PremiumRefundRecord

STALE_AFTER = timedelta(minutes=15)
BUSINESS_KEY_PREFIXES = ("claim:", "policy:", "premium:")
_OUTCOME = {"accepted": "accepted", "failed": "declined"}


@dataclass(frozen=True)
class LedgerLine:
    """One payment key: the gateway's side, the database's side, and what is wrong, if anything."""

    key: str
    gateway_outcome: str | None  # accepted / declined; None when the gateway never booked the key
    gateway_amount: Decimal | None
    recorded_status: str | None  # accepted / failed / pending; None when the database has no payment
    recorded_amount: Decimal | None
    problem: str | None


def reconcile(session: Session, booked: Iterable[LedgerEntry], now: datetime, prefix: str = "",
              stale_after: timedelta = STALE_AFTER) -> list[LedgerLine]:
    """Match the gateway's bookings with the payments table (and the refunds of premiums a sale did not
    keep, `premium:` keys), for keys starting with `prefix`."""
    entries = {e.key: e for e in booked if e.key.startswith(prefix)}
    payments: dict[str, PaymentRecord | PremiumRefundRecord] = {}
    for record in (PaymentRecord, PremiumRefundRecord):
        query = select(record)
        if prefix:
            query = query.where(record.idempotency_key.startswith(prefix, autoescape=True))
        payments.update((p.idempotency_key, p) for p in session.scalars(query))
    lines = []
    for key in sorted(entries.keys() | payments.keys()):
        entry, payment = entries.get(key), payments.get(key)
        lines.append(LedgerLine(
            key, entry.outcome if entry else None, entry.amount if entry else None,
            payment.status if payment else None, payment.amount if payment else None,
            _problem(entry, payment, now, stale_after)))
    return lines


def _problem(entry: LedgerEntry | None, payment: PaymentRecord | PremiumRefundRecord | None, now: datetime,
             stale_after: timedelta) -> str | None:
    if payment is None:
        return "accepted at the gateway, no payment in the database" if entry and entry.outcome == "accepted" else None
    if payment.status == "pending":
        if now - payment.updated_at > stale_after:
            return f"pending since {payment.updated_at.isoformat(timespec='seconds')}: outcome never recorded"
        return None
    if entry is None:
        # Keys of the step's task id were paid before the ledger file existed: it cannot hold them.
        legacy = not payment.idempotency_key.startswith(BUSINESS_KEY_PREFIXES)
        return "recorded accepted, the gateway never booked it" if payment.status == "accepted" and not legacy else None
    if _OUTCOME.get(payment.status) != entry.outcome:
        return f"recorded {payment.status}, {entry.outcome} at the gateway"
    if entry.amount != payment.amount:
        return f"recorded {payment.amount}, {entry.amount} at the gateway"
    return None


def subject_prefix(session: Session, claim_number: str | None = None, policy_number: str | None = None) -> str | None:
    """The key prefix of one claim's payouts or one policy's refunds; None when there is no such claim or policy."""
    record, kind, number = ((ClaimRecord, "claim", claim_number) if claim_number is not None
                            else (PolicyRecord, "policy", policy_number))
    uid = session.scalar(select(record.uid).where(record.number == number))
    return None if uid is None else f"{kind}:{number}:{uid[:12]}:"
