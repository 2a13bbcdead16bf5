"""Deadlines: 10 working days per step across holidays with 调休; reminders and overdue by Celery."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kernel import workdays
from provinces import calendar
from tests.conftest import ensure_reference_data
from tests.transfers.chain import apply, submit
from workflow import workitems
from workflow.models import WorkItem


def test_ten_working_days_across_national_day_2025(db):
    # 2025-10-01..08 off; Sun 09-28 and Sat 10-11 are make-up workdays. From Fri 09-26:
    # 09-28, 09-29, 09-30, 10-09, 10-10, 10-11, 10-13, 10-14, 10-15, 10-16.
    assert calendar.due_date(dt.date(2025, 9, 26), province_code="44") == dt.date(2025, 10, 16)


def test_ten_working_days_across_spring_festival_2026(db):
    # 2026-02-15..23 off; Sat 02-14 and Sat 02-28 are make-up workdays. From Thu 02-12:
    # 02-13, 02-14, 02-24, 02-25, 02-26, 02-27, 02-28, 03-02, 03-03, 03-04.
    assert calendar.due_date(dt.date(2026, 2, 12), province_code="44") == dt.date(2026, 3, 4)


def test_a_province_override_wins_over_the_library(db):
    from provinces.models import CalendarOverride

    CalendarOverride.objects.create(province_id="44", day=dt.date(2026, 3, 3), is_working_day=False)
    assert calendar.due_date(dt.date(2026, 2, 12), province_code="440105") == dt.date(2026, 3, 5)


def test_step_work_item_is_due_in_ten_working_days(world):
    transfer = apply(world)
    submit(world, transfer)
    item = WorkItem.objects.get(object_id=transfer.pk, state="open")
    assert item.due_on == calendar.due_date(item.opened_on, province_code="440105")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_reminder_and_overdue_run_by_a_real_celery_worker(world, celery_worker_process):
    ensure_reference_data()
    from workflow.tasks import deadlines_sweep

    transfer = apply(world)
    submit(world, transfer)
    item = WorkItem.objects.get(object_id=transfer.pk, state="open")
    today = timezone.localdate()
    # Due tomorrow-ish: inside the 2-working-day reminder window.
    WorkItem.objects.filter(pk=item.pk).update(due_on=workdays.add_working_days(today, 1))
    result = deadlines_sweep.delay().get(timeout=60)
    assert result["reminded"] >= 1
    item.refresh_from_db()
    assert item.reminded_at is not None and item.overdue_at is None
    # Now overdue: it goes on the report of the level above, never approved.
    WorkItem.objects.filter(pk=item.pk).update(due_on=today - dt.timedelta(days=7))
    result = deadlines_sweep.delay().get(timeout=60)
    assert result["overdue"] >= 1
    item.refresh_from_db()
    assert item.overdue_at is not None and item.state == "open"
    transfer.refresh_from_db()
    assert transfer.state == "dest_county"
    assert list(workitems.overdue_for(world["city"].approver)) == [item]
    assert list(workitems.overdue_for(world["county_b"].approver)) == []  # its own step, not below it
