"""The business calendar: which days the company works.

China's statutory holidays and adjusted working days (调休, a Saturday or Sunday worked in exchange
for a longer holiday) come from the `chinese-calendar` package, which follows the State Council's
yearly notice. The company's own days — a closed day, or a weekend day opened — are rows of
`company_days` and win over the statutory answer. For a year the package does not know yet, only
weekends are days off: the log says so once per year and process, and `source` says so on every
answer, so nobody takes a guess for the official calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from .office_records import CompanyDayRecord

log = logging.getLogger(__name__)

SATURDAY = 5
COMPANY, STATUTORY, WEEKENDS_ONLY = "company", "statutory", "weekends_only"
_warned_years: set[int] = set()


@dataclass(frozen=True)
class CalendarDay:
    """One day's answer: whether it is worked, its name (holiday or company day) and where the answer
    came from — `company`, `statutory`, or `weekends_only` for a year the statutory calendar lacks."""

    day: date
    working: bool
    name: str | None
    source: str


def statutory_years() -> range:
    """The years whose statutory holidays and adjusted working days the installed package knows."""
    known = [d.year for d in chinese_calendar.holidays] + [d.year for d in chinese_calendar.workdays]
    return range(min(known), max(known) + 1)


def statutory_day(day: date) -> CalendarDay:
    """The statutory answer for `day`, or weekends only (warned once a year) when its year is unknown."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return CalendarDay(day, day.weekday() < SATURDAY, None, WEEKENDS_ONLY)
    return CalendarDay(day, not on_holiday, _holiday_name(name), STATUTORY)


def _holiday_name(name: str | None) -> str | None:
    if name is None:
        return None
    holiday = next((h for h in chinese_calendar.Holiday if h.value == name), None)
    return f"{name} {holiday.chinese}" if holiday is not None else name


def _warn_unknown_year(year: int) -> None:
    if year in _warned_years:
        return
    _warned_years.add(year)
    known = statutory_years()
    log.warning("business calendar: China's statutory holidays for %d are not known to chinese-calendar %s "
                "(it knows %d–%d); counting only weekends as days off in %d. Update the package or add the "
                "year's days as company days (insureflow calendar set).", year,
                getattr(chinese_calendar, "__version__", "?"), known.start, known.stop - 1, year)


class BusinessCalendar:
    """Working days from the statutory calendar overridden by the company's own days."""

    def __init__(self, company_days: Mapping[date, tuple[bool, str]] | None = None):
        self._company = dict(company_days or {})

    @classmethod
    def load(cls, session: Session, first: date, last: date) -> BusinessCalendar:
        """The calendar with the company days from `first` to `last` read from the database."""
        rows = session.execute(select(CompanyDayRecord.day, CompanyDayRecord.working, CompanyDayRecord.name)
                               .where(CompanyDayRecord.day >= first, CompanyDayRecord.day <= last))
        return cls({day: (working, name) for day, working, name in rows})

    def day(self, day: date) -> CalendarDay:
        """Whether `day` is worked, why, and by whose rule."""
        if day in self._company:
            working, name = self._company[day]
            return CalendarDay(day, working, name, COMPANY)
        return statutory_day(day)

    def is_working_day(self, day: date) -> bool:
        """Whether the company works on `day`."""
        return self.day(day).working

    def working_days(self, first: date, last: date) -> Iterator[date]:
        """The working days from `first` to `last`, both included, in order."""
        day = first
        while day <= last:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)


def exceptions(session: Session, first: date, last: date) -> list[CalendarDay]:
    """The days from `first` to `last` that break the Monday-to-Friday rule (holidays on weekdays,
    worked weekend days), and every company day, in order."""
    calendar = BusinessCalendar.load(session, first, last)
    days, day = [], first
    while day <= last:
        answer = calendar.day(day)
        if answer.source == COMPANY or answer.working != (day.weekday() < SATURDAY):
            days.append(answer)
        day += timedelta(days=1)
    return days


def set_company_day(session: Session, day: date, working: bool, name: str) -> CalendarDay:
    """Make `day` a company day, closed or opened, replacing what was set for it."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a company day needs a name of 1 to 100 characters")
    record = session.get(CompanyDayRecord, day)
    if record is None:
        session.add(CompanyDayRecord(day=day, working=working, name=name))
    else:
        record.working, record.name = working, name
    session.flush()
    return CalendarDay(day, working, name, COMPANY)


def remove_company_day(session: Session, day: date) -> CalendarDay:
    """Drop the company day on `day`; the statutory answer applies again and is returned."""
    record = session.get(CompanyDayRecord, day)
    if record is None:
        raise LookupError(f"{day.isoformat()} is not a company day")
    session.delete(record)
    session.flush()
    return statutory_day(day)
