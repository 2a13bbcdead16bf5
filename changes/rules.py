"""The rules of each kind of change request (学籍异动), and what approval does to the pupil.

Each kind has a ``check`` (pupil + raw payload → cleaned payload, or a refusal with its
own code) and an ``apply`` (writes the approved change on the locked pupil, returns the
before/after of what it changed). ``check`` runs when the request is opened and again
right before it is applied, so a request approved days later still obeys the rules.

Grade rules of the yearly cycle (which grade follows which, which grades graduate) also
live here, so promotion, graduation and 休学 read them from one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from changes import members
from changes.models import ChangeRequest, DropoutFollowUp, State
from enrolment.checks import active_holder_of, id_held_elsewhere_error
from kernel import identity
from kernel.errors import BusinessRefused, ValidationFailed
from provinces import calendar
from provinces.divisions import division_full_name
from provinces.models import ProvincePolicy
from registry import codes, fields, numbers
from registry.lifelong import registration_pending_refusal
from registry.models import ACTIVE_STATUSES, KEY_FIELDS, Pupil, PupilStatus
from registry.records import GuardianData, PupilData
from registry.validation import RESIDENT_ID, pupil_problems
from schools.classes import class_for
from schools.models import School, stage_of_grade

#: Working days allowed between a death and its filing (national rule).
DEATH_FILING_WORKING_DAYS = 10
#: Ages of compulsory education (义务教育适龄): a drop-out of these ages goes on 控辍保学.
COMPULSORY_AGES = range(6, 16)
#: Grades of compulsory education (小学 + 初中).
COMPULSORY_GRADES = range(1, 10)
#: Months of the second (last) semester of a school year: February to July.
LAST_SEMESTER_MONTHS = range(2, 8)
#: Key fields a key change may set (KEY_FIELDS with the class as its number).
KEY_CHANGE_FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "grade", "class_number")
assert set(KEY_CHANGE_FIELDS) - {"class_number"} == set(KEY_FIELDS) - {"school_class"}
#: Non-key pupil fields a record update (信息维护) may set; with them the family members'
#: fields, ``guardian<n>_<field>`` for the member of order ``n`` (``changes.members``).
RECORD_UPDATE_FIELDS = ("left_behind", "migrant", "health", "boarding", "hukou_nature", "hukou_division_code",
                        *fields.PUPIL_FIELD_NAMES)
assert not set(RECORD_UPDATE_FIELDS) & set(KEY_CHANGE_FIELDS)


# --- the yearly cycle: promotion date and graduation deadline -----------------------------

def check_school_year(year) -> int:
    """A school or graduation year the registry can hold (2000–2100), else a 422."""
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(_("学年应为2000到2100之间的年份"), code="invalid_school_year", field="school_year")
    return year


def school_year_under_way(today: dt.date, policy: ProvincePolicy) -> int:
    """The school year (its first calendar year) that has started by ``today``."""
    return today.year if today >= policy.promotion_day(today.year) else today.year - 1


def promotion_refusal(school_year: int, *, today: dt.date, policy: ProvincePolicy) -> BusinessRefused | None:
    """Promotion into a school year runs on or after the province's promotion date (08-10)."""
    start = policy.promotion_day(school_year)
    if today < start:
        return BusinessRefused(
            _("%(year)s学年的升级日期是%(date)s，不能提前升级") % {"year": school_year, "date": start.isoformat()},
            code="promotion_too_early",
            field="school_year",
        )
    return None


def graduation_year_under_way(today: dt.date, policy: ProvincePolicy) -> int:
    """The graduation of the school year under way (the 2026–2027 year graduates in 2027)."""
    return school_year_under_way(today, policy) + 1


def graduation_refusal(year: int, *, today: dt.date, policy: ProvincePolicy,
                       approving: bool = False) -> BusinessRefused | None:
    """A graduation list is for the school year under way; it is proposed by the province's
    deadline (07-30) and approved from the opening day (06-01) to that deadline. After the
    deadline the graduates' basic data is locked. The province admin can move both days."""
    current = graduation_year_under_way(today, policy)
    deadline = policy.graduation_deadline_day(year)
    if year > current:
        return BusinessRefused(
            _("只能办理本学年（%(year)s年）的毕业，%(asked)s年的毕业须在该学年办理") % {"year": current, "asked": year},
            code="graduation_not_this_year",
            field="school_year",
        )
    if today > deadline:
        return BusinessRefused(
            _("%(year)s年毕业办理已于%(date)s截止；确需延期的，请省级管理员在省级政策中调整毕业办理截止日期")
            % {"year": year, "date": deadline.isoformat()},
            code="graduation_deadline_passed",
            field="school_year",
        )
    opens = policy.graduation_opening_day(year)
    if approving and today < opens:
        return BusinessRefused(
            _("%(year)s年毕业名单自%(date)s起审核，届时毕业生才办理毕业") % {"year": year, "date": opens.isoformat()},
            code="graduation_too_early",
        )
    return None


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


#: How each payload field is called on the pages the approver decides from.
PAYLOAD_LABELS = {
    "start": _("开始日期"),
    "until": _("截止日期"),
    "date": _("日期"),
    "destination": _("去向"),
    "grade": _("年级"),
    "class_number": _("班号"),
    "name": _("姓名"),
    "sex": _("性别"),
    "birth_date": _("出生日期"),
    "id_type": _("身份证件类型"),
    "id_number": _("身份证件号"),
    "left_behind": _("是否留守儿童"),
    "migrant": _("是否随迁子女"),
    "health": _("健康状况"),
    "boarding": _("就读方式"),
    "hukou_nature": _("户口性质"),
    "hukou_division_code": _("户口所在地"),
}

#: Payload fields whose value is a code of a national code table.
PAYLOAD_CODE_TABLES = {
    "sex": "sex", "id_type": "id_type", "left_behind": "left_behind", "migrant": "migrant", "health": "health",
    "boarding": "boarding", "hukou_nature": "hukou_nature",
}


def payload_label(key: str) -> str:
    """How a payload field is called (a family member's phone: 家庭成员1联系电话)."""
    if (label := members.member_label(key)) is not None:
        return label
    if key in fields.PUPIL_FIELD_BY_NAME:
        return str(fields.PUPIL_FIELD_BY_NAME[key].verbose_name)
    return str(PAYLOAD_LABELS.get(key, key))


def shown_value(key: str, value) -> str:
    """A payload value in words: a code by its name, a division by its full name."""
    if members.parse_key(key) is not None:
        return members.member_shown(key, value)
    if value in (None, ""):
        return "—"
    if isinstance(value, dt.date):
        value = value.isoformat()
    if key in PAYLOAD_CODE_TABLES:
        return codes.label(PAYLOAD_CODE_TABLES[key], str(value))
    if key in fields.PUPIL_FIELD_BY_NAME:
        return fields.shown(fields.PUPIL_FIELD_BY_NAME[key], value)
    if key == "hukou_division_code":
        return division_full_name(str(value)) or str(value)
    return str(value)


# --- payload parsing ------------------------------------------------------------------

@dataclass
class Context:
    pupil: Pupil
    today: dt.date
    policy: ProvincePolicy
    #: The day the request was filed (death deadline); today while opening.
    filed_on: dt.date
    #: Who acts (a refusal naming another unit's pupil is recorded for them).
    user: object = None


def _allowed(payload: dict, keys: tuple[str, ...]) -> None:
    for key in payload:
        if key not in keys:
            raise ValidationFailed(
                _("不支持的字段“%(field)s”") % {"field": key}, code="unknown_field", field=key
            )


def _date(payload: dict, key: str, label, *, required: bool = True) -> dt.date | None:
    value = payload.get(key)
    if value in (None, ""):
        if required:
            raise ValidationFailed(_("%(field)s不能为空") % {"field": label}, code="required", field=key)
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(
            _("%(field)s“%(value)s”不是有效日期（应为 YYYY-MM-DD）") % {"field": label, "value": value},
            code="invalid_date",
            field=key,
        ) from None


def _int(payload: dict, key: str, label, *, required: bool = True) -> int | None:
    value = payload.get(key)
    if value in (None, ""):
        if required:
            raise ValidationFailed(_("%(field)s不能为空") % {"field": label}, code="required", field=key)
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("%(field)s应为整数") % {"field": label}, code="invalid_number", field=key
        ) from None


def _text(payload: dict, key: str, *, max_length: int = 200) -> str:
    return str(payload.get(key) or "").strip()[:max_length]


def _require_status(pupil: Pupil, allowed: tuple[str, ...], code: str, message) -> None:
    if pupil.status not in allowed:
        raise BusinessRefused(
            message % {"status": pupil.get_status_display()}, code=code, field="pupil"
        )


def _not_future(day: dt.date, key: str, ctx: Context) -> None:
    if day > ctx.today:
        raise ValidationFailed(_("日期不能晚于今天"), code="date_in_future", field=key)


def _class_number(payload: dict, pupil: Pupil) -> int:
    number = _int(payload, "class_number", _("班号"), required=False)
    if number is None:
        return pupil.school_class.number if pupil.school_class_id else 1
    if not 1 <= number <= 99:
        raise ValidationFailed(_("班号应在1到99之间"), code="invalid_class_number", field="class_number")
    return number


# --- checks per kind ------------------------------------------------------------------

NOT_ENROLLED = _("该学生当前学籍状态为“%(status)s”，只有在读学生可以办理此项异动")
NOT_SUSPENDED = _("该学生当前学籍状态为“%(status)s”，只有休学学生可以办理此项异动")


def check_suspend(ctx: Context, payload: dict) -> dict:
    """休学: 在读 only; at most one year; not in the last semester of a graduating grade."""
    _allowed(payload, ("start", "until"))
    pupil = ctx.pupil
    _require_status(pupil, (PupilStatus.ENROLLED,), "not_enrolled", NOT_ENROLLED)
    start = _date(payload, "start", _("休学开始日期"))
    until = _date(payload, "until", _("休学截止日期"))
    if until <= start:
        raise ValidationFailed(_("休学截止日期应晚于开始日期"), code="invalid_period", field="until")
    if until > add_years(start, 1):
        raise BusinessRefused(
            _("休学期限不得超过一年：自 %(start)s 起最晚至 %(limit)s")
            % {"start": start.isoformat(), "limit": add_years(start, 1).isoformat()},
            code="suspension_too_long",
            field="until",
        )
    if (
        ctx.policy.refuse_suspension_last_semester
        and pupil.grade in pupil.school.graduating_grades()
        and start.month in LAST_SEMESTER_MONTHS
    ):
        raise BusinessRefused(
            _("毕业年级最后一学期（2月至7月）不得办理休学"), code="suspension_last_semester", field="start"
        )
    return {"start": start.isoformat(), "until": until.isoformat()}


def check_suspend_extend(ctx: Context, payload: dict) -> dict:
    """延长休学: 休学 only; once per suspension; at most one more year."""
    _allowed(payload, ("until",))
    pupil = ctx.pupil
    _require_status(pupil, (PupilStatus.SUSPENDED,), "not_suspended", NOT_SUSPENDED)
    until = _date(payload, "until", _("延长后的休学截止日期"))
    current = pupil.status_until or ctx.today
    approved = ChangeRequest.objects.filter(pupil=pupil, state=State.APPROVED)
    last_suspension = approved.filter(kind=ChangeRequest.Kind.SUSPEND).order_by("-decided_at").first()
    extensions = approved.filter(kind=ChangeRequest.Kind.SUSPEND_EXTEND)
    if last_suspension is not None:
        extensions = extensions.filter(decided_at__gt=last_suspension.decided_at)
    if extensions.exists():
        raise BusinessRefused(_("休学只能延长一次，本次休学已延长过"), code="extension_used", field="until")
    if until <= current:
        raise ValidationFailed(
            _("延长后的截止日期应晚于当前截止日期 %(date)s") % {"date": current.isoformat()},
            code="invalid_period",
            field="until",
        )
    if until > add_years(current, 1):
        raise BusinessRefused(
            _("延长休学不得超过一年：最晚至 %(limit)s") % {"limit": add_years(current, 1).isoformat()},
            code="extension_too_long",
            field="until",
        )
    return {"until": until.isoformat(), "previous_until": current.isoformat()}


def check_resume(ctx: Context, payload: dict) -> dict:
    """复学: 休学 only; back into the same or the next grade of the same school."""
    _allowed(payload, ("grade", "class_number"))
    pupil = ctx.pupil
    _require_status(pupil, (PupilStatus.SUSPENDED,), "not_suspended", NOT_SUSPENDED)
    grade = _int(payload, "grade", _("复学年级"), required=False) or pupil.grade
    if grade not in (pupil.grade, pupil.grade + 1):
        raise BusinessRefused(
            _("复学只能回到原年级（%(grade)s）或下一年级") % {"grade": pupil.grade},
            code="resume_grade",
            field="grade",
        )
    _grade_in_school(pupil.school, grade)
    return {"grade": grade, "class_number": _class_number(payload, pupil)}


def grade_move_refusal(ctx: Context, grade: int) -> BusinessRefused | None:
    """The one rule for moving a pupil's grade in place (留级, 跳级, and a key change of the
    grade): one grade at a time, inside the stage, never back in compulsory grades where the
    province forbids 留级."""
    pupil = ctx.pupil
    if grade == pupil.grade - 1 and ctx.policy.forbid_repeat_in_compulsory and pupil.grade in COMPULSORY_GRADES:
        return BusinessRefused(
            _("本省规定义务教育阶段（1—9年级）不得留级"), code="repeat_forbidden_compulsory", field="grade"
        )
    if abs(grade - pupil.grade) != 1:
        return BusinessRefused(
            _("留级、跳级只能变动一个年级：当前为%(grade)s年级") % {"grade": pupil.grade},
            code="one_grade_only",
            field="grade",
        )
    if not 1 <= grade <= 12 or stage_of_grade(grade) != stage_of_grade(pupil.grade):
        return BusinessRefused(
            _("留级、跳级只能在同一学段（小学、初中、高中）内进行"), code="stage_boundary", field="grade"
        )
    return None


def _grade_change(ctx: Context, payload: dict, step: int) -> dict:
    _allowed(payload, ("grade", "class_number"))
    pupil = ctx.pupil
    _require_status(pupil, (PupilStatus.ENROLLED,), "not_enrolled", NOT_ENROLLED)
    target = pupil.grade + step
    grade = _int(payload, "grade", _("年级"), required=False) or target
    if grade != target:
        raise BusinessRefused(
            _("留级、跳级只能变动一个年级：应为%(grade)s年级") % {"grade": target},
            code="one_grade_only",
            field="grade",
        )
    refusal = grade_move_refusal(ctx, grade)
    if refusal:
        raise refusal
    _grade_in_school(pupil.school, grade)
    return {"grade": grade, "class_number": _class_number(payload, pupil)}


def check_repeat(ctx: Context, payload: dict) -> dict:
    """留级: back one grade, same school and stage; forbidden in compulsory grades by policy."""
    return _grade_change(ctx, payload, -1)


def check_skip(ctx: Context, payload: dict) -> dict:
    """跳级: up one grade, same school and stage."""
    return _grade_change(ctx, payload, +1)


def check_drop_out(ctx: Context, payload: dict) -> dict:
    """辍学: 在读 or 休学; a compulsory-age pupil goes on the county's 控辍保学 list."""
    _allowed(payload, ("date",))
    pupil = ctx.pupil
    _require_status(pupil, (PupilStatus.ENROLLED, PupilStatus.SUSPENDED), "not_enrolled", NOT_ENROLLED)
    day = _date(payload, "date", _("辍学日期"))
    _not_future(day, "date", ctx)
    return {"date": day.isoformat()}


def check_withdrawal(ctx: Context, payload: dict) -> dict:
    """退学: senior secondary only (grades 10–12: compulsory education cannot be left), from
    在读 or 休学; the date is not in the future. The reason is the request's own (required)."""
    _allowed(payload, ("date",))
    pupil = ctx.pupil
    _require_status(
        pupil,
        (PupilStatus.ENROLLED, PupilStatus.SUSPENDED),
        "not_enrolled",
        _("该学生当前学籍状态为“%(status)s”，只有在读或休学的学生可以办理退学"),
    )
    if pupil.grade in COMPULSORY_GRADES:
        raise BusinessRefused(
            _("义务教育阶段（1—9年级）学生不能办理退学；确已离校的适龄学生请办理辍学，纳入控辍保学跟踪"),
            code="withdrawal_compulsory",
            field="pupil",
        )
    day = _date(payload, "date", _("退学日期"))
    _not_future(day, "date", ctx)
    return {"date": day.isoformat()}


def check_abroad(ctx: Context, payload: dict) -> dict:
    """出境学习: 在读 or 休学."""
    _allowed(payload, ("date", "destination"))
    pupil = ctx.pupil
    _require_status(pupil, (PupilStatus.ENROLLED, PupilStatus.SUSPENDED), "not_enrolled", NOT_ENROLLED)
    day = _date(payload, "date", _("出境日期"))
    destination = _text(payload, "destination", max_length=100)
    if not destination:
        raise ValidationFailed(_("出境目的地不能为空"), code="required", field="destination")
    return {"date": day.isoformat(), "destination": destination}


def check_death(ctx: Context, payload: dict) -> dict:
    """死亡: an active record; filed within 10 working days of the date (evidence: at submit)."""
    _allowed(payload, ("date",))
    pupil = ctx.pupil
    _require_status(pupil, ACTIVE_STATUSES, "not_active", _("该学生当前学籍状态为“%(status)s”，不能办理死亡登记"))
    day = _date(payload, "date", _("死亡日期"))
    _not_future(day, "date", ctx)
    province = pupil.county_code
    if calendar.working_days_between(day, ctx.filed_on, province_code=province) > DEATH_FILING_WORKING_DAYS:
        raise BusinessRefused(
            _("死亡登记应在死亡之日起%(n)s个工作日内办理，最晚 %(last)s")
            % {
                "n": DEATH_FILING_WORKING_DAYS,
                "last": calendar.add_working_days(day, DEATH_FILING_WORKING_DAYS, province_code=province).isoformat(),
            },
            code="death_filing_late",
            field="date",
        )
    return {"date": day.isoformat()}


def check_reinstate(ctx: Context, payload: dict) -> dict:
    """恢复学籍: undoes 辍学 or 出境学习, back to 在读 (same or given grade/class of the school)."""
    _allowed(payload, ("grade", "class_number"))
    pupil = ctx.pupil
    _require_status(
        pupil,
        (PupilStatus.DROPPED_OUT, PupilStatus.ABROAD),
        "not_reinstatable",
        _("该学生当前学籍状态为“%(status)s”，只有辍学或出境学习的学生可以恢复学籍"),
    )
    grade = _int(payload, "grade", _("年级"), required=False) or pupil.grade
    _grade_in_school(pupil.school, grade)
    return {"grade": grade, "class_number": _class_number(payload, pupil)}


def check_key_change(ctx: Context, payload: dict) -> dict:
    """关键信息变更: not after graduation, not in the freeze window; the new values pass the
    registration rules; an ID held by another active pupil is refused."""
    _allowed(payload, KEY_CHANGE_FIELDS)
    pupil = ctx.pupil
    if pupil.basic_data_locked:
        raise BusinessRefused(
            _("该学生已毕业，基础信息已锁定，不能变更关键信息"), code="basic_data_locked", field="pupil"
        )
    if ctx.policy.in_freeze_window(ctx.today):
        raise BusinessRefused(
            _("升级期间（%(start)s 至 %(end)s）暂停办理关键信息变更")
            % {"start": ctx.policy.freeze_start, "end": ctx.policy.freeze_end},
            code="freeze_window",
        )
    data = merged_record(pupil, payload)
    _raise_problems(data, pupil, ctx)
    current = current_values(pupil)
    new = {
        "name": data.name, "sex": data.sex, "birth_date": data.birth_date.isoformat(), "id_type": data.id_type,
        "id_number": data.id_number, "grade": data.grade, "class_number": data.class_number,
    }
    changed = {k: v for k, v in new.items() if k in payload and v != current[k]}
    if not changed:
        raise ValidationFailed(_("没有需要变更的关键信息"), code="no_change")
    if "grade" in changed and (refusal := grade_move_refusal(ctx, data.grade)):
        raise refusal  # a grade corrected through a key change obeys the 留级/跳级 rule
    if data.id_type == RESIDENT_ID and data.id_number and "id_number" in changed:
        holder = active_holder_of(data.id_number, exclude_pk=pupil.pk)
        if holder is not None:
            raise id_held_elsewhere_error(holder, user=ctx.user, name=data.name)
    return changed


def _raise_problems(data: PupilData, pupil: Pupil, ctx: Context) -> None:
    """The changed record passes the registration rules (``registry.validation``), or a 422."""
    problems = pupil_problems(data, school=pupil.school, today=ctx.today)
    if problems:
        raise problems[0] if len(problems) == 1 else ValidationFailed(
            _("变更后的学生信息有%(n)s处错误") % {"n": len(problems)},
            code="invalid_record",
            details=[p.as_dict() for p in problems],
        )


def check_record_update(ctx: Context, payload: dict) -> dict:
    """信息维护: an active record's non-key fields (``RECORD_UPDATE_FIELDS``) and its family
    members, added, corrected or removed (``changes.members``); the changed record passes
    the registration rules; something must change. Key fields stay on the key change
    (``unknown_field`` here)."""
    pupil = ctx.pupil
    guardians = list(pupil.guardians.all())
    _allowed(payload, RECORD_UPDATE_FIELDS + tuple(k for k in payload if members.parse_key(k) is not None))
    if pupil.status not in ACTIVE_STATUSES or pupil.basic_data_locked:
        raise BusinessRefused(
            _("该学生当前学籍状态为“%(status)s”，只有在籍学生可以办理信息维护") % {"status": pupil.get_status_display()},
            code="not_active",
            field="pupil",
        )
    data = merged_record(pupil, {})
    for key in RECORD_UPDATE_FIELDS:
        if key in payload:
            setattr(data, key, str(payload[key] if payload[key] is not None else "").strip())
    data.guardians, touched = members.members_apply_to_record(guardians, data.guardians, payload)
    _raise_problems(data, pupil, ctx)
    new = {key: _payload_text(getattr(data, key)) for key in RECORD_UPDATE_FIELDS}
    current = record_values(pupil)
    changed = {k: v for k, v in new.items() if k in payload and v != current[k]}
    changed.update(members.member_changes(guardians, touched, payload))
    if not changed:
        raise ValidationFailed(_("没有需要维护的信息"), code="no_change")
    return changed


def _payload_text(value) -> str:
    """A cleaned value as a request payload keeps it (a distance as ``"2.5"``)."""
    return "" if value is None else str(value)


def record_values(pupil: Pupil) -> dict[str, Any]:
    """The current values of what a record update may change."""
    values = {key: _payload_text(getattr(pupil, key)) for key in RECORD_UPDATE_FIELDS
              if key != "hukou_division_code"}
    values["hukou_division_code"] = pupil.hukou_division_id or ""
    for guardian in pupil.guardians.all():
        values.update({members.member_key(guardian.order, k): v for k, v in members.member_values(guardian).items()})
    return values


def held_id_refusal(pupil: Pupil, payload: dict, *, user) -> None:
    """A key change to a resident ID another active record holds: refused, naming its school."""
    number = str(payload.get("id_number") or "").strip().upper()
    if number and payload.get("id_type", pupil.id_type) == RESIDENT_ID and number != pupil.id_number:
        holder = active_holder_of(number, exclude_pk=pupil.pk)
        if holder is not None:
            raise id_held_elsewhere_error(holder, user=user, name=str(payload.get("name") or pupil.name))


def current_values(pupil: Pupil) -> dict[str, Any]:
    return {
        "name": pupil.name,
        "sex": pupil.sex,
        "birth_date": pupil.birth_date.isoformat(),
        "id_type": pupil.id_type,
        "id_number": pupil.id_number,
        "grade": pupil.grade,
        "class_number": pupil.school_class.number if pupil.school_class_id else None,
    }


def merged_record(pupil: Pupil, payload: dict) -> PupilData:
    """The pupil as a registration record, with the requested key fields applied."""
    current = current_values(pupil)
    values = {**current, **{k: payload[k] for k in KEY_CHANGE_FIELDS if k in payload}}
    birth_date = values["birth_date"]
    if isinstance(birth_date, str):
        birth_date = _date({"birth_date": birth_date}, "birth_date", _("出生日期"))
    grade = _int(values, "grade", _("年级"))
    class_number = _int(values, "class_number", _("班号"), required=False) or 1
    return PupilData(
        school_code=pupil.school.code,
        name=str(values["name"] or ""),
        sex=str(values["sex"] or ""),
        birth_date=birth_date,
        grade=grade,
        class_number=class_number,
        enrolled_on=pupil.enrolled_on,
        id_type=str(values["id_type"] or ""),
        id_number=str(values["id_number"] or ""),
        former_name=pupil.former_name,
        ethnicity=pupil.ethnicity,
        nationality=pupil.nationality,
        hmt=pupil.hmt,
        hukou_division_code=pupil.hukou_division_id or "",
        hukou_nature=pupil.hukou_nature,
        health=pupil.health,
        boarding=pupil.boarding,
        left_behind=pupil.left_behind,
        migrant=pupil.migrant,
        **{name: getattr(pupil, name) for name in fields.PUPIL_FIELD_NAMES},
        guardians=[
            GuardianData(
                name=g.name, relation=g.relation, id_type=g.id_type, id_number=g.id_number, phone=g.phone,
                is_guardian=g.is_guardian, is_first_guardian=g.is_first_guardian, vital=g.vital,
                police_reference=g.police_reference, police_date=g.police_date,
                hukou_division_code=g.hukou_division_id or "",
                **{name: getattr(g, name) for name in fields.GUARDIAN_FIELD_NAMES},
            )
            for g in pupil.guardians.all()
        ],
    )


def _grade_in_school(school: School, grade: int) -> None:
    if grade not in school.grades:
        raise ValidationFailed(
            _("%(school)s没有%(grade)s年级") % {"school": school.name, "grade": grade},
            code="grade_not_in_school",
            field="grade",
        )


CHECKS: dict[str, Callable[[Context, dict], dict]] = {
    "suspend": check_suspend,
    "suspend_extend": check_suspend_extend,
    "resume": check_resume,
    "repeat": check_repeat,
    "skip": check_skip,
    "drop_out": check_drop_out,
    "withdrawal": check_withdrawal,
    "abroad": check_abroad,
    "death": check_death,
    "reinstate": check_reinstate,
    "key_change": check_key_change,
    "record_update": check_record_update,
}

#: Kinds that cannot be submitted without evidence (证明材料).
EVIDENCE_REQUIRED = frozenset({"death"})
#: Kinds whose request must state its reason (申请理由): 退学 records why the pupil left.
REASON_REQUIRED = frozenset({"withdrawal"})


def reason_refusal(kind: str, reason: str) -> ValidationFailed | None:
    """A kind of ``REASON_REQUIRED`` filed without a reason."""
    if kind in REASON_REQUIRED and not str(reason or "").strip():
        return ValidationFailed(
            _("办理%(kind)s须填写原因") % {"kind": ChangeRequest.Kind(kind).label},
            code="reason_required",
            field="reason",
        )
    return None


def check(kind: str, *, pupil: Pupil, payload: dict, today: dt.date, filed_on: dt.date | None = None,
          user=None) -> dict:
    if kind not in CHECKS:
        raise ValidationFailed(_("不支持的异动类别“%(kind)s”") % {"kind": kind}, code="unknown_kind", field="kind")
    if not isinstance(payload, dict):
        raise ValidationFailed(_("异动内容格式有误"), code="invalid_payload", field="payload")
    if pupil.status == PupilStatus.DELETED:
        raise BusinessRefused(_("该学籍已删除，不能办理学籍异动"), code="record_deleted", field="pupil")
    if (pending := registration_pending_refusal(pupil, doing=_("学籍异动"), field="pupil")) is not None:
        raise pending
    ctx = Context(
        pupil=pupil, today=today, policy=ProvincePolicy.for_province(pupil.county_code), filed_on=filed_on or today,
        user=user,
    )
    return CHECKS[kind](ctx, payload)


# --- what approval does -----------------------------------------------------------------

@dataclass
class Applied:
    """What one approval changed: before/after per field, and extra history entries."""

    before: dict
    after: dict
    events: list[tuple[str, str, dict]]


def _set(pupil: Pupil, applied: Applied, **values) -> None:
    for field, value in values.items():
        old = getattr(pupil, field)
        applied.before[field] = _plain(old)
        applied.after[field] = _plain(value)
        setattr(pupil, field, value)


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value)
    return value


def apply(request, pupil: Pupil, *, today: dt.date) -> Applied:
    """Write an approved request's change onto the (locked) pupil; the caller saves it."""
    kind, data = request.kind, request.payload
    applied = Applied(before={}, after={}, events=[])
    K = ChangeRequest.Kind
    if kind == K.SUSPEND:
        _set(pupil, applied, status=PupilStatus.SUSPENDED, status_until=dt.date.fromisoformat(data["until"]))
    elif kind == K.SUSPEND_EXTEND:
        _set(pupil, applied, status_until=dt.date.fromisoformat(data["until"]))
    elif kind in (K.RESUME, K.REINSTATE, K.REPEAT, K.SKIP):
        values = {"grade": data["grade"], "school_class": class_for(pupil.school, data["grade"], data["class_number"])}
        if kind in (K.RESUME, K.REINSTATE):
            values.update(status=PupilStatus.ENROLLED, status_until=None)
        _set(pupil, applied, **values)
        if kind == K.REINSTATE:
            DropoutFollowUp.objects.filter(pupil=pupil, closed_at__isnull=True).update(
                closed_at=request.decided_at, closed_note=str(_("已恢复学籍"))
            )
    elif kind == K.DROP_OUT:
        _set(pupil, applied, status=PupilStatus.DROPPED_OUT, status_until=None)
        day = dt.date.fromisoformat(data["date"])
        age = age_on(pupil.birth_date, day)
        if age in COMPULSORY_AGES:
            DropoutFollowUp.objects.create(
                pupil=pupil, request=request, school=pupil.school, county_code=pupil.county_code,
                dropped_on=day, age=age,
            )
    elif kind == K.WITHDRAWAL:
        _set(pupil, applied, status=PupilStatus.WITHDRAWN, status_until=None)
    elif kind == K.ABROAD:
        _set(pupil, applied, status=PupilStatus.ABROAD, status_until=None)
    elif kind == K.DEATH:
        _set(pupil, applied, status=PupilStatus.DECEASED, status_until=None)
    elif kind == K.KEY_CHANGE:
        _apply_key_change(pupil, data, applied)
    elif kind == K.RECORD_UPDATE:
        _apply_record_update(pupil, data, applied)
    return applied


def _apply_record_update(pupil: Pupil, data: dict, applied: Applied) -> None:
    """The pupil's fields on the (locked) pupil; its family members' rows at once."""
    current = record_values(pupil)
    members.members_write(pupil, data, applied)
    for key, value in data.items():
        if members.parse_key(key) is not None:
            continue
        applied.before[key] = current.get(key)
        applied.after[key] = value
        if key == "hukou_division_code":
            pupil.hukou_division_id = value or None
        elif key in fields.PUPIL_FIELD_BY_NAME:
            setattr(pupil, key, fields.stored(fields.PUPIL_FIELD_BY_NAME[key], value))
        else:
            setattr(pupil, key, value)


def _apply_key_change(pupil: Pupil, data: dict, applied: Applied) -> None:
    values: dict[str, Any] = {}
    for field in ("name", "sex", "id_type", "id_number", "grade"):
        if field in data:
            values[field] = data[field]
    if "birth_date" in data:
        values["birth_date"] = dt.date.fromisoformat(data["birth_date"])
    if "grade" in data or "class_number" in data:
        grade = data.get("grade", pupil.grade)
        number = data.get("class_number") or (pupil.school_class.number if pupil.school_class_id else 1)
        values["school_class"] = class_for(pupil.school, grade, number)
    _set(pupil, applied, **values)
    if pupil.national_number.startswith("J") and pupil.id_type == RESIDENT_ID and pupil.id_number:
        old = pupil.national_number
        new = identity.make_g_number(pupil.id_number)
        if Pupil.objects.filter(national_number=new).exclude(pk=pupil.pk).exists():
            raise BusinessRefused(
                _("全国学籍号 %(number)s 已被另一学籍使用，请联系省级管理员核查") % {"number": new},
                code="g_number_taken",
                field="id_number",
            )
        _set(pupil, applied, national_number=new)
        numbers.retire(pupil=pupil, number=old)
        applied.events.append(
            (
                "number_changed",
                str(_("取得居民身份证号，全国学籍号由 %(old)s 变更为 %(new)s") % {"old": old, "new": new}),
                {"old": old, "new": new},
            )
        )
