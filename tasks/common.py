"""Small helpers every handler module shares: money, dates, the domain services, customer look-up."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import HandlerContext

from .records import CustomerRecord
from .services import DomainServices

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """A CNY amount as Decimal with two places (from process data: Decimal or int; from text: str)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def as_date(value: Any) -> date:
    """An ISO date string (or date) as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# Business dates (policy start, premium day, claim numbers) are the insurer's local dates.
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def business_date(ctx: HandlerContext) -> date:
    """Today in the insurer's time zone (UTC+8 runs ahead of UTC for eight hours a day)."""
    return ctx.now().astimezone(BUSINESS_TZ).date()


def services(ctx: HandlerContext) -> DomainServices:
    """The domain services the composition root handed to the engine."""
    if not isinstance(ctx.services, DomainServices):
        raise RuntimeError("the insurance handlers need DomainServices (wired by insureflow.bootstrap)")
    return ctx.services


def customer_by_id_number(session: Session, svc: DomainServices, id_number: str) -> CustomerRecord | None:
    """The customer with this resident ID number, found by its keyed hash."""
    digest = svc.cipher.lookup_hash(id_number)
    return session.scalar(select(CustomerRecord).where(CustomerRecord.id_number_hash == digest))


def age_on(birth: date, day: date) -> int:
    """Completed years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
