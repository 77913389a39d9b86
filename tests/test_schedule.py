"""Schedule math against hand-worked times.

Calendar facts used below (worked out by hand): 2026-01-01 is a Thursday, so 2026-03-01 and
2026-11-01 are Sundays. America/New_York springs forward on the second Sunday of March
(2026-03-08, 02:00 EST → 03:00 EDT) and falls back on the first Sunday of November
(2026-11-01, 02:00 EDT → 01:00 EST). EST = UTC-5, EDT = UTC-4, JST = UTC+9 all year.
"""

from __future__ import annotations

import datetime as dt

import pytest

from reporting_dagster.lib.requests.schedule import (
    ScheduleError,
    covered_months,
    latest_completed_month,
    next_run_time,
)

UTC = dt.timezone.utc


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


NEXT_RUN_CASES = [
    # (id, frequency, day, time_of_day, timezone, after, expected UTC)
    ("monthly-before-slot", "monthly", 15, "06:00", "UTC", utc(2026, 3, 15, 5, 59), utc(2026, 3, 15, 6, 0)),
    ("monthly-exactly-at-slot", "monthly", 15, "06:00", "UTC", utc(2026, 3, 15, 6, 0), utc(2026, 4, 15, 6, 0)),
    ("monthly-day28-into-february", "monthly", 28, "06:00", "UTC", utc(2026, 1, 31, 10, 0), utc(2026, 2, 28, 6, 0)),
    ("monthly-december-to-january", "monthly", 1, "06:00:00", "UTC", utc(2026, 12, 1, 6, 0), utc(2027, 1, 1, 6, 0)),
    # `after` given with +01:00: 07:00+01:00 is exactly the 06:00 UTC slot, so the next one is due.
    ("monthly-after-in-other-offset", "monthly", 15, "06:00", "UTC",
     dt.datetime(2026, 3, 15, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))), utc(2026, 4, 15, 6, 0)),
    ("quarterly-from-february", "quarterly", 5, "06:00", "UTC", utc(2026, 2, 10), utc(2026, 4, 5, 6, 0)),
    ("quarterly-from-april-1", "quarterly", 5, "06:00", "UTC", utc(2026, 4, 1), utc(2026, 4, 5, 6, 0)),
    ("quarterly-exactly-at-slot", "quarterly", 5, "06:00", "UTC", utc(2026, 4, 5, 6, 0), utc(2026, 7, 5, 6, 0)),
    ("quarterly-into-next-year", "quarterly", 5, "06:00", "UTC", utc(2026, 10, 5, 6, 0), utc(2027, 1, 5, 6, 0)),
    ("annual-same-year", "annual", 10, "06:00", "UTC", utc(2026, 1, 5), utc(2026, 1, 10, 6, 0)),
    ("annual-one-second-late", "annual", 10, "06:00", "UTC", utc(2026, 1, 10, 6, 0, 1), utc(2027, 1, 10, 6, 0)),
    ("annual-from-mid-year", "annual", 10, "06:00", "UTC", utc(2026, 6, 30), utc(2027, 1, 10, 6, 0)),
    # New York, day 8 at 02:30. January: EST, 02:30 + 5 h = 07:30 UTC.
    ("new-york-est", "monthly", 8, "02:30", "America/New_York", utc(2026, 1, 1), utc(2026, 1, 8, 7, 30)),
    # 2026-03-08 02:30 does not exist (clocks jump 02:00 → 03:00); the pre-change offset (EST, -5)
    # is used: 02:30 + 5 h = 07:30 UTC (03:30 EDT on the wall).
    ("new-york-dst-gap", "monthly", 8, "02:30", "America/New_York", utc(2026, 3, 1), utc(2026, 3, 8, 7, 30)),
    ("new-york-just-before-gap-slot", "monthly", 8, "02:30", "America/New_York",
     utc(2026, 3, 8, 7, 29, 59), utc(2026, 3, 8, 7, 30)),
    # After the gap slot, April 8 02:30 is EDT: 02:30 + 4 h = 06:30 UTC.
    ("new-york-edt", "monthly", 8, "02:30", "America/New_York", utc(2026, 3, 8, 7, 30), utc(2026, 4, 8, 6, 30)),
    # 2026-11-01 01:30 happens twice; the first (EDT, -4) counts: 01:30 + 4 h = 05:30 UTC.
    ("new-york-dst-overlap", "monthly", 1, "01:30", "America/New_York", utc(2026, 10, 15), utc(2026, 11, 1, 5, 30)),
    # The second 01:30 (EST, 06:30 UTC) is not another slot; next is Dec 1 01:30 EST = 06:30 UTC.
    ("new-york-overlap-runs-once", "monthly", 1, "01:30", "America/New_York",
     utc(2026, 11, 1, 5, 30), utc(2026, 12, 1, 6, 30)),
    # 2026-01-31 22:00 UTC is 2026-02-01 07:00 JST, past Feb 1 06:00 JST; next is Mar 1 06:00 JST
    # = 2026-02-28 21:00 UTC.
    ("tokyo-past-local-slot", "monthly", 1, "06:00", "Asia/Tokyo", utc(2026, 1, 31, 22, 0), utc(2026, 2, 28, 21, 0)),
    # 2026-12-31 20:00 UTC is 2027-01-01 05:00 JST; the slot 2027-01-01 06:00 JST = 2026-12-31 21:00 UTC.
    ("tokyo-year-boundary", "monthly", 1, "06:00", "Asia/Tokyo", utc(2026, 12, 31, 20, 0), utc(2026, 12, 31, 21, 0)),
    # Same instant, quarterly: January is a run month in Tokyo although the UTC date is in December.
    ("tokyo-quarterly-local-month", "quarterly", 1, "06:00", "Asia/Tokyo",
     utc(2026, 12, 31, 20, 0), utc(2026, 12, 31, 21, 0)),
]


@pytest.mark.parametrize(
    "frequency, day, time_of_day, timezone, after, expected",
    [case[1:] for case in NEXT_RUN_CASES],
    ids=[case[0] for case in NEXT_RUN_CASES],
)
def test_next_run_time(frequency, day, time_of_day, timezone, after, expected):
    result = next_run_time(frequency, day, time_of_day, timezone, after)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize("time_of_day", ["06:00", "06:00:00", " 06:00 ", dt.time(6, 0)])
def test_time_of_day_forms(time_of_day):
    assert next_run_time("monthly", 15, time_of_day, "UTC", utc(2026, 3, 1)) == utc(2026, 3, 15, 6, 0)


def test_time_of_day_seconds_kept():
    # 06:00:30 Berlin in March before the change (CET, +1) = 05:00:30 UTC.
    assert next_run_time("monthly", 15, "06:00:30", "Europe/Berlin", utc(2026, 3, 1)) == utc(2026, 3, 15, 5, 0, 30)


def test_on_demand_has_no_next_run():
    assert next_run_time("on_demand", None, "06:00", "UTC", utc(2026, 3, 1)) is None


@pytest.mark.parametrize(
    "frequency, day, time_of_day, timezone, message",
    [
        ("monthly", None, "06:00", "UTC", "day_of_month is required"),
        ("quarterly", None, "06:00", "UTC", "day_of_month is required"),
        ("monthly", 31, "06:00", "UTC", "day_of_month must be between 1 and 28, got 31"),
        ("monthly", 0, "06:00", "UTC", "day_of_month must be between 1 and 28, got 0"),
        ("monthly", "5", "06:00", "UTC", "day_of_month must be a whole number"),
        ("monthly", 5, "06:00", "Mars/Base", "unknown time zone 'Mars/Base'; use an IANA name such as Europe/Berlin"),
        ("monthly", 5, "06:00", "", "unknown time zone ''"),
        ("monthly", 5, "06:00", "America", "unknown time zone 'America'"),
        ("monthly", 5, "6am", "UTC", "time_of_day must look like HH:MM or HH:MM:SS"),
        ("monthly", 5, "25:00", "UTC", "time_of_day must look like HH:MM or HH:MM:SS"),
        ("monthly", 5, dt.time(6, 0, tzinfo=UTC), "UTC", "without a UTC offset"),
        ("weekly", 5, "06:00", "UTC", "unknown frequency 'weekly'; use one of monthly, quarterly, annual, on_demand"),
    ],
)
def test_unschedulable_settings(frequency, day, time_of_day, timezone, message):
    with pytest.raises(ScheduleError, match=message):
        next_run_time(frequency, day, time_of_day, timezone, utc(2026, 3, 1))


def test_naive_after_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware") as info:
        next_run_time("monthly", 15, "06:00", "UTC", dt.datetime(2026, 3, 1))
    assert not isinstance(info.value, ScheduleError)


@pytest.mark.parametrize(
    "today, expected",
    [
        (dt.date(2026, 3, 1), "2026-02"),
        (dt.date(2026, 1, 31), "2025-12"),
        (dt.date(2026, 12, 31), "2026-11"),
    ],
)
def test_latest_completed_month(today, expected):
    assert latest_completed_month(today) == expected


PREVIOUS_YEAR = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06",
                 "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]


@pytest.mark.parametrize(
    "frequency, today, expected",
    [
        ("monthly", dt.date(2026, 4, 5), ["2026-03"]),
        ("monthly", dt.date(2026, 1, 3), ["2025-12"]),
        ("on_demand", dt.date(2026, 1, 3), ["2025-12"]),
        ("quarterly", dt.date(2026, 4, 5), ["2026-01", "2026-02", "2026-03"]),
        ("quarterly", dt.date(2026, 5, 10), ["2026-01", "2026-02", "2026-03"]),  # Q2 not over yet
        ("quarterly", dt.date(2026, 6, 30), ["2026-01", "2026-02", "2026-03"]),
        ("quarterly", dt.date(2026, 7, 1), ["2026-04", "2026-05", "2026-06"]),
        ("quarterly", dt.date(2026, 1, 5), ["2025-10", "2025-11", "2025-12"]),
        ("quarterly", dt.date(2026, 12, 31), ["2026-07", "2026-08", "2026-09"]),
        ("annual", dt.date(2026, 1, 10), PREVIOUS_YEAR),
        ("annual", dt.date(2026, 12, 31), PREVIOUS_YEAR),
    ],
)
def test_covered_months(frequency, today, expected):
    assert covered_months(frequency, today) == expected


def test_covered_months_unknown_frequency():
    with pytest.raises(ScheduleError, match="unknown frequency 'weekly'"):
        covered_months("weekly", dt.date(2026, 4, 5))
