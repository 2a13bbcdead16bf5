"""What 升学 does to the records: the graduates a progression holds, the rules they must
still meet, and the move onto the receiving school when the county approves.

The record stays the child's for life (一人一号): the national number (L, J or G), the
history, the photo and the guardians stay; the school, the stage, the grade, the class and
the county change, the status returns to 在读, and the basic data, locked at graduation,
is open again for the new school to maintain (changes of key fields still go through a key
change). Both schools' histories say so.

A graduate belongs to at most one open progression: each entry claims the pupil's open
business (在办业务) when it is written, so two schools accepting the same graduate at once
cannot both succeed — the second gets ``progression_taken`` (409).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duplicates.cases import cases_follow_pupils
from duplicates.keys import match_keys_refresh
from enrolment.models import Progression, ProgressionEntry
from kernel.errors import BusinessRefused, Conflict
from registry.history import history_entry
from registry.models import FINISHED_STATUSES, HistoryEntry, Pupil, PupilStatus
from schools.classes import class_for
from schools.models import GRADE_NAMES, NEXT_STAGE_ENTRY, School
from workflow.models import OpenBusiness

log = logging.getLogger("registry.enrolment")

#: The 在办业务 kind a progression holds on each of its graduates.
BUSINESS_KIND = "progression"


def grade_name(grade: int) -> str:
    return str(GRADE_NAMES.get(grade, grade))


def entry_grade_for(pupil: Pupil) -> int | None:
    """The first grade of the stage after the one the pupil finished (6 → 7, 9 → 10)."""
    return NEXT_STAGE_ENTRY.get(pupil.grade)


def school_year_for(today: dt.date) -> int:
    """The school year graduates are received into: the one starting this calendar year
    (graduates of June are received for September; one received late joins the year under
    way, which started the same calendar year)."""
    return today.year


def enrolled_on_for(school_year: int, today: dt.date) -> dt.date:
    """入学年月 on the new stage: 1 September of the school year, or today when later."""
    return max(dt.date(school_year, 9, 1), today)


def progression_refusal(pupil: Pupil, school: School) -> BusinessRefused | None:
    """Why ``pupil`` cannot be received by ``school`` by 升学 (None when it can)."""
    if pupil.status not in FINISHED_STATUSES:
        if pupil.status in (PupilStatus.ENROLLED, PupilStatus.SUSPENDED):
            message = _("该学生学籍状态为“%(status)s”，尚未毕业，不能升学接收；在读学生请办理转学")
        else:
            message = _("该学生学籍状态为“%(status)s”，不能升学接收")
        return BusinessRefused(message % {"status": pupil.get_status_display()}, code="not_a_graduate",
                               details={"status": pupil.status})
    grade = entry_grade_for(pupil)
    if grade is None:
        return BusinessRefused(
            _("该学生已完成%(grade)s的学业，没有可升入的下一学段") % {"grade": grade_name(pupil.grade)},
            code="no_next_stage",
        )
    if grade not in school.grades:
        return BusinessRefused(
            _("%(school)s没有%(grade)s，不能接收该毕业生") % {"school": school.name, "grade": grade_name(grade)},
            code="grade_not_in_school",
            field="school_code",
        )
    return None


def taken_error() -> Conflict:
    return Conflict(
        _("该学生已有正在办理的升学接收或其他业务（可能刚被其他学校接收），不能重复接收"),
        code="progression_taken",
    )


# --- holding the graduates ------------------------------------------------------------


def claim(progression: Progression, pupil_ids: Iterable[int]) -> set[int]:
    """Claim the pupils' open business for ``progression``; returns the ids it could not
    claim (held by another open business). Call inside the transaction writing the entries."""
    pupil_ids = list(pupil_ids)
    content_type = ContentType.objects.get_for_model(Progression)
    OpenBusiness.objects.bulk_create(
        [OpenBusiness(pupil_id=pk, kind=BUSINESS_KIND, content_type=content_type, object_id=progression.pk)
         for pk in pupil_ids],
        ignore_conflicts=True,
    )
    held = set(
        OpenBusiness.objects.filter(pupil_id__in=pupil_ids, content_type=content_type, object_id=progression.pk)
        .values_list("pupil_id", flat=True)
    )
    return set(pupil_ids) - held


def release(progression: Progression, pupil_ids: Iterable[int] | None = None) -> None:
    """End the open business the progression holds (on all of its graduates by default)."""
    held = OpenBusiness.objects.filter(
        content_type=ContentType.objects.get_for_model(Progression), object_id=progression.pk
    )
    if pupil_ids is not None:
        held = held.filter(pupil_id__in=list(pupil_ids))
    held.delete()


def require_entries_fit(progression: Progression) -> None:
    """Every graduate still finished, where the entry says, and fit for the school: checked
    again at each step (a record may have changed since it was listed)."""
    if not progression.entries.exists():
        raise BusinessRefused(_("该升学接收没有学生，请撤回"), code="no_entries")
    changed = []
    for entry in progression.entries.select_related("pupil__school"):
        pupil = entry.pupil
        refusal = progression_refusal(pupil, progression.school)
        if refusal is None and pupil.school_id != entry.origin_school_id:
            refusal = BusinessRefused(_("学籍已不在毕业学校"), code="pupil_moved")
        if refusal is not None:
            changed.append({"national_number": pupil.national_number, "name": pupil.name, "code": refusal.code,
                            "message": str(refusal.message)})
    if changed:
        raise BusinessRefused(
            _("%(n)s名学生的学籍已变化，不能继续办理：%(names)s。请从名单中移除后再办理")
            % {"n": len(changed), "names": "、".join(c["name"] for c in changed[:10])},
            code="progression_pupil_changed",
            details=changed,
        )


# --- the move onto the receiving school -------------------------------------------------


def apply(progression: Progression, *, user) -> int:
    """Move every graduate of an approved progression onto the receiving school, in bulk;
    the open duplicate cases of the graduates pass to the receiving school's county."""
    school = progression.school
    entries = list(progression.entries.select_related("origin_school"))
    pupils = Pupil.objects.select_for_update(of=("self",)).in_bulk([e.pupil_id for e in entries])
    classes = {n: class_for(school, progression.grade, n) for n in {e.class_number for e in entries}}
    enrolled_on = enrolled_on_for(progression.school_year, timezone.localdate())
    now = timezone.now()
    history = []
    by_class: dict[int, list[int]] = {}
    for entry in entries:
        pupil = pupils[entry.pupil_id]
        origin = entry.origin_school
        by_class.setdefault(entry.class_number, []).append(pupil.pk)
        data = {"progression": progression.pk, "origin": origin.code, "dest": school.code,
                "grade": progression.grade}
        history.append(history_entry(
            pupil_id=pupil.pk, kind="progressed_out", school_id=origin.pk, user=user, data=data,
            summary=_("升学：%(origin)s毕业后升入%(dest)s%(grade)s，全国学籍号 %(number)s 不变")
            % {"origin": origin.name, "dest": school.name, "grade": grade_name(progression.grade),
               "number": pupil.national_number},
        ))
        history.append(history_entry(
            pupil_id=pupil.pk, kind="progressed_in", school_id=school.pk, user=user, data=data,
            summary=_("升学转入：由%(origin)s升入本校%(grade)s%(klass)s，全国学籍号 %(number)s 不变")
            % {"origin": origin.name, "grade": grade_name(progression.grade), "klass": classes[entry.class_number],
               "number": pupil.national_number},
        ))
    for number, ids in by_class.items():  # one UPDATE per class: the rest is the same for all
        Pupil.objects.filter(pk__in=ids).update(
            school=school, school_class=classes[number], grade=progression.grade, county_code=school.county_id,
            status=PupilStatus.ENROLLED, status_until=None, basic_data_locked=False, enrolled_on=enrolled_on,
            updated_at=now,
        )
    cases_follow_pupils(list(pupils))  # an open duplicate case is decided where the pupil now is
    HistoryEntry.objects.bulk_create(history, batch_size=2000)
    ProgressionEntry.objects.filter(progression=progression).update(applied=True)
    transaction.on_commit(lambda: match_keys_refresh(list(pupils)))  # the county is part of the keys
    log.info("progression %s applied: %s pupils into %s", progression.pk, len(entries), school.code)
    return len(entries)
