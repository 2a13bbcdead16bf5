"""Writing the good rows in bulk: numbers, classes, pupils, family members, history and
their audit events, one transaction per import. Each new pupil is 待审核 and its
registration review (``enrolment.chains.REGISTRATION``) starts at the school's approver."""


from __future__ import annotations

import logging
import random

from django.utils import timezone
from django.utils.translation import gettext

from accounts import audit
from accounts.permissions import membership_of
from duplicates import entry
from duplicates.keys import match_keys_refresh
from enrolment import registration
from enrolment.chains import REGISTRATION
from enrolment.checks import peers_unreachable_warning
from enrolment.models import Registration
from kernel.bulk import insert_objects, insert_rows
from provinces.models import ProvincePolicy
from registry import nohukou, numbers
from registry.fields import guardian_values, pupil_values
from registry.models import Guardian, HistoryEntry, Pupil, PupilStatus
from registry.validation import has_resident_id
from rosters.columns import BATCH_SIZE, NEW
from rosters.models import RosterImport
from rosters.parsing import Row
from schools.models import SchoolClass
from workflow import engine

logger = logging.getLogger("rosters")


# --- writing (bulk) ---------------------------------------------------------------------

def _classes_for(rows: list[Row]) -> dict[tuple[int, int, int], int]:
    """SchoolClass ids for every (school, grade, number), creating the missing ones in bulk."""
    wanted = {(row.school.pk, row.data.grade, row.data.class_number) for row in rows}
    if not wanted:
        return {}
    school_ids = {school_id for school_id, _grade, _number in wanted}

    def existing() -> dict:
        classes = SchoolClass.objects.filter(school_id__in=school_ids).values_list("school_id", "grade", "number", "id")
        return {(s, g, n): pk for s, g, n, pk in classes}

    found = existing()
    missing = wanted - set(found)
    if missing:
        SchoolClass.objects.bulk_create(
            [SchoolClass(school_id=s, grade=g, number=n) for s, g, n in sorted(missing)], ignore_conflicts=True
        )
        found = existing()
    return found


def _assign_numbers(rows: list[Row], rng: random.Random) -> None:
    """L numbers for rows with a resident ID, the next J numbers for the others (``registry.numbers``)."""
    with_id = [row for row in rows if has_resident_id(row.data)]
    without_id = [row for row in rows if not has_resident_id(row.data)]
    for row, number in zip(with_id, numbers.l_numbers([(r.school.county_id, r.data.birth_date) for r in with_id], rng=rng)):
        row.national_number = number
    for row, number in zip(without_id, numbers.j_numbers([(r.school.county_id, r.data.birth_date) for r in without_id])):
        row.national_number = number


def write_rows(*, user, rows: list[Row], job: RosterImport | None = None, rng: random.Random | None = None) -> int:
    """Create a pupil for every ``new`` row, in bulk, in the caller's transaction.

    The caller holds ``transaction.atomic()`` and ``acting_as(user)``: the pghistory
    triggers record every inserted Pupil, Guardian and SchoolClass with that context.
    """
    rows = [row for row in rows if row.outcome == NEW]
    if not rows:
        return 0
    rng = rng or random.SystemRandom()
    membership = membership_of(user)
    unit_code = membership.unit_code if membership else ""
    actor_name = user.get_username()
    now = timezone.now()
    for start in range(0, len(rows), BATCH_SIZE):
        _write_batch(user=user, batch=rows[start : start + BATCH_SIZE], job=job, rng=rng, now=now,
                     unit_code=unit_code, actor_name=actor_name)
    return len(rows)


def _write_batch(*, user, batch: list[Row], job, rng, now, unit_code: str, actor_name: str) -> None:
    registered = gettext("在%(school)s建立学籍，全国学籍号 %(number)s（花名册导入）")
    for row in batch:
        nohukou.derive_hukou(row.data)
    classes = _classes_for(batch)
    _assign_numbers(batch, rng)
    # One audit event per pupil and guardian, written per batch (accounts.audit).
    with audit.skip_insert_triggers(Pupil, Guardian):
        pupil_ids, guardian_ids = _insert_pupils_and_guardians(batch, classes, now)
    audit.record_bulk_inserts(Pupil, pupil_ids, user=user, roster_import=job.pk if job else None)
    audit.record_bulk_inserts(Guardian, guardian_ids, user=user, roster_import=job.pk if job else None)
    match_keys_refresh(pupil_ids, new=True)  # name-sound / ID-neighbour keys of the at-entry duplicate check
    _open_registrations(batch, pupil_ids, user=user)
    insert_rows(
        HistoryEntry,
        [
            {
                "pupil_id": pupil_id,
                "kind": "registered",
                "summary": registered % {"school": row.school.name, "number": row.national_number},
                "data": {"roster_import": job.pk if job else None, "row": row.number},
                "school_id": row.school.pk,
                "actor_id": user.pk,
                "actor_name": actor_name,
                "unit_code": unit_code,
                "at": now,
            }
            for row, pupil_id in zip(batch, pupil_ids)
        ]
        + _peer_check_skipped(batch, pupil_ids, job=job, user=user, actor_name=actor_name, unit_code=unit_code, at=now),
    )
    pupils = Pupil.objects.in_bulk(pupil_ids) if any(row.likely for row in batch) else {}
    for row, pupil_id in zip(batch, pupil_ids):
        if row.likely:
            entry.record_entry_override(
                pupil=pupils[pupil_id],
                likely=row.likely,
                reason=gettext("花名册导入时确认保留（导入任务 %(job)s 第 %(row)s 行）")
                % {"job": job.pk if job else "-", "row": row.number},
                user=user,
            )


def _peer_check_skipped(batch: list[Row], pupil_ids: list[int], *, job, user, actor_name: str, unit_code: str,
                        at) -> list[dict]:
    """The history entry of each new pupil whose row could not be asked of a peer registry
    (跨省查重, the row's ``peer_check_skipped`` warning), as the form records it."""
    return [
        {
            "pupil_id": pupil_id,
            "kind": "peer_check_skipped",
            "summary": peers_unreachable_warning(warning["peers"]),
            "data": {"peers": warning["peers"], "roster_import": job.pk if job else None, "row": row.number},
            "school_id": row.school.pk,
            "actor_id": user.pk,
            "actor_name": actor_name,
            "unit_code": unit_code,
            "at": at,
        }
        for row, pupil_id in zip(batch, pupil_ids)
        for warning in row.warnings
        if warning.get("code") == "peer_check_skipped"
    ]


def _open_registrations(batch: list[Row], pupil_ids: list[int], *, user) -> None:
    """The registration review of every new pupil, in bulk (``engine.start_many``), with its
    audit events written per batch as for the pupils."""
    policies: dict[str, ProvincePolicy] = {}
    for row in batch:
        if row.school.county_id[:2] not in policies:
            policies[row.school.county_id[:2]] = ProvincePolicy.for_province(row.school.county_id)
    created = [
        registration.registration_new(pupil_id=pupil_id, school=row.school, data=row.data, user=user,
                                      policy=policies[row.school.county_id[:2]])
        for row, pupil_id in zip(batch, pupil_ids)
    ]
    with audit.skip_insert_triggers(Registration):
        insert_objects(created)
    audit.record_bulk_inserts(Registration, [r.pk for r in created], user=user)
    # The chain needs each review's pupil only for its pk, name and number (the 待办 title):
    # given here rather than read back with every field.
    for review_row, row, pupil_id in zip(created, batch, pupil_ids):
        review_row.pupil = Pupil(pk=pupil_id, name=row.data.name, national_number=row.national_number,
                                 school=row.school)
    engine.start_many(REGISTRATION, created, user=user, action="register")


def _insert_pupils_and_guardians(batch: list[Row], classes: dict, now) -> tuple[list[int], list[int]]:
    pupil_ids = insert_rows(
        Pupil,
        [
            {
                "national_number": row.national_number,
                "name": row.data.name,
                "former_name": row.data.former_name,
                "sex": row.data.sex,
                "birth_date": row.data.birth_date,
                "ethnicity": row.data.ethnicity,
                "nationality": row.data.nationality,
                "id_type": row.data.id_type,
                "id_number": row.data.id_number,
                "hmt": row.data.hmt,
                "hukou_division_id": row.data.hukou_division_code or None,
                "hukou_nature": row.data.hukou_nature,
                "health": row.data.health,
                "boarding": row.data.boarding,
                "left_behind": row.data.left_behind,
                "migrant": row.data.migrant,
                **pupil_values(row.data),
                "enrolled_on": row.data.enrolled_on,
                "status": PupilStatus.PENDING,
                "school_id": row.school.pk,
                "school_class_id": classes[(row.school.pk, row.data.grade, row.data.class_number)],
                "grade": row.data.grade,
                "county_code": row.school.county_id,
                "created_at": now,
                "updated_at": now,
            }
            for row in batch
        ],
    )
    guardian_ids = insert_rows(
        Guardian,
        [
            {
                "pupil_id": pupil_id,
                "order": index,
                "name": g.name,
                "relation": g.relation,
                "id_type": g.id_type,
                "id_number": g.id_number,
                "phone": g.phone,
                "is_guardian": g.is_guardian,
                "is_first_guardian": g.is_first_guardian,
                "vital": g.vital,
                "police_reference": g.police_reference,
                "police_date": g.police_date,
                "hukou_division_id": g.hukou_division_code or None,
                **guardian_values(g),
            }
            for row, pupil_id in zip(batch, pupil_ids)
            for index, g in enumerate(row.data.guardians, start=1)
        ],
    )
    return pupil_ids, guardian_ids
