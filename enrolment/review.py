"""新生注册审核 (registration review): the rules of a registration that are not the record's.

- ``source_problems``: a known 学生来源 (正常入学, 外省转入, 港澳台及外籍, 回国, 其他); outside
  the entry grades 1/7/10 the source and the reason (注册原因) are required;
- ``county_review_needed``: whether the county reviews it after the school (the policy);
- ``registration_decided``: what the end of the review does to the record.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from enrolment.models import Registration, StudentSource
from kernel.errors import Conflict, ValidationFailed
from provinces.models import ProvincePolicy
from registry.history import record_event
from registry.models import Pupil, PupilStatus
from registry.records import PupilData
from schools.models import ENTRY_GRADES

#: Sources after which the county reviews every registration (外省转入, 回国).
COUNTY_SOURCES = (StudentSource.OTHER_PROVINCE, StudentSource.RETURNED)
#: What a form, the API or a roster cell may say: the code or the national name (in any language
#: the page is shown in, the file keeps the Chinese name).
_SOURCE_BY_TEXT = {
    **{code: code for code in StudentSource.values},
    "正常入学": StudentSource.NORMAL, "外省转入": StudentSource.OTHER_PROVINCE,
    "港澳台及外籍": StudentSource.HMT_FOREIGN, "回国": StudentSource.RETURNED, "其他": StudentSource.OTHER,
}


def source_code(text: str) -> str | None:
    """The 学生来源 code of ``text`` (a code or its Chinese name); "" when empty, None when unknown."""
    text = (text or "").strip()
    if not text:
        return ""
    return _SOURCE_BY_TEXT.get(text) or _SOURCE_BY_TEXT.get(text.lower())


def source_problems(data: PupilData) -> list[ValidationFailed]:
    """The registration's own rules: a known 学生来源; outside the entry grades (1, 7, 10) a
    source and a reason are required. Normalises ``data.source`` to its code in place."""
    problems: list[ValidationFailed] = []
    code = source_code(data.source)
    if code is None:
        problems.append(ValidationFailed(
            _("学生来源“%(value)s”无效，应为：正常入学、外省转入、港澳台及外籍、回国、其他") % {"value": data.source},
            code="invalid_source", field="source",
        ))
    else:
        data.source = code
    data.source_reason = (data.source_reason or "").strip()
    if data.grade is not None and data.grade not in ENTRY_GRADES:
        if code == "":
            problems.append(ValidationFailed(
                _("注册到非起始年级（%(grade)s年级）须填写学生来源") % {"grade": data.grade},
                code="source_required", field="source",
            ))
        if not data.source_reason:
            problems.append(ValidationFailed(
                _("注册到非起始年级（%(grade)s年级）须填写注册原因") % {"grade": data.grade},
                code="source_reason_required", field="source_reason",
            ))
    if len(data.source_reason) > 500:
        problems.append(ValidationFailed(
            _("注册原因不超过500个字"), code="too_long", field="source_reason",
        ))
    return problems


def county_review_needed(*, no_hukou: bool, grade: int, source: str, policy: ProvincePolicy) -> bool:
    """Whether the county reviews a registration after the school: always when the province
    says so; else for a pupil without a resident ID (无户籍), outside the entry grades 1/7/10,
    or coming from another province (外省转入) or from abroad (回国)."""
    return (
        policy.registration_county_review_all
        or no_hukou
        or grade not in ENTRY_GRADES
        or source in COUNTY_SOURCES
    )


def require_still_pending(row: Registration) -> None:
    """A record that left 待审核 some other way (deleted as a duplicate, say) is not admitted."""
    if row.pupil.status != PupilStatus.PENDING:
        raise Conflict(
            _("该学生学籍状态已变为“%(status)s”，不能再审核通过") % {"status": row.pupil.get_status_display()},
            code="registration_record_changed",
            details={"status": row.pupil.status},
        )


def registration_decided(row: Registration, *, user, admitted: bool, reason: str = "") -> None:
    """What the chain's end does to the record: 在读 when admitted, else 注册未通过 (closed,
    not deleted; its number stays issued). Called by the chain, in its transaction."""
    pupil = Pupil.objects.select_for_update().get(pk=row.pupil_id)
    if pupil.status != PupilStatus.PENDING:  # left review some other way: the refusal only closes it
        return
    if admitted:
        pupil.status = PupilStatus.ENROLLED
        summary = _("新生注册审核通过，学籍生效")
    else:
        pupil.status = PupilStatus.NOT_ADMITTED
        summary = _("新生注册审核未通过：%(reason)s") % {"reason": reason}
    pupil.save(update_fields=["status", "updated_at"])
    record_event(pupil, kind="registration_approved" if admitted else "registration_refused", summary=summary,
                 user=user, data={"registration": row.pk})
