"""Money moving: claim payouts and refunds (sealed: the decisive columns are hashed into the history event that
wrote them) and the premiums received."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.registry import UTCDateTime, seal_table

from .records import DomainBase, Money


class PaymentRecord(DomainBase):
    """One outgoing payment; at most one per idempotency key, whatever retries happen."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # claim_payout / refund
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    payee_account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))  # pending / accepted / failed
    gateway_ref: Mapped[str | None] = mapped_column(String(80))
    failure: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PremiumPaymentRecord(DomainBase):
    """Premium received, for AML screening (cash per payer per day) and refunds to the originating account;
    held in suspense until cleared."""

    __tablename__ = "premium_payments"
    __table_args__ = (Index("ix_premium_payer_day", "payer_hash", "paid_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    payer_hash: Mapped[str] = mapped_column(String(64))
    payer_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(20))  # cash / transfer / card
    paid_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Not income until AML screening clears it (tasks/sales_records.py PREMIUM_STATUSES).
    status: Mapped[str] = mapped_column(String(20), default="cleared", server_default="cleared")
    # The account the premium came from (none for cash) — where a refund may go back to — and the sale's case.
    payer_account_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    payer_account_hash: Mapped[str | None] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


# Money leaving the insurer: the decisive columns are sealed into the history event that wrote or changed them.
seal_table(PaymentRecord.__table__, ("idempotency_key", "kind", "claim_id", "policy_id", "amount",
                                     "payee_account_enc", "status", "gateway_ref"))
