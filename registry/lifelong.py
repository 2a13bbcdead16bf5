"""One record for life (一人一号、终身不变): the refusals that send a known child back to its
existing record instead of a second one.

A child whose record finished a stage (毕业, 结业, 肄业) continues on it at the next school by
升学 (``enrolment.progression``); a resident ID held by a dead pupil's record is that
person's ID and never a new child's. Every "same child" check (the registration form, the
API, the roster import, the no-hukou family rule) raises these, so the words and codes are
the same wherever a registrar meets them. They name the school and county that hold the
record, never its national number (the registrar finds the graduate by the ID and name they
typed).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kernel.errors import BusinessRefused
from registry.models import Pupil, PupilStatus


def progression_url(pupil: Pupil) -> str:
    """The 升学接收 page with the child looked up by its resident ID and name (what the
    registrar typed), or by its national number when it has no resident ID."""
    number = pupil.id_number if pupil.id_type == "1" and pupil.id_number else pupil.national_number
    return f"{reverse('progression_find')}?{urlencode({'q': number, 'name': pupil.name})}"


def finished_record_error(holder: Pupil, *, field: str = "id_number", found=None) -> BusinessRefused:
    """The child already has a record that finished a stage: receive it by 升学.
    ``found`` says how the record was found (by default: by the ID number)."""
    found = found or _("该身份证号的")
    return BusinessRefused(
        _(
            "%(found)s学生已在%(school)s（%(county)s）%(status)s。学籍号终身不变，"
            "升入本校的请在“升学接收”中按身份证号（或全国学籍号）和姓名查找并接收该学生，不要新建学籍。"
        )
        % {
            "found": found,
            "school": holder.school.name,
            "county": holder.school.county.full_name(),
            "status": holder.get_status_display(),
        },
        code="graduate_use_progression",
        field=field,
        details={
            "school_code": holder.school.code,
            "county_code": holder.county_code,
            "status": holder.status,
            "url": progression_url(holder),
        },
    )


def deceased_id_error(holder: Pupil) -> BusinessRefused:
    """A resident ID of a pupil registered dead, entered for a child of another name."""
    return BusinessRefused(
        _(
            "该身份证号属于已登记死亡的学生（%(school)s），不能用于姓名不同的另一名学生。"
            "请核对身份证号；如死亡登记有误，请联系%(county)s核实。"
        )
        % {"school": holder.school.name, "county": holder.school.county.full_name()},
        code="id_number_of_deceased",
        field="id_number",
        details={"school_code": holder.school.code, "county_code": holder.county_code},
    )


def registration_pending_refusal(pupil: Pupil, *, doing, field: str | None = None) -> BusinessRefused | None:
    """A record still under registration review (待审核) takes part in no business (``doing``:
    转学, 学籍异动, 转为正式学籍号 …) until the review approves it."""
    if pupil.status != PupilStatus.PENDING:
        return None
    return BusinessRefused(
        _("%(name)s的新生注册尚在审核中（待审核），审核通过后才能办理%(doing)s") % {"name": pupil.name, "doing": doing},
        code="registration_pending",
        field=field,
    )
