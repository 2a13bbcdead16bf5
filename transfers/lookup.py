"""The origin-school lookup (查询转出学生): a destination school finds a pupil of another
school only to start a transfer — chosen origin school + exact name (+ ID number), or for a
pupil without a resident ID a parent's ID number; the answer is a minimal card and every
lookup is recorded."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from accounts.permissions import require_role
from enrolment.models import GraduateLookup
from kernel import identity, matching
from kernel.errors import BusinessRefused, Forbidden, ValidationFailed
from registry import disclosure
from registry.models import Pupil
from schools.models import School
from transfers import selectors
from transfers.models import TransferLookup

log = logging.getLogger("registry.transfers")

Role = Membership.Role
LOOKUP_SALT = "transfers.lookup"
#: A lookup's references are good for half an hour: a transfer is started from a fresh lookup.
LOOKUP_MAX_AGE = 30 * 60
MAX_CLOSE_MATCHES = 5

#: Shown when a lookup finds nobody: the three usual causes (the national system's school guide, 学校操作步骤).
NOT_FOUND_HINT = _(
    "未查到该学生。请确认：（1）原学校是否已为该生建立电子学籍；（2）所选转出学校是否正确"
    "（教学点的学生可能登记在村本部学校）；（3）姓名是否录入有误（如“淞”误录为“凇”）。"
)
#: Shown when a lookup by a parent's ID number finds nobody.
NOT_FOUND_BY_PARENT_HINT = _(
    "未查到该学生。按父母身份证号查找只适用于没有居民身份证号的学生（无户籍学生）。请确认：（1）所选转出学校是否正确；"
    "（2）父亲、母亲或法定监护人的身份证号是否与原学校登记的一致；（3）学生有身份证号的，请按学生姓名和身份证号查找。"
)


# --- the origin-school lookup --------------------------------------------------------

@dataclass
class PupilCard:
    """The minimal answer of a lookup: never more than these fields."""

    ref: str
    name: str
    sex: str
    birth_date: dt.date
    grade: int
    class_number: int | None


@dataclass
class LookupResult:
    origin_school: School
    found: list[PupilCard] = field(default_factory=list)
    close: list[PupilCard] = field(default_factory=list)
    kind: str = TransferLookup.Kind.PUPIL

    @property
    def hint(self):
        """Why nothing was found (``None`` when something was)."""
        if self.found:
            return None
        return NOT_FOUND_BY_PARENT_HINT if self.kind == TransferLookup.Kind.PARENT else NOT_FOUND_HINT


def _card(pupil: Pupil, user) -> PupilCard:
    """A card; its ``ref`` is filled in once the lookup is recorded (``_sign``)."""
    return PupilCard(
        ref=str(pupil.pk),
        name=pupil.name,
        sex=pupil.sex,
        birth_date=pupil.birth_date,
        grade=pupil.grade,
        class_number=pupil.school_class.number if pupil.school_class_id else None,
    )


def _school_member(user) -> Membership:
    membership = require_role(user, Role.OPERATOR, Role.APPROVER)
    if not membership.school_id:
        raise Forbidden(_("只有转入学校可以办理转学申请"), code="school_only")
    return membership


def origin_school(code: str) -> School:
    school = School.objects.select_related("county").filter(code=(code or "").strip()).first()
    if school is None:
        raise ValidationFailed(
            _("未找到学校标识码为“%(code)s”的转出学校") % {"code": code}, code="origin_school_unknown",
            field="origin_school_code",
        )
    return school


def transfer_lookup(
    *, user, origin_school_code: str, name: str = "", id_number: str = "", parent_id_number: str = ""
) -> LookupResult:
    """Find a pupil at the chosen origin school, only to start a transfer (counted against
    the user's hourly allowance of answers naming foreign pupils: ``lookup_throttled``).

    Two ways, both recorded (``TransferLookup``) and both answering only name, sex, birth
    date, grade and class, plus a signed reference for ``transfer_apply``:

    - by the pupil's exact name (+ ID number when known). When nothing matches and an ID
      number was given, pupils of that school born that day whose names sound or look
      alike (李娜/李纳, 淞/凇) are offered as close matches;
    - for a pupil without a resident ID (无户籍): by a parent's or the legal
      guardian's resident ID number (``parent_id_number``), the name optional. Only pupils
      without a resident ID number are found this way. With a name that matches none of
      that parent's children there, the ones whose names sound or look alike are offered.
    """
    membership = _school_member(user)
    disclosure.require_allowance(user)
    origin = origin_school(origin_school_code)
    if origin.pk == membership.school_id:
        raise BusinessRefused(_("转出学校与转入学校不能相同"), code="same_school", field="origin_school_code")
    name = (name or "").strip()
    id_number = identity.normalize_id_number(id_number) if id_number else ""
    parent_id_number = identity.normalize_id_number(parent_id_number) if parent_id_number else ""
    if parent_id_number:
        result = _lookup_by_parent(user, origin, name=name, id_number=id_number, parent_id_number=parent_id_number)
    else:
        result = _lookup_by_name(user, origin, name=name, id_number=id_number)
    cards = [*result.found, *result.close]
    lookup = TransferLookup.objects.create(
        school_id=membership.school_id,
        county_code=membership.school.county_id,
        origin_school=origin,
        kind=result.kind,
        name=name[:50],
        id_number=id_number[:32],
        parent_id_number=parent_id_number[:32],
        found=len(result.found),
        close_matches=len(result.close),
        pupils=[int(card.ref) for card in cards],
        actor=user,
        actor_name=user.get_username(),
    )
    for index, card in enumerate(cards):
        card.ref = signing.dumps([lookup.pk, index], salt=LOOKUP_SALT)
    log.info(
        "transfer lookup (%s) by %s at %s: %s found, %s close",
        result.kind, user, origin.code, len(result.found), len(result.close),
    )
    return result


def _lookup_by_name(user, origin: School, *, name: str, id_number: str) -> LookupResult:
    if not name:
        raise ValidationFailed(
            _("请输入学生姓名；没有身份证号的学生也可按父母身份证号查找"), code="name_required", field="name"
        )
    born = identity.validate_resident_id(id_number, today=timezone.localdate()).birth_date if id_number else None
    candidates = selectors.origin_pupils(origin)
    exact = candidates.filter(name=name)
    if id_number:
        exact = exact.filter(id_number=id_number)
    result = LookupResult(origin_school=origin, found=[_card(p, user) for p in exact.order_by("id")[:20]])
    if not result.found and born is not None:
        near = [
            p for p in candidates.filter(birth_date=born).order_by("id")[:200]
            if p.name != name and _close_name(p.name, name)
        ]
        result.close = [_card(p, user) for p in near[:MAX_CLOSE_MATCHES]]
    return result


def _lookup_by_parent(user, origin: School, *, name: str, id_number: str, parent_id_number: str) -> LookupResult:
    if id_number:
        raise ValidationFailed(
            _("按父母身份证号查找只适用于没有身份证号的学生：请不要同时填写学生的身份证件号"),
            code="parent_id_with_pupil_id",
            field="id_number",
        )
    try:
        identity.validate_resident_id(parent_id_number, today=timezone.localdate())
    except ValidationFailed as exc:
        raise ValidationFailed(
            _("父母（或法定监护人）的身份证号有误：%(reason)s") % {"reason": exc.message},
            code=exc.code,
            field="parent_id_number",
        ) from None
    children = list(selectors.no_id_pupils_of_parent(origin, parent_id_number).order_by("id")[:20])
    exact = [p for p in children if not name or p.name == name]
    result = LookupResult(
        origin_school=origin, found=[_card(p, user) for p in exact], kind=TransferLookup.Kind.PARENT
    )
    if not result.found:
        near = [p for p in children if _close_name(p.name, name)]
        result.close = [_card(p, user) for p in near[:MAX_CLOSE_MATCHES]]
    return result


def _close_name(candidate: str, typed: str) -> bool:
    if matching.sounds_alike(candidate, typed):
        return True
    a, b = matching.simplified_name(candidate), matching.simplified_name(typed)
    return len(a) == len(b) and all(x == y or matching.chars_look_alike(x, y) for x, y in zip(a, b))


# --- the lookup's references and the other answers recorded as lookups -------------------

def pupil_of_reference(*, user, ref: str, origin: School) -> int:
    """The pupil a card of the user's own recent lookup at ``origin`` stands for."""
    expired = ValidationFailed(_("查询结果已失效，请重新查询学生"), code="lookup_expired", field="pupil_ref")
    try:
        lookup_id, index = signing.loads(ref, salt=LOOKUP_SALT, max_age=LOOKUP_MAX_AGE)
    except (signing.BadSignature, TypeError, ValueError):
        raise expired from None
    pupils = TransferLookup.objects.filter(pk=lookup_id, actor=user, origin_school=origin).values_list(
        "pupils", flat=True).first()
    if pupils is None or not isinstance(index, int) or not 0 <= index < len(pupils):
        raise expired
    return pupils[index]


def lookup_required(*, user, origin: School, national_number: str) -> ValidationFailed:
    """A transfer asked for by a bare national number: refused, and the attempt recorded."""
    record_answer(user=user, pupil=None, kind=TransferLookup.Kind.NUMBER, id_number=national_number,
                  origin_school=origin, found=0)
    log.warning("transfer by bare national number refused: %s at %s", user, origin.code)
    return ValidationFailed(_("转学申请须从“查询转出学生”的查询结果发起，请先查询学生"), code="lookup_required",
                            field="pupil_ref")


def record_answer(*, user, pupil, kind: str, name: str = "", id_number: str = "", origin_school=None,
                  found: int = 1) -> TransferLookup | None:
    """``registry.disclosure``'s recorder: one answer naming a foreign pupil, as a lookup."""
    membership = getattr(user, "membership", None)
    origin = origin_school if origin_school is not None else getattr(pupil, "school", None)
    if origin is None or membership is None:
        return None
    return TransferLookup.objects.create(
        school_id=membership.school_id,
        county_code=membership.school.county_id if membership.school_id else (membership.division_id or "")[:6],
        origin_school=origin,
        kind=kind,
        name=(name or getattr(pupil, "name", ""))[:50],
        id_number=(id_number or "")[:32],
        found=found,
        pupils=[pupil.pk] if pupil is not None else [],
        actor=user,
        actor_name=user.get_username(),
    )


def answers_last_hour(user) -> int:
    """How many answers naming foreign pupils the user got in the last hour (the throttle):
    transfer lookups and the answers recorded as such, and 升学 graduate lookups."""
    since = timezone.now() - dt.timedelta(hours=1)
    # One round trip for both tables: every lookup asks this first.
    transfer_lookups = TransferLookup.objects.filter(actor=user, at__gte=since).values("id")
    graduate_lookups = GraduateLookup.objects.filter(actor=user, at__gte=since).values("id")
    return transfer_lookups.union(graduate_lookups, all=True).count()
