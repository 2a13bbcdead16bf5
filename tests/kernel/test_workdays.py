"""Working-day arithmetic for step deadlines, against the published State Council schedules."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kernel import workdays
from kernel.workdays import add_working_days, is_working_day, working_days_between


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# National Day 2025 (State Council notice of Nov 2024): Oct 1-8 off; Sun Sep 28 and Sat Oct 11 worked.
@pytest.mark.parametrize("day", days(date(2025, 10, 1), date(2025, 10, 8)))
def test_national_day_2025_is_off(day):
    assert not is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 9, 28), date(2025, 10, 11)])
def test_national_day_2025_make_up_workdays_are_worked(day):
    assert day.weekday() >= 5
    assert is_working_day(day)


def test_national_day_2025_surroundings():
    assert not is_working_day(date(2025, 9, 27))  # an ordinary Saturday
    assert is_working_day(date(2025, 9, 30))
    assert is_working_day(date(2025, 10, 9))
    assert not is_working_day(date(2025, 10, 12))  # an ordinary Sunday


def test_deadline_across_national_day_2025():
    # Oct 9, 10, 11 (Sat, make-up), 13-17, 20, 21.
    assert add_working_days(date(2025, 9, 30), 10) == date(2025, 10, 21)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 21)) == 10
    # From Friday Sep 26 the next working day is the make-up Sunday.
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)


# Spring Festival 2026 (State Council notice of Nov 2025): Feb 15-23 off; Sat Feb 14 and Sat Feb 28 worked.
@pytest.mark.parametrize("day", days(date(2026, 2, 15), date(2026, 2, 23)))
def test_spring_festival_2026_is_off(day):
    assert not is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_spring_festival_2026_make_up_workdays_are_worked(day):
    assert day.weekday() == 5
    assert is_working_day(day)


def test_deadline_across_spring_festival_2026():
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    # Feb 13, 14 (Sat, make-up), then Feb 24-27, 28 (Sat, make-up), Mar 2-4.
    assert add_working_days(date(2026, 2, 12), 10) == date(2026, 3, 4)
    assert working_days_between(date(2026, 2, 14), date(2026, 2, 23)) == 0


def test_whole_years_agree_with_the_library():
    calendar = holidays.China(years=[2025, 2026])
    for day in days(date(2025, 1, 1), date(2026, 12, 31)):
        assert is_working_day(day) == calendar.is_working_day(day), day


# Province overrides --------------------------------------------------------------------


def test_override_turns_a_holiday_into_a_working_day():
    assert is_working_day(date(2025, 10, 3), {date(2025, 10, 3): True})


def test_override_turns_a_make_up_workday_into_a_day_off():
    assert not is_working_day(date(2025, 10, 11), {date(2025, 10, 11): False})


def test_override_adds_make_up_workdays_the_library_does_not_know():
    # A later year's schedule, entered by the province admin before the library has it.
    saturday = date(2027, 2, 20)
    assert not is_working_day(saturday)
    overrides = {saturday: True, date(2027, 2, 11): False}
    assert is_working_day(saturday, overrides)
    assert not is_working_day(date(2027, 2, 11), overrides)
    assert add_working_days(date(2027, 2, 10), 1, overrides) == date(2027, 2, 12)
    assert add_working_days(date(2027, 2, 19), 1, overrides) == saturday


def test_overrides_are_used_by_the_deadline_arithmetic():
    overrides = {date(2025, 10, 9): False}
    assert add_working_days(date(2025, 9, 30), 1, overrides) == date(2025, 10, 10)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 10), overrides) == 1


def test_library_tables_are_built_once_per_year(monkeypatch):
    built: list[object] = []
    real_china = holidays.China

    def counting_china(*args, **kwargs):
        built.append(kwargs.get("years"))
        return real_china(*args, **kwargs)

    workdays._year_table.cache_clear()
    monkeypatch.setattr(holidays, "China", counting_china)
    try:
        working_days_between(date(2025, 1, 1), date(2027, 12, 31))
        add_working_days(date(2025, 1, 1), 500)
        assert sorted(built) == [2025, 2026, 2027]
    finally:
        workdays._year_table.cache_clear()


# Consistency of add and between ---------------------------------------------------------

starts = st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31))
override_maps = st.dictionaries(
    st.dates(min_value=date(2022, 12, 1), max_value=date(2029, 6, 30)), st.booleans(), max_size=20
)


@given(starts, st.integers(min_value=0, max_value=60), override_maps)
def test_between_counts_what_add_added(start, n, overrides):
    end = add_working_days(start, n, overrides)
    assert working_days_between(start, end, overrides) == n
    if n:
        assert is_working_day(end, overrides)
        # No earlier day already reaches n working days.
        assert working_days_between(start, end - timedelta(days=1), overrides) == n - 1


@given(starts, st.integers(min_value=-60, max_value=60), override_maps)
def test_going_back_from_a_working_day_inverts_going_forward(start, n, overrides):
    assume(is_working_day(start, overrides))
    assert working_days_between(start, add_working_days(start, n, overrides), overrides) == n
    assert add_working_days(add_working_days(start, n, overrides), -n, overrides) == start


@given(starts, starts, starts, override_maps)
def test_between_is_additive_and_antisymmetric(a, b, c, overrides):
    assert working_days_between(a, b, overrides) == -working_days_between(b, a, overrides)
    assert working_days_between(a, c, overrides) == (
        working_days_between(a, b, overrides) + working_days_between(b, c, overrides)
    )


def test_zero_working_days_is_the_start_itself():
    assert add_working_days(date(2025, 10, 4), 0) == date(2025, 10, 4)
    assert working_days_between(date(2025, 10, 4), date(2025, 10, 4)) == 0
