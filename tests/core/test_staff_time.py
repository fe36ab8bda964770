"""The one staff time format (pure functions, no server)."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from core.staff_time import file_stamp, staff_range, staff_time

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)  # 21:00 in Berlin


@pytest.fixture(autouse=True)
def berlin():
    with timezone.override(BERLIN):
        yield


def test_a_moment_today_is_the_clock_and_the_zone():
    assert staff_time(NOW, now=NOW) == "21:00 CET"


def test_a_moment_on_another_day_carries_its_date():
    assert staff_time(NOW + dt.timedelta(hours=4), now=NOW) == "Mon 7 Dec 01:00 CET"


def test_seconds_when_asked():
    assert staff_time(NOW, now=NOW, seconds=True) == "21:00:00 CET"


def test_no_moment_is_a_dash():
    assert staff_time(None) == "-"


def test_a_range_today_a_range_tomorrow_and_one_across_midnight():
    two_hours = dt.timedelta(hours=2)
    assert staff_range(NOW, NOW + two_hours, now=NOW) == "21:00\u201323:00 CET"
    tomorrow = NOW + dt.timedelta(hours=12)
    assert staff_range(tomorrow, tomorrow + two_hours, now=NOW) == "Mon 7 Dec 09:00\u201311:00 CET"
    late = NOW + dt.timedelta(hours=2)
    assert (
        staff_range(late, late + two_hours, now=NOW) == "Sun 6 Dec 23:00 \u2013 Mon 7 Dec 01:00 CET"
    )


def test_file_stamp_is_local_and_sortable():
    assert file_stamp(NOW) == "2026-12-06-2100"
