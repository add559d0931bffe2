"""How case data reads: money as ¥ with thousands and cents, times in the staff's time zone to the minute
(`[web] timezone`), whole numbers without '.0'."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import Babel

from webui.case_text import Labels, localtime
from webui.web_security import display_timezone


@pytest.fixture
def app() -> Flask:
    bare = Flask(__name__)
    Babel(bare)
    return bare


def test_money_times_and_numbers_read_as_people_write_them(app: Flask) -> None:
    labels = Labels(money={"claimed_amount"})
    with app.test_request_context():
        assert labels.value("claimed_amount", 74000) == "¥74,000.00"
        assert labels.value("suggested_amount", 29000.0) == "¥29,000.00"  # a computed amount, by its name
        assert labels.value("claimed_amount", "not a number") == "not a number"
        assert labels.value("occupation_class", 3.0) == "3"
        assert labels.value("decided_at", "2026-12-07T04:05:06.123456+00:00") == "2026-12-07 12:05"  # Shanghai
        assert localtime("2026-12-07T04:05:06.999999+00:00") == "2026-12-07 12:05"


def test_the_time_zone_is_an_instance_setting(app: Flask) -> None:
    app.config["DISPLAY_TIMEZONE"] = display_timezone({"timezone": "Europe/Berlin"})
    with app.test_request_context():
        assert localtime("2026-12-07T04:05:06+00:00") == "2026-12-07 05:05"
    assert display_timezone({}) == ZoneInfo("Asia/Shanghai")
    for wrong in ("Mars/Olympus", 8, ""):
        with pytest.raises(ValueError, match="timezone"):
            display_timezone({"timezone": wrong})
