"""Working days in mainland China, for the 10-working-day step deadlines.

A day is a working day unless it is a public holiday or a weekend, except that a weekend
day can be a make-up workday (调休上班). The ``holidays`` package knows both: the dates
of ``holidays.China`` are the days off (statutory days, their observed days and the days
moved by 调休), and its ``weekend_workdays`` are the make-up workdays, taken from the
State Council notices it ships (through 2026 in holidays 0.109). For later years it
estimates the days off by rule and knows no make-up workdays, so a province admin enters
the published schedule as overrides, which win over the library.

Pure functions, no database: the caller loads the province's overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

Overrides = Mapping[date, bool] | None

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class _YearTable:
    days_off: frozenset[date]
    makeup_workdays: frozenset[date]


@lru_cache(maxsize=64)
def _year_table(year: int) -> _YearTable:
    """The library's days off and make-up workdays of one year (building it is slow)."""
    calendar = holidays.China(years=year, language="en_US")
    # weekend_workdays also holds make-up days the library pre-loads from other years.
    return _YearTable(
        days_off=frozenset(day for day in calendar if day.year == year),
        makeup_workdays=frozenset(day for day in calendar.weekend_workdays if day.year == year),
    )


def is_working_day(d: date, overrides: Overrides = None) -> bool:
    """True when ``d`` is a working day: override, then 调休 workday, holiday, weekend."""
    if overrides and d in overrides:
        return bool(overrides[d])
    table = _year_table(d.year)
    if d in table.makeup_workdays:
        return True
    if d in table.days_off:
        return False
    return d.weekday() < _SATURDAY


def add_working_days(start: date, n: int, overrides: Overrides = None) -> date:
    """The n-th working day after ``start`` (``start`` itself does not count).

    ``n == 0`` gives ``start``; a negative ``n`` gives the |n|-th working day before it.
    """
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    day = start
    for _ in range(abs(n)):
        day += step
        while not is_working_day(day, overrides):
            day += step
    return day


def working_days_between(start: date, end: date, overrides: Overrides = None) -> int:
    """Working days after ``start`` up to and including ``end``; negative when end < start.

    For end < start it is minus the working days after ``end`` up to and including
    ``start``, so that ``working_days_between(a, b) == -working_days_between(b, a)``.
    """
    if end < start:
        return -working_days_between(end, start, overrides)
    count = 0
    day = start + _ONE_DAY
    while day <= end:
        count += is_working_day(day, overrides)
        day += _ONE_DAY
    return count


def warm(today: date | None = None) -> None:
    """Build this year's and next year's tables now (a server calls it at start), so the
    first request that computes a deadline does not pay for it."""
    year = (today or date.today()).year
    _year_table(year)
    _year_table(year + 1)
