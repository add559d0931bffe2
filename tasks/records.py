"""The insurance domain's records. Personal data lives only in the `*_enc` columns (Fernet) and is
found by value through the keyed `*_hash` columns (see tasks/crypto.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.registry import UTCDateTime

Money = Numeric(14, 2)


class DomainBase(DeclarativeBase):
    """Base of the domain tables (the engine's tables have their own)."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class CustomerRecord(DomainBase):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(1))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    region: Mapped[str | None] = mapped_column(String(40))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProductRecord(DomainBase):
    """A product and its terms; rules that vary by case live in the DMN tables."""

    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(100))
    line: Mapped[str] = mapped_column(String(20))  # medical / accident / life / property / savings
    risk_level: Mapped[str] = mapped_column(String(10))  # low / medium / high
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int] = mapped_column(Integer)
    claim_types: Mapped[list[Any]] = mapped_column()
    deductible: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(default=True)


class RateRecord(DomainBase):
    """Annual premium per 1,000 of sum insured, by product, age band and term."""

    __tablename__ = "rates"
    __table_args__ = (Index("ix_rates_lookup", "product_code", "age_min", "term_years"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    age_min: Mapped[int] = mapped_column(Integer)
    age_max: Mapped[int] = mapped_column(Integer)
    term_years: Mapped[int] = mapped_column(Integer)
    rate_per_thousand: Mapped[Decimal] = mapped_column(Numeric(10, 4))


class SurrenderValueRecord(DomainBase):
    """Share of premiums paid that a surrender returns, by product and policy year."""

    __tablename__ = "surrender_values"
    __table_args__ = (UniqueConstraint("product_code", "policy_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    policy_year: Mapped[int] = mapped_column(Integer)
    percent_of_premiums: Mapped[Decimal] = mapped_column(Numeric(5, 2))


def new_uid() -> str:
    """A random identity given to a row when it is made and committed with it."""
    return uuid.uuid4().hex


class PolicyRecord(DomainBase):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    # Numbers and ids of a row whose insert was rolled back are given again to the next row; this never
    # is, so payment keys built from it never match a payment made for a rolled-back policy or claim.
    uid: Mapped[str] = mapped_column(String(32), default=new_uid, index=True, unique=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    beneficiary_ids: Mapped[list[Any]] = mapped_column(default=list)
    sum_insured: Mapped[Decimal] = mapped_column(Money)
    remaining_sum_insured: Mapped[Decimal] = mapped_column(Money)
    annual_premium: Mapped[Decimal] = mapped_column(Money)
    loading: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("1"))
    term_years: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    cooling_off_end: Mapped[date | None] = mapped_column(Date)
    # The day the holder received the policy documents: the cooling-off period counts from it.
    documents_received_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # in_force / terminated
    terminated_reason: Mapped[str | None] = mapped_column(String(40))
    terminated_on: Mapped[date | None] = mapped_column(Date)
    premiums_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer)
    # What the policy does not cover, as underwriting accepted it (none for a standard acceptance).
    exclusions: Mapped[str | None] = mapped_column(Text)


class ClaimRecord(DomainBase):
    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_policy_incident", "policy_id", "incident_date"),
                      Index("ix_claims_status_closed", "status", "closed_at"))  # the dashboard's weeks

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    uid: Mapped[str] = mapped_column(String(32), default=new_uid, index=True, unique=True)  # see PolicyRecord.uid
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    claimant_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_date: Mapped[date] = mapped_column(Date)
    claim_type: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    claimed_amount: Mapped[Decimal] = mapped_column(Money)
    payee_account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    payee_account_hash: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    check_code: Mapped[str] = mapped_column(String(4))  # the ID number's last 4 (no longer enough to look it up)
    # The claimant's access code for the status page and their messages: its keyed hash only (tasks/claim_access.py).
    access_code_hash: Mapped[str | None] = mapped_column(String(64))
    access_code_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assessed_amount: Mapped[Decimal | None] = mapped_column(Money)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ClaimDocumentRecord(DomainBase):
    """A document of a claim: a kind ticked on a checklist (no file), or an uploaded file (encrypted).

    Files are uploaded before the claim exists: they belong to the case (`instance_id`) first and get
    their `claim_id` when a handler records the documents. A claim may hold several files of a kind.
    """

    __tablename__ = "claim_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str | None] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimStatusRecord(DomainBase):
    """The customer-facing timeline of a claim."""

    __tablename__ = "claim_status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WatchListRecord(DomainBase):
    """Sanctions and fraud watch list: matched by name, ID number hash or account hash."""

    __tablename__ = "watch_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), index=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    account_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    listed_on: Mapped[date] = mapped_column(Date)


class UnderwritingOutcomeRecord(DomainBase):
    """Past underwriting decisions per person, for the anti-fraud look-up."""

    __tablename__ = "underwriting_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    product_code: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instance_id: Mapped[int | None] = mapped_column(Integer)
    # An acceptance's exclusion clause (underwriting.bpmn "accept with exclusion"); issue_policy copies it.
    exclusion: Mapped[str | None] = mapped_column(Text)
