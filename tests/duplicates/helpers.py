"""Builders for the duplicate tests: records that are (or are not) the same child."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from duplicates.models import DuplicateCase
from registry.records import GuardianData, PupilData
from tests.factories import make_pupil, resident_id


def record_like(pupil, school, **changes) -> PupilData:
    """A new record of ``pupil``'s child data (same guardians) at ``school``, with changes."""
    guardians = [GuardianData(name=g.name, relation=g.relation, id_number=g.id_number,
                              is_first_guardian=g.is_first_guardian) for g in pupil.guardians.all()]
    base = PupilData(
        school_code=school.code, name=pupil.name, sex=pupil.sex, birth_date=pupil.birth_date, grade=pupil.grade,
        class_number=1, enrolled_on=dt.date(pupil.birth_date.year + 6, 9, 1), id_type="1",
        id_number=resident_id(pupil.birth_date, pupil.sex, region="440105", seq=377), guardians=guardians,
        source="other", source_reason="插班注册",  # outside an entry grade a registration states both
    )
    return dataclasses.replace(base, **changes)


def api_body(data: PupilData, **extra) -> str:
    body = dataclasses.asdict(data)
    for g in body["guardians"]:
        g["police_date"] = None
    body["birth_date"] = data.birth_date.isoformat()
    body["enrolled_on"] = data.enrolled_on.isoformat()
    body.update(extra)
    return json.dumps(body)


def pinyin_pair(world, *, school_a=None, school_b=None):
    """李娜 (school a1) and 李纳 (school b1): one child entered twice with a pinyin slip and an
    invented but valid ID, same father."""
    a = make_pupil(school_a or world.school_a1, name="李娜", sex="2", birth_date=dt.date(2014, 2, 3), grade=5)
    father = a.guardians.get().id_number
    b = make_pupil(school_b or world.school_b1, name="李纳", sex="2", birth_date=dt.date(2014, 2, 3), grade=5)
    b.guardians.update(id_number=father)
    return a, b


def open_cases():
    return DuplicateCase.objects.filter(status=DuplicateCase.Status.OPEN)


def pair_of(case) -> set:
    return {case.pupil_low_id, case.pupil_high_id}
