"""Where a refund may go: the account the premium came from, or a verified account in the holder's name —
never an account registered to a member of staff (an agent may not receive a customer's refund).

Accounts are personal data: kept encrypted, matched by their keyed hash (tasks/crypto.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .account_names import AccountNameService
from .crypto import PersonalDataCipher
from .payment_records import PremiumPaymentRecord
from .records import CustomerRecord, DomainBase, PolicyRecord, UTCDateTime

REFUND_TARGETS = ("premium_account", "holder_account")
BANK_NAME_CHECK = "bank_name_check"  # how an account became verified: the bank's account-name verification


class HolderAccountRecord(DomainBase):
    """A bank account verified to be in a customer's own name (real-name check at a counter or by the bank)."""

    __tablename__ = "holder_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    account_hash: Mapped[str] = mapped_column(String(64), index=True)
    verified_by: Mapped[str] = mapped_column(String(80))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffAccountRecord(DomainBase):
    """A bank account registered to a member of staff (salary, commission): never a customer's refund account."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    account_hash: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class RefundAccount:
    """The account a refund would go to (None when refused), where it comes from, and why it is refused."""

    account: str | None
    source: str | None  # premium_account / holder_account
    reasons: tuple[str, ...]

    @property
    def last4(self) -> str:
        """The account's last four digits, as shown to staff and the customer."""
        return self.account[-4:] if self.account else ""


def premium_account(session: Session, cipher: PersonalDataCipher, policy: PolicyRecord) -> str | None:
    """The account the policy's premium came from (the latest non-cash payment of its sale), if recorded."""
    if policy.instance_id is None:
        return None
    payment = session.scalar(select(PremiumPaymentRecord).where(
        PremiumPaymentRecord.instance_id == policy.instance_id, PremiumPaymentRecord.payer_account_enc.is_not(None))
        .order_by(PremiumPaymentRecord.id.desc()).limit(1))
    return cipher.decrypt(payment.payer_account_enc) if payment and payment.payer_account_enc else None


def refund_account(session: Session, cipher: PersonalDataCipher, policy: PolicyRecord, target: str,
                   payee_account: str | None) -> RefundAccount:
    """The account a refund of `policy` goes to: the premium's own account, or `payee_account` when it is a
    verified account of the holder (or the premium's account); refused for a staff member's account."""
    if target not in REFUND_TARGETS:
        raise ValueError(f"a refund goes to one of {', '.join(REFUND_TARGETS)}, not {target!r}")
    origin = premium_account(session, cipher, policy)
    if target == "premium_account":
        if origin is None:
            return RefundAccount(None, None, ("no_premium_account",))
        account = origin
    else:
        account = (payee_account or "").strip()
        digest = cipher.lookup_hash(account) if account else ""
        held = session.scalar(select(HolderAccountRecord.id).where(
            HolderAccountRecord.customer_id == policy.holder_id, HolderAccountRecord.account_hash == digest).limit(1))
        from_premium = origin is not None and cipher.lookup_hash(origin) == digest
        if not account or (held is None and not from_premium):
            return RefundAccount(None, None, ("not_holders_account",))
    staff = session.scalar(select(StaffAccountRecord.username).where(
        StaffAccountRecord.account_hash == cipher.lookup_hash(account)).limit(1))
    if staff is not None:
        return RefundAccount(None, None, ("staff_account",))
    return RefundAccount(account, target, ())




def verify_with_bank(session: Session, cipher: PersonalDataCipher, bank: AccountNameService, holder: CustomerRecord,
                     account: str, at: datetime) -> str | None:
    """Ask the bank whether `account` is held in the name (and ID number) of `holder`; on a match keep it as one
    of the holder's verified accounts (encrypted, with its keyed hash: once, reused by later refunds). None when
    it matched, else the bank's plain reason (`no_such_account`, `account_name_mismatch`)."""
    account = "".join((account or "").split())
    digest = cipher.lookup_hash(account)
    if session.scalar(select(HolderAccountRecord.id).where(
            HolderAccountRecord.customer_id == holder.id, HolderAccountRecord.account_hash == digest)) is not None:
        return None
    answer = bank.verify(account, holder.name, cipher.decrypt(holder.id_number_enc))
    if not answer.matched:
        return answer.reason or "account_name_mismatch"
    session.add(HolderAccountRecord(customer_id=holder.id, account_enc=cipher.encrypt(account), account_hash=digest,
                                    verified_by=BANK_NAME_CHECK, verified_at=at))
    session.flush()
    return None
