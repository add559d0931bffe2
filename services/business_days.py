"""The business calendar's use cases: the days that break the Monday-to-Friday rule in a range, and the company's
own days set or removed (each in one unit of work)."""

from __future__ import annotations

from datetime import date

from engine.workflow.runtime import Runtime
from tasks import business_calendar
from tasks.business_calendar import CalendarDay


def exceptions(rt: Runtime, first: date, last: date) -> list[CalendarDay]:
    """Every statutory holiday, adjusted working day and company day from `first` to `last`."""
    with rt.uow(read_only=True) as uow:
        return business_calendar.exceptions(uow.session, first, last)


def set_company_day(rt: Runtime, day: date, working: bool, name: str) -> CalendarDay:
    """Make `day` a company day, worked or closed (ValueError for a bad name; nothing is kept then)."""
    with rt.uow() as uow:
        answer = business_calendar.set_company_day(uow.session, day, working, name)
        uow.commit()
    return answer


def remove_company_day(rt: Runtime, day: date) -> CalendarDay:
    """Remove a company day (LookupError when `day` is none); the statutory calendar applies to it again."""
    with rt.uow() as uow:
        answer = business_calendar.remove_company_day(uow.session, day)
        uow.commit()
    return answer
