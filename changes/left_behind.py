"""留守儿童/随迁子女年度登记: the yearly re-registration (动态登记) of 留守 and 随迁.

A county bureau opens a campaign for a school year with a closing day; every school of the
county gets a 待办 (due on that day). The school confirms its 在籍 pupils one by one or
in bulk: the confirmation keeps the 留守/随迁 answers as they stand (a wrong answer is
corrected first through 信息维护, ``record_update``). The school's 待办 closes when its last
在籍 pupil is confirmed; the county sees per school how many are confirmed and who is not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Unit
from accounts.permissions import require_county_user, require_school_user
from accounts.scope import get_in_scope, restrict
from changes.models import LeftBehindCampaign, LeftBehindConfirmation, LeftBehindSchool
from changes.rules import check_school_year
from kernel.errors import Conflict, NotFound, ValidationFailed
from registry.models import ACTIVE_STATUSES, Pupil
from schools.models import School
from workflow import workitems

#: The kind of the schools' 待办.
WORK_KIND = "left_behind_campaign"
SUBMITTERS = (Membership.Role.OPERATOR, Membership.Role.APPROVER)
#: A confirm of at least this many pupils refreshes the confirmations' statistics.
ANALYZE_AFTER_ROWS = 200


def left_behind_campaign_open(*, user, school_year: int, closes_on: dt.date,
                              today: dt.date | None = None) -> LeftBehindCampaign:
    """Open the county's campaign for ``school_year``: a part and a 待办 for each school."""
    membership = require_county_user(user, *SUBMITTERS)
    check_school_year(school_year)
    today = today or timezone.localdate()
    if closes_on < today:
        raise ValidationFailed(_("登记截止日期不能早于今天"), code="closes_in_past", field="closes_on")
    county = membership.division_id
    try:
        with transaction.atomic():
            campaign = LeftBehindCampaign.objects.create(county_code=county, school_year=school_year,
                                                         closes_on=closes_on, opened_by=user)
    except IntegrityError:
        raise Conflict(_("本区县%(year)s学年的留守儿童/随迁子女登记已经开启") % {"year": school_year},
                       code="campaign_exists") from None
    for school in School.objects.filter(county_id=county).order_by("code"):
        part = LeftBehindSchool.objects.create(campaign=campaign, school=school, county_code=county)
        item = workitems.workitem_open(
            subject=part, kind=WORK_KIND, role=Membership.Role.OPERATOR,
            title=_("留守儿童/随迁子女年度登记（%(year)s学年），%(date)s前确认") % {
                "year": school_year, "date": closes_on.isoformat()},
            url=reverse("changes:left_behind_detail", args=[campaign.pk]),
            unit=Unit(school_id=school.pk, scope_code=county), start=today,
        )
        item.due_on = closes_on
        item.save(update_fields=["due_on"])
    return campaign


def left_behind_campaign_get(user, campaign_id) -> LeftBehindCampaign:
    try:
        campaign_id = int(campaign_id)
    except (TypeError, ValueError):
        campaign_id = 0
    return get_in_scope(LeftBehindCampaign.objects.all(), user, pk=campaign_id)


def left_behind_confirm(*, user, campaign_id: int, national_numbers: list[str]) -> int:
    """The school confirms these 在籍 pupils of its own; returns how many were newly confirmed.
    A number that is not an 在籍 pupil of the school is ``NotFound`` and nothing is written."""
    membership = require_school_user(user, *SUBMITTERS)
    campaign = left_behind_campaign_get(user, campaign_id)
    numbers = sorted({str(n).strip().upper() for n in national_numbers if str(n).strip()})
    if not numbers:
        raise ValidationFailed(_("请选择要确认的学生"), code="required", field="pupils")
    pupils = list(restrict(Pupil.objects.filter(national_number__in=numbers, school_id=membership.school_id,
                                                status__in=ACTIVE_STATUSES), user))
    missing = sorted(set(numbers) - {p.national_number for p in pupils})
    if missing:
        raise NotFound(_("以下全国学籍号不是本校在籍学生：%(numbers)s") % {"numbers": "、".join(missing)},
                       code="pupil_not_found")
    with transaction.atomic():
        # the school's part locked: two confirms of one school run one after the other
        part = LeftBehindSchool.objects.select_for_update().get(campaign=campaign, school_id=membership.school_id)
        done = set(LeftBehindConfirmation.objects.filter(campaign=campaign, pupil__in=pupils)
                   .values_list("pupil_id", flat=True))
        created = LeftBehindConfirmation.objects.bulk_create(
            [LeftBehindConfirmation(campaign=campaign, pupil=p, school_id=p.school_id, county_code=p.county_code,
                                    left_behind=p.left_behind, migrant=p.migrant, confirmed_by=user)
             for p in pupils if p.pk not in done]
        )
        if len(created) >= ANALYZE_AFTER_ROWS:
            transaction.on_commit(confirmations_analyze)
        if part.done_at is None and not unconfirmed(campaign, school_id=part.school_id).exists():
            part.done_at = timezone.now()
            part.save(update_fields=["done_at"])
            workitems.workitem_close(subject=part)
    return len(created)


def confirmations_analyze() -> None:
    """Refresh the planner's statistics of the confirmations after a bulk confirm.

    A new campaign's confirmations are unknown to the statistics until autovacuum samples the
    table again; meanwhile the planner believes the campaign has almost none and answers the
    unconfirmed list (``NOT EXISTS`` a confirmation) with a nested loop that reads every
    confirmation of the campaign once per pupil: 9,000 pupils × 1,000 confirmations took
    3.5 s instead of 0.1 s (BENCHMARKS.md). A role that does not own the table gets a
    warning from PostgreSQL, not an error."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(LeftBehindConfirmation._meta.db_table)}")


def unconfirmed(campaign: LeftBehindCampaign, *, school_id: int | None = None):
    """The campaign's 在籍 pupils not yet confirmed (unscoped: callers restrict it)."""
    pupils = Pupil.objects.filter(county_code=campaign.county_code, status__in=ACTIVE_STATUSES,
                                  school__in=campaign.schools.values("school"))
    if school_id is not None:
        pupils = pupils.filter(school_id=school_id)
    confirmed = LeftBehindConfirmation.objects.filter(campaign=campaign, pupil=OuterRef("pk"))
    return pupils.filter(~Exists(confirmed))


def left_behind_unconfirmed(user, campaign: LeftBehindCampaign, *, school_code: str = ""):
    """Who is not yet confirmed, in the user's scope (a school sees its own pupils)."""
    pupils = restrict(unconfirmed(campaign), user).select_related("school", "school_class")
    if school_code:
        pupils = pupils.filter(school__code=school_code.strip())
    return pupils.order_by("school__code", "grade", "school_class__number", "name", "id")


@dataclass
class SchoolProgress:
    school: School
    pupils: int
    confirmed: int
    done: bool

    @property
    def left(self) -> int:
        return self.pupils - self.confirmed


def left_behind_progress(user, campaign: LeftBehindCampaign) -> list[SchoolProgress]:
    """Per school of the campaign in the user's scope: 在籍 pupils and how many confirmed."""
    parts = restrict(LeftBehindSchool.objects.filter(campaign=campaign), user).select_related("school")
    school_ids = [p.school_id for p in parts]
    totals = dict(
        Pupil.objects.filter(school_id__in=school_ids, status__in=ACTIVE_STATUSES)
        .values("school_id").annotate(n=Count("id")).values_list("school_id", "n")
    )
    confirmed = _confirmed_counts(campaign, school_ids)
    return [SchoolProgress(school=p.school, pupils=totals.get(p.school_id, 0), confirmed=confirmed.get(p.school_id, 0),
                           done=p.done_at is not None) for p in sorted(parts, key=lambda p: p.school.code)]


def _confirmed_counts(campaign: LeftBehindCampaign, school_ids: list[int]) -> dict[int, int]:
    """Confirmed pupils still 在籍 at the school that confirmed them, per school."""
    rows = (LeftBehindConfirmation.objects
            .filter(campaign=campaign, school_id__in=school_ids, pupil__status__in=ACTIVE_STATUSES)
            .values("pupil__school_id").annotate(n=Count("id")).values_list("pupil__school_id", "n"))
    return dict(rows)


def left_behind_campaigns_for(user):
    """The campaigns the user's unit sees, newest first."""
    return restrict(LeftBehindCampaign.objects.all(), user).distinct().order_by("-school_year", "county_code")
