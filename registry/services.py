"""Services of the pupil record: each takes the acting user, checks scope and the national
rules, writes in one transaction and records the audit."""

from __future__ import annotations

import random

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role, school_for_write
from duplicates import entry
from kernel import identity
from kernel.errors import BusinessRefused, ValidationFailed
from registry import nohukou
from registry.history import record_event
from registry.models import ACTIVE_STATUSES, Guardian, Pupil
from registry.records import PupilData
from registry.validation import has_resident_id, pupil_problems
from schools.classes import class_for
from schools.models import School


def active_holder_of(id_number: str, *, exclude_pk: int | None = None) -> Pupil | None:
    """The active pupil holding a resident ID number, across the whole registry."""
    holders = Pupil.objects.select_related("school__county").filter(
        id_number=id_number, status__in=ACTIVE_STATUSES
    )
    if exclude_pk is not None:
        holders = holders.exclude(pk=exclude_pk)
    return holders.first()


def id_held_elsewhere_error(holder: Pupil) -> BusinessRefused:
    return BusinessRefused(
        _(
            "该身份证号已有在籍学生：%(school)s（%(county)s），全国学籍号 %(number)s。"
            "同一学生不得重复建立学籍，请通过转学申请将其转入本校。"
        )
        % {
            "school": holder.school.name,
            "county": holder.school.county.full_name(),
            "number": holder.national_number,
        },
        code="id_number_active_elsewhere",
        field="id_number",
        details={"school_code": holder.school.code, "county_code": holder.county_code},
    )


def new_national_number(*, school: School, data: PupilData, rng: random.Random | None = None) -> str:
    """L number when the pupil has a resident ID, otherwise the next J number."""
    if has_resident_id(data):
        return identity.make_l_number(school.county_id, data.birth_date, rng=rng)
    prefix = f"J{school.county_id}{data.birth_date:%Y%m%d}"
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [prefix])
        last = (
            Pupil.objects.filter(national_number__startswith=prefix)
            .order_by("-national_number")
            .values_list("national_number", flat=True)
            .first()
        )
        sequence = int(last[15:18]) + 1 if last else 1
        return identity.make_j_number(school.county_id, data.birth_date, sequence)


def pupil_register(*, user, data: PupilData, duplicate_reason: str = "") -> Pupil:
    """Register a new pupil (新生注册/学籍建立) and give it a national student number.

    Refuses: a record with any problem (all of them at once); a school out of scope; an
    ID number already held by an active pupil (naming the holder); likely duplicates of
    an existing pupil unless the operator states why this is a different child, and so for
    a no-hukou twin of an existing record (``nohukou.multiple_birth_override``); each kept
    pair opens a case for the counties.
    """
    require_role(user, Membership.Role.OPERATOR, Membership.Role.ADMIN)
    school = school_for_write(user=user, school_code=data.school_code)
    problems = pupil_problems(data, school=school)
    sibling = None
    if not problems:
        problems = nohukou.registration_problems(data)
        sibling = nohukou.multiple_birth_override(problems, data, duplicate_reason)
        if sibling is not None:
            problems = []
    if problems:
        raise problems[0] if len(problems) == 1 else ValidationFailed(
            _("学生信息有%(n)s处错误") % {"n": len(problems)},
            code="invalid_record",
            details=[p.as_dict() for p in problems],
        )
    if has_resident_id(data):
        holder = active_holder_of(data.id_number)
        if holder is not None:
            raise id_held_elsewhere_error(holder)
    likely = entry.likely_duplicates(data)
    if likely and not duplicate_reason.strip():
        raise BusinessRefused(
            _("发现疑似重复的学籍，请核对；如确认不是同一学生，请填写理由后再保存"),
            code="likely_duplicate",
            details=likely,
        )

    nohukou.derive_hukou(data)
    with transaction.atomic(), acting_as(user):
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    pupil = _create_pupil(school=school, data=data)
                break
            except IntegrityError as exc:
                if "one_active_pupil_per_id_number" in str(exc):
                    raise id_held_elsewhere_error(active_holder_of(data.id_number)) from exc
                if "national_number" not in str(exc):
                    raise
        else:  # pragma: no cover - 4 random digits colliding five times
            raise BusinessRefused(_("学籍号分配失败，请重试"), code="number_allocation_failed")
        record_event(
            pupil,
            kind="registered",
            summary=_("在%(school)s建立学籍，全国学籍号 %(number)s")
            % {"school": school.name, "number": pupil.national_number},
            user=user,
        )
        kept = likely + ([sibling] if sibling else [])
        if kept:
            entry.record_entry_override(pupil=pupil, likely=kept, reason=duplicate_reason, user=user)
    return pupil


def _create_pupil(*, school: School, data: PupilData) -> Pupil:
    pupil = Pupil.objects.create(
        national_number=new_national_number(school=school, data=data),
        name=data.name,
        former_name=data.former_name,
        sex=data.sex,
        birth_date=data.birth_date,
        ethnicity=data.ethnicity,
        nationality=data.nationality,
        id_type=data.id_type,
        id_number=data.id_number,
        hmt=data.hmt,
        hukou_division_id=data.hukou_division_code or None,
        hukou_nature=data.hukou_nature,
        health=data.health,
        boarding=data.boarding,
        left_behind=data.left_behind,
        migrant=data.migrant,
        enrolled_on=data.enrolled_on,
        school=school,
        school_class=class_for(school, data.grade, data.class_number),
        grade=data.grade,
        county_code=school.county_id,
    )
    Guardian.objects.bulk_create(
        Guardian(
            pupil=pupil,
            order=index,
            name=g.name,
            relation=g.relation,
            id_type=g.id_type,
            id_number=g.id_number,
            phone=g.phone,
            is_guardian=g.is_guardian,
            is_first_guardian=g.is_first_guardian,
            vital=g.vital,
            police_reference=g.police_reference,
            police_date=g.police_date,
            hukou_division_id=g.hukou_division_code or None,
        )
        for index, g in enumerate(data.guardians, start=1)
    )
    return pupil
