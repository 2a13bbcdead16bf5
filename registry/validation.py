"""Rules of one pupil record (fields and fields across one row).

``pupil_problems`` collects *every* problem of a record instead of stopping at the first,
so a roster row report can list them all; the registration service raises them together.
Rules across rows (an ID held elsewhere, likely duplicates) live in the services.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel import identity
from kernel.errors import ValidationFailed
from provinces.divisions import division_codes
from registry import codes, fields, nohukou
from registry.records import GuardianData, PupilData

#: ID types whose number is a resident ID card (居民身份证) and must pass GB 11643.
RESIDENT_ID = "1"
#: ID type "other" (其他): the pupil has no usable document; the number stays empty.
NO_DOCUMENT = "Z"

#: ID types whose number has a plausible form, though no check digit: the military
#: documents (军官证, 士兵证, 文职干部证, 部队离退休证: 4–20 Chinese characters, letters or
#: digits with at least one digit, e.g. ``南字第2018001号``) and the household register
#: (户口簿: 6–18 letters or digits).
DOCUMENT_FORMS = {
    **dict.fromkeys("2345", re.compile(r"(?=.*\d)[\u4e00-\u9fffA-Za-z0-9]{4,20}")),
    "B": re.compile(r"[A-Za-z0-9]{6,18}"),
}

#: A phone number as families give it: digits with an optional leading +, dashes, spaces or
#: brackets; 7–20 characters (the column's length).
PHONE_FORM = re.compile(r"\+?[0-9(][0-9 ()\-]{5,18}[0-9]")

#: Longest name the record holds (姓名, 曾用名, a family member's 姓名).
NAME_MAX_LENGTH = 50
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
#: A name in Chinese characters (rare ones of the CJK extensions included) with the middle
#: dot of minority and transliterated names between parts (阿沛·阿旺晋美); or, for a foreign
#: national, Latin letters in words joined by spaces, hyphens, apostrophes or dots.
NAME_FORM = re.compile(rf"[{_HAN}]+(·[{_HAN}]+)*|[A-Za-zÀ-ÖØ-öø-ɏ]+([ .'\-]+[A-Za-zÀ-ÖØ-öø-ɏ]+)*\.?")
#: Dots people type for the middle dot, read as it.
_MIDDLE_DOTS = str.maketrans({"\u2022": "·", "\u30fb": "·", "\uff65": "·", "\u2027": "·", "\u2219": "·",
                              "\u22c5": "·", "\u0387": "·"})


def normalize_name(name: str) -> str:
    """Spaces collapsed (none left between Chinese characters) and look-alike dots as ·."""
    text = " ".join(str(name or "").translate(_MIDDLE_DOTS).split())
    return re.sub(rf"(?<=[{_HAN}·]) (?=[{_HAN}·])", "", text)


def name_problem(name: str, *, field: str, label, who: str = "") -> ValidationFailed | None:
    """The one rule of names (pupils' and family members'), in the form, the API and the
    roster alike: Chinese characters with · between parts, or Latin letters, at most
    ``NAME_MAX_LENGTH`` characters; a formula prefix, a digit or markup is refused."""
    if not name:
        return None
    if len(name) > NAME_MAX_LENGTH:
        return text_too_long(label, NAME_MAX_LENGTH, field=field, who=who)
    if NAME_FORM.fullmatch(name):
        return None
    return ValidationFailed(
        _("%(who)s%(field)s“%(value)s”有误：姓名应为汉字（少数民族姓名可用间隔号“·”），外籍学生可用拉丁字母；"
          "不能含数字、符号或公式")
        % {"who": who, "field": label, "value": name[:NAME_MAX_LENGTH]},
        code="invalid_name", field=field,
    )


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
    data.name = normalize_name(data.name)
    data.former_name = normalize_name(data.former_name)
    for field_name, label in (("name", _("姓名")), ("former_name", _("曾用名"))):
        if (problem := name_problem(getattr(data, field_name), field=field_name, label=label)) is not None:
            problems.append(problem)

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

    problems += record_field_problems(data, fields.PUPIL_FIELDS)

    if (problem := members_problem(data.guardians)) is not None:
        problems.append(problem)
    for index, guardian in enumerate(data.guardians, start=1):
        problems += guardian_problems(guardian, index=index)
    problems += nohukou.guardian_rule_problems(data)
    return problems


def _id_problems(data: PupilData, today: dt.date) -> list[ValidationFailed]:
    data.id_number = identity.normalize_id_number(data.id_number or "")
    if len(data.id_number) > 32:
        return [text_too_long(_("身份证件号"), 32, field="id_number")]
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
    if data.id_type in DOCUMENT_FORMS and not data.id_number:
        return [
            ValidationFailed(
                _("身份证件类型为%(type)s时必须填写证件号") % {"type": codes.label("id_type", data.id_type)},
                code="id_number_required",
                field="id_number",
            )
        ]
    problem = document_number_problem(data.id_type, data.id_number, field="id_number")
    return [problem] if problem else []


def document_number_problem(id_type: str, number: str, *, field: str, who: str = "") -> ValidationFailed | None:
    """The problem of a number of an ID type in ``DOCUMENT_FORMS`` not of its form, or ``None``.

    ``who`` names a family member in the message (``家庭成员1（黄大强）的``).
    """
    form = DOCUMENT_FORMS.get(id_type)
    if form is None or not number or form.fullmatch(number):
        return None
    hint = (_("应为4–20位汉字、字母或数字，且含数字") if id_type != "B" else _("应为6–18位字母或数字"))
    return ValidationFailed(
        _("%(who)s%(type)s号码“%(number)s”格式有误：%(hint)s")
        % {"who": who, "type": codes.label("id_type", id_type), "number": number, "hint": hint},
        code="invalid_id_number",
        field=field,
    )


def members_problem(members: list) -> ValidationFailed | None:
    """The one limit of family members (家庭成员): at most ``fields.MAX_MEMBERS`` (the
    collection form's four), in the registration form, the API, the roster and 信息维护."""
    if len(members) <= fields.MAX_MEMBERS:
        return None
    return ValidationFailed(
        _("每名学生最多登记%(max)s位家庭成员") % {"max": fields.MAX_MEMBERS}, code="too_many_members", field="guardians"
    )


def _member_named(n: int, name: str) -> str:
    return gettext("家庭成员%(n)s（%(name)s）的") % {"n": n, "name": name}


def _member_numbered(n: int) -> str:
    return gettext("家庭成员%(n)s的") % {"n": n}


# Who a message is about, translated only when a message names them: a roster checks two to
# four members on each of tens of thousands of lines, nearly all without a problem.
member_named = lazy(_member_named, str)
member_numbered = lazy(_member_numbered, str)


def guardian_problems(guardian: GuardianData, *, index: int) -> list[ValidationFailed]:
    """Problems of one family member (家庭成员), fields named ``guardians[i].field``."""
    prefix = f"guardians[{index}]"
    problems: list[ValidationFailed] = []
    guardian.name = normalize_name(guardian.name)
    if not guardian.name:
        problems.append(
            ValidationFailed(_("家庭成员%(n)s的姓名不能为空") % {"n": index}, code="required", field=f"{prefix}.name")
        )
    elif (problem := name_problem(guardian.name, field=f"{prefix}.name", label=_("姓名"),
                                  who=member_numbered(index))) is not None:
        problems.append(problem)
    guardian.police_reference = str(guardian.police_reference or "").strip()
    if len(guardian.police_reference) > 64:
        problems.append(text_too_long(_("公安机关证明编号"), 64, field=f"{prefix}.police_reference",
                                      who=member_numbered(index)))
    try:
        guardian.relation = codes.resolve("relation", guardian.relation, field=f"{prefix}.relation")
    except ValidationFailed as exc:
        problems.append(exc)
    try:
        guardian.id_type = codes.resolve("id_type", guardian.id_type or RESIDENT_ID, field=f"{prefix}.id_type")
    except ValidationFailed as exc:
        problems.append(exc)
    guardian.id_number = identity.normalize_id_number(guardian.id_number or "")
    if len(guardian.id_number) > 32:
        problems.append(text_too_long(_("身份证件号"), 32, field=f"{prefix}.id_number",
                                      who=member_numbered(index)))
    if guardian.phone and not PHONE_FORM.fullmatch(str(guardian.phone).strip()):
        problems.append(
            ValidationFailed(
                _("家庭成员%(n)s（%(name)s）的联系电话“%(phone)s”格式有误：应为7–20位数字，可含 +、-、空格或括号")
                % {"n": index, "name": guardian.name, "phone": guardian.phone},
                code="invalid_phone",
                field=f"{prefix}.phone",
            )
        )
    problems += record_field_problems(
        guardian, fields.GUARDIAN_FIELDS, prefix=f"{prefix}.",
        who=member_named(index, guardian.name),
    )
    problem = document_number_problem(guardian.id_type, guardian.id_number, field=f"{prefix}.id_number",
                                      who=member_named(index, guardian.name))
    if problem:
        problems.append(problem)
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


POSTCODE_FORM = re.compile(r"[0-9]{6}")


def record_field_problems(record, spec: tuple[fields.RecordField, ...], *, prefix: str = "",
                          who: str = "") -> list[ValidationFailed]:
    """Problems of the standard's further fields (``registry.fields``) of a pupil or family
    member; normalises them in place (a code from its name, an empty code to its default,
    text stripped, a distance to a Decimal). ``prefix`` names a family member's fields
    (``guardians[1].``), ``who`` names the member in the message."""
    problems: list[ValidationFailed] = []
    for spec_field in spec:
        name = spec_field.name
        raw = getattr(record, name)
        value = "" if raw is None else " ".join(str(raw).split()) if spec_field.kind != fields.DISTANCE else raw
        field_name = prefix + name
        if spec_field.kind == fields.CODE:
            if value == "":
                setattr(record, name, spec_field.default)
                continue
            try:
                setattr(record, name, codes.resolve(spec_field.table, value, field=field_name))
            except ValidationFailed as exc:
                problems.append(exc)
            continue
        if spec_field.kind == fields.DISTANCE:
            try:
                setattr(record, name, fields.parse_distance(value))
            except ValueError:
                problems.append(ValidationFailed(
                    _("%(who)s%(field)s“%(value)s”有误：应为0到%(max)s之间的公里数，最多一位小数")
                    % {"who": who, "field": spec_field.verbose_name, "value": value, "max": fields.MAX_DISTANCE},
                    code="invalid_distance", field=field_name,
                ))
            continue
        setattr(record, name, value)
        if value == "":
            continue
        problem = _text_problem(spec_field, value, field=field_name, who=who)
        if problem is not None:
            problems.append(problem)
    return problems


def _text_problem(spec_field: fields.RecordField, value: str, *, field: str, who: str) -> ValidationFailed | None:
    label = spec_field.verbose_name
    if spec_field.kind == fields.TEXT and len(value) > spec_field.max_length:
        return text_too_long(label, spec_field.max_length, field=field, who=who)
    if spec_field.kind == fields.PHONE and not PHONE_FORM.fullmatch(value):
        return ValidationFailed(
            _("%(who)s%(field)s“%(value)s”格式有误：应为7–20位数字，可含 +、-、空格或括号")
            % {"who": who, "field": label, "value": value},
            code="invalid_phone", field=field,
        )
    if spec_field.kind == fields.POSTCODE and not POSTCODE_FORM.fullmatch(value):
        return ValidationFailed(
            _("%(who)s%(field)s“%(value)s”格式有误：应为6位数字") % {"who": who, "field": label, "value": value},
            code="invalid_postcode", field=field,
        )
    if spec_field.kind == fields.DIVISION and value not in division_codes():
        return ValidationFailed(
            _("%(who)s%(field)s代码“%(value)s”不是有效的行政区划代码") % {"who": who, "field": label, "value": value},
            code="unknown_division", field=field,
        )
    return None


def text_too_long(label, max_length: int, *, field: str, who: str = "") -> ValidationFailed:
    """The one message of a text over its length, in the form, the API and the roster."""
    return ValidationFailed(
        _("%(who)s%(field)s不能超过%(max)s个字符") % {"who": who, "field": label, "max": max_length},
        code="too_long", field=field,
    )
