"""The rules that refuse a transfer at start (转学受理条件), national and province (省级政策)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

from duplicates.problems import pupil_problem_reasons
from kernel.errors import BusinessRefused
from provinces.models import ProvincePolicy
from registry.lifelong import progression_url, registration_pending_refusal
from registry.models import FINISHED_STATUSES, Pupil, PupilStatus
from schools.models import GRADE_NAMES, School


def _policies(*schools: School) -> list[ProvincePolicy]:
    codes = sorted({s.county_id[:2] for s in schools})
    return [ProvincePolicy.for_province(code) for code in codes]


def start_refusal(
    pupil: Pupil, *, origin: School, dest: School, dest_grade: int, today: dt.date
) -> BusinessRefused | None:
    """The first rule that refuses this transfer at start, or ``None``.

    A province rule applies when the province of either school has it on: a cross-province
    chain has to satisfy both provinces.
    """
    if origin.pk == dest.pk:
        return BusinessRefused(_("转出学校与转入学校不能相同"), code="same_school", field="origin_school_code")
    policies = _policies(origin, dest)
    if pupil.status == PupilStatus.SUSPENDED and any(p.transfer_refuse_suspended for p in policies):
        return BusinessRefused(_("该学生正在休学，休学期间不得转学"), code="pupil_suspended")
    if (pending := registration_pending_refusal(pupil, doing=_("转学"))) is not None:
        return pending
    if pupil.status in FINISHED_STATUSES:
        return BusinessRefused(
            _("该学生已%(status)s，不能转学；升入本校下一学段的，请在“升学接收”中接收该学生")
            % {"status": pupil.get_status_display()},
            code="pupil_not_enrolled",
            details={"status": pupil.status, "url": progression_url(pupil)},
        )
    if pupil.status not in (PupilStatus.ENROLLED, PupilStatus.SUSPENDED):
        return BusinessRefused(
            _("该学生学籍状态为“%(status)s”，只有在读学生可以转学") % {"status": pupil.get_status_display()},
            code="pupil_not_enrolled",
            details={"status": pupil.status},
        )
    if (problem := problem_refusal(pupil)) is not None:
        return problem
    if (mismatch := grade_refusal(pupil, origin=origin, dest=dest, dest_grade=dest_grade)) is not None:
        return mismatch
    if any(p.transfer_refuse_graduating for p in policies) and pupil.grade in origin.graduating_grades():
        return BusinessRefused(_("毕业年级学生不得转学"), code="graduating_grade")
    for policy in policies:
        if policy.in_freeze_window(today):
            return BusinessRefused(
                _("%(start)s至%(end)s为年度升级期间，暂停办理转学")
                % {"start": policy.freeze_start, "end": policy.freeze_end},
                code="freeze_window",
            )
    return None


def problem_refusal(pupil: Pupil) -> BusinessRefused | None:
    """A problem record (问题学籍, ``duplicates.problems``) does not transfer: refused at start,
    and a chain already open stops at its next forward step (the school's submit, each
    approval) until the county has dealt with it — the approver may still refuse, send back
    or the destination cancel."""
    reasons = pupil_problem_reasons(pupil)
    if not reasons:
        return None
    return BusinessRefused(
        _("该学生为问题学籍，须先由区县处理：%(reasons)s") % {"reasons": "；".join(reasons)},
        code="problem_record",
        details={"reasons": reasons},
    )


def grade_refusal(pupil: Pupil, *, origin: School, dest: School, dest_grade: int) -> BusinessRefused | None:
    """Policy: the pupil transfers into the grade it is in (checked at start and again when
    a sent-back application is corrected)."""
    if any(p.transfer_same_grade_only for p in _policies(origin, dest)) and dest_grade != pupil.grade:
        return BusinessRefused(
            _("只能转入同一年级：该学生在读%(grade)s，申请转入%(dest)s")
            % {"grade": GRADE_NAMES.get(pupil.grade, pupil.grade), "dest": GRADE_NAMES.get(dest_grade, dest_grade)},
            code="grade_mismatch",
            field="dest_grade",
        )
    return None
