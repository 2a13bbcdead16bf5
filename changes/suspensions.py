"""休学期满未复学: a suspension (休学) whose end date (``Pupil.status_until``) has passed while
the pupil is still 休学, with neither 复学 nor 延长休学 approved.

- ``overdue``: the pupils concerned, as of a day. The county's list reads it through the
  scope (``changes.selectors.overdue_suspensions``); nothing is written to show it.
- ``suspensions_overdue_sweep``: the daily task. For each such pupil with no change under
  way that would end or extend the suspension, one ``SuspensionOverdue`` row and one 待办
  item on the school's queue, per pupil and end date (a partial unique constraint: a rerun,
  or two workers at once, open nothing twice). It also closes the rows of pupils that have
  left 休学, got a new end date or moved school since.
- ``overdue_settle``: the same closing for some pupils, called when a change is applied, so
  an approved 复学 or extension takes the item off the 待办 at once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership, Unit
from changes.models import OPEN_STATES, ChangeRequest, SuspensionOverdue
from registry.models import Pupil, PupilStatus
from workflow import workitems

log = logging.getLogger("changes")

#: The 待办 kind of the items.
WORKITEM_KIND = "suspension_overdue"

K = ChangeRequest.Kind
#: Changes that end or extend a suspension: while one is under way no item is opened.
ENDING_KINDS = (K.RESUME, K.SUSPEND_EXTEND, K.DROP_OUT, K.WITHDRAWAL, K.ABROAD, K.DEATH)


def overdue(today: dt.date) -> QuerySet[Pupil]:
    """Pupils still 休学 after their suspension's end date (unscoped: callers restrict it)."""
    return Pupil.objects.filter(status=PupilStatus.SUSPENDED, status_until__lt=today)


def ending_change_under_way() -> Exists:
    """An open change request of the pupil (``OuterRef("pk")``) that ends or extends the suspension."""
    return Exists(ChangeRequest.objects.filter(pupil=OuterRef("pk"), state__in=OPEN_STATES, kind__in=ENDING_KINDS))


def suspensions_overdue_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Daily: open the 待办 of suspensions past their end date, close those settled since."""
    today = today or timezone.localdate()
    with acting_as(None, task="changes.tasks.suspensions_overdue_sweep"):
        closed = overdue_settle()
        tracked = SuspensionOverdue.objects.filter(
            pupil=OuterRef("pk"), until=OuterRef("status_until"), closed_at__isnull=True
        )
        candidates = (
            overdue(today)
            .exclude(ending_change_under_way())
            .exclude(Exists(tracked))
            .select_related("school")
            .order_by("pk")
        )
        opened = sum(_open(pupil, today=today) for pupil in candidates.iterator(chunk_size=500))
    if opened or closed:
        log.info("overdue suspensions: %s opened, %s closed", opened, closed)
    return {"opened": opened, "closed": closed}


def _open(pupil: Pupil, *, today: dt.date) -> bool:
    try:
        with transaction.atomic():
            row = SuspensionOverdue.objects.create(
                pupil=pupil, school=pupil.school, county_code=pupil.county_code, until=pupil.status_until
            )
            workitems.workitem_open(
                subject=row,
                kind=WORKITEM_KIND,
                title=_("休学期满未复学：%(name)s（%(number)s），休学截止 %(until)s，请办理复学或延长休学")
                % {"name": pupil.name, "number": pupil.national_number, "until": pupil.status_until.isoformat()},
                url=reverse("pupil_detail", args=[pupil.national_number]),
                role=Membership.Role.OPERATOR,
                unit=Unit(school_id=pupil.school_id, scope_code=pupil.county_code),
                start=today,
            )
    except IntegrityError:  # another worker opened it first
        return False
    return True


def overdue_settle(*, pupil_ids=None) -> int:
    """Close the open rows (and their 待办) of pupils no longer 休学 with that end date at
    that school: they resumed, extended, left 休学 another way or moved."""
    rows = SuspensionOverdue.objects.filter(closed_at__isnull=True)
    if pupil_ids is not None:
        rows = rows.filter(pupil_id__in=pupil_ids)
    rows = rows.exclude(
        Q(pupil__status=PupilStatus.SUSPENDED)
        & Q(pupil__status_until=F("until"))
        & Q(pupil__school_id=F("school_id"))
    ).select_related("pupil")
    closed = 0
    for row in rows:
        with transaction.atomic():
            note = _closing_note(row)
            if SuspensionOverdue.objects.filter(pk=row.pk, closed_at__isnull=True).update(
                closed_at=timezone.now(), closed_note=note
            ):
                workitems.workitem_close(subject=row)
                closed += 1
    return closed


def _closing_note(row: SuspensionOverdue) -> str:
    pupil = row.pupil
    if pupil.status != PupilStatus.SUSPENDED:
        return str(_("学籍状态已变为“%(status)s”") % {"status": pupil.get_status_display()})
    if pupil.school_id != row.school_id:
        return str(_("学生已转至其他学校"))
    return str(_("休学截止日期已改为 %(until)s") % {"until": pupil.status_until.isoformat() if pupil.status_until else "—"})
