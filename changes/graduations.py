"""Services of graduation lists (毕业名单): a school proposes its graduating pupils for the
school year under way, its approver and then the county approve (the county from the
province's opening day, 06-01, to its deadline, 07-30), and the county's approval
graduates them (``changes.apply.graduate``) and locks their basic data."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.permissions import require_membership, require_role
from changes import rules
from changes.chain import GRADUATION, SUBMITTERS
from changes.models import GraduationEntry, GraduationList
from kernel.errors import BusinessRefused, Conflict, Forbidden, ValidationFailed
from provinces.models import ProvincePolicy
from registry.models import Pupil, PupilStatus
from workflow import engine


def graduation_propose(
    *,
    user,
    school_year: int | None = None,
    outcomes: dict[str, str] | None = None,
    submit: bool = True,
    today: dt.date | None = None,
) -> GraduationList:
    """A school proposes its graduating list: every 在读 pupil of its graduating grades.

    ``school_year`` is the year of the graduation, the school year under way's by default. ``outcomes`` maps national numbers to 结业/肄业
    (``completed``/``incomplete``); the rest graduate (毕业).
    """
    membership = require_membership(user)
    require_role(user, *SUBMITTERS)
    if not membership.school_id:
        raise Forbidden(_("毕业名单由学校提出"), code="school_only")
    school = membership.school
    today = today or timezone.localdate()
    policy = ProvincePolicy.for_province(school.county_id)
    school_year = rules.check_school_year(school_year or rules.graduation_year_under_way(today, policy))
    refusal = rules.graduation_refusal(school_year, today=today, policy=policy)
    if refusal is not None:
        raise refusal
    outcomes = outcomes or {}
    for number, outcome in outcomes.items():
        if outcome not in GraduationEntry.Outcome.values:
            raise ValidationFailed(
                _("学生 %(number)s 的毕业结果“%(outcome)s”无效") % {"number": number, "outcome": outcome},
                code="invalid_outcome",
                field="outcomes",
            )
    pupils = list(
        Pupil.objects.filter(
            school=school, status=PupilStatus.ENROLLED, grade__in=school.graduating_grades()
        ).order_by("grade", "school_class__number", "name")
    )
    if not pupils:
        raise BusinessRefused(_("本校没有毕业年级的在读学生"), code="no_graduates")
    known = {p.national_number for p in pupils}
    for number in outcomes:
        if number not in known:
            raise ValidationFailed(
                _("学生 %(number)s 不在本校毕业年级的在读学生中") % {"number": number},
                code="not_graduating",
                field="outcomes",
            )
    with transaction.atomic(), acting_as(user):
        try:
            with transaction.atomic():
                graduation = GraduationList.objects.create(
                    school=school, county_code=school.county_id, school_year=school_year, initiator=user,
                    initiator_level="school",
                )
        except IntegrityError:
            raise Conflict(
                _("本校%(year)s年的毕业名单已经提出") % {"year": school_year}, code="graduation_list_exists"
            ) from None
        GraduationEntry.objects.bulk_create(
            GraduationEntry(graduation=graduation, pupil=p, outcome=outcomes.get(p.national_number, "graduated"))
            for p in pupils
        )
        engine.start(GRADUATION, graduation, user=user, action="open")
        if submit:
            graduation = engine.move(GRADUATION, user=user, pk=graduation.pk, action="submit")
    return graduation


def _province_policy_of(user) -> ProvincePolicy:
    membership = require_membership(user)
    return ProvincePolicy.for_province(membership.school.county_id if membership.school_id else membership.division_id)


def default_graduation_year(user, *, today: dt.date | None = None) -> int:
    """The year a new graduation list is for: the graduation of the school year under way."""
    return rules.graduation_year_under_way(today or timezone.localdate(), _province_policy_of(user))


def default_school_year(user, *, today: dt.date | None = None) -> int:
    """The school year a promotion is for: the one that has started."""
    return rules.school_year_under_way(today or timezone.localdate(), _province_policy_of(user))


def graduation_submit(*, user, graduation_id: int) -> GraduationList:
    return engine.move(GRADUATION, user=user, pk=graduation_id, action="submit")


def graduation_approve(*, user, graduation_id: int, note: str = "", today: dt.date | None = None) -> GraduationList:
    """School approver, then county approver, both by the graduation deadline; the county's
    approval graduates the pupils and locks their basic data (基础信息锁定)."""
    return engine.move(GRADUATION, user=user, pk=graduation_id, action="approve", reason=note, today=today)


def graduation_refuse(*, user, graduation_id: int, reason: str) -> GraduationList:
    return engine.move(GRADUATION, user=user, pk=graduation_id, action="refuse", reason=reason)


def graduation_withdraw(*, user, graduation_id: int) -> GraduationList:
    return engine.move(GRADUATION, user=user, pk=graduation_id, action="withdraw")
