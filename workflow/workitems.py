"""待办: every open step of every chain is a work item of the unit that acts on it, due on
a working-day deadline, so the home page, reminders and the overdue report are one query
each."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Membership
from accounts.permissions import membership_of
from accounts.scope import restrict
from provinces import calendar
from workflow.models import WorkItem


def workitem_open(
    *,
    subject,
    kind: str,
    title: str,
    url: str,
    role: str,
    school=None,
    division_code: str | None = None,
    start: dt.date | None = None,
) -> WorkItem:
    """Put a step in the queue of one unit (a school, or the division ``division_code``),
    due in the province's working days."""
    start = start or timezone.localdate()
    scope_code = school.county_id if school is not None else division_code
    return WorkItem.objects.create(
        subject=subject,
        kind=kind,
        title=str(title),
        url=url,
        role=role,
        school=school,
        division_id=division_code if school is None else None,
        scope_code=scope_code,
        opened_on=start,
        due_on=calendar.due_date(start, province_code=scope_code),
    )


def workitem_close(*, subject) -> int:
    return WorkItem.objects.filter(
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        state=WorkItem.State.OPEN,
    ).update(state=WorkItem.State.DONE, closed_at=timezone.now())


def workitems_for(user) -> QuerySet[WorkItem]:
    """Open work items waiting for the user's own unit (not its children)."""
    membership = membership_of(user)
    if membership is None:
        return WorkItem.objects.none()
    items = WorkItem.objects.filter(state=WorkItem.State.OPEN)
    if membership.school_id:
        return items.filter(school_id=membership.school_id)
    return items.filter(division_id=membership.division_id)


def overdue_for(user, *, today: dt.date | None = None) -> QuerySet[WorkItem]:
    """Overdue steps of the units below the user's unit (the overdue report)."""
    today = today or timezone.localdate()
    own = workitems_for(user).values("pk")
    return (
        restrict(WorkItem.objects.filter(state=WorkItem.State.OPEN, due_on__lt=today), user)
        .exclude(pk__in=own)
        .select_related("school", "division")
    )


def days_overdue(item: WorkItem, *, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return max(0, calendar.working_days_between(item.due_on, today, province_code=item.scope_code))


def role_acts(user, item_role: str) -> bool:
    membership = membership_of(user)
    return membership is not None and (membership.role == item_role or membership.role == Membership.Role.ADMIN)
