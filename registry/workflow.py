"""What every chain shares: the open-business lock (在办业务), work items (待办) and the
working-day deadlines with their reminders and overdue report.

Transfers, change requests, graduation lists and duplicate cases all call these, so the
home page, the daily reminder task and the overdue report see every chain the same way.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from accounts.scope import restrict
from kernel import workdays
from kernel.errors import BusinessRefused
from provinces.calendar import calendar_overrides, due_date
from provinces.models import ProvincePolicy
from registry.models import OpenBusiness, Pupil, WorkItem

BUSINESS_LABELS = {
    "transfer": _("转学"),
    "status_change": _("学籍异动"),
    "key_change": _("关键信息变更"),
}


# --- 在办业务 -----------------------------------------------------------------------

def business_begin(*, pupil: Pupil, kind: str, subject) -> None:
    """Claim the pupil for one open business; refuses when another one is open."""
    try:
        with transaction.atomic():
            OpenBusiness.objects.create(
                pupil=pupil,
                kind=kind,
                content_type=ContentType.objects.get_for_model(subject),
                object_id=subject.pk,
            )
    except IntegrityError:
        current = OpenBusiness.objects.filter(pupil=pupil).first()
        label = BUSINESS_LABELS.get(current.kind, current.kind) if current else ""
        raise BusinessRefused(
            _("该学生有正在办理的业务（%(kind)s），办结后才能办理新业务") % {"kind": label},
            code="open_business",
        ) from None


def business_end(*, subject) -> None:
    OpenBusiness.objects.filter(
        content_type=ContentType.objects.get_for_model(subject), object_id=subject.pk
    ).delete()


def open_business_of(pupil: Pupil) -> OpenBusiness | None:
    return OpenBusiness.objects.filter(pupil=pupil).first()


# --- 待办 ----------------------------------------------------------------------------

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
        due_on=due_date(start, province_code=scope_code),
    )


def workitem_close(*, subject) -> int:
    return WorkItem.objects.filter(
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        state=WorkItem.State.OPEN,
    ).update(state=WorkItem.State.DONE, closed_at=timezone.now())


def workitems_for(user) -> QuerySet[WorkItem]:
    """Open work items waiting for the user's own unit (not its children)."""
    membership = getattr(user, "membership", None)
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
    return max(0, workdays.working_days_between(item.due_on, today, calendar_overrides(item.scope_code)))


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


def role_acts(user, item_role: str) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and (membership.role == item_role or membership.role == Membership.Role.ADMIN)
