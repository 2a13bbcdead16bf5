"""Deadlines (办理时限): each step has the province's working days (10 by the national rule);
the daily sweep reminds the party of steps due soon and marks overdue steps for the
overdue report of the level above. Nothing is ever approved by the clock."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from kernel import workdays
from provinces.calendar import calendar_overrides
from provinces.models import ProvincePolicy
from workflow.models import WorkItem


def deadlines_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Daily: remind parties of steps due within the reminder window; mark overdue steps.

    Never approves anything. Each item is claimed with a conditional update, so two
    workers running the sweep at once remind once.
    """
    today = today or timezone.localdate()
    reminded = overdue = 0
    for item in WorkItem.objects.filter(state=WorkItem.State.OPEN, due_on__isnull=False).filter(
        Q(reminded_at__isnull=True) | Q(overdue_at__isnull=True)
    ):
        if item.reminded_at is None and due_soon(item.due_on, scope_code=item.scope_code, today=today):
            reminded += WorkItem.objects.filter(pk=item.pk, reminded_at__isnull=True).update(reminded_at=timezone.now())
        if item.overdue_at is None and item.due_on < today:
            overdue += WorkItem.objects.filter(pk=item.pk, overdue_at__isnull=True).update(overdue_at=timezone.now())
    return {"reminded": reminded, "overdue": overdue}


def due_soon(due_on: dt.date, *, scope_code: str, today: dt.date | None = None) -> bool:
    """Whether ``due_on`` is within the province's reminder window (its working days, today
    included) and not past: the time to remind the party."""
    today = today or timezone.localdate()
    left = workdays.working_days_between(today, due_on, calendar_overrides(scope_code))
    return 0 <= left <= ProvincePolicy.for_province(scope_code).reminder_working_days
