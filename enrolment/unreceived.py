"""Graduates nobody received (未升学毕业生, a 控辍保学 signal).

From the province's date (``unreceived_graduates_day``, 09-30 by default) a county sees the
primary-school graduates of its schools of that year whose record is still 毕业 (or 结业,
肄业): junior secondary is compulsory, so each of them should be in some school's grade 7 by
then. The list is computed on every read (GET never writes); the daily task puts one 待办
item per county and year on the county's queue while the list is not empty.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Unit
from accounts.scope import restrict
from provinces.models import Division, ProvincePolicy
from registry.models import FINISHED_STATUSES, Pupil
from workflow import workitems
from workflow.models import WorkItem

#: The last grade of the stage whose graduates must continue (小学 → 初中 is compulsory).
COMPULSORY_CONTINUING_GRADES = (6,)
WORKITEM_KIND = "unreceived_graduates"


def list_year(today: dt.date, province_code: str) -> int | None:
    """The graduation year whose unreceived list is due by ``today`` (None before the date)."""
    policy = ProvincePolicy.for_province(province_code)
    if today >= policy.unreceived_graduates_date(today.year):
        return today.year
    return None


def unreceived_graduates(queryset: QuerySet, *, year: int) -> QuerySet[Pupil]:
    """Of ``queryset`` (already scoped), the compulsory-age graduates of ``year`` not received."""
    return (
        queryset.filter(status__in=FINISHED_STATUSES, grade__in=COMPULSORY_CONTINUING_GRADES,
                        history__kind="graduated", history__at__year=year)
        .select_related("school", "school_class")
        .distinct()
        .order_by("school__code", "name", "pk")
    )


def unreceived_for(user, *, year: int) -> QuerySet[Pupil]:
    return unreceived_graduates(restrict(Pupil.objects.all(), user), year=year)


def unreceived_export(user, *, year: int) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("未升学毕业生")))
    sheet.append([str(h) for h in (_("全国学籍号"), _("姓名"), _("性别"), _("出生日期"), _("毕业学校"),
                                   _("学校标识码"), _("学籍状态"))])
    for pupil in unreceived_for(user, year=year).iterator(chunk_size=2000):
        sheet.append([pupil.national_number, pupil.name, "男" if pupil.sex == "1" else "女",
                      pupil.birth_date.isoformat(), pupil.school.name, pupil.school.code,
                      str(pupil.get_status_display())])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def unreceived_workitems_open(*, today: dt.date | None = None) -> int:
    """Daily: one 待办 per county whose list of this year is due and not empty (idempotent:
    the item's link carries the year); a county's item closes when its list becomes empty."""
    today = today or timezone.localdate()
    opened = 0
    for province in Division.objects.filter(level=Division.Level.PROVINCE).values_list("code", flat=True):
        year = list_year(today, province)
        if year is None:
            continue
        counts = dict(
            unreceived_graduates(Pupil.objects.filter(county_code__startswith=province), year=year)
            .order_by().values("county_code").annotate(n=Count("pk", distinct=True)).values_list("county_code", "n")
        )
        items = WorkItem.objects.filter(kind=WORKITEM_KIND, division__code__startswith=province,
                                        state=WorkItem.State.OPEN)
        items.exclude(division_id__in=list(counts)).update(state=WorkItem.State.DONE, closed_at=timezone.now())
        already = set(items.filter(url__endswith=f"?year={year}").values_list("division_id", flat=True))
        for county, count in sorted(counts.items()):
            if county in already or not Division.objects.filter(code=county).exists():
                continue
            workitems.workitem_open(
                subject=Division.objects.get(code=county),
                kind=WORKITEM_KIND,
                title=str(_("%(year)s年有%(n)s名小学毕业生未被初中学校接收（控辍保学）") % {"year": year, "n": count}),
                url=f"{reverse('progression_unreceived')}?year={year}",
                role=Membership.Role.APPROVER,
                unit=Unit(division_code=county),
                start=today,
            )
            opened += 1
    return opened
