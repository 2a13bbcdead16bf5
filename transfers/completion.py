"""Completing a transfer (转学完成): the pupil's enrolment moves to the destination school and
class, the national student number stays, both schools' history shows the move, and the
origin keeps a read-only copy of the record as it stood (电子学籍档案备份)."""

from __future__ import annotations

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _

from duplicates.cases import cases_follow_pupils
from kernel.errors import BusinessRefused, Conflict
from provinces.divisions import division_full_name
from registry.history import record_event
from registry.models import Pupil, PupilStatus
from schools.classes import class_for
from schools.models import GRADE_NAMES
from transfers.models import Transfer, TransferSnapshot

log = logging.getLogger("registry.transfers")


def _plain(value):
    return value.name if isinstance(value, FieldFile) else value


def _snapshot_data(pupil: Pupil) -> dict:
    data = {f.attname: _plain(getattr(pupil, f.attname)) for f in pupil._meta.concrete_fields}
    data["school_name"] = pupil.school.name
    data["school_code"] = pupil.school.code
    data["class_name"] = str(pupil.school_class) if pupil.school_class_id else ""
    data["guardians"] = [
        {f.attname: _plain(getattr(g, f.attname)) for f in g._meta.concrete_fields if f.attname not in ("id", "pupil_id")}
        for g in pupil.guardians.all()
    ]
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def dest_grade_now(transfer: Transfer, pupil: Pupil) -> int:
    """The grade the pupil enters now: the applied one, moved on as far as the pupil was
    promoted since (a chain open across 升级); refused when the school has no such grade."""
    grade = transfer.dest_grade + (pupil.grade - transfer.origin_grade)
    if grade not in transfer.dest_school.grades:
        raise BusinessRefused(
            _("申请转入%(applied)s后，该学生已升入%(now)s，转入学校没有对应年级；请不予通过后重新申请")
            % {"applied": GRADE_NAMES.get(transfer.dest_grade, transfer.dest_grade),
               "now": GRADE_NAMES.get(pupil.grade, pupil.grade)},
            code="grade_changed_since_apply",
            details={"applied_grade": transfer.dest_grade, "pupil_grade": pupil.grade},
        )
    return grade


def complete(transfer: Transfer, *, user) -> None:
    """Move the enrolment: school, class, county code; the national number stays; an open
    duplicate case of the pupil passes to the destination county."""
    pupil = Pupil.objects.select_for_update(of=("self",)).select_related("school", "school_class").get(
        pk=transfer.pupil_id
    )
    if pupil.school_id != transfer.origin_school_id:
        raise Conflict(_("该学生已不在转出学校，无法完成转学"), code="pupil_moved")
    if pupil.status not in (PupilStatus.ENROLLED, PupilStatus.SUSPENDED):
        raise BusinessRefused(
            _("该学生学籍状态已变为“%(status)s”，不能完成转学；请填写理由后不予通过") % {"status": pupil.get_status_display()},
            code="pupil_not_enrolled",
        )
    origin, dest = transfer.origin_school, transfer.dest_school
    grade = dest_grade_now(transfer, pupil)
    TransferSnapshot.objects.create(transfer=transfer, data=_snapshot_data(pupil))
    pupil.school = dest
    pupil.school_class = class_for(dest, grade, transfer.dest_class_number)
    pupil.grade = grade
    pupil.county_code = dest.county_id
    pupil.save(update_fields=["school", "school_class", "grade", "county_code", "updated_at"])
    cases_follow_pupils([pupil.pk])  # an open duplicate case is decided where the pupil now is
    data = {"transfer": transfer.pk, "origin": origin.code, "dest": dest.code, "grade": grade}
    record_event(
        pupil,
        kind="transferred_out",
        summary=_("转学转出：由%(origin)s转至%(dest)s（%(county)s）")
        % {"origin": origin.name, "dest": dest.name, "county": division_full_name(dest.county_id)},
        user=user,
        school=origin,
        data=data,
    )
    record_event(
        pupil,
        kind="transferred_in",
        summary=_("转学转入：由%(origin)s（%(county)s）转入%(dest)s%(grade)s，全国学籍号 %(number)s 不变")
        % {"origin": origin.name, "county": division_full_name(origin.county_id), "dest": dest.name,
           "number": pupil.national_number, "grade": GRADE_NAMES.get(grade, grade)},
        user=user,
        school=dest,
        data=data,
    )
    log.info("transfer %s completed: pupil %s moved %s → %s", transfer.pk, pupil.pk, origin.code, dest.code)
