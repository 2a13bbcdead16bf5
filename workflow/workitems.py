"""待办: every open step of every chain is a work item of the unit that acts on it, due on
a working-day deadline, so the home page, reminders and the overdue report are one query
each."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Membership, Unit
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
    unit: Unit,
    start: dt.date | None = None,
) -> WorkItem:
    """Put a step in the queue of one unit (a school, or a bureau), due in its province's
    working days."""
    start = start or timezone.localdate()
    return WorkItem.objects.create(
        subject=subject,
        kind=kind,
        title=str(title),
        url=url,
        role=role,
        school_id=unit.school_id,
        division_id=None if unit.school_id else unit.division_code,
        scope_code=unit.code,
        opened_on=start,
        due_on=calendar.due_date(start, province_code=unit.code),
    )


def workitems_open_many(entries, *, kind: str, role: str, start: dt.date | None = None) -> int:
    """``workitem_open`` for many steps at once (the cases of a sweep): ``entries`` are
    ``(subject, unit, title, url)``; one INSERT per thousand, a deadline once per unit."""
    start = start or timezone.localdate()
    due: dict[str, dt.date] = {}
    items = []
    for subject, unit, title, url in entries:
        if unit.code not in due:
            due[unit.code] = calendar.due_date(start, province_code=unit.code)
        items.append(WorkItem(
            content_type=ContentType.objects.get_for_model(subject), object_id=subject.pk, kind=kind,
            title=str(title)[:200], url=url, role=role, school_id=unit.school_id,
            division_id=None if unit.school_id else unit.division_code, scope_code=unit.code, opened_on=start,
            due_on=due[unit.code],
        ))
    WorkItem.objects.bulk_create(items, batch_size=1000)
    return len(items)


def workitem_close(*, subject) -> int:
    return WorkItem.objects.filter(
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        state=WorkItem.State.OPEN,
    ).update(state=WorkItem.State.DONE, closed_at=timezone.now())


def workitems_keep_units(*, subject, unit_codes) -> set[str]:
    """Close the subject's open items of units not in ``unit_codes`` (a party that moved
    away); return the codes that have no open item yet."""
    items = WorkItem.objects.filter(content_type=ContentType.objects.get_for_model(subject),
                                    object_id=subject.pk, state=WorkItem.State.OPEN)
    items.exclude(scope_code__in=unit_codes).update(state=WorkItem.State.DONE, closed_at=timezone.now())
    return set(unit_codes) - set(items.filter(scope_code__in=unit_codes).values_list("scope_code", flat=True))


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

