"""`insureflow calendar`: the days off and worked weekend days an operator can see, and company days."""

from __future__ import annotations

from tasks.business_calendar import statutory_years
from tests.cli.conftest import Cli


def test_show_lists_statutory_holidays_and_adjusted_working_days(run: Cli) -> None:
    shown = run.json("calendar", "show", "--from", "2026-09-18", "--to", "2026-10-12")
    days = {d["day"]: (d["working"], d["source"]) for d in shown["days"]}
    assert days["2026-09-20"] == (True, "statutory")  # a Sunday worked (调休)
    assert days["2026-10-01"] == (False, "statutory")
    assert days["2026-10-10"] == (True, "statutory")
    assert "2026-10-03" not in days  # a Saturday off is no exception to the weekday rule
    assert shown["unknown_years"] == []


def test_show_warns_about_years_the_statutory_calendar_does_not_know(run: Cli) -> None:
    year = statutory_years().stop
    shown = run.json("calendar", "show", "--from", f"{year}-01-01", "--to", f"{year}-01-31")
    assert shown["unknown_years"] == [year] and shown["days"] == []
    text = run("calendar", "show", "--from", f"{year}-01-01", "--to", f"{year}-01-31").output
    assert f"WARNING: {year} not known" in text


def test_company_days_are_set_shown_and_removed(run: Cli) -> None:
    assert run.json("calendar", "set", "2026-11-09", "--closed", "--name", "Office move")["working"] is False
    assert run.json("calendar", "set", "2026-10-03", "--open", "--name", "Typhoon claims weekend")["working"]
    shown = run.json("calendar", "show", "--from", "2026-10-01", "--to", "2026-11-30")["days"]
    company = {d["day"]: (d["working"], d["name"]) for d in shown if d["source"] == "company"}
    assert company == {"2026-11-09": (False, "Office move"), "2026-10-03": (True, "Typhoon claims weekend")}

    again = run.json("calendar", "unset", "2026-10-03")
    assert again == {"day": "2026-10-03", "working": False, "name": "National Day 国庆节", "source": "statutory"}


def test_bad_calendar_input_is_refused_and_changes_nothing(run: Cli) -> None:
    blank = run("calendar", "set", "2026-11-09", "--closed", "--name", "  ")
    assert blank.exit_code == 6 and "name" in blank.stderr
    missing = run("calendar", "unset", "2026-11-10")
    assert missing.exit_code == 3 and "not a company day" in missing.stderr
    assert run("calendar", "set", "2026-13-01", "--closed", "--name", "x").exit_code == 2
    backwards = run("calendar", "show", "--from", "2026-11-10", "--to", "2026-11-01")
    assert backwards.exit_code == 6
    assert not [d for d in run.json("calendar", "show", "--from", "2026-11-01", "--to", "2026-11-30")["days"]]
