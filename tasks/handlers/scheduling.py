"""On-site survey and medical-exam scheduling: the least-loaded covering surveyor's next free slot.

Slots fall on the business calendar's working days (statutory holidays and 调休 from
tasks/business_calendar.py, overridden by the company's own days). Working hours are local
(Asia/Shanghai) wall-clock times; appointments are stored in UTC. Two
bookings racing for the same slot are kept apart by the unique key (surveyor, start): the loser's
insert fails inside a savepoint and it tries the next free slot.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.registry import BpmnError, HandlerContext

from ..business_calendar import BusinessCalendar
from ..office_records import AppointmentRecord, SurveyorRecord
from ..records import ClaimRecord, CustomerRecord
from ..timeline import set_claim_status

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# Bounds on the search, not business rules: how far ahead to look for a free slot, and how many
# slots to try when concurrent bookings keep taking the one just chosen.
SEARCH_HORIZON_DAYS = 60
MAX_BOOKING_ATTEMPTS = 10


@dataclass(frozen=True, order=True)
class Slot:
    """A block of a surveyor's working time, in UTC."""

    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Slot) -> bool:
        """Whether the two blocks share any time."""
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def day_slots(day: date, work_start: time, work_end: time, slot_minutes: int, tz: ZoneInfo = LOCAL_TZ) -> list[Slot]:
    """Consecutive `slot_minutes` blocks from `work_start` that end by `work_end` (local times), in UTC."""
    if slot_minutes <= 0:
        raise ValueError(f"slot length must be positive, got {slot_minutes} minutes")
    step = timedelta(minutes=slot_minutes)
    start = datetime.combine(day, work_start, tzinfo=tz)
    end = datetime.combine(day, work_end, tzinfo=tz)
    slots = []
    while start + step <= end:
        slots.append(Slot(start.astimezone(UTC), (start + step).astimezone(UTC)))
        start += step
    return slots


def first_free_slot(candidates: Iterable[Slot], not_before: datetime, booked: Collection[Slot]) -> Slot | None:
    """The first candidate starting at or after `not_before` that overlaps no booked slot."""
    for slot in candidates:
        if slot.starts_at >= not_before and not any(slot.overlaps(b) for b in booked):
            return slot
    return None


def schedule_survey(ctx: HandlerContext, claim_id: int, region: str) -> dict[str, Any]:
    """Book the claim's on-site survey with the least-loaded surveyor covering the region."""
    claim = ctx.session.get(ClaimRecord, claim_id)
    if claim is None:
        raise LookupError(f"no claim {claim_id}")
    appointment, surveyor, created = _book(ctx, "surveyor", region, "survey", claim.id)
    if created:
        set_claim_status(ctx.session, claim, "survey_scheduled", ctx.now())
    return {"appointment_id": appointment.id, "surveyor": surveyor.username, **_times(appointment)}


def schedule_medical_exam(ctx: HandlerContext, customer_id: int, region: str) -> dict[str, Any]:
    """Book the applicant's medical exam with the least-loaded examiner covering the region; `examiner_name` is
    the place the customer is told to go (the appointment notice quotes it)."""
    if ctx.session.get(CustomerRecord, customer_id) is None:
        raise LookupError(f"no customer {customer_id}")
    appointment, examiner, _ = _book(ctx, "examiner", region, "medical_exam", None)
    local = appointment.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return {"appointment_id": appointment.id, "examiner": examiner.username, "examiner_name": examiner.name,
            "local_time": local, **_times(appointment)}


@dataclass(frozen=True)
class _Offer:
    surveyor: SurveyorRecord
    slot: Slot
    load: int


def _book(
    ctx: HandlerContext, kind: str, region: str, purpose: str, claim_id: int | None,
) -> tuple[AppointmentRecord, SurveyorRecord, bool]:
    """The appointment booked under this step's key (made now if there is none yet), its surveyor,
    and whether it was made now."""
    session, key = ctx.session, ctx.idempotency_key
    existing = _by_reference(session, key)
    if existing is not None:
        return existing, _surveyor(session, existing), False
    surveyors = _covering(session, kind, region)
    if not surveyors:
        raise BpmnError("no_surveyor", f"no surveyor covers region {region}", {"region": region})
    now = ctx.now()
    today = now.astimezone(LOCAL_TZ).date()
    last = today + timedelta(days=SEARCH_HORIZON_DAYS)
    days = list(BusinessCalendar.load(session, today, last).working_days(today, last))
    lost: set[tuple[int, datetime]] = set()
    for _ in range(MAX_BOOKING_ATTEMPTS):
        offer = _best_offer(session, surveyors, days, now, lost)
        if offer is None:
            raise BpmnError("no_surveyor", f"no surveyor covering region {region} has a free slot in the next "
                            f"{SEARCH_HORIZON_DAYS} days", {"region": region})
        record = AppointmentRecord(surveyor_id=offer.surveyor.id, claim_id=claim_id, purpose=purpose, reference=key,
                                   starts_at=offer.slot.starts_at, ends_at=offer.slot.ends_at, created_at=now)
        try:
            # The savepoint keeps the step's transaction usable when a concurrent booking wins the slot.
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            existing = _by_reference(session, key)
            if existing is not None:  # the same step booked concurrently elsewhere
                return existing, _surveyor(session, existing), False
            lost.add((offer.surveyor.id, offer.slot.starts_at))
            continue
        return record, offer.surveyor, True
    raise RuntimeError(f"concurrent bookings took {MAX_BOOKING_ATTEMPTS} slots in a row in region {region}; retry")


def _best_offer(
    session: Session, surveyors: list[SurveyorRecord], days: list[date], now: datetime,
    lost: Collection[tuple[int, datetime]],
) -> _Offer | None:
    """Least load first, then the earliest free slot, then the user name."""
    rows = session.execute(
        select(AppointmentRecord.surveyor_id, AppointmentRecord.starts_at, AppointmentRecord.ends_at)
        .where(AppointmentRecord.surveyor_id.in_([s.id for s in surveyors]), AppointmentRecord.ends_at > now)
    ).all()
    offers = []
    for surveyor in surveyors:
        mine = [Slot(starts, ends) for sid, starts, ends in rows if sid == surveyor.id]
        load = sum(1 for b in mine if b.starts_at >= now)
        # A slot lost to a concurrent booking stays out even if this transaction cannot see that booking yet.
        candidates = (c for c in _slots(surveyor, days) if (surveyor.id, c.starts_at) not in lost)
        slot = first_free_slot(candidates, now, mine)
        if slot is not None:
            offers.append(_Offer(surveyor, slot, load))
    return min(offers, key=lambda o: (o.load, o.slot.starts_at, o.surveyor.username), default=None)


def _slots(surveyor: SurveyorRecord, days: Iterable[date]) -> Iterator[Slot]:
    for day in days:
        yield from day_slots(day, surveyor.work_start, surveyor.work_end, surveyor.slot_minutes)


def _covering(session: Session, kind: str, region: str) -> list[SurveyorRecord]:
    # Regions are a JSON list: matched here rather than with dialect-specific JSON operators.
    active = session.scalars(select(SurveyorRecord).where(SurveyorRecord.kind == kind,
                                                          SurveyorRecord.active.is_(True)))
    return [s for s in active if region in (s.regions or [])]


def _by_reference(session: Session, key: str) -> AppointmentRecord | None:
    return session.scalar(select(AppointmentRecord).where(AppointmentRecord.reference == key))


def _surveyor(session: Session, appointment: AppointmentRecord) -> SurveyorRecord:
    return session.get_one(SurveyorRecord, appointment.surveyor_id)


def _times(appointment: AppointmentRecord) -> dict[str, str]:
    return {"starts_at": appointment.starts_at.astimezone(UTC).isoformat(),
            "ends_at": appointment.ends_at.astimezone(UTC).isoformat()}


HANDLERS = [schedule_survey, schedule_medical_exam]
