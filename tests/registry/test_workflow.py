"""The shared chain machinery: 在办业务 lock, 待办 items, working-day deadlines, reminders
and the overdue report of the level above."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Unit
from kernel.errors import BusinessRefused
from provinces import calendar
from provinces.models import CalendarOverride
from workflow import business, deadlines, workitems
from workflow.models import WorkItem


def test_second_open_business_is_refused(world):
    pupil = world.pupils["a1"]
    business.business_begin(pupil=pupil, kind="transfer", subject=world.school_a1)
    with pytest.raises(BusinessRefused) as refused:
        business.business_begin(pupil=pupil, kind="status_change", subject=world.school_a2)
    assert refused.value.code == "open_business"
    business.business_end(subject=world.school_a1)
    business.business_begin(pupil=pupil, kind="status_change", subject=world.school_a2)


def test_due_date_skips_national_day_and_counts_makeup_workday(world):
    # 2025-09-30 (Tue) + 10 working days: Oct 1–8 are off, Sat Oct 11 is a make-up workday:
    # Oct 9, 10, 11, 13, 14, 15, 16, 17, 20, 21.
    assert calendar.due_date(dt.date(2025, 9, 30), province_code="44") == dt.date(2025, 10, 21)


def test_due_date_across_spring_festival_2026(world):
    # Feb 13 (Fri) + 10: Sat Feb 14 works, Feb 15–23 off, Sat Feb 28 works:
    # Feb 14, 24, 25, 26, 27, 28, Mar 2, 3, 4, 5.
    assert calendar.due_date(dt.date(2026, 2, 13), province_code="44") == dt.date(2026, 3, 5)


def test_province_override_changes_the_deadline(world):
    CalendarOverride.objects.create(province=world.province, day=dt.date(2025, 10, 16), is_working_day=False)
    assert calendar.due_date(dt.date(2025, 9, 30), province_code="44") == dt.date(2025, 10, 22)
    assert calendar.due_date(dt.date(2025, 9, 30), province_code="42") == dt.date(2025, 10, 21)


def _item(world, opened: dt.date) -> WorkItem:
    return workitems.workitem_open(
        subject=world.pupils["a1"], kind="test", title="测试事项", url="/", role="approver",
        unit=Unit(school_id=world.school_a1.pk, scope_code=world.school_a1.county_id), start=opened,
    )


def test_reminder_once_when_due_soon_and_overdue_after(world):
    item = _item(world, dt.date(2026, 3, 2))  # due 2026-03-16
    assert item.due_on == dt.date(2026, 3, 16)
    assert deadlines.deadlines_sweep(today=dt.date(2026, 3, 10)) == {"reminded": 0, "overdue": 0}
    assert deadlines.deadlines_sweep(today=dt.date(2026, 3, 12)) == {"reminded": 1, "overdue": 0}
    assert deadlines.deadlines_sweep(today=dt.date(2026, 3, 13)) == {"reminded": 0, "overdue": 0}
    assert deadlines.deadlines_sweep(today=dt.date(2026, 3, 17)) == {"reminded": 0, "overdue": 1}
    item.refresh_from_db()
    assert item.state == WorkItem.State.OPEN  # never approved automatically


def test_overdue_report_is_for_the_level_above(world):
    _item(world, dt.date(2026, 3, 2))
    today = dt.date(2026, 3, 20)
    assert workitems.overdue_for(world["county_a"].approver, today=today).count() == 1
    assert workitems.overdue_for(world["city"].approver, today=today).count() == 1
    assert workitems.overdue_for(world["province"].admin, today=today).count() == 1
    assert workitems.overdue_for(world["county_b"].approver, today=today).count() == 0
    assert workitems.overdue_for(world["a1"].approver, today=today).count() == 0  # its own queue, not a report
    item = workitems.overdue_for(world["county_a"].approver, today=today).get()
    assert workitems.days_overdue(item, today=today) == 4


def test_home_shows_open_items_of_own_unit(world, login):
    _item(world, dt.date(2026, 3, 2))
    page = login(world["a1"].approver).get("/").content.decode()
    assert "测试事项" in page
    assert "测试事项" not in login(world["a2"].approver).get("/").content.decode()
