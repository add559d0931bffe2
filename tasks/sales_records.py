"""Records of the sale's money controls: the premium held in suspense until AML screening clears it,
the reports compliance files (suspicious-transaction and large-cash reports, each with its own
reference) and the refund of a premium the insurer does not keep.

None of these is ever shown to the customer (tipping-off): the customer's notices say only that the
application was not accepted and how the premium comes back.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.registry import seal_table

from .records import DomainBase, Money, UTCDateTime

# A premium's life: in suspense when received (not income), cleared once AML screening or compliance
# clears it, refunded to the account it came from, returned in cash at the counter, or held for the
# authorities (a sanctioned payer's money is frozen, not sent back).
PREMIUM_STATUSES = ("suspense", "cleared", "refunded", "returned_in_cash", "held")


class SuspiciousTransactionReportRecord(DomainBase):
    """A suspicious-transaction report (可疑交易报告) compliance filed on a premium payment."""

    __tablename__ = "suspicious_transaction_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    premium_payment_id: Mapped[int] = mapped_column(ForeignKey("premium_payments.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    rule: Mapped[str] = mapped_column(String(200))  # the screening rule that matched (aml_reason)
    grounds: Mapped[str] = mapped_column(Text)  # compliance's own words
    filed_by: Mapped[str | None] = mapped_column(String(80))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer)


class LargeCashReportRecord(DomainBase):
    """A large-transaction report (大额交易报告): one per payer and business day once their cash reaches
    the threshold of cash_limits.dmn."""

    __tablename__ = "large_cash_reports"
    __table_args__ = (UniqueConstraint("payer_hash", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    payer_hash: Mapped[str] = mapped_column(String(64))
    payer_name: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date)
    cash_total: Mapped[Decimal] = mapped_column(Money)
    premium_payment_id: Mapped[int] = mapped_column(ForeignKey("premium_payments.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PremiumRefundRecord(DomainBase):
    """The refund of a premium in suspense to the account it came from; one per attempt key."""

    __tablename__ = "premium_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    premium_payment_id: Mapped[int] = mapped_column(ForeignKey("premium_payments.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    payee_account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))  # pending / accepted / failed
    gateway_ref: Mapped[str | None] = mapped_column(String(80))
    failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

# Money leaving the insurer: the decisive columns are sealed into the history event that wrote or changed them.
seal_table(PremiumRefundRecord.__table__, ("idempotency_key", "premium_payment_id", "amount",
                                           "payee_account_enc", "status", "gateway_ref"))
