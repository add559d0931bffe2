"""The business calendar: statutory holidays and 调休 from chinese-calendar, company days on top, and an
honest fallback (weekends only, logged once) for a year the package does not know."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from tasks import business_calendar
from tasks.business_calendar import COMPANY, STATUTORY, WEEKENDS_ONLY, BusinessCalendar, statutory_years


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(business_calendar, "_warned_years", set())


def first_monday(year: int) -> date:
    day = date(year, 1, 5)
    return day + timedelta(days=-day.weekday())


def test_a_statutory_holiday_on_a_weekday_is_not_worked_and_is_named_in_both_languages() -> None:
    answer = BusinessCalendar().day(date(2026, 2, 17))  # a Tuesday of the Spring Festival week
    assert not answer.working and answer.source == STATUTORY
    assert answer.name == "Spring Festival 春节"


def test_an_adjusted_working_saturday_is_worked() -> None:
    answer = BusinessCalendar().day(date(2026, 2, 14))  # 调休: worked in exchange for the festival week
    assert answer.working and answer.source == STATUTORY and answer.name == "Spring Festival 春节"


def test_an_ordinary_weekend_is_not_worked_and_an_ordinary_weekday_is() -> None:
    calendar = BusinessCalendar()
    assert not calendar.is_working_day(date(2026, 11, 7))  # Saturday
    assert calendar.is_working_day(date(2026, 11, 9))  # Monday


def test_working_days_follow_the_national_day_week_and_its_adjusted_saturday() -> None:
    days = list(BusinessCalendar().working_days(date(2026, 9, 30), date(2026, 10, 12)))
    assert days == [date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10), date(2026, 10, 12)]


def test_company_days_win_over_the_statutory_calendar() -> None:
    closed, opened = date(2026, 11, 9), date(2026, 10, 3)  # a Monday; a National Day Saturday
    calendar = BusinessCalendar({closed: (False, "Office move"), opened: (True, "Typhoon claims weekend")})
    assert calendar.day(closed) == business_calendar.CalendarDay(closed, False, "Office move", COMPANY)
    assert calendar.day(opened).working and calendar.day(opened).source == COMPANY


@pytest.mark.parametrize("year", [statutory_years().stop, statutory_years().stop + 50, statutory_years().start - 1],
                         ids=["next year", "far future", "before the first"])
def test_a_year_the_package_does_not_know_counts_weekends_only_and_says_so(year: int) -> None:
    monday = first_monday(year)
    calendar = BusinessCalendar()
    assert calendar.day(monday).working and calendar.day(monday).source == WEEKENDS_ONLY
    saturday = monday + timedelta(days=5)
    assert not calendar.day(saturday).working and calendar.day(saturday).source == WEEKENDS_ONLY


def test_the_fallback_is_logged_once_a_year_and_names_the_year(caplog: pytest.LogCaptureFixture) -> None:
    year = statutory_years().stop + 1
    calendar = BusinessCalendar()
    with caplog.at_level(logging.WARNING, logger="tasks.business_calendar"):
        list(calendar.working_days(date(year, 1, 1), date(year, 3, 31)))
        list(calendar.working_days(date(year + 1, 1, 1), date(year + 1, 1, 31)))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert f"for {year} are not known" in warnings[0] and "weekends" in warnings[0]
    assert f"for {year + 1} are not known" in warnings[1]


def test_a_company_day_in_an_unknown_year_still_counts_and_needs_no_fallback(caplog: pytest.LogCaptureFixture) -> None:
    day = first_monday(statutory_years().stop + 3)
    with caplog.at_level(logging.WARNING, logger="tasks.business_calendar"):
        answer = BusinessCalendar({day: (False, "Spring Festival (company notice)")}).day(day)
    assert not answer.working and answer.source == COMPANY
    assert not caplog.records


def test_the_known_years_include_this_project_s_first_year() -> None:
    assert 2026 in statutory_years()
