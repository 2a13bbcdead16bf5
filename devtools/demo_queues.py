"""The demo's open business (演示待办): a few items in each queue a new user looks at.

After the bulk load, ``demo_queues_load`` goes through the registry's own services as the
demo logins would, so every row, chain step, 待办 item and audit entry is what the pages
make:

- 新生注册 (待审核) at the school step: two grade-1 children registered by a primary
  school's 学籍管理员, waiting for its approver;
- 新生注册 at the county step: a 无户籍 grade-1 child (no ID, J number) and a grade-3
  child from another province (外省转入), both approved by the school, waiting for the
  county (the policy sends both there);
- 毕业生 awaiting 升学: a few grade-6 pupils of a primary school left as an approved
  graduation list leaves them (毕业, basic data locked, a history entry) — a junior
  secondary school of the county can find and receive them — and one of them already
  received by that school, waiting for its approver.

The graduation is written as its end state because a graduation list can only be approved
from 06-01 of the school year (docs/progression.md); everything else is a service call.
A dozen records: ``make run`` stays as fast as before.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.audit import acting_as
from enrolment import receiving, registration
from enrolment.models import GraduateLookup, Progression, Registration
from kernel.identity import id_check_char
from registry.history import history_entry
from registry.models import Guardian, HistoryEntry, Pupil, PupilStatus
from registry.records import GuardianData, PupilData
from schools.models import School
from workflow.models import ChainEvent, OpenBusiness, WorkItem

logger = logging.getLogger("devtools")

#: Sequence codes of the IDs made here (the bulk load counts up from its own offsets).
ID_SEQUENCE_START = 960
GRADUATES = 4


@dataclass
class DemoQueues:
    """What ``demo_queues_load`` left open, for the summary printed at the end."""

    school_step: list[Pupil] = field(default_factory=list)
    county_step: list[Pupil] = field(default_factory=list)
    graduates: list[Pupil] = field(default_factory=list)
    progression: Progression | None = None

    def lines(self) -> list[str]:
        out = []
        if self.school_step:
            school = self.school_step[0].school
            out.append(f"新生注册待学校审核：{school.name}（{school.code}.approver）{len(self.school_step)} 名")
        if self.county_step:
            county = self.county_step[0].school.county_id
            out.append(f"新生注册待区县审核（含无户籍）：{county}.approver {len(self.county_step)} 名")
        if self.graduates:
            out.append(f"待升学的毕业生：{self.graduates[0].school.name} {len(self.graduates)} 名")
        if self.progression is not None:
            out.append(f"升学接收待学校审核：{self.progression.school.name}（{self.progression.school.code}.approver）")
        return out


def _user(username: str):
    return get_user_model().objects.get(username=username)


class _Ids:
    """Valid resident IDs (GB 11643) not yet in the registry, from a high sequence range."""

    def __init__(self) -> None:
        self.next = ID_SEQUENCE_START

    def make(self, region: str, born: dt.date, sex: str) -> str:
        while True:
            seq = self.next if (self.next % 2 == 1) == (sex == "1") else self.next + 1  # odd: men
            self.next = seq + 1
            first17 = f"{region}{born:%Y%m%d}{seq:03d}"
            number = first17 + id_check_char(first17)
            if not (Pupil.objects.filter(id_number=number).exists()
                    or Guardian.objects.filter(id_number=number).exists()):
                return number


def _parents(ids: _Ids, county: str, born: dt.date, surname: str) -> list[GuardianData]:
    father_born, mother_born = born.replace(year=born.year - 32), born.replace(year=born.year - 30)
    return [
        GuardianData(name=f"{surname}建国", relation="51", id_number=ids.make(county, father_born, "1"),
                     phone="13800138001", is_first_guardian=True, hukou_division_code=county),
        GuardianData(name="陈秀兰", relation="52", id_number=ids.make(county, mother_born, "2"),
                     phone="13800138002", hukou_division_code=county),
    ]


def _new_child(ids: _Ids, school: School, *, name: str, surname: str, sex: str, born: dt.date, grade: int,
               enrolled_on: dt.date, no_id: bool = False, source: str = "", reason: str = "") -> PupilData:
    county = school.county_id
    return PupilData(
        school_code=school.code, name=name, sex=sex, birth_date=born, grade=grade, class_number=1,
        enrolled_on=enrolled_on, id_type="Z" if no_id else "1",
        id_number="" if no_id else ids.make(county, born, sex), hukou_division_code="" if no_id else county,
        guardians=_parents(ids, county, born, surname), source=source, source_reason=reason,
    )


def _first(schools: list[School], stages: tuple[str, ...], *, county: str | None = None) -> School | None:
    return next((s for s in schools if s.stage in stages and (county is None or s.county_id == county)), None)


def demo_queues_load(*, schools: list[School], school_year: int, today: dt.date) -> DemoQueues:
    """Open the demo's business at the first primary school and a junior school of its county."""
    done = DemoQueues()
    primary = _first(schools, (School.Stage.PRIMARY,))
    if primary is None:
        return done
    ids = _Ids()
    operator, approver = _user(f"{primary.code}.operator"), _user(f"{primary.code}.approver")
    enrolled_on = dt.date(school_year, 9, 1)
    grade1_born = dt.date(school_year - 7, 11, 1)  # 6 on 1 September, as grade 1 is
    children = [
        _new_child(ids, primary, name="张一诺", surname="张", sex="2", born=grade1_born, grade=1,
                   enrolled_on=enrolled_on),
        _new_child(ids, primary, name="李浩然", surname="李", sex="1", born=grade1_born + dt.timedelta(days=40),
                   grade=1, enrolled_on=enrolled_on),
    ]
    for data in children:
        done.school_step.append(registration.pupil_register(user=operator, data=data))
    county_step = [
        _new_child(ids, primary, name="王小禾", surname="王", sex="2", born=grade1_born + dt.timedelta(days=90),
                   grade=1, enrolled_on=enrolled_on, no_id=True, source="normal"),
        _new_child(ids, primary, name="刘子轩", surname="刘", sex="1", born=dt.date(school_year - 9, 12, 5),
                   grade=3, enrolled_on=dt.date(school_year - 2, 9, 1), source="other_province",
                   reason="随父母工作调动自湖南省转入"),
    ]
    for data in county_step:
        pupil = registration.pupil_register(user=operator, data=data)
        registration.registration_approve(user=approver, registration_id=Registration.objects.get(pupil=pupil).pk)
        pupil.refresh_from_db()
        done.county_step.append(pupil)

    done.graduates = _graduate(primary, school_year=school_year, today=today, user=approver)
    junior = _first(schools, (School.Stage.JUNIOR, School.Stage.NINE_YEAR), county=primary.county_id)
    if junior is not None and done.graduates:
        receiver = _user(f"{junior.code}.operator")
        pupil = done.graduates[0]
        [card] = receiving.graduate_find(user=receiver, number=pupil.national_number, name=pupil.name)
        done.progression = receiving.progression_start(user=receiver, refs=[card.ref], today=today)
    logger.info("demo queues: %s at the school step, %s at the county step, %s graduates", len(done.school_step),
                len(done.county_step), len(done.graduates))
    return done


def _graduate(school: School, *, school_year: int, today: dt.date, user) -> list[Pupil]:
    """What an approved graduation list leaves for a few of the school's grade-6 pupils."""
    pupils = list(Pupil.objects.filter(school=school, grade=6, status=PupilStatus.ENROLLED)
                  .exclude(id_type="Z").order_by("pk")[:GRADUATES])
    if not pupils:
        return []
    with transaction.atomic(), acting_as(user, command="load_demo_queues"):
        Pupil.objects.filter(pk__in=[p.pk for p in pupils]).update(status=PupilStatus.GRADUATED,
                                                                   basic_data_locked=True)
        HistoryEntry.objects.bulk_create([
            history_entry(pupil_id=p.pk, kind="graduated", school_id=school.pk, user=user,
                          summary=f"{school_year}年毕业（{school.name}），基础信息已锁定",
                          data={"demo": True, "outcome": "graduated"})
            for p in pupils
        ])
    for pupil in pupils:
        pupil.refresh_from_db()
    return pupils


def demo_queues_reset(schools) -> None:
    """Delete the demo's open business before its schools, pupils and logins go (they are
    protected from deletion while a registration or a progression names them)."""
    from django.contrib.contenttypes.models import ContentType

    progressions = Progression.objects.filter(school__in=schools)
    registrations = Registration.objects.filter(school__in=schools)
    for model, rows in ((Progression, progressions), (Registration, registrations)):
        ids = list(rows.values_list("pk", flat=True))
        kind = ContentType.objects.get_for_model(model)
        for tracked in (WorkItem, ChainEvent, OpenBusiness):
            tracked.objects.filter(content_type=kind, object_id__in=ids).delete()
    progressions.delete()
    registrations.delete()
    GraduateLookup.objects.filter(school__in=schools).delete()  # the demo receiver's search

