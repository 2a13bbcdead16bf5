"""Pupils without household registration (无户籍学生; docs/design.md, 无户籍).

A pupil "without hukou" is a pupil with no usable resident ID (no 居民身份证 number) who
is not a Hong Kong/Macao/Taiwan compatriot, overseas Chinese or foreigner (港澳台侨外
"00"): the national rules exclude those (“不含港澳台侨胞及外籍学生”). Such a pupil gets a ``J``
national student number and must carry its family as the national rules say:

* both parents (父亲 51 / 母亲 52; step/adoptive parents 53 / 54 count as father / mother),
  each with a valid resident ID number;
* a parent who died (死亡) or is missing (失踪) excuses that parent; "missing" counts only
  with the police confirmation (公安机关认定): its reference and date on that parent;
* both parents dead or missing: exactly one legal guardian (法定监护人), a non-parent
  family member marked guardian, with a valid resident ID number;
* exactly one first guardian (第一监护人) — divorced parents are still both recorded;
* 户籍所在地 (the pupil's hukou division) is the first guardian's, never typed in, and
  户籍地教育主管部门 is the county of that division (``hukou_authority``).

``guardian_rule_problems`` (rules of one record) is called by the record validator for every
pupil, ``registration_problems`` (rules across records) and ``derive_hukou`` by the
registration service; ``guardian_set_first`` moves the first guardian, and the hukou with it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Case, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import get_in_scope
from kernel import identity
from kernel.errors import BusinessRefused, Forbidden, ValidationFailed
from provinces.models import Division
from registry.history import record_event
from registry.lifelong import finished_record_error
from registry.models import ACTIVE_STATUSES, FINISHED_STATUSES, Guardian, Pupil
from registry.records import GuardianData, PupilData
from schools.models import School

logger = logging.getLogger(__name__)

RESIDENT_ID = "1"
#: 港澳台侨外 "否": the only pupils the no-hukou rules apply to.
NOT_HMT = "00"
FATHER_RELATIONS = frozenset({"51", "53"})
MOTHER_RELATIONS = frozenset({"52", "54"})
PARENT_RELATIONS = FATHER_RELATIONS | MOTHER_RELATIONS

ALIVE, DECEASED, MISSING = "alive", "deceased", "missing"
VITALS = (ALIVE, DECEASED, MISSING)
#: A family member's 状况 by its name as files and exports write it (untranslated), and the
#: everyday words for it.
VITAL_NAMES = {ALIVE: "健在", DECEASED: "死亡", MISSING: "失踪"}
_VITAL_WORDS = {**{name: vital for vital, name in VITAL_NAMES.items()}, **{vital: vital for vital in VITALS},
                "在世": ALIVE, "正常": ALIVE, "去世": DECEASED, "已故": DECEASED, "亡故": DECEASED,
                "已去世": DECEASED, "下落不明": MISSING}


def vital_of(text: str) -> str:
    """``健在`` / ``死亡`` / ``失踪`` (or the value, or an everyday word) → the 状况 value;
    empty is 健在; anything else is returned as given, for the rules to refuse."""
    text = (text or "").strip()
    if not text:
        return ALIVE
    return _VITAL_WORDS.get(text.lower(), text)


_ROLE_NAMES = {"father": _("父亲"), "mother": _("母亲")}


def is_no_hukou(data: PupilData) -> bool:
    """Whether the no-hukou rules apply: no resident ID number, not 港澳台侨外."""
    has_resident_id = data.id_type == RESIDENT_ID and bool(data.id_number)
    return not has_resident_id and (data.hmt or NOT_HMT) == NOT_HMT


def pupil_is_no_hukou(pupil) -> bool:
    """``is_no_hukou`` for a stored pupil."""
    has_resident_id = pupil.id_type == RESIDENT_ID and bool(pupil.id_number)
    return not has_resident_id and (pupil.hmt or NOT_HMT) == NOT_HMT


def no_hukou_q(prefix: str = "") -> Q:
    """``pupil_is_no_hukou`` as a query condition, for counting (``prefix``: the path to the pupil)."""
    has_resident_id = Q(**{f"{prefix}id_type": RESIDENT_ID}) & ~Q(**{f"{prefix}id_number": ""})
    return ~has_resident_id & Q(**{f"{prefix}hmt__in": (NOT_HMT, "")})


def _has_valid_resident_id(guardian: GuardianData) -> bool:
    if guardian.id_type != RESIDENT_ID or not guardian.id_number:
        return False
    try:
        identity.validate_resident_id(guardian.id_number)
    except ValidationFailed:
        return False
    return True


def _gave_bad_resident_id(guardian: GuardianData) -> bool:
    """An ID number given but invalid: the record validator already refused it."""
    return guardian.id_type == RESIDENT_ID and bool(guardian.id_number) and not _has_valid_resident_id(guardian)


def _who(guardian: GuardianData, index: int) -> dict:
    return {"n": index, "name": guardian.name}


# Rules of one record -------------------------------------------------------------------


def guardian_rule_problems(data: PupilData) -> list[ValidationFailed]:
    """Problems of the family members of one record, each with its own code and field.

    For every pupil: a known vital status, a known hukou division, at most one first
    guardian. For a no-hukou pupil also the parents / legal guardian / first guardian rules.
    """
    problems: list[ValidationFailed] = []
    members = list(enumerate(data.guardians, start=1))
    for index, guardian in members:
        problems += _member_problems(guardian, index)
    firsts = [(i, g) for i, g in members if g.is_first_guardian]
    if len(firsts) > 1:
        problems.append(
            ValidationFailed(
                _("第一监护人只能有一位，现标记了%(count)s位：%(names)s")
                % {"count": len(firsts), "names": "、".join(g.name for _i, g in firsts)},
                code="first_guardian_not_unique",
                field=f"guardians[{firsts[1][0]}].is_first_guardian",
            )
        )
    if is_no_hukou(data):
        problems += _parent_problems(members)
        if len(firsts) == 1:
            problems += _first_guardian_problems(members, *firsts[0])
        elif not firsts:
            problems.append(
                ValidationFailed(
                    _("无户籍学生须指定一位第一监护人（父母离异的，依法填写第一监护人），户籍所在地随第一监护人"),
                    code="nohukou_first_guardian_required",
                    field="guardians",
                )
            )
    return problems


def _member_problems(guardian: GuardianData, index: int) -> list[ValidationFailed]:
    prefix = f"guardians[{index}]"
    problems: list[ValidationFailed] = []
    guardian.vital = (guardian.vital or ALIVE).strip()
    guardian.police_reference = (guardian.police_reference or "").strip()
    guardian.hukou_division_code = (guardian.hukou_division_code or "").strip()
    if guardian.vital not in VITALS:
        problems.append(
            ValidationFailed(
                _("家庭成员%(n)s（%(name)s）的状况“%(value)s”无效，应为健在、死亡或失踪")
                % {**_who(guardian, index), "value": guardian.vital},
                code="guardian_vital_unknown",
                field=f"{prefix}.vital",
            )
        )
    if guardian.vital == MISSING:
        if not guardian.police_reference:
            problems.append(
                ValidationFailed(
                    _("家庭成员%(n)s（%(name)s）登记为失踪，须填写公安机关认定失踪的证明编号") % _who(guardian, index),
                    code="guardian_missing_police_reference",
                    field=f"{prefix}.police_reference",
                )
            )
        if guardian.police_date is None:
            problems.append(
                ValidationFailed(
                    _("家庭成员%(n)s（%(name)s）登记为失踪，须填写公安机关认定失踪的日期") % _who(guardian, index),
                    code="guardian_missing_police_date",
                    field=f"{prefix}.police_date",
                )
            )
        elif guardian.police_date > timezone.localdate():
            problems.append(
                ValidationFailed(
                    _("家庭成员%(n)s（%(name)s）的公安机关认定日期不能晚于今天") % _who(guardian, index),
                    code="guardian_police_date_future",
                    field=f"{prefix}.police_date",
                )
            )
    if guardian.hukou_division_code and not Division.objects.filter(code=guardian.hukou_division_code).exists():
        problems.append(
            ValidationFailed(
                _("家庭成员%(n)s（%(name)s）的户籍所在地代码“%(code)s”不是有效的行政区划代码")
                % {**_who(guardian, index), "code": guardian.hukou_division_code},
                code="guardian_hukou_division_unknown",
                field=f"{prefix}.hukou_division_code",
            )
        )
    return problems


def _excused(guardian: GuardianData) -> bool:
    """Dead, or missing as confirmed by the police (reference and date)."""
    if guardian.vital == DECEASED:
        return True
    return guardian.vital == MISSING and bool(guardian.police_reference) and guardian.police_date is not None


def _parent_problems(members: list[tuple[int, GuardianData]]) -> list[ValidationFailed]:
    problems: list[ValidationFailed] = []
    excused_roles = 0
    for role, relations in (("father", FATHER_RELATIONS), ("mother", MOTHER_RELATIONS)):
        parents = [(i, g) for i, g in members if g.relation in relations]
        for index, parent in parents:
            if parent.vital == ALIVE and not _has_valid_resident_id(parent) and not _gave_bad_resident_id(parent):
                problems.append(
                    ValidationFailed(
                        _("无户籍学生须录入%(role)s的居民身份证号：家庭成员%(n)s（%(name)s）没有填写有效的居民身份证号")
                        % {"role": _ROLE_NAMES[role], **_who(parent, index)},
                        code=f"nohukou_{role}_id_required",
                        field=f"guardians[{index}].id_number",
                    )
                )
        if not parents:
            problems.append(
                ValidationFailed(
                    _("无户籍学生须录入%(role)s的身份信息；%(role)s去世或失踪的，也须录入并注明状况（失踪须经公安机关认定）")
                    % {"role": _ROLE_NAMES[role]},
                    code=f"nohukou_{role}_required",
                    field="guardians",
                )
            )
        elif not any(g.vital == ALIVE for _i, g in parents) and any(_excused(g) for _i, g in parents):
            excused_roles += 1
    if excused_roles == 2:
        problems += _legal_guardian_problems(members)
    return problems


def _legal_guardian_problems(members: list[tuple[int, GuardianData]]) -> list[ValidationFailed]:
    """Both parents dead or missing: exactly one legal guardian with a valid resident ID."""
    legal = [(i, g) for i, g in members if g.relation not in PARENT_RELATIONS and g.is_guardian]
    if not legal:
        return [
            ValidationFailed(
                _("父母均已去世或失踪的无户籍学生，须录入一位法定监护人（非父母的家庭成员，标记为监护人）的身份信息"),
                code="nohukou_legal_guardian_required",
                field="guardians",
            )
        ]
    if len(legal) > 1:
        return [
            ValidationFailed(
                _("父母均已去世或失踪的无户籍学生只能录入一位法定监护人，现有%(count)s位：%(names)s")
                % {"count": len(legal), "names": "、".join(g.name for _i, g in legal)},
                code="nohukou_one_legal_guardian",
                field=f"guardians[{legal[1][0]}].is_guardian",
            )
        ]
    index, guardian = legal[0]
    if not _has_valid_resident_id(guardian) and not _gave_bad_resident_id(guardian):
        return [
            ValidationFailed(
                _("法定监护人（家庭成员%(n)s，%(name)s）须填写有效的居民身份证号") % _who(guardian, index),
                code="nohukou_legal_guardian_id_required",
                field=f"guardians[{index}].id_number",
            )
        ]
    if guardian.vital != ALIVE:
        return [
            ValidationFailed(
                _("法定监护人（家庭成员%(n)s，%(name)s）须健在") % _who(guardian, index),
                code="nohukou_legal_guardian_not_alive",
                field=f"guardians[{index}].vital",
            )
        ]
    return []


def _first_guardian_problems(
    members: list[tuple[int, GuardianData]], index: int, first: GuardianData
) -> list[ValidationFailed]:
    prefix = f"guardians[{index}]"
    problems: list[ValidationFailed] = []
    if first.vital != ALIVE or not first.is_guardian:
        problems.append(
            ValidationFailed(
                _("第一监护人（家庭成员%(n)s，%(name)s）须是健在的监护人") % _who(first, index),
                code="nohukou_first_guardian_not_guardian",
                field=f"{prefix}.is_first_guardian",
            )
        )
    elif first.relation not in PARENT_RELATIONS and any(
        g.relation in PARENT_RELATIONS and g.vital == ALIVE for _i, g in members
    ):
        problems.append(
            ValidationFailed(
                _("父母有健在的，第一监护人须是父亲或母亲；家庭成员%(n)s（%(name)s）不是父母")
                % _who(first, index),
                code="nohukou_first_guardian_not_parent",
                field=f"{prefix}.is_first_guardian",
            )
        )
    if not first.hukou_division_code:
        problems.append(
            ValidationFailed(
                _("无户籍学生的户籍所在地随第一监护人：请填写第一监护人（家庭成员%(n)s，%(name)s）的户籍所在地")
                % _who(first, index),
                code="nohukou_first_guardian_hukou_required",
                field=f"{prefix}.hukou_division_code",
            )
        )
    else:
        division = Division.objects.filter(code=first.hukou_division_code).first()
        if division is not None and authority_of(division) is None:
            problems.append(
                ValidationFailed(
                    _("第一监护人（家庭成员%(n)s，%(name)s）的户籍所在地须填写到区县：“%(division)s”无法确定户籍地教育主管部门")
                    % {**_who(first, index), "division": division.full_name()},
                    code="nohukou_first_guardian_hukou_not_county",
                    field=f"{prefix}.hukou_division_code",
                )
            )
    return problems


# Hukou (户籍所在地 / 户籍地教育主管部门) --------------------------------------------------------


def authority_of(division: Division | None) -> Division | None:
    """The county-level division whose education bureau is the hukou authority.

    A county is its own; a city without counties (东莞, 中山, 儋州, 嘉峪关) names its one
    county-level unit of the same name (``4419`` → ``441900``), or acts as one where that
    unit is missing; a province or a city with counties is too coarse to name one.
    """
    if division is None:
        return None
    if division.level == Division.Level.COUNTY:
        return division
    if division.level == Division.Level.CITY:
        children = list(division.children.all()[:2])
        if not children:
            return division
        if len(children) == 1 and children[0].name == division.name:
            return children[0]
    return None


def hukou_authority(pupil) -> Division | None:
    """户籍地教育主管部门 of a pupil: the county of its hukou division (derived, not stored)."""
    return authority_of(pupil.hukou_division)


def derive_hukou(data: PupilData) -> None:
    """户籍所在地 of a no-hukou pupil follows the first guardian.

    Whatever hukou division the input carried is overwritten by the first guardian's: the
    field is derived, never typed in, for these pupils.
    """
    if not is_no_hukou(data):
        return
    first = next((g for g in data.guardians if g.is_first_guardian), None)
    if first is not None:
        data.hukou_division_code = first.hukou_division_code


# Rules across records ------------------------------------------------------------------


def existing_record_of(data: PupilData, *, province_code: str, exclude_pk: int | None = None):
    """A no-hukou pupil of the province, active or with a finished stage, that is probably
    the child of ``data``.

    Match: a family member's resident ID number equal to one of the new record's parents'
    or guardians' AND the same name or the same birth date. One query on the indexed
    ``Guardian.id_number``; deliberately registry-wide within the province (not the user's
    scope): the refusal only names the school holding the record, as for an ID number.
    ``exclude_pk``: the record whose values these are (corrected after 退回修改), never its
    own existing record.
    """
    id_numbers = sorted(
        {
            g.id_number
            for g in data.guardians
            if (g.relation in PARENT_RELATIONS or g.is_guardian) and _has_valid_resident_id(g)
        }
    )
    if not id_numbers:
        return None
    members = Guardian.objects.exclude(pupil_id=exclude_pk) if exclude_pk is not None else Guardian.objects.all()
    match = (
        members.filter(
            id_number__in=id_numbers,
            pupil__status__in=(*ACTIVE_STATUSES, *FINISHED_STATUSES),
            pupil__county_code__startswith=province_code,
        )
        .filter(Q(pupil__id_number="") | ~Q(pupil__id_type=RESIDENT_ID))
        .filter(Q(pupil__name=data.name) | Q(pupil__birth_date=data.birth_date))
        .select_related("pupil__school__county__parent__parent")
        .order_by(Case(When(pupil__status__in=ACTIVE_STATUSES, then=0), default=1), "pupil_id")
        .first()
    )
    return match.pupil if match is not None else None


def records_of_no_id_children(children: list[tuple[str, dt.date, frozenset[str]]]) -> list[list[Pupil]]:
    """The active records without an ID number that are each of ``children`` (name, birth
    date, the family's ID numbers) — the rule another province's registry is answered by
    (跨省查重, ``registry.id_held`` / ``registry.ids_held``): the same name, the same birth
    date, and every given ID number among the record's family members. One query for the
    lot (the family members holding the given numbers, with their pupil and school); each
    child's records in pk order.

    Stricter than ``existing_record_of`` (a shared parent's ID and the same name *or* birth
    date): a peer's question names no relations, its answer says nothing of how the child
    matched, and the asking side refuses a held child at entry with no 多胞胎 declaration to
    answer it — so only the same child is held, never a sibling born the same day.
    """
    asked = [(name, birth_date, family) for name, birth_date, family in children if family]
    if not asked:
        return [[] for _ in children]
    rows = (
        Guardian.objects.filter(
            id_number__in={number for _n, _b, family in asked for number in family},
            pupil__id_number="",
            pupil__status__in=ACTIVE_STATUSES,
            pupil__name__in={name for name, _b, _f in asked},
            pupil__birth_date__in={birth_date for _n, birth_date, _f in asked},
        )
        .select_related("pupil__school")
        .order_by("pupil_id")
    )
    members: dict[tuple[str, dt.date], dict[int, tuple[Pupil, set[str]]]] = {}
    for row in rows:
        pupil = row.pupil
        _pupil, numbers = members.setdefault((pupil.name, pupil.birth_date), {}).setdefault(pupil.pk, (pupil, set()))
        numbers.add(row.id_number)
    return [
        [pupil for pupil, numbers in members.get((name, birth_date), {}).values() if family and family <= numbers]
        for name, birth_date, family in children
    ]


def registration_problems(data: PupilData, *, exclude_pk: int | None = None) -> list[ValidationFailed]:
    """Rules across records for a new no-hukou pupil: an existing record of the same child.

    Seed 004: within the province the receiving school must start a transfer (转学) found
    by the parents' ID numbers, never create a second record.
    """
    if not is_no_hukou(data):
        return []
    school = School.objects.filter(code=data.school_code).only("county_id").first()
    if school is None:
        return []
    holder = existing_record_of(data, province_code=school.county_id[:2], exclude_pk=exclude_pk)
    if holder is None:
        return []
    if holder.status in FINISHED_STATUSES and holder.name == data.name:
        return [finished_record_error(holder, field="guardians", found=_("父母身份证号一致的"))]
    same_name = holder.name == data.name
    message = _(
        "该无户籍学生已在%(school)s（%(county)s）建有学籍，全国学籍号 %(number)s"
        "（父母身份证号与%(relation)s一致）。省内流动的无户籍学生不得重新建立学籍，"
        "请转入学校在“转学 → 转学申请”中选择转出学校%(school)s，填写父母（或法定监护人）身份证号查找该学生并发起转学。"
    ) % {
        "school": holder.school.name,
        "county": holder.school.county.full_name(),
        "number": holder.national_number,
        "relation": _("姓名") if same_name else _("出生日期"),
    }
    if not same_name:
        hint = _("如确为多胞胎（同父母、同出生日期、姓名不同），请填写理由后再保存，区县将核查。")
        message = f"{message}{hint}"
    return [
        BusinessRefused(
            message,
            code="nohukou_existing_record",
            field="guardians",
            details={
                "school_code": holder.school.code,
                "county_code": holder.county_code,
                "national_number": holder.national_number,
                "multiple_birth_possible": not same_name,
            },
        )
    ]


def multiple_birth_override(problems: list[ValidationFailed], data: PupilData, reason: str) -> dict | None:
    """The sibling record when the only problem is an existing no-hukou record of another
    name born the same day and the operator states why this is another child (多胞胎).

    The caller registers the pupil and opens a case for the county to verify the pair, as
    for a likely duplicate kept at entry; the pupil is a problem record until it is resolved.
    """
    if len(problems) != 1 or not reason.strip():
        return None
    problem = problems[0]
    if problem.code != "nohukou_existing_record" or not problem.details.get("multiple_birth_possible"):
        return None
    return {
        "national_number": problem.details["national_number"],
        "score": 1.0,
        "reasons": [str(_("同父母、同出生日期的无户籍学生，录入时申报为多胞胎"))],
        "kind": "multiple_birth",
    }


# Services ------------------------------------------------------------------------------


def guardian_set_first(*, user, pupil, guardian):
    """Make ``guardian`` the pupil's first guardian (第一监护人); the hukou follows.

    Only the operator of the pupil's school. For a no-hukou pupil the new first guardian
    must be a living guardian with a county-level hukou division, and the pupil's 户籍所在地
    changes with it in the same transaction. Idempotent: a repeated click changes nothing.
    """
    pupil_pk = pupil.pk if isinstance(pupil, Pupil) else None
    guardian_pk = guardian.pk if isinstance(guardian, Guardian) else guardian
    lookup = {"pk": pupil_pk} if pupil_pk is not None else {"national_number": identity.normalize_id_number(pupil)}
    with transaction.atomic():
        locked = get_in_scope(Pupil.objects.select_for_update(of=("self",)).select_related("school"), user, **lookup)
        membership = require_role(user, Membership.Role.OPERATOR)
        if membership.school_id != locked.school_id:
            raise Forbidden(_("只有学生所在学校的学籍管理员可以变更第一监护人"), code="role_forbidden")
        if locked.basic_data_locked:
            raise BusinessRefused(_("该学生的基础信息已锁定，不能变更第一监护人"), code="pupil_basic_data_locked")
        target = get_in_scope(Guardian.objects.select_related("hukou_division"), user, pk=guardian_pk, pupil=locked)
        if target.is_first_guardian:
            return target
        no_hukou = pupil_is_no_hukou(locked)
        _check_new_first(target, pupil=locked, no_hukou=no_hukou)
        with acting_as(user):
            previous = Guardian.objects.filter(pupil=locked, is_first_guardian=True).first()
            if previous is not None:
                Guardian.objects.filter(pk=previous.pk).update(is_first_guardian=False)
            Guardian.objects.filter(pk=target.pk).update(is_first_guardian=True)
            old_hukou = locked.hukou_division_id
            if no_hukou and old_hukou != target.hukou_division_id:
                locked.hukou_division = target.hukou_division
                locked.save(update_fields=["hukou_division", "updated_at"])
            record_event(
                locked,
                kind="first_guardian_changed",
                summary=_("第一监护人由%(old)s变更为%(new)s%(hukou)s")
                % {
                    "old": previous.name if previous else _("（无）"),
                    "new": target.name,
                    "hukou": (_("，户籍所在地随之变更为%(d)s") % {"d": target.hukou_division.full_name()})
                    if no_hukou and old_hukou != target.hukou_division_id
                    else "",
                },
                user=user,
                data={
                    "old_guardian": previous.pk if previous else None,
                    "new_guardian": target.pk,
                    "old_hukou_division": old_hukou,
                    "new_hukou_division": locked.hukou_division_id,
                },
            )
    logger.info(
        "first guardian of pupil %s set to guardian %s by %s", locked.national_number, target.pk, user.get_username()
    )
    target.is_first_guardian = True
    return target


def _check_new_first(target, *, pupil, no_hukou: bool) -> None:
    if target.vital != ALIVE or not target.is_guardian:
        raise BusinessRefused(
            _("%(name)s不是健在的监护人，不能作为第一监护人") % {"name": target.name},
            code="nohukou_first_guardian_not_guardian",
            field="guardian",
        )
    if not no_hukou:
        return
    if target.hukou_division is None:
        raise BusinessRefused(
            _("无户籍学生的户籍所在地随第一监护人：%(name)s没有登记户籍所在地") % {"name": target.name},
            code="nohukou_first_guardian_hukou_required",
            field="guardian",
        )
    if authority_of(target.hukou_division) is None:
        raise BusinessRefused(
            _("%(name)s的户籍所在地须登记到区县，才能确定户籍地教育主管部门") % {"name": target.name},
            code="nohukou_first_guardian_hukou_not_county",
            field="guardian",
        )
    if target.id_type != RESIDENT_ID or not target.id_number:
        raise BusinessRefused(
            _("无户籍学生的第一监护人须有居民身份证号：%(name)s没有登记") % {"name": target.name},
            code="nohukou_first_guardian_id_required",
            field="guardian",
        )
    living_parent = pupil.guardians.filter(relation__in=PARENT_RELATIONS, vital=ALIVE).exists()
    if target.relation not in PARENT_RELATIONS and living_parent:
        raise BusinessRefused(
            _("父母有健在的，第一监护人须是父亲或母亲；%(name)s不是父母") % {"name": target.name},
            code="nohukou_first_guardian_not_parent",
            field="guardian",
        )
