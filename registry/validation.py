"""Rules of one pupil record (fields and fields across one row).

``pupil_problems`` collects *every* problem of a record instead of stopping at the first,
so a roster row report can list them all; the registration service raises them together.
Rules across rows (an ID held elsewhere, likely duplicates) live in the services.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel import identity
from kernel.errors import ValidationFailed
from provinces.divisions import division_codes
from registry import codes, nohukou
from registry.records import GuardianData, PupilData

#: ID types whose number is a resident ID card (居民身份证) and must pass GB 11643.
RESIDENT_ID = "1"
#: ID type "other" (其他): the pupil has no usable document; the number stays empty.
NO_DOCUMENT = "Z"

REQUIRED_FIELDS = {
    "name": _("姓名"),
    "sex": _("性别"),
    "birth_date": _("出生日期"),
    "grade": _("年级"),
    "class_number": _("班级"),
    "enrolled_on": _("入学年月"),
}


def has_resident_id(data: PupilData) -> bool:
    return data.id_type == RESIDENT_ID and bool(data.id_number)


def pupil_problems(data: PupilData, *, school=None, today: dt.date | None = None) -> list[ValidationFailed]:
    """Every problem of ``data``; normalises codes and the ID number in place."""
    today = today or timezone.localdate()
    problems: list[ValidationFailed] = []

    for field_name, label in REQUIRED_FIELDS.items():
        value = getattr(data, field_name)
        if value in (None, ""):
            problems.append(ValidationFailed(_("%(field)s不能为空") % {"field": label}, code="required", field=field_name))
    data.name = " ".join((data.name or "").split())

    for table, field_name in codes.PUPIL_CODED_FIELDS.items():
        value = getattr(data, field_name)
        if value in (None, "") and field_name == "hukou_nature":
            continue
        try:
            setattr(data, field_name, codes.resolve(table, value, field=field_name))
        except ValidationFailed as exc:
            problems.append(exc)

    problems += _id_problems(data, today)

    if data.hukou_division_code and data.hukou_division_code not in division_codes():
        problems.append(
            ValidationFailed(
                _("户口所在地代码“%(code)s”不是有效的行政区划代码") % {"code": data.hukou_division_code},
                code="unknown_division",
                field="hukou_division_code",
            )
        )

    if data.birth_date and data.birth_date > today:
        problems.append(ValidationFailed(_("出生日期不能晚于今天"), code="birth_date_future", field="birth_date"))
    if data.enrolled_on and data.birth_date and data.enrolled_on < data.birth_date:
        problems.append(ValidationFailed(_("入学年月不能早于出生日期"), code="enrolled_before_birth", field="enrolled_on"))

    if school is not None and data.grade:
        if data.grade not in school.grades:
            problems.append(
                ValidationFailed(
                    _("%(school)s没有%(grade)s年级") % {"school": school.name, "grade": data.grade},
                    code="grade_not_in_school",
                    field="grade",
                )
            )

    for index, guardian in enumerate(data.guardians, start=1):
        problems += guardian_problems(guardian, index=index)
    problems += nohukou.guardian_rule_problems(data)
    return problems


def _id_problems(data: PupilData, today: dt.date) -> list[ValidationFailed]:
    data.id_number = identity.normalize_id_number(data.id_number or "")
    if data.id_type == RESIDENT_ID:
        if not data.id_number:
            return [
                ValidationFailed(
                    _("身份证件类型为居民身份证时必须填写身份证号；没有身份证号的学生请选择证件类型“其他”"),
                    code="id_number_required",
                    field="id_number",
                )
            ]
        try:
            parsed = identity.validate_resident_id(data.id_number, today=today)
        except ValidationFailed as exc:
            return [exc]
        problems = []
        if data.birth_date and data.sex in ("1", "2"):
            try:
                identity.check_id_agrees(data.id_number, birth_date=data.birth_date, sex=data.sex, parsed=parsed)
            except ValidationFailed as exc:
                problems.append(exc)
        return problems
    if data.id_type == NO_DOCUMENT and data.id_number:
        return [
            ValidationFailed(
                _("证件类型为“其他”时不得填写证件号；有身份证号请选择居民身份证"),
                code="id_number_not_allowed",
                field="id_number",
            )
        ]
    return []


def guardian_problems(guardian: GuardianData, *, index: int) -> list[ValidationFailed]:
    """Problems of one family member (家庭成员), fields named ``guardians[i].field``."""
    prefix = f"guardians[{index}]"
    problems: list[ValidationFailed] = []
    if not (guardian.name or "").strip():
        problems.append(
            ValidationFailed(_("家庭成员%(n)s的姓名不能为空") % {"n": index}, code="required", field=f"{prefix}.name")
        )
    try:
        guardian.relation = codes.resolve("relation", guardian.relation, field=f"{prefix}.relation")
    except ValidationFailed as exc:
        problems.append(exc)
    try:
        guardian.id_type = codes.resolve("id_type", guardian.id_type or RESIDENT_ID, field=f"{prefix}.id_type")
    except ValidationFailed as exc:
        problems.append(exc)
    guardian.id_number = identity.normalize_id_number(guardian.id_number or "")
    if guardian.id_type == RESIDENT_ID and guardian.id_number:
        try:
            identity.validate_resident_id(guardian.id_number)
        except ValidationFailed as exc:
            problems.append(
                ValidationFailed(
                    _("家庭成员%(n)s（%(name)s）的身份证号有误：%(reason)s")
                    % {"n": index, "name": guardian.name, "reason": exc.message},
                    code=exc.code,
                    field=f"{prefix}.id_number",
                )
            )
    return problems
