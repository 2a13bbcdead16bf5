"""Plain input records for a pupil and its guardians.

The registration form, the API schema and the roster import all produce these, so one
validator and one service serve every way a pupil enters the registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


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
