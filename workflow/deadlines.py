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
        overrides = calendar_overrides(item.scope_code)
        policy = ProvincePolicy.for_province(item.scope_code)
        left = workdays.working_days_between(today, item.due_on, overrides)
        if item.reminded_at is None and 0 <= left <= policy.reminder_working_days:
            reminded += WorkItem.objects.filter(pk=item.pk, reminded_at__isnull=True).update(reminded_at=timezone.now())
        if item.overdue_at is None and item.due_on < today:
            overdue += WorkItem.objects.filter(pk=item.pk, overdue_at__isnull=True).update(overdue_at=timezone.now())
    return {"reminded": reminded, "overdue": overdue}
