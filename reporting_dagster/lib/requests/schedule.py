"""Schedule math for scheduled_report rows: when the next run is due and which months it covers.

Pure functions (no Dagster, no database) so the rules can be checked against hand-worked times.
The platform's SQL helpers `calculate_next_run_time` and `get_latest_completed_billing_period`
are the models; the rules are restated here because the runs are driven from Python.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FREQUENCIES = ("monthly", "quarterly", "annual", "on_demand")
_RUN_MONTHS = {
    "monthly": tuple(range(1, 13)),
    "quarterly": (1, 4, 7, 10),
    "annual": (1,),
}
MAX_DAY_OF_MONTH = 28  # every month has a day 28, so a schedule never skips a short month


class ScheduleError(ValueError):
    """A scheduled_report setting that cannot be scheduled; the message says how to fix it."""


def next_run_time(
    frequency: str,
    day_of_month: int | None,
    time_of_day: dt.time | str,
    timezone: str,
    after: dt.datetime,
) -> dt.datetime | None:
    """The first run strictly after `after`, as an aware UTC datetime; None for on_demand.

    A run is `day_of_month` at `time_of_day` wall-clock time in the IANA `timezone`: every
    month (monthly), in January/April/July/October (quarterly) or in January (annual). A slot
    equal to `after` is not returned, so passing the run that just happened yields the next one.

    Local times the clock skips or repeats are read with zoneinfo's fold=0:
    - gap (e.g. 02:30 on the March change day in America/New_York does not exist): the offset in
      force *before* the change applies, so 02:30 EST = 07:30 UTC (03:30 EDT on the wall);
    - overlap (e.g. 01:30 on the November change day happens twice): the first occurrence, still
      on summer time (01:30 EDT = 05:30 UTC).
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"'after' must be timezone-aware, got naive {after.isoformat()}")
    run_months = _run_months(frequency)
    if run_months is None:
        return None
    day = _check_day(day_of_month)
    wall = _parse_time(time_of_day)
    zone = _zone(timezone)

    # Start one month before `after`'s local month (harmless, and safe for slots moved by a gap)
    # and walk forward; a run month comes at least once every 12 months.
    local_after = after.astimezone(zone)
    year, month = _add_months(local_after.year, local_after.month, -1)
    for _ in range(15):
        if month in run_months:
            slot = dt.datetime.combine(dt.date(year, month, day), wall, tzinfo=zone).replace(fold=0)
            slot_utc = slot.astimezone(dt.timezone.utc)
            if slot_utc > after:
                return slot_utc
        year, month = _add_months(year, month, 1)
    raise AssertionError("unreachable: a run month occurs within 12 months")  # pragma: no cover


def latest_completed_month(today: dt.date) -> str:
    """The billing period key ("YYYY-MM") of the month before `today`'s month."""
    year, month = _add_months(today.year, today.month, -1)
    return f"{year:04d}-{month:02d}"


def covered_months(frequency: str, today: dt.date) -> list[str]:
    """Billing period keys a schedule with no fixed billing_period_id covers when it runs on `today`.

    monthly and on_demand: the latest completed month; quarterly: the three months of the last
    completed calendar quarter; annual: the twelve months of the last completed calendar year.
    `today` is the run's date in the schedule's own time zone.
    """
    if frequency not in FREQUENCIES:
        raise ScheduleError(_unknown_frequency(frequency))
    if frequency in ("monthly", "on_demand"):
        return [latest_completed_month(today)]
    if frequency == "quarterly":
        quarter_start = (today.month - 1) // 3 * 3 + 1
        year, first = _add_months(today.year, quarter_start, -3)
        return [f"{year:04d}-{m:02d}" for m in range(first, first + 3)]
    return [f"{today.year - 1:04d}-{m:02d}" for m in range(1, 13)]


def _run_months(frequency: str) -> tuple[int, ...] | None:
    if frequency == "on_demand":
        return None
    try:
        return _RUN_MONTHS[frequency]
    except (KeyError, TypeError):
        raise ScheduleError(_unknown_frequency(frequency)) from None


def _unknown_frequency(frequency: object) -> str:
    return f"unknown frequency {frequency!r}; use one of {', '.join(FREQUENCIES)}"


def _check_day(day_of_month: int | None) -> int:
    if day_of_month is None:
        raise ScheduleError(
            f"day_of_month is required for a monthly, quarterly or annual schedule (1–{MAX_DAY_OF_MONTH})")
    if isinstance(day_of_month, bool) or not isinstance(day_of_month, int):
        raise ScheduleError(f"day_of_month must be a whole number between 1 and {MAX_DAY_OF_MONTH}, "
                            f"got {day_of_month!r}")
    if not 1 <= day_of_month <= MAX_DAY_OF_MONTH:
        raise ScheduleError(f"day_of_month must be between 1 and {MAX_DAY_OF_MONTH}, got {day_of_month}")
    return day_of_month


def _parse_time(time_of_day: dt.time | str) -> dt.time:
    if isinstance(time_of_day, dt.time):
        if time_of_day.tzinfo is not None:
            raise ScheduleError("time_of_day is a wall-clock time in the schedule's timezone; "
                                "give it without a UTC offset")
        return time_of_day
    if isinstance(time_of_day, str):
        for fmt in ("%H:%M:%S", "%H:%M"):
            try:
                return dt.datetime.strptime(time_of_day.strip(), fmt).time()
            except ValueError:
                continue
    raise ScheduleError(f"time_of_day must look like HH:MM or HH:MM:SS (24-hour), got {time_of_day!r}")


def _zone(timezone: str) -> ZoneInfo:
    try:
        if not isinstance(timezone, str) or not timezone.strip():
            raise ValueError
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder name such as "America"
        raise ScheduleError(
            f"unknown time zone {timezone!r}; use an IANA name such as Europe/Berlin") from None


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1
