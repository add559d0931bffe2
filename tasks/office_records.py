"""The office's side of a case: surveyors and their appointments, the company's own days off and working days,
and the notices sent to customers."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.registry import UTCDateTime

from .records import DomainBase


class SurveyorRecord(DomainBase):
    __tablename__ = "surveyors"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="surveyor")  # surveyor / examiner (medical exams)
    regions: Mapped[list[Any]] = mapped_column()
    work_start: Mapped[time] = mapped_column(Time)
    work_end: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=120)
    active: Mapped[bool] = mapped_column(default=True)


class AppointmentRecord(DomainBase):
    """A surveyor's (or examiner's) booked slot; the unique key makes double-booking impossible."""

    __tablename__ = "appointments"
    __table_args__ = (UniqueConstraint("surveyor_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    surveyor_id: Mapped[int] = mapped_column(ForeignKey("surveyors.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))  # survey / medical_exam
    reference: Mapped[str] = mapped_column(String(120), unique=True)  # idempotency key of the booking
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CompanyDayRecord(DomainBase):
    """A company-specific day that overrides the statutory calendar: closed (`working` false) or opened."""

    __tablename__ = "company_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(100))


class NotificationRecord(DomainBase):
    """The outbox of customer messages."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # sms / email / letter
    template: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
