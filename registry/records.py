"""Plain input records for a pupil and its guardians.

The registration form, the API schema and the roster import all produce these, so one
validator and one service serve every way a pupil enters the registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from registry import fields


@dataclass
class GuardianData:
    name: str
    relation: str
    id_type: str = "1"
    id_number: str = ""
    phone: str = ""
    is_guardian: bool = True
    is_first_guardian: bool = False
    vital: str = "alive"
    police_reference: str = ""
    police_date: dt.date | None = None
    hukou_division_code: str = ""
    # registry.fields.GUARDIAN_FIELDS
    relation_note: str = ""
    ethnicity: str = ""
    employer: str = ""
    address: str = ""
    job_title: str = ""


@dataclass
class PupilData:
    school_code: str
    name: str
    sex: str
    birth_date: dt.date | None
    grade: int | None
    class_number: int | None
    enrolled_on: dt.date | None
    id_type: str = "1"
    id_number: str = ""
    former_name: str = ""
    ethnicity: str = "01"
    nationality: str = "CHN"
    hmt: str = "00"
    hukou_division_code: str = ""
    hukou_nature: str = ""
    health: str = "10"
    boarding: str = "1"
    left_behind: str = "0"
    migrant: str = "0"
    # registry.fields.PUPIL_FIELDS
    birthplace: str = ""
    native_place: str = ""
    political_status: str = "13"
    id_valid_until: str = ""
    specialty: str = ""
    class_seat: str = ""
    enrolment_mode: str = ""
    current_address: str = ""
    postal_address: str = ""
    home_address: str = ""
    phone: str = ""
    postcode: str = ""
    only_child: str = "0"
    preschool: str = "0"
    orphan: str = "0"
    martyr_child: str = "0"
    needs_aid: str = "0"
    one_subsidy: str = "0"
    disability: str = "0"
    commute_distance: object = None  # a Decimal of km once checked; as given before
    commute_mode: str = ""
    school_bus: str = "0"
    guardians: list[GuardianData] = field(default_factory=list)
    #: 学生来源 (``enrolment.models.StudentSource`` code or label) and the reason of a
    #: registration outside an entry grade; not fields of the record itself.
    source: str = ""
    source_reason: str = ""


def guardian_record_of(guardian) -> GuardianData:
    """A stored family member (``registry.models.Guardian``) as an input record."""
    return GuardianData(
        name=guardian.name, relation=guardian.relation, id_type=guardian.id_type, id_number=guardian.id_number,
        phone=guardian.phone, is_guardian=guardian.is_guardian, is_first_guardian=guardian.is_first_guardian,
        vital=guardian.vital, police_reference=guardian.police_reference, police_date=guardian.police_date,
        hukou_division_code=guardian.hukou_division_id or "",
        **{name: getattr(guardian, name) for name in fields.GUARDIAN_FIELD_NAMES},
    )


def record_of(pupil) -> PupilData:
    """A stored pupil (``registry.models.Pupil``) as the record it was registered from, its
    family members in their order: what a correction changes and the rules check again."""
    return PupilData(
        school_code=pupil.school.code, name=pupil.name, sex=pupil.sex, birth_date=pupil.birth_date,
        grade=pupil.grade, class_number=pupil.school_class.number if pupil.school_class_id else None,
        enrolled_on=pupil.enrolled_on, id_type=pupil.id_type, id_number=pupil.id_number,
        former_name=pupil.former_name, ethnicity=pupil.ethnicity, nationality=pupil.nationality, hmt=pupil.hmt,
        hukou_division_code=pupil.hukou_division_id or "", hukou_nature=pupil.hukou_nature, health=pupil.health,
        boarding=pupil.boarding, left_behind=pupil.left_behind, migrant=pupil.migrant,
        **{name: getattr(pupil, name) for name in fields.PUPIL_FIELD_NAMES},
        guardians=[guardian_record_of(g) for g in sorted(pupil.guardians.all(), key=lambda g: g.order)],
    )


# --- as JSON ------------------------------------------------------------------------------
# A checked record kept between a roster's dry run and its import (``rosters.jobs``): the
# dates as ISO text, the distance as a decimal string, the family members as objects.

_DATES = {"birth_date", "enrolled_on", "police_date"}


def record_as_json(data: PupilData) -> dict:
    """The record as plain JSON values (a roster keeps tens of thousands: no per-field walk)."""
    out = dict(vars(data))
    for name in ("birth_date", "enrolled_on"):
        if out[name] is not None:
            out[name] = out[name].isoformat()
    if isinstance(out["commute_distance"], Decimal):
        out["commute_distance"] = str(out["commute_distance"])
    members = []
    for guardian in data.guardians:
        member = dict(vars(guardian))
        if member["police_date"] is not None:
            member["police_date"] = member["police_date"].isoformat()
        members.append(member)
    out["guardians"] = members
    return out


def record_from_json(value: dict) -> PupilData:
    """The inverse of ``record_as_json``."""

    def typed(name: str, item):
        if item is not None and name in _DATES:
            return dt.date.fromisoformat(item)
        if item is not None and name == "commute_distance" and item != "":
            return Decimal(item)
        return item

    guardians = [GuardianData(**{k: typed(k, v) for k, v in g.items()}) for g in value.get("guardians", [])]
    return PupilData(**{k: typed(k, v) for k, v in value.items() if k != "guardians"}, guardians=guardians)
