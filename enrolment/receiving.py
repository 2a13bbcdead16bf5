"""升学接收 — the services a receiving school and its county call: find a graduate, start a
progression, set the classes, take a graduate off the list, and the chain's moves.

A receiving school finds a graduate by national number or resident ID number together with
the exact name, anywhere in the registry (a family may move between stages): the answer is
a minimal card (name, sex, birth date, school and grade finished) with a signed reference,
and every search is recorded (``GraduateLookup``), as the transfer lookup is.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import acting_as
from accounts.models import Membership
from accounts.permissions import require_role
from accounts.scope import get_in_scope
from enrolment import progression
from enrolment.chains import PROGRESSION
from enrolment.models import GraduateLookup, Progression, ProgressionEntry, ProgressionState
from kernel import identity
from kernel.errors import BusinessRefused, Forbidden, NotFound, ValidationFailed
from registry import disclosure
from registry.models import Pupil
from schools.models import School
from workflow import engine

log = logging.getLogger("registry.enrolment")

Role = Membership.Role
LOOKUP_SALT = "enrolment.progression"
LOOKUP_MAX_AGE = 2 * 3600
#: Graduates one progression may hold (a whole grade of a big school, with room).
MAX_ENTRIES = 5000

NOT_FOUND_HINT = _(
    "未查到该毕业生。请确认：（1）全国学籍号或身份证号与姓名是否与毕业学校登记的一致；"
    "（2）毕业学校是否已办理毕业（毕业名单经区县审核通过后才能升学接收）。"
)


@dataclass
class GraduateCard:
    """The minimal answer of a graduate search: never more than these fields."""

    ref: str
    name: str
    sex: str
    birth_date: dt.date
    school_name: str
    grade: int
    status_label: str
    entry_grade: int | None
    refusal: str = ""
    refusal_code: str = ""


def _receiving_school(user) -> School:
    membership = require_role(user, Role.OPERATOR, Role.APPROVER, Role.ADMIN)
    if not membership.school_id:
        raise Forbidden(_("升学接收由接收学校办理"), code="school_only")
    return membership.school


def graduate_find(*, user, number: str, name: str) -> list[GraduateCard]:
    """A receiving school looks a graduate up by national number or resident ID + exact name
    (an answer naming another unit's pupil: counted against the user's hourly allowance)."""
    school = _receiving_school(user)
    disclosure.require_allowance(user)
    number = (number or "").strip().upper()
    name = (name or "").strip()
    if not number:
        raise ValidationFailed(_("请输入全国学籍号或身份证号"), code="required", field="number")
    if not name:
        raise ValidationFailed(_("请输入学生姓名"), code="name_required", field="name")
    if len(number) > 32:
        raise ValidationFailed(_("全国学籍号或身份证号过长"), code="too_long", field="number")
    if number[:1] in ("G", "L", "J"):
        pupils = Pupil.objects.filter(national_number=number)
    else:
        pupils = Pupil.objects.filter(id_number=identity.normalize_id_number(number))
    pupils = list(pupils.filter(name=name).exclude(status__in=("deleted", "not_admitted"))
                  .select_related("school").order_by("-id")[:5])
    cards = []
    for pupil in pupils:
        refusal = progression.progression_refusal(pupil, school)
        cards.append(GraduateCard(
            ref=signing.dumps({"p": pupil.pk, "u": user.pk}, salt=LOOKUP_SALT),
            name=pupil.name, sex=pupil.sex, birth_date=pupil.birth_date, school_name=pupil.school.name,
            grade=pupil.grade, status_label=str(pupil.get_status_display()),
            entry_grade=progression.entry_grade_for(pupil),
            refusal=str(refusal.message) if refusal else "", refusal_code=refusal.code if refusal else "",
        ))
    GraduateLookup.objects.create(
        school=school, county_code=school.county_id, number=number, name=name, found=len(cards), actor=user,
        actor_name=user.get_username(),
    )
    log.info("graduate lookup by %s at %s: %s found", user, school.code, len(cards))
    return cards


def _pupil_of_ref(ref: str, user) -> Pupil:
    try:
        data = signing.loads(ref, salt=LOOKUP_SALT, max_age=LOOKUP_MAX_AGE)
    except signing.BadSignature:
        raise ValidationFailed(_("查询结果已过期或无效，请重新查询"), code="lookup_expired", field="ref") from None
    if data.get("u") != user.pk:
        raise ValidationFailed(_("查询结果已过期或无效，请重新查询"), code="lookup_expired", field="ref")
    pupil = Pupil.objects.select_related("school").filter(pk=data.get("p")).first()
    if pupil is None:
        raise NotFound(_("未找到该学生"))
    return pupil


def progression_start(*, user, refs: list[str], class_number: int = 1, today: dt.date | None = None
                      ) -> Progression:
    """The receiving school receives graduates it found (one or more): the progression goes
    to the school's approver, then to the county."""
    school = _receiving_school(user)
    require_role(user, Role.OPERATOR, Role.ADMIN)
    if not refs:
        raise ValidationFailed(_("请选择要接收的毕业生"), code="required", field="refs")
    if len(refs) > MAX_ENTRIES:
        raise ValidationFailed(_("一次最多接收%(n)s名学生") % {"n": MAX_ENTRIES}, code="too_many", field="refs")
    class_number = _class_number(class_number)
    pupils = {p.pk: p for p in (_pupil_of_ref(ref, user) for ref in refs)}
    for pupil in pupils.values():
        refusal = progression.progression_refusal(pupil, school)
        if refusal is not None:
            raise refusal
    grades = {progression.entry_grade_for(p) for p in pupils.values()}
    if len(grades) != 1:
        raise BusinessRefused(_("一次只能接收升入同一年级的毕业生"), code="mixed_grades", field="refs")
    today = today or timezone.localdate()
    with transaction.atomic(), acting_as(user, business=PROGRESSION.kind):
        row = Progression.objects.create(
            state=ProgressionState.SCHOOL_REVIEW, school=school, county_code=school.county_id, grade=grades.pop(),
            school_year=progression.school_year_for(today), source=Progression.Source.SEARCH, initiator=user,
            accepted_by=user, submitted_at=timezone.now(),
        )
        _add_entries(row, list(pupils.values()), class_number=class_number)
        engine.start(PROGRESSION, row, user=user, action="accept")
    return row


def _add_entries(row: Progression, pupils: list[Pupil], *, class_number: int, rows: dict[int, int] | None = None
                 ) -> None:
    taken = progression.claim(row, [p.pk for p in pupils])
    if taken:
        raise progression.taken_error()
    ProgressionEntry.objects.bulk_create(
        ProgressionEntry(progression=row, pupil=p, origin_school_id=p.school_id, origin_county_code=p.county_code,
                         origin_grade=p.grade, class_number=class_number, row=(rows or {}).get(p.pk, 0))
        for p in pupils
    )


def _class_number(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("班号应为1到99之间的整数"), code="invalid_class_number", field="class_number") from None
    if not 1 <= number <= 99:
        raise ValidationFailed(_("班号应为1到99之间的整数"), code="invalid_class_number", field="class_number")
    return number


def _open_for_school(user, progression_id: int) -> Progression:
    """The receiving school's own open progression, locked."""
    school = _receiving_school(user)
    get_in_scope(Progression.objects.all(), user, pk=progression_id)
    row = Progression.objects.select_for_update(of=("self",)).get(pk=progression_id)
    if row.school_id != school.pk:
        raise NotFound(_("未找到该升学接收"))
    if row.state not in (ProgressionState.OFFERED, ProgressionState.SCHOOL_REVIEW):
        raise engine.state_conflict(PROGRESSION, row)
    return row


def progression_set_classes(*, user, progression_id: int, classes: dict[int, int] | None = None,
                            spread_over: int | None = None) -> Progression:
    """Put the graduates into classes before the school's approval: ``classes`` maps entry
    ids to class numbers; ``spread_over`` deals them evenly into classes 1..n (by name)."""
    require_role(user, Role.OPERATOR, Role.APPROVER, Role.ADMIN)
    with transaction.atomic(), acting_as(user, business=PROGRESSION.kind):
        row = _open_for_school(user, progression_id)
        entries = list(row.entries.select_related("pupil").order_by("pupil__name", "pk"))
        if spread_over is not None:
            count = _class_number(spread_over)
            for index, entry in enumerate(entries):
                entry.class_number = index % count + 1
        for entry in entries:
            if classes and entry.pk in classes:
                entry.class_number = _class_number(classes[entry.pk])
        ProgressionEntry.objects.bulk_update(entries, ["class_number"], batch_size=1000)
    return row


def progression_remove(*, user, progression_id: int, entry_id: int, reason: str = "") -> Progression:
    """Take one graduate off an open progression (it is not coming): its business ends."""
    require_role(user, Role.OPERATOR, Role.APPROVER, Role.ADMIN)
    with transaction.atomic(), acting_as(user, business=PROGRESSION.kind):
        row = _open_for_school(user, progression_id)
        entry = row.entries.filter(pk=entry_id).first()
        if entry is None:
            raise NotFound(_("名单中没有该学生"))
        progression.release(row, [entry.pupil_id])
        entry.delete()
    return row


def progression_accept(*, user, progression_id: int) -> Progression:
    return engine.move(PROGRESSION, user=user, pk=progression_id, action="accept")


def progression_decline(*, user, progression_id: int, reason: str) -> Progression:
    return engine.move(PROGRESSION, user=user, pk=progression_id, action="decline", reason=reason)


def progression_approve(*, user, progression_id: int) -> Progression:
    return engine.move(PROGRESSION, user=user, pk=progression_id, action="approve")


def progression_refuse(*, user, progression_id: int, reason: str) -> Progression:
    return engine.move(PROGRESSION, user=user, pk=progression_id, action="refuse", reason=reason)


def progression_withdraw(*, user, progression_id: int) -> Progression:
    return engine.move(PROGRESSION, user=user, pk=progression_id, action="withdraw")


#: The moves the pages and the API offer by name (a reason is kept where the step takes one).
PROGRESSION_ACTIONS = ("accept", "approve", "withdraw", "refuse", "decline")


def progression_act(*, user, progression_id: int, action: str, reason: str = "") -> Progression:
    """One of ``PROGRESSION_ACTIONS`` by name, for the page and the API alike."""
    if action not in PROGRESSION_ACTIONS:
        raise ValueError(action)
    return engine.move(PROGRESSION, user=user, pk=progression_id, action=action,
                       reason=reason if action in ("refuse", "decline") else "")




def admission_receive(*, user, school: School, grade: int, entries: list[tuple[Pupil, int, int]],
                      offered: bool = False, allocation=None, today: dt.date | None = None) -> Progression:
    """Graduates of an admission list (招生名单) go to 升学, not to a new record: ``entries`` are
    (graduate, class number, row of the list). A school's own list is accepted by its import
    and waits for its approver (``school_review``); a county's list offers them to the school
    (``offered``, with the county's ``allocation``), as an allocation list does. The caller
    holds the transaction; a graduate taken meanwhile refuses the whole list."""
    today = today or timezone.localdate()
    for pupil, _class, _row in entries:
        refusal = progression.progression_refusal(pupil, school)
        if refusal is not None:
            raise refusal
    row = Progression.objects.create(
        state=ProgressionState.OFFERED if offered else ProgressionState.SCHOOL_REVIEW, school=school,
        county_code=school.county_id, grade=grade, school_year=progression.school_year_for(today),
        source=Progression.Source.ALLOCATION if offered else Progression.Source.ADMISSION, allocation=allocation,
        initiator=user, accepted_by=None if offered else user, submitted_at=None if offered else timezone.now(),
    )
    taken = progression.claim(row, [p.pk for p, _c, _r in entries])
    if taken:
        raise progression.taken_error()
    ProgressionEntry.objects.bulk_create(
        ProgressionEntry(progression=row, pupil=p, origin_school_id=p.school_id, origin_county_code=p.county_code,
                         origin_grade=p.grade, class_number=class_number, row=line)
        for p, class_number, line in entries
    )
    engine.start(PROGRESSION, row, user=user, action="allocate" if offered else "accept")
    return row
