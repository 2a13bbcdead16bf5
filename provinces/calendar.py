"""Deadlines in a province's working days: the national 10-working-day step limit (policy
``step_working_days``) counted on China's calendar plus the province's declared days off
and make-up workdays (``CalendarOverride``), both read through the shared cache."""

from __future__ import annotations

import datetime as dt

from kernel import workdays
from provinces.cache import province_setting
from provinces.models import CalendarOverride, ProvincePolicy


def calendar_overrides(province_code: str) -> dict[dt.date, bool]:
    """The province's declared days off and make-up workdays (from the shared cache)."""
    return province_setting(
        "calendar",
        province_code,
        lambda: dict(
            CalendarOverride.objects.filter(province_id=province_code[:2]).values_list("day", "is_working_day")
        ),
    )


def due_date(start: dt.date, *, province_code: str) -> dt.date:
    """The last day of a step opened on ``start`` in the province of ``province_code``."""
    policy = ProvincePolicy.for_province(province_code)
    return workdays.add_working_days(start, policy.step_working_days, calendar_overrides(province_code))


def working_days_between(start: dt.date, end: dt.date, *, province_code: str) -> int:
    """Working days after ``start`` up to and including ``end`` in that province."""
    return workdays.working_days_between(start, end, calendar_overrides(province_code))


def add_working_days(start: dt.date, days: int, *, province_code: str) -> dt.date:
    return workdays.add_working_days(start, days, calendar_overrides(province_code))
